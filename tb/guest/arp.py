"""The guest stack's neighbour table (tb/guest/stack.py): resolved entries, and bounded
queues of frames waiting for a next hop's MAC."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass
class ArpEntry:
    mac: str
    updated: float


@dataclass
class PendingResolution:
    """Frames waiting for one next hop's MAC, and the requests sent for it."""

    frames: deque[bytes]
    last_request: float
    requests: int = 1


class ArpCache:
    """The neighbour table: resolved entries and bounded per-next-hop queues."""

    def __init__(self, queue_len: int, timeout: float | None) -> None:
        self.queue_len = queue_len
        self.timeout = timeout
        self.entries: dict[str, ArpEntry] = {}
        self.pending: dict[str, PendingResolution] = {}

    def lookup(self, ip: str, now: float) -> tuple[str | None, bool]:
        """(the MAC of ``ip`` or None, whether an entry had expired and was removed)."""
        entry = self.entries.get(ip)
        if entry is None:
            return None, False
        if self.timeout is not None and now - entry.updated >= self.timeout:
            del self.entries[ip]
            return None, True
        return entry.mac, False

    def known(self, ip: str) -> bool:
        """A resolved or pending entry exists (what RFC 826 updates from any ARP)."""
        return ip in self.entries or ip in self.pending

    def update(self, ip: str, mac: str, now: float) -> tuple[bool, list[bytes]]:
        """Set ``ip``'s MAC; (did an existing MAC change, frames released from the queue)."""
        old = self.entries.get(ip)
        self.entries[ip] = ArpEntry(mac, now)
        waiting = self.pending.pop(ip, None)
        released = list(waiting.frames) if waiting is not None else []
        return old is not None and old.mac != mac, released

    def enqueue(self, ip: str, frame: bytes, now: float) -> tuple[bool, int]:
        """Queue ``frame`` for ``ip``; (is this a new resolution, frames pushed out)."""
        waiting = self.pending.get(ip)
        new = waiting is None
        if waiting is None:
            waiting = self.pending[ip] = PendingResolution(deque(), now)
        dropped = 0
        while len(waiting.frames) >= self.queue_len:
            waiting.frames.popleft()
            dropped += 1
        waiting.frames.append(frame)
        return new, dropped
