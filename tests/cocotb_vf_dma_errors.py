"""Directed pyuvm test of vf_dma: every error case of ARCHITECTURE.md §3.1 (issue #3).

``VfDmaErrorTest``: each error case injected on queue pair 1 while queue pair 0
carries random TX and RX traffic through the byte-for-byte scoreboard. Per case:
the documented code in ``*Q_STATUS``, ``FUNC_STATUS.ERROR``, exactly one message
on the error vector although the queue's own vector is moderated to 65535
cycles, no byte of the bad descriptor's buffer read or written and no frame of
the errored queue on the stream after the error, every bus request inside the
rings and buffers of the two queues (or the case's fault page), queue 0 moving
frames during and after the case, and a clean queue reset. Bounded waits fail
with a message. One case checks that the queue's mask holds the error interrupt
back until unmasked. Ring format A only (format B's refusals:
``tests/cocotb_vf_dma_fmt_b_errors.py``). Shared pieces: ``tests/vf_dma_directed_base.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import cocotb
import pyuvm
from cocotb.triggers import ClockCycles, SimTimeoutError, with_timeout

from tb.ref.layouts import ENTRY_BYTES, RxDesc, TxDesc
from tb.ref.regmap import (
    FUNC_STATUS_ERROR,
    IRQ_CTRL_MASK,
    QSTATUS_BUSY,
    QSTATUS_ERROR,
    Func,
    QErr,
    Queue,
    RingFmt,
    irq_mod,
    queue_reg,
)
from tb.vf_driver.queues import RxQueue, TxQueue
from tests.cocotb_vf_dma_uvm import FUNC
from tests.vf_dma_block import HangError
from tests.vf_dma_directed_base import (
    BEAT,
    WAIT,
    DirectedBase,
    Regions,
    bounded,
    frame_to,
    rx_ring_regions,
    send_aside,
    tx_regions,
)


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
        # the cases inject format-A descriptors (format B's: cocotb_vf_dma_fmt_b_errors.py)
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
