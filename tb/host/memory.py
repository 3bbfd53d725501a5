"""Host physical memory: one numpy byte array, a region allocator, write watches.

Addresses here are host *physical* addresses (PA), 0 .. ``size``. Devices reach
this memory only through the IOMMU (:mod:`tb.host.iommu`) and the bus responder
(:mod:`tb.host.dma_responder`); driver models read and write it directly.

Every write made through :meth:`HostMemory.write` (and the typed helpers built on
it) notifies the :class:`WriteWatch` objects whose range it touches, so a driver
model can ``await watch.wait()`` for a completion instead of polling each cycle.
Writes through a numpy :meth:`HostMemory.view` bypass the watches.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from cocotb.triggers import Event

PAGE_SIZE = 4096


class MemoryAccessError(ValueError):
    """An access outside host memory."""


class OutOfMemoryError(MemoryError):
    """The allocator has no free region large enough."""


def _is_pow2(x: int) -> bool:
    return x > 0 and (x & (x - 1)) == 0


@dataclass(frozen=True)
class Region:
    """A half-open address range ``[addr, addr + size)``."""

    addr: int
    size: int

    @property
    def end(self) -> int:
        return self.addr + self.size

    def overlaps(self, lo: int, hi: int) -> bool:
        return self.addr < hi and lo < self.end


class RegionAllocator:
    """First-fit allocator over ``[lo, hi)`` with aligned allocations and coalescing free.

    Free space is a sorted list of disjoint ``[start, end)`` holes; an aligned
    allocation splits a hole into up to two holes.
    """

    def __init__(self, lo: int, hi: int) -> None:
        if not 0 <= lo <= hi:
            raise ValueError(f"bad allocator range [{lo:#x}, {hi:#x})")
        self._lo = lo
        self._hi = hi
        self._holes: list[tuple[int, int]] = [(lo, hi)] if hi > lo else []
        self._allocated: dict[int, int] = {}  # addr -> size

    @property
    def free_bytes(self) -> int:
        return sum(end - start for start, end in self._holes)

    @property
    def allocated(self) -> dict[int, int]:
        """Live allocations, address -> size (a copy)."""
        return dict(self._allocated)

    def alloc(self, size: int, align: int = 64) -> int:
        if size <= 0:
            raise ValueError(f"allocation size must be positive, got {size}")
        if not _is_pow2(align):
            raise ValueError(f"alignment must be a power of two, got {align}")
        for i, (start, end) in enumerate(self._holes):
            addr = (start + align - 1) & -align
            if addr + size <= end:
                pieces = [(s, e) for s, e in ((start, addr), (addr + size, end)) if e > s]
                self._holes[i : i + 1] = pieces
                self._allocated[addr] = size
                return addr
        raise OutOfMemoryError(
            f"no free region of {size} bytes aligned to {align} "
            f"({self.free_bytes} bytes free in [{self._lo:#x}, {self._hi:#x}))"
        )

    def free(self, addr: int) -> None:
        size = self._allocated.pop(addr, None)
        if size is None:
            raise ValueError(f"free of {addr:#x}, which is not a live allocation")
        insort(self._holes, (addr, addr + size))
        self._coalesce()

    def _coalesce(self) -> None:
        merged: list[tuple[int, int]] = []
        for start, end in self._holes:
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        self._holes = merged

    def owner(self, addr: int) -> Region | None:
        """The live allocation containing ``addr``, if any."""
        starts = sorted(self._allocated)
        i = bisect_right(starts, addr) - 1
        if i >= 0:
            region = Region(starts[i], self._allocated[starts[i]])
            if addr < region.end:
                return region
        return None


class WriteWatch:
    """Notification of writes touching ``[lo, hi)`` of host memory.

    ``await watch.wait()`` returns as soon as at least one write touched the
    range since the previous ``wait()`` returned (or since the watch was made),
    so the usual driver loop cannot miss a completion::

        with mem.watch(cpl_ring, cpl_ring + ring_bytes) as watch:
            while not ring.poll():
                await watch.wait()
    """

    def __init__(self, memory: HostMemory, lo: int, hi: int) -> None:
        self._memory = memory
        self.lo = lo
        self.hi = hi
        self.writes = 0  # writes seen since creation
        self.last: Region | None = None  # range of the most recent write
        self.woken = False  # wake() was called: a waiter was released without a write
        self._event = Event()

    def __enter__(self) -> WriteWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending(self) -> bool:
        """A write happened that no ``wait()`` has consumed yet."""
        return self._event.is_set()

    async def wait(self) -> Region | None:
        """Wait for (or consume an already-seen) write to the range; returns its range."""
        if not self._event.is_set():
            await self._event.wait()
        self._event.clear()
        assert self.last is not None or self.woken
        return self.last

    def wake(self) -> None:
        """Release a waiter without a write (a watchdog giving up on it); sets ``woken``."""
        self.woken = True
        self._event.set()

    def close(self) -> None:
        self._memory._unwatch(self)

    def _hit(self, lo: int, hi: int) -> None:
        self.writes += 1
        self.last = Region(lo, hi - lo)
        self._event.set()

    def __repr__(self) -> str:
        return f"WriteWatch([{self.lo:#x}, {self.hi:#x}), writes={self.writes})"


class WatchObserver(Protocol):
    """Told when a watch opens or closes (tb/host/hdl_bus.py mirrors the watched ranges
    for the HDL host bus, which writes memory without Python)."""

    def watch_added(self, w: WriteWatch) -> None: ...

    def watch_removed(self, w: WriteWatch) -> None: ...


class HostMemory:
    """Host physical memory of ``size`` bytes at PA 0, plus an allocator and write watches.

    The allocator hands out addresses from ``[reserve_low, size)``; the low part
    (default one page) is never allocated, so a DMA to address 0 is always a bug
    the test can see.
    """

    def __init__(self, size: int, *, reserve_low: int = PAGE_SIZE) -> None:
        if size <= 0:
            raise ValueError(f"memory size must be positive, got {size}")
        self.size = size
        self.array = np.zeros(size, dtype=np.uint8)
        # The same bytes as a memoryview: slicing it costs a fraction of numpy's
        # per-call overhead, which counts for the drivers' many 16-byte entries.
        self._bytes = memoryview(self.array)
        self.allocator = RegionAllocator(min(reserve_low, size), size)
        self._watches: list[WriteWatch] = []
        self._watch_observers: list[WatchObserver] = []

    def add_watch_observer(self, obs: WatchObserver) -> None:
        """Tell ``obs`` of every watch opened or closed later, after the open ones now."""
        for w in self._watches:
            obs.watch_added(w)
        self._watch_observers.append(obs)

    def remove_watch_observer(self, obs: WatchObserver) -> None:
        if obs in self._watch_observers:
            self._watch_observers.remove(obs)

    # -- bounds -----------------------------------------------------------------------------

    def _check(self, addr: int, n: int) -> None:
        if addr < 0 or n < 0 or addr + n > self.size:
            raise MemoryAccessError(
                f"access [{addr:#x}, {addr + n:#x}) outside host memory [0, {self.size:#x})"
            )

    # -- bulk access ------------------------------------------------------------------------

    def read(self, addr: int, n: int) -> bytes:
        self._check(addr, n)
        return self._bytes[addr : addr + n].tobytes()

    def write(self, addr: int, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        """Write bytes; a numpy array of any dtype is written as its little-endian bytes."""
        if isinstance(data, np.ndarray):
            src = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
            n = src.size
            self._check(addr, n)
            self.array[addr : addr + n] = src
        else:
            n = len(data) if not isinstance(data, memoryview) else data.nbytes
            self._check(addr, n)
            self._bytes[addr : addr + n] = (
                data if not isinstance(data, memoryview) else data.cast("B")
            )
        if self._watches and n:
            self.notify(addr, addr + n)

    def write_each(self, addrs: np.ndarray, data: bytes) -> None:
        """Write the same ``data`` at every address in ``addrs``: one numpy scatter for a
        batch of buffers (a driver posting identical frames), not a call per buffer."""
        n = len(data)
        if not len(addrs) or not n:
            return
        lo, hi = int(addrs.min()), int(addrs.max())
        self._check(lo, hi - lo + n)
        src = np.frombuffer(data, dtype=np.uint8)
        self.array[addrs.astype(np.int64)[:, None] + np.arange(n)] = src
        if self._watches:
            for a in addrs.tolist():
                self.notify(a, a + n)

    def write_masked(self, addr: int, data: bytes, mask: np.ndarray) -> None:
        """Write the bytes of ``data`` whose ``mask`` entry is true (a byte-enable write)."""
        n = len(data)
        if len(mask) != n:
            raise ValueError(f"mask has {len(mask)} entries for {n} data bytes")
        self._check(addr, n)
        dst = self.array[addr : addr + n]
        np.copyto(dst, np.frombuffer(data, dtype=np.uint8), where=mask)
        if self._watches and n and mask.any():
            self.notify(addr, addr + n)

    def fill(self, addr: int, n: int, value: int = 0) -> None:
        self._check(addr, n)
        self.array[addr : addr + n] = value
        if self._watches and n:
            self.notify(addr, addr + n)

    def view(self, addr: int, n: int) -> np.ndarray:
        """A writable numpy view of ``[addr, addr + n)``; writes through it notify no watch."""
        self._check(addr, n)
        return self.array[addr : addr + n]

    # -- little-endian integers ---------------------------------------------------------------

    def read_uint(self, addr: int, nbytes: int) -> int:
        return int.from_bytes(self.read(addr, nbytes), "little")

    def write_uint(self, addr: int, nbytes: int, value: int) -> None:
        self.write(addr, value.to_bytes(nbytes, "little"))

    def read_u16(self, addr: int) -> int:
        return self.read_uint(addr, 2)

    def read_u32(self, addr: int) -> int:
        return self.read_uint(addr, 4)

    def read_u64(self, addr: int) -> int:
        return self.read_uint(addr, 8)

    def write_u16(self, addr: int, value: int) -> None:
        self.write_uint(addr, 2, value)

    def write_u32(self, addr: int, value: int) -> None:
        self.write_uint(addr, 4, value)

    def write_u64(self, addr: int, value: int) -> None:
        self.write_uint(addr, 8, value)

    # -- allocation -------------------------------------------------------------------------

    def alloc(self, size: int, align: int = 64, *, zero: bool = True) -> int:
        """Allocate ``size`` bytes aligned to ``align``; zeroed unless ``zero=False``."""
        addr = self.allocator.alloc(size, align)
        if zero:
            self.array[addr : addr + size] = 0
        return addr

    def free(self, addr: int) -> None:
        self.allocator.free(addr)

    # -- write watches ----------------------------------------------------------------------

    def watch(self, lo: int, hi: int) -> WriteWatch:
        """Watch writes that touch ``[lo, hi)``; close the watch when done."""
        if not 0 <= lo < hi <= self.size:
            raise ValueError(f"bad watch range [{lo:#x}, {hi:#x}) for memory of {self.size:#x}")
        w = WriteWatch(self, lo, hi)
        self._watches.append(w)
        for obs in self._watch_observers:
            obs.watch_added(w)
        return w

    def watches(self) -> Iterable[WriteWatch]:
        return tuple(self._watches)

    def notify(self, lo: int, hi: int) -> None:
        """Tell the watches overlapping ``[lo, hi)`` that it was written."""
        for w in self._watches:
            if w.lo < hi and lo < w.hi:
                w._hit(lo, hi)

    def _unwatch(self, w: WriteWatch) -> None:
        if w in self._watches:
            self._watches.remove(w)
            for obs in self._watch_observers:
                obs.watch_removed(w)
