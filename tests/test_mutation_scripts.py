"""The mutation scripts still aim at the code as it is: every named mutant's text
occurs exactly once in its file, every test selection it names selects a test, and
every RTL file gives the random campaign sites and covering tests that exist.
A mutant whose text moved away stops its campaign; one whose tests select nothing
would be "killed" by a run that tested nothing (sim/mutation.py refuses that too)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim import mutate_eswitch, mutate_npa, mutate_rtl, mutate_sriov
from sim.mutation import MutationRunError, killed_by
from sim.toolchain import REPO_ROOT

# RTL files where sim.mutate_rtl draws no site, and why
NO_SITES = {
    "rtl/prim/prim_vr_check.sv": "assertions only (`ifndef SYNTHESIS)",
    "rtl/ring_fmt_a.sv": "a field mapping: no comparison, logic operator or 1-bit constant",
}

NAMED = [(m[0], m[1], m[2], tuple(m[4]), mutate_sriov.SRIOV_TESTS) for m in mutate_sriov.MUTANTS]
NAMED += [(m[0], m[1], m[2], tuple(m[4]), mutate_npa.NPA_TESTS) for m in mutate_npa.MUTANTS]


def collected(files: tuple[str, ...]) -> list[str]:
    """Node ids pytest collects from ``files`` (nothing is built or run)."""
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    r = subprocess.run([*cmd, *files], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [x for x in r.stdout.splitlines() if "::" in x]


@pytest.mark.parametrize("name,path,old", [m[:3] for m in NAMED], ids=[m[0] for m in NAMED])
def test_named_mutant_text_present_once(name: str, path: str, old: str) -> None:
    assert (REPO_ROOT / path).read_text().count(old) == 1, f"{name}: text moved in {path}"


@pytest.mark.parametrize("m", mutate_eswitch.MUTANTS, ids=[m.name for m in mutate_eswitch.MUTANTS])
def test_switch_mutant_text_present_once(m: mutate_eswitch.Mutant) -> None:
    assert (REPO_ROOT / "rtl" / m.file).read_text().count(m.old) == 1, m.name


def test_named_mutants_select_tests() -> None:
    """pytest -k matches substrings of the node ids: each name must hit one."""
    ids = {files: collected(files) for files in {m[4] for m in NAMED}}
    for name, _, _, tests, files in NAMED:
        for sel in tests:
            assert any(sel in i for i in ids[files]), f"{name}: -k {sel!r} selects nothing"
    switch_ids = collected(("tests/test_eswitch.py",))
    for t in (*mutate_eswitch.DIRECTED, *mutate_eswitch.OTHERS):
        assert f"tests/test_eswitch.py::test_eswitch[default-{t}]" in switch_ids, t


def test_every_rtl_file_has_sites_and_covering_tests() -> None:
    for sv in sorted(Path(REPO_ROOT, "rtl").rglob("*.sv")):
        rel = str(sv.relative_to(REPO_ROOT))
        if rel.endswith("_pkg.sv"):
            continue  # constants and types: nothing to mutate
        text = sv.read_text()
        sites = mutate_rtl.sites(rel, text)
        assert bool(sites) != (rel in NO_SITES), f"{rel}: {len(sites)} mutation sites"
        for s in sites:  # each applies to the text it was drawn from
            assert s.apply(text) != text
        for spec in mutate_rtl.tests_for(rel):
            assert (REPO_ROOT / spec.split(" -k ", 1)[0]).is_file(), f"{rel}: {spec}"


def _run(code: int, out: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["pytest"], code, stdout=out, stderr="")


def test_verdict_needs_a_test_that_ran_and_failed() -> None:
    assert killed_by(_run(1, "1 failed, 3 passed in 5.0s"), "x") is True
    # -x under xdist: the session stops at the first failure with status 2
    stopped = "!! xdist.dsession.Interrupted: stopping after 1 failures !!\n1 failed, 3 passed"
    assert killed_by(_run(2, stopped), "x") is True
    assert killed_by(_run(0, "4 passed"), "x") is False
    # interrupted without a failure, internal or usage error, nothing selected
    for code, out in ((2, "1 error in 0.5s"), (3, ""), (4, ""), (5, "no tests ran")):
        with pytest.raises(MutationRunError):
            killed_by(_run(code, out), "x")
    with pytest.raises(MutationRunError):  # status 1 without a failure in the summary
        killed_by(_run(1, "0 passed"), "x")


def test_a_selection_of_nothing_is_refused() -> None:
    """A campaign over no mutant would report every one killed: each script refuses."""
    with pytest.raises(SystemExit, match="unknown mutant id R99"):
        mutate_sriov.main(["R99"])
    with pytest.raises(SystemExit, match="unknown mutant id N99"):
        mutate_npa.main(["N99"])
    with pytest.raises(SystemExit):
        mutate_eswitch.main(["--only", "no such rule", "--list"])
    with pytest.raises(SystemExit):
        mutate_rtl.main(["--files", "rtl/nope.sv", "--list"])
