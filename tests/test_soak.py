"""`make soak` in the regression (docs/ROBUSTNESS.md): a fixed-seed short soak that runs
every attack and fault kind at least once with zero violations, and one deliberately
broken configuration per monitor that must make that monitor fire."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sim.soak.attacks import ATTACKS
from sim.soak.campaign import SeedJob, run_seed
from sim.soak.faults import FAULTS
from sim.soak.report import Campaign

CI_SEED, CI_FRAMES = 3, 400


def test_soak_every_kind_no_violation(tmp_path: Path) -> None:
    result = run_seed(SeedJob(CI_SEED, CI_FRAMES, tmp_path, repeats=1))
    assert result is not None, f"no report; log {tmp_path / 'soak'}"
    injected = Counter(i["kind"] for i in result.injections)
    assert set(injected) == {k.name for k in (*ATTACKS, *FAULTS)}, injected
    assert not result.violations, [v["detail"] for v in result.violations]
    # every injection left expectations, and each was measured
    for i in result.injections:
        assert i["expects"] or i["arrive_exact"], i["kind"]
    assert result.sent >= CI_FRAMES and result.delivered > 0.8 * result.sent
    assert Campaign([result]).ok


# (SOAK_BREAK, the kind injected, the monitors that must fire with a violation text each
# must report): bus_drop removes the named drop point of host_bus_error's lost TX frame
# (the plugin's tx_hw_errors), spike makes latency_spike's delay exceed the watchdog's bound,
# rollback leaves migration_abort's VM on the emulated device
BREAKS = [
    ("isolation", "forged_src_mac", {"isolation": "got unicast for"}),
    ("delivery", "forged_src_mac", {"honest_delivery": "lost at no named point"}),
    ("watchdog", "forged_src_mac", {"watchdog": "no completion for"}),
    ("accounting", "forged_src_mac", {"drop_accounting": "tx_dropped_spoof"}),
    ("leak", "forged_src_mac", {"leaks": "host memory"}),
    (
        "bus_drop",
        "host_bus_error",
        {
            "honest_delivery": "lost at no named point",
            "drop_accounting": "want tx_bus_error_named == 1, got 0",
        },
    ),
    ("spike", "latency_spike", {"watchdog": "no completion for"}),
    ("rollback", "migration_abort", {"drop_accounting": "want back_on_plugin == 1, got 0"}),
]


@pytest.mark.parametrize(("broken", "kind", "fire"), BREAKS, ids=[b[0] for b in BREAKS])
def test_soak_monitor_fires(tmp_path: Path, broken: str, kind: str, fire: dict[str, str]) -> None:
    result = run_seed(SeedJob(5, 200, tmp_path, kind, 1, broken))
    assert result is not None, f"no report; log {tmp_path / 'soak'}"
    for monitor, text in fire.items():
        fired = [v["detail"] for v in result.violations if v["monitor"] == monitor]
        assert any(text in d for d in fired), (monitor, [v["detail"] for v in result.violations])
    assert not Campaign([result]).ok


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--frames", "0"], "0 is below 1"),
        (["--seeds", "5-1"], "runs backwards"),
        (["--jobs", "0"], "0 is below 1"),
        (["--repeats", "-1"], "-1 is below 0"),
        (["--kinds", "forged_vlan,nope"], "unknown kind ['nope']"),
    ],
)
def test_soak_refuses_bad_options(args: list[str], said: str, capsys) -> None:
    """A malformed option stops before anything is built, with what was wrong."""
    from sim.soak.campaign import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and said in capsys.readouterr().err
