"""The shell<->plugin interface of NPA: the calls a vmxnet3 shell makes into a loaded plugin.

Models the contract between the guest's vmxnet3 shell and an IHV plugin. The
shell keeps its vmxnet3 rings (tb.shell_model) and calls the plugin's entry
points; the plugin serves those rings from the VF's hardware rings:

- ``init(api)``: the Shell API (tb/plugin_model/shell_api.py), the plugin's only way to
  guest memory, the stack's frames and buffers, its VF and its interrupt; bring the VF up.
- ``tx(prod)``: the shell's TXPROD doorbell; hand the new frames to the hardware.
- ``rx_refill(prod)``: the shell's RXPROD doorbell; take the newly posted receive buffers.
- ``reap()``: move hardware completions into the shell's completion rings.
- ``quiesce()``: stop the hardware queues so the hypervisor can switch the shell back to
  emulation: sent frames drained, unsent ones and unfilled buffers handed back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from tb.plugin_model.image import REQUIRED_ENTRY_POINTS
from tb.plugin_model.shell_api import ShellApi


class PluginStateError(RuntimeError):
    """An entry point called out of order (before init, after quiesce)."""


class PluginInitError(RuntimeError):
    """``init`` found the VF or the shell's rings unfit for this plugin (wrong function,
    a ring geometry the hardware cannot take); nothing was enabled."""


@dataclass(frozen=True)
class ReapResult:
    """What one ``reap()`` moved into the shell's rings."""

    tx_completed: int
    rx_delivered: int
    rx_dropped: int


@dataclass(frozen=True)
class QuiesceResult:
    """What the plugin handed back when it stopped.

    ``tx_abandoned``: frames the VF never completed (lost, the quiesce could not
    drain them); ``tx_backlog``: frames never given to the VF, returned unsent
    to the shell's ring; ``tx_sent``: frames the VF's engine sent towards its
    switch port since ``init`` (completed without error). A completion comes when
    the frame is in the engine's TX FIFO, before the switch takes it
    (ARCHITECTURE §3.1, known limits): the hypervisor waits for the switch to have
    counted that many before it takes the VF's MAC away.
    """

    tx_abandoned: int
    tx_backlog: int
    tx_sent: int = 0


class Plugin(ABC):
    """Base of every vendor plugin; subclasses implement the five entry points."""

    ENTRY_POINTS: tuple[str, ...] = REQUIRED_ENTRY_POINTS

    @abstractmethod
    async def init(self, api: ShellApi) -> None: ...

    @abstractmethod
    async def tx(self, prod: int) -> int: ...

    @abstractmethod
    async def rx_refill(self, prod: int) -> int: ...

    @abstractmethod
    async def reap(self) -> ReapResult: ...

    @abstractmethod
    async def quiesce(self) -> QuiesceResult: ...
