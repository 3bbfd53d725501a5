"""pytest wrapper: block tests of vf_dma (cocotb module tests/cocotb_vf_dma.py)."""

import pytest

from sim.runner import SimTop, run

CONFIGS = {
    "q1": {"NUM_QUEUES": 1},
    "q2": {"NUM_QUEUES": 2},
    "w256": {"NUM_QUEUES": 2, "DATA_W": 256, "TX_FIFO_BEATS": 1024},
}


@pytest.mark.parametrize("cfg", sorted(CONFIGS))
def test_vf_dma(cfg):
    top = SimTop("vf_dma", CONFIGS[cfg])
    tests, fails = run(top, "tests.cocotb_vf_dma", run_name=f"vf_dma-{cfg}")
    assert tests > 0
    assert fails == 0
