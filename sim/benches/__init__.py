"""Cycle-counted benchmarks, one module per block; `make bench` runs them all.

Each module exposes ``collect(work: Path) -> list[BenchRecord]``: it builds and
runs its cocotb bench through :mod:`sim.runner` and returns one record per
measured point. :mod:`sim.bench` merges them into ``reports/bench.json`` and
``reports/bench.md``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# 100 Gb/s at a 250 MHz clock (design brief §6).
LINE_RATE_BPS = 100e9
CLOCK_HZ = 250e6
# Preamble + start-of-frame delimiter (8) + minimum inter-frame gap (12).
WIRE_OVERHEAD_BYTES = 20

RFC2544_SIZES = (64, 128, 256, 512, 1024, 1280, 1518)
BENCH_SIZES = (*RFC2544_SIZES, 9000)


def line_rate_frames_per_cycle(frame_size: int) -> float:
    """Frames per clock cycle that 100 GbE needs at ``frame_size`` bytes (FCS included)."""
    return LINE_RATE_BPS / ((frame_size + WIRE_OVERHEAD_BYTES) * 8) / CLOCK_HZ


@dataclass(frozen=True)
class BenchRecord:
    """One measured point. ``extra`` holds block-specific figures (bytes/cycle, shares...)."""

    block: str
    path: str
    frame_size: int
    frames: int
    cycles: int
    latency_cycles: float | None  # None: no idle-NIC latency for this path (all VFs at once)
    queues: int | None = None
    extra: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def frames_per_cycle(self) -> float:
        return self.frames / self.cycles

    @property
    def line_rate_ratio(self) -> float:
        return self.frames_per_cycle / line_rate_frames_per_cycle(self.frame_size)

    @classmethod
    def from_row(
        cls, block: str, row: dict, extra: dict[str, float | int | str] | None = None
    ) -> BenchRecord:
        """A record from one measurement row a cocotb bench wrote (write_measurements)."""
        return cls(
            block=block,
            path=row["path"],
            frame_size=row["frame_size"],
            frames=row["frames"],
            cycles=row["cycles"],
            latency_cycles=row["latency_cycles"],
            queues=row.get("queues"),
            extra=row.get("extra", {}) if extra is None else extra,
        )

    def to_json(self) -> dict:
        d = asdict(self)
        d["frames_per_cycle"] = self.frames_per_cycle
        d["line_rate_ratio"] = self.line_rate_ratio
        return d


def steady_window(stamps: list[int]) -> tuple[int, int, int, int]:
    """The steady-state window over arrival cycles: the first quarter of the frames is
    ramp-up. Returns (frames, cycles, first cycle, last cycle), frames/cycle being
    (N - 1 - k) / (t[N-1] - t[k]) with k = N // 4 over the sorted stamps t."""
    t = sorted(stamps)
    n = len(t)
    if n < 8:
        raise AssertionError(f"only {n} frames arrived: no window to measure")
    k = n // 4
    return n - 1 - k, t[-1] - t[k], t[k], t[-1]


def write_measurements(path: Path, rows: list[dict]) -> None:
    """Cocotb side: the bench test dumps its raw measurements as JSON rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1))


def read_measurements(path: Path) -> list[dict]:
    """pytest/bench side: read what the cocotb bench wrote; missing file = failed run."""
    if not path.exists():
        raise RuntimeError(f"bench left no measurements at {path}")
    return json.loads(path.read_text())
