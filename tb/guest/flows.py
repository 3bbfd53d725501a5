"""UDP flows with sequence numbers: what a guest application sends and expects back.

Frames are built with scapy; the payload carries (flow id, sequence number) so
a receiver can tell loss, duplication and reordering apart from corruption.

The bytes after that header come from the flow's ``rng`` by default (one shared
stream: reproducible, but a receiver cannot recompute them). With
``payload_seed`` set they are :func:`flow_payload` of (seed, flow id, sequence)
instead, so a receiver (tb/guest/stack.py ``FlowReceiver``) recomputes the
expected bytes of any frame on its own and tells a corrupted one apart.
"""

from __future__ import annotations

import hashlib
import random
import struct
from dataclasses import dataclass, field

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

HEADER = struct.Struct("!IQ")  # flow id, sequence number
ETH_IP_UDP = 14 + 20 + 8
MIN_FRAME = 60  # without FCS
PAYLOAD_DOMAIN = b"udpflow-payload-v1"


def flow_payload(seed: int, flow_id: int, seq: int, length: int) -> bytes:
    """The ``length`` payload bytes after the flow header of (seed, flow id, seq).

    A pure function of its arguments (SHAKE-128 of them), so sender and
    receiver compute it independently; it consumes no shared RNG.
    """
    key = PAYLOAD_DOMAIN + struct.pack("!QIQ", seed & (2**64 - 1), flow_id, seq)
    return hashlib.shake_128(key).digest(length) if length > 0 else b""


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
    # Set: payload bytes are flow_payload(payload_seed, flow_id, seq, ...), not from rng.
    payload_seed: int | None = None

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
        if self.payload_seed is None:
            body += self.rng.randbytes(pay_len - len(body))
        else:
            body += flow_payload(self.payload_seed, self.flow_id, self.seq, pay_len - len(body))
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
