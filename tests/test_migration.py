"""Pieces of tb/hypervisor/migration.py without a simulator: QEMU's announce schedule, the
RARP it sends (parsed by scapy), and a VM's memory moving between two hosts' hypervisors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from fractions import Fraction

import pytest
from scapy.layers.l2 import ARP, Ether

from tb.host.iommu import Iommu
from tb.host.memory import HostMemory
from tb.hypervisor import Hypervisor, VfAlreadyAssignedError, VmExistsError
from tb.hypervisor.migration import AnnounceSchedule, rarp_frame
from tb.hypervisor.migration_model import (
    GIB,
    MIB,
    DirtyPages,
    PrecopyParams,
    PrecopyRound,
    plan_precopy,
)

MS = 1_000_000


def test_qemu_announce_schedule() -> None:
    # net/announce.c: a send, then initial + (rounds - round - 1) * step after each one.
    assert AnnounceSchedule().offsets_ns() == [0, 50 * MS, 200 * MS, 450 * MS, 800 * MS]
    # Steps above max are capped: 50, 550 (not 650), 550 (not 1250).
    capped = AnnounceSchedule(initial_ns=50 * MS, rounds=4, step_ns=600 * MS, max_ns=550 * MS)
    assert capped.offsets_ns() == [0, 50 * MS, 600 * MS, 1150 * MS]
    assert AnnounceSchedule(rounds=1).offsets_ns() == [0]
    with pytest.raises(ValueError):
        AnnounceSchedule(rounds=0)


def test_rarp_frame_is_qemus() -> None:
    mac = "02:00:00:00:0a:01"
    raw = rarp_frame(mac)
    assert len(raw) == 60
    pkt = Ether(raw)
    assert (pkt.dst, pkt.src, pkt.type) == ("ff:ff:ff:ff:ff:ff", mac, 0x8035)
    arp = ARP(bytes(pkt.payload))
    assert (arp.hwtype, arp.ptype, arp.hwlen, arp.plen, arp.op) == (1, 0x0800, 6, 4, 3)
    assert (arp.hwsrc, arp.psrc, arp.hwdst, arp.pdst) == (mac, "0.0.0.0", mac, "0.0.0.0")
    with pytest.raises(ValueError):
        rarp_frame("02:00:00:00:0a")


@dataclass
class Sriov:
    total_vfs: int = 2
    num_vfs: int = 2


def test_vm_memory_moves_between_hosts() -> None:
    a = Hypervisor(HostMemory(1 << 20), Iommu(), Sriov())
    b = Hypervisor(HostMemory(1 << 20), Iommu(), Sriov())
    b.host.alloc(3 * 4096)  # so the VM lands at another host address on B
    vm = a.create_vm("vm", 64 * 1024)
    mem = vm.memory
    gpa = mem.alloc(300)
    mem.write(gpa, bytes(range(256)) + b"tail")
    a.assign_vf("vm", 0)
    with pytest.raises(VfAlreadyAssignedError):
        b.immigrate_vm(vm)  # a VM still holding a VF cannot leave
    asyncio.run(a.release_vf("vm", 0))
    here = b.immigrate_vm(vm)
    assert here.memory is mem and mem.host is b.host and mem.host_base == here.host_base
    assert here.host_base != vm.host_base
    assert mem.read(gpa, 260) == bytes(range(256)) + b"tail"  # through B's memory now
    assert b.host.read(here.host_base + gpa, 4) == bytes(range(4))
    assert mem.owner(gpa) is not None  # the guest's own allocations came along
    free_before = a.host.allocator.free_bytes
    a.emigrate_vm("vm")
    assert a.vms == () and a.host.allocator.free_bytes == free_before + 64 * 1024
    with pytest.raises(VmExistsError):
        b.immigrate_vm(vm)


def test_precopy_converges_after_round_zero() -> None:
    # 1 GiB over 1 GB/s (8 Gbit/s): round 0 takes 1.073741824 s, in which 100 MB/s dirty
    # 107,374,182.4 bytes: 26,215 pages. That fits 0.3 s (300 MB): stop-and-copy.
    p = PrecopyParams(
        vm_memory_bytes=GIB, dirty_rate_bytes_per_s=100_000_000, link_bandwidth_bps=8 * 10**9
    )
    plan = plan_precopy(p)
    assert plan.rounds == (PrecopyRound(0, GIB, Fraction(GIB, 10**9), 26_215 * 4096),)
    assert plan.converged
    assert plan.stop_copy_bytes == 26_215 * 4096 + MIB == 108_425_216
    assert plan.downtime_s == Fraction(108_425_216, 10**9)


def test_precopy_two_rounds() -> None:
    # 500 MB/s: round 0 leaves 536,870,912 bytes (over 300 MB), round 1 leaves 268,435,456.
    p = PrecopyParams(
        vm_memory_bytes=GIB, dirty_rate_bytes_per_s=500_000_000, link_bandwidth_bps=8 * 10**9
    )
    plan = plan_precopy(p)
    assert [(r.bytes_sent, r.dirtied_bytes) for r in plan.rounds] == [
        (GIB, GIB // 2),
        (GIB // 2, GIB // 4),
    ]
    assert plan.converged and plan.stop_copy_bytes == GIB // 4 + MIB
    assert plan.downtime_s == Fraction(269_484_032, 10**9)
    assert plan.precopy_s == Fraction(GIB + GIB // 2, 10**9)
    assert plan.total_bytes == GIB + GIB // 2 + GIB // 4 + MIB


def test_precopy_that_never_converges_stops_after_max_rounds() -> None:
    # Dirtying faster than the link: every round resends all memory.
    p = PrecopyParams(
        vm_memory_bytes=GIB,
        dirty_rate_bytes_per_s=2 * 10**9,
        link_bandwidth_bps=8 * 10**9,
        max_rounds=3,
    )
    plan = plan_precopy(p)
    assert [r.bytes_sent for r in plan.rounds] == [GIB] * 3 and not plan.converged
    assert plan.downtime_s == Fraction(GIB + MIB, 10**9)
    for bad in (
        dict(vm_memory_bytes=GIB + 1),
        dict(link_bandwidth_bps=12),
        dict(max_rounds=0),
        dict(downtime_limit_s=Fraction(0)),
    ):
        with pytest.raises(ValueError):
            PrecopyParams(**bad)


def test_dirty_pages_count_changed_content() -> None:
    hv = Hypervisor(HostMemory(1 << 20), Iommu(), Sriov())
    mem = hv.create_vm("vm", 16 * 4096).memory
    mem.write(5 * 4096, b"\x01" * 10)
    dirty = DirtyPages(mem)
    mem.write(3 * 4096 + 100, b"x")
    mem.write(7 * 4096 - 2, b"abcd")  # pages 6 and 7
    mem.write(5 * 4096, b"\x01" * 10)  # the same bytes again: not a change
    assert dirty.dirty().tolist() == [3, 6, 7]
    assert dirty.mark() == 3
    assert dirty.mark() == 0


def test_precopy_with_a_writable_working_set() -> None:
    # Round 0 as in the first case (26,215 pages) plus a 100-page working set: 26,315
    # pages, still under 300 MB; the stop-and-copy sends them and the device state.
    p = PrecopyParams(
        vm_memory_bytes=GIB,
        dirty_rate_bytes_per_s=100_000_000,
        link_bandwidth_bps=8 * 10**9,
        working_set_bytes=100 * 4096,
    )
    plan = plan_precopy(p)
    assert [r.dirtied_bytes for r in plan.rounds] == [26_315 * 4096]
    assert plan.stop_copy_bytes == 26_315 * 4096 + MIB
    # A working set larger than the link carries within the limit never converges.
    big = PrecopyParams(
        vm_memory_bytes=GIB, link_bandwidth_bps=8 * 10**9, working_set_bytes=400_003_072
    )
    assert not plan_precopy(big).converged
    with pytest.raises(ValueError, match="working set"):
        PrecopyParams(working_set_bytes=-1)


def test_a_mode_without_roll_back_cannot_be_built() -> None:
    """Every migration mode must say how it returns to the source's VF (abort, roll back):
    LiveMigration declares it abstract, so a mode that forgets it is refused at once."""
    from tb.hypervisor.migration import LiveMigration

    class NoRollBack(LiveMigration):
        pass

    with pytest.raises(TypeError, match="_back_to_vf"):
        NoRollBack("vm", None, None, 0)  # type: ignore[arg-type]
