"""Hypervisor model: VM memory, VF assignment through the IOMMU, isolation, teardown order."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tb.host.iommu import FaultKind, Iommu, IommuFault
from tb.host.memory import HostMemory
from tb.host.mmio import FunctionBar
from tb.hypervisor import (
    GuestMemory,
    GuestMemoryError,
    Hypervisor,
    NoSuchVmError,
    VfAbsentError,
    VfAlreadyAssignedError,
    VfDomainInUseError,
    VfNotAssignedError,
    VfNotEnabledError,
    VfResetError,
    VmExistsError,
    VmSizeError,
)
from tb.hypervisor.vswitch import PfPortVswitch
from tb.pf_driver.driver import PfDriver, PfDriverError
from tb.ref.mailbox import XcastMode
from tb.ref.regmap import PF_ID_MAGIC, Pf

TOTAL_VFS = 4
MiB = 1 << 20


class FakePfRegisters:
    """The PF's register space as a plain register file, PF_ID as the RTL reports it.

    PfDriver.probe/enable_sriov read PF_ID and read back NUM_VFS; any other
    register reads what was last written (0 after reset).
    """

    def __init__(self, total_vfs: int) -> None:
        self.regs = {int(Pf.PF_ID): (PF_ID_MAGIC << 16) | total_vfs}

    async def read32(self, func: int, addr: int) -> int:
        assert func == 0
        return self.regs.get(addr, 0)

    async def write32(self, func: int, addr: int, value: int) -> None:
        assert func == 0 and addr != Pf.PF_ID
        self.regs[addr] = value


def make_host(num_vfs: int = 2) -> tuple[HostMemory, Iommu, PfDriver, Hypervisor]:
    mem = HostMemory(8 * MiB)
    iommu = Iommu()
    pf = PfDriver(FunctionBar(FakePfRegisters(TOTAL_VFS), 0))  # type: ignore[arg-type]

    async def bring_up() -> None:
        await pf.probe()
        await pf.enable_sriov(num_vfs)

    asyncio.run(bring_up())
    return mem, iommu, pf, Hypervisor(mem, iommu, pf)


def test_guest_memory_round_trip_lands_at_host_base_plus_gpa() -> None:
    mem, _, _, hv = make_host()
    vm = hv.create_vm("a", 1 * MiB)
    assert vm.host_base % 4096 == 0
    vm.memory.write(0x2345, b"guest bytes")
    assert mem.read(vm.host_base + 0x2345, 11) == b"guest bytes"
    mem.write(vm.host_base + 0x10, b"\xaa\xbb\xcc\xdd")
    assert vm.memory.read_u32(0x10) == 0xDDCCBBAA
    vm.memory.write_u32(0x20, 0x01020304)
    assert mem.read(vm.host_base + 0x20, 4) == b"\x04\x03\x02\x01"


def test_guest_alloc_is_zeroed_inside_the_vm_and_never_at_gpa_zero() -> None:
    mem, _, _, hv = make_host()
    vm = hv.create_vm("a", 64 * 1024)
    mem.fill(vm.host_base, vm.mem_size, 0x5A)
    gpas = [vm.memory.alloc(4096, 4096) for _ in range(15)]
    assert min(gpas) >= 4096 and max(gpas) + 4096 <= vm.mem_size
    assert len(set(gpas)) == 15
    assert vm.memory.read(gpas[3], 4096) == bytes(4096)
    with pytest.raises(MemoryError):
        vm.memory.alloc(4096, 4096)  # the 16th page is GPA 0, reserved
    vm.memory.free(gpas[0])
    assert vm.memory.alloc(4096, 4096) == gpas[0]


def test_guest_access_outside_the_vm_is_refused() -> None:
    _, _, _, hv = make_host()
    vm = hv.create_vm("a", 64 * 1024)
    with pytest.raises(GuestMemoryError, match="outside guest memory"):
        vm.memory.read(vm.mem_size - 2, 4)
    with pytest.raises(GuestMemoryError):
        vm.memory.write(-1, b"x")


def test_guest_memory_at_a_high_base_is_addressed_there_only() -> None:
    """A view whose addresses start at a high base (a device's IOVAs): allocations,
    reads, scatters and views land at host base + (address - base); below the base
    and past its end is refused."""
    host = HostMemory(1 * MiB)
    base = 0xAAAA_AAAA_A800_0000
    view = GuestMemory(host, 0x4000, 64 * 1024, gpa_base=base)
    a = view.alloc(256, 64)
    assert base + 4096 <= a < base + 64 * 1024  # the bottom page is reserved
    view.write(a, b"high")
    assert host.read(0x4000 + (a - base), 4) == b"high"
    view.write_each(np.array([a + 64, a + 128], dtype=np.uint64), b"xy")
    assert host.read(0x4000 + (a - base) + 64, 66) == b"xy" + bytes(62) + b"xy"
    assert bytes(view.view(a, 4)) == b"high"
    for bad in (base - 4, base + 64 * 1024 - 2):
        with pytest.raises(GuestMemoryError, match="outside guest memory"):
            view.read(bad, 4)
    with pytest.raises(GuestMemoryError, match="outside 64 bits"):
        GuestMemory(host, 0, 4096, gpa_base=(1 << 64) - 2048)


def test_assigned_vf_translates_gpa_to_its_vm_region_only() -> None:
    _, iommu, _, hv = make_host()
    vm = hv.create_vm("a", 1 * MiB)
    func = hv.assign_vf("a", 0)
    assert func == 1 and hv.owner_of(0) == "a" and vm.vfs == {0}
    assert iommu.translate(func, 0x3000, 0x2000, True) == [(vm.host_base + 0x3000, 0x2000)]
    assert iommu.domain(func).mapped_pages == vm.mem_size // 4096
    with pytest.raises(IommuFault) as exc:
        iommu.translate(func, vm.mem_size - 8, 16, False)
    assert exc.value.record.kind is FaultKind.UNMAPPED
    assert exc.value.record.iova == vm.mem_size


def test_vm_a_vf_cannot_reach_vm_b_memory() -> None:
    mem, iommu, _, hv = make_host()
    a = hv.create_vm("a", 256 * 1024)
    b = hv.create_vm("b", 256 * 1024)
    fa = hv.assign_vf("a", 0)
    fb = hv.assign_vf("b", 1)
    assert (fa, fb) == (1, 2)
    b_lo, b_hi = b.host_base, b.host_base + b.mem_size
    a_lo, a_hi = a.host_base, a.host_base + a.mem_size
    # Every page VF1 could name, up to the top of host memory, either faults or lands in A.
    faults_before = len(iommu.faults_of(fa))
    reached = 0
    for iova in range(0, mem.size, 4096):
        try:
            segs = iommu.translate(fa, iova, 64, write=True)
        except IommuFault as fault:
            assert fault.record.kind is FaultKind.UNMAPPED
            continue
        for pa, n in segs:
            assert a_lo <= pa and pa + n <= a_hi
            assert not (pa < b_hi and b_lo < pa + n)
            reached += 1
    assert reached == a.mem_size // 4096
    assert len(iommu.faults_of(fa)) - faults_before == mem.size // 4096 - reached
    # B's own host-physical address used as an IOVA by A's VF: refused and logged.
    with pytest.raises(IommuFault):
        iommu.translate(fa, b.host_base, 64, write=False)
    assert iommu.faults_of(fa)[-1].iova == b.host_base
    assert iommu.faults_of(fb) == []
    # The same GPA from the two VFs reaches the two different VMs.
    assert iommu.translate(fa, 0x1000, 4, False) == [(a.host_base + 0x1000, 4)]
    assert iommu.translate(fb, 0x1000, 4, False) == [(b.host_base + 0x1000, 4)]


def test_assignment_refusals_are_specific_and_counted() -> None:
    _, iommu, _, hv = make_host(num_vfs=2)
    hv.create_vm("a", 64 * 1024)
    hv.create_vm("b", 64 * 1024)
    with pytest.raises(VfAbsentError, match=f"VF {TOTAL_VFS} does not exist"):
        hv.assign_vf("a", TOTAL_VFS)  # VFs are 0 .. TOTAL_VFS - 1, as for ip link
    with pytest.raises(VfAbsentError):
        hv.assign_vf("a", -1)
    with pytest.raises(VfNotEnabledError, match="VF 2 is not enabled"):
        hv.assign_vf("a", 2)
    hv.assign_vf("a", 0)
    with pytest.raises(VfAlreadyAssignedError, match="already assigned to VM 'a'"):
        hv.assign_vf("b", 0)
    with pytest.raises(VfAlreadyAssignedError):
        hv.assign_vf("a", 0)
    iommu.create_domain(2, passthrough=True)  # e.g. the testbench's host-side identity domain
    with pytest.raises(VfDomainInUseError):
        hv.assign_vf("b", 1)  # VF 1 is function 2
    assert iommu.domain(2).passthrough  # the foreign domain was left alone
    with pytest.raises(NoSuchVmError):
        hv.assign_vf("c", 1)
    with pytest.raises(VmExistsError):
        hv.create_vm("a", 4096)
    with pytest.raises(VmSizeError):
        hv.create_vm("d", 4097)
    assert hv.refusals == {
        "vf_absent": 2,
        "vf_not_enabled": 1,
        "vf_already_assigned": 2,
        "vf_domain_in_use": 1,
        "no_such_vm": 1,
        "vm_exists": 1,
        "bad_vm_size": 1,
    }
    assert hv.owner_of(0) == "a" and hv.owner_of(1) is None


def test_teardown_resets_vf_before_unmapping_then_frees_memory() -> None:
    mem, iommu, _, hv = make_host()
    free_before = mem.allocator.free_bytes
    vm = hv.create_vm("a", 128 * 1024)
    hv.assign_vf("a", 0)
    hv.assign_vf("a", 1)
    events: list[tuple[str, int, bool]] = []

    async def flr(func: int) -> None:
        # DMA is stopped while the mappings still exist ...
        events.append(("flr_start", func, iommu.has_domain(func)))
        await asyncio.sleep(0)
        assert iommu.translate(func, 0x1000, 4, True) == [(vm.host_base + 0x1000, 4)]
        events.append(("flr_done", func, iommu.has_domain(func)))

    asyncio.run(hv.destroy_vm("a", flr))
    assert events == [
        ("flr_start", 1, True),
        ("flr_done", 1, True),
        ("flr_start", 2, True),
        ("flr_done", 2, True),
    ]
    # ... and only afterwards do they go.
    for func in (1, 2):
        assert not iommu.has_domain(func)
        with pytest.raises(IommuFault) as exc:
            iommu.translate(func, 0x1000, 4, True)
        assert exc.value.record.kind is FaultKind.NO_DOMAIN
    assert mem.allocator.free_bytes == free_before
    assert hv.vms == () and hv.owner_of(0) is None
    # The freed VFs can be given to a new VM.
    hv.create_vm("b", 64 * 1024)
    assert hv.assign_vf("b", 0) == 1


def test_failed_flr_keeps_the_vf_mapped_and_assigned() -> None:
    _, iommu, _, hv = make_host()
    vm = hv.create_vm("a", 64 * 1024)
    hv.assign_vf("a", 0)

    async def broken_flr(func: int) -> None:
        raise TimeoutError(f"function {func} still busy")

    with pytest.raises(VfResetError, match="still busy"):
        asyncio.run(hv.release_vf("a", 0, broken_flr))
    assert hv.owner_of(0) == "a" and vm.vfs == {0}
    assert iommu.translate(1, 0, 4, False) == [(vm.host_base, 4)]
    with pytest.raises(VfResetError):
        asyncio.run(hv.destroy_vm("a", broken_flr))
    assert hv.vm("a") is vm  # not half torn down
    with pytest.raises(VfNotAssignedError):
        asyncio.run(hv.release_vf("a", 1))
    assert hv.refusals["vf_reset_failed"] == 2 and hv.refusals["vf_not_assigned"] == 1
    asyncio.run(hv.destroy_vm("a"))  # without an FLR callable: unmapped directly
    assert not iommu.has_domain(1)


# -- the VF knobs a hypervisor sets for the VM that owns the VF (tb/hypervisor/npa.py) ----

ESW_POL = 0x10000 + 0x2000 + 0x80  # switch port 1 (VF 0): docs/ARCHITECTURE.md §3.2
PORT_MAX_LEN_OFF, SMAC_OFF = 0x14, 0x20


def knobs() -> tuple[PfDriver, dict[int, int]]:
    _, _, pf, _ = make_host()
    return pf, pf.bar.mmio.regs  # type: ignore[attr-defined]


def test_vf_max_frame_written_and_out_of_range_refused() -> None:
    pf, regs = knobs()
    asyncio.run(pf.set_vf_max_frame(0, 3018))
    assert regs[ESW_POL + PORT_MAX_LEN_OFF] == 3018
    for bad in (59, 9019):
        with pytest.raises(PfDriverError, match="max frame"):
            asyncio.run(pf.set_vf_max_frame(0, bad))
    assert regs[ESW_POL + PORT_MAX_LEN_OFF] == 3018  # a refused value writes nothing


def test_vf_rx_filters_limits_and_clamp() -> None:
    pf, _ = knobs()
    group = bytes.fromhex("01005e000001")
    with pytest.raises(PfDriverError, match="multicast addresses exceed"):
        asyncio.run(pf.set_vf_rx_filters(0, XcastMode.MULTI, [group] * 5, []))
    with pytest.raises(PfDriverError, match="not a multicast address"):
        asyncio.run(pf.set_vf_rx_filters(0, XcastMode.MULTI, [bytes(6)], []))
    with pytest.raises(PfDriverError, match="VLANs exceed"):
        asyncio.run(pf.set_vf_rx_filters(0, XcastMode.MULTI, [], range(1, 10)))
    got = asyncio.run(pf.set_vf_rx_filters(0, XcastMode.ALLMULTI, [group], [0, 7]))
    assert got == XcastMode.MULTI  # untrusted VF
    assert pf.vfs[1].guest.vlans == [7] and pf.vfs[1].guest.mcs == [group]


def test_mac_change_keeps_the_old_mac_in_its_slot_until_retired() -> None:
    pf, regs = knobs()
    smac_hi = [ESW_POL + SMAC_OFF + 8 * i + 4 for i in range(4)]

    def slots() -> list[int]:  # the MAC's low two bytes of each valid slot
        return [regs.get(a, 0) & 0xFFFF for a in smac_hi if regs.get(a, 0) >> 31]

    asyncio.run(pf.set_vf_mac(0, "02:00:00:00:00:01"))
    assert asyncio.run(pf.change_vf_mac(0, "04:00:00:00:00:02")) == "02:00:00:00:00:01"
    assert slots() == [0x0200, 0x0400]  # old MAC kept slot 0, the new one took slot 1
    for i in range(3, 5):
        asyncio.run(pf.change_vf_mac(0, f"0{2 * i}:00:00:00:00:0{i}"))
    with pytest.raises(PfDriverError, match="already retiring"):
        asyncio.run(pf.change_vf_mac(0, "0c:00:00:00:00:09"))
    asyncio.run(pf.retire_vf_mac(0, "02:00:00:00:00:01"))
    assert 0x0200 not in slots()
    with pytest.raises(PfDriverError, match="is not retiring"):
        asyncio.run(pf.retire_vf_mac(0, "02:00:00:00:00:01"))


def test_vswitch_refuses_a_port_vlan_out_of_range() -> None:
    mem, _, pf, _ = make_host()
    vsw = PfPortVswitch(pf.bar, mem, pf)
    with pytest.raises(ValueError, match="port VLAN 4095 outside"):
        asyncio.run(vsw.attach("vm", "02:00:00:00:00:09", lambda f: None, pvid=4095))
    assert not vsw.ports and not pf._mac_slots  # nothing half-done
