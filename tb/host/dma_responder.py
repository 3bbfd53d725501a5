"""AXI4 slave that serves a DUT's DMA master from :class:`HostMemory` through the :class:`Iommu`.

The DUT's ``a*user`` carries the PCIe function number; every burst is translated
in that function's IOMMU domain. A refused burst is answered SLVERR (permission)
or DECERR (unmapped, no domain, outside memory) and logged in
:attr:`AxiDmaResponder.errors` (and the IOMMU's own fault log).

Timing model, in clock edges (cycles):

* Read latency ``L``: a read accepted at edge ``n`` (``arvalid && arready``
  sampled there) shows its first ``rvalid`` at edge ``n + L`` at the earliest;
  later only if the R channel is busy with another burst, the master holds
  ``rready`` low, or ``read_latency_jitter`` added cycles. Beats of one burst
  are never interleaved with another's.
* Write latency ``W``: a burst whose last W beat is taken at edge ``n`` shows
  ``bvalid`` at edge ``n + W`` at the earliest.

Speed: one coroutine serves all five channels. It runs on every clock edge only
while something moves (a beat is being presented, a write burst expects data, a
valid is waiting for a ready); otherwise it sleeps on the rising edge of the
valids it is ready to take and on a timer set to the next due response, so a
read spends about three Python wake-ups whatever its latency. A burst is read
from (or written to) numpy in one piece; beats are packed with
``int.from_bytes`` on slices.

Signals are sampled in the ``RisingEdge(clk)`` callback (values from before the
edge, as the DUT's flip-flops see them) and outputs are written in the same
callback, so they take effect after the edge, like a non-blocking assignment.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict, deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.task import Task
from cocotb.triggers import Event, First, RisingEdge, Timer, Trigger

from tb.host.iommu import FaultKind, Iommu, IommuFault
from tb.host.memory import HostMemory
from tb.sigio import int_reader, int_writer

AXI_4K = 4096


class AxiResp(IntEnum):
    OKAY = 0
    EXOKAY = 1
    SLVERR = 2
    DECERR = 3


class AxiBurst(IntEnum):
    FIXED = 0
    INCR = 1
    WRAP = 2


class AxiProtocolError(AssertionError):
    """The master broke an AXI4 rule (raised when ``strict``; it fails the cocotb test)."""


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


_REQUIRED = (
    "awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready",
    "wdata", "wlast", "wvalid", "wready",
    "bid", "bresp", "bvalid", "bready",
    "arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "arready",
    "rid", "rdata", "rresp", "rlast", "rvalid", "rready",
)  # fmt: skip
_OPTIONAL = ("awuser", "aruser", "wstrb")
# Signals the master drives: the ones the responder reads.
_INPUTS = (
    "awid", "awaddr", "awlen", "awsize", "awburst", "awuser", "awvalid",
    "wdata", "wstrb", "wlast", "wvalid", "bready",
    "arid", "araddr", "arlen", "arsize", "arburst", "aruser", "arvalid", "rready",
)  # fmt: skip


class PortReaders:
    """One fast reader per signal the master drives; absent optional ones read a default."""

    __slots__ = _INPUTS

    def __init__(self, sig: dict[str, Any], data_bytes: int) -> None:
        defaults = {"awuser": 0, "aruser": 0, "wstrb": (1 << data_bytes) - 1}
        for name in _INPUTS:
            if name in sig:
                setattr(self, name, int_reader(sig[name]))
            else:
                setattr(self, name, lambda v=defaults[name]: v)


class AxiSlavePort:
    """Handles of one AXI4 port, found by prefix (``m_axi`` -> ``dut.m_axi_awid`` ...).

    ``awuser``/``aruser`` (function number) and ``wstrb`` are optional: without
    them every access is function 0 and every strobe is set.
    """

    def __init__(self, dut: Any, prefix: str) -> None:
        missing = [n for n in _REQUIRED if not hasattr(dut, f"{prefix}_{n}")]
        if missing:
            raise AttributeError(
                f"AXI4 port '{prefix}' lacks signals: "
                + ", ".join(f"{prefix}_{n}" for n in missing)
            )
        self.prefix = prefix
        self.sig: dict[str, Any] = {n: getattr(dut, f"{prefix}_{n}") for n in _REQUIRED}
        for n in _OPTIONAL:
            if hasattr(dut, f"{prefix}_{n}"):
                self.sig[n] = getattr(dut, f"{prefix}_{n}")
        for n, handle in self.sig.items():  # plain attributes: fast in the per-edge path
            setattr(self, n, handle)
        self.data_bytes = len(self.sig["rdata"]) // 8
        if self.data_bytes * 8 != len(self.sig["rdata"]) or self.data_bytes & (self.data_bytes - 1):
            raise ValueError(f"{prefix}_rdata width {len(self.sig['rdata'])} is not 8 * 2**k bits")
        self.get = PortReaders(self.sig, self.data_bytes)

    def __getattr__(self, name: str) -> Any:  # only reached for names that are not signals
        raise AttributeError(f"AXI4 port '{self.__dict__.get('prefix')}' has no signal '{name}'")

    def has(self, name: str) -> bool:
        return name in self.sig


@dataclass(slots=True)
class _Burst:
    """One accepted AR or AW request."""

    axi_id: int
    addr: int
    beats: int
    size: int  # log2 bytes per beat
    burst: int
    func: int
    accepted: int  # edge of the address handshake
    due: int = 0  # reads: edge whose callback may drive the first beat
    data: list[int] = field(default_factory=list)  # writes: beats received
    strb: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Layout:
    """Where the beats of a burst sit: the covered address range and each beat's bytes."""

    lo: int  # first byte address of the covered range
    hi: int  # one past the last
    fast: bool  # full-width INCR: beat i is bytes [lo + i*DB, lo + (i+1)*DB)
    beats: tuple[tuple[int, int, int], ...] = ()  # slow path: (offset in range, lane, nbytes)


def burst_layout(addr: int, beats: int, size: int, burst: int, data_bytes: int) -> _Layout:
    """Address layout of an AXI4 burst (AXI spec A3.4.1) on a ``data_bytes``-wide bus."""
    nb = 1 << size
    base = addr & -nb  # aligned to the transfer size
    if burst == AxiBurst.INCR and nb == data_bytes:
        return _Layout(base, base + beats * nb, True)
    if burst == AxiBurst.FIXED:
        lo, hi = base, base + nb
        addrs = [addr] * beats
    elif burst == AxiBurst.WRAP:
        total = beats * nb
        lo = addr & -total
        hi = lo + total
        addrs = [lo + ((base - lo) + i * nb) % total for i in range(beats)]
    else:  # INCR, narrow
        lo, hi = base, base + beats * nb
        addrs = [addr] + [base + i * nb for i in range(1, beats)]
    lanes = []
    for a in addrs:
        lane = a % data_bytes
        end = ((a & -nb) % data_bytes) + nb
        lanes.append((a - lo, lane, end - lane))
    return _Layout(lo, hi, False, tuple(lanes))


class _BurstRefused(Exception):
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
            raise _BurstRefused(resp, str(fault)) from None
        for pa, ln in segs:
            if pa < 0 or pa + ln > self.memory.size:
                raise _BurstRefused(
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


class FirstOf:
    """Wait for the first of several triggers, cheaply.

    cocotb's ``First`` starts a Task per trigger: about 40 us per call here,
    against 3 us for awaiting one trigger. This registers one plain callback per
    trigger that sets an Event (about 6 us for three triggers), through
    ``Trigger._register``, the cocotb 2.1 hook that Tasks themselves use to wait on
    a trigger. Where that hook is missing (another cocotb) it falls back to ``First``.
    """

    def __init__(self) -> None:
        self._event = Event()
        self._fast = hasattr(Trigger, "_register") and hasattr(Trigger, "_deregister")

    async def wait(self, triggers: list[Trigger]) -> None:
        if len(triggers) == 1:
            await triggers[0]
            return
        if not self._fast:
            await First(*triggers)
            return
        event = self._event
        event.clear()
        fired: set[int] = set()

        def fire(i: int) -> None:
            fired.add(i)
            event.set()

        handles = [t._register(lambda i=i: fire(i)) for i, t in enumerate(triggers)]
        try:
            await event.wait()
        finally:  # also when the waiting task is cancelled: leave no callback behind
            for i, h in enumerate(handles):
                if i not in fired:
                    h.cancel()


class AxiDmaResponder:
    """AXI4 slave answering a DUT's DMA master from host memory, through the IOMMU.

    ``AxiDmaResponder(dut, "m_axi", dut.clk, memory, iommu, DmaResponderConfig(...),
    rng=random.Random(seed))`` starts serving at once. The clock must have a
    constant period (it is measured on the first two edges, during which the
    readies stay low). :meth:`reset` drops everything in flight.
    """

    def __init__(
        self,
        dut: Any,
        prefix: str,
        clock: Any,
        memory: HostMemory,
        iommu: Iommu,
        config: DmaResponderConfig | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.port = AxiSlavePort(dut, prefix)
        self.clock = clock
        self.config = config or DmaResponderConfig()
        self.path = DmaPath(memory, iommu)
        self.rng = rng or random.Random(0)
        self.log = logging.getLogger(f"cocotb.host.{prefix}")
        self.stats = ResponderStats()
        self.errors: list[BusError] = []
        self.protocol_violations: list[str] = []
        self._db = self.port.data_bytes
        self._strb_all = (1 << self._db) - 1
        self._get = self.port.get
        self._first_of = FirstOf()
        self._put_rdata = int_writer(self.port.rdata)  # once per beat: the fast path
        self._t0 = 0
        self._period = 0
        self._clear()
        self._drive_idle()
        self._task: Task[None] = cocotb.start_soon(self._run())

    # -- public ---------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing accepted and not yet answered."""
        return not (self._reads or self._r_cur or self._writes or self._bq or self._b_busy)

    @property
    def outstanding_reads(self) -> int:
        return len(self._reads) + (self._r_cur is not None)

    @property
    def outstanding_writes(self) -> int:
        return self._w_outstanding

    def reset(self) -> None:
        """Drop every burst in flight and start over (call while the bus is in reset)."""
        self._task.cancel()
        self._clear()
        self._drive_idle()
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        self._task.cancel()

    # -- state ----------------------------------------------------------------------------

    def _clear(self) -> None:
        self._reads: list[_Burst] = []  # accepted, not started
        self._r_cur: _Burst | None = None  # burst being returned
        self._r_beats: list[int] = []
        self._r_idx = 0  # beat of _r_cur currently presented
        self._writes: deque[_Burst] = deque()  # accepted AW; head is receiving data
        self._w_outstanding = 0
        self._bq: deque[tuple[int, int, AxiResp]] = deque()  # (due edge, bid, bresp)
        self._b_busy = False  # a B response is presented and not yet taken
        self._r_shown = -1  # beat of _r_cur on the bus now
        # What this responder drives now.
        self._arready = self._awready = self._wready = False
        self._rvalid = self._bvalid = False
        self._rid = self._rresp = self._rlast = -1
        self._bid = self._bresp_drv = -1

    def _drive_idle(self) -> None:
        p = self.port
        for name in ("arready", "awready", "wready", "rvalid", "rlast", "bvalid"):
            p.sig[name].value = 0
        for name in ("rid", "rresp", "bid", "bresp", "rdata"):
            p.sig[name].value = 0

    # -- main loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        edge = RisingEdge(self.clock)
        await edge
        t0 = get_sim_time()
        await edge
        self._period = get_sim_time() - t0
        self._t0 = t0
        now = 1
        step = self._step
        while True:
            if step(now):
                await edge
                now += 1
            else:
                await self._sleep(now)
                now = self._cycle()

    def _cycle(self) -> int:
        return (get_sim_time() - self._t0 + self._period // 2) // self._period

    def _step(self, now: int) -> bool:
        """Process clock edge ``now``; returns whether the next edge needs attention too."""
        g = self._get
        self.stats.edges += 1
        # Handshakes that happened at this edge.
        rready = g.rready() == 1
        if self._rvalid and rready:
            self._r_beat_taken(now)
        bready = g.bready() == 1
        if self._bvalid and bready:
            self._bvalid_taken()
        ar_seen = g.arvalid() == 1
        if ar_seen and self._arready:
            self._accept_ar(now)
        aw_seen = g.awvalid() == 1
        if aw_seen and self._awready:
            self._accept_aw(now)
        w_seen = g.wvalid() == 1
        if w_seen and self._wready:
            self._take_w(now)
        # Outputs for the next edge.
        self._drive_r(now)
        self._drive_b(now)
        listen_ar = self.outstanding_reads < self.config.max_outstanding_reads
        listen_aw = self._w_outstanding < self.config.max_outstanding_writes
        listen_w = bool(self._writes)
        # A response the master stalls (ready low) waits for its ready to rise, asleep.
        awake = (
            (self._rvalid and rready)
            or (self._bvalid and bready)
            or (ar_seen and listen_ar)
            or (aw_seen and listen_aw)
            or (w_seen and listen_w)
        )
        if awake and self.config.ready_probability < 1.0:
            prob = self.config.ready_probability
            rnd = self.rng.random
            listen_ar = listen_ar and rnd() < prob
            listen_aw = listen_aw and rnd() < prob
            listen_w = listen_w and rnd() < prob
        sig = self.port.sig
        if listen_ar != self._arready:
            self._arready = listen_ar
            sig["arready"].value = listen_ar
        if listen_aw != self._awready:
            self._awready = listen_aw
            sig["awready"].value = listen_aw
        if listen_w != self._wready:
            self._wready = listen_w
            sig["wready"].value = listen_w
        return awake

    async def _sleep(self, now: int) -> None:
        """Wait for a valid we are ready for (or a ready we stall on) to rise, or a due response."""
        p = self.port
        triggers: list[Trigger] = []
        if self._rvalid:
            triggers.append(RisingEdge(p.rready))
        if self._bvalid:
            triggers.append(RisingEdge(p.bready))
        if self._arready:
            triggers.append(RisingEdge(p.arvalid))
        if self._awready:
            triggers.append(RisingEdge(p.awvalid))
        if self._wready:
            triggers.append(RisingEdge(p.wvalid))
        due = self._next_due()
        if due is not None:
            if due <= now + 1:
                await RisingEdge(self.clock)
                return
            wake_at = self._t0 + due * self._period - self._period // 2
            triggers.append(Timer(wake_at - get_sim_time(), unit="step"))
        if not triggers:  # cannot happen with consistent state; stay safe and tick
            await RisingEdge(self.clock)
            return
        await self._first_of.wait(triggers)
        self.stats.wakeups += 1
        await RisingEdge(self.clock)

    def _next_due(self) -> int | None:
        dues = []
        if self._r_cur is None and self._reads:
            dues.append(min(b.due for b in self._eligible_reads()))
        if not self._b_busy and self._bq:
            dues.append(self._bq[0][0])
        return min(dues) if dues else None

    # -- read channel ---------------------------------------------------------------------

    def _accept_ar(self, now: int) -> None:
        g = self._get
        cfg = self.config
        lat = cfg.read_latency
        if cfg.read_latency_jitter:
            lat += self.rng.randint(0, cfg.read_latency_jitter)
        b = _Burst(
            axi_id=g.arid(),
            addr=g.araddr(),
            beats=g.arlen() + 1,
            size=g.arsize(),
            burst=g.arburst(),
            func=g.aruser(),
            accepted=now,
            due=now + lat - 1,
        )
        self._check_burst(b, "AR")
        self._reads.append(b)

    def _eligible_reads(self) -> list[_Burst]:
        """Bursts that may go next: the oldest overall, or with out_of_order the oldest per ID."""
        if not self.config.out_of_order:
            return self._reads[:1]
        seen: set[int] = set()
        out = []
        for b in self._reads:
            if b.axi_id not in seen:
                seen.add(b.axi_id)
                out.append(b)
        return out

    def _r_beat_taken(self, now: int) -> None:
        self._r_idx += 1
        b = self._r_cur
        assert b is not None
        if self._r_idx == b.beats:
            self._r_cur = None

    def _drive_r(self, now: int) -> None:
        if self._r_cur is None:
            b = self._pick_read(now)
            if b is None:
                if self._rvalid:
                    self._rvalid = False
                    self.port.rvalid.value = 0
                return
            self._start_read(b, now)
        elif self._rvalid and self._r_shown == self._r_idx:
            return  # beat still waiting for rready
        p = self.port
        i = self._r_idx
        self._put_rdata(self._r_beats[i])
        last = int(i == len(self._r_beats) - 1)
        if last != self._rlast:
            self._rlast = last
            p.rlast.value = last
        self._r_shown = i
        if not self._rvalid:
            self._rvalid = True
            p.rvalid.value = 1

    def _pick_read(self, now: int) -> _Burst | None:
        ready = [b for b in self._eligible_reads() if b.due <= now]
        if not ready:
            return None
        b = ready[0] if len(ready) == 1 else self.rng.choice(ready)
        self._reads.remove(b)
        return b

    def _start_read(self, b: _Burst, now: int) -> None:
        lay = burst_layout(b.addr, b.beats, b.size, b.burst, self._db)
        st = self.stats.per_func[b.func]
        st.read_bursts += 1
        st.read_beats += b.beats
        db = self._db
        try:
            buf = self.path.read(b.func, lay.lo, lay.hi - lay.lo)
            resp = AxiResp.OKAY
            if lay.fast:
                frm = int.from_bytes
                beats = [frm(buf[i : i + db], "little") for i in range(0, len(buf), db)]
                st.read_bytes += lay.hi - b.addr
            else:
                beats = []
                for off, lane, n in lay.beats:
                    beats.append(int.from_bytes(buf[off : off + n], "little") << (8 * lane))
                    st.read_bytes += n
        except _BurstRefused as err:
            beats = [0] * b.beats
            resp = err.resp
            st.read_errors += 1
            self._log_error(now, b, False, lay, err)
        self._r_cur = b
        self._r_beats = beats
        self._r_idx = 0
        self._r_shown = -1
        p = self.port
        if b.axi_id != self._rid:
            self._rid = b.axi_id
            p.rid.value = b.axi_id
        if resp != self._rresp:
            self._rresp = resp
            p.rresp.value = int(resp)

    # -- write channels -------------------------------------------------------------------

    def _accept_aw(self, now: int) -> None:
        g = self._get
        b = _Burst(
            axi_id=g.awid(),
            addr=g.awaddr(),
            beats=g.awlen() + 1,
            size=g.awsize(),
            burst=g.awburst(),
            func=g.awuser(),
            accepted=now,
        )
        self._check_burst(b, "AW")
        self._writes.append(b)
        self._w_outstanding += 1

    def _take_w(self, now: int) -> None:
        g = self._get
        b = self._writes[0]
        b.data.append(g.wdata())
        b.strb.append(g.wstrb())
        last = g.wlast() == 1
        n = len(b.data)
        if last != (n == b.beats):
            self._violation(
                f"W beat {n} of {b.beats} (awid {b.axi_id:#x} awaddr {b.addr:#x}) "
                f"has wlast={int(last)}"
            )
        if n == b.beats or last:
            self._writes.popleft()
            resp = self._finish_write(b, now)
            self._bq.append((now + self.config.write_latency - 1, b.axi_id, resp))

    def _finish_write(self, b: _Burst, now: int) -> AxiResp:
        lay = burst_layout(b.addr, b.beats, b.size, b.burst, self._db)
        st = self.stats.per_func[b.func]
        st.write_bursts += 1
        st.write_beats += len(b.data)
        db = self._db
        full = self._strb_all
        n = lay.hi - lay.lo
        data: bytes
        mask: np.ndarray | None
        if lay.fast:
            data = b"".join(d.to_bytes(db, "little") for d in b.data)
            head = b.addr - lay.lo  # lanes of beat 0 below the start address
            if head == 0 and all(s == full for s in b.strb) and len(b.data) == b.beats:
                mask = None
            else:
                strb = b"".join(s.to_bytes(db // 8, "little") for s in b.strb)
                mask = np.unpackbits(np.frombuffer(strb, np.uint8), bitorder="little").view(bool)
                mask[:head] = False
                if len(data) < n:  # early wlast: the missing beats write nothing
                    data += bytes(n - len(data))
                    mask = np.concatenate([mask, np.zeros(n - len(mask), bool)])
        else:
            buf = bytearray(n)
            mask = np.zeros(n, bool)
            for (off, lane, cnt), d, s in zip(lay.beats, b.data, b.strb, strict=False):
                buf[off : off + cnt] = d.to_bytes(db, "little")[lane : lane + cnt]
                bits = (s >> lane) & ((1 << cnt) - 1)
                mask[off : off + cnt] = np.unpackbits(
                    np.frombuffer(bits.to_bytes((cnt + 7) // 8, "little"), np.uint8),
                    bitorder="little",
                )[:cnt].view(bool)
            data = bytes(buf)
        try:
            self.path.write(b.func, lay.lo, data, mask)
        except _BurstRefused as err:
            st.write_errors += 1
            self._log_error(now, b, True, lay, err)
            return err.resp
        st.write_bytes += n if mask is None else int(np.count_nonzero(mask))
        return AxiResp.OKAY

    def _bvalid_taken(self) -> None:
        self._b_busy = False
        self._w_outstanding -= 1

    def _drive_b(self, now: int) -> None:
        if self._b_busy:
            return
        p = self.port
        if self._bq and self._bq[0][0] <= now:
            _, bid, resp = self._bq.popleft()
            if bid != self._bid:
                self._bid = bid
                p.bid.value = bid
            if resp != self._bresp_drv:
                self._bresp_drv = resp
                p.bresp.value = int(resp)
            self._b_busy = True
            if not self._bvalid:
                self._bvalid = True
                p.bvalid.value = 1
        elif self._bvalid:
            self._bvalid = False
            p.bvalid.value = 0

    # -- checks and logs --------------------------------------------------------------------

    def _check_burst(self, b: _Burst, ch: str) -> None:
        where = f"{ch} id {b.axi_id:#x} addr {b.addr:#x} len {b.beats - 1} size {b.size}"
        if (1 << b.size) > self._db:
            self._violation(f"{where}: size exceeds the {self._db}-byte data bus")
        if b.burst == AxiBurst.INCR:
            end = (b.addr & -(1 << b.size)) + (b.beats << b.size)
            if (b.addr // AXI_4K) != ((end - 1) // AXI_4K):
                self._violation(f"{where}: INCR burst crosses a 4 KiB boundary")
        elif b.burst == AxiBurst.WRAP:
            if b.beats not in (2, 4, 8, 16) or b.addr & ((1 << b.size) - 1):
                self._violation(f"{where}: WRAP burst needs len 2/4/8/16 and an aligned address")
        elif b.burst != AxiBurst.FIXED:
            self._violation(f"{where}: reserved burst type {b.burst}")

    def _violation(self, msg: str) -> None:
        self.protocol_violations.append(msg)
        if self.config.strict:
            raise AxiProtocolError(f"{self.port.prefix}: {msg}")
        self.log.warning("AXI protocol violation: %s", msg)

    def _log_error(
        self, now: int, b: _Burst, write: bool, lay: _Layout, err: _BurstRefused
    ) -> None:
        self.errors.append(
            BusError(now, b.func, write, b.axi_id, b.addr, lay.hi - lay.lo, err.resp, err.reason)
        )
        self.log.info(
            "%s burst answered %s: %s", "write" if write else "read", err.resp.name, err.reason
        )
