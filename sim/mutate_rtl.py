"""Random classic-operator mutation campaign over the RTL: do the tests notice?

Draws mutation sites at random (seeded) from the RTL files asked for, applies one
operator change per mutant in a copy of the repository, rebuilds and runs the
tests that cover that file, and reports each mutant KILLED (a test failed),
SURVIVED (every test passed: a hole in the checks, or an equivalent mutant to
explain) or INVALID (it does not build or elaborate: not counted).

Sites inside ```ifndef SYNTHESIS`` (assertions) and ``initial begin`` blocks
(elaboration-time parameter checks) are not drawn: weakening a check changes no
behaviour a test of a legal configuration could see. Operators (the classic set): ``<`` <->
``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``&&`` <-> ``||``, a dropped ``!``,
and the one-bit constants ``1'b0`` <-> ``1'b1``. Comparisons are only taken
inside parentheses, where ``<=`` cannot be a non-blocking assignment, and not
in ``for`` headers (a loop bound one past an array is equivalent in simulation).
Comments are never mutated.

Usage::

    python -m sim.mutate_rtl [--files rtl/a.sv,rtl/b.sv] [--count N] [--seed S] [--list]

``--list`` prints the drawn mutants without running them. Without ``--files``
every RTL file is a candidate. Each mutant rebuilds the tops its tests use
(about a minute per mutant for vf_dma, two to three for nic_top).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sim.mutation import killed_by
from sim.toolchain import REPO_ROOT

# the tests that cover each RTL file (pytest node selections); the default for others
# the 2-queue engine of each ring format: two builds, every vf_dma test kind
VF_DMA_TESTS = ("tests/test_vf_dma.py -k q2",)
COVERING: dict[str, tuple[str, ...]] = {
    "rtl/ring_fmt_b.sv": ("tests/test_vf_dma.py -k b_q2",),
    "rtl/eswitch": ("tests/test_eswitch.py",),
    "rtl/vf_dma": VF_DMA_TESTS,
    "rtl/ring_fmt_a.sv": VF_DMA_TESTS,
    # the FIFO and the round-robin pick serve vf_dma, the switch and dma_arbiter
    "rtl/prim": (*VF_DMA_TESTS, "tests/test_eswitch.py", "tests/test_prim_rr_arb.py"),
}
DEFAULT_TESTS = (
    "tests/integration/test_sriov.py",
    "tests/integration/test_nic_top.py",
    "tests/integration/test_rx_stress.py",  # the PF's per-VF statistics under load
)

SWAPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "&&": "||"}
SWAPS["||"] = "&&"
TOKEN = re.compile(r"&&|\|\||==|!=|<=|>=|(?<![<>=!])<(?![<=])|(?<![<>=-])>(?![>=])|!(?!=)|1'b[01]")
FOR_HEADER = re.compile(r"\bfor\s*\(")
_SKIP = shutil.ignore_patterns("build", ".git", ".venv", "reports", "__pycache__")


@dataclass(frozen=True)
class Mutant:
    path: str
    line: int  # 1-based
    col: int  # 0-based column of the operator
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col + 1} {self.old!r} -> {self.new!r}"

    def apply(self, text: str) -> str:
        lines = text.split("\n")
        s = lines[self.line - 1]
        if s[self.col : self.col + len(self.old)] != self.old:
            raise ValueError(f"{self}: the source changed")
        lines[self.line - 1] = s[: self.col] + self.new + s[self.col + len(self.old) :]
        return "\n".join(lines)


def _code_part(line: str) -> str:
    """The line without its // comment (block comments are not used in rtl/)."""
    return line.split("//", 1)[0]


def sites(path: str, text: str) -> list[Mutant]:
    """Every mutable operator of ``text``: comparisons inside parentheses, the logical
    operators, ``!`` and one-bit constants, outside comments and strings."""
    out: list[Mutant] = []
    checks = False  # inside `ifndef SYNTHESIS: assertions, not design
    initial: str | None = None  # indent of an open `initial begin`: parameter checks
    for n, line in enumerate(text.split("\n"), 1):
        code = _code_part(line)
        indent = code[: len(code) - len(code.lstrip())]
        if code.strip().startswith("`ifndef SYNTHESIS"):
            checks = True
        elif code.strip().startswith("`endif"):
            checks = False
        if initial is None and code.strip() == "initial begin":
            initial = indent
        elif initial is not None and indent == initial and code.strip().startswith("end"):
            initial = None
            continue
        if checks or initial is not None or '"' in code or code.lstrip().startswith("`"):
            continue  # assertions, parameter checks, messages and compiler directives
        for m in TOKEN.finditer(code):
            tok = m.group()
            depth = code[: m.start()].count("(") - code[: m.start()].count(")")
            if tok in ("<", "<=", ">", ">=") and (depth <= 0 or FOR_HEADER.search(code)):
                # outside parentheses: could be an assignment or a port; in a for header:
                # one iteration past an array is equivalent in simulation (the index
                # reads 0 and writes nothing), so it proves nothing about the tests
                continue
            if tok == "!":
                new = ""
            elif tok.startswith("1'b"):
                new = "1'b1" if tok == "1'b0" else "1'b0"
            else:
                new = SWAPS[tok]
            out.append(Mutant(path, n, m.start(), tok, new))
    return out


def tests_for(path: str) -> tuple[str, ...]:
    for prefix, tests in COVERING.items():
        if path == prefix or path.startswith(prefix):
            return tests
    return DEFAULT_TESTS


def run_tests(root: Path, tests: tuple[str, ...], timeout_s: int) -> tuple[str, str]:
    """(verdict, first failure line) of the covering tests in ``root``. A test still
    running after ``timeout_s`` fails (pytest-timeout): a mutant that stalls the engine
    is caught, if only by the hang guard."""
    failed: list[str] = []
    for spec in tests:
        args = spec.split(" -k ", 1)
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-n", "2", f"--timeout={timeout_s}"]
        cmd.append(args[0])
        if len(args) == 2:
            cmd += ["-k", args[1]]
        r = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
        if killed_by(r, spec):
            out = r.stdout + r.stderr
            # a build that fails (an assertion's runtime %Error is a kill, not this)
            if "%Error: Exiting due to" in out:
                return "INVALID", next(x for x in out.splitlines() if "%Error" in x)[:160]
            failed = [x.strip() for x in out.splitlines() if x.startswith("FAILED")][:1]
            return "KILLED", failed[0][:160] if failed else "a test failed"
    return "SURVIVED", ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", default="", help="comma-separated RTL files (default all)")
    ap.add_argument("--count", type=int, default=10, help="mutants to draw")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--list", action="store_true", help="print the drawn mutants only")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per test (hang guard)")
    args = ap.parse_args(argv)
    files = [f for f in args.files.split(",") if f] or sorted(
        str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "rtl").glob("*.sv")
    )
    missing = [f for f in files if not (REPO_ROOT / f).is_file()]
    if missing:
        ap.error(f"no such RTL file: {', '.join(missing)}")
    pool = [m for f in files for m in sites(f, (REPO_ROOT / f).read_text())]
    if not pool:
        print(f"no mutation site in {files}", file=sys.stderr)
        return 2
    drawn = random.Random(args.seed).sample(pool, min(args.count, len(pool)))
    print(f"{len(drawn)} of {len(pool)} sites in {len(files)} files, seed {args.seed}")
    if args.list:
        for m in drawn:
            print(m)
        return 0
    tally: dict[str, int] = {"KILLED": 0, "SURVIVED": 0, "INVALID": 0}
    with tempfile.TemporaryDirectory(prefix="mutate_rtl_") as tmp:
        root = Path(tmp) / "repo"
        shutil.copytree(REPO_ROOT, root, ignore=_SKIP, symlinks=True)
        (root / ".venv").symlink_to(REPO_ROOT / ".venv")
        for m in drawn:
            src = root / m.path
            orig = src.read_text()
            src.write_text(m.apply(orig))
            t0 = time.monotonic()
            try:
                verdict, why = run_tests(root, tests_for(m.path), args.timeout)
            finally:
                src.write_text(orig)
            tally[verdict] += 1
            print(f"{verdict:8s} {m}  {time.monotonic() - t0:.0f}s  {why}", flush=True)
    valid = tally["KILLED"] + tally["SURVIVED"]
    print(f"{tally['KILLED']}/{valid} valid mutants killed, {tally['INVALID']} invalid")
    return 1 if tally["SURVIVED"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
