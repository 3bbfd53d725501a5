"""Block-level cocotb tests of rtl/vf_dma.sv: frames through the rings (ring format A, §4).

TX frames of 1..4 buffers at any byte alignment with VLAN insert requests, RX
frames over buffers of mixed sizes, RX refill on demand, jumbo frames, RX
steering by the flow hash, and two TX queues served round-robin; every frame is
compared byte for byte (TX stream, RX buffers) and every completion field against
what the driver posted. The bench is ``tests/vf_dma_block.py``.
"""

from __future__ import annotations

import itertools
import random

import cocotb
from cocotb.triggers import ClockCycles
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from tb.ref.regmap import FUNC_ID_MAGIC, FUNC_ID_QUEUES_SHIFT, RX_STEER_HASH, Func
from tb.ref.vf_dma_model import rx_flow_queue
from tb.uvm.vf_dma import MAX_FRAME
from tb.vf_driver.queues import TxFrame, TxQueue
from tests.vf_dma_block import FUNC, Bench, make_frame, post_tx, rand_splits


@cocotb.test()
async def test_func_id(dut):
    b = Bench(dut)
    await b.reset()
    v = await b.bar.read(Func.FUNC_ID)
    assert v >> 16 == FUNC_ID_MAGIC
    assert v & 0xFF == FUNC
    assert (v >> FUNC_ID_QUEUES_SHIFT) & 0xFF == b.nq


async def check_tx(b: Bench, txq: TxQueue, sent: list[tuple[bytes, int | None, TxFrame]]) -> None:
    """The frames ``sent`` (bytes, VLAN insert, the driver's record) completed and on the
    stream in order, byte for byte, with their sideband."""
    if not sent:
        return
    b.dut._log.info("tx: checking %d frames", len(sent))
    done = await b.reap_tx(txq, len(sent))
    for (f, vlan, tx), got in zip(sent, done, strict=True):
        assert got is tx, "completions out of the order the frames were posted in"
        rx = await b.recv_tx(f"a {len(f)}-byte frame")
        assert rx.data == f, f"frame mismatch len {len(f)} vs {len(rx.data)}"
        user = rx.user
        assert user & 0xFF == FUNC
        assert (user >> 8) & 1 == (vlan is not None)
        if vlan is not None:
            assert user >> 9 == vlan
        c = tx.completion
        assert c is not None
        assert c.desc_idx == tx.last_slot and c.length == len(f) and c.status == 0, c


@cocotb.test()
async def test_tx_frames(dut):
    """Multi-buffer frames at any alignment, VLAN insert request, completions with GEN."""
    b = Bench(dut, read_latency=20, backpressure=True)
    await b.reset()
    rng = random.Random(11)
    txq = b.tx_queue(0, 5)
    await txq.open()
    ring = txq.ring
    sent: list[tuple[bytes, int | None, TxFrame]] = []
    total_descs = 0
    for k in range(40):  # > one ring: exercises wrap and the GEN flip
        n = rng.choice([60, 64, 65, 127, 128, 256, 300, 1000, 1514, rng.randint(60, 2000)])
        f = make_frame(rng, n)
        splits = rand_splits(rng, n, 4)
        if total_descs + len(splits) >= ring.size - 1 or k == 39:
            await txq.ring_doorbell()
            await check_tx(b, txq, sent)
            sent.clear()
            total_descs = 0
        vlan = rng.choice([None, None, 0x2005])
        tx = post_tx(txq, f, splits, rng, vlan)
        total_descs += len(splits)
        assert tx.last_slot == (ring.prod - 1) % ring.size
        sent.append((f, vlan, tx))
    await txq.ring_doorbell()
    await check_tx(b, txq, sent)
    await ClockCycles(dut.clk, 20)  # the last completion's B response
    assert await txq.status() == 0
    b.check_bus()


@cocotb.test()
async def test_rx_frames(dut):
    """Frames span several buffers; completions per contract; no-buffer drops are counted."""
    b = Bench(dut, read_latency=10)
    await b.reset()
    rng = random.Random(5)
    rxq = b.rx_queue(0, 5)
    await rxq.open(post=0)
    ring = rxq.ring
    # no buffers posted: frames are dropped and counted
    for _ in range(3):
        b.rx_src.send_nowait(make_frame(rng, 100), 0)
    await ClockCycles(dut.clk, 200)
    assert await b.rx_drops() == 3
    bufs: dict[int, tuple[int, int]] = {}
    for k in range(ring.size - 1):
        n = rng.choice([64, 128, 256, 2048])
        bufs[k] = (b.mem.alloc(n, 64), n)
    assert rxq.post_buffers([bufs[k] for k in range(ring.size - 1)]) == ring.size - 1
    await rxq.ring_doorbell()
    expect = []
    posted = ring.size - 1
    idx = 0
    while True:
        n = rng.choice([60, 64, 65, 200, 1514, rng.randint(60, 3000)])
        # how many buffers the frame takes
        need, cap, j = 0, 0, idx
        while cap < n and need < posted:
            cap += bufs[j][1]
            need += 1
            j = (j + 1) % ring.size
        if cap < n:
            break
        f = make_frame(rng, n)
        stripped = rng.random() < 0.3
        tuser = ((0x3007 << 1) | 1) if stripped else 0
        b.rx_src.send_nowait(f, tuser)
        expect.append((f, idx, need, stripped))
        idx = j
        posted -= need
    dut._log.info("rx: %d frames into %d buffers", len(expect), ring.size - 1 - posted)
    assert len(expect) >= 5
    frames = await b.reap_rx(rxq, len(expect))
    for (f, first, need, stripped), fr in zip(expect, frames, strict=True):
        c = fr.completion
        assert c.desc_idx == first and c.num_bufs == need, c
        assert c.length == len(f) and c.status == 0, c
        assert c.vlan_stripped == stripped
        if stripped:
            assert c.vlan_tci == 0x3007
        assert [a for a, _ in fr.bufs] == [bufs[(first + k) % ring.size][0] for k in range(need)]
        assert fr.data == f
    await ClockCycles(dut.clk, 20)
    assert await rxq.status() == 0
    assert await b.rx_drops() == 3
    b.check_bus()


@cocotb.test()
async def test_rx_refill_when_starved(dut):
    """The RX descriptor fetcher reads in batches, but a frame waiting for more buffers
    than are fetched gets them at once: after a 20-buffer frame the queue holds
    DESC_DEPTH - 4 buffers and a batch no longer fits, and the next frame needs
    DESC_DEPTH - 3 (64-byte buffers). Without the refill on demand it would wait
    forever (the queue has buffers posted, so it is not dropped either)."""
    depth = int(dut.DESC_DEPTH.value)
    b = Bench(dut, read_latency=20)
    await b.reset()
    rng = random.Random(17)
    rxq = b.rx_queue(0, 8, 64)
    await rxq.open()  # 255 buffers of 64 bytes, buffer k at ring slot k
    await ClockCycles(dut.clk, 300)  # the fetcher fills the queue's FIFO: DESC_DEPTH buffers
    frames = [make_frame(rng, 20 * 64), make_frame(rng, (depth - 3) * 64)]
    for f in frames:
        b.rx_src.send_nowait(f, 0)
    got = await b.reap_rx(rxq, 2, cycles=5000)
    first = 0
    for f, fr in zip(frames, got, strict=True):
        c = fr.completion
        need = len(f) // 64
        assert c.desc_idx == first and c.num_bufs == need, c
        assert c.length == len(f) and c.status == 0, c
        assert fr.data == f
        first += need
    assert await b.rx_drops() == 0
    b.check_bus()


@cocotb.test()
async def test_tx_two_queues(dut):
    """Both TX queues busy: frames of each queue in order, the queues served round-robin."""
    b = Bench(dut, read_latency=30, ooo=True)
    if b.nq < 2:
        return
    await b.reset()
    rng = random.Random(21)
    queues = [b.tx_queue(q) for q in range(2)]
    sent: dict[int, list[bytes]] = {0: [], 1: []}
    for q, txq in enumerate(queues):
        await txq.open()
        for _ in range(12):
            f = make_frame(rng, rng.randint(60, 700)) + bytes([q])
            post_tx(txq, f, rand_splits(rng, len(f), 2), rng)
            sent[q].append(f)
    for txq in queues:
        await txq.ring_doorbell()
    # The scheduler starts a frame per cycle, as fast as checked frames arrive, so
    # queue 0's first batch could all go before queue 1's descriptors are back. Once
    # the descriptor reads are out, the host holds AR: the first frame's read waits,
    # every frame of both queues is fetched and checked, and the order below is the
    # arbiter's with both queues waiting.
    await ClockCycles(dut.clk, 12)
    b.host.ar_hold = True
    await ClockCycles(dut.clk, 200)
    b.host.ar_hold = False
    for q, txq in enumerate(queues):
        done = await b.reap_tx(txq, len(sent[q]))
        assert all(tx.completion is not None and tx.completion.status == 0 for tx in done)
    got = [(await b.recv_tx("24 frames of two queues")).data for _ in range(24)]
    await ClockCycles(dut.clk, 50)
    assert not b.tx_sink.frames
    order = [f[-1] for f in got]
    for q in range(2):
        assert [f for f in got if f[-1] == q] == sent[q]
    # round-robin: once both queues have frames ready, the service alternates
    switches = sum(1 for x, y in itertools.pairwise(order) if x != y)
    assert switches >= 6, order
    b.check_bus()


@cocotb.test()
async def test_jumbo(dut):
    """9018-byte frames: TX from buffers crossing 4 KiB pages, RX over five 2 KiB buffers."""
    b = Bench(dut, read_latency=40, ooo=True)
    await b.reset()
    rng = random.Random(51)
    txq = b.tx_queue(0)
    rxq = b.rx_queue(0)
    await txq.open()
    await rxq.open(post=0)
    frames = [make_frame(rng, MAX_FRAME) for _ in range(3)]
    for f in frames:
        post_tx(txq, f, [4000, 5018], rng)
    await txq.ring_doorbell()
    done = await b.reap_tx(txq, 3)
    assert [tx.completion.length for tx in done if tx.completion] == [MAX_FRAME] * 3
    for f in frames:
        assert (await b.recv_tx("a jumbo frame")).data == f
    await rxq.refill(15)  # the queue's own 2 KiB buffers in slots 0..14
    await ClockCycles(dut.clk, 200)
    for f in frames:
        b.rx_src.send_nowait(f, 0)
    got = await b.reap_rx(rxq, 3)
    for k, (f, fr) in enumerate(zip(frames, got, strict=True)):
        c = fr.completion
        assert c.desc_idx == 5 * k and c.num_bufs == 5, c
        assert c.length == len(f) and c.status == 0, c
        assert fr.data == f
    b.check_bus()


@cocotb.test()
async def test_rx_steering(dut):
    """RX_STEER.HASH spreads IPv4 flows over the RX queues by the documented hash."""
    b = Bench(dut)
    nq = b.nq
    if nq < 2 or b.data_w < 512:
        return
    await b.reset()
    rng = random.Random(61)
    queues = [b.rx_queue(q) for q in range(nq)]
    for rxq in queues:
        await rxq.open()  # every slot but one posted with a 2 KiB buffer
    await b.bar.write(Func.RX_STEER, RX_STEER_HASH)
    assert await b.bar.read(Func.RX_STEER) == RX_STEER_HASH
    frames = []
    for k in range(24):
        p = Ether(src="02:00:00:00:00:05", dst="02:00:00:00:00:09")
        if k % 7 == 3:
            p = p / Dot1Q(vlan=5)
        if k % 11 == 5:
            f = bytes(p / b"\x08\x06" / bytes(60))  # not IPv4
        else:
            f = bytes(
                p
                / IP(src=f"10.0.{rng.randrange(256)}.5", dst="10.0.0.9")
                / UDP(sport=rng.randrange(1024, 65535), dport=4789)
                / bytes(rng.randrange(20, 300))
            )
        frames.append(f)
        b.rx_src.send_nowait(f, 0)
    want = [[f for f in frames if rx_flow_queue(f, nq) == q] for q in range(nq)]
    assert all(want), [len(w) for w in want]
    for q, rxq in enumerate(queues):
        got = await b.reap_rx(rxq, len(want[q]))
        for f, fr in zip(want[q], got, strict=True):
            c = fr.completion
            assert c.length == len(f) and c.num_bufs == 1 and c.status == 0
            assert fr.data == f
    b.check_bus()
