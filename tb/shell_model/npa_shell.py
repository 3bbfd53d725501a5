"""The NPA shell: the guest's one network interface, over the emulated device or a plugin.

The guest stack sees one netdev (:meth:`NpaShell.xmit`, a receive callback).
Underneath, the shell owns one queue pair of vmxnet3 rings (:class:`Vmxnet3Shell`)
and a datapath that serves them:

- **emulated**: doorbells are writes to the emulated device's BAR0, trapped
  by the hypervisor, whose backend carries the frames through the PF's queue;
  the device interrupts the guest when it wrote completions;
- **plugin**: doorbells call the loaded plugin's entry points; the plugin's
  VF interrupts run the plugin's handler, which moves VF completions into the
  same rings.

Either way the shell then reaps its rings: TX completions free the stack's
buffers, received frames go up to the stack, receive buffers are reposted.
Control operations never take the plugin path: they are always commands to
the emulated device's BAR1 (trapped; see tb/hypervisor).

A frame the stack sends while the TX ring is full waits in a bounded queue
(the qdisc, ``txqueuelen``); beyond it the frame is dropped and counted.

A plugin is vendor code: if one of its entry points raises, the shell stops
calling it (``plugin_faults`` counted, the exception noted), leaves the frames and
buffers on its own rings, and asks the hypervisor (``on_plugin_fault``) to take
the VM back to the emulated path, which quiesces the plugin as at any detach.
An entry point that does not return within ``PLUGIN_CALL_TIMEOUT_NS`` (a plugin
that hangs) is a fault the same way: the call is abandoned (its coroutine killed),
``plugin_hangs`` counted, and the fallback is the exception's (:class:`PluginHang`).

The plugin's ``quiesce()`` (at every detach, the fallback's included) runs under
``PLUGIN_QUIESCE_TIMEOUT_NS``. If it raises or hangs, the rings cannot be handed back
by the plugin: the shell has the hypervisor reset the VF (``stop_vf``, an FLR, after
which it writes nothing more), then the device end takes back what the plugin held
(:meth:`Vmxnet3DeviceRings.reclaim`): TX frames it fetched and never completed are
completed unsent, as a vmxnet3 device reset does (whether the VF sent them first is
unknown, so they are not sent twice), counted in ``tx_unconfirmed_at_failed_quiesce`` and
handed to ``drop_point``; receive buffers it held go to the emulated device, and the
guest memory it allocated (its VF rings) is freed (``plugin_allocations_freed``).
``quiesce_failures`` counts these. A frame the stack sends while the qdisc is full is
handed to ``drop_point`` too (``tx_dropped_qdisc``).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import cocotb
from cocotb.task import Task
from cocotb.triggers import Event, SimTimeoutError, with_timeout

from tb.host.interrupts import IrqMonitor
from tb.plugin_model.loader import PluginLoader
from tb.plugin_model.plugin import Plugin, QuiesceResult
from tb.plugin_model.shell_api import DmaMemory, VfRegisters
from tb.shell_model.device_rings import Vmxnet3DeviceRings
from tb.shell_model.shell import RxPacket, Vmxnet3Shell
from tb.shell_model.shell_services import PluginMemory, ShellServices
from tb.shell_model.vmxnet3_defs import Bar0

TXQUEUELEN = 1000  # Linux's default qdisc length
# An entry point (TX, RX refill, the interrupt handler) that has not returned after this
# long has hung: each does a few register accesses (well under a microsecond each).
PLUGIN_CALL_TIMEOUT_NS = 50_000


# quiesce() drains the frames the VF holds: it may wait for the VF's completions until
# its queues' stall watchdog gives up (tb/vf_driver/rings.py: DEFAULT_STALL_CYCLES,
# noticed within twice that, 800 us at 4 ns a cycle), but not for ever.
PLUGIN_QUIESCE_TIMEOUT_NS = 1_000_000
TX_UNCONFIRMED_AT_FAILED_QUIESCE = "tx_unconfirmed_at_failed_quiesce"
TX_DROPPED_QDISC = "tx_dropped_qdisc"


class PluginHang(RuntimeError):
    """A plugin entry point did not return within its time bound."""


class QuiesceFailed(RuntimeError):
    """The plugin's quiesce failed and nobody can stop its VF: the rings stay its."""


class ShellMode(Enum):
    EMULATED = "emulated"
    PLUGIN = "plugin"


class EmulatedBar0(Protocol):
    """The emulated device's doorbell page as the guest writes it (each write is trapped)."""

    def bar0_write(self, offset: int, value: int) -> None: ...


@dataclass(frozen=True)
class ModeChange:
    """When (simulated ns) the shell changed datapath, and why."""

    time_ns: int
    mode: ShellMode
    reason: str


class NpaShell:
    """One guest interface: vmxnet3 rings served by the emulated device or a plugin."""

    def __init__(
        self,
        name: str,
        rings: Vmxnet3Shell,
        device: EmulatedBar0,
        now_ns: Callable[[], int],
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.name = name
        self.rings = rings
        self.device = device
        self.now_ns = now_ns
        self.log = logger or logging.getLogger(f"cocotb.npa.shell.{name}")
        self.mode = ShellMode.EMULATED
        self.history: list[ModeChange] = [ModeChange(now_ns(), ShellMode.EMULATED, "boot")]
        self.notes: list[tuple[int, str]] = []
        self.stats: Counter[str] = Counter()
        self.receiver: Callable[[bytes], None] | None = None
        self.plugin: Plugin | None = None
        self.services: ShellServices | None = None
        self._qdisc: deque[bytes] = deque()
        self._work = Event()
        self._tasks: list[Task] = []
        self._irq_task: Task | None = None
        # Told (once per plugin) when the plugin raised: the hypervisor's fallback.
        self.on_plugin_fault: Callable[[BaseException], None] | None = None
        self.plugin_fault: BaseException | None = None  # the loaded plugin's fault, if any
        # Given each TX frame lost at a named point (TX_DROPPED_QDISC,
        # TX_UNCONFIRMED_AT_FAILED_QUIESCE) with its reason.
        self.drop_point: Callable[[str, bytes], None] | None = None
        self._device_rings: Vmxnet3DeviceRings | None = None
        # The last TXPROD given to the plugin (its tx() may have rung its VF with it, even
        # if it then raised or hung): how far a VF reading the shell's rings may have read.
        self._tx_handed: int | None = None
        # Set from the moment the plugin is asked to quiesce: no entry point of it is
        # called again (a doorbell meanwhile waits on the rings for the emulated device).
        # Its quiesce may finish, and stop it, a little before this shell resumes.
        self._quiesce_asked = False

    # -- netdev ---------------------------------------------------------------------------

    def start(self) -> None:
        """Post every receive buffer and start the shell's service loop."""
        self.rings.post_rx()
        self._tasks.append(cocotb.start_soon(self._service()))
        self._work.set()

    def xmit(self, frame: bytes) -> bool:
        """The stack sends ``frame``; False when the qdisc is full (dropped, counted)."""
        if len(self._qdisc) >= TXQUEUELEN:
            self.stats[TX_DROPPED_QDISC] += 1
            if self.drop_point is not None:
                self.drop_point(TX_DROPPED_QDISC, frame)
            return False
        self._qdisc.append(frame)
        self.stats["tx_queued"] += 1
        self._work.set()
        return True

    def interrupt(self) -> None:
        """The datapath wrote completions (emulated device's interrupt, or plugin's ISR done)."""
        self.stats["interrupts"] += 1
        self._work.set()

    def idle(self) -> bool:
        return not self._qdisc and not self.rings.tx_in_flight

    # -- plugin path ----------------------------------------------------------------------

    async def attach_plugin(
        self,
        loader: PluginLoader,
        image_gpa: int,
        image_len: int,
        dma: DmaMemory,
        vf: VfRegisters,
        irq: IrqMonitor,
        device_rings: Vmxnet3DeviceRings,
        before_switch: Callable[[], Awaitable[None]] | None = None,
    ) -> Plugin:
        """LOAD_PLUGIN: verify the image the hypervisor wrote at ``image_gpa``, init it, switch.

        A refused image raises the loader's error and leaves the shell emulated.
        ``device_rings`` carries the ring cursors the emulated device stopped at.
        The plugin gets the receive buffers first; ``before_switch`` (the
        hypervisor's ACTIVATE_VF side: the switch's entry to the VF) runs before
        the first frame is sent on the VF.
        """
        loaded = loader.load_from_guest(dma, image_gpa, image_len)  # type: ignore[arg-type]
        plugin = loaded.plugin
        services = ShellServices(device_rings, PluginMemory(dma), vf, self.log.getChild("plugin"))
        await plugin.init(services)
        self.plugin, self.services = plugin, services
        self._device_rings = device_rings
        self.plugin_fault = None
        self._irq_task = cocotb.start_soon(self._vf_interrupts(irq, vf.func))
        # Buffers posted while emulated are the plugin's now.
        await plugin.rx_refill(self.rings.rx_prod)
        if before_switch is not None:
            await before_switch()
        self.mode = ShellMode.PLUGIN
        self.history.append(ModeChange(self.now_ns(), ShellMode.PLUGIN, loaded.image.plugin_id))
        # Frames the stack queued meanwhile (on the ring or in the qdisc) go out on the VF.
        self._tx_handed = self.rings.tx_prod
        await plugin.tx(self.rings.tx_prod)
        self._work.set()
        return plugin

    def note(self, message: str) -> None:
        """Record a datapath event that did not change the mode (e.g. a refused plugin)."""
        self.notes.append((self.now_ns(), message))
        self.log.info("%s", message)

    async def detach_plugin(
        self,
        reason: str,
        resume: Callable[[], None] | None = None,
        after_quiesce: Callable[[], Awaitable[None]] | None = None,
        stop_vf: Callable[[], Awaitable[None]] | None = None,
    ) -> QuiesceResult:
        """Quiesce the plugin and go back to the emulated device, losing no TX frame.

        ``after_quiesce`` (the hypervisor's) runs once the plugin stopped its VF, and
        ``resume`` once the plugin let go of the rings, before the shell rings the
        emulated device's doorbells again. ``stop_vf`` (the hypervisor's FLR) stops the
        VF by force when the plugin's quiesce fails (module docstring); without it such
        a failure raises :class:`QuiesceFailed`.
        """
        if self.plugin is None:
            raise RuntimeError(f"{self.name}: no plugin loaded")
        self._quiesce_asked = True
        try:
            result = await self._entry("quiesce", self.plugin.quiesce(), PLUGIN_QUIESCE_TIMEOUT_NS)
        except Exception as exc:  # vendor code: stop its VF by force, take the rings back
            result = await self._quiesce_failed(exc, stop_vf)
        if self._irq_task is not None:
            self._irq_task.cancel()
            self._irq_task = None
        self.plugin = self.services = None
        self.mode = ShellMode.EMULATED
        self._quiesce_asked = False
        self.history.append(ModeChange(self.now_ns(), ShellMode.EMULATED, reason))
        self.stats["tx_lost_at_quiesce"] += result.tx_abandoned
        if after_quiesce is not None:  # doorbells meanwhile meet the stopped device
            await after_quiesce()
        if resume is not None:
            resume()
        # The emulated device sends what the plugin handed back, and sees the buffers.
        self.device.bar0_write(Bar0.TXPROD, self.rings.tx_prod)
        self.device.bar0_write(Bar0.RXPROD, self.rings.rx_prod)
        self._work.set()
        return result

    async def _vf_interrupts(self, irq: IrqMonitor, func: int) -> None:
        seen = irq.function_count(func)
        while True:
            seen = await irq.wait_function(func, seen)
            services = self.services
            if services is not None and services.irq_handler is not None:
                if self.plugin_fault is not None or self._quiesce_asked:
                    continue  # a faulted or quiescing plugin is not called again
                try:
                    await self._entry("interrupt handler", services.irq_handler())
                except Exception as exc:  # vendor code: fall back, do not die
                    self._fault(exc)
                    continue
                self.interrupt()

    # -- service loop ---------------------------------------------------------------------

    async def _service(self) -> None:
        while True:
            self._work.clear()
            await self._reap()
            await self._push_tx()
            if not self._work.is_set():
                await self._work.wait()

    async def _push_tx(self) -> None:
        posted = 0
        rings = self.rings
        while self._qdisc and rings.tx_free() >= 1:
            rings.post_tx(self._qdisc.popleft())
            posted += 1
        if not posted:
            return
        self.stats["tx_posted"] += posted
        await self._doorbell(Bar0.TXPROD, rings.tx_prod)

    async def _reap(self) -> None:
        rings = self.rings
        done = rings.reap_tx()
        self.stats["tx_completed"] += len(done)
        packets: list[RxPacket] = rings.reap_rx()
        for p in packets:
            if p.err:
                self.stats["rx_errors"] += 1
                continue
            self.stats["rx_packets"] += 1
            if self.receiver is not None:
                self.receiver(p.data if p.vlan_tci is None else _tag(p.data, p.vlan_tci))
        if packets and rings.post_rx():
            await self._doorbell(Bar0.RXPROD, rings.rx_prod)
        if done and self._qdisc:
            self._work.set()

    async def _doorbell(self, reg: Bar0, value: int) -> None:
        if self.mode is ShellMode.PLUGIN and self.plugin is not None:
            if self.plugin_fault is not None or self._quiesce_asked:
                return  # the frames wait on the rings for the emulated device
            try:
                if reg == Bar0.TXPROD:
                    self._tx_handed = value
                    await self._entry("tx", self.plugin.tx(value))
                else:
                    await self._entry("rx_refill", self.plugin.rx_refill(value))
            except Exception as exc:  # vendor code: fall back, do not die
                self._fault(exc)
        else:
            self.device.bar0_write(reg, value)

    async def _entry(
        self, name: str, call: Coroutine[Any, Any, Any], limit_ns: int = PLUGIN_CALL_TIMEOUT_NS
    ) -> Any:
        """Run a plugin entry point, at most ``limit_ns``: one that has not returned by
        then is abandoned (killed) and raises :class:`PluginHang`."""
        try:
            return await with_timeout(call, limit_ns, "ns")
        except SimTimeoutError:
            self.stats["plugin_hangs"] += 1
            raise PluginHang(f"{name} did not return within {limit_ns} ns") from None

    async def _quiesce_failed(
        self, exc: Exception, stop_vf: Callable[[], Awaitable[None]] | None
    ) -> QuiesceResult:
        """The plugin's quiesce raised or hung: reset its VF, take the rings back."""
        self.stats["quiesce_failures"] += 1
        self.note(f"plugin quiesce failed: {type(exc).__name__}: {exc}")
        if self.plugin_fault is None:  # never called again (not a second fallback)
            self.plugin_fault = exc
        if stop_vf is None or self._device_rings is None:
            raise QuiesceFailed(f"{self.name}: quiesce failed, the VF cannot be stopped") from exc
        await stop_vf()  # the VF's DMA has stopped: nothing more lands in the rings
        # A plugin that took the rings over (asked where the device end stands: its VF
        # reads and completes the shell's rings itself, ring format B) hands nothing
        # through the device end: how far its VF got is in the completions it wrote.
        serves_rings = self.services is not None and self.services.calls["device_state"] > 0
        lost = self._device_rings.reclaim(self._tx_handed if serves_rings else None)
        self.stats[TX_UNCONFIRMED_AT_FAILED_QUIESCE] += len(lost)
        if self.services is not None:  # its rings and buffers: nothing writes there now
            self.stats["plugin_allocations_freed"] += self.services.dma.free_all()
        if self.drop_point is not None:
            for req in lost:
                self.drop_point(
                    TX_UNCONFIRMED_AT_FAILED_QUIESCE, self._device_rings.read_frame(req)
                )
        # Counted above, not as abandoned by the plugin; the reset emptied the VF's TX
        # FIFO too, so no frame of it is still to reach the switch.
        return QuiesceResult(tx_abandoned=0, tx_backlog=0, tx_sent=0)

    def _fault(self, exc: BaseException) -> None:
        """The plugin raised: never call it again; the hypervisor takes the VM back."""
        if self.plugin_fault is not None:
            return
        self.plugin_fault = exc
        self.stats["plugin_faults"] += 1
        self.note(f"plugin fault: {type(exc).__name__}: {exc}")
        if self.on_plugin_fault is not None:
            self.on_plugin_fault(exc)


def _tag(frame: bytes, tci: int) -> bytes:
    """Re-insert a stripped 802.1Q tag, as the stack sees a tagged frame."""
    return frame[:12] + (0x8100).to_bytes(2, "big") + tci.to_bytes(2, "big") + frame[12:]
