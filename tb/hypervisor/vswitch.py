"""The hypervisor's software switch behind the PF's port: the backend of emulated NICs.

An emulated vmxnet3 device hands each transmitted frame to its port here. A
frame for another emulated VM on this host is delivered in software (as a
vSwitch port group does); every other frame, and every broadcast or multicast,
is sent through the PF's own TX queue in the RTL, so emulated traffic crosses
the real embedded switch and its policy. Frames the embedded switch forwards
to the PF's port (the hypervisor put each emulated VM's MAC in the switch's
forwarding table for port 0) arrive on the PF's RX queue and are delivered to
the VM whose MAC they name; a broadcast or multicast to every VM but one whose MAC
is the frame's source (a VM's own frame, sent on its VF, back from the NIC: counted
``rx_own_source``). Nothing is dropped silently: each undeliverable frame is counted
under its reason.

The PF's rings live in host memory with the host's identity IOMMU domain; the
pumps wake per completion batch (WriteWatch), never per clock.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import cocotb
from cocotb.task import Task
from cocotb.triggers import Event
from cocotb.utils import get_sim_time

from tb.host.mmio import FunctionBar
from tb.pf_driver.driver import PfDriver
from tb.ref.eswitch_model import MAX_FRAME_BYTES
from tb.vf_driver.queues import DmaMemory, QueueStall, RxFrame, RxQueue, TxQueue

PF_PORT = 0  # the PF's port on the embedded switch
BROADCAST = "ff:ff:ff:ff:ff:ff"

# Hands a frame to a VM: None when delivered, else the named reason it was not.
Deliver = Callable[[bytes], str | None]
DROP_RECORD_LIMIT = 10_000  # dropped frames kept for the report's per-flow accounting


def dst_mac(frame: bytes) -> str:
    return frame[:6].hex(":")


def is_group(mac: str) -> bool:
    return int(mac[:2], 16) & 1 == 1


ETH_P_8021Q = 0x8100
VID_MASK = 0xFFF


def is_tagged(frame: bytes) -> bool:
    return len(frame) >= 18 and int.from_bytes(frame[12:14], "big") == ETH_P_8021Q


def untag(f: RxFrame) -> tuple[int, bytes]:
    """(VID, untagged frame) of a frame the PF received: its tag stripped by the NIC
    into the completion, or still in the frame (VID 0: untagged)."""
    if f.completion.vlan_stripped:
        return f.completion.vlan_tci & VID_MASK, f.data
    if is_tagged(f.data):
        return int.from_bytes(f.data[14:16], "big") & VID_MASK, f.data[:12] + f.data[16:]
    return 0, f.data


@dataclass
class VswitchPort:
    """One emulated NIC's port: its MAC and how to hand it a frame."""

    name: str
    mac: str
    deliver: Deliver
    pvid: int = 0  # the port group's VLAN (0: none): added on TX, required and removed on RX
    max_frame: int = MAX_FRAME_BYTES  # longest frame (untagged) through this port, both ways
    stats: Counter[str] = field(default_factory=Counter)
    tx_outstanding: int = 0  # frames handed to the PF's queue and not yet completed


class PfPortVswitch:
    """Software switch of one host, uplinked through the PF's queue pair 0."""

    def __init__(
        self, bar: FunctionBar, mem: DmaMemory, pf: PfDriver, *, size_log2: int = 8
    ) -> None:
        self.pf = pf
        self.txq = TxQueue(bar, mem, 0, size_log2)
        self.rxq = RxQueue(bar, mem, 0, size_log2)
        self.ports: dict[str, VswitchPort] = {}
        self.stats: Counter[str] = Counter()
        # (where, reason, frame) of every frame no VM took, for per-flow accounting:
        # where is "<VM> device" (the VM's device refused it) or "vswitch" (no VM has
        # the destination MAC, e.g. it moved to its VF while the frame was on the way).
        self.dropped: list[tuple[str, str, bytes]] = []
        self.dropped_ns: list[int] = []  # simulated time of each record in ``dropped``
        # Told of every such frame, beyond DROP_RECORD_LIMIT too: (time in ns, where,
        # reason, frame), for a long run that keeps what it needs of each (the soak).
        self.drop_observers: list[Callable[[int, str, str, bytes], None]] = []
        self._tx_backlog: deque[tuple[VswitchPort, bytes, int | None]] = deque()
        # sender and destination MAC of each frame on the PF ring
        self._tx_posted: deque[tuple[VswitchPort, str]] = deque()
        # frames for each destination MAC queued here or on the PF's ring, not completed
        self._tx_to: Counter[str] = Counter()
        self._tx_kick = Event()
        self._tx_progress = Event()
        self._tx_failure: BaseException | None = None
        self._tasks: list[Task] = []

    async def open(self) -> None:
        await self.txq.open()
        await self.rxq.open()
        self._tasks = [cocotb.start_soon(self._tx_pump()), cocotb.start_soon(self._rx_pump())]

    def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        self._tasks = []

    # -- ports ----------------------------------------------------------------------------

    async def attach(
        self,
        name: str,
        mac: str,
        deliver: Deliver,
        pvid: int = 0,
        max_frame: int = MAX_FRAME_BYTES,
        pipe: Callable[[], Awaitable[None]] | None = None,
    ) -> VswitchPort:
        """Connect an emulated NIC; the embedded switch forwards its MAC (on the port
        group's VLAN ``pvid``) to the PF's port.

        The port takes other VMs' frames in software at once; frames already sent
        towards its MAC through the PF's queue (it was on a VF until now) leave the
        queue, and then the NIC (``pipe`` waits for a frame completed on the PF's
        ring to pass the switch's ingress), before the switch's entry moves: they
        still find the VF rather than an entry that points back at the PF, which the
        switch would drop them at (no route: their own port).
        """
        mac = mac.lower()
        if mac in self.ports:
            raise ValueError(f"MAC {mac} already on vswitch port {self.ports[mac].name!r}")
        if not 0 <= pvid <= 4094:
            raise ValueError(f"port VLAN {pvid} outside 0..4094")
        port = VswitchPort(name, mac, deliver, pvid, max_frame)
        self.ports[mac] = port
        waited = await self._drain_to(mac)
        if waited:
            self.stats["attach_waited_for_queued"] += waited
            if pipe is not None:
                await pipe()
        await self.pf.add_fdb(mac, PF_PORT, pvid)
        return port

    async def detach(self, mac: str) -> None:
        """Disconnect (the VM moved to its VF, or left): the switch entry goes too."""
        port = self.ports.pop(mac.lower())
        await self.pf.del_fdb(port.mac, port.pvid)

    def forget(self, mac: str) -> None:
        """Drop the port but keep the switch entry: the PF driver re-pointed it (to a VF)."""
        del self.ports[mac.lower()]

    async def move(self, old_mac: str, new_mac: str) -> None:
        """The VM's MAC changed (policy allowed it): re-key its port and the switch entry."""
        port = self.ports[old_mac.lower()]
        await self.detach(old_mac)
        await self.attach(port.name, new_mac, port.deliver, port.pvid, port.max_frame)

    # -- frames ---------------------------------------------------------------------------

    def transmit(self, src: VswitchPort, frame: bytes, vlan_tci: int | None = None) -> None:
        """A frame from an emulated NIC: local delivery, or out through the PF's queue.

        On a port VLAN the guest may not tag (refused, counted, recorded); its
        frames reach only ports of the same VLAN and leave tagged with it (the PF's
        TX descriptor inserts the tag).
        """
        src.stats["tx"] += 1
        if src.pvid:
            if vlan_tci is not None or is_tagged(frame):
                self._refuse_tx(src, "vlan_policy", frame)
                return
            vlan_tci = src.pvid
        if len(frame) > src.max_frame:  # above the MTU the hypervisor approved
            self._refuse_tx(src, "frame_too_big", frame)
            return
        dst = dst_mac(frame)
        local = self.ports.get(dst)
        if not is_group(dst) and local is not None and local.pvid == src.pvid:
            self._deliver(local, frame, "local")
            return
        if is_group(dst):
            for port in self.ports.values():
                if port is not src and port.pvid == src.pvid:
                    self._deliver(port, frame, "local_flood")
        src.tx_outstanding += 1
        self._tx_to[dst] += 1
        self._tx_backlog.append((src, frame, vlan_tci))
        self._tx_kick.set()

    async def drain(self, port: VswitchPort) -> int:
        """Until every frame ``port`` sent through the PF's queue has completed there.

        A VM leaving the emulated path (ACTIVATE_VF) waits for this, so none of
        its frames still queued here is overtaken by one sent on its VF. Returns
        how many frames were waited for. Raises the TX pump's error (e.g. a
        ``QueueStall`` of the PF's ring) instead of waiting forever.
        """
        return await self._wait_sent(lambda: port.tx_outstanding, f"vswitch port {port.name!r}")

    async def _drain_to(self, mac: str) -> int:
        """Until every frame for ``mac`` sent through the PF's queue has completed there."""
        return await self._wait_sent(lambda: self._tx_to[mac], f"frames for {mac}")

    async def _wait_sent(self, left: Callable[[], int], what: str) -> int:
        waited = left()
        while left():
            if self._tx_failure is not None:
                raise RuntimeError(
                    f"{what}: {left()} frames never left the PF's queue: {self._tx_failure}"
                ) from self._tx_failure
            self._tx_progress.clear()
            await self._tx_progress.wait()
        return waited

    def _deliver(self, port: VswitchPort, frame: bytes, how: str) -> None:
        too_big = len(frame) > port.max_frame
        reason = "frame_too_big" if too_big else port.deliver(frame)
        if reason is None:
            port.stats["rx"] += 1
            self.stats[f"delivered_{how}"] += 1
            return
        port.stats[f"rx_dropped_{reason}"] += 1
        self.stats[f"dropped_{reason}"] += 1
        self._record(f"{port.name} device", reason, frame)

    def _refuse_tx(self, src: VswitchPort, reason: str, frame: bytes) -> None:
        src.stats[f"tx_dropped_{reason}"] += 1
        self.stats[f"dropped_tx_{reason}"] += 1
        self._record(f"{src.name} vswitch", f"tx_{reason}", frame)

    def _record(self, where: str, reason: str, frame: bytes) -> None:
        now = int(get_sim_time("ns"))
        for observe in self.drop_observers:
            observe(now, where, reason, frame)
        if len(self.dropped) < DROP_RECORD_LIMIT:
            self.dropped.append((where, reason, frame))
            self.dropped_ns.append(now)

    async def _tx_pump(self) -> None:
        try:
            await self._tx_pump_loop()
        except BaseException as exc:  # also a cancel: nobody may wait for frames forever
            self._tx_failure = exc
            self._tx_progress.set()
            raise

    async def _tx_pump_loop(self) -> None:
        txq = self.txq
        while True:
            while not self._tx_backlog and not txq.in_flight:
                self._tx_kick.clear()
                await self._tx_kick.wait()
            posted = 0
            while self._tx_backlog and txq.ring.free_slots() > 0:
                src, frame, tci = self._tx_backlog.popleft()
                txq.post(frame, vlan_tci=tci)
                self._tx_posted.append((src, dst_mac(frame)))
                posted += 1
            if posted:
                await txq.ring_doorbell()
                self.stats["pf_tx_posted"] += posted
            # Wait for the ring to drain a little (frames queued meanwhile go next).
            done = txq.reap() if not txq.in_flight else await txq.wait_reaped()
            for tx in done:
                failed = tx.completion is not None and tx.completion.status != 0
                self.stats["pf_tx_errors" if failed else "pf_tx_sent"] += 1
                src, dst = self._tx_posted.popleft()
                src.tx_outstanding -= 1
                self._tx_to[dst] -= 1
            if done:
                self._tx_progress.set()

    async def _rx_pump(self) -> None:
        while True:
            try:
                frames = await self.rxq.wait_reaped()
            except QueueStall:
                continue  # a quiet uplink is normal
            for f in frames:
                self.stats["pf_rx"] += 1
                if f.completion.status:
                    self.stats["pf_rx_errors"] += 1
                    continue
                vid, frame = untag(f)
                dst, src = dst_mac(frame), frame[6:12].hex(":")
                port = self.ports.get(dst)
                if src in self.ports and (is_group(dst) or dst == src):
                    # A VM's own frame back from the NIC (sent on its VF before it came
                    # here, flooded to the PF's port): never handed to it, as a vSwitch's
                    # reverse-path filter drops an uplink frame from a local port's MAC.
                    self.stats["rx_own_source"] += 1
                if is_group(dst):
                    for mac, p in self.ports.items():
                        if p.pvid == vid and mac != src:
                            self._deliver(p, frame, "flood")
                elif dst == src:
                    pass  # its own unicast: counted above
                elif port is not None and port.pvid == vid:
                    self._deliver(port, frame, "pf")
                else:  # e.g. the VM's MAC moved to its VF while the frame was on the way
                    self.stats["dropped_no_such_vm"] += 1
                    self._record("vswitch", "no_such_vm", frame)

    def idle(self) -> bool:
        return not self._tx_backlog and not self.txq.in_flight
