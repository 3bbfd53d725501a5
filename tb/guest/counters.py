"""What a guest stack (tb/guest/stack.py) counts: every frame sent and received, and
each foreign one by the :class:`ForeignReason` it was not for this interface."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum


class ForeignReason(Enum):
    """Why a received frame was not for this interface (or not understood by it)."""

    MALFORMED = "malformed"  # too short or inconsistent lengths
    OWN_FRAME = "own_frame"  # source MAC is this interface's (a loop, or someone spoofing it)
    OTHER_MAC = "other_mac"  # unicast to another MAC
    MULTICAST = "multicast"  # a multicast MAC other than broadcast (no groups are joined)
    VLAN_MISMATCH = "vlan_mismatch"  # tag missing, unexpected, or another VID
    ETHERTYPE = "ethertype"  # neither IPv4 nor ARP
    ARP_UNSUPPORTED = "arp_unsupported"  # not Ethernet/IPv4 ARP, or an unknown opcode
    ARP_OTHER_TARGET = "arp_other_target"  # ARP about hosts we neither are nor cache
    IP_CHECKSUM = "ip_checksum"
    IP_FRAGMENT = "ip_fragment"  # no reassembly
    OTHER_IP = "other_ip"  # IPv4 to another address
    IP_PROTOCOL = "ip_protocol"  # neither ICMP nor UDP
    ICMP_CHECKSUM = "icmp_checksum"
    ICMP_TYPE = "icmp_type"  # neither echo request nor echo reply
    ECHO_BROADCAST = "echo_broadcast"  # echo request to a broadcast address (ignored, as Linux)
    ECHO_REPLY_UNMATCHED = "echo_reply_unmatched"  # reply to no ping of ours
    UDP_CHECKSUM = "udp_checksum"  # only with InterfaceConfig.drop_bad_udp_checksum
    UDP_NO_LISTENER = "udp_no_listener"


@dataclass
class StackCounters:
    """Everything a stack did, in frames (bytes where named)."""

    tx_frames: int = 0
    tx_bytes: int = 0
    tx_no_route: int = 0
    rx_frames: int = 0
    rx_bytes: int = 0
    rx_consumed: int = 0  # taken by ARP, ICMP or a UDP listener
    arp_requests_sent: int = 0
    arp_replies_sent: int = 0
    arp_announcements_sent: int = 0  # gratuitous
    arp_requests_received: int = 0  # for our address
    arp_replies_received: int = 0  # to us
    arp_gratuitous_received: int = 0
    arp_updates: int = 0  # a cached entry's MAC changed
    arp_conflicts: int = 0  # someone else claims our address
    arp_queued: int = 0
    arp_released: int = 0
    arp_queue_drops: int = 0  # oldest frame pushed out of a full queue
    arp_unresolved_drops: int = 0  # frames dropped when resolution gave up
    arp_expired: int = 0
    icmp_echo_requests_received: int = 0
    icmp_echo_replies_sent: int = 0
    icmp_echo_requests_sent: int = 0
    icmp_echo_replies_received: int = 0
    udp_sent: int = 0
    udp_received: int = 0
    udp_checksum_errors: int = 0
    foreign: dict[ForeignReason, int] = field(default_factory=dict)

    def count_foreign(self, reason: ForeignReason) -> None:
        self.foreign[reason] = self.foreign.get(reason, 0) + 1

    def foreign_total(self) -> int:
        return sum(self.foreign.values())

    def summary(self) -> str:
        """Non-zero counters, one ``name value`` per line; foreign ones by reason."""
        lines = [
            f"{f.name} {getattr(self, f.name)}"
            for f in fields(self)
            if f.name != "foreign" and getattr(self, f.name)
        ]
        lines += [f"foreign.{r.value} {n}" for r, n in sorted(self.foreign.items(), key=str)]
        return "\n".join(lines)
