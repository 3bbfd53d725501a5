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

What does not depend on the ring format (rings in memory and their registers,
buffers per slot, frames in flight, waiting, interrupts, the queue state of §4c)
is in ``_DescRing``/``_Ring``, ``_TxQueueBase`` and ``_RxQueueBase``; ``TxQueue`` and
``RxQueue`` add format A's descriptors and completions, and
``tb/vf_driver/upt_queues.py`` format B's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import cocotb
import numpy as np
from cocotb.task import Task
from cocotb.triggers import Timer

from tb.host.interrupts import IrqMonitor
from tb.host.memory import WriteWatch
from tb.host.mmio import FunctionBar
from tb.ref.layouts import (
    ENTRY_BYTES,
    GEN_BIT,
    RxCompletion,
    RxDesc,
    TxCompletion,
    TxDesc,
)
from tb.ref.regmap import (
    QCTRL_ENABLE,
    QCTRL_RESUME,
    QSTATUS_BUSY,
    RX_OFFSET,
    Queue,
    irq_mod,
    qstate,
    qstate_fields,
    queue_reg,
)

MAX_TX_BUFS = 16
NS_PER_CYCLE = 4  # 250 MHz nominal clock
# Longest quiet spell a waiting driver accepts: far above any frame's latency
# through the NIC (tens to a few thousand cycles, ARCHITECTURE §3), far below
# a run that would look hung to a person (about a second of wall time).
DEFAULT_STALL_CYCLES = 100_000
# Completion entries a reap reads from host memory at once (and tests for ownership).
CPL_READ_RUN = 64
# *Q_STATUS reads a queue state save makes while waiting for BUSY to fall (§4c): each
# read is a register access of several cycles, so far above a drain of the host bus.
BUSY_POLLS = 10_000
RING_LOG2_MIN, RING_LOG2_MAX = 5, 12


class DmaMemory(Protocol):
    """What a driver needs from host memory: allocation and CPU-side access."""

    def alloc(self, size: int, align: int = 64) -> int: ...
    def read(self, addr: int, length: int) -> bytes: ...
    def write(self, addr: int, data: bytes) -> None: ...
    def write_each(self, addrs: np.ndarray, data: bytes) -> None: ...
    def view(self, addr: int, n: int) -> np.ndarray: ...
    def watch(self, lo: int, hi: int) -> WriteWatch: ...


class QueueError(RuntimeError):
    """The driver was asked for something the ring cannot do."""


class QueueStall(AssertionError):
    """The device wrote no completion for ``stall_cycles`` while the driver waited for one."""


@dataclass(frozen=True)
class IrqModeration:
    """``*Q_IRQ_MOD``: an interrupt once ``count_thresh`` completions are pending, or once
    the oldest waited ``min_interval`` cycles, never two closer than ``min_interval``."""

    min_interval: int = 64
    count_thresh: int = 16

    def value(self) -> int:
        return irq_mod(self.min_interval, self.count_thresh)


@dataclass(frozen=True)
class RingPosition:
    """A ``*_STATE`` register (§4c): the ring index a queue stands at and the gen there."""

    index: int
    gen: int

    @classmethod
    def from_reg(cls, value: int) -> RingPosition:
        return cls(*qstate_fields(value))

    def reg_value(self) -> int:
        return qstate(self.index, self.gen)


@dataclass(frozen=True)
class QueueState:
    """What a queue state save reads of one TX or RX queue (§4c), for a restore.

    ``prod``: the doorbell (``*_PROD``); ``desc``/``cpl``: ``*Q_STATE``/``*Q_CPL_STATE``;
    ``prod2``/``desc2``: ``RX2_PROD``/``RX2_STATE`` of a format-B RX queue's ring 2.
    """

    prod: int
    desc: RingPosition
    cpl: RingPosition
    prod2: int | None = None
    desc2: RingPosition | None = None


@dataclass
class _DescRing:
    """A descriptor ring the driver fills, and its registers (``*_BASE``, ``*_SIZE``,
    ``*_PROD``, at the offsets of the TX block from ``base_reg``)."""

    bar: FunctionBar
    mem: DmaMemory
    base_reg: int  # offset of the *_BASE_LO register of this ring
    size_log2: int
    desc_base: int = 0
    prod: int = 0  # next descriptor slot the driver fills
    clean: int = 0  # oldest descriptor slot not yet returned by a completion
    laps: int = 0  # times ``prod`` went past the ring's end (format B: the gen flips)
    doorbell_reg: int | None = None  # where ring_doorbell() writes (default *_PROD)

    size: int = field(init=False)
    mask: int = field(init=False)  # size - 1: indices wrap with ``& mask``

    def __post_init__(self) -> None:
        self.size = 1 << self.size_log2
        self.mask = self.size - 1

    def free_slots(self) -> int:
        return (self.clean - self.prod - 1) & self.mask

    def reg(self, reg: Queue) -> int:
        return self.base_reg + (reg - Queue.TXQ_BASE_LO)

    def check_size(self) -> None:
        if not RING_LOG2_MIN <= self.size_log2 <= RING_LOG2_MAX:
            raise QueueError(f"ring size 2**{self.size_log2} outside 32..4096 entries")

    def alloc(self) -> None:
        """The ring in host memory, zeroed, and the driver's indices at the start."""
        nbytes = self.size * ENTRY_BYTES
        self.desc_base = self.mem.alloc(nbytes, 64)
        self.mem.write(self.desc_base, bytes(nbytes))
        self.prod = self.clean = self.laps = 0

    async def program_geometry(self) -> None:
        """Base and size registers (written while the queue is disabled)."""
        b = self.bar
        await b.write(self.reg(Queue.TXQ_BASE_LO), self.desc_base & 0xFFFF_FFFF)
        await b.write(self.reg(Queue.TXQ_BASE_HI), self.desc_base >> 32)
        await b.write(self.reg(Queue.TXQ_SIZE), self.size_log2)

    def _advance(self, n: int) -> None:
        if self.prod + n >= self.size:
            self.laps += 1
        self.prod = (self.prod + n) & self.mask

    def put_desc(self, raw: bytes) -> None:
        self.mem.write(self.desc_base + self.prod * ENTRY_BYTES, raw)
        self._advance(1)

    def put_descs(self, raws: list[bytes]) -> None:
        """Descriptors into consecutive slots from ``prod``: one memory write per
        contiguous run (two where the ring wraps), as a driver fills a batch."""
        n = len(raws)
        head = min(n, self.size - self.prod)
        if head:
            self.mem.write(self.desc_base + self.prod * ENTRY_BYTES, b"".join(raws[:head]))
        if head < n:
            self.mem.write(self.desc_base, b"".join(raws[head:]))
        self._advance(n)

    def put_desc_array(self, descs: np.ndarray) -> None:
        """A record array of descriptors into consecutive slots from ``prod`` (put_descs
        for a batch built with numpy): one memory write per contiguous run."""
        n = len(descs)
        head = min(n, self.size - self.prod)
        if head:
            self.mem.write(self.desc_base + self.prod * ENTRY_BYTES, descs[:head].tobytes())
        if head < n:
            self.mem.write(self.desc_base, descs[head:].tobytes())
        self._advance(n)

    def doorbell_addr(self) -> int:
        return self.reg(Queue.TXQ_PROD) if self.doorbell_reg is None else self.doorbell_reg

    async def ring_doorbell(self) -> None:
        await self.bar.write(self.doorbell_addr(), self.prod)


@dataclass
class _Ring(_DescRing):
    """One descriptor ring plus its completion ring, and the driver's indices.

    The completion ring has the descriptor ring's size unless ``cpl_size_log2`` says
    otherwise (format B RX: one completion ring for two descriptor rings, its size in
    the register at ``cpl_size_reg``)."""

    cpl_base: int = 0
    cpl_idx: int = 0  # next completion slot to read
    phase: int = 1
    cpl_watch: WriteWatch | None = None
    name: str = "ring"
    stall_cycles: int = DEFAULT_STALL_CYCLES
    cpl_size_log2: int | None = None
    cpl_size_reg: int | None = None
    mask_reg: int | None = None  # where use_interrupts() clears the mask (default *_IRQ_CTRL)
    # Interrupt-driven reaping (use_interrupts): the monitor and this ring's vector.
    irq: IrqMonitor | None = None
    irq_vector: int = 0
    _waiting_for: str | None = None
    _watchdog: Task | None = None
    _stalled: bool = False

    cpl_size: int = field(init=False)
    cpl_mask: int = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        log2 = self.size_log2 if self.cpl_size_log2 is None else self.cpl_size_log2
        self.cpl_size = 1 << log2
        self.cpl_mask = self.cpl_size - 1

    def alloc(self) -> None:
        super().alloc()
        nbytes = self.cpl_size * ENTRY_BYTES
        self.cpl_base = self.mem.alloc(nbytes, 64)
        self.mem.write(self.cpl_base, bytes(nbytes))
        self.cpl_watch = self.mem.watch(self.cpl_base, self.cpl_base + nbytes)
        self.cpl_idx = 0
        self.phase = 1

    async def program_geometry(self) -> None:
        b = self.bar
        await b.write(self.reg(Queue.TXQ_BASE_LO), self.desc_base & 0xFFFF_FFFF)
        await b.write(self.reg(Queue.TXQ_BASE_HI), self.desc_base >> 32)
        await b.write(self.reg(Queue.TXQ_CPL_BASE_LO), self.cpl_base & 0xFFFF_FFFF)
        await b.write(self.reg(Queue.TXQ_CPL_BASE_HI), self.cpl_base >> 32)
        await b.write(self.reg(Queue.TXQ_SIZE), self.size_log2)
        if self.cpl_size_reg is not None:
            await b.write(self.cpl_size_reg, self.cpl_size.bit_length() - 1)

    async def open(self) -> None:
        self.check_size()
        self.alloc()
        b = self.bar
        await b.write(self.reg(Queue.TXQ_CTRL), 0)
        await self.program_geometry()
        await b.write(self.reg(Queue.TXQ_PROD), 0)
        await b.write(self.reg(Queue.TXQ_CTRL), QCTRL_ENABLE)

    async def use_interrupts(self, irq: IrqMonitor, vector: int, moderation: IrqModeration) -> None:
        """Wait for the ring's interrupt instead of watching completion writes."""
        if self.cpl_watch is None:
            raise QueueError("queue is not open")
        await self.bar.write(self.reg(Queue.TXQ_IRQ_MOD), moderation.value())
        mask_reg = self.reg(Queue.TXQ_IRQ_CTRL) if self.mask_reg is None else self.mask_reg
        await self.bar.write(mask_reg, 0)  # MASK clear
        self.irq = irq
        self.irq_vector = vector
        # No watched range left: completion writes cost Python nothing (the watch
        # object stays, unhit, for close()).
        self.cpl_watch.close()

    def _activity(self) -> int:
        """What grows while the device is alive: completion writes or interrupts."""
        if self.irq is not None:
            return self.irq.count(self.bar.func, self.irq_vector)
        assert self.cpl_watch is not None
        return self.cpl_watch.writes

    async def close(self) -> None:
        await self.bar.write(self.reg(Queue.TXQ_CTRL), 0)
        self.irq = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self.cpl_watch is not None:
            self.cpl_watch.close()
            self.cpl_watch = None

    async def wait_completion_write(self, waiting_for: str) -> None:
        """Sleep until the device writes to the completion ring (no per-cycle polling).

        Raises :class:`QueueStall` when the ring's watchdog finds no such write
        for ``stall_cycles`` (detected within twice that).
        """
        if self.cpl_watch is None:
            raise QueueError("queue is not open")
        if self._watchdog is None:
            self._watchdog = cocotb.start_soon(self._watch_for_stall())
        self._waiting_for = waiting_for
        if self.irq is not None:
            # No simulated time passed since the caller found the ring empty, so an
            # interrupt counted after this point is for a completion not yet reaped.
            func = self.bar.func
            await self.irq.wait_beyond(func, self.irq_vector, self.irq.count(func, self.irq_vector))
        else:
            await self.cpl_watch.wait()
        self._waiting_for = None
        if self._stalled:
            self._stalled = False
            self.cpl_watch.woken = False
            raise QueueStall(
                f"function {self.bar.func} {self.name}: no completion for "
                f"{self.stall_cycles} cycles while waiting for {waiting_for}; driver "
                f"prod={self.prod} clean={self.clean} cpl_idx={self.cpl_idx} "
                f"phase={self.phase} (ring of {self.size})"
            )

    async def _watch_for_stall(self) -> None:
        """One task per ring: awaits only a timer, so ending a test cancels it cleanly."""
        seen = self._activity()
        while True:
            await Timer(self.stall_cycles * NS_PER_CYCLE, "ns")
            now = self._activity()
            if self._waiting_for is not None and now == seen:
                self._stalled = True
                if self.irq is not None:
                    self.irq.kick(self.bar.func, self.irq_vector)
                elif self.cpl_watch is not None:
                    self.cpl_watch.wake()
            seen = now

    def completion_array(self, dtype: np.dtype) -> np.ndarray:
        """Every completion the device has written from the read index on, oldest first,
        as one record array of ``dtype``: the ownership rule of completions(), tested
        on a whole run at once (a NAPI poll over a batch)."""
        runs: list[np.ndarray] = []
        while True:
            idx = self.cpl_idx
            run = min(CPL_READ_RUN, self.cpl_size - idx)
            chunk = self.mem.view(self.cpl_base + idx * ENTRY_BYTES, run * ENTRY_BYTES)
            want = GEN_BIT if self.phase else 0
            foreign = (chunk[ENTRY_BYTES - 1 :: ENTRY_BYTES] & GEN_BIT) != want
            k = int(foreign.argmax()) if foreign.any() else run
            if k:
                runs.append(chunk[: k * ENTRY_BYTES].copy().view(dtype))
            self.cpl_idx = (idx + k) & self.cpl_mask
            if self.cpl_idx == 0 and k:
                self.phase ^= 1
            if k < run:
                break
        if len(runs) == 1:
            return runs[0]
        return np.concatenate(runs) if runs else np.empty(0, dtype)

    def completions(self) -> list[bytes]:
        """Every raw completion the device has written from the read index on, oldest
        first: the ring is read in runs of up to CPL_READ_RUN entries (to the ring's
        end at most) and an entry is the driver's while its generation bit is the phase."""
        out: list[bytes] = []
        while True:
            idx = self.cpl_idx
            run = min(CPL_READ_RUN, self.cpl_size - idx)
            chunk = self.mem.read(self.cpl_base + idx * ENTRY_BYTES, run * ENTRY_BYTES)
            want = GEN_BIT if self.phase else 0
            k = 0
            for gen in chunk[ENTRY_BYTES - 1 :: ENTRY_BYTES]:
                if gen & GEN_BIT != want:
                    break
                k += 1
            out.extend(chunk[i * ENTRY_BYTES : (i + 1) * ENTRY_BYTES] for i in range(k))
            self.cpl_idx = (idx + k) & self.cpl_mask
            if self.cpl_idx == 0 and k:
                self.phase ^= 1
            if k < run:
                return out

    async def status(self) -> int:
        return await self.bar.read(self.reg(Queue.TXQ_STATUS))

    async def wait_idle(self, polls: int = BUSY_POLLS) -> None:
        """Read ``*Q_STATUS`` until ``BUSY`` is 0 (the queue's DMA drained)."""
        for _ in range(polls):
            if not await self.status() & QSTATUS_BUSY:
                return
        raise QueueStall(
            f"function {self.bar.func} {self.name}: BUSY still set after {polls} status reads"
        )

    async def save(self, ring2: _DescRing | None = None) -> QueueState:
        """§4c save: read ``*_PROD``, disable the queue, wait until it is not ``BUSY``,
        read the ``*_STATE`` registers (``ring2``: a format-B RX queue's ring 2)."""
        b = self.bar
        prod = await b.read(self.reg(Queue.TXQ_PROD))
        prod2 = None if ring2 is None else await b.read(ring2.reg(Queue.TXQ_PROD))
        await b.write(self.reg(Queue.TXQ_CTRL), 0)
        await self.wait_idle()
        desc = RingPosition.from_reg(await b.read(self.reg(Queue.TXQ_STATE)))
        cpl = RingPosition.from_reg(await b.read(self.reg(Queue.TXQ_CPL_STATE)))
        desc2 = None
        if ring2 is not None:
            desc2 = RingPosition.from_reg(await b.read(ring2.reg(Queue.TXQ_STATE)))
        return QueueState(prod, desc, cpl, prod2, desc2)

    async def restore(self, state: QueueState, ring2: _DescRing | None = None) -> None:
        """§4c restore into this (disabled) queue: bases and sizes, the ``*_STATE``
        registers, the saved ``*_PROD`` (before the enable: a queue enabled at index N
        with PROD 0 would fetch what nobody posted), then ``CTRL`` = ``ENABLE`` |
        ``RESUME``."""
        if (ring2 is None) != (state.desc2 is None or state.prod2 is None):
            raise QueueError("queue state and queue disagree on a second RX ring")
        b = self.bar
        await self.program_geometry()
        if ring2 is not None:
            await ring2.program_geometry()
        await b.write(self.reg(Queue.TXQ_STATE), state.desc.reg_value())
        await b.write(self.reg(Queue.TXQ_CPL_STATE), state.cpl.reg_value())
        if ring2 is not None and state.desc2 is not None:
            await b.write(ring2.reg(Queue.TXQ_STATE), state.desc2.reg_value())
        await b.write(self.doorbell_addr(), state.prod)
        if ring2 is not None and state.prod2 is not None:
            await b.write(ring2.doorbell_addr(), state.prod2)
        await b.write(self.reg(Queue.TXQ_CTRL), QCTRL_ENABLE | QCTRL_RESUME)


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

    async def close(self) -> None:
        await self.ring.close()

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

    async def close(self) -> None:
        await self.ring.close()

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
