"""Simulation speed of nic_top: bare model against the testbench under traffic.

python -m sim.simspeed [--frames 64:2000,1518:400] [--sizes 64,1518] [--cases vf_tx,vf_rx,vf_vf]
                       [--uplink fast,cocotbext] [--variant NAME ...] [--host-bus python,hdl]

Prints one table: the bare model (only the clock, no Python wake-up) in cycles
per wall second, and NicTb under saturated traffic at each frame size: VF1
sending to the uplink as fast as its ring allows (vf_tx), the uplink sending to
VF1 at the 100 GbE frame rate (vf_rx) and VF1 sending to VF2 through the switch
(vf_vf), in cycles/s, frames per wall second and as a ratio to the bare model
of the same build. ``--uplink cocotbext`` measures the cocotbext-axi models the
fast ones replaced; ``--variant`` builds nic_top with other Verilator options
(see VARIANTS) into its own folder; ``--host-bus hdl`` measures nic_sim_top, the
host bus in HDL (docs/SIM_SPEED.md), ``python`` the AxiDmaResponder on nic_top,
each with its own bare row. ``make bench`` runs the default variant with both
(:func:`collect`).
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
    "cxx-O3": tuple("-std=c++20 -O3" if a == "-std=c++20 -O2" else a for a in NIC_TOP_BUILD_ARGS),
    "threads2": (*BASE, "--threads", "2"),
    # One Verilog statement per C++ function, named after its source line: for perf/gprof.
    "prof-cfuncs": (*NIC_TOP_BUILD_ARGS, "--prof-cfuncs"),
}


CASES = ("vf_tx", "vf_rx", "vf_vf")
SIZES = (64, 1518)
FRAMES = "64:2000,1518:400"  # frames per size: about a second of wall time each


def measure(
    variant: str,
    uplinks: list[str],
    frames: str = FRAMES,
    sizes: tuple[int, ...] = SIZES,
    cases: tuple[str, ...] = CASES,
    host_bus: str = "python",
) -> list[dict]:
    """Build ``variant``, run the bare model, then every case at every size; one row each."""
    top = nic_top(PARAMS, build_args=VARIANTS[variant], host_bus=host_bus)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speed.jsonl"
        env = {
            "SIMSPEED_OUT": str(out),
            "SIMSPEED_FRAMES": frames,
            "SIMSPEED_SIZES": ",".join(str(s) for s in sizes),
            "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING"),
        }
        log = top.build_dir / "runs" / f"simspeed-{variant}.log"
        run(top, "sim.simspeed_cocotb", "bare", run_name=f"simspeed-{variant}-bare", env=env)
        for up in uplinks:
            tests, fails = run(
                top,
                "sim.simspeed_cocotb",
                list(cases),
                run_name=f"simspeed-{variant}-{up}",
                env={**env, "SIMSPEED_UPLINK": up},
                log_file=log,
            )
            if fails:
                msg = f"simspeed {variant}/{up}: {fails} of {tests} cases failed, see {log}"
                raise RuntimeError(msg)
        if out.exists():
            rows = [json.loads(line) for line in out.read_text().splitlines()]
    for r in rows:
        r["variant"] = variant
        r["host_bus"] = host_bus
        r["cycles_per_s"] = r["cycles"] / r["wall"] if r["wall"] > 0 else 0.0
        r["frames_per_s"] = r["frames"] / r["wall"] if r["wall"] > 0 else 0.0
    bare = {r["variant"]: r["cycles_per_s"] for r in rows if r["case"] == "bare"}
    for r in rows:
        r["ratio_to_bare"] = r["cycles_per_s"] / bare[variant] if bare.get(variant) else None
    return rows


def collect() -> list[dict]:
    """``make bench``: the default build, fast uplink, every case at 64 and 1518 bytes,
    with the Python host bus (the reference) and the HDL one."""
    return measure("default", ["fast"], host_bus="python") + measure(
        "default", ["fast"], host_bus="hdl"
    )


def table(rows: list[dict]) -> str:
    lines = [
        "| build | host bus | case | uplink | frame bytes | frames | cycles | cycles/s | frames/s "
        "| ratio to bare |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        fps = f"{r['frames_per_s']:,.0f}" if r["frames"] else "-"
        size = str(r["size"]) if r["size"] else "-"
        ratio = "-" if r["ratio_to_bare"] is None else f"{r['ratio_to_bare']:.3f}"
        lines.append(
            f"| {r['variant']} | {r.get('host_bus', 'python')} | {r['case']} | {r['uplink']} "
            f"| {size} | {r['frames'] or '-'} "
            f"| {r['cycles']} | {r['cycles_per_s']:,.0f} | {fps} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--frames", default=FRAMES, help="frames per size: N or SIZE:N,...")
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--uplink", default="fast", help="comma list of fast, cocotbext")
    ap.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="build variant(s)")
    ap.add_argument("--host-bus", default="python", help="comma list of python, hdl")
    args = ap.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    cases = tuple(args.cases.split(","))
    rows: list[dict] = []
    for v in args.variant or ["default"]:
        for bus in args.host_bus.split(","):
            try:
                rows += measure(v, args.uplink.split(","), args.frames, sizes, cases, bus)
            except Exception as e:  # a variant that does not build or run is reported, not fatal
                print(f"variant {v}, host bus {bus}: {type(e).__name__}: {e}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
