"""The coverage summary as Markdown (``summary.md``) and JSON (``summary.json``)."""

from __future__ import annotations

from dataclasses import asdict

from sim.coverage_summary import Counts, FileSummary, Summary


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f} %"


def totals_lines(summary: Summary) -> list[str]:
    """The totals, as printed by ``make coverage`` and at the top of summary.md."""
    line, toggle = summary.totals()
    return [
        f"line   {line.covered}/{line.total} points {pct(line.pct)}"
        f" ({pct(line.pct_waived)} without the {line.waived} waived)",
        f"toggle {toggle.covered}/{toggle.total} points {pct(toggle.pct)}"
        f" ({pct(toggle.pct_waived)} without the {toggle.waived} waived)",
    ]


def _counts_cells(c: Counts) -> str:
    if c.total == 0:
        return "— | — | —"
    return f"{c.covered}/{c.total} | {pct(c.pct)} | {c.waived or ''}"


def _table(files: dict[str, FileSummary]) -> list[str]:
    out = [
        "| file | line points | line | waived | toggle points | toggle | waived |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for fs in files.values():
        if fs.elaborated:
            out.append(f"| `{fs.path}` | {_counts_cells(fs.line)} | {_counts_cells(fs.toggle)} |")
    return out


def _uncovered(summary: Summary, waived: bool) -> list[str]:
    out: list[str] = []
    for fs in summary.counted.values():
        items = [u for u in fs.uncovered if (u.reason is not None) == waived]
        if not items:
            continue
        out += ["", f"### {fs.path}", ""]
        for u in items:
            span = f", lines {u.span}" if u.span and u.span != str(u.line) else ""
            why = f" — {u.reason}" if waived else ""
            out.append(f"- `{u.file}:{u.line}` ({u.what}{span}): `{u.text}`{why}")
    return out or ["", "none"]


def _untoggled(summary: Summary, waived: bool) -> list[str]:
    out: list[str] = []
    for fs in summary.counted.values():
        items = [s for s in fs.untoggled if (s.reason is not None) == waived]
        if not items:
            continue
        out += ["", f"### {fs.path}", ""]
        for s in items:
            why = f" — {s.reason}" if waived else ""
            out.append(
                f"- `{s.signal}` (line {s.line}): {s.missed}/{s.points} points: {s.detail}{why}"
            )
    return out or ["", "none"]


def render_markdown(summary: Summary) -> str:
    line, toggle = summary.totals()
    not_elaborated = [fs.path for fs in summary.counted.values() if not fs.elaborated]
    out = [
        "# RTL coverage (Verilator line and toggle coverage)",
        "",
        f"Written by `python -m sim.coverage` (`make coverage`) from {summary.dat_files} runs'"
        " coverage data, merged (docs/COVERAGE.md). Counted: the files under `rtl/`. Line points"
        " are Verilator's blocks and branch arms (`--coverage-line`), toggle points one per bit"
        " and direction (`--coverage-toggle`); a point is covered when hit at least once in any"
        ' run. "Without waived" leaves the points waived in `sim/coverage_waivers.toml` out of'
        " the total.",
        "",
        "## Totals (rtl/)",
        "",
        "| | covered/points | % | waived | % without waived |",
        "|---|---:|---:|---:|---:|",
        f"| line | {line.covered}/{line.total} | {pct(line.pct)} | {line.waived}"
        f" | {pct(line.pct_waived)} |",
        f"| toggle | {toggle.covered}/{toggle.total} | {pct(toggle.pct)} | {toggle.waived}"
        f" | {pct(toggle.pct_waived)} |",
        "",
        "## Per file (rtl/)",
        "",
        *_table(summary.counted),
        "",
        "No coverage points (packages of constants and types only, or not elaborated by any run): "
        + (", ".join(f"`{f}`" for f in not_elaborated) or "none"),
        "",
        "## Simulation-only sources (sim/, not counted)",
        "",
        *_table(summary.apart),
        "",
        "## Uncovered lines, not waived",
        *_uncovered(summary, waived=False),
        "",
        "## Untoggled signals, not waived",
        *_untoggled(summary, waived=False),
        "",
        "## Uncovered lines, waived",
        *_uncovered(summary, waived=True),
        "",
        "## Untoggled signals, waived",
        *_untoggled(summary, waived=True),
        "",
        "## Waivers that match nothing",
        "",
        *(
            [f"- `{w.file}` {w.line or w.signal}: {w.reason}" for w in summary.unused_waivers]
            or ["none"]
        ),
    ]
    return "\n".join(out) + "\n"


def _file_dict(fs: FileSummary) -> dict:
    return {
        "elaborated": fs.elaborated,
        "line": fs.line.as_dict(),
        "toggle": fs.toggle.as_dict(),
        "uncovered_lines": [asdict(u) for u in fs.uncovered],
        "untoggled_signals": [asdict(s) for s in fs.untoggled],
    }


def render_json(summary: Summary) -> dict:
    line, toggle = summary.totals()
    return {
        "dat_files": summary.dat_files,
        "totals": {"line": line.as_dict(), "toggle": toggle.as_dict()},
        "files": {f: _file_dict(fs) for f, fs in summary.counted.items()},
        "simulation_only": {f: _file_dict(fs) for f, fs in summary.apart.items()},
        "unused_waivers": [asdict(w) for w in summary.unused_waivers],
    }
