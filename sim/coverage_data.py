"""Verilator coverage data (``coverage.dat``): parse it, and sum it per source file.

A ``.dat`` file (SystemC::Coverage-3) has one line per coverage point::

    C '<key>' <count>

where ``<key>`` is a list of fields, each ``\\x01<name>\\x02<value>``: ``f`` the source
file, ``l`` the line, ``n`` the column, ``t`` the type, ``page`` ``v_line/<module>``,
``v_branch/<module>`` or ``v_toggle/<module>``, ``o`` what is counted (``block``,
``if``, ``else``, ``sig[3]:0->1``), ``S`` the lines a block spans, ``h`` the hierarchy
(the module, since coverage is collected per module by default).

Line coverage here is Verilator's ``--coverage-line``: its block points (page
``v_line``) and its branch points (``v_branch``, an ``if`` or ``else`` arm taken).
Toggle coverage is ``--coverage-toggle`` (page ``v_toggle``): one point per bit and
direction. A point is covered when its count is above zero. Points of the same site
(file, line, column, what is counted) in several hierarchies or parameterisations
count once, covered when any of them is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Page prefixes of the point kinds, and the summary category each one counts in.
CATEGORY = {"v_line": "line", "v_branch": "line", "v_toggle": "toggle"}

_LINE_RE = re.compile(r"^C '(?P<key>.*)' (?P<count>\d+)\s*$")
_SIGNAL_RE = re.compile(r"^(?P<name>.*?)(?P<index>(?:\[\d+\])*):(?P<dir>[01]->[01])$")


class CoverageDataError(ValueError):
    """A coverage file that is not in Verilator's format."""


@dataclass(frozen=True)
class Point:
    """One coverage point of a merged ``.dat`` file."""

    file: str
    line: int
    column: int
    page: str
    what: str
    span: str
    hier: str
    count: int

    @property
    def kind(self) -> str:
        """``v_line``, ``v_branch``, ``v_toggle`` (the page's prefix) or another page."""
        return self.page.split("/", 1)[0]

    @property
    def category(self) -> str | None:
        """``line`` or ``toggle``; None for a kind the summary does not count."""
        return CATEGORY.get(self.kind)

    @property
    def lines(self) -> set[int]:
        """The source lines the point stands for: its span (``S``), else its line."""
        return span_lines(self.span) or {self.line}

    @property
    def site(self) -> tuple[str, str, int, int, str, str]:
        """The point without its hierarchy: the same site in two instances is one."""
        return (self.kind, self.file, self.line, self.column, self.what, self.span)


def span_lines(span: str) -> set[int]:
    """``"43-45,50"`` -> {43, 44, 45, 50}; empty for an empty or unreadable span."""
    out: set[int] = set()
    for part in filter(None, span.split(",")):
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            return set()
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def parse_key(key: str) -> dict[str, str]:
    """The fields of a point's key (``\\x01name\\x02value`` ...)."""
    fields: dict[str, str] = {}
    for item in key.split("\x01"):
        if not item:
            continue
        name, sep, value = item.partition("\x02")
        if not sep:
            raise CoverageDataError(f"coverage key field without a value: {item!r}")
        fields[name] = value
    return fields


def parse_point(text: str) -> Point | None:
    """One line of a ``.dat`` file: a Point, or None for a comment or blank line."""
    if not text.strip() or text.startswith("#"):
        return None
    m = _LINE_RE.match(text)
    if m is None:
        raise CoverageDataError(f"not a coverage line: {text[:120]!r}")
    f = parse_key(m["key"])
    try:
        return Point(
            file=f["f"],
            line=int(f["l"]),
            column=int(f.get("n", "0")),
            page=f.get("page", ""),
            what=f.get("o", ""),
            span=f.get("S", ""),
            hier=f.get("h", ""),
            count=int(m["count"]),
        )
    except (KeyError, ValueError) as err:
        raise CoverageDataError(f"coverage point without file or line: {text[:120]!r}") from err


def parse_dat(text: str) -> list[Point]:
    """Every point of a ``.dat`` file's text."""
    if text and not text.startswith("# SystemC::Coverage"):
        raise CoverageDataError("not a Verilator coverage file (no SystemC::Coverage header)")
    return [p for p in map(parse_point, text.splitlines()) if p is not None]


def read_dat(path: Path) -> list[Point]:
    return parse_dat(path.read_text(encoding="utf-8", errors="replace"))


def merge_sites(points: Iterable[Point]) -> dict[tuple, Point]:
    """One point per site, its count the sum over hierarchies (covered if any is)."""
    sites: dict[tuple, Point] = {}
    for p in points:
        old = sites.get(p.site)
        sites[p.site] = p if old is None else _with_count(old, old.count + p.count)
    return sites


def _with_count(p: Point, count: int) -> Point:
    return Point(p.file, p.line, p.column, p.page, p.what, p.span, "*", count)


@dataclass(frozen=True)
class Toggle:
    """What a toggle point counts: a signal's bit (``index``) in one direction."""

    signal: str
    index: str
    direction: str


def parse_toggle(what: str) -> Toggle:
    """``data[3]:0->1`` -> Toggle("data", "[3]", "0->1")."""
    m = _SIGNAL_RE.match(what)
    if m is None:
        return Toggle(what, "", "")
    return Toggle(m["name"], m["index"], m["dir"])


def bit_ranges(indices: Iterable[str]) -> str:
    """Bits as ranges of the last index, highest first: ``[7],[6],[5],[1]`` -> ``[7:5],[1]``;
    ``[0][3],[0][2],[1][3]`` -> ``[0][3:2],[1][3]``. An index that is not a list of
    numbers is listed as it is."""
    by_prefix: dict[tuple[int, ...], list[int]] = {}
    other: list[str] = []
    for ix in indices:
        nums = [int(n) for n in re.findall(r"\[(\d+)\]", ix)]
        if nums and "".join(f"[{n}]" for n in nums) == ix:
            by_prefix.setdefault(tuple(nums[:-1]), []).append(nums[-1])
        elif ix:
            other.append(ix)
    parts: list[str] = []
    for prefix, bits in sorted(by_prefix.items()):
        head = "".join(f"[{n}]" for n in prefix)
        parts += [head + r for r in _ranges(bits)]
    return ",".join(parts + sorted(set(other)))


def _ranges(nums: list[int]) -> list[str]:
    out: list[str] = []
    run: list[int] = []
    for n in sorted(set(nums), reverse=True):
        if run and n != run[-1] - 1:
            out.append(_range(run))
            run = []
        run.append(n)
    if run:
        out.append(_range(run))
    return out


def _range(run: list[int]) -> str:
    return f"[{run[0]}]" if len(run) == 1 else f"[{run[0]}:{run[-1]}]"
