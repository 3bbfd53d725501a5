"""What the `npa` scenario records and how it is shown: throughput per VM over simulated
time, each VM's datapath (emulated vmxnet3 or VF plugin), policy and security events.

The scenario fills an :class:`NpaStory`; :func:`render_story` gives the terminal report,
:func:`plot_story` a PNG (matplotlib, Agg backend, imported only there) and
:func:`story_to_json` / :func:`story_from_json` the reports/npa.json form.
Times are simulated ns; the report shows them in µs.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tb.hypervisor.npa_vm import ControlEvent

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tb.guest.flow_receiver import FlowStats
    from tb.guest.ping import PingSession

DIRECTIONS = ("tx", "rx")
MODES = ("emulated", "plugin")
REPORT_WIDTH = 100
# gids of the plot's artists, so a test (or a reader of the figure) can find them.
GID_SWITCH = "switch-over"
GID_DENIAL = "policy-denial"
DASH = "\u2013"  # en dash between a span's start and end


def _check_time(t_ns: int, what: str) -> None:
    if t_ns < 0:
        raise ValueError(f"{what}: time {t_ns} ns is before the run started")


@dataclass
class ThroughputMeter:
    """Bytes seen per (VM, direction), binned into windows of ``window_ns``."""

    window_ns: int
    # (vm, direction) -> [(t_ns, nbytes), ...] in the order counted.
    samples: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.window_ns <= 0:
            raise ValueError(f"window_ns must be positive, not {self.window_ns}")

    def count(self, vm: str, direction: str, nbytes: int, t_ns: int) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
        if nbytes < 0:
            raise ValueError(f"nbytes must not be negative ({nbytes})")
        _check_time(t_ns, f"{vm} {direction}")
        self.samples.setdefault((vm, direction), []).append((t_ns, nbytes))

    def vms(self) -> list[str]:
        return _vm_order({vm for vm, _ in self.samples})

    def total_bytes(self, vm: str, direction: str) -> int:
        return sum(n for _, n in self.samples.get((vm, direction), []))

    def series(
        self, vm: str, direction: str, until_ns: int | None = None
    ) -> list[tuple[int, float]]:
        """(window start ns, Gb/s) for every window from 0 to the last one counted (or the
        one holding ``until_ns``, if later); windows with no bytes are 0.0."""
        got = self.samples.get((vm, direction), [])
        if not got and until_ns is None:
            return []
        arr = np.asarray(got, dtype=np.int64).reshape(-1, 2)
        windows = arr[:, 0] // self.window_ns
        n = int(windows.max()) + 1 if len(windows) else 0
        if until_ns is not None:
            n = max(n, until_ns // self.window_ns + 1)
        totals = np.bincount(windows, weights=arr[:, 1].astype(np.float64), minlength=n)
        gbps = totals * 8.0 / self.window_ns  # bits per ns = Gb/s
        starts = np.arange(n, dtype=np.int64) * self.window_ns
        return list(zip(starts.tolist(), gbps.tolist(), strict=True))


@dataclass(frozen=True)
class ModeChange:
    """A VM's datapath switched to ``mode`` at ``t_ns``."""

    t_ns: int
    vm: str
    mode: str
    reason: str

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        _check_time(self.t_ns, f"{self.vm} mode change")


# A guest request the hypervisor's policy judged: the record tb/hypervisor/npa.py logs.
PolicyEvent = ControlEvent


@dataclass(frozen=True)
class SecurityEvent:
    """An attack a VM tried, what became of it and the counter that shows it."""

    t_ns: int
    vm: str
    attack: str
    outcome: str
    counter: str
    count: int


@dataclass(frozen=True)
class FlowSummary:
    name: str
    sent: int
    received: int
    lost: int
    duplicated: int
    reordered: int
    corrupted: int

    @classmethod
    def from_stats(cls, name: str, stats: FlowStats, sent: int | None = None) -> FlowSummary:
        """From a :class:`FlowReceiver`'s stats; ``sent`` defaults to the count it knows."""
        n = sent if sent is not None else stats.sent
        if n is None:
            raise ValueError(f"flow {name}: the sender's count is not known")
        lost = n - len({s for s in stats.seen if s < n})  # FlowStats.lost, against n
        return cls(
            name, n, stats.received, lost, stats.duplicated, stats.reordered, stats.corrupted
        )


@dataclass(frozen=True)
class PingSummary:
    peer: str
    sent: int
    received: int
    lost: int
    rtt_min_ns: float | None
    rtt_avg_ns: float | None
    rtt_max_ns: float | None

    @classmethod
    def from_session(cls, peer: str, session: PingSession, ns_per_unit: float = 1.0) -> PingSummary:
        """From a ``PingSession``; ``ns_per_unit`` scales its clock's unit to ns."""
        rtts = [r * ns_per_unit for r in session.rtts()]
        if not rtts:
            return cls(peer, session.sent, session.received, session.lost, None, None, None)
        avg = sum(rtts) / len(rtts)
        return cls(peer, session.sent, session.received, session.lost, min(rtts), avg, max(rtts))


@dataclass(frozen=True)
class DatapathSpan:
    mode: str
    start_ns: int
    end_ns: int


@dataclass
class NpaStory:
    """Everything the `npa` scenario shows. Each VM starts on ``initial_mode``."""

    meter: ThroughputMeter
    end_ns: int
    mode_changes: list[ModeChange] = field(default_factory=list)
    policy_events: list[PolicyEvent] = field(default_factory=list)
    security_events: list[SecurityEvent] = field(default_factory=list)
    flows: dict[str, list[FlowSummary]] = field(default_factory=dict)
    pings: dict[str, list[PingSummary]] = field(default_factory=dict)
    initial_mode: str = "emulated"

    def vms(self) -> list[str]:
        names = set(self.meter.vms()) | set(self.flows) | set(self.pings)
        for ev in [*self.mode_changes, *self.policy_events, *self.security_events]:
            names.add(ev.vm)
        return _vm_order(names)

    def datapath(self, vm: str) -> list[DatapathSpan]:
        """The VM's datapath from 0 to ``end_ns``: consecutive spans, one per mode held."""
        changes = sorted((c for c in self.mode_changes if c.vm == vm), key=lambda c: c.t_ns)
        for c in changes:
            if c.t_ns > self.end_ns:
                raise ValueError(f"{vm}: mode change at {c.t_ns} ns after the end {self.end_ns}")
        spans: list[DatapathSpan] = []
        mode, start = self.initial_mode, 0
        for c in changes:
            if c.mode == mode:
                continue
            if c.t_ns > start:
                spans.append(DatapathSpan(mode, start, c.t_ns))
            mode, start = c.mode, c.t_ns
        if self.end_ns > start or not spans:
            spans.append(DatapathSpan(mode, start, self.end_ns))
        return spans

    def time_share(self) -> dict[str, dict[str, float]]:
        """Per VM, the fraction of simulated time (0..end_ns) spent in each mode."""
        share: dict[str, dict[str, float]] = {}
        for vm in self.vms():
            held = dict.fromkeys(MODES, 0)
            for span in self.datapath(vm):
                held[span.mode] += span.end_ns - span.start_ns
            total = self.end_ns
            share[vm] = {m: (held[m] / total if total else 0.0) for m in MODES}
        return share


def _vm_order(names: set[str]) -> list[str]:
    """vm2 before vm10."""
    return sorted(
        names, key=lambda s: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)]
    )


def _us(t_ns: float) -> str:
    """Simulated ns as µs with up to 3 decimals: 12400 -> '12.4', 0 -> '0'."""
    text = f"{t_ns / 1000:.3f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def _rtt(ns: float | None) -> str:
    return "-" if ns is None else f"{ns:.0f}"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int = REPORT_WIDTH
) -> list[str]:
    """Left-aligned text columns, indented by 2; the last column wraps to fit ``width``."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[k]) for r in cells)) for k, h in enumerate(headers)]
    lead = 2 + sum(w + 2 for w in widths[:-1])
    last = max(20, width - lead)
    out = []
    for r in [list(headers), *cells]:
        head = "  " + "".join(f"{c:<{w}}  " for c, w in zip(r[:-1], widths, strict=False))
        parts = textwrap.wrap(r[-1], last, break_long_words=True) or [""]
        out.append((head + parts[0]).rstrip())
        out += [" " * lead + p for p in parts[1:]]
    return out


def _wrap_line(text: str, width: int = REPORT_WIDTH, indent: int = 6) -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent=" " * indent, break_on_hyphens=False)


def render_story(story: NpaStory) -> str:
    """Plain-text report, no colour codes, no line over ``REPORT_WIDTH`` columns."""
    vms = story.vms()
    lines = [f"npa: {len(vms)} VMs, {_us(story.end_ns)} µs simulated", ""]

    lines.append("traffic per VM (UDP flows):")
    rows = [
        [vm, f.name, f.sent, f.received, f.lost, f.duplicated, f.reordered, f.corrupted]
        for vm in vms
        for f in story.flows.get(vm, [])
    ]
    if rows:
        lines += _table(
            ["vm", "flow", "sent", "received", "lost", "dup", "reordered", "corrupted"], rows
        )
    else:
        lines.append("  none")
    lines.append("")
    lines.append("ping per VM (rtt in ns):")
    rows = [
        [vm, p.peer, p.sent, p.received, p.lost, _rtt(p.rtt_min_ns), _rtt(p.rtt_avg_ns),
         _rtt(p.rtt_max_ns)]
        for vm in vms
        for p in story.pings.get(vm, [])
    ]  # fmt: skip
    if rows:
        lines += _table(["vm", "peer", "sent", "received", "lost", "min", "avg", "max"], rows)
    else:
        lines.append("  none")
    lines.append("")
    lines.append(f"throughput ({_us(story.meter.window_ns)} µs windows):")
    rows = []
    for vm in vms:
        for d in DIRECTIONS:
            s = story.meter.series(vm, d)
            if not s:
                continue
            peak = max(g for _, g in s)
            mean = story.meter.total_bytes(vm, d) * 8 / story.end_ns if story.end_ns else 0.0
            rows.append([vm, d, story.meter.total_bytes(vm, d), f"{mean:.3f}", f"{peak:.3f}"])
    if rows:
        lines += _table(["vm", "dir", "bytes", "mean Gb/s", "peak Gb/s"], rows)
    else:
        lines.append("  none")

    lines.append("")
    lines.append("datapath per VM over simulated time:")
    share = story.time_share()
    for vm in vms:
        spans = ", ".join(
            f"{s.mode} {_us(s.start_ns)}{DASH}{_us(s.end_ns)} µs" for s in story.datapath(vm)
        )
        lines += _wrap_line(f"  {vm}: {spans}")
        shown = ", ".join(f"{m} {share[vm][m]:.1%}" for m in MODES)
        lines.append(f"      time share: {shown}")
    lines.append("")
    lines.append("mode changes:")
    if story.mode_changes:
        rows = [
            [_us(c.t_ns), c.vm, f"→ {c.mode}", c.reason]
            for c in sorted(story.mode_changes, key=lambda c: c.t_ns)
        ]
        lines += _table(["t µs", "vm", "to", "reason"], rows)
    else:
        lines.append("  none")
    lines.append("")
    lines.append("policy events:")
    if story.policy_events:
        rows = [
            [_us(e.t_ns), e.vm, e.op, e.detail, "allowed" if e.allowed else "DENIED", e.reason]
            for e in sorted(story.policy_events, key=lambda e: e.t_ns)
        ]
        lines += _table(["t µs", "vm", "op", "detail", "verdict", "reason"], rows)
    else:
        lines.append("  none")
    lines.append("")
    lines.append("security events:")
    if story.security_events:
        rows = [
            [_us(e.t_ns), e.vm, e.counter, e.count, f"{e.attack}: {e.outcome}"]
            for e in sorted(story.security_events, key=lambda e: e.t_ns)
        ]
        lines += _table(["t µs", "vm", "counter", "count", "attack: outcome"], rows)
    else:
        lines.append("  none")
    return "\n".join(lines)


def plot_figure(story: NpaStory) -> Figure:
    """The throughput figure, one axes per VM; switch-overs carry gid ``GID_SWITCH``,
    policy denials ``GID_DENIAL``. A bare ``Figure`` (no pyplot): nothing to close."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    vms = story.vms() or ["(no VMs)"]
    fig = Figure(figsize=(10, 2.6 * len(vms) + 0.6), layout="constrained")
    axes = fig.subplots(len(vms), 1, sharex=True, squeeze=False)[:, 0]
    for ax, vm in zip(axes, vms, strict=True):
        for d in DIRECTIONS:
            s = story.meter.series(vm, d, until_ns=story.end_ns)
            if s:
                x = np.array([t for t, _ in s]) / 1000.0
                y = np.array([g for _, g in s])
                # Close the last window so the step reaches its end.
                x = np.append(x, x[-1] + story.meter.window_ns / 1000.0)
                y = np.append(y, y[-1])
                ax.step(x, y, where="post", label=f"{vm} {d}")
        for c in sorted((c for c in story.mode_changes if c.vm == vm), key=lambda c: c.t_ns):
            x = c.t_ns / 1000.0
            color = "tab:green" if c.mode == "plugin" else "tab:gray"
            ax.axvline(x, color=color, linestyle="--", linewidth=1, gid=GID_SWITCH)
            ax.text(
                x, 0.98, f" {vm} → {c.mode}", transform=ax.get_xaxis_transform(),
                rotation=90, va="top", ha="left", fontsize=8, color=color,
            )  # fmt: skip
        denied = [e.t_ns / 1000.0 for e in story.policy_events if e.vm == vm and not e.allowed]
        if denied:
            ax.plot(
                denied, [0.5] * len(denied), linestyle="none", marker="X", color="tab:red",
                markersize=9, transform=ax.get_xaxis_transform(), label="policy denied",
                gid=GID_DENIAL,
            )  # fmt: skip
        ax.set_ylabel("Gb/s")
        ax.set_title(vm, loc="left", fontsize=10)
        ax.set_ylim(bottom=0)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("simulated time (µs)")
    axes[-1].set_xlim(0, max(story.end_ns, 1) / 1000.0)
    fig.suptitle(f"npa: throughput per VM ({_us(story.meter.window_ns)} µs windows)")
    return fig


def plot_story(story: NpaStory, path: Path) -> Path:
    """Write :func:`plot_figure` as a PNG at ``path``; returns the path."""
    fig = plot_figure(story)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    return path


def story_to_json(story: NpaStory) -> dict[str, Any]:
    """reports/npa.json: the recorded fields, plus the derived series, spans and shares."""
    vms = story.vms()
    return {
        "end_ns": story.end_ns,
        "initial_mode": story.initial_mode,
        "window_ns": story.meter.window_ns,
        "vms": vms,
        "samples": [
            {"vm": vm, "direction": d, "samples": [list(s) for s in got]}
            for (vm, d), got in story.meter.samples.items()
        ],
        "throughput_gbps": {
            vm: {d: [list(p) for p in story.meter.series(vm, d)] for d in DIRECTIONS} for vm in vms
        },
        "mode_changes": [asdict(c) for c in story.mode_changes],
        "policy_events": [asdict(e) for e in story.policy_events],
        "security_events": [asdict(e) for e in story.security_events],
        "flows": {vm: [asdict(f) for f in fs] for vm, fs in story.flows.items()},
        "pings": {vm: [asdict(p) for p in ps] for vm, ps in story.pings.items()},
        "datapath": {vm: [asdict(s) for s in story.datapath(vm)] for vm in vms},
        "time_share": story.time_share(),
    }


def story_from_json(data: dict[str, Any]) -> NpaStory:
    """Inverse of :func:`story_to_json` for the recorded fields (derived ones are recomputed)."""
    meter = ThroughputMeter(int(data["window_ns"]))
    for entry in data["samples"]:
        meter.samples[(entry["vm"], entry["direction"])] = [
            (int(t), int(n)) for t, n in entry["samples"]
        ]
    return NpaStory(
        meter=meter,
        end_ns=int(data["end_ns"]),
        mode_changes=[ModeChange(**c) for c in data["mode_changes"]],
        policy_events=[PolicyEvent(**e) for e in data["policy_events"]],
        security_events=[SecurityEvent(**e) for e in data["security_events"]],
        flows={vm: [FlowSummary(**f) for f in fs] for vm, fs in data["flows"].items()},
        pings={vm: [PingSummary(**p) for p in ps] for vm, ps in data["pings"].items()},
        initial_mode=data["initial_mode"],
    )


def save_story(story: NpaStory, path: Path) -> Path:
    """Write :func:`story_to_json` at ``path`` (reports/npa.json)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(story_to_json(story), indent=2, ensure_ascii=False))
    return path
