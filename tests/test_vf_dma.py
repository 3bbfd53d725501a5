"""pytest wrapper: block tests of vf_dma, ring formats A and B (tests/cocotb_vf_dma_*.py)."""

import pytest

from sim.runner import SimTop, run

CONFIGS = {
    "q1": {"NUM_QUEUES": 1},
    "q2": {"NUM_QUEUES": 2},
    "w256": {"NUM_QUEUES": 2, "DATA_W": 256, "TX_FIFO_BEATS": 1024},
    # ring format B (vmxnet3/UPT rings, docs/ARCHITECTURE.md §4b)
    "b_q2": {"NUM_QUEUES": 2, "RING_FMT": 1},
    "b_w256": {"NUM_QUEUES": 2, "DATA_W": 256, "TX_FIFO_BEATS": 1024, "RING_FMT": 1},
}
FORMAT_A = ["q1", "q2", "w256"]


# block tests of ring format A, one cocotb module per feature (bench: tests/vf_dma_block.py):
# tests each module holds (a test that needs two queues or 64-byte beats passes without
# running where the engine has not)
BLOCK_TESTS = {
    "frames": 7,  # tests/cocotb_vf_dma_frames.py: TX/RX frames, jumbo, steering, two queues
    "rate": 4,  # tests/cocotb_vf_dma_rate.py: TX, RX and duplex throughput
    "cpl": 3,  # tests/cocotb_vf_dma_cpl.py: completion coalescing and hold, interrupts
    "close": 1,  # tests/cocotb_vf_dma_close.py: the drivers' close() with frames in flight
}


@pytest.mark.parametrize("feature", list(BLOCK_TESTS))
@pytest.mark.parametrize("cfg", FORMAT_A)
def test_vf_dma(cfg, feature):
    top = SimTop("vf_dma", CONFIGS[cfg])
    tests, fails = run(top, f"tests.cocotb_vf_dma_{feature}", run_name=f"vf_dma-{feature}-{cfg}")
    assert tests == BLOCK_TESTS[feature]
    assert fails == 0


# constrained-random regression (pyuvm, tests/cocotb_vf_dma_uvm.py): 10,000 frames per seed,
# on ring format A and on format B (vmxnet3's rings, ARCHITECTURE §4b: drivers
# tb/vf_driver/upt_queues.py, every completion checked with the vmxnet3 codec)
RANDOM_RUNS = [("q1", 11), ("q2", 12), ("w256", 13), ("b_q2", 14), ("b_w256", 15)]
RANDOM_FRAMES = 10_000
# Two runs put the function's rings and buffers at IOVAs with high bits set (the IOMMU
# maps them to host memory at 0): every bit above the 64 MiB of memory is 1 in one
# pattern or the other, so 64-bit address handling is checked bit by bit.
IOVA_BASES = {"q2": 0x5555_5555_5400_0000, "b_w256": 0xAAAA_AAAA_A800_0000}


@pytest.mark.parametrize(("cfg", "seed"), RANDOM_RUNS)
def test_vf_dma_random(cfg, seed, tmp_path):
    top = SimTop("vf_dma", CONFIGS[cfg])
    cov = tmp_path / "coverage.txt"
    env = {
        "VF_DMA_SEED": str(seed),
        "VF_DMA_FRAMES": str(RANDOM_FRAMES),
        "VF_DMA_COVERAGE": str(cov),
        "VF_DMA_RING_FMT": "B" if CONFIGS[cfg].get("RING_FMT") else "A",
        "VF_DMA_IOVA_BASE": hex(IOVA_BASES.get(cfg, 0)),
    }
    tests, fails = run(
        top, "tests.cocotb_vf_dma_uvm", "VfDmaRandomTest", run_name=f"vf_dma-random-{cfg}", env=env
    )
    assert tests == 1
    assert fails == 0
    print(cov.read_text())


# directed error, queue reset and FLR tests (pyuvm, shared pieces in
# tests/vf_dma_directed_base.py): the error cases (tests/cocotb_vf_dma_errors.py) on format A,
# queue reset and FLR (tests/cocotb_vf_dma_reset.py) on both formats; format B's refusals are
# in tests/cocotb_vf_dma_fmt_b_errors.py
DIRECTED = {
    "errors": ["VfDmaErrorTest"],
    "reset": ["VfDmaQueueResetTest", "VfDmaFlrTest"],
}
DIRECTED_RUNS = [
    ("q2", "errors"),
    ("q2", "reset"),
    ("w256", "errors"),
    ("w256", "reset"),
    ("b_q2", "reset"),
]


@pytest.mark.parametrize(("cfg", "feature"), DIRECTED_RUNS)
def test_vf_dma_directed(cfg, feature):
    top = SimTop("vf_dma", CONFIGS[cfg])
    fmt_b = bool(CONFIGS[cfg].get("RING_FMT"))
    cases = DIRECTED[feature]
    tests, fails = run(
        top,
        f"tests.cocotb_vf_dma_{feature}",
        cases,
        run_name=f"vf_dma-{feature}-{cfg}",
        env={"VF_DMA_RING_FMT": "B" if fmt_b else "A"},
    )
    assert tests == len(cases)
    assert fails == 0


# format B directed tests (bench: tests/vf_dma_fmt_b_bench.py), tests per module: identity and
# UPT page, TX, RX over both RX rings; every format-B refusal with its vmxnet3 code; queue state
# save and restore
FMT_B_TESTS = {"frames": 3, "errors": 1, "state": 1}


@pytest.mark.parametrize("feature", list(FMT_B_TESTS))
@pytest.mark.parametrize("cfg", ["b_q2", "b_w256"])
def test_vf_dma_fmt_b(cfg, feature):
    top = SimTop("vf_dma", CONFIGS[cfg])
    tests, fails = run(
        top, f"tests.cocotb_vf_dma_fmt_b_{feature}", run_name=f"vf_dma-fmt-{feature}-{cfg}"
    )
    assert tests == FMT_B_TESTS[feature]
    assert fails == 0
