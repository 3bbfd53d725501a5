"""The HDL uplink wire (sim/tops/sim_stream_*.sv + sim/dpi/stream.cpp) against the Python models.

The cocotb side (tests/cocotb_hdl_stream.py) runs sim/tops/hdl_stream_pair_top.sv:
the HDL source against cocotbext-axi's AxiStreamSource (and FastStreamSource
with link pacing), the HDL sink against FastStreamSink; frames and the edge each
frame ends at must be identical.
"""

from __future__ import annotations

import pytest

from sim.runner import SIM_DPI_SOURCES, SIM_TOPS, SimTop, run

PAIR_TOP = SIM_TOPS / "hdl_stream_pair_top.sv"
LOOP_TOP = SIM_TOPS / "axis_loop_top.sv"  # its register slice, axis_loop_stage
CASES = [
    "source_back_to_back",
    "source_backpressure",
    "source_paced_like_fast_source",
    "sink_same_as_fast_sink",
    "bad_input_is_refused",
]


@pytest.mark.parametrize("data_w", [512, 64])
def test_hdl_stream_matches_python_models(data_w: int) -> None:
    top = SimTop(
        toplevel="hdl_stream_pair_top",
        parameters={"DATA_W": data_w},
        extra_sources=(*SIM_DPI_SOURCES, LOOP_TOP, PAIR_TOP),
        simhost=True,
    )
    tests, failures = run(top, "tests.cocotb_hdl_stream", CASES, seed=data_w)
    assert tests == len(CASES), f"expected {len(CASES)} cocotb tests, ran {tests}"
    assert failures == 0, f"{failures} of {tests} cocotb tests failed"
