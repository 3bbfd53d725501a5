"""`make sim`: run one scenario on the NIC RTL and print its report.

python -m sim.run --scenario basic [--seed N] [--frames N] [--waves] [--pcap] [--verbose]
python -m sim.run [--scenario S] --vf-flavours AB   (VF1 ring format A, VF2 format B)

Quiet by default: the terminal shows the report; the simulator's full output
(cocotb's log, warnings) goes to reports/<scenario>.log, the build's to
reports/<scenario>.log.build (its last lines printed if the build fails).
--verbose shows both live instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import time
from fractions import Fraction
from pathlib import Path

from sim.progress import progress_bar
from sim.runner import REPO_ROOT, nic_top, run
from sim.scenarios.report import ScenarioReport, vf_ring_fmt

REPORTS = REPO_ROOT / "reports"
DEFAULT_PARAMS = {"NUM_VF": 2}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenario", default="npa")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--frames", type=_positive, default=32, help="frames per flow")
    ap.add_argument("--waves", action="store_true", help="write an FST trace")
    ap.add_argument("--pcap", action="store_true", help="write one pcap per switch port")
    ap.add_argument("--verbose", action="store_true", help="show the simulator's output live")
    ap.add_argument("--out", type=Path, default=REPORTS, help="reports folder (default reports/)")
    ap.add_argument(
        "--vf-flavours",
        type=_flavours,
        default="",
        help="ring format of each VF, e.g. AB = VF1 format A, VF2 format B (vmxnet3/UPT)",
    )
    mig = ap.add_argument_group("migrate scenario (docs/MIGRATION.md §5)")
    mig.add_argument("--vm-memory", type=_memory, default=2 << 30, help="bytes; 2G, 512M (2G)")
    mig.add_argument(
        "--dirty-rate", type=_size, default=100_000_000, help="guest dirty rate, bytes/s (100M)"
    )
    mig.add_argument("--link-bps", type=_size, default=10**10, help="migration link, bit/s (10G)")
    mig.add_argument(
        "--hot-unplug",
        type=_hot_unplug,
        default="3/2",
        help="guest hot-unplug time: acpi (1.5 s), pciehp (6.5 s) or seconds (acpi)",
    )
    mig.add_argument("--sweep", action="store_true", help="also sweep dirty rate x bandwidth")
    mig.add_argument(
        "--abort",
        choices=("no_vf_free", "wrong_plugin", "link_precopy", "link_stop_and_copy"),
        default="",
        help="host B refuses the VM, or the migration link fails: roll back",
    )
    args = ap.parse_args(argv)

    module = f"sim.scenarios.{args.scenario}"
    if _not_a_scenario(args.scenario) or importlib.util.find_spec(module) is None:
        names = sorted(
            p.stem
            for p in (REPO_ROOT / "sim" / "scenarios").glob("*.py")
            if not _not_a_scenario(p.stem)
        )
        print(f"unknown scenario {args.scenario!r}; known: {', '.join(names)}", file=sys.stderr)
        return 2

    if args.scenario == "migrate":  # two hosts, both modes: its own driver
        from sim.scenarios.migrate_report import drive

        args.out.mkdir(parents=True, exist_ok=True)
        return drive(args, args.out)

    report_path = args.out / f"{args.scenario}.json"
    report_path.unlink(missing_ok=True)
    env = {
        "SCENARIO_REPORT": str(report_path),
        "SCENARIO_SEED": str(args.seed),
        "SCENARIO_FRAMES": str(args.frames),
    }
    params = dict(DEFAULT_PARAMS)
    if args.vf_flavours:
        env["SCENARIO_VF_FLAVOURS"] = args.vf_flavours
        if ring_fmt := vf_ring_fmt(args.vf_flavours):
            params["VF_RING_FMT"] = ring_fmt
    if args.pcap:
        pcap_dir = args.out / "pcap"
        for old in [*pcap_dir.glob("*.pcap"), *pcap_dir.glob("*.pcapng")]:
            old.unlink()
        env["SCENARIO_PCAP_DIR"] = str(pcap_dir)
    trace = None
    if args.waves:
        trace = args.out / "waves" / f"{args.scenario}.fst"

    top = nic_top(params, waves=args.waves)
    log_file = None if args.verbose else args.out / f"{args.scenario}.log"
    if log_file is not None:
        print(f"simulating {args.scenario} (seed {args.seed}); full log: {log_file}", flush=True)
    progress = args.out / f"{args.scenario}.progress"
    env["SCENARIO_PROGRESS"] = str(progress)
    bar = (  # with --verbose the log is the progress
        progress_bar([progress], None, "", args.scenario)
        if log_file is not None
        else contextlib.nullcontext()
    )
    t0 = time.monotonic()
    with bar:
        tests, failed = run(
            top,
            module,
            run_name=f"sim-{args.scenario}",
            env=env,
            seed=args.seed,
            trace_file=trace,
            log_file=log_file,
        )
    wall = time.monotonic() - t0
    if trace is not None and trace.exists():
        latest = trace.parent / "latest.fst"
        latest.unlink(missing_ok=True)
        latest.symlink_to(trace.name)
    if not report_path.exists():
        print(f"scenario {args.scenario} left no report (simulation failed)", file=sys.stderr)
        if log_file is not None:
            _print_failure(log_file)
        return 1
    report = ScenarioReport.load(report_path)
    print()
    print(report.summary())
    if trace is not None:
        print(f"trace: {trace} (open with `make waves`)")
    print(f"build + run wall time: {wall:.1f} s; report: {report_path}")
    if tests == 0 or failed:
        print(f"scenario {args.scenario} FAILED", file=sys.stderr)
        if log_file is not None:
            _print_failure(log_file)
        return 1
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of frames")
    return value


def _quantity(text: str, k: int) -> int:
    """A positive quantity with an optional suffix k, M, G (powers of ``k``) or Ki, Mi, Gi
    (powers of 1024), and an optional trailing B."""
    t = text.strip().upper().removesuffix("B")
    units = (("KI", 1 << 10), ("MI", 1 << 20), ("GI", 1 << 30), ("K", k), ("M", k**2), ("G", k**3))
    mult = next((m for suffix, m in units if t.endswith(suffix)), 1)
    digits = t.rstrip("KMGI")
    try:
        value = float(digits) * mult
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive size (e.g. 2G, 100M, 4096)")
    return int(value)


def _size(text: str) -> int:
    """Rates and bandwidths: 100M = 10**8."""
    return _quantity(text, 1000)


def _memory(text: str) -> int:
    """Memory, as QEMU's -m reads it: 2G = 2 GiB."""
    return _quantity(text, 1024)


def _hot_unplug(text: str) -> str:
    """``--hot-unplug``: the guest's PCIe hot-unplug time (docs/MIGRATION.md §5)."""
    named = {"acpi": "3/2", "pciehp": "13/2"}
    if text.lower() in named:
        return named[text.lower()]
    try:
        seconds = Fraction(text)
    except (ValueError, ZeroDivisionError):
        seconds = Fraction(-1)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: acpi, pciehp or a time in seconds > 0")
    return str(seconds)


def _flavours(text: str) -> str:
    """``--vf-flavours``: one letter per VF; empty (the default) = every VF format A, the
    default top."""
    flavours = text.strip().upper()
    if (flavours and len(flavours) != DEFAULT_PARAMS["NUM_VF"]) or set(flavours) - {"A", "B"}:
        raise argparse.ArgumentTypeError(
            f"{text!r}: one letter A or B for each of the {DEFAULT_PARAMS['NUM_VF']} VFs"
        )
    return flavours


def _not_a_scenario(name: str) -> bool:
    """The scenarios folder's helpers (report formatting) are not scenarios."""
    return name in ("__init__", "report") or name.endswith(("_report", "_plot"))


def _print_failure(log_file: Path, context: int = 40) -> None:
    """The part of a quiet run's log that says why it failed: from the first traceback on."""
    if not log_file.exists():
        return
    lines = log_file.read_text(errors="replace").splitlines()
    start = next((k for k, ln in enumerate(lines) if "Traceback" in ln), max(0, len(lines) - 20))
    print(f"--- {log_file} (from line {start + 1}) ---", file=sys.stderr)
    print("\n".join(lines[start : start + context]), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
