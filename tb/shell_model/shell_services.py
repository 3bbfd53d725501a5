"""The shell's side of the Shell API: what a loaded plugin is allowed to call.

One :class:`ShellServices` per loaded plugin. It serves the plugin from the
shell's own rings (the device end, :class:`Vmxnet3DeviceRings`, whose cursors
the shell took over from the emulated device at STOP_EMULATION), guest memory
and the one VF the hypervisor attached. It holds no reference to the
hypervisor, the PF driver or the switch, so no call a plugin makes can reach
a control operation.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from tb.host.memory import WriteWatch
from tb.plugin_model.shell_api import DmaMemory, IrqHandler, VfRegisters
from tb.shell_model.device_rings import RxBuffer, TxRequest, Vmxnet3DeviceRings
from tb.shell_model.rings import DeviceState, RingConf


class PluginMemory:
    """Guest memory as one plugin allocates from it, with what it holds: a plugin that
    fails to quiesce cannot free its own rings, so the shell frees what it left
    (:meth:`free_all`, once its VF was reset and can no longer write there)."""

    def __init__(self, dma: DmaMemory) -> None:
        self._dma = dma
        self.held: dict[int, int] = {}  # gpa -> size

    def alloc(self, size: int, align: int = 64) -> int:
        gpa = self._dma.alloc(size, align)
        self.held[gpa] = size
        return gpa

    def free(self, gpa: int) -> None:
        self._dma.free(gpa)
        del self.held[gpa]

    def read(self, gpa: int, length: int) -> bytes:
        return self._dma.read(gpa, length)

    def write(self, gpa: int, data: bytes) -> None:
        self._dma.write(gpa, data)

    def watch(self, lo: int, hi: int) -> WriteWatch:
        return self._dma.watch(lo, hi)

    def free_all(self) -> int:
        """Free every allocation still held; returns how many."""
        left = list(self.held)
        for gpa in left:
            self.free(gpa)
        return len(left)


@dataclass
class ShellServices:
    """Implements :class:`tb.plugin_model.shell_api.ShellApi` for one plugin."""

    rings: Vmxnet3DeviceRings
    dma: PluginMemory
    vf: VfRegisters
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("cocotb.npa.plugin"))
    irq_handler: IrqHandler | None = None
    calls: Counter[str] = field(default_factory=Counter)

    def tx_frames(self, prod: int) -> list[TxRequest]:
        self.calls["tx_frames"] += 1
        return self.rings.fetch_tx(prod)

    def tx_complete(self, req: TxRequest) -> None:
        self.calls["tx_complete"] += 1
        self.rings.complete_tx(req)

    def tx_unfetch(self, req: TxRequest) -> None:
        self.calls["tx_unfetch"] += 1
        self.rings.unfetch_tx(req)

    def rx_buffers(self) -> list[RxBuffer]:
        self.calls["rx_buffers"] += 1
        return self.rings.claim_rx_buffers()

    def rx_complete(
        self, bufs: list[RxBuffer], length: int, *, vlan_tci: int | None, err: bool
    ) -> None:
        self.calls["rx_complete"] += 1
        self.rings.complete_rx(bufs, length, vlan_tci=vlan_tci, err=err)

    def rx_return(self, bufs: list[RxBuffer]) -> None:
        self.calls["rx_return"] += 1
        self.rings.return_rx_buffers(bufs)

    @property
    def ring_conf(self) -> RingConf:
        return self.rings.conf

    def device_state(self) -> DeviceState:
        self.calls["device_state"] += 1
        return self.rings.device_state()

    def set_device_state(self, state: DeviceState) -> None:
        self.calls["set_device_state"] += 1
        self.rings.set_device_state(state)

    def register_irq(self, handler: IrqHandler) -> None:
        self.calls["register_irq"] += 1
        self.irq_handler = handler

    def log(self, message: str) -> None:
        self.logger.info("%s", message)
