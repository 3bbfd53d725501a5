"""One migration run on the rack, under the shared workload, and what it reports
(docs/MIGRATION.md §6 to §9). Both modes (NPA here, failover in
:mod:`tb.datacenter.failover_run`) return a :class:`ModeRun`, so the test of each mode
and the ``migrate`` scenario read the same figures from the same code.

A run: both hosts up (PF probed, SR-IOV on, NPA host), the VM booted on host A and
moved to its passthrough path, ping both ways, ``rounds_before`` rounds of traffic
(UDP both ways, pings both ways, the guest's carrier sampled), the migration while
traffic runs, the frames in flight settle, ``rounds_after`` rounds on host B, settle
again; then every stream's loss is balanced against the named drop points
(:class:`~tb.datacenter.loss_ledger.LossLedger`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tb.datacenter.loss_ledger import FlowAccount, LossLedger
from tb.datacenter.rack import Rack, RackConfig
from tb.datacenter.workload import TO_VM_STREAMS, VmWorkload, run_with_traffic
from tb.env import TbConfig
from tb.guest.stack import InterfaceConfig, NetStack
from tb.hypervisor.failover_migration import HotplugParams
from tb.hypervisor.migration import (
    AnnounceSchedule,
    LinkFault,
    MigrationResult,
    MoveParams,
    NpaMigration,
    rarp_frame,
)
from tb.hypervisor.migration_model import PrecopyParams
from tb.hypervisor.npa import NpaHost
from tb.net.tor_switch import Forwarding
from tb.ref.regmap import Esw, PortCounter

REFUSALS = ("no_vf_free", "wrong_plugin")
UPLINK_PORT = 2  # the uplink's switch port on a 1-VF nic_top (PF 0, VF 1)
SETTLE_AFTER_MIGRATION = 3_000  # cycles without an arrival before the after-window starts
GAP_TAIL_NS = 20_000  # arrivals this long after the last switch-over still count for gaps


@dataclass(frozen=True)
class GuestSpec:
    """The migrating VM."""

    name: str = "vm1"
    mac: str = "02:00:00:00:0a:01"
    ip: str = "10.0.0.1"
    mem_bytes: int = 8 << 20  # simulated guest memory (PrecopyParams models the full size)
    vf: int = 0  # the VF it gets on each host (function 1 + vf)


@dataclass(frozen=True)
class RunParams:
    """Everything a run depends on; both modes of a comparison use the same."""

    guest: GuestSpec = field(default_factory=GuestSpec)
    precopy: PrecopyParams = field(default_factory=PrecopyParams)
    announce: AnnounceSchedule = field(default_factory=AnnounceSchedule)
    hotplug: HotplugParams = field(default_factory=HotplugParams)  # failover mode's F2, F5
    # Abort and roll back (docs/MIGRATION.md §10): host B refuses the VM ("no_vf_free":
    # its VF is taken; "wrong_plugin": it has no plugin for its VF), or the link fails.
    refusal: str | None = None
    link_fault: LinkFault | None = None
    sample_ns: int = 20_000  # simulated traffic whose dirtied pages are the working set
    rounds_before: int = 30
    rounds_after: int = 40
    quiet_cycles: int = 20_000  # settle: no arrival for this long = the rest is lost
    seed: int = 41

    def __post_init__(self) -> None:
        if min(self.rounds_before, self.rounds_after) < 1 or self.quiet_cycles <= 0:
            raise ValueError(f"a run needs traffic before and after and a settle time: {self}")
        if self.refusal not in (None, *REFUSALS):
            raise ValueError(f"refusal {self.refusal!r}: one of {', '.join(REFUSALS)}")

    def move_params(self) -> MoveParams:
        return MoveParams(self.announce, self.precopy, self.sample_ns, self.link_fault)

    def rack_config(self) -> RackConfig:
        vfs = (1 + self.guest.vf,)
        return RackConfig(
            host_a=TbConfig(seed=self.seed, vm_vfs=vfs),
            host_b=TbConfig(seed=self.seed + 1, vm_vfs=vfs),
        )


@dataclass
class ModeRun:
    """What one mode's run left: the migration's events and phases, the workload and its
    balanced loss accounts, what the destination's switch and the ToR saw."""

    mode: str
    rack: Rack
    hosts: dict[str, NpaHost]
    migration: MigrationResult
    work: VmWorkload
    ledger: LossLedger
    accounts: list[FlowAccount] = field(default_factory=list)
    # frames (sent, delivered) after the move, each as [from the VM, to the VM]
    after: tuple[list[int], list[int]] = ([], [])
    # switch ports 0 (PF) and 1 (the VF) of the host the VM ended on, after the move
    dst_port_delta: dict[str, dict[str, int]] = field(default_factory=dict)
    rarps: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)
    path_of_phase: dict[str, str] = field(default_factory=dict)  # phase -> datapath
    first_event: str = "start"
    last_event: str = ""
    extras: dict[str, Any] = field(default_factory=dict)  # the mode's own objects, not reported

    @property
    def final_host(self) -> str:
        """The host the VM ended on: B, or A after an abort."""
        return "a" if self.migration.aborted else "b"

    def window(self) -> tuple[int, int]:
        """[start, end] of the migration in simulated ns (end: last switch-over + tail)."""
        return self.migration.at(self.first_event), self.migration.at(self.last_event)

    def gaps_ns(self) -> dict[str, int]:
        """Per flow, the longest time between arrivals while the migration ran."""
        start, end = self.window()
        return {f.name: f.longest_gap_ns(start, end + GAP_TAIL_NS) for f in self.work.flows}

    def _steady_s(self) -> float:
        """Simulated time on the passthrough path outside the migration: from the first
        arrival to the migration's start, from its end to now."""
        start, end = self.window()
        first = min((t for f in self.work.flows for t, _ in f.arrivals[:1]), default=start)
        return (max(0, start - first) + max(0, self.rack.now_ns() - end)) / 1e9

    def lost_in_phase(self) -> dict[str, dict[str, dict[str, int]]]:
        """Per flow and reason, how many frames met their drop point during each phase
        (the switch-over they were in flight at); ``outside the migration`` otherwise,
        ``time not recorded`` where the drop point only counts (a NIC counter)."""
        spans = [
            (ph.at_ns, ph.at_ns + int(ph.duration_s * 10**9), ph.name)
            for ph in self.migration.phases()
            if ph.kind == "simulated"
        ]
        out: dict[str, dict[str, dict[str, int]]] = {}
        for f in self.work.streams:
            per: dict[str, dict[str, int]] = {}
            for reason, n in self.ledger.reasons(f.flow_id).items():
                times = self.ledger.when.get((f.flow_id, reason), [])
                cells = per.setdefault(reason, {})
                for t in times:
                    phase = next((nm for a, b, nm in spans if a <= t <= b), "outside the migration")
                    cells[phase] = cells.get(phase, 0) + 1
                if n > len(times):
                    cells["time not recorded"] = n - len(times)
            out[f.name] = per
        return out

    def _pings(self) -> dict[str, dict[str, Any]]:
        """Each ping session: echo requests sent, answered, lost round trips, RTTs (ns)."""
        out = {}
        for name, s in (
            ("vm -> outside", self.work.pings.from_vm),
            ("outside -> vm", self.work.pings.from_ext),
        ):
            rtts = s.rtts()
            out[name] = {
                "sent": s.sent,
                "answered": s.received,
                "unanswered": s.lost,
                "rtt_ns": {"min": min(rtts, default=0), "max": max(rtts, default=0)},
            }
        return out

    def report(self) -> dict[str, Any]:
        """JSON-ready figures of this mode (docs/MIGRATION.md §8)."""
        mig = self.migration
        phases = mig.phases()
        modelled_pause = next(
            (ph.duration_s for ph in phases if ph.name == "stop_and_copy"), Fraction(0)
        )
        gaps = self.gaps_ns()
        downtime = {
            name: {
                "simulated_ms": gap / 1e6,
                "modelled_ms": float(modelled_pause) * 1e3,
                "total_ms": gap / 1e6 + float(modelled_pause) * 1e3,
            }
            for name, gap in gaps.items()
        }
        path: dict[str, float] = {"passthrough": self._steady_s()}
        for ph in phases:
            where = self.path_of_phase.get(ph.name, "emulated")
            path[where] = path.get(where, 0.0) + float(ph.duration_s)
        plan = mig.precopy
        return {
            "mode": self.mode,
            "events": [{"name": e.name, "t_ns": e.t_ns, "detail": e.detail} for e in mig.events],
            "phases": [
                {
                    "name": ph.name,
                    "kind": ph.kind,
                    "at_ns": ph.at_ns,
                    "duration_s": float(ph.duration_s),
                    "path": self.path_of_phase.get(ph.name, "emulated"),
                }
                for ph in phases
            ],
            "downtime": downtime,
            "flows": [a.as_dict() for a in self.accounts],
            "lost_in_phase": self.lost_in_phase(),
            "tx_lost": sum(a.lost_total for a in self.accounts if not a.to_vm),
            "rx_lost": sum(a.lost_total for a in self.accounts if a.to_vm),
            "pings": self._pings(),
            "carrier": {
                "samples": self.work.carrier_samples,
                "down_ns": self.work.carrier_down_ns,
            },
            "duplicates": sum(a.duplicates for a in self.accounts),
            "reordered": sum(a.reordered for a in self.accounts),
            "precopy": None
            if plan is None
            else {
                "rounds": [
                    {"bytes": r.bytes_sent, "s": float(r.duration_s), "dirtied": r.dirtied_bytes}
                    for r in plan.rounds
                ],
                "total_bytes": plan.total_bytes,
                "stop_copy_bytes": plan.stop_copy_bytes,
                "converged": plan.converged,
                "working_set_pages": mig.working_set_pages,
            },
            "path_time_s": path,
            "after_migration": {"sent": self.after[0], "received": self.after[1]},
            "announce": {
                "schedule_ns": mig.announce_offsets_ns,
                "sent_ns": mig.announced_ns,
            },
            "final_host": self.final_host,
            "abort": None
            if mig.aborted is None
            else {"reason": mig.aborted, "detail": mig.abort_detail},
            "final_host_switch_ports": self.dst_port_delta,
            "tor": {
                "moves": [
                    {"mac": m.mac, "from": m.old_port, "to": m.new_port, "t_ns": m.time}
                    for m in self.rack.tor.moves
                ],
                "rarps": [{"port": p, "t_ns": t, "out": list(o)} for p, t, o in self.rarps],
            },
            "end_ns": self.rack.now_ns(),
            "idle": [list(w) for w in self.work.idle],
            "arrivals": {f.name: [[t, n] for t, n in f.arrivals] for f in self.work.flows},
        }


async def bring_up(rack: Rack, *, mailbox: bool = False) -> dict[str, NpaHost]:
    """Reset the rack; each host's PF probed, SR-IOV on, its NPA host ready; with
    ``mailbox`` the PF answers its VFs' drivers over the mailbox."""
    await rack.reset()
    hosts = {}
    for h, tb in rack.hosts.items():
        await tb.pf.probe()
        await tb.pf.enable_sriov(tb.num_vf)
        hosts[h] = await tb.npa_host()
        if mailbox:
            tb.pf.start_mailbox(hosts[h].irq)
    return hosts


async def no_route_drops(rack: Rack, host: str) -> int:
    """DROP_NO_ROUTE of a host's uplink port: frames from the wire with nowhere to go."""
    base = Esw.CNT_BASE + UPLINK_PORT * Esw.CNT_STRIDE
    return await rack.hosts[host].bar(0).read(base + PortCounter.DROP_NO_ROUTE)


def watch_rarps(rack: Rack, mac: str, into: list[tuple[int, int, tuple[int, ...]]]) -> None:
    """Record every RARP for ``mac`` the ToR sees: (ingress port, ns, egress ports)."""
    want = rarp_frame(mac)

    def watch(port: int, frame: bytes, out: Forwarding, now: int) -> None:
        if frame == want:
            into.append((port, now, out.ports))

    rack.observers.append(watch)


async def refuse_on_destination(hosts: dict[str, NpaHost], p: RunParams) -> None:
    """Make host B refuse the VM as ``p.refusal`` asks: its VF taken by another VM, or
    no plugin for its VF's vendor."""
    dst, vf = hosts["b"], p.guest.vf
    if p.refusal == "no_vf_free":
        dst.hv.create_vm("squatter", 1 << 20)
        dst.hv.assign_vf("squatter", vf)
    elif p.refusal == "wrong_plugin":
        identity = await dst.vf_identity(dst.hv.vf_function(vf))
        dst.vendors = tuple(v for v in dst.vendors if v.identity != identity)


async def migrate_under_traffic(run: ModeRun, p: RunParams, job: Awaitable[Any]) -> int:
    """The migration in the middle of a run: host B made to refuse if asked, RARPs for
    the VM watched, ``rounds_before`` rounds, then ``job`` while the flows keep running.
    Returns host A's uplink ``DROP_NO_ROUTE`` from before (for :func:`finish`)."""
    await refuse_on_destination(run.hosts, p)
    watch_rarps(run.rack, p.guest.mac, run.rarps)
    no_route0 = await no_route_drops(run.rack, "a")
    await run.work.traffic(p.rounds_before)
    await run_with_traffic(run.work, job)
    return no_route0


async def finish(
    run: ModeRun,
    no_route0: int,
    p: RunParams,
    mode_losses: Callable[[], Awaitable[None]] | None = None,
) -> ModeRun:
    """The common end of a run: what was in flight lands, ``rounds_after`` rounds on the
    host the VM ended on (counted on its switch ports), settle, then every flow's loss
    balanced;
    ``mode_losses`` adds the mode's own drop points to the ledger first (the run has
    settled then: nothing is on its way)."""
    rack, work = run.rack, run.work
    if run.migration.aborted:
        run.last_event = "back_on_source_vf"
    pf = rack.hosts[run.final_host].pf
    await work.settle(SETTLE_AFTER_MIGRATION)
    b0 = {port: await pf.port_stats(port) for port in (0, 1)}
    snap = work.snapshot()
    await work.traffic(p.rounds_after)
    await work.settle(p.quiet_cycles, since=snap)
    run.after = work.since(snap)
    b1 = {port: await pf.port_stats(port) for port in (0, 1)}
    run.dst_port_delta = {
        f"port{port}": {k: b1[port][k] - b0[port][k] for k in ("rx_packets", "tx_packets")}
        for port in (0, 1)
    }
    # after the move only frames to the VM (UDP, echo) reach host A's uplink with nowhere to go
    no_route = await no_route_drops(rack, "a") - no_route0
    run.ledger.add_count("nic_no_route (host a)", no_route, TO_VM_STREAMS)
    for h, host in run.hosts.items():
        run.ledger.add_vswitch(h, host.vswitch.dropped, host.vswitch.dropped_ns)
    run.ledger.add_frames("guest_refused", work.refused)
    if mode_losses is not None:
        await mode_losses()
    run.accounts = run.ledger.balance(work.streams)
    return run


# The datapath of the phases every mode shares (LiveMigration's).
MOVE_PATHS = {
    "precopy_sample": "emulated",
    "precopy": "emulated",
    "stop_and_copy": "paused",
    "pause_to_resume": "paused",
    "announce_and_source_teardown": "emulated",
    "roll_back": "emulated",
}
NPA_PATHS = {**MOVE_PATHS, "back_to_emulated": "emulated", "vf_attach": "emulated"}


async def run_npa(rack: Rack, p: RunParams) -> ModeRun:
    """NPA migration A -> B (docs/MIGRATION.md §4) under the workload."""
    g = p.guest
    hosts = await bring_up(rack)
    v = await hosts["a"].boot_vm(g.name, g.mac, g.mem_bytes)
    stack = NetStack(InterfaceConfig(g.mac, g.ip), v.shell.xmit, now=rack.now_ns, name=g.name)
    mig = NpaMigration(g.name, hosts["a"], hosts["b"], g.vf, p.move_params())
    work = VmWorkload(rack, stack, vm_paused=lambda: mig.paused, carrier=lambda: v.driver.link()[0])
    v.shell.receiver = work.receive
    if not await hosts["a"].attach_vf(g.name, g.vf):
        raise RuntimeError(f"{g.name}: vendor A's plugin refused on host A")
    await work.ping_both_ways()
    run = ModeRun("npa", rack, hosts, mig.result, work, work.ledger(), path_of_phase=NPA_PATHS)
    run.last_event = "plugin_on_destination"
    no_route0 = await migrate_under_traffic(run, p, mig.run())
    if not mig.result.plugin_attached:
        run.last_event = "plugin_refused"
    return await finish(run, no_route0, p)
