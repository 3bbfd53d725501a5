"""Per-file coverage summary of the RTL from merged Verilator data, with waivers.

Files under ``rtl/`` are counted; files under ``sim/`` (the simulation-only tops,
the DPI host bus and stream ends, the checker binds) are summed apart and not
counted; files outside the repository (Verilator's own ``verilated_std.sv``) are
left out. Every uncovered line point and every untoggled signal is listed, with
the reason of the waiver that covers it, if one does (``sim/coverage_waivers.toml``).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sim.coverage_data import Point, Toggle, bit_ranges, merge_sites, parse_toggle

COUNTED_DIR = "rtl"
APART_DIR = "sim"


class WaiverError(ValueError):
    """A waiver file that does not say what it waives or why."""


@dataclass(frozen=True)
class Waiver:
    """One waived uncovered line (``line``) or untoggled signal (``signal``) of a file."""

    file: str
    reason: str
    line: int | None = None
    signal: str | None = None

    def matches_point(self, file: str, p: Point) -> bool:
        """A point at this line, or whose block spans it."""
        return self.file == file and self.line is not None and self.line in p.lines | {p.line}

    def matches_signal(self, file: str, signal: str) -> bool:
        return self.file == file and self.signal == signal


def parse_waivers(text: str, source: str = "waivers") -> list[Waiver]:
    """``[[waiver]]`` tables: ``file``, ``reason`` and exactly one of ``line``, ``signal``."""
    data = tomllib.loads(text)
    unknown = set(data) - {"waiver"}
    if unknown:
        raise WaiverError(f"{source}: unknown top-level keys {sorted(unknown)}")
    return [
        _waiver(item, f"{source}: waiver {i + 1}") for i, item in enumerate(data.get("waiver", []))
    ]


def _waiver(item: dict, where: str) -> Waiver:
    extra = set(item) - {"file", "reason", "line", "signal"}
    if extra:
        raise WaiverError(f"{where}: unknown keys {sorted(extra)}")
    if not isinstance(item.get("file"), str) or not item["file"]:
        raise WaiverError(f"{where}: no file")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise WaiverError(f"{where}: no reason (say why the item cannot or need not be covered)")
    if ("line" in item) == ("signal" in item):
        raise WaiverError(f"{where}: give exactly one of line, signal")
    line = item.get("line")
    if line is not None and (not isinstance(line, int) or line < 1):
        raise WaiverError(f"{where}: line must be a positive integer")
    return Waiver(item["file"], reason.strip(), line, item.get("signal"))


def read_waivers(path: Path) -> list[Waiver]:
    """The waivers of ``path``; none when the file does not exist."""
    if not path.exists():
        return []
    return parse_waivers(path.read_text(encoding="utf-8"), str(path))


@dataclass
class Counts:
    """Points of one category: covered, total, and how many uncovered ones are waived."""

    covered: int = 0
    total: int = 0
    waived: int = 0

    def add(self, other: Counts) -> None:
        self.covered += other.covered
        self.total += other.total
        self.waived += other.waived

    @property
    def pct(self) -> float | None:
        return None if self.total == 0 else 100.0 * self.covered / self.total

    @property
    def pct_waived(self) -> float | None:
        """Coverage with the waived points left out of the total."""
        rest = self.total - self.waived
        return None if rest == 0 else 100.0 * self.covered / rest

    def as_dict(self) -> dict:
        return {
            "covered": self.covered,
            "total": self.total,
            "waived": self.waived,
            "pct": _round(self.pct),
            "pct_without_waived": _round(self.pct_waived),
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


@dataclass(frozen=True)
class UncoveredLine:
    """A line (block) or branch point never hit."""

    file: str
    line: int
    what: str
    span: str
    text: str
    reason: str | None = None


@dataclass(frozen=True)
class UntoggledSignal:
    """A signal with toggle points never hit: which bits, in which direction."""

    file: str
    line: int
    signal: str
    missed: int
    points: int
    detail: str
    reason: str | None = None


@dataclass
class FileSummary:
    path: str
    line: Counts = field(default_factory=Counts)
    toggle: Counts = field(default_factory=Counts)
    uncovered: list[UncoveredLine] = field(default_factory=list)
    untoggled: list[UntoggledSignal] = field(default_factory=list)

    @property
    def elaborated(self) -> bool:
        return self.line.total + self.toggle.total > 0


@dataclass
class Summary:
    counted: dict[str, FileSummary]
    apart: dict[str, FileSummary]
    unused_waivers: list[Waiver]
    dat_files: int = 0

    def totals(self) -> tuple[Counts, Counts]:
        line, toggle = Counts(), Counts()
        for fs in self.counted.values():
            line.add(fs.line)
            toggle.add(fs.toggle)
        return line, toggle


class SourceLines:
    """Source text by (repo-relative) file and line, read once per file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, list[str]] = {}

    def text(self, file: str, line: int) -> str:
        if file not in self._files:
            path = self.root / file
            self._files[file] = (
                path.read_text(errors="replace").splitlines() if path.exists() else []
            )
        lines = self._files[file]
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def relative(file: str, root: Path) -> str | None:
    """``file`` relative to the repository, or None when it lies outside."""
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def summarise(
    points: Iterable[Point],
    root: Path,
    waivers: list[Waiver],
    rtl_files: Iterable[str] = (),
) -> Summary:
    """Per-file summary of ``points`` (a merged ``.dat``); ``rtl_files`` (repo-relative)
    are listed even when no run elaborated them."""
    by_file: dict[str, list[Point]] = defaultdict(list)
    for p in merge_sites(points).values():
        rel = relative(p.file, root)
        if rel is not None and p.category is not None:
            by_file[rel].append(p)
    src = SourceLines(root)
    used: set[Waiver] = set()
    counted = {f: FileSummary(f) for f in rtl_files}
    apart: dict[str, FileSummary] = {}
    for rel, pts in sorted(by_file.items()):
        fs = _file_summary(rel, pts, src, waivers, used)
        if rel.startswith(COUNTED_DIR + "/"):
            counted[rel] = fs
        elif rel.startswith(APART_DIR + "/"):
            apart[rel] = fs
    unused = [w for w in waivers if w not in used]
    return Summary(dict(sorted(counted.items())), apart, unused)


def _file_summary(
    rel: str, pts: list[Point], src: SourceLines, waivers: list[Waiver], used: set[Waiver]
) -> FileSummary:
    fs = FileSummary(rel)
    for p in sorted(pts, key=lambda p: (p.line, p.column, p.what)):
        if p.category == "line":
            _add_line_point(fs, p, src, waivers, used)
    toggles = [p for p in pts if p.category == "toggle"]
    for (line, signal), sig_pts in sorted(_by_signal(toggles).items()):
        _add_signal(fs, line, signal, sig_pts, waivers, used)
    return fs


def _add_line_point(
    fs: FileSummary, p: Point, src: SourceLines, waivers: list[Waiver], used: set[Waiver]
) -> None:
    fs.line.total += 1
    if p.count > 0:
        fs.line.covered += 1
        return
    w = next((w for w in waivers if w.matches_point(fs.path, p)), None)
    if w is not None:
        used.add(w)
        fs.line.waived += 1
    what = p.what if p.kind == "v_line" else f"branch {p.what}"
    text = src.text(fs.path, p.line)
    fs.uncovered.append(UncoveredLine(fs.path, p.line, what, p.span, text, w and w.reason))


def _by_signal(toggles: list[Point]) -> dict[tuple[int, str], list[tuple[Toggle, int]]]:
    out: dict[tuple[int, str], list[tuple[Toggle, int]]] = defaultdict(list)
    for p in toggles:
        t = parse_toggle(p.what)
        out[(p.line, t.signal)].append((t, p.count))
    return out


def _add_signal(
    fs: FileSummary,
    line: int,
    signal: str,
    pts: list[tuple[Toggle, int]],
    waivers: list[Waiver],
    used: set[Waiver],
) -> None:
    missed = [t for t, count in pts if count == 0]
    fs.toggle.total += len(pts)
    fs.toggle.covered += len(pts) - len(missed)
    if not missed:
        return
    w = next((w for w in waivers if w.matches_signal(fs.path, signal)), None)
    if w is not None:
        used.add(w)
        fs.toggle.waived += len(missed)
    detail = toggle_detail(missed)
    fs.untoggled.append(
        UntoggledSignal(fs.path, line, signal, len(missed), len(pts), detail, w and w.reason)
    )


def toggle_detail(missed: list[Toggle]) -> str:
    """Which bits never toggled: ``never [7:5]; never 0->1 [1]; never 1->0 [0]``."""
    dirs: dict[str, set[str]] = defaultdict(set)
    for t in missed:
        dirs[t.index].add(t.direction)
    both = [ix for ix, d in dirs.items() if len(d) == 2]
    rise = [ix for ix, d in dirs.items() if d == {"0->1"}]
    fall = [ix for ix, d in dirs.items() if d == {"1->0"}]
    parts = []
    for label, ixs in (("never", both), ("never 0->1", rise), ("never 1->0", fall)):
        if ixs:
            bits = bit_ranges(ixs)
            parts.append(f"{label} {bits}" if bits else label)
    return "; ".join(parts)
