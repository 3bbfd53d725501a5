"""Simulation speed of nic_top: bare model against the testbench under traffic.

python -m sim.simspeed [--frames N] [--size B] [--uplink fast,cocotbext] [--variant NAME ...]

Prints one table: the bare model (only the clock, no Python wake-up) in cycles
per wall second, and NicTb with VF1 sending SIZE-byte frames to the uplink as
fast as its ring allows (vf_tx) and the uplink sending SIZE-byte frames to VF1
(vf_rx), in cycles/s, frames per wall second and as a ratio to the bare model
of the same build. ``--uplink cocotbext`` measures the cocotbext-axi models the
fast ones replaced; ``--variant`` builds nic_top with other Verilator options
(see VARIANTS) into its own folder.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from sim.runner import NIC_TOP_BUILD_ARGS, VERILATOR_BUILD_ARGS, nic_top, run

PARAMS = {"NUM_VF": 2}  # as sim/run.py builds it


def _x_fast(args: tuple[str, ...]) -> tuple[str, ...]:
    out = list(args)
    for opt in ("--x-assign", "--x-initial"):
        out[out.index(opt) + 1] = "fast"
    return tuple(out)


BASE = tuple(VERILATOR_BUILD_ARGS)
VARIANTS: dict[str, tuple[str, ...] | None] = {
    "default": NIC_TOP_BUILD_ARGS,  # what nic_top() builds (C++ -O2)
    "O1": BASE,  # the project-wide default before
    "O3": (*BASE, "-O3"),  # Verilator's own optimisation level, C++ -O1
    "x-fast": _x_fast(BASE),
    "threads2": (*BASE, "--threads", "2"),
}


def measure(variant: str, uplinks: list[str], frames: int, size: int) -> list[dict]:
    top = nic_top(PARAMS, build_args=VARIANTS[variant])
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speed.jsonl"
        env = {
            "SIMSPEED_OUT": str(out),
            "SIMSPEED_FRAMES": str(frames),
            "SIMSPEED_SIZE": str(size),
        }
        run(top, "sim.simspeed_cocotb", "bare", run_name=f"simspeed-{variant}-bare", env=env)
        for up in uplinks:
            run(
                top,
                "sim.simspeed_cocotb",
                ["vf_tx", "vf_rx"],
                run_name=f"simspeed-{variant}-{up}",
                env={**env, "SIMSPEED_UPLINK": up},
            )
        if out.exists():
            rows = [json.loads(line) for line in out.read_text().splitlines()]
    for r in rows:
        r["variant"] = variant
    return rows


def table(rows: list[dict]) -> str:
    bare = {r["variant"]: r["cycles"] / r["wall"] for r in rows if r["case"] == "bare"}
    lines = [
        "| build | case | uplink | cycles | cycles/s | frames/s | ratio to bare |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        cps = r["cycles"] / r["wall"]
        fps = f"{r['frames'] / r['wall']:.0f}" if r["frames"] else "-"
        ratio = cps / bare[r["variant"]] if r["variant"] in bare else float("nan")
        lines.append(
            f"| {r['variant']} | {r['case']} | {r['uplink']} | {r['cycles']} "
            f"| {cps:,.0f} | {fps} | {ratio:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", type=int, default=1518)
    ap.add_argument("--uplink", default="fast", help="comma list of fast, cocotbext")
    ap.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="build variant(s)")
    args = ap.parse_args(argv)
    os.environ.setdefault("COCOTB_LOG_LEVEL", "WARNING")
    rows: list[dict] = []
    for v in args.variant or ["default"]:
        try:
            rows += measure(v, args.uplink.split(","), args.frames, args.size)
        except Exception as e:  # a variant that does not build or run is reported, not fatal
            print(f"variant {v}: {type(e).__name__}: {e}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
