"""Register map of the NIC as documented in docs/ARCHITECTURE.md §3, named by block.

Offsets are byte offsets inside a function's register space; the function
number travels separately (AXI4-Lite a*user).
"""

from __future__ import annotations

from enum import IntEnum


class Func(IntEnum):
    """Function space (every function), window 0x00000."""

    FUNC_ID = 0x0000
    QUEUE_BASE = 0x1000
    QUEUE_STRIDE = 0x100


FUNC_ID_MAGIC = 0x5A01


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


RX_OFFSET = Queue.RXQ_BASE_LO - Queue.TXQ_BASE_LO  # RX block mirrors the TX block
QCTRL_ENABLE = 0x1
QSTATUS_ERROR = 1 << 31


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


class Pf(IntEnum):
    """PF global control window (PF only)."""

    PF_ID = 0x20000
    NUM_VFS = 0x20004


ABSENT_READ = 0xFFFF_FFFF


def mac_words(mac: str) -> tuple[int, int]:
    """``aa:bb:cc:dd:ee:ff`` -> (MACT_LO=0xccddeeff, MACT_HI=0xaabb)."""
    b = bytes.fromhex(mac.replace(":", ""))
    if len(b) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return int.from_bytes(b[2:], "big"), int.from_bytes(b[:2], "big")
