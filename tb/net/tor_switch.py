"""A top-of-rack switch: a learning Ethernet bridge between hosts' uplinks and the outside.

The model of docs/MIGRATION.md §3. ``TorSwitch.receive(port, frame, now)`` takes
one frame that arrived on ``port`` at time ``now`` and returns where it leaves
(:class:`Forwarding`): the source is learned per (VLAN, MAC) → port, a unicast
destination learned on another port goes there only, broadcast, multicast and
unknown unicast flood to every other port that is up, and a source seen on a new
port (a RARP or gratuitous ARP after a migration) moves its entry at once. An
entry not refreshed for ``ageing_time`` is forgotten: exactly ``ageing_time`` old
it still forwards, one tick older the next frame to it floods. Time is counted in
the unit the switch is configured with (ns of simulated time, or clock cycles).

No cocotb here: ``tb/datacenter/`` binds the ports to the hosts' uplink stream
channels and to the outside host and calls ``receive`` once per frame.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

ETH_HEADER = 14
TPID_8021Q = 0x8100
VID_MASK = 0x0FFF
DEFAULT_AGEING_NS = 300 * 10**9  # IEEE 802.1D's recommended ageing time, 300 s
DEFAULT_MAX_ENTRIES = 8192


class TimeUnit(StrEnum):
    NS = "ns"
    CYCLES = "cycles"


class DropReason(StrEnum):
    RUNT = "runt"  # shorter than an Ethernet header (a tagged frame: header and tag)
    SAME_PORT = "same_port"  # unicast to an address learned on the port it came from
    PORT_DOWN = "port_down"  # arrived on a port that is down, or its only egress is down


@dataclass(frozen=True)
class TorConfig:
    """``ports`` ports (0 .. ports-1), optionally named; ``ageing_time`` in ``time_unit``
    (for CYCLES, ``cycle_ns`` says how long a cycle is, for reports)."""

    ports: int
    ageing_time: int = DEFAULT_AGEING_NS
    time_unit: TimeUnit = TimeUnit.NS
    cycle_ns: float = 4.0
    max_entries: int = DEFAULT_MAX_ENTRIES
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.ports < 2:
            raise ValueError(f"a switch needs at least 2 ports, not {self.ports}")
        if self.ageing_time <= 0:
            raise ValueError(f"ageing_time must be positive, not {self.ageing_time}")
        if self.max_entries <= 0:
            raise ValueError(f"max_entries must be positive, not {self.max_entries}")
        if self.cycle_ns <= 0:
            raise ValueError(f"cycle_ns must be positive, not {self.cycle_ns}")
        if self.names and len(self.names) != self.ports:
            raise ValueError(f"{len(self.names)} names for {self.ports} ports")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"port names must differ: {self.names}")

    def port_name(self, port: int) -> str:
        return self.names[port] if self.names else f"port{port}"

    @property
    def ageing_ns(self) -> float:
        """The ageing time in ns."""
        if self.time_unit is TimeUnit.NS:
            return float(self.ageing_time)
        return self.ageing_time * self.cycle_ns


@dataclass
class PortCounters:
    """What crossed one port: into the switch (rx) and out of it (tx)."""

    rx_frames: int = 0
    rx_bytes: int = 0
    tx_frames: int = 0
    tx_bytes: int = 0
    flooded: int = 0  # frames received here that were flooded
    drops: Counter[DropReason] = field(default_factory=Counter)  # frames received here


@dataclass
class FdbEntry:
    port: int
    last_seen: int  # time of the latest frame from the address


@dataclass(frozen=True)
class Move:
    """An address seen on another port than the one it was learned on."""

    vlan: int
    mac: str
    old_port: int
    new_port: int
    time: int


@dataclass(frozen=True)
class Forwarding:
    """Where one frame leaves: ``ports`` (empty when dropped), whether it was flooded,
    and the drop reason when it leaves nowhere."""

    ports: tuple[int, ...]
    flooded: bool = False
    drop: DropReason | None = None


def mac_text(mac: int) -> str:
    return ":".join(f"{b:02x}" for b in mac.to_bytes(6, "big"))


def mac_value(mac: str | bytes | int) -> int:
    """A MAC address as a 48-bit integer, from ``"aa:bb:cc:dd:ee:ff"``, 6 bytes or an int."""
    if isinstance(mac, int):
        if not 0 <= mac < 1 << 48:
            raise ValueError(f"MAC {mac:#x} is not 48 bits")
        return mac
    if isinstance(mac, bytes | bytearray):
        if len(mac) != 6:
            raise ValueError(f"MAC of {len(mac)} bytes: {bytes(mac).hex()}")
        return int.from_bytes(mac, "big")
    parts = mac.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"not a MAC address: {mac!r}")
    return int("".join(parts), 16)


def frame_vlan(frame: bytes) -> int:
    """The frame's VLAN id: an 802.1Q tag's VID, 0 if untagged (the caller checked its length)."""
    if int.from_bytes(frame[12:14], "big") == TPID_8021Q:
        return int.from_bytes(frame[14:16], "big") & VID_MASK
    return 0


class TorSwitch:
    """A learning switch with ageing, flooding, moves and per-port counters."""

    def __init__(self, cfg: TorConfig) -> None:
        self.cfg = cfg
        self.counters = [PortCounters() for _ in range(cfg.ports)]
        self._fdb: dict[tuple[int, int], FdbEntry] = {}
        self._up = [True] * cfg.ports
        self.moves: list[Move] = []
        self.aged = 0  # entries forgotten after ageing_time
        self.learn_full = 0  # addresses not learned: the table was full
        self._now = 0

    # -- ports ----------------------------------------------------------------------------

    def _check_port(self, port: int) -> None:
        if not 0 <= port < self.cfg.ports:
            raise ValueError(f"port {port}: the switch has ports 0..{self.cfg.ports - 1}")

    def set_port_up(self, port: int, up: bool) -> None:
        """Link state of a port: a down port takes and sends nothing."""
        self._check_port(port)
        self._up[port] = up

    def port_up(self, port: int) -> bool:
        self._check_port(port)
        return self._up[port]

    # -- the table ------------------------------------------------------------------------

    def _expired(self, entry: FdbEntry, now: int) -> bool:
        return now - entry.last_seen > self.cfg.ageing_time

    def age(self, now: int) -> int:
        """Forget every entry older than the ageing time at ``now``; how many went."""
        self._advance(now)
        gone = [k for k, e in self._fdb.items() if self._expired(e, now)]
        for k in gone:
            del self._fdb[k]
        self.aged += len(gone)
        return len(gone)

    def lookup(self, mac: str | bytes | int, now: int, vlan: int = 0) -> int | None:
        """The port ``mac`` is learned on in ``vlan`` at ``now``, or None (unknown or aged)."""
        self._advance(now)
        key = (vlan, mac_value(mac))
        entry = self._fdb.get(key)
        if entry is None:
            return None
        if self._expired(entry, now):
            del self._fdb[key]
            self.aged += 1
            return None
        return entry.port

    def table(self, now: int) -> dict[tuple[int, str], int]:
        """Every live entry at ``now``: (VLAN, MAC text) → port."""
        self.age(now)
        return {(v, mac_text(m)): e.port for (v, m), e in sorted(self._fdb.items())}

    def _advance(self, now: int) -> None:
        if now < self._now:
            raise ValueError(f"time went backwards: {now} after {self._now} ({self.cfg.time_unit})")
        self._now = now

    def _learn(self, vlan: int, src: int, port: int, now: int) -> None:
        if src >> 40 & 1:  # a group address is never a source to learn
            return
        key = (vlan, src)
        entry = self._fdb.get(key)
        if entry is not None and not self._expired(entry, now):
            if entry.port != port:
                self.moves.append(Move(vlan, mac_text(src), entry.port, port, now))
                entry.port = port
            entry.last_seen = now
            return
        if entry is not None:  # aged: forget it, then learn afresh
            del self._fdb[key]
            self.aged += 1
        if len(self._fdb) >= self.cfg.max_entries:
            self.age(now)
            if len(self._fdb) >= self.cfg.max_entries:
                self.learn_full += 1
                return
        self._fdb[key] = FdbEntry(port, now)

    # -- frames ---------------------------------------------------------------------------

    def receive(self, port: int, frame: bytes, now: int) -> Forwarding:
        """One frame arrived on ``port`` at ``now``: learn its source, count it, and say
        where it leaves (the caller sends it there; ``tx`` counters count it here)."""
        self._check_port(port)
        self._advance(now)
        c = self.counters[port]
        c.rx_frames += 1
        c.rx_bytes += len(frame)
        if not self._up[port]:
            return self._drop(c, DropReason.PORT_DOWN)
        tagged = len(frame) >= ETH_HEADER and int.from_bytes(frame[12:14], "big") == TPID_8021Q
        if len(frame) < ETH_HEADER + (4 if tagged else 0):
            return self._drop(c, DropReason.RUNT)
        vlan = frame_vlan(frame)
        dst = int.from_bytes(frame[0:6], "big")
        src = int.from_bytes(frame[6:12], "big")
        self._learn(vlan, src, port, now)
        out: int | None = None
        if not dst >> 40 & 1:  # unicast: a known destination goes to its port only
            out = self.lookup(dst, now, vlan)
        if out is None:
            ports = tuple(p for p in range(self.cfg.ports) if p != port and self._up[p])
            c.flooded += 1
            self._sent(ports, len(frame))
            return Forwarding(ports, flooded=True)
        if out == port:
            return self._drop(c, DropReason.SAME_PORT)
        if not self._up[out]:
            return self._drop(c, DropReason.PORT_DOWN)
        self._sent((out,), len(frame))
        return Forwarding((out,))

    def _drop(self, c: PortCounters, reason: DropReason) -> Forwarding:
        c.drops[reason] += 1
        return Forwarding((), drop=reason)

    def _sent(self, ports: tuple[int, ...], size: int) -> None:
        for p in ports:
            self.counters[p].tx_frames += 1
            self.counters[p].tx_bytes += size

    def summary(self) -> str:
        lines = []
        for p, c in enumerate(self.counters):
            drops = ", ".join(f"{r} {n}" for r, n in sorted(c.drops.items())) or "none"
            lines.append(
                f"{self.cfg.port_name(p)}: rx {c.rx_frames} ({c.rx_bytes} B), tx {c.tx_frames} "
                f"({c.tx_bytes} B), flooded {c.flooded}, drops {drops}"
            )
        lines.append(
            f"moves {len(self.moves)}, aged {self.aged}, not learned (full) {self.learn_full}"
        )
        return "\n".join(lines)
