"""tb/net/hdl_stream against the Python models it replaces, on sim/tops/hdl_stream_pair_top.sv.

Source: the same frames, pushed at the same simulated times, go into the HDL
source (channel a) and into a Python reference source (channel c: cocotbext-axi's
AxiStreamSource, or FastStreamSource when the case paces the link); both
channels end in cocotbext-axi sinks with the same pause pattern. Frames and the
edge each frame ends at must be identical.

Sink: cocotbext-axi sources with the same pause pattern send the same frames
into the HDL sink (channel b) and into FastStreamSink (channel d): frames and
the edge each one is complete at must be identical.
"""

from __future__ import annotations

import itertools
import logging
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_steps, get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from tb.net.axis_fast import FastStreamSink, FastStreamSource, WirePacing
from tb.net.hdl_stream import HdlStreamSink, HdlStreamSource

PERIOD_NS = 4


class Tb:
    def __init__(self, dut, pacing: WirePacing | None = None) -> None:
        self.dut = dut
        clk = dut.clk
        cocotb.start_soon(Clock(clk, PERIOD_NS, unit="ns").start())
        self.lanes = len(dut.a_m_axis_tdata) // 8
        self.hdl_src = HdlStreamSource(dut, "a_src", clk, int(dut.SRC_CH.value), self.lanes, pacing)
        self.ref_src: AxiStreamSource | FastStreamSource
        if pacing is None:
            self.ref_src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "c_s_axis"), clk, dut.rst)
        else:  # cocotbext-axi has no link pacing: FastStreamSource is the reference
            self.ref_src = FastStreamSource(dut, "c_s_axis", clk, pacing)
        self.sink_a = AxiStreamSink(AxiStreamBus.from_prefix(dut, "a_m_axis"), clk, dut.rst)
        self.sink_c = AxiStreamSink(AxiStreamBus.from_prefix(dut, "c_m_axis"), clk, dut.rst)
        self.src_b = AxiStreamSource(AxiStreamBus.from_prefix(dut, "b_s_axis"), clk, dut.rst)
        self.src_d = AxiStreamSource(AxiStreamBus.from_prefix(dut, "d_s_axis"), clk, dut.rst)
        self.hdl_sink = HdlStreamSink(dut, "b_sink", clk, int(dut.SINK_CH.value), self.lanes)
        self.ref_sink = FastStreamSink(dut, "d_m_axis", clk)
        for m in (self.ref_src, self.sink_a, self.sink_c, self.src_b, self.src_d):
            if hasattr(m, "log"):
                m.log.setLevel(logging.WARNING)

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def pause_sinks(self, pattern: list[int]) -> None:
        self.sink_a.set_pause_generator(itertools.cycle(pattern))
        self.sink_c.set_pause_generator(itertools.cycle(pattern))

    def pause_sources(self, pattern: list[int]) -> None:
        self.src_b.set_pause_generator(itertools.cycle(pattern))
        self.src_d.set_pause_generator(itertools.cycle(pattern))


def random_frames(rng: random.Random, n: int) -> list[bytes]:
    sizes = [1, 64, 1518, 9000, 2, 63, 65, 60, 128]
    sizes += [rng.choice([rng.randint(1, 200), rng.randint(1, 9000)]) for _ in range(n)]
    rng.shuffle(sizes)
    return [rng.randbytes(s) for s in sizes]


def pattern(rng: random.Random, p: float) -> list[int]:
    return [int(rng.random() < p) for _ in range(997)]


async def collect(sink, n: int, what: str) -> list:
    got: list = []

    async def run() -> None:
        while len(got) < n:
            got.append(await sink.recv())

    try:
        await with_timeout(cocotb.start_soon(run()), 4_000_000, "ns")
    except SimTimeoutError:
        raise AssertionError(f"{what}: {len(got)} of {n} frames arrived") from None
    return got


async def push_schedule(tb: Tb, frames: list[bytes], gaps: list[int]) -> None:
    """Frame i goes to both sources after ``gaps[i]`` ns (0: same time step as the previous)."""
    for fr, gap in zip(frames, gaps, strict=True):
        if gap:
            await Timer(gap, "ns")
        tb.hdl_src.send_nowait(fr)
        tb.ref_src.send_nowait(fr)


async def compare_sources(tb: Tb, frames: list[bytes], gaps: list[int]) -> None:
    sent_before = int(tb.dut.a_src_frames.value)
    feeder = cocotb.start_soon(push_schedule(tb, frames, gaps))
    task_a = cocotb.start_soon(collect(tb.sink_a, len(frames), "HDL source"))
    task_c = cocotb.start_soon(collect(tb.sink_c, len(frames), "reference source"))
    await feeder
    # wait() returns once the last frame's last beat was taken (the slice still holds it).
    await with_timeout(tb.hdl_src.wait(), 4_000_000, "ns")
    assert tb.hdl_src.idle() and tb.hdl_src.count() == 0
    assert int(tb.dut.a_src_frames.value) - sent_before == len(frames)
    got_a, got_c = await task_a, await task_c
    assert [bytes(f.tdata) for f in got_a] == frames, "HDL source: frames differ"
    assert [bytes(f.tdata) for f in got_c] == frames, "reference source: frames differ"
    ends_a = [f.sim_time_end for f in got_a]
    ends_c = [f.sim_time_end for f in got_c]
    for i, (ea, ec) in enumerate(zip(ends_a, ends_c, strict=True)):
        assert ea == ec, (
            f"frame {i} ({len(frames[i])} B): HDL source ends at {ea}, reference at {ec}"
        )
    await ClockCycles(tb.dut.clk, 2)
    assert tb.hdl_src.idle() and tb.hdl_src.count() == 0


def edges(frame) -> tuple[int, int]:
    """The clock edges a received frame's first and last beat were taken at."""
    period = get_sim_steps(PERIOD_NS, "ns")
    return frame.sim_time_start // period, frame.sim_time_end // period


async def compare_sinks(tb: Tb, frames: list) -> None:
    for fr in frames:
        await tb.src_b.send(fr)
        await tb.src_d.send(fr)
    got_b = await collect(tb.hdl_sink, len(frames), "HDL sink")
    got_d = await collect(tb.ref_sink, len(frames), "reference sink")
    want = [bytes(AxiStreamFrame(f).tdata) if isinstance(f, bytes) else None for f in frames]
    for i, (b, d) in enumerate(zip(got_b, got_d, strict=True)):
        assert b.tdata == d.tdata, f"frame {i}: HDL sink {b.tdata.hex()} != {d.tdata.hex()}"
        if want[i] is not None:
            assert b.tdata == want[i], f"frame {i}: HDL sink frame differs from the one sent"
        # Compared in clock edges: both stamp the edge that took the beat (FastStreamSink
        # a few simulator steps after it, in its edge callback).
        span_b, span_d = edges(b), edges(d)
        assert span_b == span_d, (
            f"frame {i}: HDL sink took it at edges {span_b}, FastStreamSink at {span_d}"
        )
    assert tb.hdl_sink.idle() and tb.hdl_sink.empty()


@cocotb.test()
async def source_back_to_back(dut) -> None:
    """No pacing, no backpressure: frames queued at once, then one by one at random times."""
    tb = Tb(dut)
    await tb.reset()
    rng = random.Random(cocotb.RANDOM_SEED)
    frames = random_frames(rng, 30)
    await compare_sources(tb, frames, [0] * len(frames))
    # Span: back to back, one cycle per beat.
    frames = random_frames(rng, 30)
    gaps = [rng.choice([0, 0, 1, 2, 4, 6, 40, 400]) for _ in frames]
    await compare_sources(tb, frames, gaps)


@cocotb.test()
async def source_backpressure(dut) -> None:
    """Random pauses on both sinks (the same pattern): the same handshakes."""
    tb = Tb(dut)
    await tb.reset()
    rng = random.Random(cocotb.RANDOM_SEED + 1)
    tb.pause_sinks(pattern(rng, 0.3))
    frames = random_frames(rng, 30)
    gaps = [rng.choice([0, 0, 3, 50]) for _ in frames]
    await compare_sources(tb, frames, gaps)


@cocotb.test()
async def source_paced_like_fast_source(dut) -> None:
    """WirePacing at 100 and 40 GbE: frames start where FastStreamSource starts them."""
    tb = Tb(dut, WirePacing(100e9, PERIOD_NS))
    await tb.reset()
    for rate in (100e9, 40e9):
        tb.hdl_src.pacing = tb.ref_src.pacing = WirePacing(rate, PERIOD_NS)
        rng = random.Random(cocotb.RANDOM_SEED + int(rate // 1e9))
        tb.pause_sinks(pattern(rng, 0.1))
        frames = random_frames(rng, 30)
        gaps = [rng.choice([0, 0, 0, 2, 5, 30, 200]) for _ in frames]
        await compare_sources(tb, frames, gaps)
        tb.sink_a.clear_pause_generator()
        tb.sink_c.clear_pause_generator()
        tb.sink_a.pause = tb.sink_c.pause = False
    # Pacing switched off mid-run (tests/integration/cocotb_rx_stress.py does).
    tb.hdl_src.pacing = tb.ref_src.pacing = None
    await compare_sources(tb, random_frames(rng, 10), [0] * 19)


@cocotb.test()
async def sink_same_as_fast_sink(dut) -> None:
    """Back to back, then with random source pauses, then a sparse tkeep beat."""
    tb = Tb(dut)
    await tb.reset()
    rng = random.Random(cocotb.RANDOM_SEED + 3)
    await compare_sinks(tb, random_frames(rng, 30))
    tb.pause_sources(pattern(rng, 0.25))
    await compare_sinks(tb, random_frames(rng, 30))
    # wait(n): one wake-up, at the edge the n-th frame completes (FastStreamSink's stamp).
    frames = random_frames(rng, 12)
    wakeups = int(tb.dut.b_sink_frames.value)
    for fr in frames:
        await tb.src_b.send(fr)
        await tb.src_d.send(fr)
    await with_timeout(tb.hdl_sink.wait(len(frames)), 4_000_000, "ns")
    assert int(tb.dut.b_sink_frames.value) == wakeups + 1, "wait(n) woke Python more than once"
    woke = get_sim_time() // get_sim_steps(PERIOD_NS, "ns")
    assert tb.hdl_sink.count() == len(frames)
    ref = await collect(tb.ref_sink, len(frames), "reference sink")
    assert woke == edges(ref[-1])[1], f"wait() woke at edge {woke}, not {edges(ref[-1])}"
    assert [tb.hdl_sink.recv_nowait().tdata for _ in frames] == frames
    n = 3 * tb.lanes
    data = rng.randbytes(n)
    keep = [int(rng.random() < 0.6) for _ in range(n)]
    keep[0] = 1
    await compare_sinks(tb, [AxiStreamFrame(data, tkeep=keep)])
    got = bytes(b for b, k in zip(data, keep, strict=True) if k)
    await tb.src_b.send(AxiStreamFrame(data, tkeep=keep))
    assert (await tb.hdl_sink.recv()).tdata == got
    # take_lengths(): the sizes of what Python queued (count() took two) and of what is
    # still in C, oldest first, then nothing is left.
    frames = random_frames(rng, 7)
    for fr in frames:
        await tb.src_b.send(fr)
    await with_timeout(tb.hdl_sink.wait(2), 4_000_000, "ns")
    assert tb.hdl_sink.count() >= 2
    await with_timeout(tb.src_b.wait(), 4_000_000, "ns")
    await ClockCycles(tb.dut.clk, 8)
    assert tb.hdl_sink.take_lengths().tolist() == [len(f) for f in frames]
    assert tb.hdl_sink.take_lengths().tolist() == [] and tb.hdl_sink.count() == 0


@cocotb.test()
async def bad_input_is_refused(dut) -> None:
    """An empty frame and a pause generator are refused with a clear error."""
    tb = Tb(dut)
    await tb.reset()
    for call in (lambda: tb.hdl_src.send_nowait(b""),):
        try:
            call()
        except ValueError as e:
            assert "at least one byte" in str(e)
        else:
            raise AssertionError("an empty frame was accepted")
    for end in (tb.hdl_src, tb.hdl_sink):
        try:
            end.set_pause_generator(itertools.cycle([0, 1]))
        except NotImplementedError as e:
            assert "never pause" in str(e)
        else:
            raise AssertionError(f"{type(end).__name__} accepted a pause generator")
