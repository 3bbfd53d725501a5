"""`make sim SCENARIO=migrate`: both migration modes on one build, seed and workload, side
by side (docs/MIGRATION.md §8).

:func:`drive` runs :mod:`sim.scenarios.migrate` once per mode on
``two_host_top`` (NUM_VF 1: host A vendor-A VFs, host B vendor-B VFs), reads each
mode's report, adds the modelled figures (§6: what the workload would have offered
during the modelled phases and what happened to it), prints the comparison and
writes reports/migration.json and reports/migration.png. With the sweep option it
replans the modelled copy over a grid of dirty rate x link bandwidth from the
working set each mode measured, and plots downtime, loss and time on the emulated
path against them (reports/migration_sweep.png). The simulated switch-over
figures do not depend on those two parameters (no simulated cycle passes in a
modelled phase), so one simulation per mode serves the whole grid.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from sim.runner import run, two_host_top
from tb.datacenter.workload import PACE_CYCLES
from tb.hypervisor.migration_model import PrecopyParams, plan_precopy
from tb.net.pcap import NS_PER_CYCLE

MODES = ("npa", "failover")
TOP_PARAMS = {"NUM_VF": 1}
SWEEP_DIRTY_MB_S = (10, 50, 100, 200, 400, 800, 1600)
SWEEP_LINK_GBPS = (1, 10, 25, 40)
PLOT_WINDOW_NS = 2_000
BAND_SHARE = 0.12  # width of a modelled phase's band in the plot, share of the simulated span
REFERENCES = (  # published downtimes the figures are compared with (docs/MIGRATION.md §5)
    ("Xen live migration, Quake 3 server (Clark et al., NSDI 2005)", 60.0),
    ("QEMU default downtime limit (migration/options.c)", 300.0),
    ("OPNFV KVM4NFV measured, baseline (Fast Live Migration)", 26.0),
)


def offered_fps() -> float:
    """Frames per second each workload flow offers (one frame per flow per round)."""
    return 1e9 / (PACE_CYCLES * NS_PER_CYCLE)


def modelled(report: dict[str, Any]) -> dict[str, Any]:
    """What the workload would have offered in the modelled phases (docs/MIGRATION.md §6):
    to the VM, lost while it is paused (stop-and-copy), delivered otherwise; from the VM,
    nothing while paused (its vCPUs are stopped), delivered otherwise. Never mixed into
    the cycle-accurate counts."""
    fps = offered_fps()
    out: dict[str, Any] = {"offered_fps_per_flow": fps, "phases": []}
    lost = 0
    for ph in report["phases"]:
        if ph["kind"] != "modelled":
            continue
        frames = round(fps * ph["duration_s"])
        paused = ph["path"] == "paused"
        out["phases"].append(
            {
                "name": ph["name"],
                "duration_s": ph["duration_s"],
                "to_vm_offered": frames,
                "to_vm": "lost (vm paused)" if paused else f"delivered ({ph['path']})",
                "from_vm_offered": 0 if paused else frames,
            }
        )
        lost += frames if paused else 0
    out["to_vm_lost"] = lost
    return out


def sweep(reports: dict[str, dict[str, Any]], base: PrecopyParams) -> list[dict[str, Any]]:
    """Downtime, modelled loss, total time and time on the emulated path over the grid."""
    rows = []
    fps = offered_fps()
    for mode, rep in reports.items():
        wws = rep["precopy"]["working_set_pages"] * base.page_bytes
        sim_gap_ms = max(d["simulated_ms"] for d in rep["downtime"].values())
        hotplug = hotplug_s(rep)
        for dirty in SWEEP_DIRTY_MB_S:
            for gbps in SWEEP_LINK_GBPS:
                p = replace(
                    base,
                    dirty_rate_bytes_per_s=dirty * 1_000_000,
                    link_bandwidth_bps=gbps * 1_000_000_000,
                    working_set_bytes=wws,
                )
                plan = plan_precopy(p)
                pause = float(plan.downtime_s)
                rows.append(
                    {
                        "mode": mode,
                        "dirty_mb_s": dirty,
                        "link_gbps": gbps,
                        "converged": plan.converged,
                        "rounds": len(plan.rounds),
                        "downtime_ms": pause * 1e3 + sim_gap_ms,
                        "to_vm_lost": round(fps * pause) + rep["rx_lost"],
                        "total_s": float(plan.precopy_s) + pause + sum(hotplug.values()),
                        "emulated_s": float(plan.precopy_s) + hotplug.get("emulated", 0.0),
                    }
                )
    return rows


def hotplug_s(rep: dict[str, Any]) -> dict[str, float]:
    """Modelled time outside the copy (failover's hot-unplug and hot-plug waits), by the
    datapath the guest is on meanwhile."""
    out: dict[str, float] = {}
    for ph in rep["phases"]:
        if ph["kind"] == "modelled" and ph["name"] not in ("precopy", "stop_and_copy"):
            out[ph["path"]] = out.get(ph["path"], 0.0) + ph["duration_s"]
    return out


def _dur(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.2f} us"


def _fmt_phases(rep: dict[str, Any]) -> list[str]:
    return [
        f"{ph['name']} {_dur(ph['duration_s'])} ({ph['kind']}, {ph['path']})"
        for ph in rep["phases"]
    ]


def comparison(data: dict[str, Any]) -> str:
    """The side-by-side table of both modes."""
    modes = [m for m in MODES if m in data["modes"]]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        rows.append((label, [fn(data["modes"][m], data["modelled"][m]) for m in modes]))

    for direction in ("vm -> outside", "outside -> vm"):
        row(
            f"downtime {direction}",
            lambda r, _m, d=direction: (
                f"{r['downtime'][d]['total_ms']:.1f} ms ({r['downtime'][d]['modelled_ms']:.1f}"
                f" mod. + {r['downtime'][d]['simulated_ms'] * 1e3:.1f} us sim.)"
            ),
        )
    row(
        "outcome",
        lambda r, _m: (
            "migrated to host B"
            if r["abort"] is None
            else f"rolled back on host A: {r['abort']['reason']}"
        ),
    )
    row("TX frames lost (simulated)", lambda r, _m: _lost(r, to_vm=False))
    row("RX frames lost (simulated)", lambda r, _m: _lost(r, to_vm=True))
    row("RX frames lost (modelled pause)", lambda _r, m: f"{m['to_vm_lost']:,}")
    row("duplicates / reordered", lambda r, _m: f"{r['duplicates']} / {r['reordered']}")
    for direction in ("vm -> outside", "outside -> vm"):
        row(f"pings {direction} answered", lambda r, _m, d=direction: _pings(r["pings"][d]))
    row(
        "guest carrier down",
        lambda r, _m: f"{len(r['carrier']['down_ns'])} of {r['carrier']['samples']} samples",
    )
    row(
        "pre-copy",
        lambda r, _m: (
            "none (refused before the copy)"
            if r["precopy"] is None
            else f"{len(r['precopy']['rounds'])} round(s), "
            f"{r['precopy']['total_bytes'] / 2**30:.2f} GiB"
            f"{'' if r['precopy']['converged'] else ', NOT converged'}"
            f"{' planned, cut by the link loss' if _link_lost(r) else ''}"
        ),
    )
    for path in ("passthrough", "emulated", "paused"):
        row(f"time {path}", lambda r, _m, p=path: _dur(r["path_time_s"].get(p, 0.0)))
    row(
        "after the migration",
        lambda r, _m: (
            f"host {r['final_host'].upper()}: "
            f"VF rx {r['final_host_switch_ports']['port1']['rx_packets']} "
            f"tx {r['final_host_switch_ports']['port1']['tx_packets']}, "
            f"PF rx {r['final_host_switch_ports']['port0']['rx_packets']}"
        ),
    )
    width = max(len(label) for label, _ in rows)
    col = max(len(v) for _, vals in rows for v in vals)
    lines = [f"{'':{width}}  " + "  ".join(f"{m:{col}}" for m in modes)]
    lines += [f"{label:{width}}  " + "  ".join(f"{v:{col}}" for v in vals) for label, vals in rows]
    refs = "; ".join(f"{name}: {ms:g} ms" for name, ms in data["references_ms"].items())
    lines.append(f"published downtimes (docs/MIGRATION.md §11): {refs}")
    for m in modes:
        rep = data["modes"][m]
        if rep["abort"] is not None:
            lines.append(f"\n{m}: aborted: {rep['abort']['detail']}")
        lines.append(f"\n{m}: frames lost by named reason [in flight at]")
        for f in rep["flows"]:
            at = rep["lost_in_phase"][f["name"]]
            why = [
                f"{k} {v} [{', '.join(f'{ph} {n}' for ph, n in at[k].items())}]"
                for k, v in f["lost"].items()
            ]
            lines.append(f"  {f['name']}: {'; '.join(why) or 'none'}")
        lines.append(f"{m}: phases")
        lines += [f"  {ph}" for ph in _fmt_phases(rep)]
    return "\n".join(lines)


def _link_lost(rep: dict[str, Any]) -> bool:
    return rep["abort"] is not None and rep["abort"]["reason"] == "link_lost"


def _lost(rep: dict[str, Any], *, to_vm: bool) -> str:
    """Frames lost of those sent in one direction (UDP and ICMP), and the UDP part."""
    flows = [f for f in rep["flows"] if f["to_vm"] == to_vm]
    lost, sent = (sum(f[k] for f in flows) for k in ("lost_total", "sent"))
    udp = next(f for f in flows if not f["name"].startswith("ping"))
    return f"{lost} of {sent} (UDP {udp['lost_total']} of {udp['sent']})"


def _pings(p: dict[str, Any]) -> str:
    return (
        f"{p['answered']} of {p['sent']}, "
        f"RTT {p['rtt_ns']['min'] / 1e3:.1f}-{p['rtt_ns']['max'] / 1e3:.1f} us"
    )


def drive(args: Any, out: Path) -> int:
    """Run both modes, merge, print, plot. ``args``: sim/run.py's parsed options."""
    from sim.scenarios.migrate import MigrateOptions

    if args.sweep and args.abort:
        print("--sweep needs migrations that complete: leave out --abort", file=sys.stderr)
        return 2
    top = two_host_top(TOP_PARAMS, waves=args.waves)
    reports: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()
    for mode in MODES:
        opts = MigrateOptions(
            mode=mode,
            seed=args.seed,
            frames=args.frames,
            vm_memory_bytes=args.vm_memory,
            dirty_rate_bytes_per_s=args.dirty_rate,
            link_bandwidth_bps=args.link_bps,
            hot_unplug_s=Fraction(args.hot_unplug),
            abort=args.abort,
        )
        path = out / f"migration-{mode}.json"
        path.unlink(missing_ok=True)
        log = None if args.verbose else out / f"migration-{mode}.log"
        print(f"simulating migration, {mode} mode (seed {args.seed}); log: {log}", flush=True)
        tests, failed = run(
            top,
            "sim.scenarios.migrate",
            run_name=f"sim-migrate-{mode}",
            env={**opts.env(), "SCENARIO_REPORT": str(path)},
            seed=args.seed,
            trace_file=out / "waves" / f"migration-{mode}.fst" if args.waves else None,
            log_file=log,
        )
        if tests != 1 or failed or not path.exists():
            print(f"migration, {mode} mode FAILED; see {log}", file=sys.stderr)
            return 1
        reports[mode] = json.loads(path.read_text())
    base = opts.run_params().precopy
    data = {
        "params": {
            "seed": args.seed,
            "rounds_before_after": opts.run_params().rounds_before,
            "vm_memory_bytes": base.vm_memory_bytes,
            "dirty_rate_bytes_per_s": base.dirty_rate_bytes_per_s,
            "link_bandwidth_bps": base.link_bandwidth_bps,
            "downtime_limit_s": float(base.downtime_limit_s),
            "hot_unplug_s": float(Fraction(args.hot_unplug)),
            "abort": args.abort,
        },
        "modes": reports,
        "modelled": {m: modelled(r) for m, r in reports.items()},
        "references_ms": dict(REFERENCES),
    }
    if args.sweep:
        data["sweep"] = sweep(reports, base)
    (out / "migration.json").write_text(json.dumps(data, indent=1))
    from sim.scenarios.migrate_plot import plot_migration, plot_sweep

    print()
    print(comparison(data))
    png = plot_migration(data, out / "migration.png")
    print(f"\nreports: {out / 'migration.json'}, {png}", end="")
    if args.sweep:
        print(f", {plot_sweep(data, out / 'migration_sweep.png')}", end="")
    print(f"\nbuild + run wall time: {time.monotonic() - t0:.1f} s")
    return 0
