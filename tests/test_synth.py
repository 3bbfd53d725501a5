"""Synthesis check in CI: Yosys must build the reduced nic_top for a Xilinx target.

A construct a synthesis tool would not build (an elaboration error, a latch, a
multiply driven net, a combinational loop, a failing ``$fatal`` parameter
check) makes the Yosys script stop, so this test fails. ``make synth`` runs the
same flow on the full configuration and reports the resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

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
from sim.synth_stats import TOP, Resources, per_source_module, subtree, top_subtrees

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


# Classes the no-LUT run maps for good: each instance's and module's must agree.
MAPPED = ("ff", "bram36", "bram18", "lutram", "srl", "dsp", "latch")


def close(a: Resources, b: Resources, fields: Sequence[str] | None = None) -> bool:
    """Equal within 1 % (or 2 cells) per resource class, in ``fields`` (default all).

    Not exact: Yosys' choices (which adders share a carry chain, the order it
    visits cells in) depend on what else is in the process, so the same module
    mapped next to other modules can differ by a few cells.
    """
    da, db = asdict(a), asdict(b)
    return all(abs(da[k] - db[k]) <= max(2, db[k] // 100) for k in fields or da)


def check_reuse_matches_flat(reduced: SynthResult) -> None:
    """Mapping each identical body once gives every instance the counts of its own run."""
    _, modules = parse_rtlil((REUSE_WORK / "elab.il").read_text())
    rep = dedupe(modules)
    engines = sorted(n for n in modules if n.startswith("vf_dma$"))
    assert len(engines) == 3, engines  # the PF's and VF 1's (format A), VF 2's (format B)
    assert rep[engines[1]] == engines[0], "identical DMA engines not mapped once"
    assert rep[engines[2]] == engines[2], "the format-B engine taken for a format-A one"

    flat = run(work=BUILD_DIR / f"test-flat-{CONFIG.name}", reuse=False, jobs=1)
    assert set(reduced.modules) == set(flat.modules)
    ours, theirs = top_subtrees(reduced.modules), top_subtrees(flat.modules)
    assert ours.keys() == theirs.keys()
    for inst in ours:
        assert close(ours[inst], theirs[inst]), (inst, ours[inst], theirs[inst])
    assert ours["g_func[0].u_dma"] == ours["g_func[1].u_dma"]
    mods, flat_mods = per_source_module(reduced.modules), per_source_module(flat.modules)
    assert mods.keys() == flat_mods.keys()
    for base, (count, res) in mods.items():
        assert count == flat_mods[base][0], base
        assert close(res, flat_mods[base][1], MAPPED), (base, res, flat_mods[base][1])
    total, flat_total = subtree(reduced.modules, TOP), subtree(flat.modules, TOP)
    assert (total.ff, total.bram36_eq, total.lutram) == (
        flat_total.ff,
        flat_total.bram36_eq,
        flat_total.lutram,
    )
    assert close(total, flat_total)


@pytest.mark.parametrize("name", sorted(ELABORATED))
def test_elaborates(name: str) -> None:
    try:
        elaborate(ELABORATED[name], BUILD_DIR / f"elaborate-{name}")
    except SynthError as err:
        pytest.fail(str(err), pytrace=False)
