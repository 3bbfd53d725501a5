"""tb/net/axis_fast against cocotbext-axi on sim/tops/axis_loop_top.sv.

Channel a: FastStreamSource -> register slice -> cocotbext-axi AxiStreamSink.
Channel b: cocotbext-axi AxiStreamSource -> register slice -> FastStreamSink.
Both channels get the same random frames at the same time; every frame must
arrive unchanged and, without backpressure, at the same clock edge on both
channels (the fast models keep cocotbext-axi's handshake timing).
"""

from __future__ import annotations

import itertools
import logging
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Combine, SimTimeoutError, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from tb.net.axis_fast import FastStreamSink, FastStreamSource


class Tb:
    def __init__(self, dut) -> None:
        self.dut = dut
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())
        self.fast_src = FastStreamSource(dut, "a_s_axis", dut.clk)
        self.ref_sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "a_m_axis"), dut.clk, dut.rst)
        self.ref_src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "b_s_axis"), dut.clk, dut.rst)
        self.fast_sink = FastStreamSink(dut, "b_m_axis", dut.clk)
        for m in (self.ref_sink, self.ref_src):
            m.log.setLevel(logging.WARNING)
        self.lanes = len(dut.a_s_axis_tdata) // 8

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)


def random_frames(rng: random.Random, n: int) -> list[bytes]:
    sizes = [1, 64, 1518, 9000, 2, 63, 65]
    sizes += [rng.choice([rng.randint(1, 200), rng.randint(1, 9000)]) for _ in range(n)]
    rng.shuffle(sizes)
    return [rng.randbytes(s) for s in sizes]


def pauses(rng: random.Random, p: float) -> itertools.cycle:
    return itertools.cycle([int(rng.random() < p) for _ in range(997)])


async def run_both(tb: Tb, frames: list[bytes]) -> tuple[list, list]:
    for fr in frames:
        await tb.fast_src.send(fr)
        await tb.ref_src.send(fr)

    got_a: list = []
    got_b: list = []

    async def collect(sink, got: list) -> None:
        while len(got) < len(frames):
            got.append(await sink.recv())

    a = cocotb.start_soon(collect(tb.ref_sink, got_a))
    b = cocotb.start_soon(collect(tb.fast_sink, got_b))
    try:
        await with_timeout(Combine(a, b), 2_000_000, "ns")  # type: ignore[arg-type]
    except SimTimeoutError:
        raise AssertionError(
            f"stalled: fast source -> reference sink {len(got_a)} of {len(frames)} frames "
            f"(queue {tb.fast_src.count()}), reference source -> fast sink {len(got_b)} "
            f"(queue {tb.ref_src.count()})"
        ) from None
    return got_a, got_b


@cocotb.test()
async def same_frames_same_edges(dut) -> None:
    """No backpressure: identical frames, and each frame ends at the same edge on both channels."""
    tb = Tb(dut)
    await tb.reset()
    rng = random.Random(cocotb.RANDOM_SEED)
    frames = random_frames(rng, 40)
    via_fast_src, via_fast_sink = await run_both(tb, frames)
    assert [bytes(f.tdata) for f in via_fast_src] == frames
    assert [f.tdata for f in via_fast_sink] == frames
    ends_a = [f.sim_time_end for f in via_fast_src]
    ends_b = [f.sim_time_end for f in via_fast_sink]
    assert ends_a == ends_b, "fast and reference models differ in handshake timing"
    # Back to back: the frames took exactly one cycle per beat.
    beats = sum(-(-len(f) // tb.lanes) for f in frames)
    span = (ends_a[-1] - via_fast_src[0].sim_time_start) // 4000  # steps are ps
    assert span == beats - 1, (span, beats)
    assert tb.fast_src.idle() and tb.fast_sink.empty() and tb.fast_sink.idle()


@cocotb.test()
async def random_backpressure(dut) -> None:
    """Random pauses on every model: frames still arrive whole and in order."""
    tb = Tb(dut)
    await tb.reset()
    rng = random.Random(cocotb.RANDOM_SEED + 1)
    tb.ref_sink.set_pause_generator(pauses(rng, 0.3))
    tb.ref_src.set_pause_generator(pauses(rng, 0.2))
    tb.fast_sink.set_pause_generator(pauses(rng, 0.3))
    tb.fast_src.set_pause_generator(pauses(rng, 0.2))
    frames = random_frames(rng, 40)
    via_fast_src, via_fast_sink = await run_both(tb, frames)
    assert [bytes(f.tdata) for f in via_fast_src] == frames
    assert [f.tdata for f in via_fast_sink] == frames
    # Pauses off again: a sleeping fast sink still wakes on tvalid.
    tb.fast_sink.clear_pause_generator()
    tb.fast_src.clear_pause_generator()
    tb.ref_sink.clear_pause_generator()
    tb.ref_src.clear_pause_generator()
    # cocotbext-axi keeps the last pause value after clear_pause_generator().
    tb.ref_sink.pause = False
    tb.ref_src.pause = False
    await ClockCycles(dut.clk, 20)
    more = random_frames(rng, 5)
    via_fast_src, via_fast_sink = await run_both(tb, more)
    assert [bytes(f.tdata) for f in via_fast_src] == more
    assert [f.tdata for f in via_fast_sink] == more


@cocotb.test()
async def sparse_tkeep_is_compacted(dut) -> None:
    """A beat with holes in tkeep: the fast sink keeps only the kept bytes, as recv() does."""
    tb = Tb(dut)
    await tb.reset()
    rng = random.Random(cocotb.RANDOM_SEED + 2)
    n = 3 * tb.lanes
    data = rng.randbytes(n)
    keep = [int(rng.random() < 0.6) for _ in range(n)]
    keep[0] = 1
    await tb.ref_src.send(AxiStreamFrame(data, tkeep=keep))
    got = await tb.fast_sink.recv()
    assert got.tdata == bytes(b for b, k in zip(data, keep, strict=True) if k)
