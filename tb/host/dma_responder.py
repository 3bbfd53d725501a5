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
* Run-time faults (:meth:`AxiDmaResponder.inject_error`,
  :meth:`AxiDmaResponder.set_extra_latency`; the HDL bus has the same): the next
  ``count`` bursts of a function in one direction meeting an address range are
  answered SLVERR (logged with reason ``"injected"``, no translation, no IOMMU
  fault); an extra latency is added to each read accepted (AR handshake) and
  each write completed (last W beat) while it is set.

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
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.task import Task
from cocotb.triggers import Event, First, RisingEdge, Timer, Trigger

from tb.host.axi import (
    AXI_4K,
    AxiBurst,
    AxiProtocolError,
    AxiResp,
    AxiSlavePort,
    BurstLayout,
    burst_layout,
)
from tb.host.dma_path import (
    ANY_ADDRESS,
    INJECTED,
    BurstRefused,
    BusError,
    BusFaults,
    DmaPath,
    DmaResponderConfig,
    ErrorInjection,
    ResponderStats,
)
from tb.host.iommu import Iommu
from tb.host.memory import HostMemory
from tb.sigio import int_writer


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
        self.faults = BusFaults()
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

    def inject_error(
        self, func: int, *, write: bool = False, count: int = 1, span: tuple[int, int] = ANY_ADDRESS
    ) -> None:
        """Answer the next ``count`` read (or write) bursts of ``func`` whose covered range
        meets ``span`` ([lo, hi)) with SLVERR."""
        self.faults.inject(ErrorInjection(func, write, count, *span))

    @property
    def injections_left(self) -> int:
        """Injected errors not yet used."""
        return self.faults.left

    def clear_injections(self) -> None:
        self.faults.injections.clear()

    def set_extra_latency(self, read: int = 0, write: int = 0) -> None:
        """Extra cycles for the bursts accepted from now on (0, 0: none)."""
        self.faults.extra_read, self.faults.extra_write = max(read, 0), max(write, 0)

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
        lat = cfg.read_latency + self.faults.extra_read
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
            if self.faults.take(b.func, False, lay.lo, lay.hi):
                raise BurstRefused(AxiResp.SLVERR, INJECTED)
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
        except BurstRefused as err:
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
            due = now + self.config.write_latency + self.faults.extra_write - 1
            self._bq.append((due, b.axi_id, resp))

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
            if self.faults.take(b.func, True, lay.lo, lay.hi):
                raise BurstRefused(AxiResp.SLVERR, INJECTED)
            self.path.write(b.func, lay.lo, data, mask)
        except BurstRefused as err:
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
        self, now: int, b: _Burst, write: bool, lay: BurstLayout, err: BurstRefused
    ) -> None:
        self.errors.append(
            BusError(now, b.func, write, b.axi_id, b.addr, lay.hi - lay.lo, err.resp, err.reason)
        )
        self.log.info(
            "%s burst answered %s: %s", "write" if write else "read", err.resp.name, err.reason
        )
