"""Speed of the host bus models on sim/tops/axi_traffic_top.sv (an SV master, no Python master).

Knobs come from the environment (``sim/host_bench.py`` sets them):
``HOST_BENCH_MODEL`` = ``responder`` (tb/host's AxiDmaResponder) or ``axiram``
(cocotbext-axi's AxiRam), ``HOST_BENCH_READS``/``_WRITES`` (bursts),
``HOST_BENCH_LEN`` (a*len), ``HOST_BENCH_MAX_OUT`` (bursts in flight per
direction), ``HOST_BENCH_LATENCY`` (read latency, responder only),
``HOST_BENCH_IDLE`` (idle cycles measured after the traffic) and
``HOST_BENCH_OUT`` (JSON file for the results).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.handle import HierarchyObject
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from cocotbext.axi import AxiBus, AxiRam

from tb.host.dma_path import DmaResponderConfig
from tb.host.dma_responder import AxiDmaResponder
from tb.host.iommu import Iommu
from tb.host.memory import HostMemory

PERIOD_NS = 4
MEM_BYTES = 4 << 20
BASE = 0x10_0000


def knob(name: str, default: int) -> int:
    return int(os.environ.get(f"HOST_BENCH_{name}", default))


@cocotb.test()
async def traffic(dut: HierarchyObject) -> None:
    """Stream the configured bursts through the model; report cycles and beats per CPU second."""
    model = os.environ.get("HOST_BENCH_MODEL", "responder")
    reads, writes = knob("READS", 200), knob("WRITES", 200)
    length, max_out = knob("LEN", 3), knob("MAX_OUT", 8)
    latency, idle = knob("LATENCY", 125), knob("IDLE", 20000)
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    responder: AxiDmaResponder | None = None
    mem = HostMemory(MEM_BYTES)
    if model == "responder":
        iommu = Iommu()
        iommu.create_domain(0, passthrough=True, limit=MEM_BYTES)
        cfg = DmaResponderConfig(read_latency=latency, max_outstanding_reads=max(max_out, 1))
        responder = AxiDmaResponder(dut, "m_axi", dut.clk, mem, iommu, cfg, rng=random.Random(1))
    elif model == "axiram":
        AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=MEM_BYTES)
    else:
        raise ValueError(f"HOST_BENCH_MODEL must be 'responder' or 'axiram', not {model!r}")
    dut.start.value = 0
    dut.cfg_reads.value = reads
    dut.cfg_writes.value = writes
    dut.cfg_len.value = length
    dut.cfg_max_out.value = max_out
    dut.cfg_base.value = BASE
    dut.cfg_func.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 4)

    # CPU time of this process (simulator + Python): steadier than wall time on a shared machine.
    t0, cpu0 = get_sim_time("ns"), time.process_time()
    dut.start.value = 1
    await RisingEdge(dut.clk)
    dut.start.value = 0
    await RisingEdge(dut.done)
    busy_cycles = (get_sim_time("ns") - t0) / PERIOD_NS
    busy_cpu = time.process_time() - cpu0
    beats = int(dut.rd_beats.value) + writes * (length + 1)
    assert int(dut.rd_beats.value) == reads * (length + 1), "missing read beats"
    assert int(dut.wr_resps.value) == writes, "missing write responses"
    assert int(dut.errors.value) == 0, "error responses"

    # Idle: nothing on the bus, the test itself sleeps on one timer.
    cpu1 = time.process_time()
    if idle:
        await Timer(idle * PERIOD_NS, unit="ns")
    idle_cpu = time.process_time() - cpu1

    result = {
        "model": model,
        "reads": reads,
        "writes": writes,
        "beats_per_burst": length + 1,
        "max_out": max_out,
        "latency": latency if responder else 0,
        "busy_cycles": busy_cycles,
        "busy_cpu_s": busy_cpu,
        "busy_cycles_per_s": busy_cycles / busy_cpu,
        "beats_per_s": beats / busy_cpu,
        "idle_cycles_per_s": idle / idle_cpu if idle else 0.0,
    }
    if responder is not None:
        st = responder.stats
        result["edges_processed"] = st.edges
        result["wakeups"] = st.wakeups
        data_bytes = len(dut.m_axi_wdata) // 8
        if writes and length:
            # Page 0 of the write area holds the last burst k with k % 64 == 0; its beat 1
            # carries k ^ 1 in every 32-bit word.
            k = 64 * ((writes - 1) // 64)
            beat = mem.read(BASE + 0x10_0000 + data_bytes, data_bytes)
            assert beat == (k ^ 1).to_bytes(4, "little") * (data_bytes // 4), "write data differs"
    dut._log.info("result: %s", result)
    out = os.environ.get("HOST_BENCH_OUT")
    if out:
        Path(out).write_text(json.dumps(result))
