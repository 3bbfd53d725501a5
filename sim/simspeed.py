"""Simulation speed of nic_top: bare model against the testbench under traffic.

python -m sim.simspeed [--frames 64:8000,1518:1500] [--sizes 64,1518] [--cases vf_tx,vf_rx,vf_vf]
                       [--uplink fast,cocotbext] [--variant NAME ...] [--host-bus python,hdl]
                       [--reap irq,watch]

Prints one table: the bare model (only the clock, no Python wake-up) in cycles
per wall second, and NicTb under saturated traffic at each frame size: VF1
sending to the uplink as fast as its ring allows (vf_tx), the uplink sending to
VF1 at the 100 GbE frame rate (vf_rx) and VF1 sending to VF2 through the switch
(vf_vf), in cycles/s, frames per wall second and as a ratio to the bare model
of the same build (measured before and after the traffic rows, the mean taken,
so a change of machine load during the run shows as the two bare figures
differing). ``--uplink cocotbext`` measures the cocotbext-axi models the fast
ones replaced; ``--variant`` builds nic_top with other Verilator options (see
VARIANTS) into its own folder; ``--host-bus hdl`` measures nic_sim_top, the
host bus and the uplink in HDL (docs/SIM_SPEED.md), ``python`` the Python models
on nic_top, each with its own bare rows. ``--reap`` says how the drivers learn
of completions: ``irq`` (moderated interrupts, NAPI-style) or ``watch`` (a
wake-up per completion write). ``make bench`` runs :func:`collect`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

from sim.runner import (
    BUILD_ROOT,
    NIC_TOP_BUILD_ARGS,
    VERILATOR_BUILD_ARGS,
    SimTop,
    nic_top,
    run,
)
from sim.toolchain import REPO_ROOT

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


# The tree as it was when issue 10 was filed (before its first change): the "before"
# build is nic_top from that commit's rtl/ and VPI control file, with the build
# options of that day (VERILATOR_BUILD_ARGS: C++ -O1, x unique).
BEFORE_ISSUE_10 = "ab4214ad0760e5f7a115e6e4b48d5bf863fd440e"
BEFORE = "before"


def before_top() -> SimTop:
    """nic_top as built when issue 10 was filed, from ``git archive`` of BEFORE_ISSUE_10."""
    root = BUILD_ROOT / f"tree-{BEFORE_ISSUE_10[:12]}"
    if not (root / "rtl").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        try:
            archive = subprocess.run(
                ["git", "-C", str(REPO_ROOT), "archive", BEFORE_ISSUE_10, "rtl", "sim/verilator"],
                check=True,
                capture_output=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise RuntimeError(
                f"the {BEFORE!r} build needs commit {BEFORE_ISSUE_10[:12]} in this clone's "
                f"history (a shallow clone lacks it): {e}"
            ) from None
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return SimTop(
        "nic_top",
        dict(PARAMS),
        visibility=root / "sim" / "verilator" / "nic_top.vlt",
        build_args=tuple(VERILATOR_BUILD_ARGS),
        rtl_dir=root / "rtl",
    )


CASES = ("vf_tx", "vf_rx", "vf_vf")
SIZES = (64, 1518)
FRAMES = "64:8000,1518:1500"  # frames per size: a third of a second of wall time or more


def measure(
    variant: str,
    uplinks: list[str],
    frames: str = FRAMES,
    sizes: tuple[int, ...] = SIZES,
    cases: tuple[str, ...] = CASES,
    host_bus: str = "python",
    reaps: tuple[str, ...] = ("irq",),
) -> list[dict]:
    """Build ``variant``, run the bare model, every case at every size, the bare model again.

    One row per case and size, and one bare row (the mean of the two bare runs,
    both kept as ``bare_first``/``bare_last``). ``cases=()`` measures only the bare model.
    """
    if variant == BEFORE:
        top = before_top()
    else:
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

        def bare(tag: str) -> None:
            run(top, "sim.simspeed_cocotb", "bare", run_name=f"simspeed-{variant}-{tag}", env=env)

        bare("bare")
        for up in uplinks if cases else []:
            for reap in reaps:
                tests, fails = run(
                    top,
                    "sim.simspeed_cocotb",
                    list(cases),
                    run_name=f"simspeed-{variant}-{up}-{reap}",
                    env={**env, "SIMSPEED_UPLINK": up, "SIMSPEED_REAP": reap},
                    log_file=log,
                )
                if fails:
                    msg = f"simspeed {variant}/{up}/{reap}: {fails} of {tests} failed, see {log}"
                    raise RuntimeError(msg)
        if cases:
            bare("bare-last")
        if out.exists():
            rows = [json.loads(line) for line in out.read_text().splitlines()]
    for r in rows:
        r["variant"] = variant
        r["host_bus"] = host_bus
        r["cycles_per_s"] = r["cycles"] / r["wall"] if r["wall"] > 0 else 0.0
        r["frames_per_s"] = r["frames"] / r["wall"] if r["wall"] > 0 else 0.0
    bares = [r for r in rows if r["case"] == "bare"]
    rows = [r for r in rows if r["case"] != "bare"]
    if not bares:
        return rows
    bare_row = dict(bares[0])
    bare_row["bare_first"] = bares[0]["cycles_per_s"]
    bare_row["bare_last"] = bares[-1]["cycles_per_s"]
    bare_row["cycles_per_s"] = sum(b["cycles_per_s"] for b in bares) / len(bares)
    for r in [bare_row, *rows]:
        r["ratio_to_bare"] = r["cycles_per_s"] / bare_row["cycles_per_s"]
    return [bare_row, *rows]


def collect() -> list[dict]:
    """``make bench``: the bare model as built when issue 10 was filed (BEFORE_ISSUE_10's
    RTL, C++ -O1) and today's RTL under those options (O1), then the default builds
    under traffic at 64 and 1518 bytes: nic_top with the Python host bus and uplink
    (the reference models), nic_sim_top with both in HDL, its drivers reaping on
    interrupts and on every completion write."""
    return (
        measure(BEFORE, [], cases=(), host_bus="python")
        + measure("O1", [], cases=(), host_bus="python")
        + measure("default", ["fast"], host_bus="python")
        + measure("default", ["fast"], host_bus="hdl", reaps=("irq", "watch"))
    )


def bare_speedup(rows: list[dict], before: str = BEFORE) -> float | None:
    """Bare cycles/s of the default HDL build over build ``before`` (nic_top) in ``rows``."""
    bare = {(r["variant"], r["host_bus"]): r["cycles_per_s"] for r in rows if r["case"] == "bare"}
    old, new = bare.get((before, "python")), bare.get(("default", "hdl"))
    return new / old if old and new else None


def table(rows: list[dict]) -> str:
    lines = [
        "| build | host bus | case | uplink | reap | frame bytes | frames | cycles | cycles/s "
        "| frames/s | ratio to bare |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        fps = f"{r['frames_per_s']:,.0f}" if r["frames"] else "-"
        size = str(r["size"]) if r["size"] else "-"
        ratio = "-" if r.get("ratio_to_bare") is None else f"{r['ratio_to_bare']:.3f}"
        cps = f"{r['cycles_per_s']:,.0f}"
        if r["case"] == "bare":
            cps += f" ({r['bare_first']:,.0f} / {r['bare_last']:,.0f})"
        lines.append(
            f"| {r['variant']} | {r.get('host_bus', 'python')} | {r['case']} | {r['uplink']} "
            f"| {r.get('reap', '-')} | {size} | {r['frames'] or '-'} "
            f"| {r['cycles']} | {cps} | {fps} | {ratio} |"
        )
    for before, what in ((BEFORE, "as built when issue 10 was filed"), ("O1", "today's RTL, -O1")):
        up = bare_speedup(rows, before)
        if up is not None:
            lines += ["", f"Bare model, default build (nic_sim_top) over nic_top {what}: {up:.2f}x"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--frames", default=FRAMES, help="frames per size: N or SIZE:N,...")
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--uplink", default="fast", help="comma list of fast, cocotbext")
    ap.add_argument(
        "--variant", action="append", choices=sorted([*VARIANTS, BEFORE]), help="build variant(s)"
    )
    ap.add_argument("--host-bus", default="python", help="comma list of python, hdl")
    ap.add_argument("--reap", default="irq", help="comma list of irq, watch")
    args = ap.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    cases = tuple(args.cases.split(","))
    rows: list[dict] = []
    for v in args.variant or ["default"]:
        for bus in args.host_bus.split(","):
            try:
                rows += measure(
                    v,
                    args.uplink.split(","),
                    args.frames,
                    sizes,
                    cases,
                    bus,
                    tuple(args.reap.split(",")),
                )
            except Exception as e:  # a variant that does not build or run is reported, not fatal
                print(f"variant {v}, host bus {bus}: {type(e).__name__}: {e}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
