"""Ring geometry and ownership state shared by both ends of the vmxnet3 rings.

Models the part of the vmxnet3 contract that the guest shell and every
backend (emulated device or NPA plugin) agree on: where the rings are in
guest-physical memory (what the shell publishes in DriverShared's
TxQueueConf/RxQueueConf) and how an index walks a ring, flipping the
generation bit at each wrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tb.shell_model.vmxnet3_defs import DESC_BYTES, INIT_GEN, RingKind, check_ring


class GuestMemoryLike(Protocol):
    """What the vmxnet3 rings need from guest memory (see tb.hypervisor.GuestMemory)."""

    def alloc(self, size: int, align: int = 64) -> int: ...
    def free(self, gpa: int) -> None: ...
    def read(self, gpa: int, length: int) -> bytes: ...
    def write(self, gpa: int, data: bytes) -> None: ...


@dataclass(frozen=True)
class RingConf:
    """One queue pair's rings in guest-physical memory (TxQueueConf + RxQueueConf, ring 1)."""

    tx_ring: int
    tx_size: int
    tx_comp: int
    tx_comp_size: int
    rx_ring: int
    rx_size: int
    rx_comp: int
    rx_comp_size: int
    rx_qid: int = 0

    def __post_init__(self) -> None:
        check_ring(RingKind.TX, self.tx_size, self.tx_ring)
        check_ring(RingKind.TX_COMP, self.tx_comp_size, self.tx_comp)
        check_ring(RingKind.RX, self.rx_size, self.rx_ring)
        check_ring(RingKind.RX_COMP, self.rx_comp_size, self.rx_comp)


@dataclass
class RingCursor:
    """An index into a ring of ``size`` 16-byte entries with its generation bit."""

    base: int
    size: int
    index: int = 0
    gen: int = INIT_GEN

    def addr(self, index: int | None = None) -> int:
        return self.base + DESC_BYTES * (self.index if index is None else index)

    def advance(self) -> None:
        self.index += 1
        if self.index == self.size:
            self.index = 0
            self.gen ^= 1
