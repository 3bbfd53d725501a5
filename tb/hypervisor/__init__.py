"""The hypervisor actor: VMs, guest-physical memory, VF assignment confined by the IOMMU,
the emulated vmxnet3 device."""

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
from tb.hypervisor.vmxnet3_activation import Refusal
from tb.hypervisor.vmxnet3_control import (
    ControlOutcome,
    ControlPolicy,
    ControlRequest,
    DeviceResult,
    MacAddressRequest,
    MacFiltersRequest,
    MtuRequest,
    NpaHooks,
    RxModeRequest,
    VlanFiltersRequest,
    Vmxnet3Backend,
)
from tb.hypervisor.vmxnet3_counters import DeviceCounters
from tb.hypervisor.vmxnet3_device import Vmxnet3Device

__all__ = [
    "ControlOutcome",
    "ControlPolicy",
    "ControlRequest",
    "DeviceCounters",
    "DeviceResult",
    "FlrCallable",
    "GuestMemory",
    "GuestMemoryError",
    "Hypervisor",
    "HypervisorError",
    "MacAddressRequest",
    "MacFiltersRequest",
    "MtuRequest",
    "NoSuchVmError",
    "NpaHooks",
    "Refusal",
    "RxModeRequest",
    "SriovState",
    "VfAbsentError",
    "VfAlreadyAssignedError",
    "VfDomainInUseError",
    "VfNotAssignedError",
    "VfNotEnabledError",
    "VfResetError",
    "VlanFiltersRequest",
    "Vm",
    "VmExistsError",
    "VmSizeError",
    "Vmxnet3Backend",
    "Vmxnet3Device",
]
