"""Shared pieces of the directed pyuvm tests of vf_dma (issue #3): the base test, queue 0's
background traffic, bounded waits and the regions a bus request may touch.

The tests run on the environment of ``tb/uvm/vf_dma/`` with IOMMU page
tables (fault pages: read-only, write-only, unmapped) and the host bus access
log; :class:`DirectedBase` sets it up, keeps queue pair 0 moving random TX and RX
traffic through the byte-for-byte scoreboard while a test works on queue pair 1,
and checks that queue 0 keeps moving (:meth:`DirectedBase.good_progress`). The
tests: ``tests/cocotb_vf_dma_errors.py`` (every error case) and
``tests/cocotb_vf_dma_reset.py`` (queue reset and FLR).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from pyuvm import uvm_sequence

from tb.host.interrupts import IrqMonitor
from tb.ref.layouts import ENTRY_BYTES
from tb.ref.regmap import QSTATUS_BUSY, Func, Queue, err_vector, queue_reg
from tb.ref.vf_dma_model import rx_flow_queue
from tb.uvm.vf_dma import (
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
from tests.vf_dma_block import HangError

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
