"""vf_dma benchmark: TX and RX, one queue and all queues, every size of BENCH_SIZES,
for each ring format (A, and B: vmxnet3's rings, docs/ARCHITECTURE.md §4b).

Runs ``sim/benches/vf_dma_cocotb.py`` (its docstring says how the steady-state
window and the latencies are measured) on the default engine
(``NUM_QUEUES`` = 2, ``DATA_W`` = 512) with host read latency 125 cycles.
"""

from __future__ import annotations

from pathlib import Path

from sim.benches import BENCH_SIZES, BenchRecord, read_measurements
from sim.runner import SimTop, run

NUM_QUEUES = 2  # the engine's default; "all queues" of one function
# the same parameter set as the q2 block-test build, so the two share one build
TOP = SimTop("vf_dma", {"NUM_QUEUES": NUM_QUEUES})
# ring format B: the same parameters as the b_q2 block-test build
TOP_B = SimTop("vf_dma", {"NUM_QUEUES": NUM_QUEUES, "RING_FMT": 1})
BLOCK_NAME = {"A": "vf_dma", "B": "vf_dma (ring format B)"}


def collect(
    work: Path, sizes: tuple[int, ...] = BENCH_SIZES, formats: tuple[str, ...] = ("A", "B")
) -> list[BenchRecord]:
    records: list[BenchRecord] = []
    for fmt in formats:
        top = TOP_B if fmt == "B" else TOP
        out = work / f"vf_dma_bench_{fmt}.json"
        work.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        env = {
            "BENCH_OUT": str(out),
            "BENCH_SIZES": ",".join(str(s) for s in sizes),
            "BENCH_QUEUES": f"1,{NUM_QUEUES}",
            "BENCH_PATHS": "tx,rx",
            "BENCH_RING_FMT": fmt,
        }
        tests, fails = run(
            top,
            "sim.benches.vf_dma_cocotb",
            run_name=f"vf_dma-bench-{fmt}",
            env=env,
            build_log=top.build_log,
        )
        if tests != 1 or fails:
            raise RuntimeError(f"vf_dma bench ({fmt}) failed ({fails} of {tests} cocotb tests)")
        records += [BenchRecord.from_row(BLOCK_NAME[fmt], row) for row in read_measurements(out)]
    return records
