"""Abort and roll back of a migration on two_host_top (docs/MIGRATION.md §10)."""

from __future__ import annotations

import pytest

from sim.runner import run, two_host_top

MODULE = "tests.integration.cocotb_migration_abort"
CASES = [
    "npa/no_vf_free",
    "npa/wrong_plugin",
    "npa/link_precopy",
    "npa/link_stop_and_copy",
    "failover/no_vf_free",
    "failover/link_stop_and_copy",
]


@pytest.mark.parametrize("case", CASES)
def test_migration_abort(case: str) -> None:
    env = {"MIGRATION_ABORT": case}
    name = f"abort-{case.replace('/', '-')}"
    # (cocotb tests run, failed): the one test, passed
    assert run(two_host_top({"NUM_VF": 1}), MODULE, run_name=name, env=env) == (1, 0)
