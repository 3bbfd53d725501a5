"""cocotb side of ``python -m sim.simspeed``: wall-clock speed of nic_top with and without the TB.

Each measurement appends one JSON line to ``$SIMSPEED_OUT``. ``SIMSPEED_SIZES``
lists the frame sizes (each traffic test runs them one after another on the
same testbench), ``SIMSPEED_FRAMES`` the frames per size (``64:2000,1518:400``,
or one number for every size). ``SIMSPEED_UPLINK=cocotbext`` puts
cocotbext-axi's AXI-Stream models back on the uplink (the reference the fast
models replaced), for before/after numbers in one build.

Traffic is saturated: a sender keeps its TX ring full (vf_tx, vf_vf) or the
uplink source sends at the 100 GbE frame rate (vf_rx). A window starts when the
first frame of a size has arrived (warm-up) and ends with the last one; frames
are those delivered inside it. A receiving VF may drop frames it cannot keep up
with (counted by the NIC, not here), so the receiving tests count what arrives
and stop once the sender is done and the ring has been quiet for a while.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import Event, Timer

from sim.traffic import (
    EXT_MAC,
    bring_up,
    keep_tx_ring_full,
    until_quiet,
    vf_mac,
)
from tb.guest.flows import UdpFlow
from tb.net.pcap import NS_PER_CYCLE
from tb.vf_driver.queues import IrqModeration

UPLINK = os.environ.get("SIMSPEED_UPLINK", "fast")
# How the drivers learn of completions: "irq" (the ring's moderated interrupt, as
# ixgbevf's NAPI poll) or "watch" (a wake-up per completion write).
REAP = os.environ.get("SIMSPEED_REAP", "irq")
SIZES = [int(s) for s in os.environ.get("SIMSPEED_SIZES", "1518").split(",")]
BARE_CYCLES = int(os.environ.get("SIMSPEED_BARE_CYCLES", "200000"))


# *Q_IRQ_MOD of every ring with REAP=irq: an interrupt per 128 entries or 512 cycles
# (2 us at 250 MHz, at the busy end of ixgbe's interrupt throttling: its adaptive ITR
# moves between 2 us and 125 us), so a wake-up reaps a batch, as NAPI does at line
# rate. SIMSPEED_MODERATION=cycles:entries overrides.
def int_pair(name: str, default: str) -> tuple[int, int]:
    """``A:B`` from the environment variable ``name``, refused with its name if malformed."""
    text = os.environ.get(name, default)
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{name}={text!r}: expected two whole numbers as A:B, e.g. {default}")
    return int(parts[0]), int(parts[1])


MODERATION = IrqModeration(*int_pair("SIMSPEED_MODERATION", "512:128"))
# Ring sizes (log2), ixgbevf's defaults (TX 1024, RX 512 entries) as in the nic_top
# bench: a ring must hold more than one moderation interval of frames at 64 B
# (0.6 frames/cycle x 512 cycles). SIMSPEED_RINGS=tx:rx overrides.
TX_RING_LOG2, RX_RING_LOG2 = int_pair("SIMSPEED_RINGS", "10:9")
# Frames the outside network's receiver takes per wake-up (vf_tx): ~300 cycles at 64 B.
RX_BATCH = 256
RX_REFILL_BATCH = 16  # buffers reposted per RX doorbell write (ixgbevf's IXGBEVF_RX_BUFFER_WRITE)
QUIET_CYCLES = 2000  # a receiver that saw nothing for this long after the sender finished is done
# Traffic windows per case and size, each followed by IDLE_CYCLES with nothing to do
# (below the drivers' stall watchdog of 100,000 cycles).
ROUNDS = int(os.environ.get("SIMSPEED_ROUNDS", "5"))
IDLE_CYCLES = 50_000


def frames_for(size: int) -> int:
    spec = os.environ.get("SIMSPEED_FRAMES", "200")
    if ":" not in spec:
        return int(spec)
    table = dict(item.split(":") for item in spec.split(","))
    return int(table[str(size)])


def _record(**row) -> None:
    with open(os.environ["SIMSPEED_OUT"], "a") as f:
        f.write(json.dumps(row) + "\n")


def _cycle() -> int:
    return int(cocotb.utils.get_sim_time("ns")) // NS_PER_CYCLE


class Window:
    """Cycles, wall time and frames between the first and the last frame counted."""

    def __init__(self) -> None:
        self.frames = -1  # the first frames seen open the window
        self.c0 = self.c1 = 0
        self.t0 = self.t1 = 0.0

    def count(self, n: int) -> None:
        now_c, now_t = _cycle(), time.perf_counter()
        if self.frames < 0:  # the first frames seen open the window and are not counted
            self.frames, self.c0, self.t0 = 0, now_c, now_t
        else:
            self.frames += n
        self.c1, self.t1 = now_c, now_t


class Tally:
    """The traffic windows of one case and size, each followed by an idle window.

    Idle, nothing in Python wakes (every task waits for an interrupt, a frame or a
    timer), so an idle window runs the model as the bare run does, in the same
    process a moment later: the ratio of a case to its idle windows is the ratio
    to the bare model without the drift of this machine's speed between runs
    (seen here: 0.3 s stretches of one bare run between 82 k and 193 k cycles/s).
    """

    def __init__(self) -> None:
        self.cycles = self.frames = self.idle_cycles = 0
        self.wall = self.idle_wall = 0.0

    def add(self, win: Window) -> None:
        self.cycles += win.c1 - win.c0
        self.frames += max(win.frames, 0)
        self.wall += win.t1 - win.t0

    async def idle(self) -> None:
        c0, t0 = _cycle(), time.perf_counter()
        await Timer(IDLE_CYCLES * NS_PER_CYCLE, "ns")
        self.idle_cycles += _cycle() - c0
        self.idle_wall += time.perf_counter() - t0

    def record(self, case: str, size: int, uplink: str) -> None:
        _record(
            case=case,
            uplink=uplink,
            reap=REAP,
            size=size,
            cycles=self.cycles,
            frames=self.frames,
            wall=self.wall,
            idle_cycles=self.idle_cycles,
            idle_wall=self.idle_wall,
        )


def rounds(size: int) -> list[int]:
    """The frames of ``size`` split into ROUNDS traffic windows."""
    n = frames_for(size)
    return [n // ROUNDS + (1 if k < n % ROUNDS else 0) for k in range(ROUNDS)]


async def _tb(dut):
    from tb.env import NicTb, TbConfig

    tb = NicTb(dut, TbConfig(seed=1, read_latency=125))
    if UPLINK == "cocotbext" and hasattr(dut, "uplink_in_rst"):
        raise RuntimeError(
            "SIMSPEED_UPLINK=cocotbext needs nic_top's uplink ports: nic_sim_top's uplink "
            "is HDL (use --host-bus python)"
        )
    if UPLINK == "cocotbext":
        import logging

        from cocotbext.axi import AxiStreamBus, AxiStreamSink, AxiStreamSource

        tb.wire_in._task.cancel()
        tb.wire_out._task.cancel()
        tb.wire_in = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis_uplink"), dut.clk, dut.rst
        )
        tb.wire_out = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "m_axis_uplink"), dut.clk, dut.rst
        )
        for m in (tb.wire_in, tb.wire_out):
            m.log.setLevel(logging.WARNING)
    return await bring_up(tb)


def uplink_name(tb) -> str:
    """Which models carry the uplink: hdl (nic_sim_top), fast (axis_fast) or cocotbext."""
    from tb.net.hdl_stream import HdlStreamSource

    if isinstance(tb.wire_in, HdlStreamSource):
        return "hdl"
    return UPLINK


async def wire_wait(tb, frames: int) -> None:
    """Until ``frames`` frames are out on the wire (at least one on the Python sinks)."""
    from tb.net.hdl_stream import HdlStreamSink

    if isinstance(tb.wire_out, HdlStreamSink):
        await tb.wire_out.wait(frames)
    else:
        await tb.wire_out.wait()


def wire_lengths(tb) -> np.ndarray:
    """The lengths of the frames out on the wire since the last call (one array per batch
    on the HDL sink)."""
    from tb.net.hdl_stream import HdlStreamSink

    if isinstance(tb.wire_out, HdlStreamSink):
        return tb.wire_out.take_lengths()
    lens = []
    while not tb.wire_out.empty():
        lens.append(len(tb.wire_out.recv_nowait().tdata))
    return np.array(lens, dtype=np.int64)


async def _open(tb, *queues) -> None:
    """Open the queues; with REAP=irq their drivers reap on moderated interrupts."""
    for q in queues:
        await q.open()
        if REAP == "irq":
            await q.use_interrupts(tb.interrupts(), MODERATION)


class Receiver:
    """Reaps ``rxq`` for the whole test into the current window (one task, never cancelled:
    a reap cancelled inside the ring's wait would leave its stall watchdog armed)."""

    def __init__(self, tb, rxq) -> None:
        self.tb = tb
        self.rxq = rxq
        self.win = Window()
        cocotb.start_soon(self._reap())

    async def _reap(self) -> None:
        while True:  # a NAPI poll: the batch's completions, no copy, no object per frame
            cpls = await self.rxq.wait_reaped_array()
            assert not cpls["status"].any(), f"RX completion errors: {cpls['status']}"
            self.win.count(len(cpls))

    async def window(self, sender_done: Event) -> Window:
        """A fresh window, closed once the sender is done and nothing more arrives."""
        win = self.win = Window()
        await until_quiet(self.tb, lambda: win.frames, sender_done, QUIET_CYCLES)
        return win


@cocotb.test()
async def bare(dut) -> None:
    """Only the clock: no Python wake-up until the end."""
    cocotb.start_soon(Clock(dut.clk, NS_PER_CYCLE, unit="ns").start())
    # nic_sim_top: its host bus and uplink ends have resets of their own.
    own = ("host_bus_rst", "uplink_in_rst", "uplink_out_rst")
    resets = [dut.rst] + [getattr(dut, n) for n in own if hasattr(dut, n)]
    for r in resets:
        r.value = 1
    await Timer(10 * NS_PER_CYCLE, "ns")
    for r in resets:
        r.value = 0
    t0, c0 = time.perf_counter(), time.process_time()
    await Timer(BARE_CYCLES * NS_PER_CYCLE, "ns")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    _record(
        case="bare", uplink="-", reap="-", size=0, cycles=BARE_CYCLES, frames=0, wall=wall, cpu=cpu
    )


@cocotb.test()
async def vf_tx(dut) -> None:
    """VF1 keeps its TX ring full of SIZE-byte frames; the uplink sink collects them."""
    tb = await _tb(dut)
    txq, _ = tb.queues(1, size_log2=TX_RING_LOG2)
    await _open(tb, txq)
    flow = UdpFlow(1, vf_mac(1), EXT_MAC, "10.0.0.1", "10.0.0.254", rng=tb.rng)
    for size in SIZES:
        tally = Tally()
        for n in rounds(size):
            feeder = cocotb.start_soon(keep_tx_ring_full(txq, flow.frame(size), n))
            win = Window()
            got = 0
            while got < n:  # a wake-up per RX_BATCH frames where the sink can (the HDL one)
                await wire_wait(tb, min(RX_BATCH, n - got))
                lens = wire_lengths(tb)
                assert (lens == size).all(), f"frames of {set(lens.tolist())} bytes, sent {size}"
                win.count(len(lens))
                got += len(lens)
            await feeder
            tally.add(win)
            await tally.idle()
        tally.record("vf_tx", size, uplink_name(tb))


@cocotb.test()
async def vf_rx(dut) -> None:
    """The uplink source sends SIZE-byte frames to VF1 at the 100 GbE frame rate; VF1 reaps."""
    tb = await _tb(dut)
    _, rxq = tb.queues(1, size_log2=RX_RING_LOG2)
    rxq.refill_batch = RX_REFILL_BATCH
    await _open(tb, rxq)
    await tb.pf.add_fdb(vf_mac(1), port=1)
    flow = UdpFlow(2, EXT_MAC, vf_mac(1), "10.0.0.254", "10.0.0.1", rng=tb.rng)
    rx = Receiver(tb, rxq)
    for size in SIZES:
        frame = flow.frame(size)
        tally = Tally()
        for n in rounds(size):
            sent = Event()

            async def sender(frame: bytes = frame, n: int = n, sent=sent) -> None:
                for _ in range(n):
                    tb.wire_in.send_nowait(frame)
                await tb.wire_in.wait()
                sent.set()

            cocotb.start_soon(sender())
            tally.add(await rx.window(sent))
            await tally.idle()
        tally.record("vf_rx", size, uplink_name(tb))


@cocotb.test()
async def vf_vf(dut) -> None:
    """VF1 keeps its TX ring full of frames to VF2's MAC; the switch delivers them to VF2."""
    tb = await _tb(dut)
    txq, _ = tb.queues(1, size_log2=TX_RING_LOG2)
    _, rxq = tb.queues(2, size_log2=RX_RING_LOG2)
    rxq.refill_batch = RX_REFILL_BATCH
    await _open(tb, txq, rxq)
    await tb.pf.add_fdb(vf_mac(2), port=2)
    flow = UdpFlow(3, vf_mac(1), vf_mac(2), "10.0.0.1", "10.0.0.2", rng=tb.rng)
    rx = Receiver(tb, rxq)
    for size in SIZES:
        tally = Tally()
        for n in rounds(size):
            sent = Event()

            async def sender(frame: bytes = flow.frame(size), n: int = n, sent=sent) -> None:
                await keep_tx_ring_full(txq, frame, n)
                sent.set()

            cocotb.start_soon(sender())
            tally.add(await rx.window(sent))
            await tally.idle()
        assert tb.wire_out.count() == 0, "VF-to-VF frames reached the wire"
        tally.record("vf_vf", size, uplink_name(tb))
