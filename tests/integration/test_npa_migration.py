"""NPA live migration A -> B on two_host_top under traffic (docs/MIGRATION.md §4)."""

from __future__ import annotations

from sim.runner import run, two_host_top


def test_npa_migration_a_to_b() -> None:
    tests, failed = run(
        two_host_top({"NUM_VF": 1}),
        "tests.integration.cocotb_npa_migration",
        "npa_migration_a_to_b",
    )
    assert tests == 1, f"expected to run 1 cocotb test, ran {tests}"
    assert failed == 0


def test_npa_migration_announce_rounds() -> None:
    tests, failed = run(
        two_host_top({"NUM_VF": 1}),
        "tests.integration.cocotb_npa_migration",
        "npa_migration_announce_rounds",
    )
    assert (tests, failed) == (1, 0)
