"""The failover device's two slaves in the simulated guest (tb/guest/failover.py).

- :class:`VmxnetStandby`: the standby, the guest's vmxnet3 driver and its shell on the
  emulated device of an NPA host's VM (``NpaHost.boot_vm``). The shell never gets a
  plugin. Its settings are trapped register writes the hypervisor decides.
- :class:`VfPrimary`: the primary, the ordinary VF driver (tb/vf_driver/ixgbevf.py)
  on a VF the hypervisor assigned to the VM, its rings and buffers in the VM's
  memory; it brings the VF up over the mailbox, then a TX pump (the stack's frames
  onto the ring, doorbell, completions reaped) and an RX pump (frames reaped and
  handed up, buffers reposted) run until it is removed. Settings go over the mailbox,
  in order, one exchange at a time. :meth:`VfPrimary.remove` is the driver's remove
  at a hot-unplug (ixgbevf_remove: the interface goes down, the queues are disabled,
  whatever is still in the rings is freed): it returns those frames, the caller
  names them as lost.

MTU: the PF's mailbox has no SET_LPE and a vmxnet3 MTU change means re-activating
the device (``vmxnet3_change_mtu``), which the shell model does not do; both slaves
keep the MTU they came up with and refuse another with :class:`SlaveConfigError`
(the failover device then rolls back, as net_failover does on a refusal).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import cocotb
from cocotb.task import Task
from cocotb.triggers import Event

from tb.guest.failover import Receive, SlaveConfigError
from tb.hypervisor.npa_vm import MTU_FRAME_OVERHEAD, NpaVm
from tb.hypervisor.vmxnet3_control import DeviceResult
from tb.ref.mailbox import MC_MAX_IN_MSG, XcastMode, format_mac, parse_mac
from tb.shell_model.vmxnet3_defs import RxMode
from tb.vf_driver.ixgbevf import IxgbeVf
from tb.vf_driver.queues import QueueStall

BASE_MTU = 1500


class VmxnetStandby:
    """The standby: the VM's vmxnet3 interface (driver and shell) on its emulated device."""

    def __init__(self, v: NpaVm) -> None:
        self.v = v
        self.name = f"{v.name} vmxnet3"

    @property
    def mac(self) -> str:
        return format_mac(self.v.driver.current_mac())

    def is_running(self) -> bool:
        return self.v.device.emulating  # activated, and not paused by the hypervisor

    def has_carrier(self) -> bool:
        return self.v.driver.link()[0]

    def xmit(self, frame: bytes) -> bool:
        return self.v.shell.xmit(frame)

    def set_receiver(self, receive: Receive | None) -> None:
        self.v.shell.receiver = receive

    def set_mtu(self, mtu: int) -> None:
        have = self.v.max_frame - MTU_FRAME_OVERHEAD
        if mtu != have:
            raise SlaveConfigError(
                f"{self.name}: MTU {mtu}: vmxnet3 changes MTU only by re-activating the "
                f"device, which this model does not do (MTU stays {have})"
            )

    def _check(self, what: str, result: int) -> None:
        if result != DeviceResult.OK:
            raise SlaveConfigError(f"{self.name}: {what} refused ({DeviceResult(result).name})")

    def set_rx_mode(self, promisc: bool, allmulti: bool) -> None:
        mode = RxMode.UCAST | RxMode.BCAST | RxMode.MCAST
        mode |= RxMode.PROMISC if promisc else 0
        mode |= RxMode.ALL_MULTI if allmulti else 0
        self._check(f"RX mode {mode!r}", self.v.driver.set_rx_mode(mode))

    def set_multicast(self, macs: tuple[str, ...]) -> None:
        table = [parse_mac(m) for m in macs]
        self._check(f"{len(table)} multicast addresses", self.v.driver.set_multicast(table))

    def add_vid(self, vid: int) -> None:
        d = self.v.driver
        self._check(f"VLAN {vid}", d.set_vlans(d.vlans | {vid}))

    def kill_vid(self, vid: int) -> None:
        d = self.v.driver
        self._check(f"VLAN {vid} removal", d.set_vlans(d.vlans - {vid}))


@dataclass
class Unplugged:
    """What the VF driver's remove left: frames the stack gave it that were still in its
    software queue or its TX ring (``tx_pending``, oldest first: the device may have
    sent the oldest of them before the queue stopped), frames the device had written
    into its RX ring and the driver not handed up (``rx_unreaped``), and how many frames
    it had posted (``tx_posted``) and completed (``tx_completed``) over its life."""

    tx_pending: list[bytes]
    rx_unreaped: list[bytes]
    tx_posted: int
    tx_completed: int


@dataclass
class VfPrimary:
    """The primary: the VF driver on the VM's VF, as one netdev."""

    driver: IxgbeVf
    name: str = "vf"
    ring_log2: int = 6
    receive: Receive | None = None
    running: bool = False
    removed: bool = False
    tx_posted: int = 0
    tx_completed: int = 0
    rx_frames: int = 0
    rx_no_upper: list[bytes] = field(default_factory=list)  # reaped with no RX handler set
    config_errors: list[str] = field(default_factory=list)
    _backlog: deque[bytes] = field(default_factory=deque)
    _in_flight: deque[bytes] = field(default_factory=deque)
    _kick: Event = field(default_factory=Event)
    _control: deque[Callable[[], Awaitable[bool]]] = field(default_factory=deque)
    _control_kick: Event = field(default_factory=Event)
    _control_idle: Event = field(default_factory=Event)
    _rx_waiting: bool = False
    _tasks: list[Task[None]] = field(default_factory=list)

    @property
    def mac(self) -> str:
        return format_mac(self.driver.mac)

    async def open(self) -> None:
        """Probe and open (ixgbevf_probe, ixgbevf_open): the MAC and link over the
        mailbox, the queues in the VM's memory; then the pumps."""
        await self.driver.up(ring_log2=self.ring_log2)
        self.running = True
        self._control_idle.set()
        self._tasks = [
            cocotb.start_soon(self._tx_pump()),
            cocotb.start_soon(self._rx_pump()),
            cocotb.start_soon(self._control_pump()),
        ]

    # -- netdev -----------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.running

    def has_carrier(self) -> bool:
        return self.driver.link_up

    def xmit(self, frame: bytes) -> bool:
        if not self.running:
            raise SlaveConfigError(f"{self.name}: xmit on a VF that is down")
        self._backlog.append(frame)
        self._kick.set()
        return True

    def set_receiver(self, receive: Receive | None) -> None:
        self.receive = receive

    # -- settings, over the mailbox in order ------------------------------------------------

    def _queue(self, what: str, op: Callable[[], Awaitable[bool]]) -> None:
        if self.removed:
            raise SlaveConfigError(f"{self.name}: {what} on a removed VF")

        async def run() -> bool:
            ok = await op()
            if not ok:
                self.config_errors.append(f"{what}: refused by the PF")
            return ok

        self._control.append(run)
        self._control_idle.clear()
        self._control_kick.set()

    def set_mtu(self, mtu: int) -> None:
        if mtu != BASE_MTU:
            raise SlaveConfigError(
                f"{self.name}: MTU {mtu}: the PF's mailbox has no SET_LPE (MTU stays {BASE_MTU})"
            )

    def set_rx_mode(self, promisc: bool, allmulti: bool) -> None:
        """ixgbevf_set_rx_mode: PROMISC, ALLMULTI, else MULTI (broadcast always on)."""
        mode = XcastMode.PROMISC if promisc else XcastMode.ALLMULTI if allmulti else XcastMode.MULTI

        async def op() -> bool:
            return await self.driver.set_xcast(mode) is not None

        self._queue(f"xcast {mode.name}", op)

    def set_multicast(self, macs: tuple[str, ...]) -> None:
        """The list, or all-multicast when more than one message holds (as ``up`` does)."""
        table = [parse_mac(m) for m in macs]

        async def op() -> bool:
            if len(table) <= MC_MAX_IN_MSG:
                return await self.driver.set_multicast(table)
            return await self.driver.set_xcast(XcastMode.ALLMULTI) is not None

        self._queue(f"{len(table)} multicast addresses", op)

    def add_vid(self, vid: int) -> None:
        async def op() -> bool:
            return await self.driver.set_vlan(vid, True)

        self._queue(f"VLAN {vid}", op)

    def kill_vid(self, vid: int) -> None:
        async def op() -> bool:
            return await self.driver.set_vlan(vid, False)

        self._queue(f"VLAN {vid} removal", op)

    async def settled(self) -> None:
        """Until every queued setting went over the mailbox; raises on a refused one."""
        await self._control_idle.wait()
        if self.config_errors:
            raise SlaveConfigError(f"{self.name}: {'; '.join(self.config_errors)}")

    # -- pumps ------------------------------------------------------------------------------

    async def _control_pump(self) -> None:
        while True:
            while not self._control:
                self._control_idle.set()
                self._control_kick.clear()
                await self._control_kick.wait()
            await self._control.popleft()()

    async def _tx_pump(self) -> None:
        tx = self.driver.tx
        assert tx is not None
        while self.running:
            if not self._backlog and not tx.in_flight:
                self._kick.clear()
                await self._kick.wait()
                continue
            posted = 0
            while self._backlog and tx.ring.free_slots() > 0:
                frame = self._backlog.popleft()
                tx.post(frame)
                self._in_flight.append(frame)
                posted += 1
            if posted:
                self.tx_posted += posted
                await tx.ring_doorbell()
            done = tx.reap() if not tx.in_flight else await tx.wait_reaped()
            for _ in done:
                self._in_flight.popleft()
            self.tx_completed += len(done)

    async def _rx_pump(self) -> None:
        rx = self.driver.rx
        assert rx is not None
        while self.running:
            frames = rx.reap()
            for f in frames:
                self.rx_frames += 1
                if self.receive is not None:
                    self.receive(f.data)
                else:  # not enslaved (yet, or refused): nobody above takes it
                    self.rx_no_upper.append(f.data)
            if frames:
                if rx.ring.free_slots() >= rx.refill_batch:
                    await rx.refill()
                continue
            self._rx_waiting = True
            try:
                await rx.ring.wait_completion_write(f"a frame ({self.rx_frames} so far)")
            except QueueStall:
                pass  # a quiet link is normal
            finally:
                self._rx_waiting = False

    # -- hot-unplug ---------------------------------------------------------------------------

    async def remove(self) -> Unplugged:
        """ixgbevf_remove: down (no more TX taken: the failover device sends on the
        standby from now), the pumps stop, both queues disabled and drained of DMA,
        then what they still held is returned and their memory freed."""
        tx, rx = self.driver.tx, self.driver.rx
        assert tx is not None and rx is not None
        self.running = False
        self.removed = True
        self._kick.set()
        await self._control_idle.wait()  # an exchange in progress ends first
        tx_pump, rx_pump, control = self._tasks
        control.cancel()  # idle: waiting for work
        if self._rx_waiting:
            rx_pump.cancel()  # waiting for a completion write, no register access
        elif not rx_pump.done():
            await rx_pump  # ends after its register access
        if not tx_pump.done():
            await tx_pump  # ends once its frames in flight completed
        await tx.ring.close()  # disabled, DMA drained; completions still readable
        done = tx.reap()
        for _ in done:
            self._in_flight.popleft()
        self.tx_completed += len(done)
        pending = list(self._in_flight) + list(self._backlog)
        await rx.ring.close()
        unreaped = [f.data for f in rx.reap()]
        await tx.close()
        await rx.close()
        self._in_flight.clear()
        self._backlog.clear()
        return Unplugged(pending, unreaped, self.tx_posted, self.tx_completed)
