"""`make sim` end to end: the basic scenario on nic_top, its report and its pcaps.

The pcaps are checked against the switch's own hardware counters (an
independent record of the same traffic) and parsed by scapy, whose IP and UDP
checksum recomputation would catch a corrupted frame.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from sim.run import main
from sim.scenarios.npa import guest_vfs
from sim.scenarios.report import ScenarioReport, vf_ring_fmt
from sim.toolchain import REPO_ROOT
from tb.net.pcap import Direction


def _checksums_ok(pkt: Ether) -> bool:
    """The IP and UDP checksums on the wire equal the ones scapy recomputes."""
    wire = pkt[IP]
    clear = wire.copy()
    del clear.chksum
    del clear[UDP].chksum
    recomputed = IP(bytes(clear))
    return recomputed.chksum == wire.chksum and recomputed[UDP].chksum == wire[UDP].chksum


def test_basic_scenario_report_and_pcaps(tmp_path: Path) -> None:
    rc = main(["--scenario", "basic", "--frames", "16", "--pcap", "--out", str(tmp_path)])
    assert rc == 0
    report = ScenarioReport.load(tmp_path / "basic.json")
    assert report.mismatches == []
    # Traffic went through the RTL in every direction of the slice.
    assert report.matched.get("uplink", 0) > 0, "nothing reached the wire"
    assert report.matched.get("vf1", 0) > 0 and report.matched.get("vf2", 0) > 0
    assert report.cycles > 0
    for port, counters in report.ports.items():
        pcap = tmp_path / "pcap" / f"{port}.pcapng"
        assert pcap.exists(), f"no capture for switch port {port}"
        pkts = rdpcap(str(pcap))
        into = [p for p in pkts if p.direction == Direction.INTO_SWITCH]
        out = [p for p in pkts if p.direction == Direction.OUT_OF_SWITCH]
        assert len(into) == counters["rx_packets"], port
        assert sum(len(p) for p in into) == counters["rx_bytes"], port
        assert len(out) == counters["tx_packets"], port
        assert sum(len(p) for p in out) == counters["tx_bytes"], port
        times = [p.time for p in pkts]
        assert times == sorted(times), f"{port}: capture is not in time order"
        for p in pkts:
            assert UDP in p, f"{port}: scapy does not parse a UDP frame: {p!r}"
            assert _checksums_ok(p), f"{port}: bad IP/UDP checksum in {p.summary()}"


def test_unknown_scenario_is_refused(capsys) -> None:
    assert main(["--scenario", "no_such_scenario"]) == 2
    assert "known: basic, migrate, npa, sriov" in capsys.readouterr().err


def test_gtkw_save_file_is_current() -> None:
    """The committed save file is what sim/gtkw.py generates for `make sim`'s top."""
    fresh = subprocess.run(
        [sys.executable, "-m", "sim.gtkw"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    ).stdout
    assert (REPO_ROOT / "sim" / "gtkw" / "nic_top.gtkw").read_text() == fresh


def test_sriov_scenario(tmp_path: Path) -> None:
    """PF policy set like `ip link`, VFs up over the mailbox, the switch enforcing it."""
    rc = main(["--scenario", "sriov", "--frames", "16", "--out", str(tmp_path)])
    assert rc == 0
    report = ScenarioReport.load(tmp_path / "sriov.json")
    assert report.mismatches == []
    assert report.matched.get("uplink", 0) > 0 and report.matched.get("vf2", 0) > 0
    st0 = report.vf_stats["vf 0 (port vf1)"]
    assert st0["tx_dropped_spoof"] == 16 // 4, "every forged frame is dropped and counted"


def test_npa_scenario(tmp_path: Path) -> None:
    """`make sim` (default npa): the NPA story runs and its report, plot and story exist."""
    rc = main(["--scenario", "npa", "--frames", "8", "--out", str(tmp_path)])
    assert rc == 0
    report = ScenarioReport.load(tmp_path / "npa.json")
    assert report.mismatches == []
    text = "\n".join(report.notes)
    # The story as the issue tells it, each step seen in the report.
    for needle in (
        "→ plugin",
        "→ emulated",
        "MAC address changes accepted",
        "MAC address changes rejected",
    ):
        assert needle in text, needle
    story = json.loads((tmp_path / "npa_story.json").read_text())
    events = {e["counter"]: e for e in story["security_events"]}
    assert events["tx_dropped_spoof"]["count"] == 8  # each forged frame dropped, counted
    assert events["tx_dropped_spoof_vlan"]["count"] == 8
    assert events["IOMMU faults of function 2"]["count"] >= 1
    assert "refused by the shell's loader" in events["loader refusals (payload_crc)"]["outcome"]
    modes = [(m["vm"], m["mode"]) for m in story["mode_changes"]]
    assert modes == [
        ("vm1", "plugin"),
        ("vm2", "plugin"),
        ("vm2", "emulated"),
        ("vm2", "plugin"),
        ("vm2", "emulated"),
    ]
    assert (tmp_path / "npa.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_npa_scenario_with_a_vendor_b_vf(tmp_path: Path) -> None:
    """`make sim VF_FLAVOURS=AB`: VF2 is ring format B; vm1 gets it and vendor B's plugin
    (by the VF's FUNC_PCI_ID), vm2 vendor A's on VF1 (the rogue story stays vm2's); vm1
    goes back to emulation, is refused vendor A's image and takes vendor B's again."""
    rc = main(["--scenario", "npa", "--frames", "8", "--vf-flavours", "ab", "--out", str(tmp_path)])
    assert rc == 0
    report = ScenarioReport.load(tmp_path / "npa.json")
    assert report.mismatches == []
    story = json.loads((tmp_path / "npa_story.json").read_text())
    changes = sorted(story["mode_changes"], key=lambda m: m["t_ns"])
    modes = [(m["vm"], m["mode"], m["reason"]) for m in changes]
    assert modes == [
        ("vm1", "plugin", "sriovnic-vf-b"),
        ("vm2", "plugin", "sriovnic-vf-a"),
        ("vm2", "emulated", "guest reloads its plugin"),
        ("vm2", "plugin", "vf-a-rogue"),
        ("vm2", "emulated", "VF TX queue error (IOMMU fault)"),
        ("vm1", "emulated", "vendor B round trip"),
        ("vm1", "plugin", "sriovnic-vf-b"),
    ]
    events = {e["counter"]: e for e in story["security_events"]}
    assert events["tx_dropped_spoof"]["count"] == 8  # vm2's attacks, from VF1 now
    assert events["IOMMU faults of function 1"]["count"] >= 1
    assert events["loader refusals (device_mismatch)"]["count"] == 1  # A's image on B's VF
    text = "\n".join(report.notes)
    assert "vf 1 (function 2): 5b00:5b01, ring format B" in text
    assert "UDP frames lost at no named drop point: 0" in text
    # vm1's frames crossed its format-B VF: the switch's port counter is what vendor B's
    # VF completed in the shell's rings, frame for frame.
    [line] = [n for n in report.notes if n.strip().startswith("vm1 on vf 1")]
    sent = report.ports["vf2"]["rx_packets"]
    assert sent > 100 and f"{sent} frames sent" in line and f"completed {sent} TX" in line


@pytest.mark.parametrize("scenario", ["basic", "sriov"])
def test_scenarios_on_mixed_flavours(scenario: str, tmp_path: Path) -> None:
    """VF2 in ring format B (vmxnet3's rings): the scenario drives it in its format. A
    format-A driver on it would be refused (device id) or trip ERR_DESC_GEN."""
    rc = main(
        ["--scenario", scenario, "--frames", "8", "--vf-flavours", "AB", "--out", str(tmp_path)]
    )
    assert rc == 0
    report = ScenarioReport.load(tmp_path / f"{scenario}.json")
    assert report.mismatches == []
    if scenario == "basic":
        assert report.matched.get("vf2", 0) > 0, "nothing through the format-B VF"


def test_vf_flavours_are_checked() -> None:
    assert vf_ring_fmt("AB") == 2 and vf_ring_fmt("BA") == 1 and vf_ring_fmt("AA") == 0
    assert guest_vfs("") == {"vm1": 0, "vm2": 1} == guest_vfs("AA") == guest_vfs("BA")
    assert guest_vfs("AB") == {"vm1": 1, "vm2": 0}
    with pytest.raises(ValueError, match="needs a format-A VF"):
        guest_vfs("BB")
    for scenario in ("npa", "basic", "sriov"):  # every scenario takes the option
        for bad in ("AC", "ABA", "B"):
            with pytest.raises(SystemExit):
                main(["--scenario", scenario, "--vf-flavours", bad])


def test_migrate_scenario(tmp_path: Path) -> None:
    """`make sim SCENARIO=migrate SWEEP=1`: both modes on one workload, balanced, plotted."""
    rc = main(["--scenario", "migrate", "--frames", "16", "--sweep", "--out", str(tmp_path)])
    assert rc == 0
    data = json.loads((tmp_path / "migration.json").read_text())
    assert sorted(data["modes"]) == ["failover", "npa"]
    for mode, rep in data["modes"].items():
        assert rep.get("host_faults") == [], mode
        for f in rep["flows"]:  # the ledger's balance, as the report states it
            assert (
                f["sent"]
                == f["delivered"] + f["lost_total"]
                == f["delivered"] + sum(f["lost"].values())
            ), (mode, f)
            # rounds before and after at least: a frame per round, an echo every 8 rounds
            per_round = 1 / 8 if f["name"].startswith("ping") else 1
            assert f["sent"] >= 2 * 16 * per_round, (mode, f)
        assert [f["name"] for f in rep["flows"]] == [
            "vm -> outside", "outside -> vm", "ping vm -> outside", "ping outside -> vm"
        ]  # fmt: skip
        assert rep["carrier"]["samples"] >= 2 * 16 and rep["carrier"]["down_ns"] == [], mode
        for p in rep["pings"].values():
            assert 0 < p["answered"] <= p["sent"] and p["rtt_ns"]["min"] > 0, (mode, p)
        for d in rep["downtime"].values():
            assert d["total_ms"] == pytest.approx(d["modelled_ms"] + d["simulated_ms"])
            assert d["simulated_ms"] > 0, mode
        assert rep["final_host"] == "b", mode
        assert rep["final_host_switch_ports"]["port1"]["rx_packets"] > 0, mode  # B's VF
        assert rep["tor"]["moves"][0]["to"] == 1, mode  # the ToR moved the MAC to host B
        kinds = {ph["kind"] for ph in rep["phases"]}
        assert kinds == {"simulated", "modelled"}, mode
    assert data["modes"]["npa"]["tx_lost"] == 0
    # Both modes ran the same workload: the same frames in the same order from the outside.
    sizes = {
        m: [n for _, n in r["arrivals"]["vm -> outside"][:8]] for m, r in data["modes"].items()
    }
    assert sizes["npa"] == sizes["failover"]
    grid = {(r["mode"], r["dirty_mb_s"], r["link_gbps"]) for r in data["sweep"]}
    assert len(grid) == len(data["sweep"]) == 2 * 7 * 4
    import matplotlib.image

    for png in ("migration.png", "migration_sweep.png"):
        img = matplotlib.image.imread(tmp_path / png)
        assert img.shape[0] > 300 and img.shape[1] > 600, png


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--dirty-rate", "fast"),
        ("--vm-memory", "-2G"),
        ("--hot-unplug", "-1"),
        ("--link-bps", "0"),
        ("--vm-memory", "2X"),
    ],
)
def test_migrate_options_refused(option: str, value: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--scenario", "migrate", f"{option}={value}"])
    assert exc.value.code == 2
    assert value in capsys.readouterr().err


def test_migrate_sizes() -> None:
    """Memory reads as QEMU's -m (binary), rates and bandwidths as SI."""
    from sim.run import _memory, _size

    assert _memory("2G") == 2 << 30 and _memory("512M") == 512 << 20 and _memory("4096") == 4096
    assert _size("100M") == 10**8 and _size("10G") == 10**10 and _size("25Gi") == 25 << 30
