"""Block-level cocotb tests of rtl/vf_dma.sv: throughput at 256-byte frames, 125-cycle host
read latency with reordering across IDs (ring format A).

TX alone, RX alone, and TX with RX on one queue pair (64-byte aligned and
unaligned TX buffers). Frames/cycle over the steady window (the first quarter of
the frames is ramp-up, as ``make bench`` measures: ``sim.benches.steady_window``)
against the 100 GbE frame rate; with 64-byte beats the ratio is asserted >= 1.0.
TX frames are compared byte for byte on the stream. The bench is
``tests/vf_dma_block.py``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import cocotb
from cocotb.triggers import ClockCycles

from sim.benches import line_rate_frames_per_cycle, steady_window
from tests.vf_dma_block import Bench, make_frame, now_cycle, post_tx, within

SIZE = 256
RATE_WAIT = 50_000  # cycles a whole rate run may take


def paced(busy: int, period: int) -> Iterator[bool]:
    """Stream gaps locked to the clock from now on: the first ``busy`` cycles of every
    ``period`` may carry a beat (a beat the sink holds up does not shift the pattern)."""
    t0 = now_cycle()

    def gaps() -> Iterator[bool]:
        while True:
            yield (now_cycle() - t0) % period >= busy

    return gaps()


def ratio(stamps: list[int], size: int) -> tuple[float, float]:
    """(frames/cycle, line-rate ratio) over the steady window of the arrival ``stamps``."""
    frames, cycles, _, _ = steady_window(stamps)
    fpc = frames / cycles
    return fpc, fpc / line_rate_frames_per_cycle(size)


@cocotb.test()
async def test_tx_rate(dut):
    """TX at 256-byte frames with 125-cycle read latency, out-of-order IDs: >= line rate."""
    b = Bench(dut, read_latency=125, ooo=True)
    await b.reset()
    rng = random.Random(9)
    n = 300
    txq = b.tx_queue(0, 9)
    await txq.open()
    ring = txq.ring
    frames = []
    for _ in range(n):
        f = make_frame(rng, SIZE)
        frames.append(f)
        post_tx(txq, f, [SIZE], rng)
        if ring.prod == ring.size - 1:
            break
    await txq.ring_doorbell()
    await b.reap_tx(txq, len(frames), cycles=RATE_WAIT)
    stamps = []
    for f in frames:
        got = await b.recv_tx("the rate run's frames")
        assert got.data == f
        stamps.append(got.last_cycle)
    fpc, r = ratio(stamps, SIZE)
    dut._log.info(
        "TX %dB: %.3f frames/cycle, line_rate_ratio %.2f, %d reads outstanding at most",
        SIZE,
        fpc,
        r,
        b.host.max_reads,
    )
    assert b.host.max_reads >= 8
    if b.data_w == 512:  # 100 GbE needs 46 B/cycle: only 64-byte beats can
        assert r >= 1.0
    b.check_bus()


async def stamp_rx(rxq, n: int, stamps: list[int], cpls: list) -> None:
    """Reap ``n`` RX completions, stamping each with the cycle its write was seen."""
    while len(cpls) < n:
        got = rxq.reap_array()
        if not len(got):
            await rxq.ring.wait_completion_write(f"{n} frames")
            continue
        t = now_cycle()
        cpls.extend(got)
        stamps.extend([t] * len(got))


@cocotb.test()
async def test_rx_rate(dut):
    """RX at 256-byte frames fed back to back, 125-cycle latency: no drops, >= line rate."""
    b = Bench(dut, read_latency=125, ooo=True)
    await b.reset()
    rng = random.Random(10)
    rxq = b.rx_queue(0, 9)
    await rxq.open()  # 511 buffers of 2 KiB
    await ClockCycles(dut.clk, 400)
    n = 300
    frames = [make_frame(rng, SIZE) for _ in range(n)]
    for f in frames:
        b.rx_src.send_nowait(f, 0)
    stamps: list[int] = []
    cpls: list = []
    await within(
        stamp_rx(rxq, n, stamps, cpls), RATE_WAIT, lambda: f"RX queue 0: {len(cpls)}/{n} frames"
    )
    assert len(cpls) == n
    assert all(c["status"] == 0 and c["length"] == SIZE for c in cpls)
    assert await b.rx_drops() == 0
    fpc, r = ratio(stamps, SIZE)
    dut._log.info("RX %dB: %.3f frames/cycle, line_rate_ratio %.2f", SIZE, fpc, r)
    if b.data_w == 512:
        assert r >= 1.0
    b.check_bus()


@cocotb.test()
async def test_duplex_rate(dut):
    """TX and RX of one queue pair at the same time, 256-byte frames, 125-cycle latency."""
    ratios = await _duplex(dut, offset=0)
    if int(dut.DATA_W.value) == 512:
        assert all(r >= 1.0 for r in ratios.values()), ratios


@cocotb.test()
async def test_duplex_rate_unaligned(dut):
    """As test_duplex_rate with every TX buffer at byte offset 5 (five read beats per frame).

    Measured and logged (ARCHITECTURE.md §3.1 "Known limits"), not held to line
    rate: the frames must still arrive byte for byte with no RX drop.
    """
    await _duplex(dut, offset=5)


async def _duplex(dut, offset: int) -> dict[str, float]:
    b = Bench(dut, read_latency=125, ooo=True)
    await b.reset()
    rng = random.Random(12)
    n = 250
    txq = b.tx_queue(0, 9)
    rxq = b.rx_queue(0, 9)
    await txq.open()
    await rxq.open()  # 511 buffers of 2 KiB
    txf = [make_frame(rng, SIZE) for _ in range(n)]
    for f in txf:
        post_tx(txq, f, [SIZE], rng, offset=offset)
    rxf = [make_frame(rng, SIZE) for _ in range(n)]
    await ClockCycles(dut.clk, 300)
    # RX paced at line rate (the switch's port rate): 8 beats in 11 cycles, by the clock
    b.rx_src.gaps = paced(8, 11)
    for f in rxf:
        b.rx_src.send_nowait(f, 0)
    await txq.ring_doorbell()
    rx_stamps: list[int] = []
    cpls: list = []

    async def both() -> None:
        await stamp_rx(rxq, n, rx_stamps, cpls)
        await b.tx_sink.wait_count(n)

    await within(
        both(),
        RATE_WAIT,
        lambda: f"queue pair 0: RX {len(cpls)}/{n} frames, TX {b.tx_sink.count}/{n} frames",
    )
    tx_stamps = []
    for f in txf:
        got = await b.recv_tx("the duplex run's frames")
        assert got.data == f
        tx_stamps.append(got.last_cycle)
    assert await b.rx_drops() == 0
    ratios = {}
    for name, st in (("TX", tx_stamps), ("RX", rx_stamps)):
        fpc, ratios[name] = ratio(st, SIZE)
        dut._log.info(
            "duplex %s %dB, TX buffer offset %d: %.3f frames/cycle, line_rate %.2f",
            name,
            SIZE,
            offset,
            fpc,
            ratios[name],
        )
    b.check_bus()
    return ratios
