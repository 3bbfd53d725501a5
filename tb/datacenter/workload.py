"""The migration workload: UDP flows both ways between a VM and the outside host, and the
loss accounting both migration modes are judged by (docs/MIGRATION.md §6, §9).

:class:`VmWorkload` drives one flow from the VM's stack to the outside host and one
back, in rounds of one frame per flow every ``pace`` cycles, sizes cycling through
``sizes``. It timestamps every arrival at either end (for the downtime gaps and the
throughput plot) and records frames the guest's stack refused. The VM's own flow
sends nothing while its vCPUs are stopped (``vm_paused``).

:class:`LossLedger` gathers the frames dropped at named points (the vswitches'
records, the NIC's no-route counters, the failover device's drops) by flow id and
:meth:`LossLedger.balance` checks, flow by flow, that what was sent is what was
delivered plus what was lost under a named reason: an unnamed loss or a name with
no loss behind it raises :class:`LossImbalance`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import cocotb

from tb.datacenter.rack import Rack
from tb.guest.flow_receiver import FlowReceiver
from tb.guest.flows import UdpFlow, parse_flow
from tb.guest.stack import NetStack, TxOutcome, UdpDatagram, UdpHandler

SIZES = (64, 1518, 300, 1000, 128, 576)  # frame sizes the flows cycle through
PACE_CYCLES = 150  # cycles between rounds (one frame per flow per round)
FLOW_PORT = 6000  # UDP port both ends sink their flow on
TO_OUTSIDE, TO_VM = 1, 2  # flow ids
SETTLE_STEP = 500  # cycles between progress checks while settling


@dataclass
class Flow:
    """One direction of the workload: who sends, who counts what arrived, and when."""

    name: str
    flow: UdpFlow
    sender: NetStack
    rx: FlowReceiver
    from_vm: bool = False  # sent by the migrating VM (it stops while the VM is paused)
    sent: int = 0
    arrivals: list[tuple[int, int]] = field(default_factory=list)  # (ns, frame bytes)

    @property
    def flow_id(self) -> int:
        return self.flow.flow_id

    @property
    def received(self) -> int:
        st = self.rx.flows.get(self.flow_id)
        return 0 if st is None else st.received

    def longest_gap_ns(self, start_ns: int, end_ns: int) -> int:
        """The longest time between two arrivals inside [start, end] (the simulated part of
        the downtime in this direction); 0 with fewer than two arrivals there."""
        inside = [t for t, _ in self.arrivals if start_ns <= t <= end_ns]
        return max((b - a for a, b in pairwise(inside)), default=0)


@dataclass(frozen=True)
class FlowAccount:
    """A flow's balance: ``sent == delivered + sum(lost.values())``."""

    name: str
    flow_id: int
    sent: int
    delivered: int
    lost: dict[str, int]
    duplicates: int
    reordered: int
    corrupted: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "flow_id": self.flow_id,
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": dict(sorted(self.lost.items())),
            "lost_total": sum(self.lost.values()),
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "corrupted": self.corrupted,
        }


class LossImbalance(AssertionError):
    """A flow's frames do not balance: sent != delivered + lost by named reason."""


class LossLedger:
    """Frames lost at named points, by (flow id, reason)."""

    def __init__(self) -> None:
        self.named: Counter[tuple[int, str]] = Counter()
        # when each dropped frame met its drop point (ns), where the drop point knows
        self.when: dict[tuple[int, str], list[int]] = {}

    def add_frames(
        self, reason: str, frames: Iterable[bytes], times_ns: Iterable[int] | None = None
    ) -> None:
        """Dropped frames, each attributed to its flow by scapy's parse of its header, with
        the simulated time of each drop if known."""
        frames = list(frames)
        times = list(times_ns) if times_ns is not None else [None] * len(frames)
        if len(times) != len(frames):
            raise ValueError(f"{reason}: {len(frames)} frames but {len(times)} times")
        for frame, t in zip(frames, times, strict=True):
            if (ids := parse_flow(frame)) is not None:
                self.named[ids[0], reason] += 1
                if t is not None:
                    self.when.setdefault((ids[0], reason), []).append(t)

    def add_vswitch(
        self, host: str, dropped: list[tuple[str, str, bytes]], times_ns: list[int]
    ) -> None:
        """A vswitch's record of (where, reason, frame) and their times: reason named with
        its host."""
        for (_where, reason, frame), t in zip(dropped, times_ns, strict=True):
            self.add_frames(f"{reason} (host {host})", [frame], [t])

    def add_count(self, flow_id: int, reason: str, n: int, at_ns: int | None = None) -> None:
        """``n`` frames of one flow lost where only a counter exists (a NIC drop counter
        that only this flow's frames can reach); ``at_ns``: the switch-over point the
        counter belongs to, when it can only count frames of that one."""
        if n < 0:
            raise ValueError(f"negative loss count {n} for {reason!r}")
        if n:
            self.named[flow_id, reason] += n
            if at_ns is not None:
                self.when.setdefault((flow_id, reason), []).extend([at_ns] * n)

    def reasons(self, flow_id: int) -> dict[str, int]:
        return {r: n for (fid, r), n in self.named.items() if fid == flow_id and n}

    def balance(self, flows: Iterable[Flow]) -> list[FlowAccount]:
        """Each flow's account; raises :class:`LossImbalance` when one does not balance."""
        out = []
        for f in flows:
            f.rx.set_sent(f.flow_id, f.sent)
            st = f.rx.stats(f.flow_id)
            lost = self.reasons(f.flow_id)
            acct = FlowAccount(
                f.name,
                f.flow_id,
                f.sent,
                f.sent - st.lost,
                lost,
                st.duplicated,
                st.reordered,
                st.corrupted,
            )
            if st.lost != sum(lost.values()):
                raise LossImbalance(
                    f"{f.name}: sent {f.sent}, delivered {acct.delivered}, lost {st.lost} "
                    f"but named {sum(lost.values())}: {lost}"
                )
            out.append(acct)
        return out


class VmWorkload:
    """UDP flows VM -> outside and outside -> VM through the rack, and ping both ways.

    ``vm`` is the guest's stack (its transmit is whatever datapath the mode gives
    it); wire :meth:`receive` as the guest datapath's receive handler so frames the
    stack refuses are recorded.
    """

    def __init__(
        self,
        rack: Rack,
        vm: NetStack,
        *,
        sizes: tuple[int, ...] = SIZES,
        pace_cycles: int = PACE_CYCLES,
        vm_paused: Callable[[], bool] = lambda: False,
    ) -> None:
        if not sizes or pace_cycles <= 0:
            raise ValueError(f"workload needs sizes and pace_cycles > 0: {sizes}, {pace_cycles}")
        self.rack = rack
        self.vm = vm
        self.sizes = sizes
        self.pace_cycles = pace_cycles
        self.vm_paused = vm_paused
        self.refused: list[bytes] = []
        self.rounds = 0
        self.idle: list[tuple[int, int]] = []  # (ns, ns) windows settling, nothing sent
        ext = rack.outside
        vm_sink = FlowReceiver()
        self.flows = [
            Flow("vm -> outside", vm.udp_flow(TO_OUTSIDE, ext.ip), vm, ext.sink, True),
            Flow("outside -> vm", ext.source(TO_VM, vm.ip), ext, vm_sink, False),
        ]
        ext.unbind_udp(FLOW_PORT)
        ext.bind_udp(FLOW_PORT, self._timed(self.flows[0]))
        vm.bind_udp(FLOW_PORT, self._timed(self.flows[1]))

    def _timed(self, f: Flow) -> UdpHandler:
        def deliver(dgram: UdpDatagram) -> None:
            f.arrivals.append((self.rack.now_ns(), len(dgram.payload)))
            f.rx.deliver(dgram)

        return deliver

    def receive(self, frame: bytes) -> None:
        """The guest's receive: into its stack; a frame the stack refuses is recorded."""
        before = self.vm.counters.foreign_total()
        self.vm.receive(frame)
        if self.vm.counters.foreign_total() != before:
            self.refused.append(frame)

    async def ping_both_ways(self) -> None:
        """One ping each way (ARP resolved on the way); waits until both are answered."""
        ext = self.rack.outside
        pings = [self.vm.ping(ext.ip, 1), ext.ping(self.vm.ip, 1)]
        await self.rack.a.wait_until("pings", lambda: all(p.received == 1 for p in pings))

    async def traffic(self, rounds: int) -> None:
        """``rounds`` rounds: one frame per flow (the VM's only while it runs), then pace."""
        for _ in range(rounds):
            for f in self.flows:
                if f.from_vm and self.vm_paused():
                    continue  # the guest's vCPUs are stopped
                size = self.sizes[(self.rounds + f.flow_id) % len(self.sizes)]
                out = f.sender.send_flow(f.flow, size)
                if out is TxOutcome.NO_ROUTE:
                    raise AssertionError(f"{f.name}: no route at round {self.rounds}")
                f.sent += 1
            self.rounds += 1
            await self.rack.cycles(self.pace_cycles)

    async def during(self, done: Callable[[], bool]) -> None:
        """Traffic, round by round, until ``done()``."""
        while not done():
            await self.traffic(1)

    async def settle(self, quiet_cycles: int, since: list[tuple[int, int]] | None = None) -> None:
        """Until every frame sent (since the ``since`` snapshot) arrived, or none arrived for
        ``quiet_cycles``."""
        base = since or [(0, 0)] * len(self.flows)
        total = sum(f.sent - s for f, (s, _) in zip(self.flows, base, strict=True))
        quiet, last = 0, -1
        t0 = self.rack.now_ns()
        while (
            got := sum(f.received - r for f, (_, r) in zip(self.flows, base, strict=True))
        ) < total:
            quiet = quiet + SETTLE_STEP if got == last else 0
            if quiet >= quiet_cycles:
                break  # the rest is lost; the ledger must name every one
            last = got
            await self.rack.cycles(SETTLE_STEP)
        if self.rack.now_ns() > t0:
            self.idle.append((t0, self.rack.now_ns()))

    def snapshot(self) -> list[tuple[int, int]]:
        """(sent, received) per flow, to count a later window."""
        return [(f.sent, f.received) for f in self.flows]

    def since(self, snap: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
        """(sent, received) per flow since ``snap``."""
        sent = [f.sent - s for f, (s, _) in zip(self.flows, snap, strict=True)]
        got = [f.received - r for f, (_, r) in zip(self.flows, snap, strict=True)]
        return sent, got


async def run_with_traffic(workload: VmWorkload, job: Awaitable[Any]) -> Any:
    """Run ``job`` (a migration) while the workload's flows keep running; its result."""
    task = cocotb.start_soon(job)
    await workload.during(task.done)
    return task.result()
