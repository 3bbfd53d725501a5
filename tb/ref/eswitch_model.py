"""Golden reference model of the embedded switch (``rtl/eswitch.sv``).

Plain Python, written from docs/ARCHITECTURE.md §3.2 and independent of the
RTL: given the switch policy (forwarding table, per-port policy registers) and
the frames entering each port, it predicts, per output port, the frames that
leave it (bytes and RX sideband) in per-source order, and every counter.

The model also renders its policy as the register writes that program it, so a
test configures the RTL and the model from one source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

# ----------------------------------------------------------------- register map
# Offsets inside the switch window (PF address = 0x10000 + offset).
ESW_ID = 0x0000
ESW_CAPS = 0x0004
ESW_CTRL = 0x0008
ESW_CTRL_CLEAR_COUNTERS = 0x1

MACT_BASE = 0x1000
MACT_STRIDE = 0x10
MACT_LO = 0x0
MACT_HI = 0x4
MACT_VLAN = 0x8
MACT_CTRL = 0xC
MACT_VALID = 1 << 31

CNT_BASE = 0x4000
CNT_STRIDE = 0x40

ESW_BLOCK_ID = 0xE5A1
ESW_VERSION = 0x01

ETH_P_8021Q = 0x8100
HEADER_BYTES = 14
BROADCAST = b"\xff" * 6


class DropReason(IntEnum):
    """Why the switch dropped a frame at ingress (the hardware's 3-bit code)."""

    NONE = 0
    NO_ROUTE = 1
    SPOOF_MAC = 2
    SPOOF_VLAN = 3
    RATE = 4
    LINK_DOWN = 5
    BAD_LEN = 6
    VLAN_POLICY = 7


class Counter(IntEnum):
    """Byte offset of each counter inside a port's 0x40-byte block."""

    RX_FRAMES = 0x00
    RX_DROPS = 0x04
    RX_BYTES_LO = 0x08
    RX_BYTES_HI = 0x0C
    TX_FRAMES = 0x10
    TX_BYTES_LO = 0x18
    TX_BYTES_HI = 0x1C
    DROP_NO_ROUTE = 0x20
    DROP_SPOOF_MAC = 0x24
    DROP_SPOOF_VLAN = 0x28
    DROP_RATE = 0x2C
    DROP_LINK_DOWN = 0x30
    DROP_BAD_LEN = 0x34
    DROP_VLAN_POLICY = 0x38
    DROP_NO_BUF = 0x3C


DROP_COUNTER = {
    DropReason.NO_ROUTE: Counter.DROP_NO_ROUTE,
    DropReason.SPOOF_MAC: Counter.DROP_SPOOF_MAC,
    DropReason.SPOOF_VLAN: Counter.DROP_SPOOF_VLAN,
    DropReason.RATE: Counter.DROP_RATE,
    DropReason.LINK_DOWN: Counter.DROP_LINK_DOWN,
    DropReason.BAD_LEN: Counter.DROP_BAD_LEN,
    DropReason.VLAN_POLICY: Counter.DROP_VLAN_POLICY,
}


def counter_addr(port: int, counter: Counter) -> int:
    return CNT_BASE + CNT_STRIDE * port + counter


def mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError(f"not a MAC address: {mac!r}")
        return mac
    b = bytes.fromhex(mac.replace(":", ""))
    if len(b) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return b


# ----------------------------------------------------------------- data types
@dataclass(frozen=True)
class TxMeta:
    """Sideband of a frame from a function (``tx_meta_t``)."""

    src_func: int = 0
    vlan_ins: bool = False
    vlan_tci: int = 0

    def pack(self) -> int:
        return (self.vlan_tci & 0xFFFF) << 9 | int(self.vlan_ins) << 8 | (self.src_func & 0xFF)


@dataclass(frozen=True)
class RxMeta:
    """Sideband of a frame to a function (``rx_meta_t``)."""

    vlan_stripped: bool = False
    vlan_tci: int = 0

    def pack(self) -> int:
        return (self.vlan_tci & 0xFFFF) << 1 | int(self.vlan_stripped)

    @classmethod
    def unpack(cls, value: int) -> RxMeta:
        return cls(vlan_stripped=bool(value & 1), vlan_tci=(value >> 1) & 0xFFFF)


@dataclass(frozen=True)
class Delivery:
    """One frame leaving the switch on ``port``; ``src`` is the port it entered on."""

    src: int
    port: int
    frame: bytes
    meta: RxMeta = RxMeta()


@dataclass
class MacTableEntry:
    mac: bytes = b"\x00" * 6
    vid: int = 0
    port: int = 0
    valid: bool = False


@dataclass
class PortCounters:
    rx_frames: int = 0
    rx_bytes: int = 0
    tx_frames: int = 0
    tx_bytes: int = 0
    drops: dict[DropReason, int] = field(default_factory=dict)
    no_buf: int = 0

    def value(self, counter: Counter) -> int:
        """The 32-bit register value the hardware shows for ``counter``."""
        m32 = 0xFFFF_FFFF
        by_reason = {c: r for r, c in DROP_COUNTER.items()}
        if counter == Counter.RX_FRAMES:
            return self.rx_frames & m32
        if counter == Counter.RX_DROPS:
            return sum(self.drops.values()) & m32
        if counter == Counter.RX_BYTES_LO:
            return self.rx_bytes & m32
        if counter == Counter.RX_BYTES_HI:
            return (self.rx_bytes >> 32) & m32
        if counter == Counter.TX_FRAMES:
            return self.tx_frames & m32
        if counter == Counter.TX_BYTES_LO:
            return self.tx_bytes & m32
        if counter == Counter.TX_BYTES_HI:
            return (self.tx_bytes >> 32) & m32
        if counter == Counter.DROP_NO_BUF:
            return self.no_buf & m32
        return self.drops.get(by_reason[counter], 0) & m32


@dataclass(frozen=True)
class ParsedFrame:
    dmac: bytes
    smac: bytes
    tagged: bool
    vid: int


def parse(frame: bytes) -> ParsedFrame:
    tagged = len(frame) >= 16 and int.from_bytes(frame[12:14], "big") == ETH_P_8021Q
    vid = int.from_bytes(frame[14:16], "big") & 0xFFF if tagged else 0
    return ParsedFrame(dmac=frame[0:6], smac=frame[6:12], tagged=tagged, vid=vid)


# ----------------------------------------------------------------- the model
class EswitchModel:
    """Predicts what the switch does with each frame, and its counters."""

    def __init__(
        self,
        num_func: int = 3,
        mac_table_size: int = 64,
        max_bytes: int = 9018,
        min_bytes: int = HEADER_BYTES,
    ) -> None:
        self.num_func = num_func
        self.num_ports = num_func + 1
        self.uplink = num_func
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes
        self.table = [MacTableEntry() for _ in range(mac_table_size)]
        self.counters = [PortCounters() for _ in range(self.num_ports)]

    # ------------------------------------------------------------- policy
    def set_entry(
        self, index: int, mac: str | bytes, vid: int, port: int, valid: bool = True
    ) -> list[tuple[int, int]]:
        """Set table entry ``index``; returns the register writes that do the same."""
        entry = self.table[index]
        entry.mac, entry.vid, entry.port, entry.valid = mac_bytes(mac), vid & 0xFFF, port, valid
        return self.entry_writes(index)

    def entry_writes(self, index: int) -> list[tuple[int, int]]:
        e = self.table[index]
        base = MACT_BASE + MACT_STRIDE * index
        return [
            (base + MACT_LO, int.from_bytes(e.mac[2:], "big")),
            (base + MACT_HI, int.from_bytes(e.mac[:2], "big")),
            (base + MACT_VLAN, e.vid),
            (base + MACT_CTRL, (MACT_VALID if e.valid else 0) | (e.port & 0xFF)),
        ]

    def lookup(self, mac: bytes, vid: int) -> int | None:
        for e in self.table:
            if e.valid and e.mac == mac and e.vid == vid:
                return e.port
        return None

    def clear_counters(self) -> None:
        self.counters = [PortCounters() for _ in range(self.num_ports)]

    def esw_id(self) -> int:
        return ESW_BLOCK_ID << 16 | ESW_VERSION << 8 | self.num_ports

    # ------------------------------------------------------------- forwarding
    def destinations(
        self, port: int, frame: bytes, meta: TxMeta | None = None
    ) -> tuple[list[int], DropReason]:
        """Output ports of a frame entering on ``port`` (empty with the drop reason)."""
        del meta  # per-frame VLAN insertion is not modelled yet
        p = parse(frame)
        n = len(frame)
        if n < self.min_bytes or n > self.max_bytes or (p.tagged and n < self.min_bytes + 4):
            return [], DropReason.BAD_LEN
        if p.dmac == BROADCAST or p.dmac[0] & 1:
            return [q for q in range(self.num_ports) if q != port], DropReason.NONE
        hit = self.lookup(p.dmac, p.vid)
        if hit is not None and hit < self.num_ports and hit != port:
            return [hit], DropReason.NONE
        if hit is None and port != self.uplink:
            return [self.uplink], DropReason.NONE
        return [], DropReason.NO_ROUTE

    def ingress(self, port: int, frame: bytes, meta: TxMeta | None = None) -> list[Delivery]:
        """A frame enters on ``port``: update counters, return its deliveries."""
        if not 0 <= port < self.num_ports:
            raise ValueError(f"no port {port}")
        c = self.counters[port]
        c.rx_frames += 1
        c.rx_bytes += min(len(frame), 0xFFFF)
        dests, reason = self.destinations(port, frame, meta)
        if reason != DropReason.NONE:
            c.drops[reason] = c.drops.get(reason, 0) + 1
            return []
        out = []
        for q in dests:
            self.counters[q].tx_frames += 1
            self.counters[q].tx_bytes += len(frame)
            out.append(Delivery(src=port, port=q, frame=frame, meta=RxMeta()))
        return out
