"""The migration scenario's figures (matplotlib, Agg backend, imported only here).

reports/migration.png: one panel per mode, received UDP payload throughput per flow
against time. The x axis is simulated time; a modelled phase (pre-copy,
stop-and-copy, hot-unplug and hot-plug waits) costs no simulated time, so it is drawn
as a hatched band of fixed width where it sits, labelled with its modelled
duration (not to scale). Simulated phases are shaded, switch-over points marked.

reports/migration_sweep.png: downtime, RX frames lost and time on the emulated path
against the dirty rate, one line per link bandwidth, both modes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.scenarios.npa_report import ThroughputMeter

WINDOW_NS = 2_000
BAND_SHARE = 0.12  # a modelled phase's band width, share of the simulated span
MODE_TITLES = {"npa": "NPA (vmxnet3 shell, vendor plugins)", "failover": "failover (net_failover)"}
FLOW_COLOURS = {"vm -> outside": "tab:blue", "outside -> vm": "tab:orange"}
PATH_COLOURS = {"passthrough": "tab:green", "emulated": "tab:gray", "paused": "tab:red"}


class Timeline:
    """Maps simulated ns to the plot's x (µs), with a band inserted per modelled phase."""

    def __init__(self, rep: dict[str, Any], start_ns: int, end_ns: int) -> None:
        self.start_ns = start_ns
        self.band_us = max(1.0, (end_ns - start_ns) / 1e3 * BAND_SHARE)
        self.bands = [ph for ph in rep["phases"] if ph["kind"] == "modelled"]

    def x(self, t_ns: float) -> float:
        """Bands at ``at_ns`` push everything at or after it to the right."""
        before = sum(1 for b in self.bands if b["at_ns"] <= t_ns)
        return (t_ns - self.start_ns) / 1e3 + before * self.band_us

    def broken(self, t_ns: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of a series with a gap (NaN) wherever it crosses a modelled band, so no
        line is drawn through a phase the simulation did not run."""
        xs, out_y = [], []
        for k, (t, y) in enumerate(zip(t_ns, ys, strict=True)):
            if k and self.x(t) - self.x(t_ns[k - 1]) > (t - t_ns[k - 1]) / 1e3 + 1e-9:
                xs.append(np.nan)
                out_y.append(np.nan)
            xs.append(self.x(t))
            out_y.append(y)
        return np.asarray(xs), np.asarray(out_y)

    def band_spans(self) -> list[tuple[float, float, dict[str, Any]]]:
        """(x0, x1, phase) of every modelled band, in order."""
        out = []
        for k, b in enumerate(self.bands):  # phases come sorted by at_ns: k bands before it
            x0 = (b["at_ns"] - self.start_ns) / 1e3 + k * self.band_us
            out.append((x0, x0 + self.band_us, b))
        return out


def _series(rep: dict[str, Any], flow: str) -> tuple[np.ndarray, np.ndarray]:
    meter = ThroughputMeter(WINDOW_NS)
    for t, n in rep["arrivals"][flow]:
        meter.count("vm", "rx", n, t)
    pts = meter.series("vm", "rx")
    if not pts:
        return np.zeros(0), np.zeros(0)
    arr = np.asarray(pts, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def _panel(ax: Any, mode: str, rep: dict[str, Any]) -> None:
    start = min(t for f in rep["arrivals"].values() for t, _ in f[:1])
    end = rep.get("end_ns", max(t for f in rep["arrivals"].values() for t, _ in f[-1:]))
    tl = Timeline(rep, start, end)
    for ph in rep["phases"]:
        if ph["kind"] == "simulated":
            x0 = tl.x(ph["at_ns"])
            x1 = tl.x(ph["at_ns"] + ph["duration_s"] * 1e9)
            ax.axvspan(x0, x1, color=PATH_COLOURS.get(ph["path"], "tab:gray"), alpha=0.15, lw=0)
    for x0, x1, ph in tl.band_spans():
        ax.axvspan(x0, x1, facecolor="none", edgecolor="k", hatch="//", lw=0.5)
        d = ph["duration_s"]
        label = f"{ph['name']}\n{d:.3g} s" if d >= 1 else f"{ph['name']}\n{d * 1e3:.3g} ms"
        box = {"facecolor": "white", "lw": 0, "alpha": 0.8}
        at = ax.get_xaxis_transform()
        ax.text(
            (x0 + x1) / 2, 0.97, label, transform=at, ha="center", va="top", fontsize=7, bbox=box
        )
    for t0, t1 in rep.get("idle", []):
        ax.axvspan(tl.x(t0), tl.x(t1), facecolor="none", edgecolor="tab:gray", hatch="..", lw=0)
    for flow, colour in FLOW_COLOURS.items():
        xs, ys = tl.broken(*_series(rep, flow))
        ax.step(xs, ys, where="post", color=colour, label=flow, lw=1)
    for ev in rep["events"]:
        ax.axvline(tl.x(ev["t_ns"]), color="k", lw=0.4, ls=":")
    ax.set_title(
        f"{MODE_TITLES.get(mode, mode)}: RX lost {rep['rx_lost']}, TX lost {rep['tx_lost']}",
        fontsize=9,
    )
    ax.set_ylabel("received Gbit/s (UDP payload)")
    from matplotlib.patches import Patch

    shades = [Patch(color=c, alpha=0.3, label=f"{p} (simulated)") for p, c in PATH_COLOURS.items()]
    handles = ax.get_legend_handles_labels()[0] + shades
    ax.legend(handles=handles, loc="lower left", fontsize=7, ncol=2)


def plot_migration(data: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    modes = list(data["modes"])
    fig = Figure(figsize=(11, 3.6 * len(modes)), layout="constrained")
    axes = fig.subplots(len(modes), 1, squeeze=False)[:, 0]
    for ax, mode in zip(axes, modes, strict=True):
        _panel(ax, mode, data["modes"][mode])
    axes[-1].set_xlabel(
        "simulated time (µs) from the first arrival; hatched //: modelled phases (not to scale); "
        "dotted: switch-over points; dots: settling, nothing sent"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    return path


def plot_sweep(data: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = data["sweep"]
    fig = Figure(figsize=(14, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    metrics = (
        ("downtime_ms", "guest-visible downtime (ms)"),
        ("to_vm_lost", "frames to the VM lost"),
        ("emulated_s", "time on the emulated path (s)"),
    )
    styles = {"npa": "-", "failover": "--"}
    for ax, (key, label) in zip(axes, metrics, strict=True):
        for mode, ls in styles.items():
            for gbps in sorted({r["link_gbps"] for r in rows}):
                pts = [r for r in rows if r["mode"] == mode and r["link_gbps"] == gbps]
                if not pts:
                    continue
                xs, ys = [r["dirty_mb_s"] for r in pts], [r[key] for r in pts]
                ax.plot(xs, ys, ls, marker="o", ms=3, label=f"{mode}, {gbps} Gbit/s")
                bad = [r for r in pts if not r["converged"]]
                ax.plot([r["dirty_mb_s"] for r in bad], [r[key] for r in bad], "kx", ms=6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("guest dirty rate (MB/s)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", lw=0.3)
    axes[0].legend(fontsize=6, ncol=2)
    fig.suptitle("migration: NPA (solid) vs failover (dashed); x = pre-copy did not converge")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    return path
