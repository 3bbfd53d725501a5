"""Block-level cocotb tests of rtl/vf_dma.sv: completion writes and interrupts (ARCHITECTURE §3.1,
§4, ring format A).

Completions coalesced per ring across the ring's end, the hold rules of a partly
filled completion beat (``HOLD``, ``HOLD_MAX``, congestion memory ``CONG_KEEP``)
pinned on the cycles of the completion writes the host sees, and per-queue
interrupts: after their completion is in memory, moderated, masked and unmasked.
The bench is ``tests/vf_dma_block.py``.
"""

from __future__ import annotations

import itertools
import random

import cocotb
from cocotb.triggers import ClockCycles

from tb.ref.layouts import ENTRY_BYTES
from tb.ref.regmap import IRQ_CTRL_MASK, Queue, irq_mod, irq_vector, queue_reg
from tb.vf_driver.queues import TxFrame
from tests.vf_dma_block import FUNC, Bench, make_frame, now_cycle, post_tx, within

CPL_HOLD, CPL_HOLD_MAX, CPL_CONG_KEEP = 16, 64, 64  # vf_dma_cpl_wr's defaults
TX_CPL_KIND = 0  # AXI write ID kind of TX completions: {queue, kind[1:0]} (§4)


@cocotb.test()
async def test_cpl_coalesce_per_ring(dut):
    """Completions of two queues that finish interleaved are still coalesced per ring,
    across the ring's end: 12 one-beat frames per queue from ring index 26 of 32 (with
    64-byte beats: 26-27, 28-31, wrap and GEN flip, 0-3, 4-5) take one write per beat of
    the ring they fill, where one pending beat per direction took one write per frame."""
    b = Bench(dut, read_latency=30)
    if b.nq < 2:
        return
    await b.reset()
    rng = random.Random(23)
    epb = b.data_w // 128  # completion entries per beat
    queues = [b.tx_queue(q) for q in range(2)]
    for txq in queues:
        await txq.open()

    async def batch(n: int) -> list[tuple[int, int]]:
        """n frames per queue, both queues backlogged; the TX completion writes (queue, address)."""
        sent: dict[int, list[bytes]] = {0: [], 1: []}
        for q, txq in enumerate(queues):
            for _ in range(n):
                f = make_frame(rng, 59) + bytes([q])
                post_tx(txq, f, [len(f)], rng, offset=0)
                sent[q].append(f)
        first = [txq.ring.prod - n for txq in queues]
        n_log = b.log_len()
        for txq in queues:
            await txq.ring_doorbell()
        await ClockCycles(dut.clk, 12)
        b.host.ar_hold = True  # as test_tx_two_queues: both queues wait, then alternate
        await ClockCycles(dut.clk, 200)
        b.host.ar_hold = False
        for q, txq in enumerate(queues):
            done = await b.reap_tx(txq, n)
            cpls = [tx.completion for tx in done if tx.completion is not None]
            assert [c.desc_idx for c in cpls] == [(first[q] + k) % txq.ring.size for k in range(n)]
            assert all(c.status == 0 for c in cpls)
        got = [(await b.recv_tx(f"{2 * n} frames of two queues")).data for _ in range(2 * n)]
        for q in range(2):
            assert [f for f in got if f[-1] == q] == sent[q]
        assert sum(1 for x, y in itertools.pairwise(got) if x[-1] != y[-1]) >= n
        await ClockCycles(dut.clk, 40)
        return [(wid >> 2, addr) for _, wid, addr in b.writes(n_log) if wid & 3 == TX_CPL_KIND]

    await batch(26)  # both rings to index 26
    writes = await batch(12)
    for q, txq in enumerate(queues):
        ring = txq.ring
        idx = [(26 + k) % ring.size for k in range(12)]
        beats = {ring.cpl_base + ENTRY_BYTES * (i - i % epb) for i in idx}
        mine = [a for wq, a in writes if wq == q]
        assert sorted(mine) == sorted(beats), (q, [hex(a) for a in mine])
    b.check_bus()


@cocotb.test()
async def test_cpl_hold_while_busy(dut):
    """A partly filled completion beat is written HOLD cycles after its first entry while
    the writer's output is idle, keeps coalescing while a beat written before still waits
    for the host's write channel (W held), and goes as soon as that beat is through; and
    HOLD_MAX cycles after its first entry whatever the channel; and past HOLD for a while
    after an AW of the writer waited for the channel (congestion memory). TX completions 30
    cycles apart: each its own write when W flows, one write per beat while W is held."""
    b = Bench(dut)
    await b.reset()
    rng = random.Random(41)
    epb = b.data_w // 128  # completion entries per beat
    txq = b.tx_queue(0)
    await txq.open()
    ring = txq.ring
    sent: list[bytes] = []

    async def frame(gap: int) -> int:
        """One TX frame; the host cycle it left on the stream (its completion is due)."""
        f = make_frame(rng, 60)
        post_tx(txq, f, [len(f)], rng)
        await txq.ring_doorbell()
        assert (await b.recv_tx(f"frame {len(sent)}")).data == f
        sent.append(f)
        t = now_cycle()
        await ClockCycles(dut.clk, gap)
        return t

    def writes(since: int, beat: int) -> list[int]:
        """Cycles of the TX completion writes (AWs) to the ring's beat ``beat``."""
        a = ring.cpl_base + ENTRY_BYTES * epb * beat
        return [c for c, wid, addr in b.writes(since) if wid & 3 == TX_CPL_KIND and addr == a]

    async def to_last_lane():
        while ring.prod % epb != epb - 1:
            await frame(30)

    # output idle: entries 0 and 1 share beat 0 but come 30 cycles apart, two writes
    n0 = b.log_len()
    t0 = await frame(30)
    await frame(30)
    w = writes(n0, 0)
    assert len(w) == 2, w
    assert t0 + CPL_HOLD - 12 <= w[0] <= t0 + CPL_HOLD + 8, (t0, w)

    # W held: a full beat is written at once and its W waits; the next beat's entries,
    # 30 cycles apart, keep coalescing, and it goes as soon as the held W is through
    await to_last_lane()
    b.host.w_hold = True
    await frame(30)
    beat = ring.prod // epb
    n1 = b.log_len()
    await frame(30)
    await frame(10)
    release = now_cycle()
    b.host.w_hold = False
    await ClockCycles(dut.clk, 40)
    w = writes(n1, beat)
    assert len(w) == 1, (release, w)
    if epb > 2:  # with two entries per beat the second fills it: written at once
        assert release <= w[0] <= release + 8, (release, w)

    # W held longer than HOLD_MAX: the beat goes HOLD_MAX cycles after its first entry
    await to_last_lane()
    b.host.w_hold = True
    await frame(30)
    beat = ring.prod // epb
    n2 = b.log_len()
    t2 = await frame(CPL_HOLD_MAX + 40)
    w = writes(n2, beat)
    assert len(w) == 1, (t2, w)
    assert t2 + CPL_HOLD_MAX - 12 <= w[0] <= t2 + CPL_HOLD_MAX + 8, (t2, w)
    b.host.w_hold = False

    # AW held longer than AW_WAIT: the channel counts as congested for CONG_KEEP cycles
    # after, and a beat started meanwhile waits past HOLD though the output is idle
    await to_last_lane()
    b.host.aw_hold = True
    await frame(12)  # a full beat: its AW waits in the engine's write arbiter
    for _ in range(epb):  # the next beat, filled: its AW waits in the writer's register
        await frame(12)
    b.host.aw_hold = False
    released = now_cycle()
    await ClockCycles(dut.clk, 4)
    beat = ring.prod // epb
    n3 = b.log_len()
    t3 = await frame(CPL_HOLD_MAX + 40)
    w = writes(n3, beat)
    assert len(w) == 1, (released, t3, w)
    assert t3 + CPL_HOLD + 10 <= w[0] <= min(t3 + CPL_HOLD_MAX, released + CPL_CONG_KEEP) + 8, (
        released,
        t3,
        w,
    )

    # output idle, a beat filled faster than HOLD: written at once, not HOLD cycles after
    # its first entry (a full beat cannot take more entries)
    while ring.prod % epb:
        await frame(30)
    await ClockCycles(dut.clk, CPL_HOLD_MAX + 40)
    beat = ring.prod // epb
    n4 = b.log_len()
    burst = [make_frame(rng, 60) for _ in range(epb)]
    for f in burst:
        post_tx(txq, f, [len(f)], rng)
    await txq.ring_doorbell()
    left = []
    for f in burst:
        assert (await b.recv_tx("a burst frame")).data == f
        sent.append(f)
        left.append(now_cycle())
    await ClockCycles(dut.clk, CPL_HOLD_MAX + 40)
    assert left[-1] - left[0] <= CPL_HOLD - 8, f"burst too slow to show the rule: {left}"
    w = writes(n4, beat)
    assert len(w) == 1, (left, w)
    assert w[0] <= left[-1] + 6 < left[0] + CPL_HOLD, (left, w)

    done = await b.reap_tx(txq, len(sent))
    cpls = [tx.completion for tx in done if tx.completion is not None]
    assert [c.desc_idx for c in cpls] == list(range(len(sent)))
    assert all(c.status == 0 and c.length == len(f) for c, f in zip(cpls, sent, strict=True))
    b.check_bus()


TIMER = 400  # MIN_INTERVAL of the moderation timer check, cycles


@cocotb.test()
async def test_irq(dut):
    """Per-queue interrupts after the completion lands; moderation; mask and unmask."""
    b = Bench(dut)
    await b.reset()
    irq = b.irq
    rng = random.Random(31)
    txq = b.tx_queue(0)
    rxq = b.rx_queue(0)
    await txq.open()
    await rxq.open(post=0)
    tx_vec, rx_vec = irq_vector(0, rx=False), irq_vector(0, rx=True)
    # the completion is in memory when its interrupt arrives
    seen: list[list[TxFrame]] = []

    async def on_tx_irq() -> None:
        while True:
            await irq.wait_beyond(FUNC, tx_vec, len(seen))
            seen.append(txq.reap())  # at the cycle the interrupt was taken

    watcher = cocotb.start_soon(on_tx_irq())
    for _ in range(3):
        f = make_frame(rng, 100)
        post_tx(txq, f, [100], rng)
        await txq.ring_doorbell()
        await b.recv_tx("a 100-byte frame")
        await ClockCycles(dut.clk, 60)
    watcher.cancel()
    assert irq.count(FUNC, tx_vec) == 3 and irq.function_count(FUNC) == 3, (
        irq.count(FUNC, tx_vec),
        irq.function_count(FUNC),
    )
    assert len(seen) == 3 and all(
        done and done[0].completion is not None and done[0].completion.status == 0 for done in seen
    ), seen
    # moderation on the RX vector (1): at least 300 cycles apart or 8 frames
    await rxq.refill(rxq.ring.size - 1)
    await b.bar.write(queue_reg(0, Queue.RXQ_IRQ_MOD), irq_mod(300, 8))
    rx0, all0 = irq.count(FUNC, rx_vec), irq.function_count(FUNC)
    rx_irqs: list[int] = []

    async def stamp_rx_irqs() -> None:
        while True:
            n = await irq.wait_beyond(FUNC, rx_vec, rx0 + len(rx_irqs))
            rx_irqs.extend([now_cycle()] * (n - rx0 - len(rx_irqs)))

    stamper = cocotb.start_soon(stamp_rx_irqs())
    for _ in range(20):
        b.rx_src.send_nowait(make_frame(rng, 128), 0)
    await b.reap_rx(rxq, 20)
    await ClockCycles(dut.clk, 800)
    stamper.cancel()
    assert irq.function_count(FUNC) - all0 == len(rx_irqs), "an interrupt on another vector"
    assert 1 <= len(rx_irqs) <= 3, rx_irqs
    assert all(y - x >= 300 for x, y in itertools.pairwise(rx_irqs)), rx_irqs
    # mask: no interrupt; unmask: the pending one fires
    await b.bar.write(queue_reg(0, Queue.RXQ_IRQ_MOD), 0)
    await b.bar.write(queue_reg(0, Queue.RXQ_IRQ_CTRL), IRQ_CTRL_MASK)
    rx1, all1 = irq.count(FUNC, rx_vec), irq.function_count(FUNC)
    for _ in range(2):
        b.rx_src.send_nowait(make_frame(rng, 128), 0)
    await b.reap_rx(rxq, 2)
    await ClockCycles(dut.clk, 100)
    assert irq.function_count(FUNC) == all1, "an interrupt while the vector is masked"
    await b.bar.write(queue_reg(0, Queue.RXQ_IRQ_CTRL), 0)
    await within(
        irq.wait_beyond(FUNC, rx_vec, rx1),
        10,
        lambda: f"no interrupt on vector {rx_vec} within 10 cycles of the unmask",
    )
    await ClockCycles(dut.clk, 10)
    assert irq.count(FUNC, rx_vec) == rx1 + 1 and irq.function_count(FUNC) == all1 + 1
    # the timer: COUNT_THRESH is never reached; the oldest entry's wait of MIN_INTERVAL
    # fires the vector once, for both entries (docs/ARCHITECTURE.md §3.1 *Q_IRQ_MOD)
    await b.bar.write(queue_reg(0, Queue.RXQ_IRQ_MOD), irq_mod(TIMER, 200))
    rx2, all2 = irq.count(FUNC, rx_vec), irq.function_count(FUNC)
    b.rx_src.send_nowait(make_frame(rng, 128), 0)
    await b.reap_rx(rxq, 1)
    first = now_cycle()  # the first entry is in memory: its wait has begun
    b.rx_src.send_nowait(make_frame(rng, 128), 0)  # a younger one, pending with it
    await b.reap_rx(rxq, 1)
    await within(
        irq.wait_beyond(FUNC, rx_vec, rx2),
        TIMER + 100,
        lambda: f"no interrupt on vector {rx_vec} within {TIMER + 100} cycles of an entry",
    )
    fired = now_cycle()
    assert TIMER - 4 <= fired - first <= TIMER + 40, (first, fired)
    await ClockCycles(dut.clk, 2 * TIMER)
    assert irq.count(FUNC, rx_vec) == rx2 + 1 and irq.function_count(FUNC) == all2 + 1
    b.check_bus()
