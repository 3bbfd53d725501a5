"""Ring geometry and ownership state shared by both ends of the vmxnet3 rings.

Models the part of the vmxnet3 contract that the guest shell and every
backend (emulated device or NPA plugin) agree on: where the rings are in
guest-physical memory (what the shell publishes in DriverShared's
TxQueueConf/RxQueueConf), how an index walks a ring, flipping the generation
bit at each wrap, and where the device end of the rings stands when one
backend hands them to the next (:class:`DeviceState`, the positions a VF's
§4c ``*_STATE`` registers hold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tb.shell_model.vmxnet3_defs import DESC_BYTES, INIT_GEN, RingKind, check_ring, desc_gen

CPL_GEN_DWORD = 3  # a TX or RX completion's gen: bit 31 of dword 3
SCAN_RUN = 64  # completion entries read from guest memory at once


class GuestMemoryLike(Protocol):
    """What the vmxnet3 rings need from guest memory (see tb.hypervisor.GuestMemory)."""

    def alloc(self, size: int, align: int = 64) -> int: ...
    def free(self, gpa: int) -> None: ...
    def read(self, gpa: int, length: int) -> bytes: ...
    def write(self, gpa: int, data: bytes) -> None: ...


@dataclass(frozen=True)
class RingConf:
    """One queue pair's rings in guest-physical memory (TxQueueConf + RxQueueConf).

    ``rx2_ring``/``rx2_size``: RX ring 2 (body buffers; size 0: none). Ring 1 and
    ring 2 share the one RX completion ring of ``rx_comp_size`` entries.
    """

    tx_ring: int
    tx_size: int
    tx_comp: int
    tx_comp_size: int
    rx_ring: int
    rx_size: int
    rx_comp: int
    rx_comp_size: int
    rx_qid: int = 0
    rx2_ring: int = 0
    rx2_size: int = 0

    def __post_init__(self) -> None:
        check_ring(RingKind.TX, self.tx_size, self.tx_ring)
        check_ring(RingKind.TX_COMP, self.tx_comp_size, self.tx_comp)
        check_ring(RingKind.RX, self.rx_size, self.rx_ring)
        check_ring(RingKind.RX_COMP, self.rx_comp_size, self.rx_comp)
        if self.rx2_size or self.rx2_ring:
            check_ring(RingKind.RX2, self.rx2_size, self.rx2_ring)


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

    @property
    def point(self) -> RingPoint:
        return RingPoint(self.index, self.gen)

    def move_to(self, point: RingPoint) -> None:
        """Stand at ``point`` (an index of this ring and the gen there)."""
        if not 0 <= point.index < self.size or point.gen not in (0, 1):
            raise ValueError(f"ring position {point} outside a ring of {self.size}")
        self.index, self.gen = point.index, point.gen


@dataclass(frozen=True)
class RingPoint:
    """A position on one ring: an index and the gen the entry there carries in this lap."""

    index: int
    gen: int

    def after(self, index: int, size: int) -> RingPoint:
        """The position following entry ``index``, reached from here by going forward less
        than a whole lap (the gen flips when that passes the ring's end)."""
        nxt = (index + 1) % size
        return RingPoint(nxt, self.gen ^ int(nxt <= self.index))


@dataclass(frozen=True)
class DeviceState:
    """Where the device end of one queue pair of rings stands: what the next backend
    (the emulated device, or a VF restored from it, ARCHITECTURE §4c) resumes from.

    ``tx``: the next TX descriptor the device reads; ``tx_comp``: the next TX
    completion slot it writes; ``rx``/``rx2``: the next ring-1/ring-2 buffer not yet
    used; ``rx_comp``: the next RX completion slot.
    """

    tx: RingPoint
    tx_comp: RingPoint
    rx: RingPoint
    rx_comp: RingPoint
    rx2: RingPoint


class ReadableMemory(Protocol):
    def read(self, gpa: int, length: int) -> bytes: ...


def written_completions(mem: ReadableMemory, cursor: RingCursor) -> list[bytes]:
    """The completion entries written this lap from ``cursor`` on (``cursor`` moves past
    them): read in runs of up to ``SCAN_RUN``, an entry is new while its gen is the
    cursor's. Whoever wrote them (a VF serving the rings, or the device end itself)."""
    out: list[bytes] = []
    while True:
        run = min(SCAN_RUN, cursor.size - cursor.index)
        chunk = mem.read(cursor.addr(), run * DESC_BYTES)
        for k in range(run):
            raw = chunk[k * DESC_BYTES : (k + 1) * DESC_BYTES]
            if desc_gen(raw, CPL_GEN_DWORD) != cursor.gen:
                return out
            out.append(raw)
            cursor.advance()
