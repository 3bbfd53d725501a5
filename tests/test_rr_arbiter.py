"""rr_arbiter (the one round-robin pick of the RTL) against a reference model: every grant,
the priority after reset (FIRST) and the starvation bound, at several sizes."""

from __future__ import annotations

import pytest

from sim.runner import SimTop, run


@pytest.mark.parametrize(("n", "first"), [(1, 0), (3, 1), (8, 7)])
def test_rr_arbiter(n: int, first: int) -> None:
    tests, failures = run(SimTop("rr_arbiter", {"N": n, "FIRST": first}), "tests.cocotb_rr_arbiter")
    assert tests == 2 and failures == 0
