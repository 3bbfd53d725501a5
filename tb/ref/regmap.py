"""Register map of the NIC as documented in docs/ARCHITECTURE.md §3, named by block.

Offsets are byte offsets inside a function's register space; the function
number travels separately (AXI4-Lite a*user).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from tb.shell_model.vmxnet3_defs import REG_STRIDE, Bar0, Err


class Func(IntEnum):
    """Function space (every function), window 0x00000."""

    FUNC_ID = 0x0000
    FUNC_CTRL = 0x0004  # WO, bit 0 FLR
    FUNC_STATUS = 0x0008  # RO, bit 0 BUSY
    RX_STEER = 0x000C  # RW, bit 0 HASH
    FUNC_PCI_ID = 0x0010  # RO {device id [31:16], vendor id [15:0]} (§4b)
    QUEUE_BASE = 0x1000
    QUEUE_STRIDE = 0x100
    UPT_BASE = 0x2000  # format B: vmxnet3's BAR0 (pass-through page), offsets Bar0 (§4b)
    UPT_BYTES = 0x1000


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


class Queue(IntEnum):
    """Registers of one queue pair, relative to Func.QUEUE_BASE + q * Func.QUEUE_STRIDE."""

    TXQ_BASE_LO = 0x00
    TXQ_BASE_HI = 0x04
    TXQ_CPL_BASE_LO = 0x08
    TXQ_CPL_BASE_HI = 0x0C
    TXQ_SIZE = 0x10
    TXQ_CTRL = 0x14
    TXQ_PROD = 0x18
    TXQ_CONS = 0x1C
    TXQ_STATUS = 0x20
    TXQ_IRQ_CTRL = 0x28
    TXQ_IRQ_MOD = 0x2C
    TXQ_ABANDONED = 0x30
    TXQ_STATE = 0x34  # §4c: [15:0] next descriptor the queue takes, bit 31 its gen
    TXQ_CPL_STATE = 0x38  # §4c: next completion written, its gen
    TXQ_UPT_ERROR = 0x3C  # §4b: the queue's error as vmxnet3 reports it (format A: 0)
    RXQ_BASE_LO = 0x40
    RXQ_BASE_HI = 0x44
    RXQ_CPL_BASE_LO = 0x48
    RXQ_CPL_BASE_HI = 0x4C
    RXQ_SIZE = 0x50
    RXQ_CTRL = 0x54
    RXQ_PROD = 0x58
    RXQ_CONS = 0x5C
    RXQ_STATUS = 0x60
    RXQ_DROPS = 0x64
    RXQ_IRQ_CTRL = 0x68
    RXQ_IRQ_MOD = 0x6C
    RXQ_ABANDONED = 0x70
    RXQ_STATE = 0x74  # §4c: ring 1, next buffer not yet used
    RXQ_CPL_STATE = 0x78
    RXQ_UPT_ERROR = 0x7C
    # format B ring 2 (body buffers), same layout as 0x40..0x74 (§4b)
    RX2_BASE_LO = 0x80
    RX2_BASE_HI = 0x84
    RXQ_CPL_SIZE = 0x88  # log2 of the RX completion ring's entries, 5..13
    RX2_SIZE = 0x90
    RX2_PROD = 0x98
    RX2_CONS = 0x9C
    RX2_STATE = 0xB4


RX_OFFSET = Queue.RXQ_BASE_LO - Queue.TXQ_BASE_LO  # RX block mirrors the TX block
RX2_OFFSET = Queue.RX2_BASE_LO - Queue.TXQ_BASE_LO  # so does format B's ring-2 block
QCTRL_ENABLE = 0x1
QCTRL_RESUME = 0x2  # with ENABLE: start from the *_STATE registers (§4c)
QSTATE_GEN = 1 << 31
QSTATE_INDEX_MASK = 0xFFFF
QSTATE_RESET = QSTATE_GEN  # index 0, gen 1: after reset, FLR, or ENABLE without RESUME
RX_CPL_LOG2_MAX = 13  # RXQ_CPL_SIZE 5..13 (format B)
QSTATUS_ERROR = 1 << 31
QSTATUS_BUSY = 1 << 30
QSTATUS_CODE_MASK = 0xFF
FUNC_CTRL_FLR = 0x1
FUNC_STATUS_BUSY = 0x1
FUNC_STATUS_ERROR = 0x2  # some queue of the function is in the error state
RX_STEER_HASH = 0x1
IRQ_CTRL_MASK = 0x1
FUNC_ID_QUEUES_SHIFT = 8  # FUNC_ID [15:8] queue pairs, [7:0] function number


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


class Esw(IntEnum):
    """Switch window (PF only)."""

    BASE = 0x10000
    ESW_ID = 0x10000
    MACT_BASE = 0x11000
    MACT_STRIDE = 0x10
    CNT_BASE = 0x14000
    CNT_STRIDE = 0x40


class MacEntry(IntEnum):
    LO = 0x0
    HI = 0x4
    VLAN = 0x8
    CTRL = 0xC


MACT_VALID = 1 << 31


class PortCounter(IntEnum):
    RX_FRAMES = 0x00
    RX_BYTES_LO = 0x08
    RX_BYTES_HI = 0x0C
    TX_FRAMES = 0x10
    TX_BYTES_LO = 0x18
    TX_BYTES_HI = 0x1C
    DROP_NO_ROUTE = 0x20
    DROP_TOO_BIG = 0x2C


class Pf(IntEnum):
    """PF global control window (PF only), docs/ARCHITECTURE.md "PF control window"."""

    PF_ID = 0x20000
    NUM_VFS = 0x20004
    IRQ_CTRL = 0x20008  # bit 0 MASK of the PF's mailbox/VFLR interrupt
    CAPS = 0x2000C  # [7:0] mailbox words, [15:8] mailbox interrupt vector
    MBX_VFREQ = 0x20100  # + 4w: bit b = VF 32w+b has an unacknowledged request
    MBX_VFACK = 0x20200  # + 4w: bit b = VF 32w+b acknowledged the PF's message
    VFLR = 0x20300  # + 4w, W1C: VF 32w+b reset itself (FUNC_CTRL.FLR)
    VF_ADMIN_BASE = 0x21000  # + 0x10 n: admin block of VF n (n >= 1)
    VF_ADMIN_STRIDE = 0x10
    VF_STATS_BASE = 0x22000  # + 0x10 n: engine statistics of VF n (n >= 1)
    VF_STATS_STRIDE = 0x10
    MBX_BASE = 0x30000  # + 0x100 n: PF side of VF n's mailbox (n >= 1)
    MBX_STRIDE = 0x100


PF_ID_MAGIC = 0x5A00


class VfAdmin(IntEnum):
    """Per-VF admin block in the PF window, relative to Pf.VF_ADMIN_BASE + n * stride."""

    CTRL = 0x0  # W: bit 0 FLR (function-level reset of VF n)
    STATUS = 0x4  # RO: bit 0 enabled, 1 VFLR pending, 2 mailbox request, 3 mailbox ack
    BAD_ACCESS = 0x8  # RO: accesses of VF n outside its register space


VF_ADMIN_FLR = 0x1
VF_STATUS_ENABLED = 0x1
VF_STATUS_VFLR = 0x2
VF_STATUS_MBX_REQ = 0x4
VF_STATUS_MBX_ACK = 0x8


def vf_admin_reg(vf: int, reg: VfAdmin) -> int:
    return Pf.VF_ADMIN_BASE + vf * Pf.VF_ADMIN_STRIDE + reg


class VfStats(IntEnum):
    """Per-VF engine statistics in the PF window, relative to Pf.VF_STATS_BASE + n *
    stride: frames over the VF's lifetime (kept across its FLR, cleared while it is
    disabled), summed over its queues; 32 bits, wrapping."""

    RX_DROPS = 0x0  # no RX buffer posted, or the RX queue disabled / in error
    RX_ABANDONED = 0x4  # RX frames cut off by a queue disable or FLR
    TX_ABANDONED = 0x8  # TX frames cut off by a queue disable or FLR


def vf_stats_reg(vf: int, reg: VfStats) -> int:
    return Pf.VF_STATS_BASE + vf * Pf.VF_STATS_STRIDE + reg


class PfMbx(IntEnum):
    """PF side of VF n's mailbox, relative to Pf.MBX_BASE + n * Pf.MBX_STRIDE."""

    CTRL = 0x00  # W1 bit 0 REQ (doorbell), bit 1 ACK, bit 5 VFACK W1C; R see MBX_*
    ERRS = 0x04  # RO [15:0] VF accesses the mailbox refused (saturating)
    VF_MSG = 0x40  # + 4i, RO: the VF's message
    PF_MSG = 0x80  # + 4i, RW: the PF's message


class VfMbx(IntEnum):
    """The VF's side of its mailbox: window 1 of the VF's own space."""

    CTRL = 0x10000  # W1 bit 0 REQ, bit 1 ACK, bits 5 PFACK / 7 RSTD W1C; R see MBX_*
    IRQ = 0x10004  # bit 0 MASK of the mailbox interrupt
    INFO = 0x10008  # RO [7:0] words (16), [15:8] interrupt vector
    VF_MSG = 0x10040  # + 4i, RW (refused while REQ is pending): the VF's message
    PF_MSG = 0x10080  # + 4i, RO: the PF's message


MBX_WORDS = 16
# Mailbox control bits, read on either side: REQ = own message unacknowledged,
# STS = the other side's message waiting, OACK = the other side acknowledged
# ours (W1C), RSTD = the VF was reset (VF side W1C). ACK is write-only.
MBX_REQ = 1 << 0
MBX_ACK = 1 << 1
MBX_STS = 1 << 4
MBX_OACK = 1 << 5
MBX_RSTD = 1 << 7


def pf_mbx_reg(vf: int, reg: int) -> int:
    return Pf.MBX_BASE + vf * Pf.MBX_STRIDE + reg


ABSENT_READ = 0xFFFF_FFFF


def mac_words(mac: str) -> tuple[int, int]:
    """``aa:bb:cc:dd:ee:ff`` -> (MACT_LO=0xccddeeff, MACT_HI=0xaabb)."""
    b = bytes.fromhex(mac.replace(":", ""))
    if len(b) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return int.from_bytes(b[2:], "big"), int.from_bytes(b[:2], "big")
