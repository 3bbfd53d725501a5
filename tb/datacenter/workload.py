"""The migration workload: UDP flows and pings both ways between a VM and the outside
host, every frame identifiable for the loss ledger (docs/MIGRATION.md §6, §9).

:class:`VmWorkload` drives one flow from the VM's stack to the outside host and one
back, in rounds of one frame per flow every ``pace`` cycles, sizes cycling through
``sizes``. It timestamps every arrival at either end (for the downtime gaps and the
throughput plot) and records frames the guest's stack refused. The VM's own flow
sends nothing while its vCPUs are stopped (``vm_paused``).

Every ``ping_every`` rounds the VM and the outside host each send one ICMP echo
request to the other (:class:`PingTrack`; the VM's not while it is paused), so
pings run through the whole migration; requests and replies are two more loss
streams (:class:`PingStream`). ``carrier`` is the guest's view of its interface's
link, sampled every round the guest runs: a sample with carrier down is recorded
(``carrier_down_ns``), the link flap the guest must never see.

Each stream (:class:`Flow`, :class:`PingStream`) tells the
:class:`~tb.datacenter.loss_ledger.LossLedger` which of its frames never arrived and
when each was sent; :meth:`VmWorkload.classify` puts a dropped frame in its stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import cocotb
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from tb.datacenter.loss_ledger import FrameKey, LossLedger, LossStream
from tb.datacenter.rack import Rack
from tb.guest.flow_receiver import FlowReceiver, FlowStats
from tb.guest.flows import UdpFlow, parse_flow
from tb.guest.ping import PingSession
from tb.guest.stack import NetStack, TxOutcome, UdpDatagram, UdpHandler

SIZES = (64, 1518, 300, 1000, 128, 576)  # frame sizes the flows cycle through
PACE_CYCLES = 150  # cycles between rounds (one frame per flow per round)
FLOW_PORT = 6000  # UDP port both ends sink their flow on
TO_OUTSIDE, TO_VM = 1, 2  # flow ids
PING_TO_OUTSIDE, PING_TO_VM = 3, 4  # the ICMP echo streams' ids (not UDP flow ids)
TO_VM_STREAMS = (TO_VM, PING_TO_VM)  # every tracked frame a NIC counter on the way to the VM sees
PING_EVERY = 8  # rounds between echo requests (each way)
REPLY_KEY = 1 << 16  # a ping stream's key: is_reply << 16 | seq
SEQ_MASK = 0xFFFF
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
    sent_ns: list[int] = field(default_factory=list)  # send time by sequence number
    arrivals: list[tuple[int, int]] = field(default_factory=list)  # (ns, frame bytes)

    @property
    def flow_id(self) -> int:
        return self.flow.flow_id

    @property
    def to_vm(self) -> bool:
        return not self.from_vm

    def sent_frames(self) -> int:
        return self.sent

    def _stats(self) -> FlowStats:
        self.rx.set_sent(self.flow_id, self.sent)
        return self.rx.stats(self.flow_id)

    def missing(self) -> dict[int, float]:
        seen = self._stats().seen
        return {seq: float(t) for seq, t in enumerate(self.sent_ns) if seq not in seen}

    def quality(self) -> tuple[int, int, int]:
        st = self._stats()
        return st.duplicated, st.reordered, st.corrupted

    @property
    def received(self) -> int:
        st = self.rx.flows.get(self.flow_id)
        return 0 if st is None else st.received

    def longest_gap_ns(self, start_ns: int, end_ns: int) -> int:
        """The longest time between two arrivals inside [start, end] (the simulated part of
        the downtime in this direction); 0 with fewer than two arrivals there."""
        inside = [t for t, _ in self.arrivals if start_ns <= t <= end_ns]
        return max((b - a for a, b in pairwise(inside)), default=0)


def _reorders(seqs: Iterable[int]) -> int:
    """Arrivals with a sequence number below one that arrived before them."""
    top, n = -1, 0
    for seq in seqs:
        if seq < top:
            n += 1
        top = max(top, seq)
    return n


@dataclass
class PingStream:
    """One direction of the ICMP echo frames between the VM and the outside host: the
    requests of the session pinging this way and the replies to the session pinging the
    other way. A frame's key is ``is_reply << 16 | seq``."""

    name: str
    flow_id: int
    to_vm: bool
    requests: PingSession  # its requests travel this way
    replied: PingSession  # its replies travel this way
    arrived: list[tuple[int, int]]  # (seq, ns) of ``requests`` the far end answered
    answered: list[tuple[int, int]]  # (seq, ns) of ``replied`` this end answered (sent)

    def sent_frames(self) -> int:
        return self.requests.sent + len(self.answered)

    def missing(self) -> dict[int, float]:
        got = {seq for seq, _ in self.arrived}
        out = {seq: float(t) for seq, t in self.requests.send_times.items() if seq not in got}
        out.update(
            {REPLY_KEY | seq: t for seq, t in self.answered if seq not in self.replied.replies}
        )
        return out

    def quality(self) -> tuple[int, int, int]:
        dup = len(self.arrived) - len({seq for seq, _ in self.arrived}) + self.replied.duplicates
        reord = _reorders(s for s, _ in self.arrived) + _reorders(self.replied.replies)
        return dup, reord, self.replied.corrupted


class PingTrack:
    """Pings both ways between the VM and the outside host, one echo per direction at a
    time, as two :class:`PingStream` s of frames."""

    def __init__(self, vm: NetStack, ext: NetStack) -> None:
        self.vm, self.ext = vm, ext
        self.from_vm = vm.ping(ext.ip, 0)
        self.from_ext = ext.ping(vm.ip, 0)
        at_vm: list[tuple[int, int]] = []  # requests from outside the VM answered
        at_ext: list[tuple[int, int]] = []
        vm.on_echo_request = self._recorder(at_vm, ext, self.from_ext)
        ext.on_echo_request = self._recorder(at_ext, vm, self.from_vm)
        self.streams = [
            PingStream("ping vm -> outside", PING_TO_OUTSIDE, False, self.from_vm,
                       self.from_ext, at_ext, at_vm),
            PingStream("ping outside -> vm", PING_TO_VM, True, self.from_ext,
                       self.from_vm, at_vm, at_ext),
        ]  # fmt: skip

    def _recorder(
        self, log: list[tuple[int, int]], peer: NetStack, session: PingSession
    ) -> Callable[[str, int, int], None]:
        def record(src_ip: str, ident: int, seq: int) -> None:
            if src_ip == peer.ip and ident == session.ident:
                log.append((seq, int(self.vm.now())))

        return record

    def send(self, stack: NetStack) -> None:
        """One more echo request from ``stack`` (the VM or the outside host)."""
        session = self.from_vm if stack is self.vm else self.from_ext
        if session.sent > SEQ_MASK:
            raise RuntimeError(f"{stack.name}: ping sequence numbers would wrap; ping less often")
        stack.send_echo(session)

    def classify(self, frame: bytes) -> FrameKey | None:
        """(stream, key) of an echo frame of these sessions, by scapy's parse; else None."""
        pkt = Ether(frame)
        if IP not in pkt or ICMP not in pkt or pkt[ICMP].type not in (0, 8):
            return None
        ip, icmp = pkt[IP], pkt[ICMP]
        reply = icmp.type == 0
        if (ip.src, ip.dst) == (self.ext.ip, self.vm.ip):
            flow, session = PING_TO_VM, self.from_vm if reply else self.from_ext
        elif (ip.src, ip.dst) == (self.vm.ip, self.ext.ip):
            flow, session = PING_TO_OUTSIDE, self.from_ext if reply else self.from_vm
        else:
            return None
        if icmp.id != session.ident:
            return None
        return flow, (REPLY_KEY if reply else 0) | icmp.seq


class VmWorkload:
    """UDP flows VM -> outside and outside -> VM through the rack, and pings both ways.

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
        ping_every: int = PING_EVERY,
        vm_paused: Callable[[], bool] = lambda: False,
        carrier: Callable[[], bool] = lambda: True,
    ) -> None:
        if not sizes or pace_cycles <= 0 or ping_every <= 0:
            raise ValueError(
                f"workload needs sizes, pace_cycles > 0 and ping_every > 0: "
                f"{sizes}, {pace_cycles}, {ping_every}"
            )
        self.rack = rack
        self.vm = vm
        self.sizes = sizes
        self.pace_cycles = pace_cycles
        self.ping_every = ping_every
        self.vm_paused = vm_paused
        self.carrier = carrier
        self.carrier_samples = 0
        self.carrier_down_ns: list[int] = []  # samples the guest saw its link down
        self.refused: list[bytes] = []
        self.rounds = 0
        self.idle: list[tuple[int, int]] = []  # (ns, ns) windows settling, nothing sent
        ext = rack.outside
        vm_sink = FlowReceiver()
        self.flows = [
            Flow("vm -> outside", vm.udp_flow(TO_OUTSIDE, ext.ip), vm, ext.sink, True),
            Flow("outside -> vm", ext.source(TO_VM, vm.ip), ext, vm_sink, False),
        ]
        self.pings = PingTrack(vm, ext)
        ext.unbind_udp(FLOW_PORT)
        ext.bind_udp(FLOW_PORT, self._timed(self.flows[0]))
        vm.bind_udp(FLOW_PORT, self._timed(self.flows[1]))

    @property
    def streams(self) -> list[LossStream]:
        """Every stream the loss ledger balances: the UDP flows, then the ping frames."""
        return [*self.flows, *self.pings.streams]

    def classify(self, frame: bytes) -> FrameKey | None:
        """The (stream, key) of a frame of this workload (scapy's parse), else None."""
        ids = parse_flow(frame)
        if ids is not None:
            return ids if ids[0] in (TO_OUTSIDE, TO_VM) else None
        return self.pings.classify(frame)

    def ledger(self) -> LossLedger:
        return LossLedger(self.classify)

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
        """One echo each way (ARP resolved on the way); waits until both are answered."""
        track = self.pings
        want = (track.from_vm.received + 1, track.from_ext.received + 1)
        track.send(self.vm)
        track.send(self.rack.outside)
        await self.rack.a.wait_until(
            "pings", lambda: (track.from_vm.received, track.from_ext.received) == want
        )

    async def traffic(self, rounds: int) -> None:
        """``rounds`` rounds: one frame per flow (the VM's only while it runs), an echo each
        way every ``ping_every`` rounds, then pace."""
        for _ in range(rounds):
            running = not self.vm_paused()
            if running:
                self.carrier_samples += 1
                if not self.carrier():
                    self.carrier_down_ns.append(self.rack.now_ns())
            for f in self.flows:
                if f.from_vm and not running:
                    continue  # the guest's vCPUs are stopped
                size = self.sizes[(self.rounds + f.flow_id) % len(self.sizes)]
                f.sent_ns.append(self.rack.now_ns())
                out = f.sender.send_flow(f.flow, size)
                if out is TxOutcome.NO_ROUTE:
                    raise AssertionError(f"{f.name}: no route at round {self.rounds}")
                f.sent += 1
            if self.rounds % self.ping_every == 0:
                self.pings.send(self.rack.outside)
                if running:
                    self.pings.send(self.vm)
            self.rounds += 1
            await self.rack.cycles(self.pace_cycles)

    async def during(self, done: Callable[[], bool]) -> None:
        """Traffic, round by round, until ``done()``."""
        while not done():
            await self.traffic(1)

    def snapshot(self) -> list[tuple[int, int]]:
        """(sent, delivered) per stream (:attr:`streams`), to count a later window."""
        return [(s.sent_frames(), s.sent_frames() - len(s.missing())) for s in self.streams]

    async def settle(self, quiet_cycles: int, since: list[tuple[int, int]] | None = None) -> None:
        """Until every frame sent (since the ``since`` snapshot) arrived, echo replies
        included, or nothing arrived for ``quiet_cycles``."""
        base = since or [(0, 0)] * len(self.streams)
        quiet, last = 0, -1
        t0 = self.rack.now_ns()
        while True:
            sent, got = self.since(base)
            if sum(got) >= sum(sent) and all(not p.missing() for p in self.pings.streams):
                break
            quiet = quiet + SETTLE_STEP if sum(got) == last else 0
            if quiet >= quiet_cycles:
                break  # the rest is lost; the ledger must name every one
            last = sum(got)
            await self.rack.cycles(SETTLE_STEP)
        if self.rack.now_ns() > t0:
            self.idle.append((t0, self.rack.now_ns()))

    def since(self, snap: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
        """(sent, delivered) frames since ``snap``, each as [from the VM, to the VM]."""
        sent, got = [0, 0], [0, 0]
        for s, (s0, d0), (s1, d1) in zip(self.streams, snap, self.snapshot(), strict=True):
            sent[s.to_vm] += s1 - s0
            got[s.to_vm] += d1 - d0
        return sent, got


async def run_with_traffic(workload: VmWorkload, job: Awaitable[Any]) -> Any:
    """Run ``job`` (a migration) while the workload's flows keep running; its result."""
    task = cocotb.start_soon(job)
    await workload.during(task.done)
    return task.result()
