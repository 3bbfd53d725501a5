"""sim/scenarios/npa_report: the `npa` scenario's story, its text, plot and JSON (pure Python).

Expected numbers are worked out by hand in the comments, not recomputed with the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.scenarios.npa_report import (
    DASH,
    GID_DENIAL,
    GID_SWITCH,
    REPORT_WIDTH,
    DatapathSpan,
    FlowSummary,
    ModeChange,
    NpaStory,
    PingSummary,
    PolicyEvent,
    SecurityEvent,
    ThroughputMeter,
    plot_figure,
    plot_story,
    render_story,
    story_from_json,
    story_to_json,
)
from tb.guest.flow_receiver import FlowStats
from tb.guest.ping import PingReply, PingSession

MAC_REASON = "MAC changes rejected by the VM's security policy"
LONG_REASON = (
    "promiscuous mode is allowed for this VM because its port group trusts it, and the "
    "vSwitch mirrors the uplink's traffic to the guest on the emulated datapath only"
)


def _meter() -> ThroughputMeter:
    m = ThroughputMeter(window_ns=1000)
    m.count("vm1", "tx", 1500, 100)  # window 0
    m.count("vm1", "tx", 500, 999)  # window 0: 2000 B = 16000 bit / 1000 ns = 16 Gb/s
    m.count("vm1", "tx", 1000, 2500)  # window 2: 8000 bit / 1000 ns = 8 Gb/s
    m.count("vm1", "rx", 250, 1000)  # window 1 (boundary): 2000 bit / 1000 ns = 2 Gb/s
    m.count("vm2", "rx", 125, 0)  # window 0: 1 Gb/s
    return m


def _story() -> NpaStory:
    return NpaStory(
        meter=_meter(),
        end_ns=40_000,
        mode_changes=[
            ModeChange(10_000, "vm1", "plugin", "VF plugin loaded"),
            ModeChange(4_000, "vm2", "plugin", "VF plugin loaded"),
            ModeChange(30_000, "vm1", "emulated", "vMotion: plugin detached"),
        ],
        policy_events=[
            PolicyEvent(12_345, "vm1", "set_mac", "02:00:00:00:01:99", False, MAC_REASON),
            PolicyEvent(20_000, "vm2", "set_promisc", "on", True, LONG_REASON),
        ],
        security_events=[
            SecurityEvent(
                15_000, "vm2", "forged source MAC", "dropped by the switch", "tx_dropped_spoof", 8
            )
        ],
        flows={
            "vm1": [FlowSummary("vm1->host udp", 64, 63, 1, 0, 2, 0)],
            "vm2": [FlowSummary("vm2->vm1 udp", 32, 32, 0, 1, 0, 3)],
        },
        pings={"vm1": [PingSummary("10.0.0.2", 4, 4, 0, 800.0, 950.5, 1200.0)]},
    )


def test_meter_windows_and_gbps_by_hand() -> None:
    m = _meter()
    assert m.series("vm1", "tx") == [(0, 16.0), (1000, 0.0), (2000, 8.0)]
    assert m.series("vm1", "rx") == [(0, 0.0), (1000, 2.0)]
    assert m.series("vm2", "rx") == [(0, 1.0)]
    # Padded to the window holding until_ns: the extra windows are empty.
    assert m.series("vm1", "tx", until_ns=4200) == [
        (0, 16.0), (1000, 0.0), (2000, 8.0), (3000, 0.0), (4000, 0.0),
    ]  # fmt: skip


def test_meter_empty_series_and_bad_input() -> None:
    m = ThroughputMeter(window_ns=500)
    assert m.series("vm1", "tx") == []
    assert m.series("vm1", "tx", until_ns=1200) == [(0, 0.0), (500, 0.0), (1000, 0.0)]
    m.count("vm1", "tx", 0, 1600)  # a zero-byte count still extends the series
    assert m.series("vm1", "tx") == [(0, 0.0), (500, 0.0), (1000, 0.0), (1500, 0.0)]
    with pytest.raises(ValueError):
        m.count("vm1", "sideways", 10, 0)
    with pytest.raises(ValueError):
        m.count("vm1", "tx", 10, -1)
    with pytest.raises(ValueError):
        ThroughputMeter(window_ns=0)


def test_datapath_and_time_share_from_mode_changes() -> None:
    s = _story()
    s.security_events.append(SecurityEvent(1, "vm3", "ARP spoof", "dropped", "c", 1))
    assert s.datapath("vm1") == [
        DatapathSpan("emulated", 0, 10_000),
        DatapathSpan("plugin", 10_000, 30_000),
        DatapathSpan("emulated", 30_000, 40_000),
    ]
    # A change to the mode already held does not split the span.
    s.mode_changes.append(ModeChange(20_000, "vm1", "plugin", "plugin re-armed"))
    assert len(s.datapath("vm1")) == 3
    share = s.time_share()
    assert share["vm1"] == {"emulated": 0.5, "plugin": 0.5}  # 10 + 10 of 40 µs
    assert share["vm2"] == {"emulated": 0.1, "plugin": 0.9}  # 4 of 40 µs emulated
    assert share["vm3"] == {"emulated": 1.0, "plugin": 0.0}  # never switched
    s.mode_changes.append(ModeChange(50_000, "vm1", "plugin", "after the end"))
    with pytest.raises(ValueError):
        s.datapath("vm1")
    with pytest.raises(ValueError):
        ModeChange(0, "vm1", "passthrough", "not a mode")


def test_render_tables_datapath_and_every_reason() -> None:
    s = _story()
    text = render_story(s)
    lines = text.splitlines()
    assert "\x1b" not in text
    assert max(len(ln) for ln in lines) <= REPORT_WIDTH
    flat = " ".join(text.split())
    assert "vm1: emulated 0-10 µs, plugin 10-30 µs, emulated 30-40 µs".replace("-", DASH) in text
    assert "vm2: emulated 0-4 µs, plugin 4-40 µs".replace("-", DASH) in text
    assert DASH == "\u2013"  # an en dash
    assert "time share: emulated 10.0%, plugin 90.0%" in text
    for ev in [*s.policy_events, *s.mode_changes]:
        assert " ".join(ev.reason.split()) in flat
    assert any(
        ln.split()[:5] == ["12.345", "vm1", "set_mac", "02:00:00:00:01:99", "DENIED"]
        for ln in lines
    )
    assert "allowed" in text
    sec = s.security_events[0]
    assert f"{sec.attack}: {sec.outcome}" in text
    assert any(ln.split()[:4] == ["15", "vm2", "tx_dropped_spoof", "8"] for ln in lines)
    # Table rows, with their columns in order.
    assert any(ln.split() == ["vm1", "vm1->host", "udp", "64", "63", "1", "0", "2", "0"]
               for ln in lines)  # fmt: skip
    assert any(ln.split() == ["vm2", "vm2->vm1", "udp", "32", "32", "0", "1", "0", "3"]
               for ln in lines)  # fmt: skip
    assert any(ln.split() == ["vm1", "10.0.0.2", "4", "4", "0", "800", "950", "1200"]
               for ln in lines)  # fmt: skip
    # Throughput: vm1 tx 3000 B over 40 µs = 24000 bit / 40000 ns = 0.6 Gb/s mean, 16 peak.
    assert any(ln.split() == ["vm1", "tx", "3000", "0.600", "16.000"] for ln in lines)


def test_plot_png_switch_lines_and_denials(tmp_path: Path) -> None:
    s = _story()
    fig = plot_figure(s)
    axes = fig.get_axes()
    assert [ax.get_title(loc="left") for ax in axes] == ["vm1", "vm2"]
    switches = [[ln for ln in ax.get_lines() if ln.get_gid() == GID_SWITCH] for ax in axes]
    assert [len(x) for x in switches] == [2, 1]  # vm1: two switch-overs, vm2: one
    assert sorted(ln.get_xdata()[0] for ln in switches[0]) == [10.0, 30.0]  # µs
    labels = {t.get_text().strip() for ax in axes for t in ax.texts}
    assert labels == {"vm1 → plugin", "vm1 → emulated", "vm2 → plugin"}
    denials = [ln for ax in axes for ln in ax.get_lines() if ln.get_gid() == GID_DENIAL]
    assert len(denials) == 1 and list(denials[0].get_xdata()) == [12.345]  # allowed not shown
    steps = {ln.get_label(): ln for ln in axes[0].get_lines() if ln.get_gid() is None}
    assert set(steps) == {"vm1 tx", "vm1 rx"}
    assert list(steps["vm1 tx"].get_ydata()[:3]) == [16.0, 0.0, 8.0]
    assert axes[-1].get_xlabel() == "simulated time (µs)"

    out = plot_story(s, tmp_path / "sub" / "npa.png")
    assert out == tmp_path / "sub" / "npa.png"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000


def test_json_round_trip_and_derived_fields(tmp_path: Path) -> None:
    s = _story()
    d = json.loads(json.dumps(story_to_json(s)))
    assert story_from_json(d) == s
    assert d["end_ns"] == 40_000 and d["window_ns"] == 1000
    assert d["vms"] == ["vm1", "vm2"]
    assert d["throughput_gbps"]["vm1"]["tx"] == [[0, 16.0], [1000, 0.0], [2000, 8.0]]
    assert d["throughput_gbps"]["vm2"]["tx"] == []
    assert d["time_share"]["vm2"] == {"emulated": 0.1, "plugin": 0.9}
    assert d["datapath"]["vm2"] == [
        {"mode": "emulated", "start_ns": 0, "end_ns": 4000},
        {"mode": "plugin", "start_ns": 4000, "end_ns": 40_000},
    ]
    assert d["policy_events"][0] == {
        "t_ns": 12_345, "vm": "vm1", "op": "set_mac", "detail": "02:00:00:00:01:99",
        "allowed": False, "reason": MAC_REASON,
    }  # fmt: skip
    assert d["security_events"][0]["counter"] == "tx_dropped_spoof"
    assert d["flows"]["vm1"][0]["reordered"] == 2
    assert d["pings"]["vm1"][0]["rtt_avg_ns"] == 950.5
    s.initial_mode = "plugin"  # not the default: it must come back from the JSON
    assert story_from_json(json.loads(json.dumps(story_to_json(s)))).initial_mode == "plugin"


def test_summaries_from_the_guest_stack() -> None:
    st = FlowStats(flow_id=1, received=9, duplicated=1, reordered=2, corrupted=1, highest=9)
    st.seen = {0, 1, 2, 3, 5, 6, 7, 8, 9}  # seq 4 missing
    st.sent = 10
    assert FlowSummary.from_stats("f1", st) == FlowSummary("f1", 10, 9, 1, 1, 2, 1)
    assert FlowSummary.from_stats("f1", st, sent=12).lost == 3  # 4, 10, 11
    st.sent = None
    with pytest.raises(ValueError):
        FlowSummary.from_stats("f1", st)
    ping = PingSession("10.0.0.2", ident=7, sent=3)
    ping.replies = {0: PingReply(0, 2.0, 64), 2: PingReply(2, 4.0, 64)}
    # Clock in cycles of 4 ns: rtts 8 and 16 ns.
    assert PingSummary.from_session("h", ping, ns_per_unit=4.0) == PingSummary(
        "h", 3, 2, 1, 8.0, 12.0, 16.0
    )
    assert PingSummary.from_session("h", PingSession("10.0.0.3", 1, sent=2)).rtt_avg_ns is None
