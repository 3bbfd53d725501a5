"""The pure-Python rig of the vmxnet3 tests (tests/test_vmxnet3_*.py): guest memory,
the emulated device, the shell and the guest driver, with recording backend,
policy and NPA hooks; the frames the tests send; the header's error codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from tb.host.memory import HostMemory
from tb.hypervisor import GuestMemory
from tb.hypervisor.vmxnet3_control import ControlRequest, RxModeRequest
from tb.hypervisor.vmxnet3_device import Vmxnet3Device
from tb.shell_model import Vmxnet3Shell
from tb.shell_model.vmxnet3_defs import Cmd, PluginConfDesc, RxMode
from tb.shell_model.vmxnet3_driver import DriverConfig, Vmxnet3Driver
from tb.shell_model.vmxnet3_shared import DriverShared

MAC = bytes.fromhex("005056000001")
PEER = bytes.fromhex("005056000002")
GUEST_MEM = 4 << 20
# VMXNET3_ERR_* and VMXNET3_ECR_* as the header writes them
ERR_NOEOP, ERR_BIG_PKT, ERR_SMALL_BUF, ERR_TXD_INVALID = (
    0x80000000,
    0x80000002,
    0x80000004,
    0x80000007,
)
ECR_RQERR, ECR_TQERR, ECR_LINK = 1, 2, 4
TX_VEC, RX_VEC, EVENT_VEC = 0, 1, 2


# -- a rig: guest memory, device, shell, driver -------------------------------------------


@dataclass
class RecordingBackend:
    frames: list[tuple[bytes, int | None]] = field(default_factory=list)

    def transmit(self, frame: bytes, vlan_tci: int | None) -> None:
        self.frames.append((frame, vlan_tci))


@dataclass
class RecordingPolicy:
    deny: tuple[type, ...] = ()
    seen: list[ControlRequest] = field(default_factory=list)

    def __call__(self, request: ControlRequest) -> bool:
        self.seen.append(request)
        return not isinstance(request, self.deny) and not (
            isinstance(request, RxModeRequest) and request.mode & RxMode.PROMISC
        )


@dataclass
class RecordingHooks:
    result: int = 0
    calls: list[tuple[str, object]] = field(default_factory=list)

    def stop_emulation(self, device: Vmxnet3Device) -> int:
        self.calls.append(("stop_emulation", device))
        return self.result

    def load_plugin(self, device: Vmxnet3Device, conf: PluginConfDesc) -> int:
        self.calls.append(("load_plugin", conf))
        return self.result

    def activate_vf(self, device: Vmxnet3Device) -> int:
        self.calls.append(("activate_vf", device))
        return self.result


@dataclass
class Rig:
    mem: GuestMemory
    dev: Vmxnet3Device
    shell: Vmxnet3Shell
    drv: Vmxnet3Driver
    backend: RecordingBackend
    policy: RecordingPolicy
    irqs: list[int]

    def new_driver(self, **shell_kw: int) -> Vmxnet3Driver:
        self.shell = Vmxnet3Shell(self.mem, **shell_kw)
        self.drv = Vmxnet3Driver(self.mem, self.shell, self.dev, self.drv.config)
        return self.drv


def make_rig(
    *,
    hooks: RecordingHooks | None = None,
    deny: tuple[type, ...] = (),
    auto_mask: bool = False,
    tx_size: int = 32,
    rx_size: int = 32,
    rx_buf_len: int = 2048,
) -> Rig:
    host = HostMemory(2 * GUEST_MEM)
    mem = GuestMemory(host, GUEST_MEM, GUEST_MEM)
    backend, policy, irqs = RecordingBackend(), RecordingPolicy(deny), []
    dev = Vmxnet3Device(mem, MAC, backend, policy=policy, hooks=hooks, irq=irqs.append)
    shell = Vmxnet3Shell(mem, tx_size=tx_size, rx_size=rx_size, rx_buf_len=rx_buf_len)
    config = DriverConfig(
        num_intrs=3, tx_intr=TX_VEC, rx_intr=RX_VEC, event_intr=EVENT_VEC, auto_mask=auto_mask
    )
    return Rig(mem, dev, shell, Vmxnet3Driver(mem, shell, dev, config), backend, policy, irqs)


def udp_frame(seq: int, size: int = 128, dst: bytes = PEER) -> bytes:
    pkt = (
        Ether(src=MAC.hex(":"), dst=dst.hex(":"))
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / UDP(sport=1000 + seq, dport=9)
    )
    pad = max(0, size - len(pkt))
    return bytes(pkt / bytes((seq + i) & 0xFF for i in range(pad)))


def to_guest(seq: int, size: int = 128) -> bytes:
    pkt = Ether(src=PEER.hex(":"), dst=MAC.hex(":")) / IP() / UDP(sport=seq, dport=7)
    return bytes(pkt / bytes((seq * 7 + i) & 0xFF for i in range(max(0, size - len(pkt)))))


def activate_with(
    rig: Rig,
    shared: DriverShared | None = None,
    txc: dict[str, int] | None = None,
    rxc: dict[str, object] | None = None,
) -> int:
    """Activate with the shared area / queue configuration altered; the command's result."""
    rig.drv.probe()
    txq, rxq = rig.drv.queue_descs()
    txq = replace(txq, conf=replace(txq.conf, **(txc or {})))
    rxq = replace(rxq, conf=replace(rxq.conf, **(rxc or {})))
    rig.drv.write_shared(shared, (txq, rxq))
    return rig.drv.command(Cmd.ACTIVATE_DEV)
