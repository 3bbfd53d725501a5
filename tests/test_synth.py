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
    SynthConfig,
    SynthError,
    SynthResult,
    elaborate,
    synthesize,
)
from sim.synth_rtlil import dedupe, parse_rtlil
from sim.synth_stats import TOP, per_source_module, subtree, top_subtrees

# Configurations CI only elaborates: the parameter checks ($fatal) of every
# block run for them, as a synthesis tool would run them, in about a second.
ELABORATED = {
    "w256": {"NUM_VF": 1, "DATA_W": 256},
    "vf8_q2": {"NUM_VF": 8, "NUM_QUEUES": 2},
    "vf16": {"NUM_VF": 16},
    "mixed_q2": {"NUM_VF": 2, "NUM_QUEUES": 2, "VF_RING_FMT": 2},
}

CONFIG = SynthConfig(REDUCED_PARAMS, reduced=True, map_luts=False)
REUSE_WORK = BUILD_DIR / f"test-{CONFIG.name}"


def run(**kwargs: object) -> SynthResult:
    error: SynthError | None = None
    try:
        return synthesize(CONFIG, **kwargs)  # type: ignore[arg-type]
    except SynthError as err:
        error = err
    pytest.fail(str(error), pytrace=False)


def test_synth_reduced() -> None:
    """The reduced configuration as `make synth` maps it (reuse, two processes), then the
    same mapped per instance. One test, not two sharing a fixture: pytest-xdist may hand
    two tests of a module to different workers, which would synthesize twice into one
    folder at once."""
    reduced = run(work=REUSE_WORK, reuse=True, jobs=2)
    check_reduced(reduced)
    check_reuse_matches_flat(reduced)


def check_reduced(reduced: SynthResult) -> None:
    total = subtree(reduced.modules, TOP)
    assert total.latch == 0, "latches in the mapped netlist"
    assert total.ff > 1000, f"netlist nearly empty: {total.ff} flip-flops"
    assert total.bram36_eq + total.lutram > 0, "no RAM inferred: FIFOs became flip-flops?"
    assert any(m.base == "vf_dma" for m in reduced.modules.values()), "hierarchy lost"


def check_reuse_matches_flat(reduced: SynthResult) -> None:
    """Mapping each identical body once gives every instance the counts of its own run.

    Exactly, in every resource class: the mapping processes read every module in
    a canonical form, its names interned in a fixed order (sim/synth_rtlil.py,
    ``canonical_module`` and ``name_order_module``), so Yosys makes the same
    choices for a module (which adders share a carry chain) whatever else is in
    its process. Before that, the DMA engine's carries came out up to 3 % apart.
    """
    _, modules = parse_rtlil((REUSE_WORK / "elab.il").read_text())
    rep = dedupe(modules)
    engines = sorted(n for n in modules if n.startswith("vf_dma$"))
    assert len(engines) == 3, engines  # the PF's and VF 1's (format A), VF 2's (format B)
    assert rep[engines[1]] == engines[0], "identical DMA engines not mapped once"
    assert rep[engines[2]] == engines[2], "the format-B engine taken for a format-A one"

    flat = run(work=BUILD_DIR / f"test-flat-{CONFIG.name}", reuse=False, jobs=1)
    assert set(reduced.modules) == set(flat.modules)
    for name, mod in reduced.modules.items():
        assert mod.own == flat.modules[name].own, (name, mod.own, flat.modules[name].own)
    ours, theirs = top_subtrees(reduced.modules), top_subtrees(flat.modules)
    assert ours == theirs
    assert ours["g_func[0].u_dma"] == ours["g_func[1].u_dma"]
    assert per_source_module(reduced.modules) == per_source_module(flat.modules)
    assert subtree(reduced.modules, TOP) == subtree(flat.modules, TOP)


@pytest.mark.parametrize("name", sorted(ELABORATED))
def test_elaborates(name: str) -> None:
    try:
        elaborate(ELABORATED[name], BUILD_DIR / f"elaborate-{name}")
    except SynthError as err:
        pytest.fail(str(err), pytrace=False)
