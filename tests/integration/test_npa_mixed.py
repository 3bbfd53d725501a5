"""NPA with a vendor-A and a vendor-B VF on one NIC (VF_RING_FMT = 2: VF2 is format B)."""

from __future__ import annotations

from sim.runner import nic_top, run


def test_npa_two_vendors() -> None:
    tests, failed = run(
        nic_top({"NUM_VF": 2, "VF_RING_FMT": 2}),
        "tests.integration.cocotb_npa_mixed",
        "npa_two_vendors",
    )
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0
