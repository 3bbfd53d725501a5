"""A guest network stack on scapy: ARP, ICMP echo and UDP flows on one interface.

Pure Python and synchronous: a :class:`NetStack` is given the netdev below it as
``transmit(frame)`` and a clock as ``now()`` (any unit, e.g. simulated ns); the
netdev calls :meth:`NetStack.receive` for every frame it delivers. Nothing here
waits: ARP requests are retried when the caller calls :meth:`NetStack.poll`.
The same class is the outside network's host (tb/net/external_host.py), with
the NIC's uplink as its transmit.

Every received frame is either consumed by a protocol or counted as foreign
with a :class:`ForeignReason`, so ``rx_frames == rx_consumed + sum(foreign)``.
Its parts: the neighbour table (tb/guest/arp.py), the counters
(tb/guest/counters.py), ping sessions (tb/guest/ping.py); the receiving end of
UDP flows is tb/guest/flow_receiver.py. See docs/GUEST_STACK.md.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from scapy.layers.inet import ICMP, IP, in4_chksum
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Raw
from scapy.utils import checksum

from tb.guest.arp import ArpCache, PendingResolution
from tb.guest.counters import ForeignReason, StackCounters
from tb.guest.flows import MIN_FRAME, UdpFlow, flow_payload
from tb.guest.ping import PING_PAYLOAD_FLOW, PING_PAYLOAD_LEN, PingReply, PingSession

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
UNRESOLVED_MAC = "00:00:00:00:00:00"  # destination of a frame built before ARP resolved it
LIMITED_BROADCAST = "255.255.255.255"
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ARP_REQUEST = 1
ARP_REPLY = 2
ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
IPPROTO_ICMP = 1
IPPROTO_UDP = 17

Transmit = Callable[[bytes], None]
Clock = Callable[[], float]


def zero_clock() -> float:
    return 0.0


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def _norm_mac(mac: str) -> str:
    raw = _mac_bytes(mac)
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return ":".join(f"{b:02x}" for b in raw)


def with_vlan_tag(frame: bytes, tci: int) -> bytes:
    """``frame`` with an 802.1Q tag inserted (for a netdev whose offload stripped it)."""
    if not 0 <= tci <= 0xFFFF:
        raise ValueError(f"VLAN TCI {tci:#x} does not fit 16 bits")
    return frame[:12] + struct.pack("!HH", ETH_P_8021Q, tci) + frame[12:]


class TxOutcome(Enum):
    SENT = "sent"
    QUEUED = "queued"  # waiting for ARP resolution of the next hop
    NO_ROUTE = "no_route"  # off-link destination and no gateway: dropped, counted


@dataclass(frozen=True)
class InterfaceConfig:
    """One interface: address, optional VLAN, ARP behaviour. Times in the caller's unit."""

    mac: str
    ip: str
    prefix_len: int = 24
    gateway: str | None = None
    vlan: int | None = None  # frames are sent tagged with this VID and must arrive tagged so
    arp_queue_len: int = 16  # frames held per unresolved next hop; the oldest is dropped
    arp_retry_interval: float = 1_000_000.0  # between ARP requests (poll()); 1 ms in ns
    arp_max_requests: int = 3  # then the queued frames are dropped as unresolved
    arp_timeout: float | None = None  # entry lifetime; None: entries never expire
    drop_bad_udp_checksum: bool = False  # False: deliver and count, so receivers see corruption

    def __post_init__(self) -> None:
        ipaddress.IPv4Address(self.ip)
        if self.gateway is not None:
            ipaddress.IPv4Address(self.gateway)
        if self.vlan is not None and not 1 <= self.vlan <= 4094:
            raise ValueError(f"VLAN {self.vlan} outside 1..4094")
        if self.arp_queue_len < 1 or self.arp_max_requests < 1:
            raise ValueError("arp_queue_len and arp_max_requests must be at least 1")
        object.__setattr__(self, "mac", _norm_mac(self.mac))


@dataclass(frozen=True)
class UdpDatagram:
    """A UDP datagram the stack accepted, as handed to a listener."""

    src_mac: str
    src_ip: str
    dst_ip: str
    sport: int
    dport: int
    vlan: int | None
    payload: bytes
    checksum_ok: bool
    frame: bytes


UdpHandler = Callable[[UdpDatagram], None]


@dataclass(frozen=True)
class _L2:
    """What the Ethernet layer parse left for the protocols."""

    src_mac: str
    vlan: int | None
    ethertype: int
    offset: int  # of the L3 header in the frame
    l3: Packet  # scapy's parse of what follows the Ethernet header (and tag)


class NetStack:
    """One interface (MAC, IPv4 address, optional VLAN) and its ARP, ICMP echo and UDP.

    ``transmit`` is the netdev below (a shell's TX, or the NIC uplink's wire);
    the netdev calls :meth:`receive`. ``now`` is the clock RTTs and ARP timers
    use. Frames are padded to 60 bytes (64 tagged), as a NIC would.
    """

    def __init__(
        self,
        config: InterfaceConfig,
        transmit: Transmit,
        *,
        now: Clock = zero_clock,
        name: str = "",
    ) -> None:
        self.config = config
        self.name = name or config.ip
        self._transmit = transmit
        self.now = now
        self.counters = StackCounters()
        self.arp = ArpCache(config.arp_queue_len, config.arp_timeout)
        self.pings: dict[int, PingSession] = {}
        # told (source IP, ident, seq) of every echo request this stack answers
        self.on_echo_request: Callable[[str, int, int], None] | None = None
        self._next_ident = 1
        self._udp: dict[int, UdpHandler] = {}
        self._network = ipaddress.IPv4Network(f"{config.ip}/{config.prefix_len}", strict=False)

    # ---------------------------------------------------------------- addresses

    @property
    def mac(self) -> str:
        return self.config.mac

    @property
    def ip(self) -> str:
        return self.config.ip

    def set_mac(self, mac: str, *, announce: bool = True) -> None:
        """Change the interface's MAC (e.g. after migration); announce it by gratuitous ARP."""
        self.config = replace(self.config, mac=mac)
        if announce:
            self.announce()

    def next_hop(self, dst_ip: str) -> str | None:
        """The IPv4 address to resolve for ``dst_ip`` (itself on-link, else the gateway)."""
        if dst_ip in (LIMITED_BROADCAST, str(self._network.broadcast_address)):
            return dst_ip
        if ipaddress.IPv4Address(dst_ip) in self._network:
            return dst_ip
        return self.config.gateway

    def _is_broadcast(self, ip: str) -> bool:
        return ip in (LIMITED_BROADCAST, str(self._network.broadcast_address))

    # ---------------------------------------------------------------- transmit

    def _eth(self, dst_mac: str, ethertype: int) -> Packet:
        eth = Ether(src=self.mac, dst=dst_mac)
        if self.config.vlan is None:
            eth.type = ethertype
            return eth
        return eth / Dot1Q(vlan=self.config.vlan, type=ethertype)

    def send_raw(self, frame: bytes) -> None:
        """Hand ``frame`` to the netdev as it is (padded to the minimum length)."""
        floor = MIN_FRAME + (4 if self.config.vlan is not None else 0)
        if len(frame) < floor:
            frame = frame + bytes(floor - len(frame))
        self.counters.tx_frames += 1
        self.counters.tx_bytes += len(frame)
        self._transmit(frame)

    def send_ip_frame(self, frame: bytes, dst_ip: str) -> TxOutcome:
        """Send a complete frame for ``dst_ip``: its destination MAC (bytes 0..5) is
        replaced by the next hop's, resolved by ARP first if need be."""
        hop = self.next_hop(dst_ip)
        if hop is None:
            self.counters.tx_no_route += 1
            return TxOutcome.NO_ROUTE
        if self._is_broadcast(hop):
            self.send_raw(_mac_bytes(BROADCAST_MAC) + frame[6:])
            return TxOutcome.SENT
        now = self.now()
        mac, expired = self.arp.lookup(hop, now)
        self.counters.arp_expired += expired
        if mac is not None:
            self.send_raw(_mac_bytes(mac) + frame[6:])
            return TxOutcome.SENT
        new, dropped = self.arp.enqueue(hop, frame, now)
        self.counters.arp_queued += 1
        self.counters.arp_queue_drops += dropped
        if new:
            self._arp_request(hop)
        return TxOutcome.QUEUED

    def _send_l3(self, dst_ip: str, l3: Packet) -> TxOutcome:
        return self.send_ip_frame(bytes(self._eth(UNRESOLVED_MAC, ETH_P_IP) / l3), dst_ip)

    # ---------------------------------------------------------------- ARP

    def _arp_frame(self, op: int, dst_mac: str, target_mac: str, target_ip: str) -> bytes:
        arp = ARP(op=op, hwsrc=self.mac, psrc=self.ip, hwdst=target_mac, pdst=target_ip)
        return bytes(self._eth(dst_mac, ETH_P_ARP) / arp)

    def _arp_request(self, ip: str) -> None:
        self.counters.arp_requests_sent += 1
        self.send_raw(self._arp_frame(ARP_REQUEST, BROADCAST_MAC, UNRESOLVED_MAC, ip))

    def announce(self) -> None:
        """Gratuitous ARP (an RFC 5227 announcement): who-has our IP, from our IP."""
        self.counters.arp_announcements_sent += 1
        self.send_raw(self._arp_frame(ARP_REQUEST, BROADCAST_MAC, UNRESOLVED_MAC, self.ip))

    def resolve(self, ip: str) -> str | None:
        """The cached MAC of ``ip``, or None after sending a request if none is pending."""
        mac, expired = self.arp.lookup(ip, self.now())
        self.counters.arp_expired += expired
        if mac is None and ip not in self.arp.pending:
            self.arp.pending[ip] = PendingResolution(deque(), self.now())
            self._arp_request(ip)
        return mac

    def poll(self) -> None:
        """Retry ARP requests due by ``arp_retry_interval``; give up after ``arp_max_requests``."""
        now = self.now()
        for ip, waiting in list(self.arp.pending.items()):
            if now - waiting.last_request < self.config.arp_retry_interval:
                continue
            if waiting.requests >= self.config.arp_max_requests:
                del self.arp.pending[ip]
                self.counters.arp_unresolved_drops += len(waiting.frames)
                continue
            waiting.requests += 1
            waiting.last_request = now
            self._arp_request(ip)

    def _arp_input(self, frame: bytes, l2: _L2) -> None:
        c = self.counters
        arp = l2.l3
        if len(frame) - l2.offset < 28 or not isinstance(arp, ARP):
            c.count_foreign(ForeignReason.MALFORMED)
            return
        if (arp.hwtype, arp.ptype, arp.hwlen, arp.plen) != (1, ETH_P_IP, 6, 4) or arp.op not in (
            ARP_REQUEST,
            ARP_REPLY,
        ):
            c.count_foreign(ForeignReason.ARP_UNSUPPORTED)
            return
        sender_ip, sender_mac, target_ip = arp.psrc, _norm_mac(arp.hwsrc), arp.pdst
        now = self.now()
        if sender_ip == self.ip:
            c.arp_conflicts += 1
            c.rx_consumed += 1
            return
        if sender_ip == target_ip:
            c.arp_gratuitous_received += 1
        # RFC 826: update an entry we have (or are resolving) from any ARP;
        # create one only from ARP addressed to us.
        for_us = target_ip == self.ip
        if not (for_us or self.arp.known(sender_ip)):
            c.count_foreign(ForeignReason.ARP_OTHER_TARGET)
            return
        c.rx_consumed += 1
        changed, released = self.arp.update(sender_ip, sender_mac, now)
        c.arp_updates += changed
        if for_us and arp.op == ARP_REQUEST:
            c.arp_requests_received += 1
            c.arp_replies_sent += 1
            self.send_raw(self._arp_frame(ARP_REPLY, sender_mac, sender_mac, sender_ip))
        elif for_us:
            c.arp_replies_received += 1
        c.arp_released += len(released)
        dst = _mac_bytes(sender_mac)
        for queued in released:
            self.send_raw(dst + queued[6:])

    # ---------------------------------------------------------------- ICMP echo

    def ping(
        self, dst_ip: str, count: int = 1, *, payload_len: int = PING_PAYLOAD_LEN
    ) -> PingSession:
        """Start a ping session and send ``count`` echo requests now (more: :meth:`send_echo`)."""
        session = PingSession(dst_ip, self._next_ident & 0xFFFF, payload_len)
        self._next_ident += 1
        self.pings[session.ident] = session
        self.send_echo(session, count)
        return session

    def send_echo(self, session: PingSession, count: int = 1) -> None:
        """Send ``count`` more echo requests of ``session`` with the next sequence numbers.

        The send time is taken before the frame leaves, so a reply delivered
        synchronously from inside ``transmit`` is matched."""
        for _ in range(count):
            seq = session.sent & 0xFFFF
            session.sent += 1
            session.send_times[seq] = self.now()
            self.counters.icmp_echo_requests_sent += 1
            load = flow_payload(session.ident, PING_PAYLOAD_FLOW, seq, session.payload_len)
            icmp = ICMP(type=ICMP_ECHO_REQUEST, id=session.ident, seq=seq) / Raw(load)
            self._send_l3(session.dst_ip, IP(src=self.ip, dst=session.dst_ip) / icmp)

    def _icmp_input(self, ip: IP, l4: bytes, dst_broadcast: bool) -> None:
        c = self.counters
        if len(l4) < 8:
            c.count_foreign(ForeignReason.MALFORMED)
            return
        if checksum(l4) != 0:
            c.count_foreign(ForeignReason.ICMP_CHECKSUM)
            return
        icmp_type, code, _, ident, seq = struct.unpack_from("!BBHHH", l4)
        load = l4[8:]
        if icmp_type == ICMP_ECHO_REQUEST and code == 0:
            if dst_broadcast:
                c.count_foreign(ForeignReason.ECHO_BROADCAST)
                return
            c.rx_consumed += 1
            c.icmp_echo_requests_received += 1
            c.icmp_echo_replies_sent += 1
            if self.on_echo_request is not None:
                self.on_echo_request(ip.src, ident, seq)
            reply = ICMP(type=ICMP_ECHO_REPLY, id=ident, seq=seq) / Raw(load)
            self._send_l3(ip.src, IP(src=self.ip, dst=ip.src) / reply)
        elif icmp_type == ICMP_ECHO_REPLY and code == 0:
            session = self.pings.get(ident)
            if session is None:
                c.count_foreign(ForeignReason.ECHO_REPLY_UNMATCHED)
                return
            c.rx_consumed += 1
            c.icmp_echo_replies_received += 1
            sent_at = session.send_times.get(seq)
            if sent_at is None:
                session.unexpected += 1
            elif seq in session.replies:
                session.duplicates += 1
            else:
                want = flow_payload(ident, PING_PAYLOAD_FLOW, seq, session.payload_len)
                session.corrupted += load != want
                session.replies[seq] = PingReply(seq, self.now() - sent_at, ip.ttl)
        else:
            c.count_foreign(ForeignReason.ICMP_TYPE)

    # ---------------------------------------------------------------- UDP

    def bind_udp(self, port: int, handler: UdpHandler) -> None:
        if port in self._udp:
            raise ValueError(f"UDP port {port} already bound on {self.name}")
        self._udp[port] = handler

    def unbind_udp(self, port: int) -> None:
        del self._udp[port]

    def udp_flow(
        self,
        flow_id: int,
        dst_ip: str,
        *,
        sport: int = 5000,
        dport: int = 6000,
        payload_seed: int | None = 0,
    ) -> UdpFlow:
        """A :class:`UdpFlow` from this interface (its MAC, IP, VLAN) to ``dst_ip``.

        Its destination MAC is filled in per frame by :meth:`send_flow`."""
        return UdpFlow(
            flow_id,
            self.mac,
            UNRESOLVED_MAC,
            self.ip,
            dst_ip,
            sport,
            dport,
            self.config.vlan,
            payload_seed=payload_seed,
        )

    def send_flow(self, flow: UdpFlow, size: int) -> TxOutcome:
        """The flow's next frame of ``size`` bytes, to the next hop's MAC via ARP."""
        self.counters.udp_sent += 1
        return self.send_ip_frame(flow.frame(size), flow.dst_ip)

    def _udp_input(self, frame: bytes, l2: _L2, ip: IP, l4: bytes) -> None:
        c = self.counters
        if len(l4) < 8:
            c.count_foreign(ForeignReason.MALFORMED)
            return
        sport, dport, length, csum = struct.unpack_from("!HHHH", l4)
        if not 8 <= length <= len(l4):
            c.count_foreign(ForeignReason.MALFORMED)
            return
        l4 = l4[:length]
        ok = csum == 0 or in4_chksum(IPPROTO_UDP, ip, l4) == 0
        if not ok and self.config.drop_bad_udp_checksum:
            c.count_foreign(ForeignReason.UDP_CHECKSUM)
            return
        handler = self._udp.get(dport)
        if handler is None:
            c.count_foreign(ForeignReason.UDP_NO_LISTENER)
            return
        c.rx_consumed += 1
        c.udp_received += 1
        c.udp_checksum_errors += not ok
        handler(UdpDatagram(l2.src_mac, ip.src, ip.dst, sport, dport, l2.vlan, l4[8:], ok, frame))

    # ---------------------------------------------------------------- receive

    def receive(self, frame: bytes) -> None:
        """One frame from the netdev: consumed by a protocol or counted as foreign."""
        c = self.counters
        c.rx_frames += 1
        c.rx_bytes += len(frame)
        l2 = self._l2_input(frame)
        if l2 is None:
            return
        if l2.ethertype == ETH_P_ARP:
            self._arp_input(frame, l2)
        elif l2.ethertype == ETH_P_IP:
            self._ip_input(frame, l2)
        else:
            c.count_foreign(ForeignReason.ETHERTYPE)

    def _l2_input(self, frame: bytes) -> _L2 | None:
        c = self.counters
        if len(frame) < 14:
            c.count_foreign(ForeignReason.MALFORMED)
            return None
        eth = Ether(frame)
        dst, src = eth.dst.lower(), eth.src.lower()
        if src == self.mac:
            c.count_foreign(ForeignReason.OWN_FRAME)
            return None
        if dst not in (self.mac, BROADCAST_MAC):
            multicast = bool(_mac_bytes(dst)[0] & 1)
            c.count_foreign(ForeignReason.MULTICAST if multicast else ForeignReason.OTHER_MAC)
            return None
        vlan: int | None = None
        ethertype, offset, l3 = eth.type, 14, eth.payload
        if ethertype == ETH_P_8021Q:
            if len(frame) < 18 or not isinstance(l3, Dot1Q):
                c.count_foreign(ForeignReason.MALFORMED)
                return None
            vlan = l3.vlan or None  # VID 0: priority-tagged, i.e. untagged
            ethertype, offset, l3 = l3.type, 18, l3.payload
        if vlan != self.config.vlan:
            c.count_foreign(ForeignReason.VLAN_MISMATCH)
            return None
        return _L2(src, vlan, ethertype, offset, l3)

    def _ip_input(self, frame: bytes, l2: _L2) -> None:
        c = self.counters
        data = frame[l2.offset :]
        ip = l2.l3
        if len(data) < 20 or not isinstance(ip, IP):
            c.count_foreign(ForeignReason.MALFORMED)
            return
        ihl = ip.ihl * 4
        if ip.version != 4 or ihl < 20 or not ihl <= ip.len <= len(data):
            c.count_foreign(ForeignReason.MALFORMED)
            return
        if checksum(data[:ihl]) != 0:
            c.count_foreign(ForeignReason.IP_CHECKSUM)
            return
        if ip.flags.MF or ip.frag:
            c.count_foreign(ForeignReason.IP_FRAGMENT)
            return
        broadcast = self._is_broadcast(ip.dst)
        if ip.dst != self.ip and not broadcast:
            c.count_foreign(ForeignReason.OTHER_IP)
            return
        l4 = data[ihl : ip.len]
        if ip.proto == IPPROTO_ICMP:
            self._icmp_input(ip, l4, broadcast)
        elif ip.proto == IPPROTO_UDP:
            self._udp_input(frame, l2, ip, l4)
        else:
            c.count_foreign(ForeignReason.IP_PROTOCOL)

    # ---------------------------------------------------------------- report

    def summary(self) -> str:
        lines = [f"{self.name} ({self.mac}, {self.ip}, vlan {self.config.vlan}):"]
        lines += ["  " + line for line in self.counters.summary().splitlines()]
        lines += [f"  arp {ip} is-at {e.mac}" for ip, e in sorted(self.arp.entries.items())]
        lines += ["  " + s.summary() for s in self.pings.values()]
        return "\n".join(lines)
