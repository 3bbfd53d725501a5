"""Host model: memory, allocator and IOMMU in pure Python; the DMA responder in simulation.

The responder's cocotb tests are in ``tests/cocotb_host_model.py``; they run on
``sim/tops/axi_loop_top.sv`` (AxiMaster -> pass-through -> AxiDmaResponder).
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from sim.host_bench import TOP as TRAFFIC_TOP
from sim.runner import SimTop, run
from sim.toolchain import REPO_ROOT
from tb.host.axi import AxiBurst, burst_layout
from tb.host.iommu import PAGE_SIZE, FaultKind, Iommu, IommuFault, Perm
from tb.host.memory import HostMemory, MemoryAccessError, OutOfMemoryError, RegionAllocator

# -- memory ------------------------------------------------------------------------------------


def test_memory_read_write_roundtrip() -> None:
    mem = HostMemory(1 << 16)
    rng = random.Random(1)
    shadow = bytearray(1 << 16)
    for _ in range(200):
        addr = rng.randrange(0, (1 << 16) - 300)
        data = rng.randbytes(rng.randint(0, 300))
        mem.write(addr, data)
        shadow[addr : addr + len(data)] = data
    assert mem.read(0, 1 << 16) == bytes(shadow)
    mem.write_u64(0x100, 0x1122334455667788)
    assert mem.read(0x100, 8) == bytes.fromhex("8877665544332211")
    assert mem.read_u32(0x104) == 0x11223344
    assert mem.read_u16(0x100) == 0x7788


def test_memory_bounds_and_views() -> None:
    mem = HostMemory(4096)
    with pytest.raises(MemoryAccessError, match="outside host memory"):
        mem.read(4090, 8)
    with pytest.raises(MemoryAccessError):
        mem.write(-1, b"x")
    v = mem.view(16, 4)
    v[:] = [1, 2, 3, 4]
    assert mem.read(16, 4) == b"\x01\x02\x03\x04"
    mem.fill(16, 2, 0xFF)
    assert mem.read(16, 4) == b"\xff\xff\x03\x04"
    mem.write(32, np.array([0x11223344, 0x55667788], dtype="<u4"))  # any dtype: its bytes
    assert mem.read(32, 8) == bytes.fromhex("4433221188776655")


def test_memory_masked_write() -> None:
    mem = HostMemory(4096)
    mem.write(0, bytes(range(8)))
    mask = np.array([1, 0, 1, 0, 0, 0, 0, 1], bool)
    mem.write_masked(0, b"\xaa" * 8, mask)
    assert mem.read(0, 8) == bytes([0xAA, 1, 0xAA, 3, 4, 5, 6, 0xAA])


def test_allocator_alignment_free_and_coalesce() -> None:
    a = RegionAllocator(0x1000, 0x10000)
    x = a.alloc(100, 64)
    y = a.alloc(4096, 4096)
    z = a.alloc(1)
    assert x % 64 == 0 and y % 4096 == 0 and z % 64 == 0
    regions = sorted([(x, 100), (y, 4096), (z, 1)])
    for (s0, n0), (s1, _) in itertools.pairwise(regions):
        assert s0 + n0 <= s1, "allocations overlap"
    assert a.owner(y + 5) is not None and a.owner(y + 5).addr == y
    total = a.free_bytes
    a.free(y)
    a.free(x)
    a.free(z)
    assert a.free_bytes == total + 100 + 4096 + 1 == 0x10000 - 0x1000
    assert a.alloc(0xF000, 4096) == 0x1000  # holes coalesced back into one
    with pytest.raises(OutOfMemoryError, match="no free region"):
        a.alloc(1)
    with pytest.raises(ValueError, match="not a live allocation"):
        a.free(0x1234)
    with pytest.raises(ValueError, match="power of two"):
        a.alloc(8, 3)


def test_memory_alloc_skips_low_page_and_zeroes() -> None:
    mem = HostMemory(1 << 20)
    mem.array[:] = 0x5A
    addr = mem.alloc(256)
    assert addr >= PAGE_SIZE
    assert mem.read(addr, 256) == bytes(256)


def test_write_watch_fires_on_overlap_only() -> None:
    mem = HostMemory(1 << 16)
    w = mem.watch(0x2000, 0x2100)
    mem.write(0x1000, b"x" * 16)
    assert not w.pending and w.writes == 0
    mem.write(0x20F8, b"y" * 16)  # straddles the end of the range
    assert w.pending and w.writes == 1
    assert w.last is not None and (w.last.addr, w.last.size) == (0x20F8, 16)
    mem.view(0x2000, 4)[:] = 1  # views bypass watches
    assert w.writes == 1
    w.close()
    mem.write(0x2000, b"z")
    assert w.writes == 1
    with pytest.raises(ValueError, match="bad watch range"):
        mem.watch(5, 5)


# -- IOMMU -------------------------------------------------------------------------------------


def test_iommu_translation_merges_contiguous_pages() -> None:
    mmu = Iommu()
    mmu.create_domain(1)
    mmu.map(1, 0x10000, 0x80000, 2 * PAGE_SIZE, Perm.RW)
    mmu.map(1, 0x12000, 0x40000, PAGE_SIZE, Perm.R)
    segs = mmu.translate(1, 0x10FF0, 0x1020, write=False)
    assert segs == [(0x80FF0, 0x1010), (0x40000, 0x10)]
    assert mmu.translate(1, 0x10010, 0x20, write=True) == [(0x80010, 0x20)]
    assert mmu.translate(1, 0x10000, 0, write=True) == []
    assert mmu.faults == []


def test_iommu_faults_are_raised_and_logged() -> None:
    mmu = Iommu()
    mmu.create_domain(2)
    mmu.map(2, 0x0, 0x5000, PAGE_SIZE, Perm.R)
    with pytest.raises(IommuFault) as exc:
        mmu.translate(2, 0xF00, 0x200, write=False)  # runs into the unmapped page 1
    assert exc.value.record.kind is FaultKind.UNMAPPED and exc.value.record.iova == 0x1000
    with pytest.raises(IommuFault, match="permission"):
        mmu.translate(2, 0x10, 4, write=True)
    with pytest.raises(IommuFault, match="no_domain"):
        mmu.translate(7, 0x10, 4, write=False)
    kinds = [(f.func, f.kind, f.write) for f in mmu.faults]
    assert kinds == [
        (2, FaultKind.UNMAPPED, False),
        (2, FaultKind.PERMISSION, True),
        (7, FaultKind.NO_DOMAIN, False),
    ]
    assert len(mmu.faults_of(2)) == 2
    mmu.unmap(2, 0, PAGE_SIZE)
    with pytest.raises(IommuFault, match="unmapped"):
        mmu.translate(2, 0x10, 4, write=False)


def test_iommu_passthrough_domain_and_errors() -> None:
    mmu = Iommu()
    pf = mmu.create_domain(0, passthrough=True, limit=1 << 20)
    assert mmu.translate(0, 0x1234, 0x3000, write=True) == [(0x1234, 0x3000)]
    with pytest.raises(IommuFault, match="unmapped"):
        mmu.translate(0, (1 << 20) - 4, 8, write=False)
    with pytest.raises(ValueError, match="passthrough"):
        pf.map(0, 0, PAGE_SIZE)
    with pytest.raises(ValueError, match="already has"):
        mmu.create_domain(0)
    dom = mmu.create_domain(3)
    with pytest.raises(ValueError, match="whole 4 KiB pages"):
        dom.map(0x10, 0x1000, PAGE_SIZE)


# -- burst layout ------------------------------------------------------------------------------


def test_burst_layout_incr_full_width_and_narrow() -> None:
    lay = burst_layout(0x1010, 4, 6, AxiBurst.INCR, 64)
    assert lay.fast and (lay.lo, lay.hi) == (0x1000, 0x1100)
    narrow = burst_layout(0x1003, 3, 2, AxiBurst.INCR, 16)  # 4-byte beats on a 16-byte bus
    assert not narrow.fast
    assert (narrow.lo, narrow.hi) == (0x1000, 0x100C)
    assert narrow.beats == ((3, 3, 1), (4, 4, 4), (8, 8, 4))


def test_burst_layout_wrap_and_fixed() -> None:
    wrap = burst_layout(0x1038, 4, 4, AxiBurst.WRAP, 64)  # 16-byte beats wrap in 64 bytes
    assert (wrap.lo, wrap.hi) == (0x1000, 0x1040)
    assert [b[0] for b in wrap.beats] == [0x30, 0x00, 0x10, 0x20]
    fixed = burst_layout(0x2004, 3, 2, AxiBurst.FIXED, 8)
    assert [b[1] for b in fixed.beats] == [4, 4, 4]


# -- DMA responder in simulation ----------------------------------------------------------------

LOOP_TOP = REPO_ROOT / "sim" / "tops" / "axi_loop_top.sv"
RESPONDER_CASES = [
    "roundtrip_random",
    "iommu_faults",
    "out_of_order_across_ids",
    "read_latency_is_respected",
    "write_watch_wakes_driver",
    "reset_drops_bursts_in_flight",
]


@pytest.mark.parametrize("data_w", [512, 64])
@pytest.mark.parametrize("case", RESPONDER_CASES)
def test_dma_responder(case: str, data_w: int) -> None:
    top = SimTop(
        toplevel="axi_loop_top",
        parameters={"DATA_W": data_w, "ADDR_W": 64, "ID_W": 8, "USER_W": 8},
        extra_sources=(LOOP_TOP,),
    )
    tests, failures = run(top, "tests.cocotb_host_model", case, seed=data_w)
    assert tests > 0, f"cocotb ran no test for {case}"
    assert failures == 0, f"{failures} of {tests} cocotb tests failed for {case}"


def test_host_bench_traffic_smoke() -> None:
    """The speed benchmark's SV master and its checks keep working (small job, responder)."""
    env = {
        "HOST_BENCH_MODEL": "responder",
        "HOST_BENCH_READS": "70",
        "HOST_BENCH_WRITES": "70",
        "HOST_BENCH_LEN": "3",
        "HOST_BENCH_MAX_OUT": "8",
        "HOST_BENCH_LATENCY": "40",
        "HOST_BENCH_IDLE": "1000",
    }
    tests, failures = run(TRAFFIC_TOP, "sim.host_bench_cocotb", "traffic", env=env)
    assert tests == 1, f"expected 1 cocotb test, ran {tests}"
    assert failures == 0
