"""Pieces of tb/hypervisor/migration.py without a simulator: QEMU's announce schedule, the
RARP it sends (parsed by scapy), and a VM's memory moving between two hosts' hypervisors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from scapy.layers.l2 import ARP, Ether

from tb.host.iommu import Iommu
from tb.host.memory import HostMemory
from tb.hypervisor import Hypervisor, VfAlreadyAssignedError, VmExistsError
from tb.hypervisor.migration import AnnounceSchedule, rarp_frame

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
