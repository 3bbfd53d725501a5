"""Reference behaviour of vf_dma that is not a byte layout (docs/ARCHITECTURE.md §3.1)."""

from __future__ import annotations

TPID_8021Q = b"\x81\x00"
ETH_IPV4 = b"\x08\x00"
IP_TCP, IP_UDP = 6, 17


def rx_flow_queue(frame: bytes, num_queues: int, hash_en: bool = True) -> int:
    """RX queue of ``frame`` under RX_STEER.HASH (§3.1): fold8(src ^ dst ^ ports) % queues."""
    if not hash_en or num_queues < 2:
        return 0
    off = 4 if frame[12:14] == TPID_8021Q else 0
    if frame[12 + off : 14 + off] != ETH_IPV4:
        return 0
    ip = 14 + off
    if len(frame) < ip + 20:
        return 0
    h = int.from_bytes(frame[ip + 12 : ip + 16], "big") ^ int.from_bytes(
        frame[ip + 16 : ip + 20], "big"
    )
    if frame[ip] == 0x45 and frame[ip + 9] in (IP_TCP, IP_UDP) and len(frame) >= ip + 24:
        h ^= int.from_bytes(frame[ip + 20 : ip + 24], "big")
    f = (h >> 24) ^ ((h >> 16) & 0xFF) ^ ((h >> 8) & 0xFF) ^ (h & 0xFF)
    return f % num_queues
