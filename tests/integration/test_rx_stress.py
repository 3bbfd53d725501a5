"""Overload of one VF's RX ring from the wire: every frame delivered or counted."""

from __future__ import annotations

import pytest

from sim.runner import nic_top, run

CASES = [
    "rx_overload_every_frame_accounted",
    "rx_line_rate_1518_no_drop",
    "rx_wait_watchdog_names_the_queue",
]


@pytest.mark.parametrize("case", CASES)
def test_rx_stress(case: str) -> None:
    tests, failed = run(nic_top({"NUM_VF": 2}), "tests.integration.cocotb_rx_stress", case)
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0
