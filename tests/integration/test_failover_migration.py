"""Failover-mode live migration A -> B on two_host_top under traffic (docs/MIGRATION.md §7)."""

from __future__ import annotations

from sim.runner import run, two_host_top


def test_failover_migration_a_to_b() -> None:
    tests, failed = run(
        two_host_top({"NUM_VF": 1}),
        "tests.integration.cocotb_failover_migration",
        "failover_migration_a_to_b",
    )
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0
