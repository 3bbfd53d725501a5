"""Two hosts in one simulation: sim/tops/two_host_top.sv, a VM per host on its vendor's VF,
traffic with the outside host through the top-of-rack switch (docs/MIGRATION.md)."""

from __future__ import annotations

from sim.runner import run, two_host_top


def test_two_hosts_through_the_tor() -> None:
    tests, failed = run(
        two_host_top({"NUM_VF": 1}),
        "tests.integration.cocotb_two_host",
        "two_hosts_through_the_tor",
    )
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0
