"""The `make bench` path in CI: vf_dma at two sizes, line rate asserted in simulated cycles.

Cycle counts are deterministic, so this is a behavioural check (issue #3: one
queue at line rate from 256 bytes up; issue #11: from 64 bytes, and through the
whole NIC), not a wall-clock one. The eswitch's
line rate is asserted by its own block test (tests/test_eswitch.py).
"""

from __future__ import annotations

from pathlib import Path

from sim.bench import markdown
from sim.benches import line_rate_frames_per_cycle
from sim.benches.vf_dma import collect

# 64 and 128 B pin the engine's one frame per cycle (TX scheduler and RX writer start
# the next frame as the current one's last burst issues), the batched RX descriptor
# prefetch and the prefetch depth: without any one of them a size below 256 B falls short.
SIZES = (64, 128, 256, 1518)


def assert_one_queue_line_rate(records: list, sizes: tuple[int, ...], label: str) -> None:
    """TX and RX of one queue at every size of ``sizes``: at least line rate."""
    one_queue = {(r.path, r.frame_size): r for r in records if r.queues == 1}
    assert set(one_queue) == {(p, s) for p in ("tx", "rx") for s in sizes}
    for (path, size), r in sorted(one_queue.items()):
        # Independent of the record's own arithmetic: frames over cycles vs §6's formula.
        ratio = r.frames / r.cycles / line_rate_frames_per_cycle(size)
        assert ratio >= 1.0, f"{label} {path} at {size} B: {ratio:.3f} x line rate"
        assert r.latency_cycles > 0
        assert r.block == label


def test_vf_dma_line_rate_one_queue(tmp_path: Path) -> None:
    records = collect(tmp_path, sizes=SIZES, formats=("A",))
    assert_one_queue_line_rate(records, SIZES, "vf_dma")
    assert "| tx | 1 | 256 |" in markdown(records)


# ring format B (issue 12): line rate from 256 B, TX and RX, with vmxnet3's rings (an RX
# completion per buffer, a head buffer in ring 1 and the rest in ring 2)
SIZES_B = (256, 1518, 9000)


def test_vf_dma_fmt_b_line_rate_one_queue(tmp_path: Path) -> None:
    records = collect(tmp_path, sizes=SIZES_B, formats=("B",))
    assert_one_queue_line_rate(records, SIZES_B, "vf_dma (ring format B)")


def test_nic_top_line_rate_at_1518(tmp_path: Path) -> None:
    """Through the whole NIC (issue 11): one VF each way, VF to VF, and both VFs at once
    in both directions on the shared host bus, at 1518 B; each VF's share even."""
    from sim.benches.nic_top import collect as collect_nic

    records = collect_nic(tmp_path, sizes=(1518,), builds=(2,))
    by_path = {r.path: r for r in records}
    assert set(by_path) == {"vf_tx", "vf_rx", "vf_vf", "all_tx (2 VFs)", "all_rx (2 VFs)"}
    for path, r in sorted(by_path.items()):
        ratio = r.frames / r.cycles / line_rate_frames_per_cycle(1518)
        assert ratio >= 1.0, f"nic_top {path} at 1518 B: {ratio:.3f} x line rate"
        if path.startswith("all"):
            assert r.extra["share_min"] >= 0.45, f"{path}: a VF got {r.extra['share_min']:.2f}"
        else:
            assert r.latency_cycles is not None and r.latency_cycles > 0
    # Offered at 1.10x line rate, one VF's RX ring with prompt refill drops nothing.
    assert by_path["vf_rx"].extra["drops"] == 0


def test_nic_top_line_rate_at_64_and_128(tmp_path: Path) -> None:
    """Through the whole NIC at 64 and 128 B (issue 11): one VF each way, VF to VF, and
    both VFs at once in both directions on the shared host bus (read latency 125 cycles,
    256 reads outstanding); each VF's share even and no RX drop. Pins the DMA arbiter's
    W queue (holding AW and W per burst: RX 0.67x at 64 B), the engine's frame per cycle
    (TX or RX started from idle only: 0.84x at 64 B) and the batched RX descriptor
    prefetch (one read per free entry: VF to VF 0.98x at 128 B, with drops)."""
    from sim.benches.nic_top import collect as collect_nic

    records = collect_nic(tmp_path, sizes=(64, 128), builds=(2,))
    by_path = {(r.path, r.frame_size): r for r in records}
    paths = ("vf_tx", "vf_rx", "vf_vf", "all_tx (2 VFs)", "all_rx (2 VFs)")
    assert set(by_path) == {(p, s) for p in paths for s in (64, 128)}
    for (path, size), r in sorted(by_path.items()):
        ratio = r.frames / r.cycles / line_rate_frames_per_cycle(size)
        assert ratio >= 1.0, f"nic_top {path} at {size} B: {ratio:.3f} x line rate"
        if path.startswith("all"):
            assert r.extra["share_min"] >= 0.45, f"{path}: a VF got {r.extra['share_min']:.2f}"
        else:
            assert r.latency_cycles is not None and r.latency_cycles > 0
        if "drops" in r.extra:
            assert r.extra["drops"] == 0, f"{path}: {r.extra['drops']} frames dropped"
