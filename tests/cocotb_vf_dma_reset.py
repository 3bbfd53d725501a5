"""Directed pyuvm tests of vf_dma: queue reset and FLR with traffic in flight (issue #3).

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

Both ring formats. Shared pieces: ``tests/vf_dma_directed_base.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import pyuvm
from cocotb.triggers import ClockCycles, RisingEdge, Timer

from tb.ref.layouts import ENTRY_BYTES
from tb.ref.regmap import FUNC_STATUS_BUSY, Func, Queue, func_reset_values, queue_reg
from tb.uvm.vf_dma import Access
from tb.vf_driver.queues import TxQueue
from tests.cocotb_vf_dma_uvm import FUNC
from tests.vf_dma_block import HangError
from tests.vf_dma_directed_base import (
    STOP_TX_DATA_BURSTS,
    STOP_WRITES,
    WAIT,
    DirectedBase,
    Regions,
    bounded,
    frame_to,
    send_aside,
)


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
        await txq.close()  # waits until the queue is not BUSY, then frees its memory

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
