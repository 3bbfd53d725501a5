"""Queue pairs of one PCIe function, as a driver owns them (ring format A).

Read like a driver: ``open()`` allocates the rings in host memory, zeroes them
and programs base, size and enable in a fixed order; ``close()`` undoes it.
Indices are ring indices in ``0..size-1`` (one slot stays empty); completion
entries are owned by the driver when their generation bit equals its phase.

A waiting driver sleeps until the device writes to the completion ring (a
write watch on host memory), or, after ``use_interrupts()``, until the ring's
interrupt arrives, moderated by the NIC (``*Q_IRQ_MOD``), as ixgbevf's NAPI poll
runs on an MSI-X vector with ITR: then completion writes wake no Python at all
and one wake-up reaps every completion written since.

Every wait has a watchdog in simulated cycles (``stall_cycles``): a ring that
gets no completion (or no interrupt) for that long while the driver waits raises
:class:`QueueStall` naming the function, queue, direction and ring indices, so
a lost frame fails a run with a reason instead of hanging it.

``close()`` disables the queue, waits (bounded) until ``*Q_STATUS.BUSY`` clears,
and only then gives the rings and the queue's own buffers back to the memory they
came from.

What does not depend on the ring format (rings in memory and their registers,
buffers per slot, frames in flight, waiting, interrupts, the queue state of §4c)
is in ``_DescRing``/``_Ring`` (``tb/vf_driver/rings.py``) and ``_TxQueueBase`` and
``_RxQueueBase`` (``tb/vf_driver/queue_base.py``); ``TxQueue`` and ``RxQueue`` here
add format A's descriptors and completions, and ``tb/vf_driver/upt_queues.py``
format B's. Every name of those modules a driver needs is importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from tb.ref.layouts import (
    RxCompletion,
    RxDesc,
    TxCompletion,
    TxDesc,
)
from tb.vf_driver.queue_base import (
    RxFrame,
    TxFrame,
    _RxQueueBase,
    _TxCopies,
    _TxQueueBase,
    copy_slots,
)
from tb.vf_driver.rings import (
    BUSY_POLLS,
    CPL_READ_RUN,
    DEFAULT_STALL_CYCLES,
    MAX_TX_BUFS,
    NS_PER_CYCLE,
    RING_LOG2_MAX,
    RING_LOG2_MIN,
    DmaMemory,
    IrqModeration,
    QueueError,
    QueueStall,
    QueueState,
    RingPosition,
    _DescRing,
    _Ring,
)


@dataclass
class TxQueue(_TxQueueBase):
    """The TX half of a queue pair, ring format A (§4)."""

    MAX_BUF_BYTES: ClassVar[int] = (1 << 16) - 1

    def _descs(self, frags: list[tuple[int, int]], vlan_tci: int | None) -> list[bytes]:
        last_n = len(frags) - 1
        return [
            TxDesc.encode(
                addr,
                length,
                sof=n == 0,
                eof=n == last_n,
                vlan_ins=n == 0 and vlan_tci is not None,
                vlan_tci=(vlan_tci or 0) if n == 0 else 0,
            )
            for n, (addr, length) in enumerate(frags)
        ]

    def _copy_descs(self, addrs: np.ndarray, length: int) -> np.ndarray:
        descs = np.zeros(len(addrs), TxDesc.DTYPE)
        descs["buf_addr"] = addrs
        descs["length"] = length
        descs["flags"] = TxDesc.FLAG_SOF | TxDesc.FLAG_EOF
        return descs

    def post_raw(self, desc: TxDesc) -> None:
        """Place one descriptor exactly as given (for error-injection tests)."""
        self.ring.put_desc(desc.pack())

    def reap(self) -> list[TxFrame]:
        """Frames whose completions the device has written, oldest first."""
        done = []
        for raw in self.ring.completions():
            cpl = TxCompletion.unpack(raw)
            if not self._in_flight:
                raise QueueError(f"TX completion with no frame in flight: {cpl}")
            tx = self._pop_frame()
            tx.completion = cpl
            self.ring.clean = (cpl.desc_idx + 1) & self.ring.mask
            done.append(tx)
        return done

    def reap_array(self) -> np.ndarray:
        """The completions the device has written, oldest first, as one
        TxCompletion.DTYPE record array; the frames they complete leave the in-flight
        queue without a TxFrame each (a NAPI clean of a batch). The statuses are the
        caller's to check."""
        cpls = self.ring.completion_array(TxCompletion.DTYPE)
        n = len(cpls)
        if n > self._frames_in_flight:
            raise QueueError(
                f"{n} TX completions with {self._frames_in_flight} frames in flight "
                f"(the last for descriptor {int(cpls['desc_idx'][-1])})"
            )
        self._frames_in_flight -= n
        left = n
        while left:
            head = self._in_flight[0]
            if isinstance(head, TxFrame):
                self._in_flight.popleft()
                left -= 1
            else:
                take = min(left, head.count)
                self._retire_copies(head, take)
                left -= take
        if n:
            self.ring.clean = (int(cpls["desc_idx"][-1]) + 1) & self.ring.mask
        return cpls


@dataclass
class RxQueue(_RxQueueBase):
    """The RX half of a queue pair, ring format A (§4): one ring of equal buffers."""

    _bufs: list[int] = field(init=False, default_factory=list)

    def buffer_regions(self) -> list[tuple[int, int]]:
        return [(b, self.buf_len) for b in self._bufs]

    _buf_addrs: np.ndarray = field(init=False, default_factory=lambda: np.empty(0, np.uint64))
    _own_slot_buf: list[tuple[int, int]] = field(init=False, default_factory=list)
    # (address, length) posted at each ring slot: the queue's own buffers, or
    # a caller's (post_buffers) that the device fills in place.
    _slot_buf: list[tuple[int, int]] = field(init=False, default_factory=list)

    async def open(self, post: int | None = None) -> None:
        """Rings up, ``post`` own buffers posted (default all; 0: the caller posts)."""
        await self.ring.open()
        self._slot_buf = [(0, 0)] * self.ring.size
        if post != 0:
            self._alloc_bufs()
            await self.refill(self.ring.size - 1 if post is None else post)

    def _free_buffers(self) -> None:
        for addr in self._bufs:
            self.mem.free(addr)
        self._bufs = []
        self._own_slot_buf = []
        self._buf_addrs = np.empty(0, np.uint64)
        self._slot_buf = []

    def _alloc_bufs(self) -> None:
        """The queue's own buffers: buffer k always goes to ring slot k."""
        self._bufs = [self.mem.alloc(self.buf_len, 64) for _ in range(self.ring.size)]
        self._own_slot_buf = [(addr, self.buf_len) for addr in self._bufs]
        self._buf_addrs = np.array(self._bufs, dtype=np.uint64)

    async def refill(self, count: int | None = None) -> None:
        """Post up to ``count`` own buffers (default: every free slot) and ring the doorbell.

        The batch's descriptors are one record array (and at most two slice updates of
        the slot table), as a driver refills a batch of pages."""
        if not self._bufs:
            self._alloc_bufs()
        ring = self.ring
        n = ring.free_slots() if count is None else min(count, ring.free_slots())
        if n <= 0:
            return
        prod = ring.prod
        descs = np.zeros(n, RxDesc.DTYPE)
        descs["buf_addr"] = self._buf_addrs[(prod + np.arange(n)) & ring.mask]
        descs["length"] = self.buf_len
        copy_slots(self._slot_buf, self._own_slot_buf, prod, n)
        ring.put_desc_array(descs)
        await ring.ring_doorbell()

    def post_buffers(self, bufs: list[tuple[int, int]]) -> int:
        """Post the caller's ``(address, length)`` buffers, as many as fit; returns how many.

        The device writes frames straight into them (a plugin posting the guest
        stack's buffers); the doorbell is rung separately (:meth:`ring_doorbell`).
        """
        n = min(len(bufs), self.ring.free_slots())
        self._post(bufs[:n])
        return n

    def _post(self, bufs: list[tuple[int, int]]) -> None:
        """``(address, length)`` buffers into the next slots, remembered per slot."""
        ring = self.ring
        for k, buf in enumerate(bufs):
            self._slot_buf[(ring.prod + k) & ring.mask] = buf
        ring.put_descs([RxDesc.encode(addr, length) for addr, length in bufs])

    def reap(self, gather: bool = True) -> list[RxFrame]:
        """Frames the device has completed; ``gather`` copies their bytes out of the buffers."""
        frames = []
        for raw in self.ring.completions():
            cpl = RxCompletion.unpack(raw)
            data = bytearray()
            used = []
            remaining = cpl.length
            for k in range(cpl.num_bufs):
                addr, length = self._slot_buf[(cpl.desc_idx + k) & self.ring.mask]
                take = min(remaining, length)
                used.append((addr, take))
                if gather:
                    data += self.mem.read(addr, take)
                remaining -= take
            self.ring.clean = (cpl.desc_idx + cpl.num_bufs) & self.ring.mask
            frames.append(RxFrame(bytes(data), cpl, tuple(used)))
        self.frames_seen += len(frames)
        return frames

    def reap_array(self) -> np.ndarray:
        """The completions the device has written, oldest first, as one
        RxCompletion.DTYPE record array, their buffers returned to the ring: a NAPI
        poll that hands pages up without copying or building a frame each (the
        buffers stay readable until refilled; statuses are the caller's to check)."""
        cpls = self.ring.completion_array(RxCompletion.DTYPE)
        if len(cpls):
            last = cpls[-1]
            self.ring.clean = (int(last["desc_idx"]) + int(last["num_bufs"])) & self.ring.mask
            self.frames_seen += len(cpls)
        return cpls


__all__ = [
    "BUSY_POLLS",
    "CPL_READ_RUN",
    "DEFAULT_STALL_CYCLES",
    "MAX_TX_BUFS",
    "NS_PER_CYCLE",
    "RING_LOG2_MAX",
    "RING_LOG2_MIN",
    "DmaMemory",
    "IrqModeration",
    "QueueError",
    "QueueStall",
    "QueueState",
    "RingPosition",
    "RxFrame",
    "RxQueue",
    "TxFrame",
    "TxQueue",
    "_DescRing",
    "_Ring",
    "_RxQueueBase",
    "_TxCopies",
    "_TxQueueBase",
    "copy_slots",
]
