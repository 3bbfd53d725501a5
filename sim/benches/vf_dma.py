"""vf_dma benchmark: TX and RX, one queue and all queues, every size of BENCH_SIZES.

Runs ``tests/cocotb_vf_dma_bench.py`` (its docstring says how the steady-state
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


def collect(work: Path, sizes: tuple[int, ...] = BENCH_SIZES) -> list[BenchRecord]:
    work.mkdir(parents=True, exist_ok=True)
    out = work / "vf_dma_bench.json"
    out.unlink(missing_ok=True)
    env = {
        "BENCH_OUT": str(out),
        "BENCH_SIZES": ",".join(str(s) for s in sizes),
        "BENCH_QUEUES": f"1,{NUM_QUEUES}",
        "BENCH_PATHS": "tx,rx",
    }
    tests, fails = run(TOP, "tests.cocotb_vf_dma_bench", run_name="vf_dma-bench", env=env)
    if tests != 1 or fails:
        raise RuntimeError(f"vf_dma bench failed ({fails} of {tests} cocotb tests)")
    return [BenchRecord.from_row("vf_dma", row) for row in read_measurements(out)]
