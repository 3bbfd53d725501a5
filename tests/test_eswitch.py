"""Block test of the embedded switch: pytest builds each configuration and runs
the cocotb tests in tests/cocotb_eswitch_*.py (one module per feature: forwarding,
policy, shaper, random regression; and the line-rate checks of
sim/benches/eswitch_cocotb.py) against tb/ref/eswitch_model.

Every block test runs on the default build (2 VFs, 512-bit) and on the 8-VF
256-bit build with a small table; the 16-VF build runs the tests whose value
grows with the port count (registers of every port, broadcast to all, every port
busy at once, the random regression). Line rate needs the 512-bit datapath, so
it runs on the default build. Three builds in all keep CI time small.
"""

from __future__ import annotations

import pytest

from sim.runner import SimTop, run

CONFIGS = {
    "default": {},
    # 8 VFs on the narrow datapath with a small table (3 entries per function + 3)
    "vf8_w256": {"NUM_FUNC": 9, "DATA_W": 256, "MAC_TABLE_SIZE": 32},
    "vf16_w256": {"NUM_FUNC": 17, "DATA_W": 256},
}

FORWARDING = "tests.cocotb_eswitch_forwarding"
POLICY = "tests.cocotb_eswitch_policy"
SHAPER = "tests.cocotb_eswitch_shaper"
RANDOM = "tests.cocotb_eswitch_random"
REGWALK = "tests.cocotb_eswitch_regwalk"
LINE_RATE = "sim.benches.eswitch_cocotb"

# test -> cocotb module
BLOCK_TESTS = {
    "test_registers": FORWARDING,
    "test_unicast": FORWARDING,
    "test_broadcast": FORWARDING,
    "test_length_checks": FORWARDING,
    "test_policy": POLICY,
    "test_shaper": SHAPER,
    "test_shaper_window": SHAPER,
    "test_throughput": FORWARDING,
    "test_register_walk": REGWALK,
}
BIG_TESTS = ["test_registers", "test_broadcast", "test_throughput", "test_register_walk"]

# (config, cocotb module, test, random seed or None, frames)
CASES = [
    *((c, m, t, None, 0) for c in ("default", "vf8_w256") for t, m in BLOCK_TESTS.items()),
    *(("vf16_w256", BLOCK_TESTS[t], t, None, 0) for t in BIG_TESTS),
    ("default", LINE_RATE, "test_line_rate", None, 0),
    # random regression: >= 10,000 frames per seed, every reachable coverage bin hit
    ("default", RANDOM, "test_random", 1, 16_000),
    ("default", RANDOM, "test_random", 2, 16_000),
    ("vf8_w256", RANDOM, "test_random", 3, 10_000),
    ("vf16_w256", RANDOM, "test_random", 4, 10_000),
]


@pytest.mark.parametrize(
    ("config", "module", "testcase", "seed", "frames"),
    CASES,
    ids=[f"{c}-{t}" + (f"-seed{s}" if s is not None else "") for c, _, t, s, _ in CASES],
)
def test_eswitch(config: str, module: str, testcase: str, seed: int | None, frames: int) -> None:
    top = SimTop("eswitch", CONFIGS[config])  # VPI visibility: sim/verilator/eswitch.vlt
    env = {} if seed is None else {"ESW_SEED": str(seed), "ESW_FRAMES": str(frames)}
    name = f"{config}-{testcase}" + ("" if seed is None else f"-{seed}")
    tests, failures = run(top, module, testcase, run_name=name, env=env)
    assert tests == 1 and failures == 0
