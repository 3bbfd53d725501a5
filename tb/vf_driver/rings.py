"""Rings of a queue pair in host memory and their registers, as a driver owns them (both ring
formats): allocation, geometry, doorbells, the completion ring and its generation bit,
waiting for completion writes or interrupts with a stall watchdog, BUSY, the queue state
save and restore of §4c, and giving the memory back.

``_DescRing`` is a descriptor ring the driver fills; ``_Ring`` adds its completion ring.
The queue classes built on them are in :mod:`tb.vf_driver.queue_base` (whatever the
format), :mod:`tb.vf_driver.queues` (format A) and :mod:`tb.vf_driver.upt_queues`
(format B).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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
)
from tb.ref.regmap import (
    ABSENT_READ,
    QCTRL_ENABLE,
    QCTRL_RESUME,
    QSTATUS_BUSY,
    Queue,
    irq_mod,
    qstate,
    qstate_fields,
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
    def free(self, addr: int) -> None: ...
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
    # What alloc() took from ``mem`` (free() gives back only that: a ring whose memory a
    # caller handed over, e.g. a guest's own vmxnet3 rings, stays the caller's).
    _owned: list[int] = field(init=False, default_factory=list)

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
        self._owned.append(self.desc_base)
        self.mem.write(self.desc_base, bytes(nbytes))
        self.prod = self.clean = self.laps = 0

    def free(self) -> None:
        """Give what :meth:`alloc` took back to the memory it came from (the queue is
        closed and not BUSY); a ring the driver did not allocate is left alone."""
        for addr in self._owned:
            self.mem.free(addr)
        if self.desc_base in self._owned:
            self.desc_base = 0
        self._owned = []

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
        self._owned.append(self.cpl_base)
        self.mem.write(self.cpl_base, bytes(nbytes))
        self.cpl_watch = self.mem.watch(self.cpl_base, self.cpl_base + nbytes)
        self.cpl_idx = 0
        self.phase = 1

    def free(self) -> None:
        if self.cpl_base in self._owned:
            self.cpl_base = 0
        super().free()

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

    async def close(self, polls: int = BUSY_POLLS) -> bool:
        """Disable the queue, stop waiting for its completions, and wait until its DMA has
        drained (``*Q_STATUS.BUSY`` 0, at most ``polls`` status reads, else
        :class:`QueueStall`): only then may its memory go back (:meth:`free`).

        Returns False when the function is gone (its status reads all ones, as a
        disabled VF's registers do): whether DMA is outstanding cannot be known then."""
        await self.bar.write(self.reg(Queue.TXQ_CTRL), 0)
        self.irq = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self.cpl_watch is not None:
            self.cpl_watch.close()
            self.cpl_watch = None
        return await self.wait_idle(polls, absent_ok=True)

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

    async def wait_idle(self, polls: int = BUSY_POLLS, *, absent_ok: bool = False) -> bool:
        """Read ``*Q_STATUS`` until ``BUSY`` is 0 (the queue's DMA drained); True then.

        A function that is gone reads all ones: with ``absent_ok`` that returns False at
        once, otherwise it is BUSY like any other. Raises :class:`QueueStall` naming the
        queue and the last status after ``polls`` reads with ``BUSY`` set."""
        st = 0
        for _ in range(polls):
            st = await self.status()
            if absent_ok and st == ABSENT_READ:
                return False
            if not st & QSTATUS_BUSY:
                return True
        raise QueueStall(
            f"function {self.bar.func} {self.name}: BUSY still set after {polls} status "
            f"reads (STATUS {st:#010x}): its DMA did not drain after the disable"
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
