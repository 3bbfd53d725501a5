"""Shared pytest set-up: simulation tops are built once per run (see sim/runner.py),
and the longest tests are handed out first.

pytest-xdist gives tests to its workers in collection order. With two workers a
2-3 minute test that is collected last runs alone at the end while the other core
idles, so the tests known to be long (measured with ``--durations``; README,
"make test") go first, longest first: a longest-processing-time-first schedule.
Only the order changes; every collected test still runs.
"""

from __future__ import annotations

import pytest

# Node-id prefixes of the long tests and their wall seconds on two cores (the last
# `--durations` table, build time of a top included where the test is its first user).
# Tests of different tops alternate near the top so that the two workers do not
# wait on one build's lock.
LONG_TESTS: dict[str, int] = {
    "tests/test_eswitch.py::test_eswitch[vf16_w256-test_random-seed4]": 165,
    "tests/test_synth.py::test_synth_reduced": 160,  # the reduced synthesis, reused and flat
    "tests/test_eswitch.py::test_eswitch[default-test_random-seed1]": 91,
    "tests/test_eswitch.py::test_eswitch[vf8_w256-test_random-seed3]": 86,
    "tests/integration/test_sriov.py::test_sriov_4vf[mailbox_hw_protocol]": 74,
    # first test of the mixed-flavour nic_sim_top (VF 2 ring format B): its build
    "tests/integration/test_sriov.py::test_sriov_mixed_flavours[mailbox_hw_protocol]": 74,
    "tests/integration/test_nic_top.py::test_nic_top[register_routing]": 68,
    "tests/test_eswitch.py::test_eswitch[default-test_random-seed2]": 60,
    "tests/test_eswitch.py::test_eswitch[vf8_w256-test_registers]": 55,
    "tests/test_hdl_stream.py": 49,
    "tests/test_host_model.py::test_host_bench_traffic_smoke": 44,
    "tests/test_vf_dma.py::test_vf_dma[q1]": 40,
    "tests/test_vf_dma.py::test_vf_dma_fmt_b[b_q2]": 40,  # the format-B builds
    "tests/test_vf_dma.py::test_vf_dma_fmt_b[b_w256]": 40,
    "tests/test_host_model.py::test_dma_responder[roundtrip_random-512]": 40,
    "tests/test_bench.py::test_vf_dma_line_rate_one_queue": 38,
    "tests/test_eswitch.py::test_eswitch[default-test_registers]": 33,
    "tests/test_eswitch.py::test_eswitch[vf8_w256-test_shaper_window]": 32,
    "tests/test_vf_dma.py::test_vf_dma_directed[w256]": 30,
    "tests/test_eswitch.py::test_eswitch[default-test_shaper_window]": 29,
    "tests/test_axis_fast.py": 26,
    "tests/test_hdl_bus.py::test_hdl_bus_matches_responder[512-1]": 25,
}


def expected_seconds(nodeid: str) -> int:
    """The listed duration of the longest matching prefix, 0 for a test not listed."""
    best = max((p for p in LONG_TESTS if nodeid.startswith(p)), key=len, default=None)
    return 0 if best is None else LONG_TESTS[best]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # sort() is stable: the tests not listed keep their collection order after the long ones.
    items.sort(key=lambda item: -expected_seconds(item.nodeid))
