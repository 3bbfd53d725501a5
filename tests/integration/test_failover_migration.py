"""Failover-mode live migration A -> B on two_host_top under traffic (docs/MIGRATION.md §7)."""

from __future__ import annotations

from sim.runner import run, two_host_top

MODULE = "tests.integration.cocotb_failover_migration"


def test_failover_migration_a_to_b() -> None:
    # (cocotb tests run, failed): the one test, passed
    assert run(two_host_top({"NUM_VF": 1}), MODULE, "failover_migration_a_to_b") == (1, 0)
