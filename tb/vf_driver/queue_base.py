"""The TX and RX halves of a queue pair whatever their ring format (``_TxQueueBase``,
``_RxQueueBase``): buffers per slot, frames in flight, posting, doorbells, waiting,
interrupts, the queue state of §4c, and ``close()``. A format adds its descriptors and
completions: :mod:`tb.vf_driver.queues` (format A), :mod:`tb.vf_driver.upt_queues` (B).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from tb.host.interrupts import IrqMonitor
from tb.host.mmio import FunctionBar
from tb.ref.layouts import (
    ENTRY_BYTES,
    RxCompletion,
    TxCompletion,
)
from tb.ref.regmap import (
    RX_OFFSET,
    Queue,
    queue_reg,
)
from tb.vf_driver.rings import (
    BUSY_POLLS,
    MAX_TX_BUFS,
    DmaMemory,
    IrqModeration,
    QueueError,
    QueueState,
    _DescRing,
    _Ring,
)


@dataclass
class TxFrame:
    """A frame handed to the TX ring and what became of it."""

    data: bytes
    first_slot: int
    last_slot: int
    vlan_tci: int | None = None
    completion: TxCompletion | None = None


@dataclass
class _TxCopies:
    """``count`` copies of ``data`` posted by post_copies() from ring slot ``first_slot``,
    one buffer each, not yet completed: one in-flight record for the whole batch."""

    data: bytes
    first_slot: int
    count: int


@dataclass
class _TxQueueBase(ABC):
    """The TX half of a queue pair, whatever its ring format: buffers per slot, frames
    in flight, doorbells, waiting. A format adds how frames become descriptors
    (``_descs``, ``_copy_descs``) and how completions are read (``reap``, ``reap_array``).
    """

    bar: FunctionBar
    mem: DmaMemory
    q: int = 0
    size_log2: int = 8
    buf_bytes: int = 9216 + 64  # one buffer area per slot, room for any alignment
    # False: no buffer areas of its own (a caller that only posts its own buffers with
    # post_buffers, e.g. a plugin sending the guest's buffers, spares 2.4 MB per ring)
    own_buffers: bool = True
    ring: _Ring = field(init=False)
    _bufs: list[int] = field(init=False, default_factory=list)
    _buf_addrs: np.ndarray = field(init=False, default_factory=lambda: np.empty(0, np.uint64))
    # Frames posted and not yet completed, oldest first: a TxFrame per post(), a
    # _TxCopies per post_copies() batch; _frames_in_flight counts frames.
    _in_flight: deque[TxFrame | _TxCopies] = field(init=False, default_factory=deque)
    _frames_in_flight: int = field(init=False, default=0)

    MAX_BUF_BYTES: ClassVar[int]  # the longest buffer one descriptor describes

    def __post_init__(self) -> None:
        self.ring = _Ring(
            self.bar,
            self.mem,
            queue_reg(self.q, Queue.TXQ_BASE_LO),
            self.size_log2,
            name=f"TX queue {self.q}",
        )

    async def open(self) -> None:
        await self.ring.open()
        if self.own_buffers:
            self._bufs = [self.mem.alloc(self.buf_bytes, 64) for _ in range(self.ring.size)]
        self._buf_addrs = np.array(self._bufs, dtype=np.uint64)
        self._in_flight = deque()
        self._frames_in_flight = 0

    async def close(self, polls: int = BUSY_POLLS) -> None:
        """Disable the queue, wait until its DMA drained (``TXQ_STATUS.BUSY`` 0, bounded:
        :class:`QueueStall` names the queue), then give the descriptor and completion
        rings and the queue's own buffers back to the memory they came from. Frames still
        in flight are forgotten (the device abandoned them, ``TXQ_ABANDONED``); buffers a
        caller posted (``post_buffers``) stay the caller's. A function that is gone keeps
        its memory: whether DMA is still outstanding cannot be known (``_Ring.close``)."""
        if not await self.ring.close(polls):
            return
        self.ring.free()
        for addr in self._bufs:
            self.mem.free(addr)
        self._bufs = []
        self._buf_addrs = np.empty(0, np.uint64)
        self._in_flight = deque()
        self._frames_in_flight = 0

    def _need_own_buffers(self) -> None:
        if not self._bufs:
            raise QueueError(
                f"TX queue {self.q} has no buffers of its own (own_buffers=False, or not "
                "open): post the caller's buffers with post_buffers"
            )

    async def status(self) -> int:
        """``TXQ_STATUS``: error code, ``BUSY``, error state."""
        return await self.ring.status()

    async def save_state(self) -> QueueState:
        """Save the queue for a restore (§4c, after the quiesce): it is left disabled."""
        return await self.ring.save()

    async def restore_state(self, state: QueueState, bar: FunctionBar | None = None) -> None:
        """Restore a saved queue into this queue's rings; ``bar``: into that function's
        queue ``q`` from now on (a fresh queue of the same format)."""
        if bar is not None:
            self.bar = self.ring.bar = bar
        await self.ring.restore(state)

    @abstractmethod
    def _descs(self, frags: list[tuple[int, int]], vlan_tci: int | None) -> list[bytes]:
        """The raw descriptors of one frame's buffers, from slot ``ring.prod`` on."""
        ...  # each ring format supplies it

    @abstractmethod
    def _copy_descs(self, addrs: np.ndarray, length: int) -> np.ndarray:
        """One single-buffer frame's descriptor per address, from slot ``ring.prod`` on,
        as rows of 16 bytes."""
        ...  # each ring format supplies it

    def _frame(
        self, data: bytes, first: int, last: int, vlan_tci: int | None, nbytes: int
    ) -> TxFrame:
        return TxFrame(data, first, last, vlan_tci)

    def post(
        self,
        frame: bytes,
        *,
        split: list[int] | None = None,
        offsets: list[int] | None = None,
        vlan_tci: int | None = None,
    ) -> TxFrame:
        """Place ``frame`` on the ring in buffers of the given sizes and alignments.

        ``split`` lists buffer lengths (default: one buffer); ``offsets`` the
        byte offset of each buffer inside its slot's area (any alignment).
        The doorbell is rung separately, so several frames can share one.
        """
        self._need_own_buffers()
        split = split or [len(frame)]
        offsets = offsets or [0] * len(split)
        if sum(split) != len(frame) or len(offsets) != len(split):
            raise QueueError("buffer split does not add up to the frame")
        self._check_room(len(split))
        frags = []
        pos = 0
        for k, (length, off) in enumerate(zip(split, offsets, strict=True)):
            addr = self._bufs[(self.ring.prod + k) & self.ring.mask] + off
            self.mem.write(addr, frame[pos : pos + length])
            frags.append((addr, length))
            pos += length
        return self._post_frags(frame, frags, vlan_tci)

    def post_buffers(self, frags: list[tuple[int, int]], *, vlan_tci: int | None = None) -> TxFrame:
        """Place a frame already in memory: one descriptor per ``(address, length)``.

        The device reads the caller's buffers in place (a plugin handing the
        guest stack's buffers to its VF); nothing is copied. ``TxFrame.data``
        is empty: the bytes stay where the caller put them.
        """
        if not frags:
            raise QueueError("a frame needs at least one buffer")
        self._check_room(len(frags))
        return self._post_frags(b"", frags, vlan_tci)

    def _check_room(self, nbufs: int) -> None:
        if nbufs > MAX_TX_BUFS:
            raise QueueError(f"{nbufs} buffers exceed the {MAX_TX_BUFS}-buffer limit")
        if nbufs > self.ring.free_slots():
            raise QueueError("TX ring full")

    def _post_frags(
        self, frame: bytes, frags: list[tuple[int, int]], vlan_tci: int | None
    ) -> TxFrame:
        ring = self.ring
        first = ring.prod
        ring.put_descs(self._descs(frags, vlan_tci))
        last = (ring.prod - 1) & ring.mask
        tx = self._frame(frame, first, last, vlan_tci, sum(n for _, n in frags))
        self._in_flight.append(tx)
        self._frames_in_flight += 1
        return tx

    def post_copies(self, frame: bytes, count: int) -> int:
        """Post up to ``count`` copies of ``frame``, one buffer each, into the free slots
        (one stays empty); returns how many. The bytes go into the slots' buffers in one
        numpy scatter and the descriptors in one record array, as a packet generator
        fills a batch of identical frames (pktgen's clone_skb). The doorbell is rung
        separately; reap() reports the frames as TxFrames, reap_array() as a batch."""
        self._need_own_buffers()
        if not 0 < len(frame) <= self.MAX_BUF_BYTES:
            raise QueueError(f"a {len(frame)}-byte frame does not fit one TX descriptor")
        ring = self.ring
        n = min(count, ring.free_slots())
        if n <= 0:
            return 0
        first = ring.prod
        addrs = self._buf_addrs[(first + np.arange(n)) & ring.mask]
        self.mem.write_each(addrs, frame)
        ring.put_desc_array(self._copy_descs(addrs, len(frame)))
        self._in_flight.append(_TxCopies(frame, first, n))
        self._frames_in_flight += n
        return n

    async def ring_doorbell(self) -> None:
        await self.ring.ring_doorbell()

    async def use_interrupts(self, irq: IrqMonitor, moderation: IrqModeration) -> None:
        """Reap on TX queue q's interrupt (vector 2q) instead of on completion writes."""
        await self.ring.use_interrupts(irq, 2 * self.q, moderation)

    @abstractmethod
    def reap(self) -> list[TxFrame]: ...  # each ring format supplies it

    @abstractmethod
    def reap_array(self) -> np.ndarray: ...  # each ring format supplies it

    def _pop_frame(self) -> TxFrame:
        """The oldest frame in flight (one copy out of a post_copies() batch)."""
        self._frames_in_flight -= 1
        head = self._in_flight[0]
        if isinstance(head, TxFrame):
            return self._in_flight.popleft()
        slot = head.first_slot
        self._retire_copies(head, 1)
        return self._frame(head.data, slot, slot, None, len(head.data))

    def _retire_copies(self, head: _TxCopies, n: int) -> None:
        head.first_slot = (head.first_slot + n) & self.ring.mask
        head.count -= n
        if not head.count:
            self._in_flight.popleft()

    def _oldest_last_slot(self) -> int | None:
        """Ring slot of the oldest frame's last descriptor (None: nothing in flight)."""
        if not self._in_flight:
            return None
        head = self._in_flight[0]
        return head.last_slot if isinstance(head, TxFrame) else head.first_slot

    @property
    def in_flight(self) -> int:
        return self._frames_in_flight

    async def wait_reaped(self) -> list[TxFrame]:
        """Wait until at least one frame completes; return the completed frames."""
        while not (done := self.reap()):
            await self.ring.wait_completion_write(f"{self.in_flight} frames in flight")
        return done

    async def wait_reaped_array(self) -> np.ndarray:
        """wait_reaped() for reap_array(): at least one completion, as a record array."""
        while not len(done := self.reap_array()):
            await self.ring.wait_completion_write(f"{self.in_flight} frames in flight")
        return done


@dataclass
class RxFrame:
    """A frame the device delivered into posted buffers.

    ``bufs`` are the ``(address, length)`` buffers it filled, in order; ``data``
    their bytes, gathered unless the caller reaped without copying.
    """

    data: bytes
    completion: RxCompletion
    bufs: tuple[tuple[int, int], ...] = ()


def copy_slots(dst: list[tuple[int, int]], src: list[tuple[int, int]], start: int, n: int) -> None:
    """``dst[k] = src[k]`` for the ``n`` ring slots from ``start`` (across the ring's end):
    at most two slice updates of a slot table."""
    size = len(dst)
    end = start + n
    if end <= size:
        dst[start:end] = src[start:end]
    else:
        dst[start:] = src[start:]
        dst[: end - size] = src[: end - size]


@dataclass
class _RxQueueBase(ABC):
    """The RX half of a queue pair, whatever its ring format: keeps the ring stocked with
    buffers and waits for frames. A format adds posting (``open``, ``refill``,
    ``post_buffers``) and reaping (``reap``, ``reap_array``)."""

    bar: FunctionBar
    mem: DmaMemory
    q: int = 0
    size_log2: int = 8
    buf_len: int = 2048
    # wait_reaped() reposts buffers once this many slots are free, in one doorbell
    # write (ixgbevf writes the RX tail every IXGBEVF_RX_BUFFER_WRITE = 16 buffers;
    # 1 reposts after every reap).
    refill_batch: int = 1
    frames_seen: int = field(init=False, default=0)
    ring: _Ring = field(init=False)

    def __post_init__(self) -> None:
        if not 0 < self.buf_len < 1 << 16 or self.buf_len % 64:
            raise QueueError(
                f"RX buffer length {self.buf_len} is not a nonzero multiple of 64 below 64 KiB"
            )
        if not 1 <= self.refill_batch < 1 << self.size_log2:
            raise QueueError(
                f"RX refill batch {self.refill_batch} outside 1..{(1 << self.size_log2) - 1}"
            )
        self.ring = _Ring(
            self.bar,
            self.mem,
            queue_reg(self.q, Queue.TXQ_BASE_LO) + RX_OFFSET,
            self.size_log2,
            name=f"RX queue {self.q}",
        )

    @abstractmethod
    async def open(self, post: int | None = None) -> None: ...  # each ring format supplies it

    @abstractmethod
    async def refill(self, count: int | None = None) -> None: ...  # each ring format supplies it

    @abstractmethod
    def reap(self, gather: bool = True) -> list[RxFrame]: ...  # each ring format supplies it

    @abstractmethod
    def reap_array(self) -> np.ndarray: ...  # each ring format supplies it

    def _refill_due(self) -> bool:
        """wait_reaped() reposts buffers now: ``refill_batch`` slots are free."""
        return self.ring.free_slots() >= self.refill_batch

    def _ring2(self) -> _DescRing | None:
        """A second descriptor ring sharing the completion ring (format B's ring 2)."""
        return None

    @abstractmethod
    def buffer_regions(self) -> list[tuple[int, int]]:
        """The queue's own receive buffers as (address, bytes)."""
        ...  # each ring format supplies it

    def ring_regions(self) -> list[tuple[int, int]]:
        """The queue's descriptor rings and completion ring as (address, bytes)."""
        ring = self.ring
        out = [
            (ring.desc_base, ring.size * ENTRY_BYTES),
            (ring.cpl_base, ring.cpl_size * ENTRY_BYTES),
        ]
        ring2 = self._ring2()
        if ring2 is not None:
            out.append((ring2.desc_base, ring2.size * ENTRY_BYTES))
        return out

    def dma_regions(self) -> list[tuple[int, int]]:
        """Everything the engine may DMA for this queue: its rings and its own buffers."""
        return self.ring_regions() + self.buffer_regions()

    async def close(
        self, polls: int = BUSY_POLLS, drained: Callable[[], None] | None = None
    ) -> None:
        """Disable the queue, wait until its DMA drained (``RXQ_STATUS.BUSY`` 0, bounded:
        :class:`QueueStall` names the queue), then give its descriptor rings, completion
        ring and own receive buffers back to the memory they came from (frames reaped
        without copying point into those buffers: read them before). Buffers a caller
        posted stay the caller's. A function that is gone keeps its memory.

        ``drained`` is called once the DMA has drained and before anything is freed: the
        completions the queue wrote up to then can be reaped there (none comes later)."""
        if not await self.ring.close(polls):
            return
        if drained is not None:
            drained()
        self.ring.free()
        ring2 = self._ring2()
        if ring2 is not None:
            ring2.free()
        self._free_buffers()

    @abstractmethod
    def _free_buffers(self) -> None:
        """Give the queue's own buffers back and forget every posted buffer."""
        ...  # each ring format supplies it

    async def status(self) -> int:
        """``RXQ_STATUS``: error code, ``BUSY``, error state."""
        return await self.ring.status()

    async def save_state(self) -> QueueState:
        """Save the queue for a restore (§4c, after the quiesce): it is left disabled."""
        return await self.ring.save(self._ring2())

    async def restore_state(self, state: QueueState, bar: FunctionBar | None = None) -> None:
        """Restore a saved queue into this queue's rings; ``bar``: into that function's
        queue ``q`` from now on (a fresh queue of the same format)."""
        ring2 = self._ring2()
        if bar is not None:
            self.bar = self.ring.bar = bar
            if ring2 is not None:
                ring2.bar = bar
        await self.ring.restore(state, ring2)

    async def ring_doorbell(self) -> None:
        await self.ring.ring_doorbell()

    async def use_interrupts(self, irq: IrqMonitor, moderation: IrqModeration) -> None:
        """Reap on RX queue q's interrupt (vector 2q + 1) instead of on completion writes."""
        await self.ring.use_interrupts(irq, 2 * self.q + 1, moderation)

    async def wait_reaped(self) -> list[RxFrame]:
        """Wait until at least one frame arrives; return the frames and repost their buffers."""
        while not (frames := self.reap()):
            await self._wait_for_frame()
        await self._refill_batch()
        return frames

    async def wait_reaped_array(self) -> np.ndarray:
        """wait_reaped() for reap_array(): at least one completion, buffers reposted."""
        while not len(cpls := self.reap_array()):
            await self._wait_for_frame()
        await self._refill_batch()
        return cpls

    async def _wait_for_frame(self) -> None:
        await self.ring.wait_completion_write(f"a frame ({self.frames_seen} received so far)")

    async def _refill_batch(self) -> None:
        if self._refill_due():
            await self.refill()
