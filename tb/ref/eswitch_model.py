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

ESW_CTRL_UPLINK_LINK = 0x2
ESW_LISTS = 0x000C

POL_BASE = 0x2000
POL_STRIDE = 0x80
PORT_CTRL = 0x00
PORT_VLAN = 0x04
RATE_INC = 0x08  # [23:0] tokens per cycle in 1/65536 byte, bit 31 enable
RATE_BURST = 0x0C
PORT_STATUS = 0x10
PORT_MAX_LEN = 0x14  # [15:0] largest frame without its 802.1Q tag, reset MAX_FRAME_BYTES
MAX_FRAME_BYTES = 9018  # nic_pkg.sv: the switch's own limit (BAD_LEN above it)
SMAC_BASE = 0x20  # + 8*i: LO, HI (bit 31 VALID)
VLAN_BASE = 0x40  # + 4*i: [11:0] VID, bit 31 VALID
MC_BASE = 0x60  # + 8*i: LO, HI (bit 31 VALID)
RATE_FRAC_BITS = 16  # RATE_INC and the bucket count 1/65536 byte
RATE_INC_MASK = 0xFFFFFF
NUM_SMAC = 4
NUM_VLAN = 8
NUM_MC = 4

# PORT_CTRL bits
CTRL_SPOOFCHK = 1 << 0
CTRL_TRUST = 1 << 1
CTRL_LINK_SHIFT = 2  # [3:2]: 0 auto (follows ESW_CTRL.UPLINK_LINK), 1 up, 2/3 down
CTRL_VLAN_FILTER = 1 << 4
CTRL_VLAN_STRIP = 1 << 5
CTRL_RX_UCAST = 1 << 8
CTRL_RX_MCAST = 1 << 9
CTRL_RX_BCAST = 1 << 10
CTRL_RX_ALLMULTI = 1 << 11
CTRL_RX_PROMISC = 1 << 12
CTRL_RESET = CTRL_RX_UCAST | CTRL_RX_BCAST | CTRL_RX_ALLMULTI

ESW_BLOCK_ID = 0xE5A1
ESW_VERSION = 0x01

ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
HEADER_BYTES = 14
BROADCAST = b"\xff" * 6


class DropReason(IntEnum):
    """Why the switch dropped a frame at ingress (the hardware's 3-bit code)."""

    NONE = 0
    NO_ROUTE = 1
    SPOOF_MAC = 2
    SPOOF_VLAN = 3
    TOO_BIG = 4  # longer than the sender's or a unicast destination's PORT_MAX_LEN
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
    DROP_TOO_BIG = 0x2C
    DROP_LINK_DOWN = 0x30
    DROP_BAD_LEN = 0x34
    DROP_VLAN_POLICY = 0x38
    DROP_NO_BUF = 0x3C


DROP_COUNTER = {
    DropReason.NO_ROUTE: Counter.DROP_NO_ROUTE,
    DropReason.SPOOF_MAC: Counter.DROP_SPOOF_MAC,
    DropReason.SPOOF_VLAN: Counter.DROP_SPOOF_VLAN,
    DropReason.TOO_BIG: Counter.DROP_TOO_BIG,
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
@dataclass
class PortPolicy:
    """The policy registers of one port, in the terms of ``ip link set … vf N``."""

    spoofchk: bool = False
    trust: bool = False
    link: str = "auto"  # auto | enable | disable
    vlan_filter: bool = False
    vlan_strip: bool = False
    rx_ucast: bool = True
    rx_mcast: bool = False
    rx_bcast: bool = True
    rx_allmulti: bool = True
    rx_promisc: bool = False
    pvid: int | None = None
    pcp: int = 0
    rate_enable: bool = False
    rate_inc: int = 0  # tokens per cycle in 1/65536 byte (RATE_FRAC_BITS)
    rate_burst: int = 0  # bucket size in bytes
    # largest frame the port sends or receives, an 802.1Q tag not counted (PORT_MAX_LEN)
    max_len: int = MAX_FRAME_BYTES
    smacs: list[bytes] = field(default_factory=list)
    vlans: list[int] = field(default_factory=list)
    mcs: list[bytes] = field(default_factory=list)

    def ctrl(self) -> int:
        link = {"auto": 0, "enable": 1, "disable": 2}[self.link]
        return (
            (CTRL_SPOOFCHK if self.spoofchk else 0)
            | (CTRL_TRUST if self.trust else 0)
            | link << CTRL_LINK_SHIFT
            | (CTRL_VLAN_FILTER if self.vlan_filter else 0)
            | (CTRL_VLAN_STRIP if self.vlan_strip else 0)
            | (CTRL_RX_UCAST if self.rx_ucast else 0)
            | (CTRL_RX_MCAST if self.rx_mcast else 0)
            | (CTRL_RX_BCAST if self.rx_bcast else 0)
            | (CTRL_RX_ALLMULTI if self.rx_allmulti else 0)
            | (CTRL_RX_PROMISC if self.rx_promisc else 0)
        )

    def writes(self, port: int) -> list[tuple[int, int]]:
        """Register writes that program this policy on ``port`` (every list slot)."""
        b = POL_BASE + POL_STRIDE * port
        pv = 0 if self.pvid is None else 1 << 31 | (self.pcp & 7) << 13 | (self.pvid & 0xFFF)
        w = [
            (b + PORT_CTRL, self.ctrl()),
            (b + PORT_VLAN, pv),
            (b + RATE_INC, (1 << 31 if self.rate_enable else 0) | (self.rate_inc & RATE_INC_MASK)),
            (b + RATE_BURST, self.rate_burst & 0xFFFFFF),
            (b + PORT_MAX_LEN, self.max_len & 0xFFFF),
        ]
        for i in range(NUM_SMAC):
            m = self.smacs[i] if i < len(self.smacs) else None
            lo = int.from_bytes(m[2:], "big") if m else 0
            hi = (1 << 31 | int.from_bytes(m[:2], "big")) if m else 0
            w += [(b + SMAC_BASE + 8 * i, lo), (b + SMAC_BASE + 8 * i + 4, hi)]
        for i in range(NUM_VLAN):
            v = self.vlans[i] if i < len(self.vlans) else None
            w.append((b + VLAN_BASE + 4 * i, 0 if v is None else 1 << 31 | (v & 0xFFF)))
        for i in range(NUM_MC):
            m = self.mcs[i] if i < len(self.mcs) else None
            lo = int.from_bytes(m[2:], "big") if m else 0
            hi = (1 << 31 | int.from_bytes(m[:2], "big")) if m else 0
            w += [(b + MC_BASE + 8 * i, lo), (b + MC_BASE + 8 * i + 4, hi)]
        return w


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


@dataclass(frozen=True)
class Decision:
    """How the switch classified and decided one input frame (for coverage)."""

    reason: DropReason
    dests: tuple[int, ...]
    vid: int  # VLAN after ingress tagging (0 = untagged)
    hit: int | None  # table hit of (dest MAC, vid); None on a miss
    tagged: bool  # 802.1Q tag as received
    qinq: bool  # 802.1ad, stacked tag, or a tag request on a tagged frame
    pvid: bool  # port VLAN tag inserted
    meta_ins: bool  # tx_meta tag request


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
    ethertype: int
    inner_type: int
    tagged: bool
    vid: int


def parse(frame: bytes) -> ParsedFrame:
    et = int.from_bytes(frame[12:14], "big") if len(frame) >= 14 else 0
    tagged = et == ETH_P_8021Q
    inner = int.from_bytes(frame[16:18], "big") if len(frame) >= 18 else 0
    vid = int.from_bytes(frame[14:16], "big") & 0xFFF if tagged else 0
    return ParsedFrame(frame[0:6], frame[6:12], et, inner, tagged, vid)


def insert_tag(frame: bytes, tci: int) -> bytes:
    return (
        frame[:12] + ETH_P_8021Q.to_bytes(2, "big") + (tci & 0xFFFF).to_bytes(2, "big") + frame[12:]
    )


def strip_tag(frame: bytes) -> tuple[bytes, int]:
    return frame[:12] + frame[16:], int.from_bytes(frame[14:16], "big")


# ----------------------------------------------------------------- the TX shaper
class ShaperViolation(AssertionError):
    """A function port let a frame start while its token bucket was in debt."""


@dataclass
class TxShaperModel:
    """Reference of one function port's TX shaper (docs §3.2), checked per frame.

    The bucket, in 1/65536 byte, gains ``rate_inc`` every clock edge up to
    ``rate_burst`` bytes; a frame's length is taken out on the edge that accepts its
    last beat, and a frame may have its first beat accepted on edge ``e`` only when
    the bucket held at least 0 after edge ``e - 1``. Writing the policy fills it.
    """

    rate_inc: int = 0
    rate_burst: int = 0
    tokens: int = 0
    edge: int = 0  # the edge ``tokens`` is the value after
    # frames that started on the first edge their bucket allowed after being in debt
    released_from_debt: int = 0

    def load(self, rate_inc: int, rate_burst: int) -> None:
        self.rate_inc, self.rate_burst = rate_inc, rate_burst
        self.tokens, self.edge = rate_burst << RATE_FRAC_BITS, 0

    def _advance(self, edge: int) -> None:
        if edge < self.edge:
            raise ValueError(f"edge {edge} before the bucket's edge {self.edge}")
        cap = self.rate_burst << RATE_FRAC_BITS
        self.tokens = min(self.tokens + self.rate_inc * (edge - self.edge), cap)
        self.edge = edge

    def earliest_start(self, not_before: int) -> int | None:
        """First edge >= ``not_before`` that may accept a frame's first beat, with no
        other frame charged meanwhile; None when the bucket never leaves debt."""
        e = max(not_before, self.edge + 1)
        if self.tokens >= 0:
            return e
        if self.rate_inc == 0:
            return None
        k = self.edge + -(self.tokens // self.rate_inc)  # ceil(-tokens / rate_inc)
        return max(e, k + 1)

    def frame(self, first: int, last: int, length: int) -> None:
        """A frame whose first beat was accepted on edge ``first`` and last on
        ``last``; raises :class:`ShaperViolation` when it started over the rate."""
        before = None
        if first - 2 >= self.edge:
            self._advance(first - 2)
            before = self.tokens
        self._advance(first - 1)
        if self.tokens < 0:
            raise ShaperViolation(
                f"frame started on edge {first} with the bucket at "
                f"{self.tokens / (1 << RATE_FRAC_BITS):.2f} bytes"
            )
        if before is not None and before < 0:
            self.released_from_debt += 1
        self._advance(last)
        self.tokens -= min(length, 0xFFFF) << RATE_FRAC_BITS


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
        self.policy = [PortPolicy() for _ in range(self.num_ports)]
        self.uplink_link = True
        # TX shaper per port (only function ports with a rate limit shape)
        self.shapers = [TxShaperModel() for _ in range(self.num_ports)]
        self.last: Decision | None = None

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

    def set_policy(self, port: int, policy: PortPolicy) -> list[tuple[int, int]]:
        """Set a port's policy; returns the register writes (they refill its bucket)."""
        self.policy[port] = policy
        # the writes fill the bucket; a full bucket stays full, so the edge of the
        # write does not matter (policies are written while the port is idle)
        self.shapers[port].load(policy.rate_inc, policy.rate_burst)
        return policy.writes(port)

    def set_max_len(self, port: int, max_len: int) -> list[tuple[int, int]]:
        """PORT_MAX_LEN alone (e.g. the uplink's, whose other policy does not apply)."""
        self.policy[port].max_len = max_len
        return [(POL_BASE + POL_STRIDE * port + PORT_MAX_LEN, max_len & 0xFFFF)]

    def set_uplink_link(self, up: bool) -> list[tuple[int, int]]:
        self.uplink_link = up
        return [(ESW_CTRL, ESW_CTRL_UPLINK_LINK if up else 0)]

    # effective per-port state
    def link_up(self, port: int) -> bool:
        if port == self.uplink:
            return True
        link = self.policy[port].link
        return link == "enable" or (link == "auto" and self.uplink_link)

    def trusted(self, port: int) -> bool:
        return port == 0 or self.policy[port].trust

    def promisc(self, port: int) -> bool:
        return self.policy[port].rx_promisc and self.trusted(port)

    def allmulti(self, port: int) -> bool:
        # clamped in hardware: an untrusted port is never all-multicast
        return self.policy[port].rx_allmulti and self.trusted(port)

    def clear_counters(self) -> None:
        self.counters = [PortCounters() for _ in range(self.num_ports)]

    def esw_id(self) -> int:
        return ESW_BLOCK_ID << 16 | ESW_VERSION << 8 | self.num_ports

    # ------------------------------------------------------------- forwarding
    def decide(
        self, port: int, frame: bytes, meta: TxMeta | None = None
    ) -> tuple[list[int], DropReason, bytes]:
        """Destinations of a frame entering on ``port`` and the frame after ingress
        tagging; no destinations with the drop reason when it is dropped."""
        meta = meta or TxMeta(src_func=port)
        p = parse(frame)
        n = len(frame)
        up = port == self.uplink
        pol = self.policy[port]
        pv_en = not up and pol.pvid is not None
        vid = p.vid
        tci = None
        if pv_en:
            tci = (pol.pcp & 7) << 13 | (pol.pvid & 0xFFF)
        elif not up and meta.vlan_ins:
            tci = meta.vlan_tci & 0xFFFF
        if tci is not None:
            vid = tci & 0xFFF
        stacked = p.ethertype == ETH_P_8021AD or (
            p.tagged and p.inner_type in (ETH_P_8021Q, ETH_P_8021AD)
        )
        qinq = stacked or (not up and p.tagged and meta.vlan_ins)
        unicast = len(p.dmac) == 6 and not p.dmac[0] & 1
        hit = self.lookup(p.dmac, vid) if unicast else None

        def done(dests: list[int], reason: DropReason, out: bytes):
            self.last = Decision(
                reason, tuple(dests), vid, hit, p.tagged, qinq, pv_en, not up and meta.vlan_ins
            )
            return dests, reason, out

        if n < self.min_bytes or n > self.max_bytes or (p.tagged and n < self.min_bytes + 4):
            return done([], DropReason.BAD_LEN, frame)
        body = n - 4 if p.tagged else n  # against PORT_MAX_LEN, a tag is not counted
        if body > pol.max_len:
            return done([], DropReason.TOO_BIG, frame)
        if not up:
            if not self.link_up(port):
                return done([], DropReason.LINK_DOWN, frame)
            if pol.spoofchk and p.smac not in pol.smacs:
                return done([], DropReason.SPOOF_MAC, frame)
            if qinq or (pv_en and (p.tagged or meta.vlan_ins)):
                return done([], DropReason.VLAN_POLICY, frame)
            if not pv_en and pol.vlan_filter and vid != 0 and vid not in pol.vlans:
                return done([], DropReason.SPOOF_VLAN, frame)
        out = insert_tag(frame, tci) if tci is not None else frame
        tagged_out = p.tagged or tci is not None

        def fits(q: int) -> bool:
            return body <= self.policy[q].max_len

        def ok(q: int) -> bool:
            if q == port or not fits(q):
                return False
            if q == self.uplink:
                return True
            qp = self.policy[q]
            if qp.pvid is not None:
                member = tagged_out and vid == qp.pvid
            elif qp.vlan_filter:
                member = vid == 0 or vid in qp.vlans
            else:
                member = True
            return self.link_up(q) and member

        funcs = range(self.num_func)
        if p.dmac == BROADCAST:
            dests = [
                q
                for q in range(self.num_ports)
                if ok(q) and (q == self.uplink or self.policy[q].rx_bcast)
            ]
        elif p.dmac[0] & 1:
            dests = [
                q
                for q in range(self.num_ports)
                if ok(q)
                and (
                    q == self.uplink
                    or self.allmulti(q)
                    or self.promisc(q)
                    or (self.policy[q].rx_mcast and p.dmac in self.policy[q].mcs)
                )
            ]
        elif hit is None:
            dests = [q for q in funcs if ok(q) and self.promisc(q)]
            if not up and fits(self.uplink):
                dests.append(self.uplink)
        elif hit < self.num_ports and hit != port:
            if ok(hit) and (hit == self.uplink or self.policy[hit].rx_ucast):
                dests = [hit]
            elif not self.link_up(hit):
                return done([], DropReason.LINK_DOWN, out)
            elif not fits(hit):
                return done([], DropReason.TOO_BIG, out)
            else:
                dests = []
        else:
            dests = []
        if not dests:
            return done([], DropReason.NO_ROUTE, out)
        return done(sorted(dests), DropReason.NONE, out)

    def egress(self, q: int, frame: bytes) -> tuple[bytes, RxMeta]:
        """The frame as it leaves port ``q``: tag stripped for port-VLAN / strip ports."""
        if q == self.uplink or not parse(frame).tagged:
            return frame, RxMeta()
        qp = self.policy[q]
        if qp.pvid is not None:
            return strip_tag(frame)[0], RxMeta()
        if qp.vlan_strip:
            stripped, tci = strip_tag(frame)
            return stripped, RxMeta(vlan_stripped=True, vlan_tci=tci)
        return frame, RxMeta()

    def ingress(
        self,
        port: int,
        frame: bytes,
        meta: TxMeta | None = None,
        edges: tuple[int, int] | None = None,
    ) -> list[Delivery]:
        """A frame enters on ``port``: update counters, return its deliveries.

        ``edges`` (first and last beat's handshake edge) let the port's TX shaper
        check that the frame started within the rate; a function port with a rate
        limit needs them."""
        if not 0 <= port < self.num_ports:
            raise ValueError(f"no port {port}")
        if port != self.uplink and self.policy[port].rate_enable:
            if edges is None:
                raise ValueError(f"port {port}: a shaped port needs the frame's edges")
            self.shapers[port].frame(*edges, len(frame))
        c = self.counters[port]
        c.rx_frames += 1
        c.rx_bytes += min(len(frame), 0xFFFF)
        dests, reason, out = self.decide(port, frame, meta)
        if reason != DropReason.NONE:
            c.drops[reason] = c.drops.get(reason, 0) + 1
            return []
        deliveries = []
        for q in dests:
            f, m = self.egress(q, out)
            self.counters[q].tx_frames += 1
            self.counters[q].tx_bytes += len(f)
            deliveries.append(Delivery(src=port, port=q, frame=f, meta=m))
        return deliveries
