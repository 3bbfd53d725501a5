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


# (SOAK_BREAK, the monitor that must fire, a violation text it must report)
BREAKS = [
    ("isolation", "isolation", "got unicast for"),
    ("delivery", "honest_delivery", "lost at no named point"),
    ("watchdog", "watchdog", "no completion for"),
    ("accounting", "drop_accounting", "tx_dropped_spoof"),
    ("leak", "leaks", "host memory"),
]


@pytest.mark.parametrize(("broken", "monitor", "text"), BREAKS, ids=[b[0] for b in BREAKS])
def test_soak_monitor_fires(tmp_path: Path, broken: str, monitor: str, text: str) -> None:
    result = run_seed(SeedJob(5, 200, tmp_path, "forged_src_mac", 1, broken))
    assert result is not None, f"no report; log {tmp_path / 'soak'}"
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
    ],
)
def test_soak_refuses_bad_options(args: list[str], said: str, capsys) -> None:
    """A malformed option stops before anything is built, with what was wrong."""
    from sim.soak.campaign import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and said in capsys.readouterr().err
