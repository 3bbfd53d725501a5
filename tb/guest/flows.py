"""UDP flows with sequence numbers: what a guest application sends and expects back.

Frames are built with scapy; the payload carries (flow id, sequence number) so
a receiver can tell loss, duplication and reordering apart from corruption.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

HEADER = struct.Struct("!IQ")  # flow id, sequence number
ETH_IP_UDP = 14 + 20 + 8
MIN_FRAME = 60  # without FCS


@dataclass
class UdpFlow:
    """One direction of a UDP conversation between two endpoints."""

    flow_id: int
    src_mac: str
    dst_mac: str
    src_ip: str
    dst_ip: str
    sport: int = 5000
    dport: int = 6000
    vlan: int | None = None
    seq: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def frame(self, size: int) -> bytes:
        """Next frame of exactly ``size`` bytes (without FCS), 60..9018."""
        eth = Ether(src=self.src_mac, dst=self.dst_mac)
        if self.vlan is not None:
            eth = eth / Dot1Q(vlan=self.vlan)
        hdr = len(eth) + 20 + 8
        pay_len = size - hdr
        if pay_len < HEADER.size:
            raise ValueError(f"frame size {size} too small for a flow header")
        body = HEADER.pack(self.flow_id, self.seq)
        body += self.rng.randbytes(pay_len - len(body))
        pkt = eth / IP(src=self.src_ip, dst=self.dst_ip) / UDP(sport=self.sport, dport=self.dport)
        raw = bytes(pkt / Raw(body))
        self.seq += 1
        assert len(raw) == size, (len(raw), size)
        return raw


def parse_flow(frame: bytes) -> tuple[int, int] | None:
    """(flow id, sequence) of a frame built by :class:`UdpFlow`, via scapy's parse."""
    pkt = Ether(frame)
    if UDP not in pkt or Raw not in pkt:
        return None
    load = bytes(pkt[Raw].load)
    if len(load) < HEADER.size:
        return None
    return HEADER.unpack_from(load)
