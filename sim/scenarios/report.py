"""Scenario configuration (from the environment the runner sets) and the report it leaves."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sim.progress import write_progress
from tb.env import NicTb, TbConfig
from tb.net.pcap import NS_PER_CYCLE
from tb.ref.scoreboard import FrameScoreboard


@dataclass(frozen=True)
class ScenarioConfig:
    tb: TbConfig
    frames: int
    seed: int
    report_path: Path
    vf_flavours: str = ""  # one letter per VF (A, B: ring format), "" = all A (VF_FLAVOURS)
    progress: Path | None = None  # where the scenario says how far it got (sim/progress.py)


def scenario_config() -> ScenarioConfig:
    """Read what ``sim/run.py`` passed down; a missing report path is a usage error."""
    report = os.environ.get("SCENARIO_REPORT")
    if not report:
        raise RuntimeError("SCENARIO_REPORT is not set: run scenarios through `make sim`")
    seed = int(os.environ.get("SCENARIO_SEED", "1"))
    pcap = os.environ.get("SCENARIO_PCAP_DIR")
    return ScenarioConfig(
        tb=TbConfig(seed=seed, pcap_dir=Path(pcap) if pcap else None),
        frames=int(os.environ.get("SCENARIO_FRAMES", "32")),
        seed=seed,
        report_path=Path(report),
        vf_flavours=os.environ.get("SCENARIO_VF_FLAVOURS", ""),
        progress=Path(progress) if (progress := os.environ.get("SCENARIO_PROGRESS")) else None,
    )


def report_progress(cfg: ScenarioConfig, frames: int) -> None:
    """Frames per flow sent so far, for ``make sim``'s bar (every 100th)."""
    if cfg.progress is not None and frames % 100 == 0:
        write_progress(cfg.progress, frames, f"of {cfg.frames} frames per flow")


def vf_ring_fmt(flavours: str) -> int:
    """``nic_top``'s ``VF_RING_FMT`` for ``flavours`` (``VF_FLAVOURS``: one letter per VF,
    A = ring format A, B = ring format B; bit n-1 set = VF n is format B)."""
    if set(flavours) - {"A", "B"}:
        raise ValueError(f"VF flavours {flavours!r}: one letter A or B per VF")
    return sum(1 << k for k, f in enumerate(flavours) if f == "B")


DROP_REASONS = {"RXQ_DROPS": "no posted RX buffer, or the RX FIFO was full"}


@dataclass
class ScenarioReport:
    scenario: str
    seed: int
    cycles: int = 0
    wall_seconds: float = 0.0
    ports: dict[str, dict[str, int]] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)
    matched_bytes: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    unexpected_on_wire: int = 0
    pcaps: list[str] = field(default_factory=list)
    # Scenario-specific lines (configuration shown like the tools a user knows).
    notes: list[str] = field(default_factory=list)
    # Per-VF counters named like `ethtool -S`, when the scenario reads them.
    vf_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    # Frames the NIC dropped and counted, per destination and counter.
    drops: dict[str, dict[str, int]] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> ScenarioReport:
        return cls(**json.loads(path.read_text()))

    def summary(self) -> str:
        """Human-readable summary: per-port traffic, checks, time and speed."""
        sim_us = self.cycles * NS_PER_CYCLE / 1000
        speed = self.cycles / self.wall_seconds if self.wall_seconds else 0.0
        lines = [
            f"scenario {self.scenario} (seed {self.seed})",
            "",
            "switch port   to-switch frames/bytes      from-switch frames/bytes   no-route drops",
        ]
        for name, c in self.ports.items():
            lines.append(
                f"  {name:<10} {c['rx_packets']:>8} / {c['rx_bytes']:<14}"
                f" {c['tx_packets']:>8} / {c['tx_bytes']:<14} {c['rx_dropped_no_route']:>8}"
            )
        lines.append("")
        lines.append("checked byte for byte against what was sent:")
        for dest in sorted(self.matched):
            lines.append(
                f"  to {dest:<8} {self.matched[dest]:>6} frames {self.matched_bytes[dest]:>9} bytes"
            )
        for dest, counters in sorted(self.drops.items()):
            for name, n in counters.items():
                if n:
                    why = f" ({DROP_REASONS[name]})" if name in DROP_REASONS else ""
                    lines.append(f"  {dest:<18} {n:>6} frames not delivered: {name}{why}")
        lines.append(f"  mismatches: {len(self.mismatches)}")
        lines += [f"    {m}" for m in self.mismatches[:10]]
        for vf, st in self.vf_stats.items():
            shown = ", ".join(f"{k} {v}" for k, v in st.items() if v)
            lines.append(f"  ethtool -S {vf}: {shown or 'all zero'}")
        if self.notes:
            lines.append("")
            lines += [f"  {n}" for n in self.notes]
        lines.append("")
        lines.append(
            f"simulated: {self.cycles} cycles = {sim_us:.2f} us at 250 MHz; "
            f"wall {self.wall_seconds:.2f} s; {speed:,.0f} simulated cycles per wall second"
        )
        if self.pcaps:
            lines.append(f"pcaps: {len(self.pcaps)} files under {Path(self.pcaps[0]).parent}")
        return "\n".join(lines)


async def gather(
    name: str, cfg: ScenarioConfig, tb: NicTb, sb: FrameScoreboard, cycle0: int
) -> ScenarioReport:
    """What every scenario reports: cycles, the switch's counters, the scoreboard's verdict."""
    report = ScenarioReport(name, cfg.seed)
    report.cycles = tb.cycle() - cycle0
    for port in range(tb.num_func + 1):
        report.ports[tb.port_name(port)] = await tb.pf.port_stats(port)
    report.matched = dict(sb.matched)
    report.matched_bytes = dict(sb.matched_bytes)
    report.mismatches = [str(m) for m in sb.finish()]
    report.drops = {dest: dict(c) for dest, c in sb.drops.items()}
    report.unexpected_on_wire = tb.wire_out.count()
    return report


def conclude(report: ScenarioReport, cfg: ScenarioConfig, tb: NicTb, wall0: float) -> None:
    """Close the captures, save the report for `make sim`, fail on any mismatch."""
    report.wall_seconds = time.monotonic() - wall0
    if cfg.tb.pcap_dir is not None:
        report.pcaps = [str(p) for p in tb.stop_capture()]
    report.save(cfg.report_path)
    assert not report.mismatches, "\n".join(report.mismatches)
    assert report.unexpected_on_wire == 0, "frames left the uplink that no one sent there"
