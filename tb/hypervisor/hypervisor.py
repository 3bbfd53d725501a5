"""The hypervisor: VMs, their memory, and VF assignment through the IOMMU.

Models the host-side virtualization layer of the project (the ESXi / KVM
role): it carves a VM's guest-physical memory out of host memory, and when it
assigns an SR-IOV virtual function to a VM it gives that function an IOMMU
domain that maps exactly the VM's guest-physical range ``[0, size)`` onto the
VM's host region, nothing else. A VF can then DMA only into its own VM.

Teardown order matters: a VF's DMA must be stopped (function-level reset)
before its mappings go, so :meth:`Hypervisor.release_vf` awaits the FLR
callable it is given, and only then unmaps and removes the domain.

VF numbering is the PF driver's and ``ip link set DEV vf N``'s: VF ``n``
(0-based) is PCIe function ``n + 1``; function 0 is the PF.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NoReturn, Protocol

from tb.host.iommu import PAGE_SIZE, Iommu, Perm
from tb.host.memory import HostMemory
from tb.hypervisor.guest_memory import GuestMemory

FlrCallable = Callable[[int], Awaitable[None]]  # awaited with the VF's function number


class SriovState(Protocol):
    """What the hypervisor reads from the PF driver: how many VFs exist and are enabled."""

    total_vfs: int
    num_vfs: int


class HypervisorError(RuntimeError):
    """Base of every request the hypervisor refuses."""

    reason = "error"


class VmExistsError(HypervisorError):
    reason = "vm_exists"


class NoSuchVmError(HypervisorError):
    reason = "no_such_vm"


class VmSizeError(HypervisorError):
    reason = "bad_vm_size"


class VfAbsentError(HypervisorError):
    """The VF number is beyond the device's TotalVFs."""

    reason = "vf_absent"


class VfNotEnabledError(HypervisorError):
    """The VF exists but SR-IOV has not enabled it (beyond NumVFs)."""

    reason = "vf_not_enabled"


class VfAlreadyAssignedError(HypervisorError):
    reason = "vf_already_assigned"


class VfDomainInUseError(HypervisorError):
    """The VF's function already has an IOMMU domain the hypervisor did not create."""

    reason = "vf_domain_in_use"


class VfNotAssignedError(HypervisorError):
    reason = "vf_not_assigned"


class VfResetError(HypervisorError):
    """The FLR before unmapping failed; the VF stays assigned and mapped."""

    reason = "vf_reset_failed"


@dataclass
class Vm:
    """A virtual machine: its name, guest-physical memory and the VFs assigned to it."""

    name: str
    mem_size: int
    host_base: int  # host-physical base of the region backing GPA 0
    memory: GuestMemory
    vfs: set[int] = field(default_factory=set)


class Hypervisor:
    """Creates and destroys VMs, assigns and releases VFs, confines each VF with the IOMMU."""

    def __init__(self, host: HostMemory, iommu: Iommu, sriov: SriovState) -> None:
        self.host = host
        self.iommu = iommu
        self.sriov = sriov
        self._vms: dict[str, Vm] = {}
        self._owner: dict[int, str] = {}  # VF number -> VM name
        self.refusals: Counter[str] = Counter()

    # -- VMs -------------------------------------------------------------------------------

    def create_vm(self, name: str, mem_size: int) -> Vm:
        """A VM with ``mem_size`` bytes (whole 4 KiB pages) of guest-physical memory."""
        if name in self._vms:
            self._refuse(VmExistsError(f"VM {name!r} already exists"))
        if mem_size <= 0 or mem_size % PAGE_SIZE:
            self._refuse(
                VmSizeError(f"VM {name!r}: memory size {mem_size:#x} is not whole 4 KiB pages")
            )
        base = self.host.alloc(mem_size, PAGE_SIZE)
        vm = Vm(name, mem_size, base, GuestMemory(self.host, base, mem_size))
        self._vms[name] = vm
        return vm

    def vm(self, name: str) -> Vm:
        vm = self._vms.get(name)
        if vm is None:
            self._refuse(NoSuchVmError(f"no VM named {name!r}"))
        return vm

    @property
    def vms(self) -> tuple[Vm, ...]:
        return tuple(self._vms.values())

    async def destroy_vm(self, name: str, flr: FlrCallable | None = None) -> None:
        """Release every VF of the VM (FLR first when given), then free its memory."""
        vm = self.vm(name)
        for vf in sorted(vm.vfs):
            await self.release_vf(name, vf, flr)
        self.host.free(vm.host_base)
        del self._vms[name]

    # -- migration -------------------------------------------------------------------------

    def immigrate_vm(self, vm: Vm) -> Vm:
        """Take in VM ``vm`` of another host (live migration's stop-and-copy): a region of
        this host's memory, the VM's bytes copied into it, and its ``GuestMemory``
        rebound there, so every model holding it follows. The source keeps its region
        until it lets the VM go (``emigrate_vm``). The VM arrives without VFs."""
        if vm.name in self._vms:
            self._refuse(VmExistsError(f"VM {vm.name!r} already exists"))
        if vm.vfs:
            self._refuse(VfAlreadyAssignedError(f"VM {vm.name!r} still holds VFs {sorted(vm.vfs)}"))
        base = self.host.alloc(vm.mem_size, PAGE_SIZE, zero=False)
        src = vm.memory.host
        self.host.write(base, src.view(vm.host_base, vm.mem_size))
        vm.memory.rebind(self.host, base)
        here = Vm(vm.name, vm.mem_size, base, vm.memory)
        self._vms[vm.name] = here
        return here

    def emigrate_vm(self, name: str) -> None:
        """VM ``name`` left this host (it runs elsewhere now): free its region and forget it.
        It must hold no VF (released first, so no DMA can reach the freed region)."""
        vm = self.vm(name)
        if vm.vfs:
            self._refuse(VfAlreadyAssignedError(f"VM {name!r} still holds VFs {sorted(vm.vfs)}"))
        self.host.free(vm.host_base)
        del self._vms[name]

    # -- VFs -------------------------------------------------------------------------------

    @staticmethod
    def vf_function(vf: int) -> int:
        """PCIe function number of VF ``vf`` (VF n is function n + 1; the PF is function 0)."""
        return vf + 1

    def owner_of(self, vf: int) -> str | None:
        return self._owner.get(vf)

    def assign_vf(self, name: str, vf: int) -> int:
        """Give VF ``vf`` to VM ``name``: an IOMMU domain mapping GPA [0, size) only.

        Returns the VF's function number. Refuses an absent, disabled or taken VF.
        """
        vm = self.vm(name)
        if not 0 <= vf < self.sriov.total_vfs:
            self._refuse(
                VfAbsentError(f"VF {vf} does not exist (device has {self.sriov.total_vfs} VFs)")
            )
        if vf >= self.sriov.num_vfs:
            self._refuse(
                VfNotEnabledError(
                    f"VF {vf} is not enabled (SR-IOV enabled {self.sriov.num_vfs} VFs)"
                )
            )
        owner = self._owner.get(vf)
        if owner is not None:
            self._refuse(VfAlreadyAssignedError(f"VF {vf} is already assigned to VM {owner!r}"))
        func = self.vf_function(vf)
        if self.iommu.has_domain(func):
            self._refuse(
                VfDomainInUseError(
                    f"VF {vf} (function {func}) already has an IOMMU domain "
                    "the hypervisor did not create"
                )
            )
        self.iommu.create_domain(func)
        self.iommu.map(func, 0, vm.host_base, vm.mem_size, Perm.RW)
        self._owner[vf] = name
        vm.vfs.add(vf)
        return func

    async def release_vf(self, name: str, vf: int, flr: FlrCallable | None = None) -> None:
        """Take VF ``vf`` back from VM ``name``: FLR (awaited), then unmap and drop the domain.

        If the FLR fails the VF stays assigned with its mappings: its DMA may not
        have stopped, so its VM's memory must not be handed to anyone else.
        """
        vm = self.vm(name)
        if vf not in vm.vfs:
            self._refuse(VfNotAssignedError(f"VF {vf} is not assigned to VM {name!r}"))
        func = self.vf_function(vf)
        if flr is not None:
            try:
                await flr(func)
            except Exception as exc:
                self._refuse(VfResetError(f"FLR of VF {vf} failed, VF kept mapped: {exc}"))
        self.iommu.unmap(func, 0, vm.mem_size)
        self.iommu.remove_domain(func)
        vm.vfs.discard(vf)
        del self._owner[vf]

    def _refuse(self, error: HypervisorError) -> NoReturn:
        self.refusals[error.reason] += 1
        raise error
