"""An NPA VM on the host (tb/hypervisor/npa.py) and the hypervisor's callbacks for it:
the port group's security policy, the gate that decides and applies trapped control
requests, NPA's three commands, the emulated device's vswitch backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tb.hypervisor.hypervisor import Vm
from tb.hypervisor.vmxnet3_control import (
    ControlRequest,
    DeviceResult,
    MacAddressRequest,
    MacFiltersRequest,
    MtuRequest,
    RxModeRequest,
    VlanFiltersRequest,
)
from tb.hypervisor.vmxnet3_device import Vmxnet3Device
from tb.hypervisor.vswitch import VswitchPort
from tb.ref.eswitch_model import NUM_MC, NUM_VLAN
from tb.ref.mailbox import format_mac, is_multicast
from tb.shell_model.npa_shell import NpaShell
from tb.shell_model.shell import Vmxnet3Shell
from tb.shell_model.vmxnet3_defs import PluginConfDesc, RxMode
from tb.shell_model.vmxnet3_driver import Vmxnet3Driver
from tb.shell_model.vmxnet3_shared import DriverShared

if TYPE_CHECKING:
    from tb.hypervisor.npa import NpaHost

MTU_FRAME_OVERHEAD = 18  # max frame = MTU + Ethernet header + a tag (vmxnet3's count)


@dataclass(frozen=True)
class SecurityPolicy:
    """A VM's port-group security settings, as ESXi names them (default: Reject)."""

    mac_changes: bool = False
    promiscuous: bool = False
    allowed_vlans: frozenset[int] = frozenset({0})
    # The port group's VLAN ID (0: none). The VM's frames carry it on the wire and
    # the guest never sees it: the vswitch adds and removes it while emulated, the
    # VF's port VLAN (ip link ... vf N vlan) once on the VF. The guest may not tag.
    port_vlan: int = 0
    # The port group's MTU: a VM may run a smaller one, not a larger one. What the
    # hypervisor lets through (vswitch port, VF's PORT_MAX_LEN) is the approved MTU
    # plus 18 bytes (Ethernet header and a tag, as vmxnet3 counts its max frame).
    max_mtu: int = 1500


@dataclass(frozen=True)
class ControlEvent:
    """One trapped control request and what the hypervisor did with it."""

    t_ns: int
    vm: str
    op: str
    detail: str
    allowed: bool
    reason: str


@dataclass
class NpaVm:
    """A VM on this host and everything its one interface is made of."""

    vm: Vm
    mac: str
    policy: SecurityPolicy
    device: Vmxnet3Device
    driver: Vmxnet3Driver
    rings: Vmxnet3Shell
    shell: NpaShell
    port: VswitchPort | None = None
    vf: int | None = None
    pending_image: bytes | None = None
    vf_port_rx0: int = 0  # the VF's switch port RX_FRAMES when its plugin started

    @property
    def max_frame(self) -> int:
        """The longest frame the hypervisor lets through for this VM (no tag counted)."""
        mtu = self.device.approved_mtu
        return MTU_FRAME_OVERHEAD + (self.policy.max_mtu if mtu is None else mtu)

    @property
    def name(self) -> str:
        return self.vm.name


class ControlGate:
    """Decides trapped control requests by policy and applies the allowed ones."""

    def __init__(self, host: NpaHost, name: str) -> None:
        self.host = host
        self.name = name

    def __call__(self, request: ControlRequest) -> bool:
        v = self.host.vms[self.name]
        allowed, op, detail, reason = self._decide(v, request)
        self.host.log_control(v.name, op, detail, allowed, reason)
        if allowed and isinstance(request, MacAddressRequest):
            new = format_mac(request.mac)
            if new != v.mac:
                self.host.schedule(self.host.apply_mac(v, new))
        elif allowed and isinstance(request, MtuRequest):
            self.host.schedule(self.host.apply_mtu(v, request.mtu))
        elif allowed and v.vf is not None:  # RX mode, multicast or VLAN filters
            self.host.schedule(self.host.apply_rx_filters(v))
        return allowed

    @staticmethod
    def _decide(v: NpaVm, req: ControlRequest) -> tuple[bool, str, str, str]:
        p = v.policy
        if isinstance(req, MacAddressRequest):
            mac = format_mac(req.mac)
            if mac == v.mac:
                return True, "set_mac", mac, "unchanged"
            if not p.mac_changes:
                return False, "set_mac", mac, "MAC address changes rejected by the VM's policy"
            return True, "set_mac", mac, "MAC address changes accepted by the VM's policy"
        if isinstance(req, MtuRequest):
            if req.mtu > p.max_mtu:
                return False, "mtu", str(req.mtu), f"above the port group's MTU {p.max_mtu}"
            return True, "mtu", str(req.mtu), "allowed"
        if isinstance(req, RxModeRequest):
            detail = str(req.mode)
            if req.mode & RxMode.PROMISC and not p.promiscuous:
                return False, "rx_mode", detail, "promiscuous mode rejected by the VM's policy"
            return True, "rx_mode", detail, "allowed"
        # A VM may move to a VF at any time: it gets no more filters than a VF holds.
        if isinstance(req, MacFiltersRequest):
            detail = f"{len(req.macs)} addresses"
            if len(req.macs) > NUM_MC:
                return False, "multicast", detail, f"more than the {NUM_MC} a VF's filter holds"
            if any(not is_multicast(m) for m in req.macs):
                return False, "multicast", detail, "an entry is not a multicast address"
            return True, "multicast", detail, "allowed"
        if isinstance(req, VlanFiltersRequest):
            extra = sorted(req.vlans - p.allowed_vlans)
            detail = ",".join(map(str, sorted(req.vlans))) or "none"
            if extra:
                return False, "vlan_filter", detail, f"VLANs {extra} not allowed for this VM"
            if p.port_vlan and req.vlans - {0}:
                return False, "vlan_filter", detail, "the port group's VLAN is set: no guest VLANs"
            if len(req.vlans - {0}) > NUM_VLAN:
                return False, "vlan_filter", detail, f"more than the {NUM_VLAN} a VF's filter holds"
            return True, "vlan_filter", detail, "allowed"
        return False, type(req).__name__, "", "unknown request"


class NpaHooks:
    """The hypervisor's side of NPA's three commands for one VM."""

    def __init__(self, host: NpaHost, name: str) -> None:
        self.host = host
        self.name = name

    def stop_emulation(self, device: Vmxnet3Device) -> int:
        v = self.host.vms[self.name]
        return DeviceResult.OK if v.vf is not None else DeviceResult.NOT_READY

    def load_plugin(self, device: Vmxnet3Device, conf: PluginConfDesc) -> int:
        """Write the vendor's image at confPA and its length in confLen."""
        v = self.host.vms[self.name]
        image = v.pending_image
        if image is None or v.vf is None:
            return DeviceResult.NOT_READY
        if len(image) > conf.conf_len or not 0 < conf.conf_pa < v.vm.mem_size - len(image):
            return DeviceResult.BAD_REQUEST
        v.vm.memory.write(conf.conf_pa, image)
        off = DriverShared.offset_of("dev_read.plugin_conf_desc")
        written = PluginConfDesc(conf.conf_ver, len(image), conf.conf_pa)
        v.vm.memory.write(device.dsa + off, written.pack())
        return DeviceResult.OK

    def activate_vf(self, device: Vmxnet3Device) -> int:
        v = self.host.vms[self.name]
        return DeviceResult.OK if v.vf is not None else DeviceResult.NOT_READY


class PortBackend:
    """The emulated device's backend: its vswitch port."""

    def __init__(self, host: NpaHost, name: str) -> None:
        self.host = host
        self.name = name

    def transmit(self, frame: bytes, vlan_tci: int | None) -> None:
        v = self.host.vms[self.name]
        if v.port is None:
            self.host.stats_drop(v.name, "tx_no_vswitch_port")
            return
        self.host.vswitch.transmit(v.port, frame, vlan_tci)
