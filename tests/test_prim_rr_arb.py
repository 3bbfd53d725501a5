"""prim_rr_arb (the one round-robin pick of the RTL) against a reference model: every grant,
the priority after reset (FIRST) and the starvation bound, at several sizes."""

from __future__ import annotations

import pytest

from sim.runner import SimTop, run


@pytest.mark.parametrize(("n", "first"), [(1, 0), (3, 1), (8, 7)])
def test_prim_rr_arb(n: int, first: int) -> None:
    top = SimTop("prim_rr_arb", {"N": n, "FIRST": first})
    tests, failures = run(top, "tests.cocotb_prim_rr_arb")
    assert tests == 2 and failures == 0
