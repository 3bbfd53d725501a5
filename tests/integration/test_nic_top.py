"""Regression of the integrated NIC (nic_top) through cocotb."""

from __future__ import annotations

import pytest

from sim.runner import nic_top, run

CASES = ["register_routing", "tx_to_uplink", "rx_from_uplink", "vf_to_vf_stays_local"]


@pytest.mark.parametrize("case", CASES)
def test_nic_top(case: str) -> None:
    tests, failed = run(nic_top({"NUM_VF": 2}), "tests.integration.cocotb_nic_top", case)
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0
