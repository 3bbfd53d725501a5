"""ACTIVATE_DEV of the emulated vmxnet3 device: DriverShared and the queue descriptor
table read from guest memory and checked; what was accepted (:class:`Activation`)
or why not (:class:`Refusal`, result codes in docs/VMXNET3_DEVICE.md)."""

from __future__ import annotations

from dataclasses import dataclass

from tb.hypervisor.guest_memory import GuestMemory
from tb.hypervisor.vmxnet3_control import DeviceResult
from tb.shell_model.rings import RingConf
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    MAX_INTRS,
    MAX_MTU,
    MIN_MTU,
    QUEUE_DESC_ALIGN,
    REV1_MAGIC,
    RingGeometryError,
    RingKind,
    check_ring,
)
from tb.shell_model.vmxnet3_shared import DriverShared, RxQueueDesc, TxQueueDesc

TX_DATA_DESC_DEFAULT = 128  # VMXNET3_HDR_COPY_SIZE: data ring entry size when 0 is given


@dataclass(frozen=True)
class Refusal:
    """Why the device refused an activation or stopped a queue."""

    result: int
    detail: str
    queue: str | None = None  # "tx" / "rx"
    error: int = 0  # VMXNET3_ERR_* written to the queue's status, where one applies


class Refused(Exception):
    """An activation check failed."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


@dataclass(frozen=True)
class Activation:
    """What ACTIVATE_DEV accepted."""

    dsa: int
    txq_gpa: int
    rxq_gpa: int
    tx_vec: int
    rx_vec: int
    event_vec: int
    auto_mask: bool
    mtu: int
    ring_conf: RingConf


def inside(mem: GuestMemory, gpa: int, length: int) -> bool:
    """``length`` bytes at ``gpa`` lie in guest memory (address 0 never does)."""
    return gpa > 0 and length >= 0 and gpa + length <= mem.size


def validate_activation(
    mem: GuestMemory, dsa: int, rev_selected: int, upt_selected: int
) -> Activation:
    """ACTIVATE_DEV's checks of DriverShared at ``dsa`` and the queue descriptors, with
    the VRRS/UVRS selections; what was accepted, or :class:`Refused`."""

    def refuse(result: DeviceResult, detail: str, queue: str | None = None) -> Refused:
        return Refused(Refusal(int(result), detail, queue))

    if not (rev_selected and upt_selected):
        raise refuse(DeviceResult.BAD_VERSION, "VRRS/UVRS not selected")
    if not inside(mem, dsa, DriverShared.SIZE):
        raise refuse(DeviceResult.BAD_SHARED_ADDR, f"DriverShared at {dsa:#x} outside memory")
    shared = DriverShared.unpack(mem.read(dsa, DriverShared.SIZE))
    if shared.magic != REV1_MAGIC:
        raise refuse(DeviceResult.BAD_MAGIC, f"magic {shared.magic:#x}")
    misc = shared.dev_read.misc
    info = misc.driver_info
    if not (info.vmxnet3_rev_spt & rev_selected and info.upt_ver_spt & upt_selected):
        raise refuse(DeviceResult.BAD_VERSION, "driverInfo does not support the selection")
    if misc.num_tx_queues != 1 or misc.num_rx_queues != 1:
        raise refuse(
            DeviceResult.QUEUE_COUNT,
            f"{misc.num_tx_queues} TX / {misc.num_rx_queues} RX queues (1 / 1 supported)",
        )
    need = TxQueueDesc.SIZE + RxQueueDesc.SIZE
    qpa = misc.queue_desc_pa
    if qpa % QUEUE_DESC_ALIGN or misc.queue_desc_len < need or not inside(mem, qpa, need):
        raise refuse(DeviceResult.BAD_QUEUE_DESC, f"queueDescPA {qpa:#x}")
    if misc.dd_len and not inside(mem, misc.dd_pa, misc.dd_len):
        raise refuse(DeviceResult.BAD_DRIVER_DATA, f"ddPA {misc.dd_pa:#x}+{misc.dd_len}")
    if not MIN_MTU <= misc.mtu <= MAX_MTU:
        raise refuse(DeviceResult.BAD_MTU, f"MTU {misc.mtu} outside {MIN_MTU}..{MAX_MTU}")
    intr = shared.dev_read.intr_conf
    if not 1 <= intr.num_intrs <= MAX_INTRS or intr.event_intr_idx >= intr.num_intrs:
        raise refuse(DeviceResult.BAD_INTR_CONF, f"{intr.num_intrs} interrupts")
    txq_gpa, rxq_gpa = qpa, qpa + TxQueueDesc.SIZE
    tx = TxQueueDesc.unpack(mem.read(txq_gpa, TxQueueDesc.SIZE)).conf
    rx = RxQueueDesc.unpack(mem.read(rxq_gpa, RxQueueDesc.SIZE)).conf
    for queue, idx in (("tx", tx.intr_idx), ("rx", rx.intr_idx)):
        if idx >= intr.num_intrs:
            raise refuse(DeviceResult.BAD_INTR_CONF, f"{queue} intrIdx {idx}", queue)
    tx_rings = [
        (RingKind.TX, tx.tx_ring_size, tx.tx_ring_base_pa),
        (RingKind.TX_COMP, tx.comp_ring_size, tx.comp_ring_base_pa),
    ]
    rx_rings = [
        (RingKind.RX, rx.rx_ring_size[0], rx.rx_ring_base_pa[0]),
        (RingKind.RX_COMP, rx.comp_ring_size, rx.comp_ring_base_pa),
    ]
    if rx.rx_ring_size[1] or rx.rx_ring_base_pa[1]:
        rx_rings.append((RingKind.RX2, rx.rx_ring_size[1], rx.rx_ring_base_pa[1]))
    for queue, rings in (("tx", tx_rings), ("rx", rx_rings)):
        for kind, size, base in rings:
            try:
                check_ring(kind, size, base)
            except RingGeometryError as exc:
                raise refuse(DeviceResult.RING_GEOMETRY, str(exc), queue) from None
            if not inside(mem, base, size * DESC_BYTES):
                raise refuse(DeviceResult.RING_ADDR, f"{kind.name} ring {base:#x}", queue)
    if tx.comp_ring_size < tx.tx_ring_size:
        raise refuse(DeviceResult.RING_GEOMETRY, "TX completion ring too small", "tx")
    if rx.comp_ring_size < rx.rx_ring_size[0] + rx.rx_ring_size[1]:
        raise refuse(DeviceResult.RING_GEOMETRY, "RX completion ring too small", "rx")
    data_len = tx.data_ring_size * (tx.tx_data_ring_desc_size or TX_DATA_DESC_DEFAULT)
    if tx.data_ring_size and not inside(mem, tx.data_ring_base_pa, data_len):
        raise refuse(DeviceResult.RING_ADDR, "TX data ring", "tx")
    conf = RingConf(
        tx_ring=tx.tx_ring_base_pa,
        tx_size=tx.tx_ring_size,
        tx_comp=tx.comp_ring_base_pa,
        tx_comp_size=tx.comp_ring_size,
        rx_ring=rx.rx_ring_base_pa[0],
        rx_size=rx.rx_ring_size[0],
        rx_comp=rx.comp_ring_base_pa,
        rx_comp_size=rx.comp_ring_size,
        rx2_ring=rx.rx_ring_base_pa[1],
        rx2_size=rx.rx_ring_size[1],
    )
    return Activation(
        dsa=dsa,
        txq_gpa=txq_gpa,
        rxq_gpa=rxq_gpa,
        tx_vec=tx.intr_idx,
        rx_vec=rx.intr_idx,
        event_vec=intr.event_intr_idx,
        auto_mask=intr.auto_mask,
        mtu=misc.mtu,
        ring_conf=conf,
    )
