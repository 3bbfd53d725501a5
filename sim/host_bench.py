"""Simulation speed of the host bus models (numbers for docs/HOST_MODEL.md).

python -m sim.host_bench [--quick]

Runs sim/host_bench_cocotb.py on sim/tops/axi_traffic_top.sv (a SystemVerilog
master, so no Python master costs time) with tb/host's AxiDmaResponder and with
cocotbext-axi's AxiRam, and prints a Markdown table of simulated cycles and
beats per CPU second of the simulation process (steadier than wall time when
other jobs share the machine). They depend on the machine; they are
information, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sim.runner import SimTop, run
from sim.toolchain import REPO_ROOT

TOP = SimTop(
    toplevel="axi_traffic_top",
    parameters={"DATA_W": 512, "ADDR_W": 64, "ID_W": 8, "USER_W": 8},
    extra_sources=(REPO_ROOT / "sim" / "tops" / "axi_traffic_top.sv",),
)


@dataclass(frozen=True)
class Case:
    name: str
    reads: int
    writes: int
    beats: int
    max_out: int
    latency: int = 125


CASES = (
    Case("descriptor reads, 1 beat, 8 in flight", 2000, 0, 1, 8),
    Case("frame reads, 24 beats, 16 in flight", 400, 0, 24, 16),
    Case("frame writes, 24 beats, 16 in flight", 0, 400, 24, 16),
    Case("mixed, 4 beats, 8 in flight", 1000, 1000, 4, 8),
    Case("descriptor reads, 1 beat, 1 in flight", 300, 0, 1, 1),
)


def run_case(case: Case, model: str, idle: int, scale: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {
            "HOST_BENCH_MODEL": model,
            "HOST_BENCH_READS": str(max(1, int(case.reads * scale)) if case.reads else 0),
            "HOST_BENCH_WRITES": str(max(1, int(case.writes * scale)) if case.writes else 0),
            "HOST_BENCH_LEN": str(case.beats - 1),
            "HOST_BENCH_MAX_OUT": str(case.max_out),
            "HOST_BENCH_LATENCY": str(case.latency),
            "HOST_BENCH_IDLE": str(idle),
            "HOST_BENCH_OUT": str(out),
        }
        tests, failures = run(
            TOP, "sim.host_bench_cocotb", "traffic", run_name=f"bench-{model}", env=env
        )
        if tests == 0 or failures:
            raise RuntimeError(f"benchmark {case.name} with {model} failed")
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a tenth of the bursts")
    args = ap.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    print("| traffic | model | cycles/s | beats/s | edges run / wake-ups | idle cycles/s |")
    print("|---|---|---:|---:|---:|---:|")
    for case in CASES:
        for model in ("responder", "axiram"):
            r = run_case(case, model, idle=200_000 if case is CASES[0] else 0, scale=scale)
            py = f"{r['edges_processed']} / {r['wakeups']}" if "wakeups" in r else "-"
            idle = f"{r['idle_cycles_per_s']:,.0f}" if r["idle_cycles_per_s"] else "-"
            print(
                f"| {case.name} | {model} | {r['busy_cycles_per_s']:,.0f} | "
                f"{r['beats_per_s']:,.0f} | {py} | {idle} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
