"""vf_dma benchmark (``make bench``): TX and RX throughput and latency in simulated cycles.

Run by :mod:`sim.benches.vf_dma`; parameters come from the environment:
``BENCH_OUT`` (JSON rows), ``BENCH_SIZES`` (comma-separated frame sizes),
``BENCH_QUEUES`` (comma-separated queue counts), ``BENCH_PATHS`` (``tx,rx``),
``BENCH_RING_FMT`` (``A``, or ``B`` for an engine built with ring format B: the
vmxnet3 drivers of ``tb/vf_driver/upt_queues.py``, RX head buffers of 2 KiB in
ring 1 and body buffers of 2 KiB in ring 2).

Set-up of every point: a fresh host memory with a passthrough IOMMU domain,
the DMA responder at a host read latency of 125 cycles (design brief §2),
responses in order, no bus backpressure; the TX stream is always ready.
Buffers are those of the driver model (``tb/vf_driver/queues.py``): TX
one 64-byte-aligned buffer per frame, RX 2 KiB buffers (a 9000-byte frame
takes five).

Throughput window. TX: all frames of a point are posted before the first
doorbell and the stream is always ready, so the engine runs as fast as it
can. RX: frames are offered at RX_OFFER (1.10) times the 100 GbE frame rate
of their size (one beat per cycle at most, the switch port's peak), so an
engine that keeps up delivers more than line rate; offering faster than
that would only measure a FIFO filling up. The first quarter of the frames
is ramp-up (descriptor prefetch, the 125-cycle pipeline fill) and is left
out: frames/cycle = (N - 1 - k) / (t[N-1] - t[k]) with k = N // 4, where t
is the cycle of a frame's last beat on the TX stream, or of the write of
its RX completion. The window holds 3/4 of N frames, N chosen per size so
that it spans several thousand cycles.

Latency, on an idle engine (the throughput run drained), mean of
``PROBES`` single frames: TX from the doorbell's register write to the
frame's first beat on the stream; RX from the frame's last beat into the
engine to the write of its completion entry (RX buffers already fetched).
The mean RX latency inside the throughput window is reported as well
(``extra.latency_loaded``).

RX frames that the engine cannot take at the offered rate are dropped and
counted by the RTL (``RXQ_DROPS``); they appear in ``extra.drops`` and the
throughput is that of the delivered frames.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, Event

from sim.benches import line_rate_frames_per_cycle, steady_window, write_measurements
from tb.host import AxiDmaResponder, DmaResponderConfig, HostMemory, Iommu
from tb.host.mmio import FunctionBar
from tb.ref.layouts import ENTRY_BYTES
from tb.ref.regmap import Func, Queue, queue_reg
from tb.ref.vf_dma_model import rx_flow_queue
from tb.uvm.axis import StreamFrame, StreamSink, StreamSource
from tb.uvm.regport import RegPortMaster
from tb.vf_driver.queues import RxQueue, TxQueue
from tb.vf_driver.upt_queues import UptRxQueue, UptTxQueue

PERIOD_NS = 4
FUNC = 3
READ_LATENCY = 125
PROBES = 4
RX_OFFER = 1.10  # RX offered load, times the 100 GbE frame rate (capped at one beat per cycle)
RX_BUF = 2048
MEM_BYTES = 96 << 20


def frames_for(size: int) -> int:
    """Frames per queue: enough that the window spans several thousand cycles."""
    if size <= 256:
        return 1024
    if size <= 1518:
        return 384
    return 128


def make_frame(rng: np.random.Generator, size: int, src_ip: int, port: int) -> bytes:
    """Ethernet/IPv4/UDP header (the RX hash reads it) and a random payload, ``size`` bytes."""
    eth = bytes.fromhex("020000000009020000000005") + b"\x08\x00"
    ip = bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]) + src_ip.to_bytes(4, "big")
    ip += bytes([10, 0, 0, 9])
    udp = port.to_bytes(2, "big") + (4789).to_bytes(2, "big") + bytes(4)
    hdr = eth + ip + udp
    return hdr + rng.integers(0, 256, size - len(hdr), dtype=np.uint8).tobytes()


def cycle_now() -> int:
    return int(get_sim_time("ns")) // PERIOD_NS


@dataclass
class Bench:
    """One benchmark point's DUT set-up."""

    dut: object
    mem: HostMemory
    host: AxiDmaResponder
    bar: FunctionBar
    regs: RegPortMaster


def ring_fmt_b() -> bool:
    fmt = os.environ.get("BENCH_RING_FMT", "A")
    if fmt not in ("A", "B"):
        raise ValueError(f"BENCH_RING_FMT={fmt!r}: A or B")
    return fmt == "B"


async def setup(dut) -> Bench:
    dut.rst.value = 1
    dut.func_num.value = FUNC
    dut.func_enable.value = 1
    dut.m_irq_ready.value = 1
    regs = RegPortMaster(dut, FUNC, PERIOD_NS)
    await ClockCycles(dut.clk, 8)
    dut.rst.value = 0
    mem = HostMemory(MEM_BYTES)
    iommu = Iommu()
    iommu.create_domain(FUNC, passthrough=True, limit=MEM_BYTES)
    cfg = DmaResponderConfig(read_latency=READ_LATENCY)
    host = AxiDmaResponder(dut, "m_axi", dut.clk, mem, iommu, cfg, rng=random.Random(1))
    await ClockCycles(dut.clk, 4)
    return Bench(dut, mem, host, FunctionBar(regs, FUNC), regs)  # type: ignore[arg-type]


async def bench_tx(dut, size: int, nq: int) -> dict:
    b = await setup(dut)
    rng = np.random.default_rng(size * 10 + nq)
    n = frames_for(size)
    size_log2 = max(5, (n + 1).bit_length())
    sink = StreamSink(dut, "m_axis_tx", PERIOD_NS)
    tx_queue = UptTxQueue if ring_fmt_b() else TxQueue
    queues = [tx_queue(b.bar, b.mem, q, size_log2, buf_bytes=size + 64) for q in range(nq)]
    sent: list[bytes] = []
    for q, txq in enumerate(queues):
        await txq.open()
        for i in range(n):
            f = make_frame(rng, size, 0x0A000000 + q, i)
            txq.post(f)
            sent.append(f)
    for txq in queues:
        await txq.ring_doorbell()
    await sink.wait_count(n * nq)
    got = list(sink.frames)
    sink.frames.clear()
    per_q = {q: [f for f in sent if f[29] == q] for q in range(nq)}
    for q in range(nq):  # each queue's frames arrive in order and unchanged
        assert [f.data for f in got if f.data[29] == q] == per_q[q], f"TX queue {q} data"
    frames, cycles, _, _ = steady_window([f.last_cycle for f in got])
    # drain the completions, then probe latency on the idle engine
    for txq in queues:
        while txq.in_flight:
            await txq.wait_reaped()
    lat = []
    for i in range(PROBES):
        queues[0].post(make_frame(rng, size, 0x0A000000, 60000 + i))
        await ClockCycles(dut.clk, 4)
        await queues[0].ring_doorbell()
        t0 = b.regs.last_write_cycle
        f = await sink.recv()
        lat.append(f.first_cycle - t0)
        while queues[0].in_flight:
            await queues[0].wait_reaped()
    assert all(
        txq.ring.cpl_idx == (n + (PROBES if q == 0 else 0)) % txq.ring.size
        for q, txq in enumerate(queues)
    )
    sink.stop()
    b.host.stop()
    return {
        "path": "tx",
        "queues": nq,
        "frame_size": size,
        "frames": frames,
        "cycles": cycles,
        "latency_cycles": sum(lat) / len(lat),
        "extra": {"frames_total": n * nq},
    }


async def bench_rx(dut, size: int, nq: int) -> dict:
    b = await setup(dut)
    rng = np.random.default_rng(size * 10 + nq + 5)
    n = frames_for(size)
    bufs = -(-size // RX_BUF)
    size_log2 = min(12, max(5, (n * bufs + PROBES * bufs + 1).bit_length()))
    src = StreamSource(dut, "s_axis_rx", PERIOD_NS)
    queues: list[RxQueue] | list[UptRxQueue]
    if ring_fmt_b():  # a head buffer in ring 1, the rest of a frame in ring 2
        queues = [UptRxQueue(b.bar, b.mem, q, size_log2, RX_BUF) for q in range(nq)]
    else:
        queues = [RxQueue(b.bar, b.mem, q, size_log2, RX_BUF) for q in range(nq)]
    for rxq in queues:
        await rxq.open()
    if nq > 1:
        await b.bar.write(Func.RX_STEER, 1)
    # frames whose flow hash spreads them evenly over the queues
    frames: list[tuple[int, bytes]] = []
    port = 1
    while len(frames) < n * nq:
        want = len(frames) % nq
        f = make_frame(rng, size, 0x0A000005, port)
        port += 1
        if rx_flow_queue(f, nq, nq > 1) == want:
            frames.append((want, f))
    await ClockCycles(dut.clk, 2 * READ_LATENCY + 200)  # descriptors prefetched
    log: list[tuple[int, int, bytes]] = []  # (cycle of the completion write, queue, data)
    arrived = Event()
    # offered at RX_OFFER x the 100 GbE frame rate, one beat per cycle at most
    period = 1 / (RX_OFFER * line_rate_frames_per_cycle(size))
    beats = -(-size // 64)
    sent: list[StreamFrame] = []
    idle_total = 0
    for i, (_, f) in enumerate(frames):
        idle = max(0, int(i * period) - beats * i - idle_total)
        idle_total += idle
        sent.append(src.send_nowait(f, idle_before=idle))
    watches = [
        b.mem.watch(r.ring.cpl_base, r.ring.cpl_base + r.ring.cpl_size * ENTRY_BYTES)
        for r in queues
    ]

    async def reap(q: int) -> None:
        while True:
            await watches[q].wait()
            for fr in queues[q].reap():
                log.append((cycle_now(), q, fr.data))
                arrived.set()

    tasks = [cocotb.start_soon(reap(q)) for q in range(nq)]
    await src.wait_idle()
    drops = 0
    for _ in range(100):  # every offered frame is delivered or counted as dropped
        await ClockCycles(dut.clk, 4 * READ_LATENCY)
        drops = 0
        for q in range(nq):
            drops += await b.bar.read(queue_reg(q, Queue.RXQ_DROPS))
        if len(log) + drops == n * nq:
            break
    assert len(log) + drops == n * nq, (len(log), drops)
    for q in range(nq):  # delivered frames are in order and unchanged
        exp = iter(f for qq, f in frames if qq == q)
        for _, qq, data in log:
            if qq == q:
                assert any(data == e for e in exp), f"RX queue {q}: unexpected or reordered frame"
    frames_w, cycles, _, _ = steady_window([t for t, _, _ in log])
    by_data = {f.data: f.last_cycle for f in sent}
    loaded = [t - by_data[d] for t, _, d in log]
    # idle latency probes: last beat in -> completion written
    lat = []
    for i in range(PROBES):
        f = make_frame(rng, size, 0x0A000005, 50000 + i)
        n_before = len(log)
        fr = src.send_nowait(f)
        while len(log) == n_before:
            arrived.clear()
            await arrived.wait()
        t, _, data = log[-1]
        assert data == f
        lat.append(t - fr.last_cycle)
    for t in tasks:
        t.cancel()
    src.stop()
    b.host.stop()
    return {
        "path": "rx",
        "queues": nq,
        "frame_size": size,
        "frames": frames_w,
        "cycles": cycles,
        "latency_cycles": sum(lat) / len(lat),
        "extra": {
            "frames_offered": n * nq,
            "offered_ratio": RX_OFFER,
            "drops": drops,
            "latency_loaded": round(sum(loaded) / max(1, len(loaded)), 1),
        },
    }


@cocotb.test()
async def bench(dut) -> None:
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    out = Path(os.environ["BENCH_OUT"])
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "256").split(",")]
    nqs = [int(s) for s in os.environ.get("BENCH_QUEUES", "1").split(",")]
    paths = os.environ.get("BENCH_PATHS", "tx,rx").split(",")
    rows: list[dict] = []
    for path in paths:
        for nq in nqs:
            for size in sizes:
                fn = bench_tx if path == "tx" else bench_rx
                row = await fn(dut, size, nq)
                dut._log.info("bench %s", row)
                rows.append(row)
                write_measurements(out, rows)
