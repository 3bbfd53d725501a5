"""Build and run cocotb simulations of the RTL with the pinned Verilator.

One build folder per (top, parameter set, trace flag) under ``build/``; a file
lock makes pytest-xdist workers share one build instead of racing, and
Verilator's ``--skip-identical`` makes the second ``build()`` in another
process a no-op, so each top is compiled at most once per run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cocotb_tools.check_results import get_results
from cocotb_tools.runner import Verilator, VerilatorControlFile, get_runner
from filelock import FileLock

from sim.dpi import build_simhost
from sim.dpi import link_args as simhost_link_args
from sim.toolchain import REPO_ROOT, apply_verilator_env
from tb.functional_coverage import FUNCTIONAL_COVERAGE_ENV

RTL_DIR = REPO_ROOT / "rtl"
BUILD_ROOT = REPO_ROOT / "build"
VISIBILITY_DIR = REPO_ROOT / "sim" / "verilator"

# Compile order matters only for packages: they come first, in this order (a package
# may import one listed before it). Paths are relative to the RTL folder.
RTL_PACKAGES = ("nic_regs_pkg.sv", "nic_pkg.sv", "axi_pkg.sv")
# Folders of the RTL (relative to it) whose *.sv files are part of every build:
# the top folder and the primitives (rtl/prim/: the FIFO, the round-robin pick,
# the valid/ready checker).
RTL_SUBDIRS = (".", "prim")
# Include folders of the RTL (relative to it): prim_assert.svh, the assertion macros.
RTL_INCLUDE_DIRS = ("prim",)
# Simulation only, never synthesis: the protocol checkers bound to the blocks' ports.
SIM_BINDS = REPO_ROOT / "sim" / "tops" / "nic_binds.sv"

# Warnings that -Wall raises in cocotb's generated wrapper flow, not in our RTL
# (lint of our RTL is `make lint`, with no waivers of this kind).
VERILATOR_BUILD_ARGS = (
    "-Wno-fatal",
    "--x-assign",
    "unique",
    "--x-initial",
    "unique",
    "-CFLAGS",
    "-std=c++20 -O1",
    "--no-assert-case",
)


# Coverage builds (make coverage, docs/COVERAGE.md): with NIC_COVERAGE=1 in the
# environment every build adds Verilator's line (with branch) and toggle coverage and
# goes to a folder of its own ("-cov"), and each run's coverage.dat (written by cocotb's
# Verilator main at exit, in the run's folder) is moved to a file of its own under
# build/coverage/, for sim/coverage.py to merge. Off, nothing changes.
COVERAGE_ENV = "NIC_COVERAGE"
COVERAGE_BUILD_ARGS = ("--coverage-line", "--coverage-toggle")
# The run's functional-coverage report goes to the file FUNCTIONAL_COVERAGE_ENV names
# (set for the simulator under coverage; tb/functional_coverage.py writes it).


def coverage_enabled() -> bool:
    """True when NIC_COVERAGE is set to anything but empty or "0"."""
    return os.environ.get(COVERAGE_ENV, "0") not in ("", "0")


def coverage_dir() -> Path:
    """Where the runs' coverage data land (one .dat per run, functional/ reports)."""
    return BUILD_ROOT / "coverage"


def rtl_sources(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """All synthesizable RTL (rtl/*.sv and rtl/prim/*.sv), packages first."""
    pkgs = [rtl_dir / p for p in RTL_PACKAGES if (rtl_dir / p).exists()]  # older trees: fewer
    rest = sorted(p for d in RTL_SUBDIRS for p in (rtl_dir / d).glob("*.sv") if p not in pkgs)
    return pkgs + rest


def rtl_include_dirs(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """The RTL's include folders (the assertion macros)."""
    return [rtl_dir / d for d in RTL_INCLUDE_DIRS]


@dataclass(frozen=True)
class SimTop:
    """One simulation top: an HDL toplevel plus its parameter values."""

    toplevel: str
    parameters: Mapping[str, int] = field(default_factory=dict)
    waves: bool = False
    extra_sources: tuple[Path, ...] = ()
    # Include folders of extra_sources, besides the RTL's (sim/tops/ for the shared
    # parameter list of nic_sim_top and two_host_top, nic_sim_params.svh).
    include_dirs: tuple[Path, ...] = ()
    # A Verilator control file that lists what VPI may see. None takes the top's own,
    # sim/verilator/<toplevel>.vlt, where there is one, else cocotb's default
    # (--public-flat-rw: every variable public read-write, and so kept unoptimised),
    # fine for small tops.
    visibility: Path | None = None
    # Verilator options in place of VERILATOR_BUILD_ARGS (sim/simspeed.py tries
    # variants); None is the default set. A variant gets its own build folder.
    build_args: tuple[str, ...] | None = None
    # Link the model against sim/dpi's libsimhost.so (built first), for tops
    # that contain sim/tops/sim_host_bus.sv.
    simhost: bool = False
    # The RTL to build in place of rtl/ (sim/simspeed.py's build of an older tree).
    rtl_dir: Path | None = None

    @property
    def control_file(self) -> Path | None:
        """The visibility control file the build uses (see ``visibility``)."""
        if self.visibility is not None:
            return self.visibility
        own = VISIBILITY_DIR / f"{self.toplevel}.vlt"
        return own if own.exists() else None

    @property
    def build_dir(self) -> Path:
        items: list = sorted(self.parameters.items())
        if self.build_args is not None:
            items.append(list(self.build_args))
        if self.simhost:
            items.append("simhost")
        if self.rtl_dir is not None:
            items.append(str(self.rtl_dir))
        key = json.dumps(items).encode()
        tag = hashlib.sha1(key).hexdigest()[:8]
        suffix = ("-fst" if self.waves else "") + ("-cov" if coverage_enabled() else "")
        return BUILD_ROOT / f"{self.toplevel}-{tag}{suffix}"

    @property
    def build_log(self) -> Path:
        """A quiet build's log in the build folder (``run(build_log=...)``, make bench)."""
        return self.build_dir / "build.log"

    @property
    def label(self) -> str:
        """The top and its parameters, as messages name a build: ``nic_sim_top (NUM_VF=2)``."""
        params = ", ".join(f"{k}={v}" for k, v in sorted(self.parameters.items()))
        return f"{self.toplevel} ({params})" if params else self.toplevel


# The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so g++ is handed the
# precompiled header as an input file and fails ("Vtop__pch.h.fast: linker input
# file not found") once a design is split into several files. A variable in
# MAKEFLAGS counts as a command-line override of the makefile's value.
PCH_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include"


class ScopedVisibilityVerilator(Verilator):
    """cocotb's Verilator runner without ``--public-flat-rw``.

    Visibility then comes only from the control file passed as a source, so
    a large top is not compiled with a VPI handle for every variable.
    """

    def _build_command(self):  # type: ignore[override]
        cmds = super()._build_command()
        cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
        return cmds


def apply_pch_workaround() -> None:
    """Put the PCH fix into MAKEFLAGS (idempotent); see PCH_MAKEFLAGS."""
    if PCH_MAKEFLAGS not in os.environ.get("MAKEFLAGS", ""):
        os.environ["MAKEFLAGS"] = f"{os.environ.get('MAKEFLAGS', '')} {PCH_MAKEFLAGS}".strip()


def verilator_args(top: SimTop) -> list[str]:
    """The Verilator options of ``top``'s build (without the DPI library's link flags)."""
    args = list(VERILATOR_BUILD_ARGS if top.build_args is None else top.build_args)
    if top.waves:
        args += ["--trace-fst", "--trace-structs"]
    if coverage_enabled():
        args += list(COVERAGE_BUILD_ARGS)
    return args


# A logged build that fails prints this many of its last lines (the compiler's or
# Verilator's errors) and the log's path.
BUILD_LOG_TAIL_LINES = 40
# A build log last written before this process started is replaced by its first build
# into it; later ones (mostly no-op rebuilds of the same top) are appended.
PROCESS_START = time.time()


def _log_is_old(log_file: Path) -> bool:
    """Whether ``log_file`` holds nothing of this process (missing, or written before)."""
    return not log_file.exists() or log_file.stat().st_mtime < PROCESS_START


class BuildFailed(RuntimeError):
    """A build whose output went to a log file failed; the message names the log."""


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it, as messages show it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def _keep_build_output(part: Path, log_file: Path, top: SimTop, started: str) -> list[str]:
    """Move one build's output (``part``) into ``log_file`` under a header; its lines."""
    lines = part.read_text(errors="replace").splitlines() if part.exists() else []
    part.unlink(missing_ok=True)
    with log_file.open("w" if _log_is_old(log_file) else "a") as log:
        log.write(f"=== {started} build of {top.label} in {_shown(top.build_dir)}\n")
        log.writelines(line + "\n" for line in lines)
    return lines


def _build(top: SimTop, log_file: Path | None = None, *, announce: bool = False):
    """Build ``top`` (Verilator and make; both skip what is up to date).

    Without ``log_file`` the build's output goes to the terminal. With it, the output
    goes to that file instead (the first build of this process into it replaces it,
    later ones are appended), and a failed build prints the file's path and its last
    BUILD_LOG_TAIL_LINES lines to stderr and raises BuildFailed. ``announce`` prints one
    line, ``building <top>: log <file>``, the first time this process builds into it.
    """
    apply_verilator_env()
    apply_pch_workaround()
    control = top.control_file
    runner = ScopedVisibilityVerilator() if control else get_runner("verilator")
    top.build_dir.parent.mkdir(parents=True, exist_ok=True)
    build_args = verilator_args(top)
    if top.simhost:
        build_simhost()
        build_args += list(simhost_link_args())
    log = None if log_file is None else log_file.absolute()
    # cocotb's runner writes each build's output to a file of its own, replacing it:
    # ``part``, moved into the log afterwards
    part = None if log is None else log.with_name(log.name + ".part")
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        if announce and _log_is_old(log):
            print(f"building {top.label}: log {_shown(log)}", flush=True)
    with FileLock(str(top.build_dir) + ".lock"):
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        kept = False
        try:
            runner.build(
                sources=[
                    *([VerilatorControlFile(control)] if control else []),
                    *rtl_sources(top.rtl_dir or RTL_DIR),
                    # the checkers bind to this tree's RTL, not to an older one
                    *([SIM_BINDS] if top.rtl_dir is None else []),
                    *top.extra_sources,
                ],
                includes=[*rtl_include_dirs(top.rtl_dir or RTL_DIR), *top.include_dirs],
                hdl_toplevel=top.toplevel,
                parameters=dict(top.parameters),
                build_dir=top.build_dir,
                build_args=build_args,
                waves=top.waves,
                timescale=("1ns", "1ps"),
                log_file=part,
            )
        except RuntimeError as exc:  # a command of the build failed
            if log is None or part is None:
                raise
            lines = _keep_build_output(part, log, top, started)
            kept = True
            tail = lines[-BUILD_LOG_TAIL_LINES:]
            print(
                f"build of {top.label} FAILED ({exc}); the last {len(tail)} lines of "
                f"{_shown(log)}:",
                *tail,
                f"--- end of {_shown(log)}",
                sep="\n",
                file=sys.stderr,
                flush=True,
            )
            raise BuildFailed(f"build of {top.label} failed ({exc}); log: {log}") from exc
        finally:  # success, or interrupted: what the build wrote goes into the log too
            if log is not None and part is not None and not kept:
                _keep_build_output(part, log, top, started)
    return runner


class RunTerminated(SystemExit):
    """SIGTERM arrived while a simulation ran; raised so that the simulator is killed too."""


def _sigterm(signum: int, frame: object) -> None:
    raise RunTerminated(128 + signum)


def _kill_simulator_on_sigterm() -> None:
    """Turn SIGTERM into an exception in this process.

    cocotb's runner waits for the simulator in ``subprocess.run``, which kills
    its child when an exception interrupts the wait; Python's default SIGTERM
    action would instead end this process and leave the simulator running.
    (SIGINT already arrives as KeyboardInterrupt; pytest-timeout raises too.)
    """
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm)


# cocotb rewrites the assertions of every module imported in the simulator
# ("*.py", numpy and scapy included) for pytest-style messages: about 4 s of each
# simulator's start-up on this machine (py-spy, docs/SIM_SPEED.md). Only the
# project's own modules need it (a pattern with a "/" matches the whole path).
ASSERTION_REWRITE_FILES = " ".join(f"{REPO_ROOT}/{d}/*.py" for d in ("tests", "tb", "sim"))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


def run(
    top: SimTop,
    test_module: str,
    testcase: str | Sequence[str] | None = None,
    *,
    run_name: str | None = None,
    env: Mapping[str, str] | None = None,
    seed: int | None = None,
    trace_file: Path | None = None,
    log_file: Path | None = None,
    build_log: Path | None = None,
) -> tuple[int, int]:
    """Build ``top`` if needed, run cocotb ``test_module`` on it.

    With ``log_file``, the build's and the simulation's output go to that file
    (the build's to ``<log_file>.build``) instead of the terminal. With
    ``build_log`` (``top.build_log``, say), the build's output goes there, announced
    by one line the first time this process builds into it. Either way a failed
    build prints its log's last lines and path and raises BuildFailed (``_build``).

    Returns ``(tests, failures)`` read from the results file. The caller
    asserts on them; this function does not decide what a pass is.
    """
    _kill_simulator_on_sigterm()
    announce = build_log is not None
    if build_log is None and log_file is not None:
        build_log = log_file.with_suffix(log_file.suffix + ".build")
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    runner = _build(top, build_log, announce=announce)
    name = _safe(run_name or f"{test_module}-{testcase or 'all'}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    test_dir = top.build_dir / "runs" / f"{name}-{worker}"
    test_dir.mkdir(parents=True, exist_ok=True)
    extra_env = {
        "PYTHONPATH": str(REPO_ROOT),
        "COCOTB_REWRITE_ASSERTION_FILES": ASSERTION_REWRITE_FILES,
        # The rewritten modules are cached in __pycache__ (pytest's own cache, keyed on
        # the source), so only the first simulator of a run parses and rewrites them;
        # with PYTHONDONTWRITEBYTECODE set, as on some machines, each of make test's
        # ~150 simulator starts did it again.
        "PYTHONDONTWRITEBYTECODE": "",
        **(env or {}),
    }
    test_args: list[str] = []
    if trace_file is not None:
        trace_file.parent.mkdir(parents=True, exist_ok=True)
        test_args += ["--trace-file", str(trace_file)]
    covering = coverage_enabled()
    if covering:
        extra_env[FUNCTIONAL_COVERAGE_ENV] = str(
            coverage_dir() / "functional" / f"{top.build_dir.name}-{name}.txt"
        )
        (test_dir / "coverage.dat").unlink(missing_ok=True)  # a crashed run's leftover
    try:
        results = runner.test(
            test_module=test_module,
            testcase=testcase,
            hdl_toplevel=top.toplevel,
            build_dir=top.build_dir,
            test_dir=test_dir,
            extra_env=extra_env,
            seed=seed,
            waves=top.waves,
            test_args=test_args,
            results_xml=str(test_dir / "results.xml"),
            log_file=log_file,
        )
    finally:
        if covering:
            collect_coverage(test_dir, f"{top.build_dir.name}__{name}__{worker}")
    return get_results(results)


def collect_coverage(test_dir: Path, stem: str) -> Path | None:
    """Move the run's coverage.dat to a file of its own under coverage_dir().

    The name adds the process id and the time in ns to ``stem``, so pytest-xdist
    workers and repeated runs never overwrite one another. None when the run wrote
    none (a simulator that crashed before its exit).
    """
    dat = test_dir / "coverage.dat"
    if not dat.exists():
        return None
    out = coverage_dir() / f"{_safe(stem)}__{os.getpid()}_{time.time_ns()}.dat"
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(dat, out)
    return out


NIC_TOP_VISIBILITY = REPO_ROOT / "sim" / "verilator" / "nic_top.vlt"

# nic_top's C++ at -O2 instead of -O1: the bare model runs ~1.7x faster
# (docs/SIM_SPEED.md), the build takes longer; C++ optimisation does not change
# what is simulated (same cycle counts). --x-assign/--x-initial stay "unique".
NIC_TOP_BUILD_ARGS = tuple(
    "-std=c++20 -O2" if a == "-std=c++20 -O1" else a for a in VERILATOR_BUILD_ARGS
)


# Which host bus nic_top() builds in: "hdl" (sim/tops/nic_sim_top.sv: nic_top and
# the HDL host bus, cycle-identical to the Python one, tests/test_hdl_bus.py) or
# "python" (tb/host's AxiDmaResponder on nic_top's m_axi port: latency jitter,
# out-of-order return, random backpressure). NIC_HOST_BUS overrides.
NIC_HOST_BUS_DEFAULT = "hdl"


def nic_top(
    parameters: Mapping[str, int],
    *,
    waves: bool = False,
    build_args: Sequence[str] | None = None,
    host_bus: str | None = None,
) -> SimTop:
    """The integrated NIC, built with VPI visibility limited to its own signals.

    ``host_bus`` "hdl" builds nic_sim_top (nic_top + the HDL host bus) instead;
    NicTb picks the matching bus model. Default: ``$NIC_HOST_BUS`` or
    NIC_HOST_BUS_DEFAULT.
    """
    bus = host_bus or os.environ.get("NIC_HOST_BUS") or NIC_HOST_BUS_DEFAULT
    if bus == "hdl":
        return nic_sim_top(parameters, waves=waves, build_args=build_args)
    if bus != "python":
        raise ValueError(f"host bus {bus!r}: 'python' or 'hdl'")
    return SimTop(
        "nic_top",
        dict(parameters),
        waves=waves,
        visibility=NIC_TOP_VISIBILITY,
        build_args=NIC_TOP_BUILD_ARGS if build_args is None else tuple(build_args),
    )


NIC_SIM_TOP_VISIBILITY = REPO_ROOT / "sim" / "verilator" / "nic_sim_top.vlt"
SIM_TOPS = REPO_ROOT / "sim" / "tops"
# The simulation-only modules backed by sim/dpi (host bus, stream ends).
SIM_DPI_SOURCES = (
    SIM_TOPS / "sim_host_bus.sv",
    SIM_TOPS / "sim_stream_source.sv",
    SIM_TOPS / "sim_stream_tap.sv",
    SIM_TOPS / "sim_stream_sink.sv",
)


def nic_sim_top(
    parameters: Mapping[str, int],
    *,
    waves: bool = False,
    build_args: Sequence[str] | None = None,
) -> SimTop:
    """nic_top with the host bus in HDL (sim/tops/nic_sim_top.sv, docs/SIM_SPEED.md)."""
    return SimTop(
        "nic_sim_top",
        dict(parameters),
        waves=waves,
        extra_sources=(*SIM_DPI_SOURCES, SIM_TOPS / "nic_sim_top.sv"),
        include_dirs=(SIM_TOPS,),
        visibility=NIC_SIM_TOP_VISIBILITY,
        build_args=NIC_TOP_BUILD_ARGS if build_args is None else tuple(build_args),
        simhost=True,
    )


TWO_HOST_TOP_VISIBILITY = REPO_ROOT / "sim" / "verilator" / "two_host_top.vlt"


def two_host_top(
    parameters: Mapping[str, int],
    *,
    waves: bool = False,
    build_args: Sequence[str] | None = None,
) -> SimTop:
    """Two hosts in one simulation (sim/tops/two_host_top.sv, docs/MIGRATION.md): two
    nic_sim_top instances, each with its own HDL host bus state and uplink channels.

    ``parameters`` are two_host_top's (``NUM_VF``, ``A_VF_RING_FMT``, ``B_VF_RING_FMT``,
    ...). Unless given, host B's VFs are all ring format B: ``B_VF_RING_FMT`` is set
    to ``NUM_VF`` ones here, so the build's key names the formats it was built with.
    """
    params = dict(parameters)
    num_vf = int(params.get("NUM_VF", 2))
    params.setdefault("A_VF_RING_FMT", 0)
    params.setdefault("B_VF_RING_FMT", (1 << num_vf) - 1)
    return SimTop(
        "two_host_top",
        params,
        waves=waves,
        extra_sources=(*SIM_DPI_SOURCES, SIM_TOPS / "nic_sim_top.sv", SIM_TOPS / "two_host_top.sv"),
        include_dirs=(SIM_TOPS,),
        visibility=TWO_HOST_TOP_VISIBILITY,
        build_args=NIC_TOP_BUILD_ARGS if build_args is None else tuple(build_args),
        simhost=True,
    )
