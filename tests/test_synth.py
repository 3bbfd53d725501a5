"""Synthesis check in CI: Yosys must build the reduced nic_top for a Xilinx target.

A construct a synthesis tool would not build (an elaboration error, a latch, a
multiply driven net, a combinational loop, a failing ``$fatal`` parameter
check) makes the Yosys script stop, so this test fails. ``make synth`` runs the
same flow on the full configuration and reports the resources.
"""

from __future__ import annotations

import pytest

from sim.synth import (
    BUILD_DIR,
    REDUCED_PARAMS,
    TOP,
    SynthConfig,
    SynthError,
    elaborate,
    subtree,
    synthesize,
)

# Configurations CI only elaborates: the parameter checks ($fatal) of every
# block run for them, as a synthesis tool would run them, in about a second.
ELABORATED = {
    "w256": {"NUM_VF": 1, "DATA_W": 256},
    "vf8_q2": {"NUM_VF": 8, "NUM_QUEUES": 2},
    "vf16": {"NUM_VF": 16},
}


def test_synth_reduced() -> None:
    config = SynthConfig(REDUCED_PARAMS, reduced=True, map_luts=False)
    error: SynthError | None = None
    try:
        result = synthesize(config, BUILD_DIR / f"test-{config.name}")
    except SynthError as err:
        error = err
    if error is not None:
        pytest.fail(str(error), pytrace=False)
    total = subtree(result.modules, TOP)
    assert total.latch == 0, "latches in the mapped netlist"
    assert total.ff > 1000, f"netlist nearly empty: {total.ff} flip-flops"
    assert total.bram36_eq + total.lutram > 0, "no RAM inferred: FIFOs became flip-flops?"
    assert any(m.base == "vf_dma" for m in result.modules.values()), "hierarchy lost"


@pytest.mark.parametrize("name", sorted(ELABORATED))
def test_elaborates(name: str) -> None:
    try:
        elaborate(ELABORATED[name], BUILD_DIR / f"elaborate-{name}")
    except SynthError as err:
        pytest.fail(str(err), pytrace=False)
