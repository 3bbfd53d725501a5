"""Checks both migration modes' cocotb tests make on their run (tb/datacenter), each
against what the workload sent and the rack's own observations."""

from __future__ import annotations

from tb.datacenter import PORT_HOST_A, PORT_HOST_B, PORT_OUTSIDE
from tb.datacenter.migration_run import ModeRun

# The events of the steps both modes share (docs/MIGRATION.md §4 N4-N7, §7 F4), in order.
SHARED_EVENTS = [
    "destination_admitted",
    "precopy_sampled",
    "paused",
    "copied",
    "resumed_on_destination",
    "announced",
    "source_forgot",
]
# Their phases, (name, kind), in time order.
SHARED_PHASES = [
    ("precopy_sample", "simulated"),
    ("precopy", "modelled"),
    ("stop_and_copy", "modelled"),
    ("pause_to_resume", "simulated"),
    ("announce_and_source_teardown", "simulated"),
]


def check_on_destination_vf(run: ModeRun) -> None:
    """After the migration every frame arrived, the VM's crossing host B's VF port
    (switch port 1) both ways and none host B's PF port."""
    sent_after, got_after = run.after
    assert got_after == sent_after, "frames lost after the migration ended"
    assert run.dst_port_delta["port1"]["rx_packets"] == sent_after[0]
    assert run.dst_port_delta["port1"]["tx_packets"] == sent_after[1]
    assert run.dst_port_delta["port0"]["rx_packets"] == 0


def check_tor_moved(run: ModeRun, mac: str) -> None:
    """The ToR moved the VM's MAC to host B's port once, on host B's one RARP, flooded to
    host A and the outside (the VM itself sent nothing from host B before it)."""
    rack = run.rack
    assert rack.tor.lookup(mac, rack.now_ns()) == PORT_HOST_B
    assert [(m.mac, m.old_port, m.new_port) for m in rack.tor.moves] == [
        (mac, PORT_HOST_A, PORT_HOST_B)
    ]
    assert [(p, out) for p, _, out in run.rarps] == [(PORT_HOST_B, (PORT_HOST_A, PORT_OUTSIDE))]
    assert rack.tor.moves[0].time == run.rarps[0][1] >= run.migration.at("announced")


def check_hosts_and_gaps(run: ModeRun) -> tuple[dict[str, int], int]:
    """No IOMMU fault or host-bus error on either host; each direction's longest gap
    while the migration ran is at least the pause (no frame arrives while the VM is
    paused). Returns the gaps and the pause, in ns."""
    for tb in run.rack.hosts.values():
        assert not tb.iommu.faults and not tb.host_bus.errors
    result = run.migration
    pause = result.at("resumed_on_destination") - result.at("paused")
    gaps = run.gaps_ns()
    for name, gap in gaps.items():
        assert gap >= pause, (name, gap, pause)
    return gaps, pause


def check_losses_placed(run: ModeRun) -> None:
    """Every frame lost is named with the switch-over it was in flight at: each reason's
    frames all fall inside one of the migration's simulated phases (only the NIC's
    no-route counter, which cannot time its drops, is exempt)."""
    for flow, per_reason in run.lost_in_phase().items():
        for reason, cells in per_reason.items():
            if reason.startswith("nic_no_route"):
                continue
            unplaced = {k: n for k, n in cells.items() if k in NOT_PLACED}
            assert not unplaced, (flow, reason, cells)


NOT_PLACED = ("outside the migration", "time not recorded")


def check_pings_and_carrier(run: ModeRun) -> None:
    """Pings ran both ways throughout: echo requests left each end before, during and
    after the migration's window (the VM's except while it was paused), and after it
    every one was answered; the guest's carrier, sampled every round it ran, never
    dropped."""
    start, end = run.window()
    track, result = run.work.pings, run.migration
    paused = (result.at("paused"), result.at("resumed_on_destination"))
    for session in (track.from_vm, track.from_ext):
        times = sorted(session.send_times.values())
        assert times[0] < start and times[-1] > end, (session.dst_ip, times[0], times[-1])
        assert any(start <= t <= end for t in times), f"no ping to {session.dst_ip} in the move"
    # (Whether an echo meets the simulated pause, about 1 us, depends on where the ping
    # interval of 8 rounds falls; the UDP flow meets it every run.)
    vm_sent = track.from_vm.send_times.values()
    assert not any(paused[0] < t < paused[1] for t in vm_sent), "the VM pinged while paused"
    work = run.work
    assert work.carrier_samples > 0 and work.carrier_down_ns == [], work.carrier_down_ns
