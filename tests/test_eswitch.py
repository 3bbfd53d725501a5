"""Block test of the embedded switch: pytest builds each configuration and runs
the cocotb tests in tests/cocotb_eswitch.py against tb/ref/eswitch_model."""

from __future__ import annotations

import pytest

from sim.runner import SimTop, run

CONFIGS = {
    "default": {},
    "f5_w256": {"NUM_FUNC": 5, "DATA_W": 256, "MAC_TABLE_SIZE": 16},
}

TESTS = [
    "test_registers",
    "test_unicast",
    "test_broadcast",
    "test_length_checks",
    "test_policy",
    "test_rate",
    "test_random",
    "test_throughput",
]


@pytest.mark.parametrize("testcase", TESTS)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_eswitch(config: str, testcase: str) -> None:
    top = SimTop("eswitch", CONFIGS[config])
    tests, failures = run(top, "tests.cocotb_eswitch", testcase, run_name=f"{config}-{testcase}")
    assert tests == 1 and failures == 0
