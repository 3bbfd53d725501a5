"""The soak's records: what an injection did and expects, and what a monitor found."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# Loss reasons a window may make legitimate (docs/ROBUSTNESS.md, "monitors"):
# frame-level ones as the vswitch and the emulated device name a drop, and counters.
SWITCH_OVER_LOSSES = frozenset({"rx_not_ready", "no_such_vm", "rx_out_of_buf"})
LINK_DOWN = "link_down"  # the switch's DROP_LINK_DOWN, summed over its ports
# A TX frame the VF completed with an error (its buffer read answered with a bus error,
# ARCHITECTURE §3.1: not sent, ERR_BUS_READ): named by vendor A's plugin (tx_hw_errors)
TX_BUS_ERROR = "tx_bus_error"


def rxq_drops(vm: str) -> str:
    """Counter loss reason: the VM's VF dropped a frame the switch sent it (no buffer,
    queue closing): PF-window VF_STATS RX_DROPS + RX_ABANDONED."""
    return f"rxq_drops:{vm}"


@dataclass(frozen=True)
class Expect:
    """A counter the injection moves: its delta must be ``want`` (or at least it)."""

    counter: str
    want: int
    exact: bool = True

    def holds(self, got: int) -> bool:
        return got == self.want if self.exact else got >= self.want

    def text(self) -> str:
        return f"{self.counter} {'==' if self.exact else '>='} {self.want}"


@dataclass
class InjectionRecord:
    """One injected attack or fault: when, on what, and what the monitors should expect."""

    kind: str
    category: str  # "attack" or "fault"
    target: str  # the VM (or "uplink") it acts on
    start_ns: int
    end_ns: int = -1  # -1 while it runs
    tolerated: frozenset[str] = frozenset()  # loss reasons legitimate in its window
    excused: frozenset[str] = frozenset()  # VMs whose queues may stall in its window
    expects: list[Expect] = field(default_factory=list)
    measured: dict[str, int] = field(default_factory=dict)  # counter deltas
    # This injection's attack frames: where they must arrive (exactly / at most).
    attack_id: int | None = None
    arrive_exact: dict[str, int] = field(default_factory=dict)
    arrive_max: dict[str, int] = field(default_factory=dict)
    counter_losses: dict[str, int] = field(default_factory=dict)  # tolerated counter deltas
    notes: list[str] = field(default_factory=list)

    def active(self, t_ns: int, grace_ns: int = 0) -> bool:
        end = self.end_ns if self.end_ns >= 0 else 1 << 62
        return self.start_ns <= t_ns <= end + grace_ns


@dataclass(frozen=True)
class Violation:
    """A broken invariant: which monitor, under which injection (or none), what."""

    monitor: str
    kind: str  # the injection kind active then, or "-"
    detail: str
    t_ns: int = 0

    def line(self) -> str:
        return f"[{self.monitor}] ({self.kind}) t={self.t_ns} ns: {self.detail}"


# Attack frames: UDP 666 -> 666 from 10.66.66.66, payload "ATTK", attack id, index.
ATTACK_PORT = 666
ATTACK_MAGIC = b"ATTK"
ATTACK_HDR = struct.Struct("!4sII")
VLAN_TPIDS = (b"\x81\x00", b"\x88\xa8", b"\x91\x00")


def attack_payload(attack_id: int, index: int) -> bytes:
    return ATTACK_HDR.pack(ATTACK_MAGIC, attack_id, index) + bytes(48)


@dataclass(frozen=True)
class FrameView:
    """The fields the monitors need, parsed by hand (no scapy on every frame)."""

    dst: bytes
    src: bytes
    tagged: bool
    udp_dport: int | None
    payload: bytes

    @property
    def unicast(self) -> bool:
        return not self.dst[0] & 1

    @classmethod
    def parse(cls, frame: bytes) -> FrameView:
        """Any number of VLAN tags (802.1Q, 802.1ad, the old 0x9100) is skipped: a
        frame with one is ``tagged``, and its payload is still found."""
        off = 12
        while frame[off : off + 2] in VLAN_TPIDS and len(frame) >= off + 6:
            off += 4
        tagged = off > 12
        dport, payload = None, b""
        if frame[off : off + 2] == b"\x08\x00" and len(frame) >= off + 2 + 28:
            ip = off + 2
            ihl = (frame[ip] & 0xF) * 4
            if frame[ip + 9] == 17 and len(frame) >= ip + ihl + 8:
                udp = ip + ihl
                dport = int.from_bytes(frame[udp + 2 : udp + 4], "big")
                payload = frame[udp + 8 :]
        return cls(frame[:6], frame[6:12], tagged, dport, payload)

    def describe(self) -> str:
        """What a violation names: destination, tags, UDP port, payload head."""
        tag = ", tagged" if self.tagged else ""
        udp = f", UDP to {self.udp_dport}" if self.udp_dport is not None else ", not UDP"
        return f"to {self.dst.hex(':')}{tag}{udp}, payload {self.payload[:12].hex()}"

    def attack(self) -> tuple[int, int] | None:
        """(attack id, index) of an attack frame."""
        if self.udp_dport != ATTACK_PORT or len(self.payload) < ATTACK_HDR.size:
            return None
        magic, aid, idx = ATTACK_HDR.unpack_from(self.payload)
        return (aid, idx) if magic == ATTACK_MAGIC else None
