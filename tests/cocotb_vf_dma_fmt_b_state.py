"""Directed test of vf_dma with ring format B: queue state save and restore (ARCHITECTURE §4c).

``save_restore``: TX and RX state saved after a quiesce and restored into the
reset queue: the rings resume where they stopped, prefetched but unused RX
buffers are used next, and completions continue at the saved index and gen.
The bench: ``tests/vf_dma_fmt_b_bench.py``.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from tb.ref.regmap import (
    QCTRL_ENABLE,
    QCTRL_RESUME,
    QSTATE_GEN,
    QSTATUS_BUSY,
    QSTATUS_ERROR,
    Queue,
    qstate,
)
from tests.vf_dma_fmt_b_bench import (
    RxSide,
    TxSide,
    new_bench,
    read_state,
    send_rx,
    tx_run,
)


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def save_restore(dut) -> None:
    b = await new_bench(dut)
    rng = random.Random(24)
    # ---- TX: run, quiesce, save, reset, restore, run on
    tx = TxSide(b, 1, 5)
    await tx.open()
    fresh = [await read_state(b, 1, r) for r in (Queue.TXQ_STATE, Queue.TXQ_CPL_STATE)]
    assert fresh == [(0, 1), (0, 1)], f"TX state after enable: {fresh}"
    await tx_run(b, tx, rng, 45)  # wraps the 32-entry rings
    prod = await b.rd(1, Queue.TXQ_PROD)
    assert prod == tx.ring.idx
    await b.wr(1, Queue.TXQ_CTRL, 0)
    saved = [await read_state(b, 1, r) for r in (Queue.TXQ_STATE, Queue.TXQ_CPL_STATE)]
    assert saved == [(tx.ring.idx, tx.ring.gen), (tx.comp.idx, tx.comp.gen)], (
        f"saved TX state {saved}, driver at ring {(tx.ring.idx, tx.ring.gen)} "
        f"completions {(tx.comp.idx, tx.comp.gen)}"
    )
    # an enable without RESUME starts over; the saved values are written back before resuming
    await b.wr(1, Queue.TXQ_CTRL, QCTRL_ENABLE)
    assert [await read_state(b, 1, r) for r in (Queue.TXQ_STATE, Queue.TXQ_CPL_STATE)] == [
        (0, 1),
        (0, 1),
    ]
    await b.wr(1, Queue.TXQ_STATE, 0x1234 | QSTATE_GEN)  # ignored while enabled
    assert await read_state(b, 1, Queue.TXQ_STATE) == (0, 1)
    await b.wr(1, Queue.TXQ_CTRL, 0)
    for reg, (idx, gen) in zip((Queue.TXQ_STATE, Queue.TXQ_CPL_STATE), saved, strict=True):
        await b.wr(1, reg, qstate(idx, gen))
    await b.wr(1, Queue.TXQ_PROD, prod)  # before the enable (§4c)
    await b.wr(1, Queue.TXQ_CTRL, QCTRL_ENABLE | QCTRL_RESUME)
    assert [await read_state(b, 1, r) for r in (Queue.TXQ_STATE, Queue.TXQ_CPL_STATE)] == saved
    await tx_run(b, tx, rng, 45)
    st = await b.rd(1, Queue.TXQ_STATUS)
    assert st & QSTATUS_ERROR == 0, f"TX after restore: TXQ_STATUS {st:#x}"

    # ---- RX: some buffers used, some prefetched and unused at the save
    rxs = RxSide(b, 0, 5, 256, 256)
    await rxs.open()
    for ring in (0, 1):
        rxs.fill(ring, 20)
    await rxs.doorbells()
    await send_rx(b, rxs, [(rng.randbytes(600), None) for _ in range(7)])  # 7 heads, 14 bodies
    await ClockCycles(dut.clk, 200)  # the engine prefetches the rest
    await b.wr(0, Queue.RXQ_CTRL, 0)
    await ClockCycles(dut.clk, 50)
    st = await b.rd(0, Queue.RXQ_STATUS)
    assert st & QSTATUS_BUSY == 0, f"RX queue still busy after disable: {st:#x}"
    saved_rx = [
        await read_state(b, 0, r) for r in (Queue.RXQ_STATE, Queue.RX2_STATE, Queue.RXQ_CPL_STATE)
    ]
    used = (rxs.posted[0][0].idx, rxs.posted[1][0].idx)
    assert saved_rx[0] == (used[0], 1) and saved_rx[1] == (used[1], 1), (
        f"saved RX rings {saved_rx[:2]}, next unused buffers {used}"
    )
    assert saved_rx[2] == (rxs.comp.idx, rxs.comp.gen), f"saved RX completions {saved_rx[2]}"
    await b.wr(0, Queue.RXQ_CTRL, 0)
    for reg, (idx, gen) in zip(
        (Queue.RXQ_STATE, Queue.RX2_STATE, Queue.RXQ_CPL_STATE), saved_rx, strict=True
    ):
        await b.wr(0, reg, qstate(idx, gen))
    await rxs.doorbells()  # PROD before the enable (§4c)
    await b.wr(0, Queue.RXQ_CTRL, QCTRL_ENABLE | QCTRL_RESUME)
    # the buffers posted before the save are used first, in order: 13 heads and 6 bodies
    # are left, 3 frames of 600 B take 3 heads and all 6 bodies
    await send_rx(b, rxs, [(rng.randbytes(600), rng.choice([None, 5])) for _ in range(3)])
    assert rxs.posted[1] == [], "the restored queue skipped or reused body buffers"
    for ring in (0, 1):
        rxs.fill(ring)
    await rxs.doorbells()
    await send_rx(b, rxs, [(rng.randbytes(rng.randint(60, 1518)), None) for _ in range(4)])
    assert await b.rd(0, Queue.RXQ_DROPS) == 0, "a frame was dropped after the restore"
    st = await b.rd(0, Queue.RXQ_STATUS)
    assert st & QSTATUS_ERROR == 0, f"RX after restore: RXQ_STATUS {st:#x}"
    await RisingEdge(dut.clk)
