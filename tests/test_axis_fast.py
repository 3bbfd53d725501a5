"""tb/net/axis_fast (the uplink's AXI-Stream models) checked against cocotbext-axi."""

from __future__ import annotations

import pytest

from sim.runner import SimTop, run
from sim.toolchain import REPO_ROOT

LOOP_TOP = REPO_ROOT / "sim" / "tops" / "axis_loop_top.sv"


@pytest.mark.parametrize("data_w", [512, 64])
def test_axis_fast_matches_cocotbext(data_w: int) -> None:
    top = SimTop("axis_loop_top", {"DATA_W": data_w}, extra_sources=(LOOP_TOP,))
    tests, failures = run(top, "tests.cocotb_axis_fast", seed=data_w)
    assert tests == 3, f"expected 3 cocotb tests, ran {tests}"
    assert failures == 0
