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
FRAMES = "64:100000,1518:15000"  # frames per size: a second of wall time or more per case


def measure(
    variant: str,
    uplinks: list[str],
    frames: str = FRAMES,
    sizes: tuple[int, ...] = SIZES,
    cases: tuple[str, ...] = CASES,
    host_bus: str = "python",
    reaps: tuple[str, ...] = ("irq",),
) -> list[dict]:
    """Build ``variant``; run the bare model, every case at every size, the bare model again.

    One row per case and size and one bare row: the mean of the two bare runs,
    both kept as ``bare_first``/``bare_last``. A case's ``ratio_to_bare`` is its
    cycles/s over that of the idle windows interleaved with its traffic in the
    same run (``idle_cycles_per_s``; sim/simspeed_cocotb.py ``Tally``): this
    machine's speed drifts by up to 2x within seconds, and a neighbour in time is
    the fair comparison. ``cases=()`` measures only the bare model.
    """
    if variant == BEFORE:
        top = before_top()
    else:
        top = nic_top(PARAMS, build_args=VARIANTS[variant], host_bus=host_bus)
    env = {
        "SIMSPEED_FRAMES": frames,
        "SIMSPEED_SIZES": ",".join(str(s) for s in sizes),
        "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING"),
    }
    log = top.build_dir / "runs" / f"simspeed-{variant}.log"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speed.jsonl"
        env["SIMSPEED_OUT"] = str(out)

        def step(test: str, name: str, extra: dict[str, str] | None = None) -> list[dict]:
            """Run one cocotb test; the rows it appended."""
            before = len(out.read_text().splitlines()) if out.exists() else 0
            tests, fails = run(
                top,
                "sim.simspeed_cocotb",
                test,
                run_name=f"simspeed-{variant}-{name}",
                env={**env, **(extra or {})},
                log_file=log,
                build_log=top.build_log,
            )
            if fails:
                raise RuntimeError(
                    f"simspeed {variant}/{name}: {fails} of {tests} failed, see {log}"
                )
            rows = [json.loads(line) for line in out.read_text().splitlines()[before:]]
            for r in rows:
                r["variant"] = variant
                r["host_bus"] = host_bus
                r["cycles_per_s"] = r["cycles"] / r["wall"] if r["wall"] > 0 else 0.0
                r["frames_per_s"] = r["frames"] / r["wall"] if r["wall"] > 0 else 0.0
            return rows

        bares = step("bare", "bare-first")
        rows: list[dict] = []
        for up in uplinks if cases else []:
            for reap in reaps:
                for case in cases:
                    extra = {"SIMSPEED_UPLINK": up, "SIMSPEED_REAP": reap}
                    rows += step(case, f"{up}-{reap}-{case}", extra)
        if cases:
            bares += step("bare", "bare-last")
    for r in rows:
        r["idle_cycles_per_s"] = r["idle_cycles"] / r["idle_wall"]
        r["ratio_to_bare"] = r["cycles_per_s"] / r["idle_cycles_per_s"]
    bare_row = dict(bares[0])
    bare_row["bare_first"] = bares[0]["cycles_per_s"]
    bare_row["bare_last"] = bares[-1]["cycles_per_s"]
    bare_row["cycles_per_s"] = sum(b["cycles_per_s"] for b in bares) / len(bares)
    bare_row["idle_cycles_per_s"] = bare_row["cycles_per_s"]
    bare_row["ratio_to_bare"] = 1.0
    return [bare_row, *rows]


BARE_BUILDS = ((BEFORE, "python"), ("O1", "python"), ("default", "hdl"))
BARE_ROUNDS = 3


def bare_alternated(builds=BARE_BUILDS, rounds: int = BARE_ROUNDS) -> list[dict]:
    """The bare model of each build, the builds taken in turn ``rounds`` times: one row
    per build, the mean of its runs (``bare_runs`` lists them). Runs seconds apart
    drift by up to 2x on this machine; alternating puts the same drift on every build."""
    runs: dict[tuple[str, str], list[float]] = {b: [] for b in builds}
    first: dict[tuple[str, str], dict] = {}
    for _ in range(rounds):
        for variant, bus in builds:
            (row,) = measure(variant, [], cases=(), host_bus=bus)
            runs[(variant, bus)].append(row["cycles_per_s"])
            first.setdefault((variant, bus), row)
    rows = []
    for b, speeds in runs.items():
        row = dict(first[b])
        row["cycles_per_s"] = row["idle_cycles_per_s"] = sum(speeds) / len(speeds)
        row["bare_runs"] = speeds
        row["alternated"] = True
        rows.append(row)
    return rows


def collect() -> list[dict]:
    """``make bench``: the bare model as built when issue 10 was filed (BEFORE_ISSUE_10's
    RTL, C++ -O1), today's RTL under those options (O1) and the default HDL build,
    alternated; then the default builds under traffic at 64 and 1518 bytes: nic_top
    with the Python host bus and uplink (the reference models), nic_sim_top with both
    in HDL, its drivers reaping on interrupts and on every completion write."""
    return (
        bare_alternated()
        + measure("default", ["fast"], host_bus="python")
        + measure("default", ["fast"], host_bus="hdl", reaps=("irq", "watch"))
    )


def bare_speedup(rows: list[dict], before: str = BEFORE) -> float | None:
    """Bare cycles/s of the default HDL build over build ``before`` (nic_top) in ``rows``."""
    bare = {
        (r["variant"], r["host_bus"]): r["cycles_per_s"]
        for r in rows
        if r["case"] == "bare" and r.get("alternated")
    }
    old, new = bare.get((before, "python")), bare.get(("default", "hdl"))
    return new / old if old and new else None


def table(rows: list[dict]) -> str:
    lines = [
        "| build | host bus | case | uplink | reap | frame bytes | frames | cycles | cycles/s "
        "| frames/s | idle cycles/s | ratio to bare |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        fps = f"{r['frames_per_s']:,.0f}" if r["frames"] else "-"
        size = str(r["size"]) if r["size"] else "-"
        ratio = "-" if r.get("ratio_to_bare") is None else f"{r['ratio_to_bare']:.3f}"
        cps = f"{r['cycles_per_s']:,.0f}"
        if r.get("alternated"):
            cps += " (" + " / ".join(f"{v:,.0f}" for v in r["bare_runs"]) + ")"
        elif r["case"] == "bare":
            cps += f" ({r['bare_first']:,.0f} / {r['bare_last']:,.0f})"
        lines.append(
            f"| {r['variant']} | {r.get('host_bus', 'python')} | {r['case']} | {r['uplink']} "
            f"| {r.get('reap', '-')} | {size} | {r['frames'] or '-'} "
            f"| {r['cycles']} | {cps} | {fps} | {r['idle_cycles_per_s']:,.0f} | {ratio} |"
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
    if unknown := set(cases) - set(CASES):
        ap.error(f"--cases: unknown {sorted(unknown)}; known: {', '.join(CASES)}")
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
