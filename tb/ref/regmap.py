"""Register map of the NIC (docs/ARCHITECTURE.md §3): the generated register model
(``tb/ref/regs.py``, from ``rtl/regs/*.rdl``) and the helpers built on it.

Offsets are byte offsets inside a function's register space; the function
number travels separately (AXI4-Lite a*user). Every offset and field comes from
the generated model; nothing here defines a register again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from tb.ref.regs import (
    RESET,
    Esw,
    EswWindow,
    Field,
    Func,
    FuncCtrl,
    FuncId,
    FuncStatus,
    IrqCtrl,
    MacEntry,
    MacEntryCtrl,
    Pf,
    PfId,
    PfMbx,
    PfSpace,
    PortCounter,
    Queue,
    QueueStatus,
    RingCtrl,
    RingState,
    RxSteer,
    Upt,
    VfAdmin,
    VfAdminCtrl,
    VfAdminStatus,
    VfMbx,
    VfMbxCtrl,
    VfMbxInfo,
    VfSpace,
    VfStats,
)
from tb.shell_model.vmxnet3_defs import REG_STRIDE, Bar0, Err

__all__ = [
    "Esw",
    "EswWindow",
    "Field",
    "Func",
    "MacEntry",
    "Pf",
    "PfMbx",
    "PfSpace",
    "PortCounter",
    "Queue",
    "Upt",
    "VfAdmin",
    "VfMbx",
    "VfSpace",
    "VfStats",
]

FUNC_ID_MAGIC = 0x5A01


class RingFmt(StrEnum):
    """Ring format of a function's DMA engine (``vf_dma`` ``RING_FMT``): A (§4) or B (§4b)."""

    A = "A"
    B = "B"

    @property
    def identity(self) -> PciIdentity:
        return RING_A_IDENTITY if self is RingFmt.A else RING_B_IDENTITY


@dataclass(frozen=True)
class PciIdentity:
    """What ``FUNC_PCI_ID`` reads, and ``FUNC_ID[31:16]`` (the device id)."""

    vendor_id: int
    device_id: int

    @property
    def pci_id(self) -> int:
        return (self.device_id << 16) | self.vendor_id

    @classmethod
    def from_pci_id(cls, value: int) -> PciIdentity:
        """The identity a ``FUNC_PCI_ID`` read returns."""
        return cls(vendor_id=value & 0xFFFF, device_id=(value >> 16) & 0xFFFF)

    def __str__(self) -> str:
        return f"{self.vendor_id:04x}:{self.device_id:04x}"


RING_A_IDENTITY = PciIdentity(vendor_id=0x5A00, device_id=FUNC_ID_MAGIC)
RING_B_IDENTITY = PciIdentity(vendor_id=0x5B00, device_id=0x5B01)


RX_OFFSET = Queue.RXQ_BASE_LO - Queue.TXQ_BASE_LO  # RX block mirrors the TX block
RX2_OFFSET = Queue.RX2_BASE_LO - Queue.TXQ_BASE_LO  # so does format B's ring-2 block
QCTRL_ENABLE = RingCtrl.ENABLE.mask
QCTRL_RESUME = RingCtrl.RESUME.mask  # with ENABLE: start from the *_STATE registers (§4c)
QSTATE_GEN = RingState.GEN.mask
QSTATE_INDEX_MASK = RingState.INDEX.mask
QSTATE_RESET = RESET["RingState"]  # index 0, gen 1: after reset, FLR, or ENABLE without RESUME
RX_CPL_LOG2_MAX = 13  # RXQ_CPL_SIZE 5..13 (format B)
QSTATUS_ERROR = QueueStatus.ERROR.mask
QSTATUS_BUSY = QueueStatus.BUSY.mask
QSTATUS_CODE_MASK = QueueStatus.CODE.mask
FUNC_CTRL_FLR = FuncCtrl.FLR.mask
FUNC_STATUS_BUSY = FuncStatus.BUSY.mask
FUNC_STATUS_ERROR = FuncStatus.ERROR.mask  # some queue of the function is in the error state
RX_STEER_HASH = RxSteer.HASH.mask
IRQ_CTRL_MASK = IrqCtrl.MASK.mask
FUNC_ID_QUEUES_SHIFT = FuncId.QUEUES.lsb  # FUNC_ID [15:8] queue pairs, [7:0] function number


class QErr(IntEnum):
    """*Q_STATUS [7:0] error codes (ARCHITECTURE.md §3.1, nic_pkg q_err_e)."""

    NONE = 0x00
    DESC_LEN_ZERO = 0x01
    DESC_LEN_MAX = 0x02
    TOO_MANY_BUFS = 0x03
    PROD_RANGE = 0x04
    BUS_READ = 0x05
    BUS_WRITE = 0x06
    DESC_ALIGN = 0x07
    RING_SIZE = 0x08
    DESC_GEN = 0x09  # format B: a descriptor below PROD with the wrong gen
    DESC_TYPE = 0x0A  # format B: dtype / om (offloads), or a buffer type on the wrong ring
    SMALL_BUF = 0x0B  # format B: a head buffer shorter than 128 bytes


UPT_ERR_UNNAMED = 0x8000_0100  # + code: an error vmxnet3 has no name for (§4b)


def upt_error_code(err: QErr | int) -> int:
    """What ``*Q_UPT_ERROR`` reads for the queue error ``err`` (§4b; 0 when none)."""
    e = QErr(err)
    named = {
        QErr.NONE: 0,
        QErr.TOO_MANY_BUFS: Err.NOEOP,
        QErr.DESC_LEN_MAX: Err.BIG_PKT,
        QErr.DESC_TYPE: Err.DESC_NOT_SPT,
        QErr.DESC_LEN_ZERO: Err.SMALL_BUF,
        QErr.SMALL_BUF: Err.SMALL_BUF,
        QErr.DESC_GEN: Err.TXD_INVALID,
    }
    return int(named.get(e, UPT_ERR_UNNAMED + e))


def qstate(index: int, gen: int) -> int:
    """A ``*_STATE`` register value: ``[15:0]`` ring index, bit 31 its gen (§4c)."""
    if not 0 <= index <= QSTATE_INDEX_MASK or gen not in (0, 1):
        raise ValueError(f"ring state (index {index}, gen {gen}) out of range")
    return (QSTATE_GEN if gen else 0) | index


def qstate_fields(value: int) -> tuple[int, int]:
    """``(index, gen)`` of a ``*_STATE`` register value."""
    return value & QSTATE_INDEX_MASK, int(bool(value & QSTATE_GEN))


def upt_reg(reg: Bar0, n: int) -> int:
    """Function-space offset of vmxnet3 BAR0 register ``reg`` of queue / vector ``n``."""
    return Func.UPT_BASE + reg + REG_STRIDE * n


def irq_vector(q: int, rx: bool) -> int:
    """Completion interrupt vector of queue ``q``: 2q (TX), 2q+1 (RX)."""
    return 2 * q + int(rx)


def err_vector(num_queues: int) -> int:
    """The function's error interrupt vector: after the queue vectors and the mailbox (2Q)."""
    return 2 * num_queues + 1


# Queue-pair registers that reset to index 0, gen 1 rather than 0 (§4c); RX2_STATE
# only in format B (format A decodes nothing in the ring-2 block).
_STATE_REGS = (Queue.TXQ_STATE, Queue.TXQ_CPL_STATE, Queue.RXQ_STATE, Queue.RXQ_CPL_STATE)


def func_reset_values(func: int, num_queues: int, ring_fmt: RingFmt = RingFmt.A) -> dict[int, int]:
    """Documented reset value of every register of the function space (§3.1 "reset" column,
    §4b, §4c) of a function whose engine has ring format ``ring_fmt``.

    Keys are byte offsets; every queue block of the ``num_queues`` pairs is listed
    whole (its unmapped words read 0), and so, in format B, is the UPT page (its
    doorbells and IMRs reset to 0; format A decodes nothing there). ``*_ABANDONED``
    and ``RXQ_DROPS`` reset to 0 too, but count again right after an FLR (frames the
    FLR abandoned or dropped). The ``*_STATE`` registers reset to index 0, gen 1.
    """
    ident = RingFmt(ring_fmt).identity
    vals = {
        Func.FUNC_ID: (ident.device_id << 16) | (num_queues << FUNC_ID_QUEUES_SHIFT) | func,
        Func.FUNC_CTRL: 0,
        Func.FUNC_STATUS: 0,
        Func.RX_STEER: 0,
        Func.FUNC_PCI_ID: ident.pci_id,
    }
    states = (*_STATE_REGS, Queue.RX2_STATE) if ring_fmt == RingFmt.B else _STATE_REGS
    for q in range(num_queues):
        for off in range(0, Func.QUEUE_STRIDE, 4):
            vals[Func.QUEUE_BASE + q * Func.QUEUE_STRIDE + off] = 0
        for reg in states:
            vals[queue_reg(q, reg)] = QSTATE_RESET
    if ring_fmt == RingFmt.B:
        for off in range(0, Func.UPT_BYTES, 4):
            vals[Func.UPT_BASE + off] = 0
    return vals


def irq_mod(min_interval: int, count_thresh: int) -> int:
    """*Q_IRQ_MOD value: [15:0] MIN_INTERVAL cycles, [23:16] COUNT_THRESH entries."""
    if not (0 <= min_interval < 1 << 16 and 0 <= count_thresh < 1 << 8):
        raise ValueError(f"IRQ moderation ({min_interval}, {count_thresh}) out of range")
    return (count_thresh << 16) | min_interval


def queue_reg(q: int, reg: Queue) -> int:
    return Func.QUEUE_BASE + q * Func.QUEUE_STRIDE + reg


MACT_VALID = MacEntryCtrl.VALID.mask
PF_ID_MAGIC = PfId.BLOCK_ID.reset
VF_ADMIN_FLR = VfAdminCtrl.FLR.mask
VF_STATUS_ENABLED = VfAdminStatus.ENABLED.mask
VF_STATUS_VFLR = VfAdminStatus.VFLR.mask
VF_STATUS_MBX_REQ = VfAdminStatus.MBX_REQ.mask
VF_STATUS_MBX_ACK = VfAdminStatus.MBX_ACK.mask


def vf_admin_reg(vf: int, reg: VfAdmin) -> int:
    return Pf.VF_ADMIN_BASE + vf * Pf.VF_ADMIN_STRIDE + reg


def vf_stats_reg(vf: int, reg: VfStats) -> int:
    return Pf.VF_STATS_BASE + vf * Pf.VF_STATS_STRIDE + reg


MBX_WORDS = VfMbxInfo.WORDS.reset
# Mailbox control bits, read on either side: REQ = own message unacknowledged,
# STS = the other side's message waiting, OACK = the other side acknowledged
# ours (W1C), RSTD = the VF was reset (VF side W1C). ACK is write-only.
MBX_REQ = VfMbxCtrl.REQ.mask
MBX_ACK = VfMbxCtrl.ACK.mask
MBX_STS = VfMbxCtrl.STS.mask
MBX_OACK = VfMbxCtrl.OACK.mask
MBX_RSTD = VfMbxCtrl.RSTD.mask


def pf_mbx_reg(vf: int, reg: int) -> int:
    return Pf.MBX_BASE + vf * Pf.MBX_STRIDE + reg


ABSENT_READ = 0xFFFF_FFFF
