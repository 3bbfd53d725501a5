"""Block-level cocotb test of the queue drivers' ``close()`` on rtl/vf_dma.sv (ring format A).

``test_close_with_frames_in_flight``: a TX queue closed while jumbo frames are being
read (host read latency 125 cycles) and an RX queue closed while jumbo frames come in:
``close()`` disables the queue, reads ``*Q_STATUS`` until ``BUSY`` clears (the TX queue
is seen BUSY first), and only then gives its rings and buffers back, so every byte the
queues took is back in the allocator, ``FUNC_STATUS.BUSY`` is 0 and no request went
outside the function's memory. The bench is ``tests/vf_dma_block.py``; the same rules
without a simulator: ``tests/test_vf_driver_close.py``.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import ClockCycles

from tb.ref.regmap import FUNC_STATUS_BUSY, QSTATUS_BUSY, Func, Queue
from tb.uvm.vf_dma import MAX_FRAME
from tb.vf_driver.queues import RxQueue, TxQueue
from tests.vf_dma_block import WAIT, Bench, make_frame, post_tx, rand_splits, within

TX_DATA_KIND, RX_DATA_KIND = 2, 1  # AXI ID kinds: TX buffer reads, RX data writes (§4)


def spy_status(q: TxQueue | RxQueue) -> list[int]:
    """Every ``*Q_STATUS`` value the queue's driver reads from now on."""
    seen: list[int] = []
    status = q.ring.status

    async def spy() -> int:
        v = await status()
        seen.append(v)
        return v

    q.ring.status = spy  # type: ignore[method-assign]
    return seen


async def first_access(b: Bench, since: int, write: bool, kind: int, what: str) -> None:
    """Wait (bounded) for a request of ID kind ``kind`` in the host's log from ``since``."""

    async def seen() -> None:
        acc = b.host.access
        assert acc is not None
        while not any(a.write == write and a.axi_id & 3 == kind for a in acc[since:]):
            await ClockCycles(b.dut.clk, 1)

    await within(seen(), WAIT, lambda: f"no {what} within {WAIT} cycles")


@cocotb.test()
async def test_close_with_frames_in_flight(dut):
    b = Bench(dut, read_latency=125)
    await b.reset()
    alloc = b.mem.allocator
    before = (alloc.free_bytes, alloc.allocated)
    rng = random.Random(71)
    txq, rxq = b.tx_queue(0, 6), b.rx_queue(0, 6)
    await txq.open()
    await rxq.open()  # 63 buffers of 2 KiB
    assert alloc.free_bytes < before[0]

    # TX: jumbo frames of 8 buffers each; closed once their data reads are going out
    n_log = b.log_len()
    for _ in range(4):
        f = make_frame(rng, MAX_FRAME)
        post_tx(txq, f, rand_splits(rng, len(f), 8), rng)
    await txq.ring_doorbell()
    await first_access(b, n_log, False, TX_DATA_KIND, "TX buffer read of queue 0")
    tx_status = spy_status(txq)
    await within(txq.close(), WAIT, lambda: f"TX close: statuses read {tx_status[-3:]}")
    assert tx_status and tx_status[0] & QSTATUS_BUSY, (
        f"setup: TX queue 0 was not BUSY when it was closed ({tx_status[:1]})"
    )
    assert all(s & QSTATUS_BUSY for s in tx_status[:-1]) and not tx_status[-1] & QSTATUS_BUSY
    dut._log.info(
        "TX close: BUSY for %d status reads, %d frames abandoned",
        len(tx_status) - 1,
        await b.qreg(0, Queue.TXQ_ABANDONED),
    )

    # RX: jumbo frames; closed once the first one is being written
    n_log = b.log_len()
    for _ in range(3):
        b.rx_src.send_nowait(make_frame(rng, MAX_FRAME), 0)
    await first_access(b, n_log, True, RX_DATA_KIND, "RX data write of queue 0")
    rx_status = spy_status(rxq)
    await within(rxq.close(), WAIT, lambda: f"RX close: statuses read {rx_status[-3:]}")
    assert rx_status and not rx_status[-1] & QSTATUS_BUSY
    assert not await b.bar.read(Func.FUNC_STATUS) & FUNC_STATUS_BUSY

    # every byte back where it came from
    assert alloc.allocated == before[1], {a: n for a, n in alloc.allocated.items()}
    assert alloc.free_bytes == before[0]
    n_log = b.log_len()
    await ClockCycles(dut.clk, 200)  # the RX frames still coming are dropped, not written
    assert b.log_len() == n_log, f"requests after both queues closed: {b.host.access[n_log:]}"
    b.check_bus()
