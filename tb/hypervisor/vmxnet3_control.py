"""What the emulated vmxnet3 device (tb/hypervisor/vmxnet3_device.py) hands to the
hypervisor and takes from it: command results, typed control requests and the
policy that decides them, NPA's hooks, the TX backend, and the RX filters the
policy allowed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

from tb.shell_model.vmxnet3_defs import ETH_ALEN, PluginConfDesc, RxMode

if TYPE_CHECKING:
    from tb.hypervisor.vmxnet3_device import Vmxnet3Device

BROADCAST = b"\xff" * ETH_ALEN


class DeviceResult(IntEnum):
    """What a CMD read returns after a command (vmxnet3 only says 0 = success)."""

    OK = 0
    NOT_READY = 1  # no valid DriverShared address, or not activated
    DENIED = 2  # the hypervisor's policy refused the request
    BAD_REQUEST = 3  # the request in DriverShared does not decode
    BAD_SHARED_ADDR = 0x10  # DriverShared not inside guest memory
    BAD_MAGIC = 0x11
    BAD_VERSION = 0x12  # VRRS/UVRS not selected, or not in driverInfo's supported sets
    BAD_QUEUE_DESC = 0x13  # queueDescPA misaligned, too short or outside guest memory
    BAD_DRIVER_DATA = 0x14  # ddPA/ddLen outside guest memory
    QUEUE_COUNT = 0x15  # the model serves exactly 1 TX and 1 RX queue
    BAD_MTU = 0x16
    BAD_INTR_CONF = 0x17
    RING_GEOMETRY = 0x18  # check_ring: size not a multiple of 32 / too big, base not 512-aligned
    RING_ADDR = 0x19  # a ring outside guest memory
    UNKNOWN = 0xFFFFFFFF  # unknown command (also NPA commands with no hooks)


# -- what the device hands to the hypervisor --------------------------------------------------


@dataclass(frozen=True)
class RxModeRequest:
    mode: RxMode


@dataclass(frozen=True)
class MacFiltersRequest:
    macs: tuple[bytes, ...]


@dataclass(frozen=True)
class VlanFiltersRequest:
    vlans: frozenset[int]  # empty = no VLAN filtering


@dataclass(frozen=True)
class MacAddressRequest:
    mac: bytes


@dataclass(frozen=True)
class MtuRequest:
    """The MTU in DriverShared's MiscConf at an ACTIVATE_DEV that changes it."""

    mtu: int


ControlRequest = (
    RxModeRequest | MacFiltersRequest | VlanFiltersRequest | MacAddressRequest | MtuRequest
)


@dataclass(frozen=True)
class ControlOutcome:
    request: ControlRequest
    allowed: bool


class ControlPolicy(Protocol):
    """The hypervisor's decision on a guest control request: True = allow."""

    def __call__(self, request: ControlRequest) -> bool: ...


def allow_all(request: ControlRequest) -> bool:
    return True


class NpaHooks(Protocol):
    """The hypervisor's side of NPA's three commands; each returns the CMD result."""

    def stop_emulation(self, device: Vmxnet3Device) -> int: ...
    def load_plugin(self, device: Vmxnet3Device, conf: PluginConfDesc) -> int: ...
    def activate_vf(self, device: Vmxnet3Device) -> int: ...


class Vmxnet3Backend(Protocol):
    """Where the device's TX frames go (e.g. the PF's queue of the simulated NIC)."""

    def transmit(self, frame: bytes, vlan_tci: int | None) -> None: ...


IrqCallback = Callable[[int], None]


@dataclass
class FilterState:
    """The RX filters the policy allowed (reset values: nothing passes until UPDATE_RX_MODE)."""

    rx_mode: RxMode = field(default_factory=lambda: RxMode(0))
    mac_filters: tuple[bytes, ...] = ()
    vlans: frozenset[int] = field(default_factory=frozenset)

    def accepts(self, dst: bytes, mac: bytes, vlan_tci: int | None) -> bool:
        if self.rx_mode & RxMode.PROMISC:
            return True
        vid = 0 if vlan_tci is None else vlan_tci & 0xFFF
        if self.vlans and vid not in self.vlans:
            return False
        if dst == BROADCAST:
            return bool(self.rx_mode & RxMode.BCAST)
        if dst[0] & 1:
            return bool(self.rx_mode & RxMode.ALL_MULTI) or bool(
                self.rx_mode & RxMode.MCAST and dst in self.mac_filters
            )
        return dst == mac and bool(self.rx_mode & RxMode.UCAST)
