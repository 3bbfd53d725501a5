"""The Shell API: everything an NPA plugin may touch, and nothing else.

A plugin is vendor code running inside the guest. It gets one object, a
:class:`ShellApi`, from the shell at ``init`` and reaches the world only
through it: guest memory it allocates for its own rings (DMA-able: the
hypervisor's IOMMU domain for the VF maps the whole VM), the frames the guest
stack handed the shell and the receive buffers the stack posted, its VF's own
register space, an interrupt handler and a log. A plugin whose VF serves
vmxnet3's rings itself (vendor B, ring format B) gets, instead of frames and
buffers, the shell's ring geometry and the device end's position on each ring,
and hands back where its VF got (``ring_conf``, ``device_state``,
``set_device_state``). There is no call that reaches
a MAC, VLAN, RX-mode or multicast setting: those are control operations, and
the shell forwards them to the hypervisor, which applies them through the PF
driver if policy allows (tb/hypervisor).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from tb.host.memory import WriteWatch
from tb.shell_model.device_rings import RxBuffer, TxRequest
from tb.shell_model.rings import DeviceState, RingConf

IrqHandler = Callable[[], Awaitable[None]]


class DmaMemory(Protocol):
    """Guest memory as the plugin sees it: guest-physical addresses only."""

    def alloc(self, size: int, align: int = 64) -> int: ...
    def free(self, gpa: int) -> None: ...
    def read(self, gpa: int, length: int) -> bytes: ...
    def write(self, gpa: int, data: bytes) -> None: ...
    def watch(self, lo: int, hi: int) -> WriteWatch: ...


class VfRegisters(Protocol):
    """The plugin's own VF's register space (one PCIe function, nothing else)."""

    func: int

    async def read(self, addr: int) -> int: ...
    async def write(self, addr: int, value: int) -> None: ...


class ShellApi(Protocol):
    """The calls a plugin makes into the shell."""

    @property
    def dma(self) -> DmaMemory: ...

    @property
    def vf(self) -> VfRegisters: ...

    def tx_frames(self, prod: int) -> list[TxRequest]:
        """Frames the stack queued up to the shell's TX producer ``prod`` (buffers in place)."""
        ...

    def tx_complete(self, req: TxRequest) -> None:
        """Report ``req`` sent: the stack gets its buffers back."""
        ...

    def tx_unfetch(self, req: TxRequest) -> None:
        """Give ``req`` and every later fetched frame back unsent, for the next owner to send."""
        ...

    def rx_buffers(self) -> list[RxBuffer]:
        """Receive buffers the stack posted since the last call, for the VF to fill in place."""
        ...

    def rx_complete(
        self, bufs: list[RxBuffer], length: int, *, vlan_tci: int | None, err: bool
    ) -> None:
        """Hand a received frame of ``length`` bytes, filling ``bufs`` in order, to the stack."""
        ...

    def rx_return(self, bufs: list[RxBuffer]) -> None:
        """Give unfilled receive buffers back (quiesce), oldest first."""
        ...

    @property
    def ring_conf(self) -> RingConf:
        """The shell's rings: guest-physical bases and sizes, RX ring 2 included."""
        ...

    def device_state(self) -> DeviceState:
        """Where the device end of the shell's rings stands (where the emulated device
        stopped): the next descriptor, buffer and completion slot of every ring. Buffers
        the device had taken but not used go back to the ring; the position is the first."""
        ...

    def set_device_state(self, state: DeviceState) -> None:
        """The plugin's VF, serving the shell's rings itself, got to ``state`` (its
        completions seen, or its saved queue state at quiesce): the next owner of the
        rings resumes exactly there."""
        ...

    def register_irq(self, handler: IrqHandler) -> None:
        """Run ``handler`` whenever the plugin's VF raises an interrupt."""
        ...

    def log(self, message: str) -> None: ...
