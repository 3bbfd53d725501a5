"""The PF driver's encoder of switch policy: ``PortPolicy`` and forwarding entries
to register writes, field by field from the generated register model
(``tb/ref/regs.py``, from ``rtl/regs/eswitch.rdl``).

Offsets are inside the switch window (PF address = ``Esw.BASE`` + offset). The
reference model (``tb/ref/eswitch_model.py``) never calls this: it decodes the
writes with its own code (``EswitchModel.reg_write``), so an encoding error here
shows as a disagreement, not as the same mistake on both sides.
"""

from __future__ import annotations

from tb.ref.eswitch_model import PortPolicy, mac_bytes
from tb.ref.regs import (
    EswCtrl,
    EswWindow,
    MacEntry,
    MacEntryCtrl,
    MacEntryHi,
    MacEntryVlan,
    MacHiValid,
    MacPair,
    PortCtrl,
    PortMaxLen,
    PortPolicyReg,
    PortVlan,
    RateBurst,
    RateInc,
    VlanList,
)

Writes = list[tuple[int, int]]

LINK_MODE = {"auto": 0, "enable": 1, "disable": 2}


def port_base(port: int) -> int:
    return EswWindow.PORT_BASE + EswWindow.PORT_STRIDE * port


def port_ctrl(pol: PortPolicy) -> int:
    """``PORT_CTRL`` of a policy."""
    bits = (
        (PortCtrl.SPOOFCHK, pol.spoofchk),
        (PortCtrl.TRUST, pol.trust),
        (PortCtrl.VLAN_FILTER, pol.vlan_filter),
        (PortCtrl.VLAN_STRIP, pol.vlan_strip),
        (PortCtrl.RX_UCAST, pol.rx_ucast),
        (PortCtrl.RX_MCAST, pol.rx_mcast),
        (PortCtrl.RX_BCAST, pol.rx_bcast),
        (PortCtrl.RX_ALLMULTI, pol.rx_allmulti),
        (PortCtrl.RX_PROMISC, pol.rx_promisc),
    )
    value = PortCtrl.LINK.encode(LINK_MODE[pol.link])
    for f, on in bits:
        value |= f.encode(int(on))
    return value


def port_vlan(pol: PortPolicy) -> int:
    if pol.pvid is None:
        return 0
    return PortVlan.ENABLE.encode(1) | PortVlan.PCP.encode(pol.pcp) | PortVlan.VID.encode(pol.pvid)


def address_words(mac: bytes | None) -> tuple[int, int]:
    """``LO``, ``HI`` of an address list entry (``HI`` with its valid bit); 0, 0 when empty."""
    if mac is None:
        return 0, 0
    return (
        int.from_bytes(mac[2:], "big"),
        MacHiValid.VALID.encode(1) | MacHiValid.MAC.encode(int.from_bytes(mac[:2], "big")),
    )


def _list_writes(base: int, stride: int, entries: list[bytes], slots: int) -> Writes:
    w: Writes = []
    for i in range(slots):
        lo, hi = address_words(entries[i] if i < len(entries) else None)
        w += [(base + stride * i + MacPair.LO, lo), (base + stride * i + MacPair.HI, hi)]
    return w


def policy_writes(port: int, pol: PortPolicy) -> Writes:
    """Every register of ``port``'s policy block, each list slot included (an unused
    slot is written invalid), so the writes replace whatever was there."""
    b = port_base(port)
    rate = RateInc.ENABLE.encode(int(pol.rate_enable)) | RateInc.INC.encode(pol.rate_inc)
    w: Writes = [
        (b + PortPolicyReg.PORT_CTRL, port_ctrl(pol)),
        (b + PortPolicyReg.PORT_VLAN, port_vlan(pol)),
        (b + PortPolicyReg.RATE_INC, rate),
        (b + PortPolicyReg.RATE_BURST, RateBurst.BYTES.encode(pol.rate_burst)),
        (b + PortPolicyReg.PORT_MAX_LEN, PortMaxLen.BYTES.encode(pol.max_len)),
    ]
    w += _list_writes(
        b + PortPolicyReg.SMAC_BASE, PortPolicyReg.SMAC_STRIDE, pol.smacs, PortPolicyReg.SMAC_COUNT
    )
    for i in range(PortPolicyReg.VLAN_LIST_COUNT):
        v = pol.vlans[i] if i < len(pol.vlans) else None
        value = 0 if v is None else VlanList.VALID.encode(1) | VlanList.VID.encode(v)
        w.append((b + PortPolicyReg.VLAN_LIST + PortPolicyReg.VLAN_LIST_STRIDE * i, value))
    w += _list_writes(
        b + PortPolicyReg.MC_BASE, PortPolicyReg.MC_STRIDE, pol.mcs, PortPolicyReg.MC_COUNT
    )
    return w


def max_len_writes(port: int, max_len: int) -> Writes:
    """``PORT_MAX_LEN`` alone (e.g. the uplink's, whose other policy does not apply)."""
    return [(port_base(port) + PortPolicyReg.PORT_MAX_LEN, PortMaxLen.BYTES.encode(max_len))]


def entry_writes(index: int, mac: str | bytes, vid: int, port: int, valid: bool = True) -> Writes:
    """MAC table entry ``index``: (``mac``, ``vid``) forwarded to ``port``."""
    m = mac_bytes(mac)
    base = EswWindow.MACT_BASE + EswWindow.MACT_STRIDE * index
    ctrl = MacEntryCtrl.VALID.encode(int(valid)) | MacEntryCtrl.PORT.encode(port)
    return [
        (base + MacEntry.LO, int.from_bytes(m[2:], "big")),
        (base + MacEntry.HI, MacEntryHi.MAC.encode(int.from_bytes(m[:2], "big"))),
        (base + MacEntry.VLAN, MacEntryVlan.VID.encode(vid)),
        (base + MacEntry.CTRL, ctrl),
    ]


def uplink_link_writes(up: bool) -> Writes:
    return [(EswWindow.ESW_CTRL, EswCtrl.UPLINK_LINK.encode(int(up)))]
