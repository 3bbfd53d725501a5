"""Directed pyuvm tests of vf_dma: every error case, queue reset and FLR (issue #3).

All run on the environment of ``tb/uvm/vf_dma_env.py`` with IOMMU page tables
(fault pages: read-only, write-only, unmapped) and the host bus access log.

``VfDmaErrorTest``: each error case of ARCHITECTURE.md §3.1 injected on queue
pair 1 while queue pair 0 carries random TX and RX traffic through the
byte-for-byte scoreboard. Per case: the documented code in ``*Q_STATUS``,
``FUNC_STATUS.ERROR``, exactly one message on the error vector although the
queue's own vector is moderated to 65535 cycles, no byte of the bad
descriptor's buffer read or written and no frame of the errored queue on the
stream after the error, every bus request inside the rings and buffers of the
two queues (or the case's fault page), queue 0 moving frames during and after
the case, and a clean queue reset. Bounded waits fail with a message. One case
checks that the queue's mask holds the error interrupt back until unmasked.

``VfDmaQueueResetTest``: TX queue 1 disabled while its last frame's reads are
being issued (then RX queue 1 inside a jumbo frame, with the flow hash): no
descriptor read or write of the queue later than 4 cycles after the ``CTRL``
write and TX buffer reads only of the frame being issued (<= 19 bursts),
``BUSY`` drains, abandoned = posted - completed (RX: sent = completed +
abandoned + dropped), the queue's reset registers at 0, the queue runs again;
queue 0 moves frames throughout. Then, alone, a TX reset while a completion
is being coalesced: that completion is written, the rest counted abandoned.

``VfDmaFlrTest``: FLR with both queue pairs loaded: the same bounds for every
request, abandoned/dropped accounting per queue, then the whole function space
read back against the documented reset values of ``tb/ref/regmap.py``.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import cocotb
import pyuvm
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, Timer, with_timeout
from pyuvm import uvm_sequence

from tb.host.interrupts import IrqMonitor
from tb.ref.layouts import ENTRY_BYTES, RxDesc, TxDesc
from tb.ref.regmap import (
    FUNC_STATUS_BUSY,
    FUNC_STATUS_ERROR,
    IRQ_CTRL_MASK,
    QSTATUS_BUSY,
    QSTATUS_ERROR,
    Func,
    QErr,
    Queue,
    RingFmt,
    err_vector,
    func_reset_values,
    irq_mod,
    queue_reg,
)
from tb.ref.vf_dma_model import rx_flow_queue
from tb.uvm.vf_dma_env import (
    Access,
    RxFrameItem,
    TxFrameItem,
    TxFrameItemData,
    VfDmaEnvConfig,
    ring_fmt_from_env,
)
from tb.vf_driver.queues import RxQueue, TxQueue
from tb.vf_driver.upt_queues import UptRxQueue
from tests.cocotb_vf_dma_uvm import FUNC, VfDmaBaseTest

# bounds documented in ARCHITECTURE.md §3.1 "Queue reset and FLR", in cycles after the write
STOP_DESC_READS = 4
STOP_WRITES = 4
# TX buffer reads: only the rest of the frame being issued, at most MAX_TX_BUFS buffers plus
# one split per 4 KiB page a 9018-byte frame can cross; in request slots, not cycles (each
# waits for a slot of the TX_INFLIGHT tracking FIFO, i.e. for earlier read data to return)
STOP_TX_DATA_BURSTS = 16 + 3
WAIT = 20_000  # cycles any bounded wait allows before it calls the engine hung
PROGRESS = 3  # frames queue 0 must move in each direction, during and after a case
BEAT = 64  # rounding of regions (a bus request covers whole beats)


class HangError(AssertionError):
    """A bounded wait ran out: the engine (or the test's traffic) stopped moving."""


async def bounded(
    cond: Callable[[], bool],
    clk,
    what: str | Callable[[], str],
    limit: int = WAIT,
    step: int = 16,
) -> None:
    """Wait until ``cond()`` holds, at most ``limit`` cycles; ``what`` names what stalled."""
    for _ in range(limit // step):
        if cond():
            return
        await ClockCycles(clk, step)
    if not cond():
        raise HangError(f"no progress within {limit} cycles: {what() if callable(what) else what}")


# ------------------------------------------------------------------ traffic on queue 0


class BackgroundTx(uvm_sequence):
    """Random TX frames (60..1518 bytes, 1..4 buffers, any alignment) on one queue until stopped."""

    def __init__(self, name: str, rng: random.Random, queue: int) -> None:
        super().__init__(name)
        self.rng, self.queue, self.stop = rng, queue, False

    async def body(self) -> None:
        while not self.stop:
            item = TxFrameItem()
            await self.start_item(item)
            rng = self.rng
            size = rng.randint(60, 1518)
            nb = rng.randint(1, 4)
            cuts = sorted(rng.sample(range(1, size), nb - 1))
            edges = [0, *cuts, size]
            split = [edges[i + 1] - edges[i] for i in range(nb)]
            vlan = rng.randrange(1 << 16) if rng.random() < 0.3 else None
            item.d = TxFrameItemData(
                self.queue, rng.randbytes(size), split, [rng.randrange(64) for _ in split], vlan
            )
            await self.finish_item(item)


class BackgroundRx(uvm_sequence):
    """Random RX frames (60..1518 bytes) steered to ``queue`` until stopped."""

    def __init__(self, name: str, rng: random.Random, queue: int, nq: int, hash_en: bool) -> None:
        super().__init__(name)
        self.rng, self.queue, self.nq, self.hash_en, self.stop = rng, queue, nq, hash_en, False

    async def body(self) -> None:
        while not self.stop:
            item = RxFrameItem()
            await self.start_item(item)
            while True:
                item.randomize_with(self.rng)
                item.d.data = item.d.data[: self.rng.randint(60, 1518)]
                if rx_flow_queue(item.d.data, self.nq, self.hash_en) == self.queue:
                    break
            await self.finish_item(item)


def frame_to(rng: random.Random, q: int, nq: int, hash_en: bool, size: int) -> bytes:
    """A random IPv4/UDP frame of ``size`` bytes that the flow hash steers to queue ``q``."""
    while True:
        item = RxFrameItem()
        item.randomize_with(rng)
        data = (item.d.data + rng.randbytes(size))[:size]
        if rx_flow_queue(data, nq, hash_en) == q:
            return data


def send_aside(env, frames: list[bytes]) -> Callable[[], bool]:
    """Send RX frames around the scoreboard and credit; returns "all of them went in".

    Paced below the write channel's rate (idle cycles before each frame), so the
    RX FIFO never overflows (an overflow drop is charged to queue 0, §3.1).
    """
    sent = []
    for f in frames:
        env.scoreboard.aside.add(f)
        sent.append(env.rx_agent.src.send_nowait(f, 0, idle_before=len(f) // 128 + 4))
    return lambda: all(s.last_cycle >= 0 for s in sent)


# ------------------------------------------------------------------ regions and the access log


@dataclass
class Regions:
    """Address ranges [lo, hi) (rounded out to beats) a check allows or forbids."""

    spans: list[tuple[int, int]] = field(default_factory=list)

    def add(self, lo: int, n: int) -> None:
        self.spans.append((lo & -BEAT, -(-(lo + n) // BEAT) * BEAT))

    def covers(self, a: Access) -> bool:
        return any(lo <= a.addr and a.addr + a.nbytes <= hi for lo, hi in self.spans)

    def touched_by(self, a: Access) -> bool:
        return any(a.overlaps(lo, hi) for lo, hi in self.spans)


def tx_regions(r: Regions, txq: TxQueue) -> None:
    ring = txq.ring
    r.add(ring.desc_base, ring.size * ENTRY_BYTES)
    r.add(ring.cpl_base, ring.size * ENTRY_BYTES)
    for b in txq._bufs:
        r.add(b, txq.buf_bytes)


def rx_ring_regions(r: Regions, rxq: RxQueue | UptRxQueue) -> None:
    for lo, n in rxq.ring_regions():
        r.add(lo, n)


def rx_regions(r: Regions, rxq: RxQueue | UptRxQueue) -> None:
    for lo, n in rxq.dma_regions():
        r.add(lo, n)


# ------------------------------------------------------------------ common base


class DirectedBase(VfDmaBaseTest):
    ERR_Q = 1  # the queue pair errors are injected on / reset
    GOOD_Q = 0  # the queue pair that must keep moving

    def make_cfg(self, nq: int, hash_ok: bool) -> VfDmaEnvConfig:
        assert nq >= 2, "the directed tests need two queue pairs"
        return VfDmaEnvConfig(
            func=FUNC,
            num_queues=nq,
            seed=self.seed,
            rx_hash=hash_ok,
            iommu_paged=True,
            access_log=True,
            read_latency=40,
            read_latency_jitter=40,
            bus_ready_probability=1.0,  # the stop bounds are stated for a host that accepts at once
            max_outstanding_reads=256,
            tx_pause_probability=0.1,
            tx_ring_log2=6,
            rx_ring_log2=6,
            ring_fmt=ring_fmt_from_env(),
        )

    async def setup(self, background: bool = True) -> None:
        await self.reset()
        env = self.env
        self.clk = self.dut.clk
        self.bar = env.driver.bar
        self.regs = env.driver.regs
        self.mem = env.host.mem
        self.access = env.host.responder.access
        assert self.access is not None
        self.irq = IrqMonitor(self.dut)
        cocotb.start_soon(self.irq.run())
        self.nq = self.cfg.num_queues
        self.err_vec = err_vector(self.nq)
        self.rng = random.Random(self.seed * 31 + 7)
        self.bg_tx = self.bg_rx = None
        if background:
            await env.driver.open(hash_en=self.cfg.rx_hash, queues=[self.GOOD_Q])
            self.bg_tx = BackgroundTx("bg_tx", random.Random(self.rng.random()), self.GOOD_Q)
            self.bg_rx = BackgroundRx(
                "bg_rx", random.Random(self.rng.random()), self.GOOD_Q, self.nq, self.cfg.rx_hash
            )
            self.bg_tasks = [
                cocotb.start_soon(self.bg_tx.start(env.driver.seqr)),
                cocotb.start_soon(self.bg_rx.start(env.rx_agent.seqr)),
            ]
        elif self.cfg.rx_hash:
            await self.bar.write(Func.RX_STEER, 1)

    def good_regions(self) -> Regions:
        r = Regions()
        d = self.env.driver
        tx_regions(r, d.txq[self.GOOD_Q])
        rx_regions(r, d.rxq[self.GOOD_Q])
        return r

    def good_counts(self) -> tuple[int, int]:
        sb = self.env.scoreboard.sb
        return sb.matched["tx"], sb.matched[f"rx{self.GOOD_Q}"]

    async def good_progress(self, what: str) -> None:
        """Queue 0 moves PROGRESS more frames each way, byte for byte (the scoreboard)."""
        t0, r0 = self.good_counts()
        await bounded(
            lambda: (
                self.good_counts()[0] >= t0 + PROGRESS and self.good_counts()[1] >= r0 + PROGRESS
            ),
            self.clk,
            lambda: (
                f"queue {self.GOOD_Q} stopped moving frames ({what}): "
                f"TX {t0}->{self.good_counts()[0]}, RX {r0}->{self.good_counts()[1]}"
            ),
        )
        assert not self.env.scoreboard.sb.mismatches, self.env.scoreboard.sb.mismatches[:3]

    async def stop_background(self) -> None:
        """Stop queue 0's traffic and wait until everything it sent is delivered and completed."""
        if self.bg_tx is None:
            return
        self.bg_tx.stop = self.bg_rx.stop = True
        for t in self.bg_tasks:  # the last items are posted
            await with_timeout(t, WAIT * 4, "ns")
        await self.env.driver.flush()
        sb = self.env.scoreboard.sb
        try:
            await bounded(
                lambda: sb.outstanding() == 0 and self.env.host.responder.idle,
                self.clk,
                f"queue {self.GOOD_Q} did not drain",
            )
        except HangError as e:
            per = {d: sum(len(x) for x in v.values()) for d, v in sb.expected.items()}
            drops = await self.qreg(self.GOOD_Q, Queue.RXQ_DROPS)
            raise HangError(f"{e}: outstanding {per}, RXQ_DROPS {drops}") from None
        self.env.driver.stop()
        self.check_clean()

    def check_stop(
        self, what: str, d_desc: int | None, d_wr: int | None, d_data: tuple[int, int]
    ) -> None:
        """Log and check the stop bounds measured after a queue reset / FLR write."""
        self.logger.info(
            "%s: last request after the register write: descriptor read %s, write %s cycles; "
            "TX buffer reads after it: %d bursts of the frame being issued, the last %d cycles "
            "after",
            what,
            d_desc,
            d_wr,
            *d_data,
        )
        assert d_desc is None or d_desc <= STOP_DESC_READS, f"{what}: descriptor read +{d_desc}"
        assert d_wr is None or d_wr <= STOP_WRITES, f"{what}: write +{d_wr}"

    async def wait_access(self, start: int, pred: Callable[[Access], bool], what: str) -> None:
        """Return on the cycle after a bus request from index ``start`` on matches ``pred``."""
        i = start
        for _ in range(WAIT):
            while i < len(self.access):
                if pred(self.access[i]):
                    return
                i += 1
            await RisingEdge(self.clk)
        raise HangError(f"no such bus request within {WAIT} cycles: {what}")

    async def qreg(self, q: int, reg: Queue) -> int:
        return await self.bar.read(queue_reg(q, reg))

    async def wait_idle(self, q: int, rx: bool) -> None:
        reg = Queue.RXQ_STATUS if rx else Queue.TXQ_STATUS
        st = [QSTATUS_BUSY]

        async def poll() -> None:
            for _ in range(WAIT // 32):
                st[0] = await self.qreg(q, reg)
                if not st[0] & QSTATUS_BUSY:
                    return
                await ClockCycles(self.clk, 30)
            raise HangError(f"{'RX' if rx else 'TX'} queue {q} BUSY stuck: {st[0]:#x}")

        await poll()


# ------------------------------------------------------------------ error cases


@dataclass
class ErrCase:
    name: str
    rx: bool
    code: QErr
    inject: Callable[[], Awaitable[None]]
    fault_page: int | None = None  # the page the case's bus error is taken on
    needs_hash: bool = False
    masked: bool = False  # hold the error interrupt with the queue's mask, then unmask


@pyuvm.test()
class VfDmaErrorTest(DirectedBase):
    async def run_phase(self) -> None:
        # the cases inject format-A descriptors; format B's refusals are in cocotb_vf_dma_fmt_b.py
        assert self.cfg.ring_fmt == RingFmt.A, "VfDmaErrorTest is the format-A error suite"
        self.raise_objection()
        await self.setup()
        h = self.env.host
        q = self.ERR_Q
        ro, wo, hole = h.fault_ro, h.fault_wo, h.fault_hole
        rd, wr = QErr.BUS_READ, QErr.BUS_WRITE
        tx, rx = False, True
        cases = [
            ErrCase("tx_len_zero", tx, QErr.DESC_LEN_ZERO, self.tx_bad([100, 0])),
            ErrCase("tx_len_max", tx, QErr.DESC_LEN_MAX, self.tx_bad([5000, 9019 - 5000])),
            ErrCase("tx_too_many_bufs", tx, QErr.TOO_MANY_BUFS, self.tx_bad([10] * 17)),
            ErrCase("tx_prod_range", tx, QErr.PROD_RANGE, self.tx_prod_range),
            ErrCase("tx_data_read_slverr", tx, rd, self.tx_bus(wo + 5, 300), fault_page=wo),
            ErrCase("tx_data_read_decerr", tx, rd, self.tx_bus(hole + 64, 200), fault_page=hole),
            ErrCase("tx_desc_read_decerr", tx, rd, self.tx_desc_fault, fault_page=hole),
            ErrCase("tx_cpl_write_slverr", tx, wr, self.tx_cpl_fault, fault_page=ro),
            ErrCase("rx_len_zero", rx, QErr.DESC_LEN_ZERO, self.rx_bad(0, 0)),
            ErrCase("rx_addr_align", rx, QErr.DESC_ALIGN, self.rx_bad(8, 2048)),
            ErrCase("rx_len_align", rx, QErr.DESC_ALIGN, self.rx_bad(0, 100)),
            ErrCase("rx_prod_range", rx, QErr.PROD_RANGE, self.rx_prod_range, masked=True),
            ErrCase("rx_desc_read_slverr", rx, rd, self.rx_desc_fault, fault_page=wo),
            ErrCase("rx_data_write_slverr", rx, wr, self.rx_data_fault, ro, needs_hash=True),
            ErrCase("rx_cpl_write_decerr", rx, wr, self.rx_cpl_fault, hole, needs_hash=True),
        ]
        ran = []
        for c in cases:
            if c.needs_hash and not self.cfg.rx_hash:
                self.logger.info(
                    "%s: skipped (RX steering to queue %d needs the flow hash)", c.name, q
                )
                continue
            await self.run_case(c)
            ran.append(c.name)
        await self.stop_background()
        self.logger.info("error cases passed: %s", ", ".join(ran))
        self.drop_objection()

    # -- one case -------------------------------------------------------------------------

    async def run_case(self, c: ErrCase) -> None:
        q, env = self.ERR_Q, self.env
        self.case = c
        self.poison = Regions()
        self.allowed = self.good_regions()
        self.txq = TxQueue(self.bar, self.mem, q, 5)
        self.rxq = RxQueue(self.bar, self.mem, q, 5, 2048)
        self.q1_posted: list[bytes] = []  # q1 TX frames that must be sent, in order
        self.q1_may: list[bytes] = []  # and behind them those that may still go (already started)
        status_reg = Queue.RXQ_STATUS if c.rx else Queue.TXQ_STATUS
        ctrl_reg = Queue.RXQ_CTRL if c.rx else Queue.TXQ_CTRL
        irq_reg = Queue.RXQ_IRQ_CTRL if c.rx else Queue.TXQ_IRQ_CTRL
        mod_reg = Queue.RXQ_IRQ_MOD if c.rx else Queue.TXQ_IRQ_MOD
        if c.rx:
            await self.rxq.open(post=0)
            rx_ring_regions(self.allowed, self.rxq)
        else:
            await self.txq.open()
            tx_regions(self.allowed, self.txq)
        # the queue's own vector is moderated far beyond any wait here
        await self.bar.write(queue_reg(q, mod_reg), irq_mod(0xFFFF, 255))
        if c.masked:
            await self.bar.write(queue_reg(q, irq_reg), IRQ_CTRL_MASK)
        acc0 = len(self.access)
        faults0 = len(self.env.host.iommu.faults)
        seen0 = len(env.scoreboard.aside_tx_seen)
        irq0 = self.irq.count(FUNC, self.err_vec)
        t_inj = self.regs.cycle()
        good_during = cocotb.start_soon(self.good_progress(f"{c.name}, during"))
        await c.inject()
        if c.masked:
            await ClockCycles(self.clk, 500)
            st = await self.qreg(q, status_reg)
            assert st & QSTATUS_ERROR, f"{c.name}: no error state ({st:#x})"
            assert self.irq.count(FUNC, self.err_vec) == irq0, (
                f"{c.name}: error interrupt sent while the queue's vector is masked"
            )
            await self.bar.write(queue_reg(q, irq_reg), 0)
        try:
            await with_timeout(self.irq.wait_beyond(FUNC, self.err_vec, irq0), WAIT * 4, "ns")
        except SimTimeoutError:
            st = await self.qreg(q, status_reg)
            raise HangError(
                f"{c.name}: no error interrupt (vector {self.err_vec}) within {WAIT} cycles; "
                f"STATUS {st:#x}"
            ) from None
        lat = self.regs.cycle() - t_inj
        st = await self.qreg(q, status_reg)
        assert st & ~QSTATUS_BUSY == QSTATUS_ERROR | c.code, (
            f"{c.name}: STATUS {st:#x}, want error code {c.code!r}"
        )
        fs = await self.bar.read(Func.FUNC_STATUS)
        assert fs & FUNC_STATUS_ERROR, f"{c.name}: FUNC_STATUS {fs:#x} without ERROR"
        await good_during
        await ClockCycles(self.clk, 300)  # anything the bad descriptor could cause has happened
        assert self.irq.count(FUNC, self.err_vec) == irq0 + 1, (
            f"{c.name}: {self.irq.count(FUNC, self.err_vec) - irq0} error interrupts, want 1"
        )
        # the errored queue sent nothing but the frames it was given before the error
        seen = env.scoreboard.aside_tx_seen[seen0:]
        ok = self.q1_posted + self.q1_may
        assert seen == ok[: len(seen)] and len(seen) >= len(self.q1_posted), (
            f"{c.name}: queue {q} sent {len(seen)} frames, want the {len(self.q1_posted)} good ones"
            f" (+ up to {len(self.q1_may)} started before the error)"
        )
        self.check_accesses(acc0, faults0)
        # queue reset clears the error; the queue drains
        await self.bar.write(queue_reg(q, ctrl_reg), 0)
        await self.wait_idle(q, c.rx)
        assert await self.qreg(q, status_reg) == 0
        fs = await self.bar.read(Func.FUNC_STATUS)
        assert not fs & FUNC_STATUS_ERROR, f"{c.name}: FUNC_STATUS {fs:#x} after the reset"
        await self.bar.write(queue_reg(q, mod_reg), 0)
        await self.bar.write(queue_reg(q, irq_reg), 0)
        await self.good_progress(f"{c.name}, after")
        self.check_accesses(acc0, faults0)
        self.logger.info(
            "%s: code %s, error interrupt %d cycles after the injection, queue %d moved on",
            c.name,
            c.code.name,
            lat,
            self.GOOD_Q,
        )

    async def relocate(self, ctrl: Queue, base_lo: Queue, addr: int) -> None:
        """Move one ring of the errored queue (``*_BASE_LO``/``_HI``) to ``addr`` and enable."""
        q = self.ERR_Q
        await self.bar.write(queue_reg(q, ctrl), 0)
        await self.bar.write(queue_reg(q, base_lo), addr)
        await self.bar.write(queue_reg(q, base_lo) + 4, 0)
        await self.bar.write(queue_reg(q, ctrl), 1)

    def check_accesses(self, acc0: int, faults0: int) -> None:
        c = self.case
        for a in self.access[acc0:]:
            assert not self.poison.touched_by(a), f"{c.name}: request into the bad buffer: {a}"
            in_fault = c.fault_page is not None and a.overlaps(c.fault_page, c.fault_page + 4096)
            assert in_fault or self.allowed.covers(a), (
                f"{c.name}: request outside the queues' rings and buffers: {a}"
            )
        for f in self.env.host.iommu.faults[faults0:]:
            assert c.fault_page is not None and c.fault_page <= f.iova < c.fault_page + 4096, (
                f"{c.name}: IOMMU fault outside the case's fault page: {f}"
            )

    # -- TX injections --------------------------------------------------------------------

    async def tx_good(self, wait: bool = True) -> None:
        """A good frame on the errored queue before the error: sent, completed OK."""
        f = self.rng.randbytes(200)
        self.env.scoreboard.aside.add(f)
        tx = self.txq.post(f, split=[120, 80], offsets=[3, 17])
        self.q1_posted.append(f)
        await self.txq.ring_doorbell()
        if wait:
            await bounded(
                lambda: bool(self.txq.reap()) or tx.completion is not None, self.clk, "TX"
            )
            assert tx.completion is not None and tx.completion.status == 0, tx.completion

    def poison_buf(self, n: int) -> int:
        """A buffer full of a pattern that no request may touch (plus one beat of margin)."""
        a = self.mem.alloc(n + 2 * BEAT, BEAT) + BEAT
        self.mem.write(a, bytes([0xA5]) * n)
        self.poison.add(a, n)
        return a

    def tx_bad(self, lens: list[int]) -> Callable[[], Awaitable[None]]:
        async def inject() -> None:
            await self.tx_good()
            buf = self.poison_buf(sum(lens))
            pos = 0
            for i, n in enumerate(lens):
                self.txq.post_raw(TxDesc(buf + pos, n, sof=i == 0, eof=i == len(lens) - 1))
                pos += n
            # a good frame behind the bad one: the queue is in error, it must not go
            f = self.rng.randbytes(100)
            self.env.scoreboard.aside.add(f)
            self.txq.post(f)
            await self.txq.ring_doorbell()

        return inject

    async def tx_prod_range(self) -> None:
        await self.tx_good()
        f = self.rng.randbytes(150)
        self.env.scoreboard.aside.add(f)
        self.txq.post(f)  # on the ring, announced only by the bad doorbell
        prod = queue_reg(self.ERR_Q, Queue.TXQ_PROD)
        before = await self.bar.read(prod)
        await self.bar.write(prod, self.txq.ring.size)
        assert await self.bar.read(prod) == before, "a PROD write outside the ring was taken"
        await ClockCycles(self.clk, 50)
        # a valid doorbell now: the queue is in error and fetches nothing
        acc = len(self.access)
        await self.bar.write(prod, self.txq.ring.prod)
        await ClockCycles(self.clk, 300)
        ring = self.txq.ring
        late = [a for a in self.access[acc:] if a.overlaps(ring.desc_base, ring.desc_base + 512)]
        assert not late, f"descriptor read by a queue in error: {late}"

    def tx_bus(self, addr: int, n: int) -> Callable[[], Awaitable[None]]:
        async def inject() -> None:
            await self.tx_good()
            self.txq.post_raw(TxDesc(addr, n))  # its buffer faults
            # a frame behind it: the error is known only when the read returns, so this one
            # may have been started already ("frames already started finish", §3.1)
            f = self.rng.randbytes(100)
            self.env.scoreboard.aside.add(f)
            self.txq.post(f)
            self.q1_may.append(f)
            await self.txq.ring_doorbell()
            # the faulting frame's completion carries the code (read from the ring directly)
            ring = self.txq.ring
            slot = ring.cpl_base + ring.cpl_idx * ENTRY_BYTES
            await bounded(
                lambda: self.mem.read(slot + 15, 1)[0] & 0x80 == 0x80,
                self.clk,
                "TX completion of the faulting frame",
            )
            raw = self.mem.read(slot, ENTRY_BYTES)
            assert raw[4] == QErr.BUS_READ, f"completion status {raw[4]}, want BUS_READ"

        return inject

    async def tx_desc_fault(self) -> None:
        q, h = self.ERR_Q, self.env.host
        await self.relocate(Queue.TXQ_CTRL, Queue.TXQ_BASE_LO, h.fault_hole)
        await self.bar.write(queue_reg(q, Queue.TXQ_PROD), 3)

    async def tx_cpl_fault(self) -> None:
        h = self.env.host
        await self.relocate(Queue.TXQ_CTRL, Queue.TXQ_CPL_BASE_LO, h.fault_ro)
        ro = self.mem.read(h.fault_ro, 4096)
        err0 = len(h.responder.errors)
        await self.tx_good(wait=False)  # its data is good, it is sent; its completion faults
        await bounded(lambda: len(h.responder.errors) > err0, self.clk, "cpl write error")
        await ClockCycles(self.clk, 100)
        assert self.mem.read(h.fault_ro, 4096) == ro, "a refused write changed memory"

    # -- RX injections --------------------------------------------------------------------

    def rx_bad(self, off: int, n: int) -> Callable[[], Awaitable[None]]:
        async def inject() -> None:
            buf = self.poison_buf(4096)
            self.rxq.ring.put_desc(RxDesc(buf + off, n).pack())
            self.rxq.ring.put_desc(RxDesc(buf + 2048, 2048).pack())  # behind it: never used
            await self.rxq.ring.ring_doorbell()

        return inject

    async def rx_prod_range(self) -> None:
        prod = queue_reg(self.ERR_Q, Queue.RXQ_PROD)
        buf = self.poison_buf(2048)
        self.rxq.ring.put_desc(RxDesc(buf, 2048).pack())
        await self.bar.write(prod, self.rxq.ring.size + 1)
        assert await self.bar.read(prod) == 0, "a PROD write outside the ring was taken"
        await self.bar.write(prod, 1)  # valid now, but the queue is in error

    async def rx_desc_fault(self) -> None:
        q, h = self.ERR_Q, self.env.host
        await self.relocate(Queue.RXQ_CTRL, Queue.RXQ_BASE_LO, h.fault_wo)
        await self.bar.write(queue_reg(q, Queue.RXQ_PROD), 2)

    async def send_q1_rx(self, n: int, size: int) -> list[bytes]:
        frames = [frame_to(self.rng, self.ERR_Q, self.nq, True, size) for _ in range(n)]
        send_aside(self.env, frames)
        return frames

    async def rx_data_fault(self) -> None:
        h = self.env.host
        ro = self.mem.read(h.fault_ro, 4096)
        err0 = len(h.responder.errors)
        self.rxq.ring.put_desc(RxDesc(h.fault_ro, 2048).pack())
        self.rxq.ring.put_desc(RxDesc(h.fault_ro + 2048, 2048).pack())
        await self.rxq.ring.ring_doorbell()
        await ClockCycles(self.clk, 200)
        await self.send_q1_rx(1, 1000)
        await bounded(lambda: len(h.responder.errors) > err0, self.clk, "data write error")
        await ClockCycles(self.clk, 100)
        assert self.mem.read(h.fault_ro, 4096) == ro, "a refused write changed memory"

    async def rx_cpl_fault(self) -> None:
        h = self.env.host
        await self.relocate(Queue.RXQ_CTRL, Queue.RXQ_CPL_BASE_LO, h.fault_hole)
        buf = self.mem.alloc(2048, 64)
        self.allowed.add(buf, 2048)
        self.rxq.ring.put_desc(RxDesc(buf, 2048).pack())
        await self.rxq.ring.ring_doorbell()
        await ClockCycles(self.clk, 200)
        err0 = len(h.responder.errors)
        (f,) = await self.send_q1_rx(1, 700)
        await bounded(lambda: len(h.responder.errors) > err0, self.clk, "cpl write error")
        assert self.mem.read(buf, len(f)) == f, "the frame's data (good buffer) was not written"


# ------------------------------------------------------------------ queue reset and FLR


def check_tx_data_stop(acc: list[Access], t0: int, frames: list[Regions]) -> tuple[int, int]:
    """Reads of the ``frames``' buffers after ``t0`` belong to one frame (the one being
    issued), at most STOP_TX_DATA_BURSTS of them; returns (bursts, cycles to the last)."""
    late = [a for a in acc if not a.write and a.cycle > t0 and any(r.touched_by(a) for r in frames)]
    touched = {i for a in late for i, r in enumerate(frames) if r.touched_by(a)}
    assert len(touched) <= 1, f"TX buffer reads of {len(touched)} frames after the reset"
    assert len(late) <= STOP_TX_DATA_BURSTS, f"{len(late)} TX buffer reads after the reset"
    return len(late), max((a.cycle - t0 for a in late), default=0)


def frame_regions(txq: TxQueue, frames: list) -> list[Regions]:
    """The buffer areas of each posted TX frame."""
    out = []
    for tx in frames:
        r = Regions()
        for k in range((tx.last_slot - tx.first_slot) % txq.ring.size + 1):
            r.add(txq._bufs[(tx.first_slot + k) % txq.ring.size], txq.buf_bytes)
        out.append(r)
    return out


def bound_report(acc: list[Access], t0: int, sel: Callable[[Access], bool]) -> int | None:
    """Cycles from ``t0`` to the last request ``sel`` picks after it (None: none after t0)."""
    late = [a.cycle - t0 for a in acc if sel(a) and a.cycle > t0]
    return max(late) if late else None


@pyuvm.test()
class VfDmaQueueResetTest(DirectedBase):
    async def run_phase(self) -> None:
        self.raise_objection()
        await self.setup()
        await self.tx_reset()
        await self.good_progress("after the TX queue reset")
        if self.cfg.rx_hash:
            await self.rx_reset()
            await self.good_progress("after the RX queue reset")
        await self.stop_background()
        await self.tx_reset_coalescing()
        self.drop_objection()

    async def tx_reset_coalescing(self) -> None:
        """Queue reset while a TX completion is being coalesced: it is still written.

        Alone on the bus (queue 0 stopped), so a frame's first beat on the stream
        follows the end of its data in the TX FIFO, where its completion is
        requested; the completion waits up to 16 cycles for company in its beat,
        and the reset is written 1-2 cycles after that first beat.
        """
        q, env, dut = self.ERR_Q, self.env, self.dut
        txq = self.env.driver.tx_queue(q, 6)
        await txq.open()
        frames = [self.rng.randbytes(self.rng.randint(200, 1500)) for _ in range(3)]
        for f in frames:
            env.scoreboard.aside.add(f)
            txq.post(f)
        first = int.from_bytes(frames[0][:8], "little")
        ab0 = await self.qreg(q, Queue.TXQ_ABANDONED)  # the counter survives queue resets
        await txq.ring_doorbell()
        for _ in range(WAIT):
            await RisingEdge(self.clk)
            if dut.m_axis_tx_tvalid.value and int(dut.m_axis_tx_tdata.value) & (2**64 - 1) == first:
                break
        else:
            raise HangError("the first frame never reached the TX stream")
        await self.bar.write(queue_reg(q, Queue.TXQ_CTRL), 0)
        await self.wait_idle(q, rx=False)
        await ClockCycles(self.clk, 100)
        done = txq.reap()
        abandoned = await self.qreg(q, Queue.TXQ_ABANDONED) - ab0
        self.logger.info(
            "TX reset while coalescing: posted %d, completed %d, abandoned %d",
            len(frames),
            len(done),
            abandoned,
        )
        assert done and done[0].data == frames[0], "the completion being coalesced was dropped"
        assert abandoned == len(frames) - len(done), (abandoned, len(frames), len(done))

    async def tx_reset(self) -> None:
        q, env = self.ERR_Q, self.env
        txq = self.env.driver.tx_queue(q, 6)
        await txq.open()
        frames, posted = [], []
        # 6 frames of 8 buffers, so a frame takes 8+ read bursts to issue and the reset can
        # land inside one
        for _ in range(6):
            size = self.rng.randint(3000, 8000)
            f = self.rng.randbytes(size)
            env.scoreboard.aside.add(f)
            cuts = sorted(self.rng.sample(range(1, size), 7))
            split = [b - a for a, b in zip([0, *cuts], [*cuts, size], strict=True)]
            posted.append(txq.post(f, split=split, offsets=[self.rng.randrange(64) for _ in split]))
            frames.append(f)
        seen0 = len(env.scoreboard.aside_tx_seen)
        # the last frame's buffers: the reset lands while it is being issued. A frame is
        # started only once its EOF descriptor was checked, so by then the engine holds
        # every posted descriptor and abandoned = posted - completed exactly
        last = Regions()
        for slot in range(posted[-1].first_slot, posted[-1].last_slot + 1):
            last.add(txq._bufs[slot], txq.buf_bytes)
        n_acc = len(self.access)
        await txq.ring_doorbell()
        ring = txq.ring
        desc_lo, desc_hi = ring.desc_base, ring.desc_base + ring.size * ENTRY_BYTES
        await self.wait_access(n_acc, lambda a: not a.write and last.touched_by(a), "last frame")
        await self.bar.write(queue_reg(q, Queue.TXQ_CTRL), 0)
        t0 = self.regs.last_write_cycle
        await self.wait_idle(q, rx=False)
        await ClockCycles(self.clk, 200)  # the frames already in the TX FIFO leave
        acc = self.access
        d_desc = bound_report(acc, t0, lambda a: not a.write and a.overlaps(desc_lo, desc_hi))
        d_data = check_tx_data_stop(acc, t0, frame_regions(txq, posted))
        d_cpl = bound_report(
            acc, t0, lambda a: a.write and a.overlaps(ring.cpl_base, ring.cpl_base + ring.size * 16)
        )
        self.check_stop("TX queue reset", d_desc, d_cpl, d_data)
        done = txq.reap()
        completed = len(done)
        for tx in done:
            assert tx.completion is not None and tx.completion.status == 0, tx.completion
        seen = [f for f in env.scoreboard.aside_tx_seen[seen0:]]
        assert seen == frames[: len(seen)], "TX stream: not an in-order prefix of the posted frames"
        assert [tx.data for tx in done] == frames[:completed]
        assert completed <= len(seen), "a frame completed that was never sent"
        abandoned = await self.qreg(q, Queue.TXQ_ABANDONED)
        self.logger.info(
            "TX queue reset: posted %d, sent %d, completed %d, abandoned %d",
            len(frames),
            len(seen),
            completed,
            abandoned,
        )
        assert abandoned > 0, "setup: the reset did not hit traffic in flight"
        assert abandoned == len(frames) - completed, (
            f"TXQ_ABANDONED {abandoned}, posted {len(frames)} - completed {completed}"
        )
        for reg in (Queue.TXQ_CTRL, Queue.TXQ_PROD, Queue.TXQ_CONS, Queue.TXQ_STATUS):
            v = await self.qreg(q, reg)
            assert v == 0, f"{reg.name} = {v:#x} after the queue reset, documented 0"
        # the queue runs again
        await txq.open()
        again = [self.rng.randbytes(self.rng.randint(60, 1500)) for _ in range(3)]
        for f in again:
            env.scoreboard.aside.add(f)
            txq.post(f)
        seen1 = len(env.scoreboard.aside_tx_seen)
        await txq.ring_doorbell()
        await bounded(lambda: len(env.scoreboard.aside_tx_seen) >= seen1 + 3, self.clk, "reopened")
        assert env.scoreboard.aside_tx_seen[seen1:] == again
        await bounded(lambda: len(txq.reap()) > 0 or txq.in_flight == 0, self.clk, "completion")
        await txq.close()
        await self.wait_idle(q, rx=False)

    async def rx_reset(self) -> None:
        q, env = self.ERR_Q, self.env
        # small buffers: a jumbo frame is 16..36 data bursts, so the reset can cut one
        rxq = self.env.driver.rx_queue(q, 10, 256, head_len=256)
        await rxq.open()  # 1023 buffers
        drops0 = await self.qreg(q, Queue.RXQ_DROPS)
        sizes = [self.rng.randint(4000, 9000) for _ in range(24)]
        frames = [frame_to(self.rng, q, self.nq, True, n) for n in sizes]
        all_in = send_aside(env, frames)
        done: list = []

        def reaped() -> int:
            done.extend(rxq.reap())
            return len(done)

        await bounded(lambda: reaped() >= 3, self.clk, "q1 RX")
        ring = rxq.ring
        bufs = Regions()
        for lo, n in rxq.buffer_regions():
            bufs.add(lo, n)
        # reset right after a data burst of queue 1 starts: a frame is being written
        await self.wait_access(len(self.access), lambda a: a.write and bufs.touched_by(a), "RX")
        await self.bar.write(queue_reg(q, Queue.RXQ_CTRL), 0)
        t0 = self.regs.last_write_cycle
        await self.wait_idle(q, rx=True)
        await bounded(all_in, self.clk, "RX frames of queue 1 into the engine")
        await ClockCycles(self.clk, 300)  # frames still in the RX FIFO are dropped
        reaped()
        d_data = bound_report(self.access, t0, lambda a: a.write and bufs.touched_by(a))
        d_cpl = bound_report(
            self.access,
            t0,
            lambda a: a.write and a.overlaps(ring.cpl_base, ring.cpl_base + ring.cpl_size * 16),
        )
        self.logger.info(
            "RX queue reset: last data write %s, completion write %s cycles after the CTRL write",
            d_data,
            d_cpl,
        )
        assert d_data is None or d_data <= STOP_WRITES, d_data
        assert d_cpl is None or d_cpl <= STOP_WRITES, d_cpl
        for fr in done:
            assert fr.completion.status == 0, fr.completion
        assert [fr.data for fr in done] == frames[: len(done)], "RX: not an in-order prefix"
        drops = await self.qreg(q, Queue.RXQ_DROPS) - drops0
        abandoned = await self.qreg(q, Queue.RXQ_ABANDONED)
        self.logger.info(
            "RX queue reset: sent %d, completed %d, abandoned %d, dropped %d",
            len(frames),
            len(done),
            abandoned,
            drops,
        )
        assert abandoned > 0, "setup: the reset did not cut a frame being written"
        assert len(done) + abandoned + drops == len(frames), "RX frames unaccounted for"
        for reg in (Queue.RXQ_CTRL, Queue.RXQ_PROD, Queue.RXQ_CONS, Queue.RXQ_STATUS):
            v = await self.qreg(q, reg)
            assert v == 0, f"{reg.name} = {v:#x} after the queue reset, documented 0"


@pyuvm.test()
class VfDmaFlrTest(DirectedBase):
    async def run_phase(self) -> None:
        self.raise_objection()
        await self.setup(background=False)
        env = self.env
        nq = self.nq
        txqs = [self.env.driver.tx_queue(q, 6) for q in range(nq)]
        rxqs = [self.env.driver.rx_queue(q, 6, 2048, head_len=2048) for q in range(nq)]
        for q in range(nq):
            await txqs[q].open()
            await rxqs[q].open()
        if self.cfg.rx_hash:
            await self.bar.write(Func.RX_STEER, 1)
        tx_frames: list[list[bytes]] = [[] for _ in range(nq)]
        tx_posted: list[list] = [[] for _ in range(nq)]
        for q in range(nq):
            for _ in range(20):
                size = self.rng.randint(1500, 6000)
                f = self.rng.randbytes(size)
                env.scoreboard.aside.add(f)
                tx_posted[q].append(txqs[q].post(f, split=[size // 2, size - size // 2]))
                tx_frames[q].append(f)
        rxq_of = [q if self.cfg.rx_hash else 0 for q in range(nq)]
        rx_frames: list[list[bytes]] = [[] for _ in range(nq)]
        order = []
        for i in range(60):
            q = rxq_of[i % nq]
            f = frame_to(self.rng, q, nq, self.cfg.rx_hash, self.rng.randint(1000, 1518))
            rx_frames[q].append(f)
            order.append(f)
        all_in = send_aside(env, order)
        for q in range(nq):
            await txqs[q].ring_doorbell()
        rx_done: list[list] = [[] for _ in range(nq)]

        def reap_rx() -> int:
            for q in range(nq):
                rx_done[q] += rxqs[q].reap()
            return sum(len(x) for x in rx_done)

        await bounded(
            lambda: len(env.scoreboard.aside_tx_seen) >= 6 and reap_rx() >= 6, self.clk, "load"
        )
        await self.bar.write(Func.FUNC_CTRL, 1)
        t0 = self.regs.last_write_cycle
        # FUNC_STATUS.BUSY drains
        for _ in range(WAIT // 32):
            fs = await self.bar.read(Func.FUNC_STATUS)
            if not fs & FUNC_STATUS_BUSY:
                break
            await ClockCycles(self.clk, 30)
        else:
            raise HangError(f"FUNC_STATUS.BUSY stuck after FLR: {fs:#x}")
        await bounded(all_in, self.clk, "RX frames into the engine")
        await ClockCycles(self.clk, 500)
        # every outstanding transaction completed (read data, write responses taken)
        assert env.host.responder.idle, "host bus transactions still outstanding after BUSY fell"
        acc = self.access
        d_desc = bound_report(acc, t0, lambda a: not a.write and (a.axi_id & 3) in (0, 1))
        d_data = check_tx_data_stop(
            acc, t0, [r for q in range(nq) for r in frame_regions(txqs[q], tx_posted[q])]
        )
        d_wr = bound_report(acc, t0, lambda a: a.write)
        self.check_stop("FLR", d_desc, d_wr, d_data)
        # accounting per queue, against what the driver posted / the switch sent
        reap_rx()
        any_abandoned = 0
        rx_sum = 0
        for q in range(nq):
            done = txqs[q].reap()
            tx_ab = await self.qreg(q, Queue.TXQ_ABANDONED)
            assert [t.data for t in done] == tx_frames[q][: len(done)]
            assert tx_ab == len(tx_frames[q]) - len(done), (
                f"TX queue {q}: TXQ_ABANDONED {tx_ab}, posted {len(tx_frames[q])} - "
                f"completed {len(done)}"
            )
            rx_ab = await self.qreg(q, Queue.RXQ_ABANDONED)
            drops = await self.qreg(q, Queue.RXQ_DROPS)
            got = [fr.data for fr in rx_done[q]]
            assert got == rx_frames[q][: len(got)], f"RX queue {q}: not an in-order prefix"
            rx_sum += len(got) + rx_ab + drops
            any_abandoned += tx_ab + rx_ab
            self.logger.info(
                "FLR queue %d: TX posted %d completed %d abandoned %d; "
                "RX sent %d completed %d abandoned %d dropped %d",
                q,
                len(tx_frames[q]),
                len(done),
                tx_ab,
                len(rx_frames[q]),
                len(got),
                rx_ab,
                drops,
            )
        # RX_STEER is reset too: frames after the FLR all go to (and are dropped by) queue 0
        assert rx_sum == len(order), (
            f"RX: sent {len(order)} != completed + abandoned + dropped ({rx_sum})"
        )
        assert any_abandoned > 0, "setup: the FLR did not hit traffic in flight"
        # every register at its documented reset value (the counters: what the FLR abandoned)
        expect = func_reset_values(FUNC, nq, self.cfg.ring_fmt)
        for q in range(nq):
            for reg in (Queue.TXQ_ABANDONED, Queue.RXQ_ABANDONED, Queue.RXQ_DROPS):
                expect.pop(queue_reg(q, reg))
        extra = [Func.QUEUE_BASE + nq * Func.QUEUE_STRIDE + o for o in range(0, 0x100, 4)]
        wrong = []
        for off in sorted(expect) + extra:
            v = await self.bar.read(off)
            if v != expect.get(off, 0):
                wrong.append(f"{off:#06x}={v:#x} (reset {expect.get(off, 0):#x})")
        assert not wrong, f"registers not at their reset value after FLR: {wrong}"
        self.logger.info(
            "FLR: %d registers at their documented reset values", len(expect) + 256 // 4
        )
        # and the function works again
        await txqs[0].open()
        f = self.rng.randbytes(500)
        env.scoreboard.aside.add(f)
        txqs[0].post(f)
        n0 = len(env.scoreboard.aside_tx_seen)
        await txqs[0].ring_doorbell()
        await bounded(lambda: len(env.scoreboard.aside_tx_seen) > n0, self.clk, "TX after FLR")
        assert env.scoreboard.aside_tx_seen[-1] == f
        await Timer(1, "ns")
        self.drop_objection()
