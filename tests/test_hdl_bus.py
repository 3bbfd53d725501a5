"""The HDL host bus (sim/tops/sim_host_bus.sv + sim/dpi/host_mem.cpp) against AxiDmaResponder.

The cocotb side (tests/cocotb_hdl_bus.py) runs sim/tops/hdl_bus_pair_top.sv: the
same master traffic through the Python responder and through the HDL bus must
give identical handshakes (edge by edge), read data, memory, error and fault
logs, statistics and write-watch wake-ups.
"""

from __future__ import annotations

import pytest

from sim.runner import SIM_DPI_SOURCES, SIM_TOPS, SimTop, run

PAIR_TOP = SIM_TOPS / "hdl_bus_pair_top.sv"
CASES = [
    "same_as_responder",
    "saturated_full_width",
    "reset_drops_bursts_in_flight",
    "injected_errors",
    "latency_spike",
]


def pair_top(data_w: int) -> SimTop:
    return SimTop(
        toplevel="hdl_bus_pair_top",
        parameters={"DATA_W": data_w, "ADDR_W": 64, "ID_W": 8, "USER_W": 8},
        extra_sources=(*SIM_DPI_SOURCES, PAIR_TOP),
        simhost=True,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("data_w", [512, 64])
def test_hdl_bus_matches_responder(data_w: int, seed: int) -> None:
    tests, failures = run(
        pair_top(data_w), "tests.cocotb_hdl_bus", CASES, seed=seed, run_name=f"hdl_bus-{seed}"
    )
    assert tests == len(CASES), f"expected {len(CASES)} cocotb tests, ran {tests}"
    assert failures == 0, f"{failures} of {tests} cocotb tests failed"
