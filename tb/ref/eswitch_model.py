"""Golden reference model of the embedded switch (``rtl/eswitch.sv``).

Plain Python, written from docs/ARCHITECTURE.md §3.2 and independent of the
RTL: given the switch policy (forwarding table, per-port policy registers) and
the frames entering each port, it predicts, per output port, the frames that
leave it (bytes and RX sideband) in per-source order, and every counter.

The model is configured as the hardware is, by register writes to the switch
window (``EswitchModel.reg_write``), which it decodes with its own code from the
register map; the PF driver's encoder (``tb/pf_driver/switch_regs.py``) produces
them. A test programs the RTL and the model with the same writes, so an encoding
error is not repeated on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from tb.ref.eswitch_shaper import TxShaperModel
from tb.ref.regs import (
    EswCtrl,
    EswId,
    EswWindow,
    MacEntry,
    MacEntryCtrl,
    MacEntryHi,
    MacEntryVlan,
    MacHiValid,
    MacPair,
    PortCounter,
    PortCtrl,
    PortMaxLen,
    PortPolicyReg,
    PortVlan,
    RateBurst,
    RateInc,
    VlanList,
)

# ----------------------------------------------------------------- register map
# Offsets inside the switch window (PF address = Esw.BASE + offset) and fields, from
# the generated register model (rtl/regs/eswitch.rdl); the names below are aliases.
ESW_ID = EswWindow.ESW_ID
ESW_CAPS = EswWindow.ESW_CAPS
ESW_CTRL = EswWindow.ESW_CTRL
ESW_LISTS = EswWindow.ESW_LISTS
ESW_CTRL_CLEAR_COUNTERS = EswCtrl.CLEAR_COUNTERS.mask
ESW_CTRL_UPLINK_LINK = EswCtrl.UPLINK_LINK.mask
MACT_BASE = EswWindow.MACT_BASE
MACT_STRIDE = EswWindow.MACT_STRIDE
MACT_LO, MACT_HI, MACT_VLAN, MACT_CTRL = MacEntry.LO, MacEntry.HI, MacEntry.VLAN, MacEntry.CTRL
MACT_VALID = MacEntryCtrl.VALID.mask
CNT_BASE = EswWindow.CNT_BASE
CNT_STRIDE = EswWindow.CNT_STRIDE
POL_BASE = EswWindow.PORT_BASE
POL_STRIDE = EswWindow.PORT_STRIDE
PORT_CTRL = PortPolicyReg.PORT_CTRL
PORT_VLAN = PortPolicyReg.PORT_VLAN
RATE_INC = PortPolicyReg.RATE_INC  # [23:0] tokens per cycle in 1/65536 byte, bit 31 enable
RATE_BURST = PortPolicyReg.RATE_BURST
PORT_STATUS = PortPolicyReg.PORT_STATUS
PORT_MAX_LEN = PortPolicyReg.PORT_MAX_LEN  # largest frame without its 802.1Q tag
MAX_FRAME_BYTES = PortMaxLen.BYTES.reset  # nic_pkg.sv: the switch's own limit (BAD_LEN above it)
RATE_INC_MASK = RateInc.INC.mask
# list slots per port (the RTL's NUM_SMAC / NUM_VLAN / NUM_MC defaults fill the map)
NUM_SMAC = PortPolicyReg.SMAC_COUNT
NUM_VLAN = PortPolicyReg.VLAN_LIST_COUNT
NUM_MC = PortPolicyReg.MC_COUNT
ESW_BLOCK_ID = EswId.BLOCK_ID.reset
ESW_VERSION = EswId.VERSION.reset
LINK_MODES = ("auto", "enable", "disable", "disable")  # PORT_CTRL.LINK 0..3
SMAC_BASE = PortPolicyReg.SMAC_BASE  # + SMAC_STRIDE * i: LO, HI (bit 31 VALID)
VLAN_BASE = PortPolicyReg.VLAN_LIST  # + 4 * i: [11:0] VID, bit 31 VALID
MC_BASE = PortPolicyReg.MC_BASE  # + MC_STRIDE * i: LO, HI (bit 31 VALID)
# PORT_CTRL bits
CTRL_SPOOFCHK = PortCtrl.SPOOFCHK.mask
CTRL_TRUST = PortCtrl.TRUST.mask
CTRL_LINK_SHIFT = PortCtrl.LINK.lsb  # 0 auto (follows ESW_CTRL.UPLINK_LINK), 1 up, 2/3 down
CTRL_VLAN_FILTER = PortCtrl.VLAN_FILTER.mask
CTRL_VLAN_STRIP = PortCtrl.VLAN_STRIP.mask
CTRL_RX_UCAST = PortCtrl.RX_UCAST.mask
CTRL_RX_MCAST = PortCtrl.RX_MCAST.mask
CTRL_RX_BCAST = PortCtrl.RX_BCAST.mask
CTRL_RX_ALLMULTI = PortCtrl.RX_ALLMULTI.mask
CTRL_RX_PROMISC = PortCtrl.RX_PROMISC.mask

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


Counter = PortCounter  # byte offset of each counter inside a port's block


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
    # What the registers held when this model started counting, by register (a
    # byte counter by its LO register, as one 64-bit value): a test that preloads
    # the hardware's counters near their top, to see them wrap, preloads these.
    offset: dict[Counter, int] = field(default_factory=dict)

    def value(self, counter: Counter) -> int:
        """The 32-bit register value the hardware shows for ``counter``: counts wrap
        at 2^32, the byte counters at 2^64 (HI is the upper half)."""
        m32 = 0xFFFF_FFFF
        if counter in (Counter.RX_BYTES_HI, Counter.TX_BYTES_HI):
            lo = Counter(counter - 4)
            return ((self.count(lo) + self.offset.get(lo, 0)) >> 32) & m32
        return (self.count(counter) + self.offset.get(counter, 0)) & m32

    def count(self, counter: Counter) -> int:
        """Events (or bytes) of ``counter`` this model has counted itself."""
        by_reason = {c: r for r, c in DROP_COUNTER.items()}
        counts = {
            Counter.RX_FRAMES: self.rx_frames,
            Counter.RX_DROPS: sum(self.drops.values()),
            Counter.RX_BYTES_LO: self.rx_bytes,
            Counter.TX_FRAMES: self.tx_frames,
            Counter.TX_BYTES_LO: self.tx_bytes,
            Counter.DROP_NO_BUF: self.no_buf,
        }
        if counter in counts:
            return counts[counter]
        return self.drops.get(by_reason[counter], 0)


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
        # list slots' register words by (policy, list): what reg_write decodes lists from
        self._list_words: dict[tuple[int, str], dict[int, object]] = {}

    # ------------------------------------------------------------- policy
    def reg_write(self, offset: int, value: int) -> None:
        """A register write to the switch window (§3.2), decoded into the model's
        policy, forwarding table and uplink link. Only configuration is modelled:
        counters and status are the model's own predictions."""
        if offset == ESW_CTRL:
            if value & ESW_CTRL_CLEAR_COUNTERS:
                self.clear_counters()
            self.uplink_link = bool(EswCtrl.UPLINK_LINK.decode(value))
        elif MACT_BASE <= offset < MACT_BASE + MACT_STRIDE * EswWindow.MACT_COUNT:
            index, word = divmod(offset - MACT_BASE, MACT_STRIDE)
            if index < len(self.table):
                self._table_write(self.table[index], word, value)
        elif POL_BASE <= offset < POL_BASE + POL_STRIDE * EswWindow.PORT_COUNT:
            port, word = divmod(offset - POL_BASE, POL_STRIDE)
            if port < self.num_ports:
                self._policy_write(port, word, value)

    def apply_writes(self, writes: list[tuple[int, int]]) -> None:
        for offset, value in writes:
            self.reg_write(offset, value)

    @staticmethod
    def _table_write(e: MacTableEntry, word: int, value: int) -> None:
        if word == MACT_LO:
            e.mac = e.mac[:2] + value.to_bytes(4, "big")
        elif word == MACT_HI:
            e.mac = MacEntryHi.MAC.decode(value).to_bytes(2, "big") + e.mac[2:]
        elif word == MACT_VLAN:
            e.vid = MacEntryVlan.VID.decode(value)
        elif word == MACT_CTRL:
            e.port = MacEntryCtrl.PORT.decode(value)
            e.valid = bool(MacEntryCtrl.VALID.decode(value))

    def _policy_write(self, port: int, word: int, value: int) -> None:
        p = self.policy[port]
        if word == PORT_CTRL:
            p.spoofchk = bool(PortCtrl.SPOOFCHK.decode(value))
            p.trust = bool(PortCtrl.TRUST.decode(value))
            p.link = LINK_MODES[PortCtrl.LINK.decode(value)]
            p.vlan_filter = bool(PortCtrl.VLAN_FILTER.decode(value))
            p.vlan_strip = bool(PortCtrl.VLAN_STRIP.decode(value))
            p.rx_ucast = bool(PortCtrl.RX_UCAST.decode(value))
            p.rx_mcast = bool(PortCtrl.RX_MCAST.decode(value))
            p.rx_bcast = bool(PortCtrl.RX_BCAST.decode(value))
            p.rx_allmulti = bool(PortCtrl.RX_ALLMULTI.decode(value))
            p.rx_promisc = bool(PortCtrl.RX_PROMISC.decode(value))
        elif word == PORT_VLAN:
            enabled = PortVlan.ENABLE.decode(value)
            p.pvid = PortVlan.VID.decode(value) if enabled else None
            p.pcp = PortVlan.PCP.decode(value) if enabled else 0
        elif word in (RATE_INC, RATE_BURST):
            if word == RATE_INC:
                p.rate_enable = bool(RateInc.ENABLE.decode(value))
                p.rate_inc = RateInc.INC.decode(value)
            else:
                p.rate_burst = RateBurst.BYTES.decode(value)
            # a write fills the bucket; a full bucket stays full, so the edge of the
            # write does not matter (policies are written while the port is idle)
            self.shapers[port].load(p.rate_inc, p.rate_burst)
        elif word == PORT_MAX_LEN:
            p.max_len = PortMaxLen.BYTES.decode(value)
        elif (
            PortPolicyReg.VLAN_LIST
            <= word
            < PortPolicyReg.VLAN_LIST + PortPolicyReg.VLAN_LIST_STRIDE * NUM_VLAN
        ):
            slot = (word - PortPolicyReg.VLAN_LIST) // PortPolicyReg.VLAN_LIST_STRIDE
            self._vlan_write(p, slot, value)
        else:
            for base, stride, name in (
                (PortPolicyReg.SMAC_BASE, PortPolicyReg.SMAC_STRIDE, "smacs"),
                (PortPolicyReg.MC_BASE, PortPolicyReg.MC_STRIDE, "mcs"),
            ):
                if base <= word < base + stride * NUM_SMAC:
                    slot, half = divmod(word - base, stride)
                    self._address_write(p, name, slot, half, value)

    def _address_write(self, p: PortPolicy, name: str, slot: int, half: int, value: int) -> None:
        """Half (LO or HI) of an address list slot; the list is the valid slots'
        addresses in slot order, rebuilt from the words as the hardware holds them."""
        words = self._list_words.setdefault((id(p), name), {})
        lo, hi = words.get(slot, (0, 0))
        words[slot] = (value, hi) if half == MacPair.LO else (lo, value)
        macs = []
        for i in sorted(words):
            lo, hi = words[i]
            if MacHiValid.VALID.decode(hi):
                macs.append(MacHiValid.MAC.decode(hi).to_bytes(2, "big") + lo.to_bytes(4, "big"))
        setattr(p, name, macs)

    def _vlan_write(self, p: PortPolicy, slot: int, value: int) -> None:
        words = self._list_words.setdefault((id(p), "vlans"), {})
        words[slot] = value
        valid = [words[i] for i in sorted(words) if VlanList.VALID.decode(words[i])]
        p.vlans = [VlanList.VID.decode(w) for w in valid]

    def lookup(self, mac: bytes, vid: int) -> int | None:
        for e in self.table:
            if e.valid and e.mac == mac and e.vid == vid:
                return e.port
        return None

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
