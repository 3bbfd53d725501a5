"""Frames and MAC addresses of the eswitch tests and benches (tb/eswitch/harness.py).

Function ``p`` owns ``mac_of(p)``; ``ext_mac(i)`` are hosts behind the uplink that
no table entry names. Every builder makes a frame of an exact length, runts too.
"""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

PATTERN = bytes(range(256)) * 40


def mac_of(port: int) -> str:
    return f"02:00:00:00:00:{port + 1:02x}"


def ext_mac(i: int) -> str:
    return f"0a:00:00:00:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}"


def udp_frame(
    dst: str, src: str, seq: int, size: int, vid: int | None = None, pcp: int = 0
) -> bytes:
    """An Ethernet/IP/UDP frame of exactly ``size`` bytes (>= 42, +4 when tagged)."""
    eth = Ether(dst=dst, src=src)
    if vid is not None:
        eth = eth / Dot1Q(vlan=vid, prio=pcp)
    pkt = eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=2000)
    hdr = bytes(pkt)
    body = seq.to_bytes(4, "big") + bytes(
        (seq + i) & 0xFF for i in range(max(0, size - len(hdr) - 4))
    )
    frame = bytes(pkt / Raw(body))
    return frame[:size] if len(frame) > size else frame


def raw_frame(dst: str, src: str, seq: int, size: int, etype: int = 0x88B5) -> bytes:
    """Arbitrary-length frame (runts included): header then a counting payload."""
    base = (
        bytes.fromhex(dst.replace(":", ""))
        + bytes.fromhex(src.replace(":", ""))
        + etype.to_bytes(2, "big")
    )
    body = seq.to_bytes(4, "big") + bytes((seq * 7 + i) & 0xFF for i in range(max(0, size)))
    return (base + body)[:size]


def eth_frame(
    dst: str, src: str, size: int, seq: int, tags: tuple[tuple[int, int], ...] = ()
) -> bytes:
    """``size`` bytes: MACs, the given (TPID, TCI) tags, ethertype 0x88B5, then the
    sequence number and a pattern. Truncated below a full header, so runts too."""
    hdr = bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", ""))
    for tpid, tci in tags:
        hdr += tpid.to_bytes(2, "big") + tci.to_bytes(2, "big")
    hdr += (0x88B5).to_bytes(2, "big") + (seq & 0xFFFFFFFF).to_bytes(4, "big")
    body = PATTERN[seq & 0xFF : (seq & 0xFF) + max(0, size - len(hdr))]
    return (hdr + body)[:size]
