"""The `make bench` path in CI: vf_dma at two sizes, line rate asserted in simulated cycles.

Cycle counts are deterministic, so this is a behavioural check (issue #3: one
queue at line rate from 256 bytes up), not a wall-clock one. The eswitch's
line rate is asserted by its own block test (tests/test_eswitch.py).
"""

from __future__ import annotations

from pathlib import Path

from sim.bench import markdown
from sim.benches import line_rate_frames_per_cycle
from sim.benches.vf_dma import collect

SIZES = (256, 1518)


def test_vf_dma_line_rate_one_queue(tmp_path: Path) -> None:
    records = collect(tmp_path, sizes=SIZES)
    one_queue = {(r.path, r.frame_size): r for r in records if r.queues == 1}
    assert set(one_queue) == {(p, s) for p in ("tx", "rx") for s in SIZES}
    for (path, size), r in sorted(one_queue.items()):
        # Independent of the record's own arithmetic: frames over cycles vs §6's formula.
        ratio = r.frames / r.cycles / line_rate_frames_per_cycle(size)
        assert ratio >= 1.0, f"vf_dma {path} at {size} B: {ratio:.3f} x line rate"
        assert r.latency_cycles > 0
    assert "| tx | 1 | 256 |" in markdown(records)
