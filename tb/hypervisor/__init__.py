"""The hypervisor actor: VMs, guest-physical memory, VF assignment confined by the IOMMU."""

from tb.hypervisor.guest_memory import GuestMemory, GuestMemoryError
from tb.hypervisor.hypervisor import (
    FlrCallable,
    Hypervisor,
    HypervisorError,
    NoSuchVmError,
    SriovState,
    VfAbsentError,
    VfAlreadyAssignedError,
    VfDomainInUseError,
    VfNotAssignedError,
    VfNotEnabledError,
    VfResetError,
    Vm,
    VmExistsError,
    VmSizeError,
)

__all__ = [
    "FlrCallable",
    "GuestMemory",
    "GuestMemoryError",
    "Hypervisor",
    "HypervisorError",
    "NoSuchVmError",
    "SriovState",
    "VfAbsentError",
    "VfAlreadyAssignedError",
    "VfDomainInUseError",
    "VfNotAssignedError",
    "VfNotEnabledError",
    "VfResetError",
    "Vm",
    "VmExistsError",
    "VmSizeError",
]
