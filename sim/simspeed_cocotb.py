"""cocotb side of ``python -m sim.simspeed``: wall-clock speed of nic_top with and without the TB.

Each test appends one JSON line to ``$SIMSPEED_OUT``. ``SIMSPEED_UPLINK=cocotbext``
puts cocotbext-axi's AXI-Stream models back on the uplink (the reference the
fast models replaced), for before/after numbers in one build.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Timer

from tb.guest.flows import UdpFlow
from tb.net.pcap import NS_PER_CYCLE

FRAMES = int(os.environ.get("SIMSPEED_FRAMES", "200"))
SIZE = int(os.environ.get("SIMSPEED_SIZE", "1518"))
BARE_CYCLES = int(os.environ.get("SIMSPEED_BARE_CYCLES", "200000"))
EXT_MAC = "02:00:00:00:ff:01"
VF_MAC = "02:00:00:00:00:01"


def _record(**row) -> None:
    with open(os.environ["SIMSPEED_OUT"], "a") as f:
        f.write(json.dumps(row) + "\n")


def _cycle() -> int:
    return int(cocotb.utils.get_sim_time("ns")) // NS_PER_CYCLE


async def _tb(dut):
    from tb.env import NicTb, TbConfig

    tb = NicTb(dut, TbConfig(seed=1, read_latency=125))
    uplink = os.environ.get("SIMSPEED_UPLINK", "fast")
    if uplink == "cocotbext":
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
    await tb.reset()
    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    return tb, uplink


@cocotb.test()
async def bare(dut) -> None:
    """Only the clock: no Python wake-up until the end."""
    cocotb.start_soon(Clock(dut.clk, NS_PER_CYCLE, unit="ns").start())
    dut.rst.value = 1
    await Timer(10 * NS_PER_CYCLE, "ns")
    dut.rst.value = 0
    t0 = time.perf_counter()
    await Timer(BARE_CYCLES * NS_PER_CYCLE, "ns")
    wall = time.perf_counter() - t0
    _record(case="bare", uplink="-", cycles=BARE_CYCLES, frames=0, wall=wall)


@cocotb.test()
async def vf_tx(dut) -> None:
    """VF1 sends SIZE-byte frames as fast as its ring allows; the uplink sink collects them."""
    tb, uplink = await _tb(dut)
    txq, _ = tb.queues(1)
    await txq.open()
    flow = UdpFlow(1, VF_MAC, EXT_MAC, "10.0.0.1", "10.0.0.254", rng=tb.rng)
    frame = flow.frame(SIZE)
    posted = 0

    async def feeder() -> None:
        nonlocal posted
        while posted < FRAMES:
            while posted < FRAMES and txq.ring.free_slots() > 1:
                txq.post(frame)
                posted += 1
            await txq.ring_doorbell()
            txq_done = await txq.wait_reaped()
            del txq_done

    cocotb.start_soon(feeder())
    await tb.wire_out.recv()  # warm-up: the first frame is out
    c0, t0 = _cycle(), time.perf_counter()
    for _ in range(FRAMES - 1):
        got = await tb.wire_out.recv()
        assert len(bytes(got.tdata)) == SIZE
    wall = time.perf_counter() - t0
    _record(case="vf_tx", uplink=uplink, cycles=_cycle() - c0, frames=FRAMES - 1, wall=wall)


@cocotb.test()
async def vf_rx(dut) -> None:
    """The uplink source sends SIZE-byte frames to VF1, which reaps and refills its ring."""
    tb, uplink = await _tb(dut)
    _, rxq = tb.queues(1)
    await rxq.open()
    await tb.pf.add_fdb(VF_MAC, port=1)
    flow = UdpFlow(2, EXT_MAC, VF_MAC, "10.0.0.254", "10.0.0.1", rng=tb.rng)
    frame = flow.frame(SIZE)
    for _ in range(FRAMES):
        await tb.wire_in.send(frame)
    got = 0
    first = await rxq.wait_reaped()
    got += len(first)
    c0, t0, n0 = _cycle(), time.perf_counter(), got
    while got < FRAMES:
        done = await rxq.wait_reaped()
        got += len(done)
    wall = time.perf_counter() - t0
    _record(case="vf_rx", uplink=uplink, cycles=_cycle() - c0, frames=got - n0, wall=wall)
