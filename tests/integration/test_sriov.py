"""SR-IOV control plane of the integrated NIC: mailbox, PF driver policy and knobs,
FLR, disabled VFs, DMA fairness and register-space isolation (cocotb on nic_top)."""

from __future__ import annotations

import pytest

from sim.runner import nic_top, run

CASES = [
    "mailbox_hw_protocol",
    "mailbox_policy",
    "pf_knobs",
    "flr_pf_and_vf",
    "vf_driver_datapath",
    "disabled_vf",
    "dma_fairness",
    "isolation",
]


@pytest.mark.parametrize("case", CASES)
def test_sriov(case: str) -> None:
    tests, failed = run(nic_top({"NUM_VF": 2}), "tests.integration.cocotb_sriov", case)
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0
