"""Functional coverage of the embedded switch: source port kind x destination kind x
tag case x policy outcome, sampled from tb/ref/eswitch_model's decision per frame.

Bins the switch cannot produce are listed by :func:`unreachable` with the reason
(from docs/ARCHITECTURE.md §3.2); every other bin must be hit by the random
regression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

from tb.ref.eswitch_model import BROADCAST, Decision, DropReason

SRC_KINDS = ("pf", "vf", "uplink")
# unicast hit on a pf / vf / uplink table entry, unicast miss, broadcast, multicast
DST_KINDS = ("pf", "vf", "uplink", "unknown", "bcast", "mcast")
# as received: no tag, 802.1Q tag, port VLAN inserted, tx_meta tag request, stacked
TAG_CASES = ("untagged", "tagged", "pvid", "meta", "qinq")
OUTCOMES = ("fwd", *(r.name for r in DropReason if r != DropReason.NONE))

Bin = tuple[str, str, str, str]


def unreachable(src: str, dst: str, tag: str, out: str) -> str | None:
    """Why bin (src, dst, tag, out) cannot occur, or None when it can."""
    func = src != "uplink"
    if not func and tag in ("pvid", "meta"):
        return "nothing is inserted on uplink ingress (no port VLAN, no tx_meta)"
    if not func and out in ("SPOOF_MAC", "SPOOF_VLAN", "VLAN_POLICY"):
        return "ingress policy applies to function ports only"
    if not func and out == "LINK_DOWN" and dst not in ("pf", "vf"):
        return "from the uplink, LINK_DOWN is only a unicast hit on a function with link down"
    if func and tag == "qinq" and out in ("fwd", "NO_ROUTE", "SPOOF_VLAN"):
        return "a stacked tag from a function is VLAN_POLICY before filter and routing"
    if tag in ("untagged", "pvid") and out in ("SPOOF_VLAN", "VLAN_POLICY"):
        return "an untagged frame is VLAN 0 (always allowed); port-VLAN frames are not filtered"
    if func and dst == "uplink" and out == "NO_ROUTE":
        return "a function's unicast hit on the uplink is forwarded, or TOO_BIG if it does not fit"
    if (src, dst) in (("pf", "pf"), ("uplink", "uplink")) and out == "fwd":
        return "a hit on the sender's own port is NO_ROUTE (one port of that kind)"
    return None


@dataclass
class EswitchCoverage:
    """Hit counts per bin; ``num_func`` tells which port numbers are the PF / uplink."""

    num_func: int
    hits: dict[Bin, int] = field(default_factory=dict)

    def port_kind(self, port: int) -> str:
        return "pf" if port == 0 else "uplink" if port == self.num_func else "vf"

    def classify(self, port: int, dmac: bytes, d: Decision) -> Bin:
        if dmac == BROADCAST:
            dst = "bcast"
        elif dmac[0] & 1:
            dst = "mcast"
        elif d.hit is None:
            dst = "unknown"
        else:
            dst = self.port_kind(d.hit)
        if d.qinq:
            tag = "qinq"
        elif d.tagged:
            tag = "tagged"
        elif d.meta_ins:
            tag = "meta"
        elif d.pvid:
            tag = "pvid"
        else:
            tag = "untagged"
        out = "fwd" if d.reason == DropReason.NONE else d.reason.name
        return (self.port_kind(port), dst, tag, out)

    def sample(self, port: int, dmac: bytes, d: Decision) -> Bin:
        b = self.classify(port, dmac, d)
        why = unreachable(*b)
        if why is not None:
            raise AssertionError(f"coverage bin {b} hit, but listed unreachable: {why}")
        self.hits[b] = self.hits.get(b, 0) + 1
        return b

    @staticmethod
    def all_bins() -> list[Bin]:
        return list(product(SRC_KINDS, DST_KINDS, TAG_CASES, OUTCOMES))

    def reachable(self) -> list[Bin]:
        return [b for b in self.all_bins() if unreachable(*b) is None]

    def holes(self) -> list[Bin]:
        return [b for b in self.reachable() if b not in self.hits]

    def summary(self) -> str:
        n = len(self.reachable())
        hit = n - len(self.holes())
        return (
            f"{len(self.all_bins())} bins, {n} reachable, {hit} hit ({100 * hit / n:.1f}%), "
            f"{sum(self.hits.values())} samples"
        )


def unreachable_table() -> dict[str, int]:
    """Reason -> number of bins it excludes (for the report)."""
    out: dict[str, int] = {}
    for b in EswitchCoverage.all_bins():
        why = unreachable(*b)
        if why is not None:
            out[why] = out.get(why, 0) + 1
    return out
