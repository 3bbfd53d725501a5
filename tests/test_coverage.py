"""make coverage (docs/COVERAGE.md): the runner's coverage switch, the .dat parser and
per-file summary on a hand-written file, and one small top run under the switch end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import sim.runner as runner
from sim import coverage
from sim.coverage_data import (
    CoverageDataError,
    bit_ranges,
    parse_dat,
    parse_toggle,
    read_dat,
    span_lines,
)
from sim.coverage_report import render_markdown
from sim.coverage_summary import WaiverError, parse_waivers, summarise

BLK_SV = """module blk (input logic clk, input logic [3:0] d, output logic q);
  always_ff @(posedge clk) begin
    if (d[0]) q <= 1'b1;
    else q <= 1'b0;
  end
endmodule
"""


def point(file: str, line: int, page: str, what: str, count: int, hier: str = "blk") -> str:
    fields = {"f": file, "l": str(line), "n": "5", "page": page, "o": what, "h": hier}
    key = "".join(f"\x01{k}\x02{v}" for k, v in fields.items())
    return f"C '{key}' {count}"


def hand_written_dat(root: Path) -> str:
    """rtl/blk.sv: 4 line sites (one only covered in a second hierarchy, one never),
    10 toggle points of which 5 hit; a sim/ file, a file outside the repo, a user point."""
    blk = str(root / "rtl" / "blk.sv")
    lines = [
        "# SystemC::Coverage-3",
        point(blk, 2, "v_line/blk", "block", 10),
        point(blk, 3, "v_branch/blk", "if", 4),
        point(blk, 4, "v_branch/blk", "else", 0),
        point(blk, 4, "v_branch/blk", "else", 0, hier="blk__P1"),
        point(blk, 3, "v_line/blk", "block", 0),
        point(blk, 3, "v_line/blk", "block", 3, hier="blk__P1"),
        *(point(blk, 1, "v_toggle/blk", f"d[0]:{d}", 5) for d in ("0->1", "1->0")),
        *(
            point(blk, 1, "v_toggle/blk", f"d[{b}]:{d}", 0)
            for b in (1, 2)
            for d in ("0->1", "1->0")
        ),
        point(blk, 1, "v_toggle/blk", "d[3]:0->1", 1),
        point(blk, 1, "v_toggle/blk", "d[3]:1->0", 0),
        point(blk, 1, "v_toggle/blk", "q:0->1", 1),
        point(blk, 1, "v_toggle/blk", "q:1->0", 1),
        point(str(root / "sim" / "tops" / "t.sv"), 7, "v_line/t", "block", 0, hier="t"),
        point("/elsewhere/verilated_std.sv", 9, "v_line/std", "block", 0, hier="std"),
        point(blk, 5, "v_user/blk", "cover", 0),
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "blk.sv").write_text(BLK_SV)
    return tmp_path


def test_coverage_switch_changes_only_the_build_args_and_folder(monkeypatch) -> None:
    top = runner.SimTop("prim_rr_arb", {"N": 3})
    monkeypatch.delenv(runner.COVERAGE_ENV, raising=False)
    assert runner.verilator_args(top) == list(runner.VERILATOR_BUILD_ARGS)
    off = top.build_dir
    assert off.parent == runner.BUILD_ROOT and not off.name.endswith("-cov")
    monkeypatch.setenv(runner.COVERAGE_ENV, "0")
    assert runner.verilator_args(top) == list(runner.VERILATOR_BUILD_ARGS)
    assert top.build_dir == off
    monkeypatch.setenv(runner.COVERAGE_ENV, "1")
    on = runner.verilator_args(top)
    assert on == [*runner.VERILATOR_BUILD_ARGS, "--coverage-line", "--coverage-toggle"]
    assert top.build_dir == off.with_name(off.name + "-cov")


def test_collect_coverage_never_overwrites(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path)
    assert runner.collect_coverage(tmp_path, "none") is None
    got = []
    for text in ("first", "second"):
        (tmp_path / "coverage.dat").write_text(text)
        got.append(runner.collect_coverage(tmp_path, "top__run__gw0"))
    assert got[0] != got[1] and all(p.parent == tmp_path / "coverage" for p in got)
    assert [p.read_text() for p in got] == ["first", "second"]


def test_parse_dat_fields() -> None:
    key = "\x01f\x02/r/rtl/a.sv\x01l\x0212\x01n\x023\x01page\x02v_toggle/a\x01o\x02x[4]:1->0"
    (p,) = parse_dat(f"# SystemC::Coverage-3\nC '{key}' 17\n")
    assert (p.file, p.line, p.column, p.kind, p.category, p.count) == (
        "/r/rtl/a.sv",
        12,
        3,
        "v_toggle",
        "toggle",
        17,
    )
    assert parse_toggle(p.what) == parse_toggle("x[4]:1->0")
    assert (parse_toggle(p.what).signal, parse_toggle(p.what).index) == ("x", "[4]")
    with pytest.raises(CoverageDataError):
        parse_dat("not coverage\n")
    with pytest.raises(CoverageDataError):
        parse_dat("# SystemC::Coverage-3\nC 'x' y\n")


def test_span_lines() -> None:
    assert span_lines("43-45,50") == {43, 44, 45, 50}
    assert span_lines("") == set() and span_lines("x") == set()


def test_bit_ranges() -> None:
    assert bit_ranges(["[7]", "[6]", "[5]", "[1]"]) == "[7:5],[1]"
    assert bit_ranges(["[0]", "[2][1]"]) == "[0],[2][1]"
    assert bit_ranges(["[0][3]", "[1][3]", "[0][2]", "[x]", ""]) == "[0][3:2],[1][3],[x]"


def test_summary_of_a_hand_written_dat(repo: Path) -> None:
    s = summarise(parse_dat(hand_written_dat(repo)), repo, [], ["rtl/blk.sv", "rtl/unused.sv"])
    blk = s.counted["rtl/blk.sv"]
    assert (blk.line.covered, blk.line.total) == (3, 4)
    assert (blk.toggle.covered, blk.toggle.total) == (5, 10)
    (u,) = blk.uncovered
    assert (u.line, u.what, u.text) == (4, "branch else", "else q <= 1'b0;")
    (d,) = blk.untoggled
    assert (d.signal, d.missed, d.points) == ("d", 5, 8)
    assert d.detail == "never [2:1]; never 1->0 [3]"
    assert not s.counted["rtl/unused.sv"].elaborated
    assert list(s.apart) == ["sim/tops/t.sv"] and s.apart["sim/tops/t.sv"].line.total == 1
    line, toggle = s.totals()
    assert (line.covered, line.total, toggle.covered, toggle.total) == (3, 4, 5, 10)
    assert line.pct == 75.0 and toggle.pct == 50.0


WAIVERS = """
[[waiver]]
file = "rtl/blk.sv"
line = 4
reason = "unreachable by design: d[0] is tied high"

[[waiver]]
file = "rtl/blk.sv"
signal = "d"
reason = "tied off at this top"

[[waiver]]
file = "rtl/blk.sv"
line = 99
reason = "stale"
"""


def test_waivers_listed_apart_and_totals_both_ways(repo: Path) -> None:
    waivers = parse_waivers(WAIVERS)
    s = summarise(parse_dat(hand_written_dat(repo)), repo, waivers, ["rtl/blk.sv"])
    blk = s.counted["rtl/blk.sv"]
    assert blk.uncovered[0].reason == "unreachable by design: d[0] is tied high"
    assert blk.untoggled[0].reason == "tied off at this top"
    line, toggle = s.totals()
    assert (line.waived, line.pct, line.pct_waived) == (1, 75.0, 100.0)
    assert (toggle.waived, toggle.pct, toggle.pct_waived) == (5, 50.0, 100.0)
    assert [w.line for w in s.unused_waivers] == [99]
    md = render_markdown(s)
    assert "`rtl/blk.sv:4` (branch else): `else q <= 1'b0;` — unreachable by design" in md


@pytest.mark.parametrize(
    "text",
    [
        '[[waiver]]\nfile = "rtl/a.sv"\nline = 3\n',  # no reason
        '[[waiver]]\nfile = "rtl/a.sv"\nreason = "x"\n',  # neither line nor signal
        '[[waiver]]\nfile = "rtl/a.sv"\nline = 3\nsignal = "s"\nreason = "x"\n',
        '[[waiver]]\nfile = "rtl/a.sv"\nlines = 3\nreason = "x"\n',
    ],
)
def test_waiver_without_what_or_why_is_refused(text: str) -> None:
    with pytest.raises(WaiverError):
        parse_waivers(text)


def test_clear_errors_without_tool_or_data(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(coverage.CoverageError, match="no coverage data"):
        coverage.find_dat_files(tmp_path)
    monkeypatch.setattr(coverage, "verilator_root", lambda: tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(coverage.CoverageError, match="verilator_coverage not found"):
        coverage.find_verilator_coverage()


def test_coverage_end_to_end_on_prim_rr_arb(tmp_path: Path, monkeypatch) -> None:
    """One small top built and run under the switch into a tmp build root, then reported."""
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path / "build")
    monkeypatch.setenv(runner.COVERAGE_ENV, "1")
    tests, failures = runner.run(runner.SimTop("prim_rr_arb", {"N": 3}), "tests.cocotb_prim_rr_arb")
    assert tests == 2 and failures == 0
    (dat,) = (tmp_path / "build" / "coverage").glob("*.dat")
    assert dat.name.startswith("prim_rr_arb-") and "-cov__" in dat.name
    shutil.copy(dat, dat.with_name("again.dat"))  # the same run twice: counts double
    out = tmp_path / "reports"
    s = coverage.report(tmp_path / "build" / "coverage", out, tmp_path / "none.toml")
    one = {(p.site, p.hier): p.count for p in read_dat(dat)}
    merged = {(p.site, p.hier): p.count for p in read_dat(out / "coverage.dat")}
    assert merged == {k: 2 * c for k, c in one.items()}
    for name in ("coverage.dat", "coverage.info", "summary.md", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "annotated" / "prim_rr_arb.sv").exists()
    arb = s.counted["rtl/prim/prim_rr_arb.sv"]
    src = runner.RTL_DIR / "prim" / "prim_rr_arb.sv"
    grant = 1 + next(
        i for i, t in enumerate(src.read_text().splitlines()) if "grant_valid = 1'b1;" in t
    )
    hits = [
        p.count
        for p in read_dat(out / "coverage.dat")
        if p.file == str(src) and grant in p.lines and p.category == "line"
    ]
    assert hits and all(c > 0 for c in hits)  # a grant is given in every test
    assert arb.line.covered > 0 and grant not in {u.line for u in arb.uncovered}
    assert "SF:" in (out / "coverage.info").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"]["rtl/prim/prim_rr_arb.sv"]["line"]["covered"] == arb.line.covered
