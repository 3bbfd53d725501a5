"""The NPA stack on nic_top (issue 9): VMs confined on the real bus."""

from __future__ import annotations

import pytest

from sim.runner import nic_top, run

CASES = [
    "vm_dma_confined",
    "npa_boot_emulated_plugin_and_back",
    "npa_switch_overs_under_traffic",
    "npa_rx_filters_trapped",
    "npa_port_vlan",
    "npa_mtu_trapped",
]


@pytest.mark.parametrize("case", CASES)
def test_npa(case: str) -> None:
    tests, failed = run(nic_top({"NUM_VF": 2}), "tests.integration.cocotb_npa", case)
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0
