"""What both host buses share (the Python AXI responder, tb/host/dma_responder.py,
and the HDL host bus, tb/host/hdl_bus.py): their configuration, traffic
statistics and error records, and host memory as a function sees it through the
IOMMU (:class:`DmaPath`), which refuses a burst with the AXI response to give.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from tb.host.axi import AxiResp
from tb.host.iommu import FaultKind, Iommu, IommuFault
from tb.host.memory import HostMemory


@dataclass(frozen=True)
class DmaResponderConfig:
    """Timing and flow-control knobs of :class:`AxiDmaResponder`."""

    read_latency: int = 125  # edges from AR handshake to first rvalid (benchmark figure)
    read_latency_jitter: int = 0  # extra 0..jitter cycles per read burst, uniformly random
    write_latency: int = 1  # edges from last W beat to bvalid
    # Accepted read bursts whose last beat is not yet taken. 256 = what a PCIe endpoint with
    # 8-bit tags may have outstanding (PCIe Base Specification 4.0 §2.2.6.2; 10-bit tags,
    # new in 4.0, allow 768): a Gen4/Gen5 host takes at least this many (docs/PERFORMANCE.md).
    max_outstanding_reads: int = 256
    max_outstanding_writes: int = 32  # accepted write bursts whose B is not yet taken
    out_of_order: bool = False  # return due bursts of different IDs in random order
    ready_probability: float = 1.0  # < 1.0: a*ready/wready randomly low while the bus is busy
    strict: bool = True  # raise AxiProtocolError on AXI rule violations (else log them)

    def __post_init__(self) -> None:
        if self.read_latency < 1 or self.write_latency < 1:
            raise ValueError("read_latency and write_latency must be at least 1 cycle")
        if self.read_latency_jitter < 0:
            raise ValueError("read_latency_jitter must be >= 0")
        if self.max_outstanding_reads < 1 or self.max_outstanding_writes < 1:
            raise ValueError("max outstanding reads/writes must be at least 1")
        if not 0.0 < self.ready_probability <= 1.0:
            raise ValueError("ready_probability must be in (0, 1]")


@dataclass
class FunctionStats:
    """Traffic of one PCIe function. Bytes count only the bytes the burst transfers."""

    read_bursts: int = 0
    read_beats: int = 0
    read_bytes: int = 0
    write_bursts: int = 0
    write_beats: int = 0
    write_bytes: int = 0
    read_errors: int = 0
    write_errors: int = 0

    def __iadd__(self, other: FunctionStats) -> FunctionStats:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass
class ResponderStats:
    """Per-function traffic and how often the responder's coroutine ran."""

    per_func: defaultdict[int, FunctionStats] = field(
        default_factory=lambda: defaultdict(FunctionStats)
    )
    edges: int = 0  # clock edges the coroutine processed
    wakeups: int = 0  # times it woke from sleep

    def total(self) -> FunctionStats:
        out = FunctionStats()
        for s in self.per_func.values():
            out += s
        return out


@dataclass(frozen=True)
class BusError:
    """A burst answered with an error response."""

    cycle: int
    func: int
    write: bool
    axi_id: int
    addr: int
    length: int  # bytes the burst covers
    resp: AxiResp
    reason: str


INJECTED = "injected"  # BusError.reason of an injected error response (no translation ran)
ANY_ADDRESS = (0, 1 << 64)


@dataclass
class ErrorInjection:
    """The next ``count`` bursts of ``func`` in one direction whose covered range meets
    ``[lo, hi)`` are answered SLVERR."""

    func: int
    write: bool
    count: int
    lo: int = ANY_ADDRESS[0]
    hi: int = ANY_ADDRESS[1]


class BusFaults:
    """Run-time faults of a host bus (the Python responder's; sim/dpi/host_mem.cpp keeps
    the HDL bus's): injected error responses and an extra latency for the bursts
    accepted while it is set (a read at its AR handshake, a write at its last W beat)."""

    def __init__(self) -> None:
        self.injections: list[ErrorInjection] = []
        self.extra_read = 0
        self.extra_write = 0

    def inject(self, inj: ErrorInjection) -> None:
        if inj.count > 0 and inj.lo < inj.hi:
            self.injections.append(inj)

    def take(self, func: int, write: bool, lo: int, hi: int) -> bool:
        """Whether an injected error answers this burst (one of its count used up)."""
        for inj in self.injections:
            if inj.func == func and inj.write == write and inj.lo < hi and lo < inj.hi:
                inj.count -= 1
                if not inj.count:
                    self.injections.remove(inj)
                return True
        return False

    @property
    def left(self) -> int:
        return sum(i.count for i in self.injections)


class BurstRefused(Exception):
    """The IOMMU or the memory refused a burst; ``resp`` is the AXI answer."""

    def __init__(self, resp: AxiResp, reason: str) -> None:
        super().__init__(reason)
        self.resp = resp
        self.reason = reason


class DmaPath:
    """Host memory as one function sees it through the IOMMU: gather reads, scatter writes."""

    def __init__(self, memory: HostMemory, iommu: Iommu) -> None:
        self.memory = memory
        self.iommu = iommu

    def _segments(self, func: int, addr: int, n: int, write: bool) -> list[tuple[int, int]]:
        try:
            segs = self.iommu.translate(func, addr, n, write)
        except IommuFault as fault:
            kind = fault.record.kind
            resp = AxiResp.SLVERR if kind is FaultKind.PERMISSION else AxiResp.DECERR
            raise BurstRefused(resp, str(fault)) from None
        for pa, ln in segs:
            if pa < 0 or pa + ln > self.memory.size:
                raise BurstRefused(
                    AxiResp.DECERR,
                    f"func {func} iova {addr:#x}+{n} -> pa {pa:#x}+{ln} outside host memory",
                )
        return segs

    def read(self, func: int, addr: int, n: int) -> bytes:
        segs = self._segments(func, addr, n, False)
        mem = self.memory
        if len(segs) == 1:
            return mem.read(*segs[0])
        return b"".join(mem.read(pa, ln) for pa, ln in segs)

    def write(self, func: int, addr: int, data: bytes, mask: np.ndarray | None) -> None:
        segs = self._segments(func, addr, len(data), True)
        mem = self.memory
        off = 0
        for pa, ln in segs:
            chunk = data[off : off + ln]
            if mask is None:
                mem.write(pa, chunk)
            else:
                mem.write_masked(pa, chunk, mask[off : off + ln])
            off += ln
