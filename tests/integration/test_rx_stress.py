"""Overload of one VF's RX ring from the wire: every frame delivered or counted."""

from __future__ import annotations

from sim.runner import nic_top, run


def test_rx_overload_every_frame_accounted() -> None:
    tests, failed = run(
        nic_top({"NUM_VF": 2}),
        "tests.integration.cocotb_rx_stress",
        "rx_overload_every_frame_accounted",
    )
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0
