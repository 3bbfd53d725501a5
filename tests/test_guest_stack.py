"""The guest network stack (tb/guest/stack.py) and the outside host, in pure Python.

Stacks are wired through a fake link written here: a hub that delivers every
frame to every other stack in FIFO order, advancing a clock by a fixed
latency per delivered frame, with optional impairments that record what they
did on their own. Every expectation comes from the link's records or from
scapy's parse of the frames on the wire, never from the stack under test.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

from tb.guest.counters import ForeignReason
from tb.guest.flow_receiver import FlowReceiver
from tb.guest.flows import HEADER, UdpFlow, flow_payload, parse_flow
from tb.guest.stack import BROADCAST_MAC, InterfaceConfig, NetStack, TxOutcome
from tb.net.external_host import ExternalHost

MAC_A, IP_A = "02:00:00:00:00:0a", "10.0.0.1"
MAC_B, IP_B = "02:00:00:00:00:0b", "10.0.0.2"
MAC_C, IP_C = "02:00:00:00:00:0c", "10.0.0.3"
LATENCY = 100

Filter = Callable[[bytes], list[bytes]]


@dataclass
class Hub:
    """A shared wire: FIFO, every frame to every other attached stack, LATENCY per frame."""

    t: int = 0
    stacks: dict[str, NetStack] = field(default_factory=dict)
    queue: deque[tuple[str, bytes]] = field(default_factory=deque)
    log: list[tuple[str, bytes]] = field(default_factory=list)  # (sender, frame) as delivered
    filters: dict[str, Filter] = field(default_factory=dict)  # per sender

    def clock(self) -> int:
        return self.t

    def add(self, name: str, mac: str, ip: str, **cfg: object) -> NetStack:
        stack = NetStack(
            InterfaceConfig(mac, ip, **cfg),  # type: ignore[arg-type]
            lambda frame: self.send(name, frame),
            now=self.clock,
            name=name,
        )
        self.stacks[name] = stack
        return stack

    def send(self, sender: str, frame: bytes) -> None:
        f = self.filters.get(sender)
        for out in f(frame) if f is not None else [frame]:
            self.queue.append((sender, out))

    def run(self) -> None:
        steps = 0
        while self.queue:
            steps += 1
            assert steps < 100_000, "link never went quiet"
            sender, frame = self.queue.popleft()
            self.t += LATENCY
            self.log.append((sender, frame))
            for name, stack in self.stacks.items():
                if name != sender:
                    stack.receive(frame)

    def frames(self, sender: str | None = None) -> list[Ether]:
        return [Ether(f) for s, f in self.log if sender is None or s == sender]


def body_offset(frame: bytes) -> int:
    """Where a flow frame's bytes after the (flow id, seq) header start (scapy's parse)."""
    pkt = Ether(frame)
    return len(frame) - len(pkt[UDP]) + 8 + HEADER.size


@dataclass
class Impairer:
    """Drops, duplicates, corrupts (one body byte) or delays flow frames; passes the rest.

    Records each action by (flow id, seq). A delayed frame is released behind the
    next frame of the same flow it lets through; only then does it count as
    reordered (order is per flow).
    """

    rng: random.Random
    p_drop: float = 0.05
    p_dup: float = 0.05
    p_corrupt: float = 0.05
    p_hold: float = 0.05
    dropped: list[tuple[int, int]] = field(default_factory=list)
    duplicated: list[tuple[int, int]] = field(default_factory=list)
    corrupted: list[tuple[int, int]] = field(default_factory=list)
    reordered: list[tuple[int, int]] = field(default_factory=list)
    held: dict[int, tuple[bytes, tuple[int, int]]] = field(default_factory=dict)  # per flow

    def __call__(self, frame: bytes) -> list[bytes]:
        key = parse_flow(frame)
        if key is None:
            return [frame]
        r = self.rng.random()
        p_hold = self.p_drop + self.p_dup + self.p_corrupt + self.p_hold
        out: list[bytes] = []
        if r < self.p_drop:
            self.dropped.append(key)
        elif r < self.p_drop + self.p_dup:
            self.duplicated.append(key)
            out = [frame, frame]
        elif r < self.p_drop + self.p_dup + self.p_corrupt:
            self.corrupted.append(key)
            pos = self.rng.randrange(body_offset(frame), len(frame))
            buf = bytearray(frame)
            buf[pos] ^= self.rng.randrange(1, 256)
            out = [bytes(buf)]
        elif r < p_hold and key[0] not in self.held:
            self.held[key[0]] = (frame, key)
            return []
        else:
            out = [frame]
        if out and key[0] in self.held:
            held, hkey = self.held.pop(key[0])
            self.reordered.append(hkey)
            out.append(held)
        return out

    def flush(self) -> list[bytes]:
        """Frames still held go out last, behind nothing of their flow: not reordered."""
        frames = [frame for frame, _ in self.held.values()]
        self.held.clear()
        return frames


def pair(**cfg: object) -> tuple[Hub, NetStack, NetStack]:
    hub = Hub()
    return hub, hub.add("a", MAC_A, IP_A, **cfg), hub.add("b", MAC_B, IP_B, **cfg)


# ---------------------------------------------------------------------- ARP


def test_arp_resolves_once_and_caches_both_ways() -> None:
    hub, a, b = pair()
    session = a.ping(IP_B)
    hub.run()
    wire = hub.frames()
    assert [ARP in p for p in wire] == [True, True, False, False]
    req, rep = wire[0], wire[1]
    assert (req.dst, req[ARP].op, req[ARP].psrc, req[ARP].pdst) == (BROADCAST_MAC, 1, IP_A, IP_B)
    assert (rep.dst, rep[ARP].op, rep[ARP].hwsrc, rep[ARP].psrc) == (MAC_A, 2, MAC_B, IP_B)
    assert a.arp.entries[IP_B].mac == MAC_B
    # B learned A from the request: its echo reply needed no ARP of its own.
    assert b.arp.entries[IP_A].mac == MAC_A
    assert b.counters.arp_requests_sent == 0
    # Cached: the next ping is two ICMP frames, no ARP.
    a.send_echo(session)
    hub.run()
    later = hub.frames()[4:]
    assert [ICMP in p and p[ICMP].type for p in later] == [8, 0]
    assert later[0].dst == MAC_B
    assert a.counters.arp_requests_sent == 1
    assert session.received == 2


def test_queued_frames_are_released_after_resolution() -> None:
    hub, a, b = pair()
    rx = FlowReceiver()
    b.bind_udp(6000, rx.deliver)
    flow = a.udp_flow(1, IP_B)
    assert [a.send_flow(flow, 100) for _ in range(3)] == [TxOutcome.QUEUED] * 3
    assert len(hub.queue) == 1 and ARP in Ether(hub.queue[0][1])  # only the request is out
    hub.run()
    flows = [p for p in hub.frames("a") if UDP in p]
    assert [parse_flow(bytes(p)) for p in flows] == [(1, 0), (1, 1), (1, 2)]
    assert {p.dst for p in flows} == {MAC_B}
    assert a.counters.arp_released == 3
    assert rx.stats(1).received == 3 and rx.stats(1).lost == 0
    assert a.send_flow(flow, 100) is TxOutcome.SENT


def test_arp_queue_is_bounded_and_drops_the_oldest() -> None:
    hub, a, b = pair(arp_queue_len=4)
    rx = FlowReceiver()
    b.bind_udp(6000, rx.deliver)
    flow = a.udp_flow(1, IP_B)
    for _ in range(7):
        a.send_flow(flow, 80)
    hub.run()
    got = [parse_flow(bytes(p)) for p in hub.frames("a") if UDP in p]
    assert got == [(1, 3), (1, 4), (1, 5), (1, 6)]
    assert a.counters.arp_queued == 7
    assert a.counters.arp_queue_drops == 3
    assert a.counters.arp_released == 4


def test_arp_retries_on_poll_then_gives_up_counting_drops() -> None:
    hub = Hub()
    a = hub.add("a", MAC_A, IP_A, arp_retry_interval=1000, arp_max_requests=3)
    flow = a.udp_flow(1, "10.0.0.9")
    a.send_flow(flow, 64)
    a.send_flow(flow, 64)

    def requests() -> int:
        return sum(ARP in p and p[ARP].pdst == "10.0.0.9" for p in hub.frames())

    hub.run()
    a.poll()
    hub.run()
    assert requests() == 1  # too early for a retry
    for n in (2, 3):
        hub.t += 1000
        a.poll()
        hub.run()
        assert requests() == n
    hub.t += 1000
    a.poll()
    assert requests() == 3
    assert a.counters.arp_unresolved_drops == 2
    assert not a.arp.pending


def test_arp_entry_expires() -> None:
    hub, a, _ = pair(arp_timeout=1000)
    session = a.ping(IP_B)
    hub.run()
    hub.t += 1000
    a.send_echo(session)
    hub.run()
    assert sum(ARP in p and p[ARP].op == 1 for p in hub.frames("a")) == 2
    assert a.counters.arp_expired == 1
    assert session.received == 2


def test_gratuitous_arp_after_mac_change_updates_caches_that_know_the_host() -> None:
    hub, a, b = pair()
    c = hub.add("c", MAC_C, IP_C)
    session = a.ping(IP_B)
    hub.run()
    new_mac = "02:00:00:00:01:0b"
    b.set_mac(new_mac)
    hub.run()
    ann = hub.frames("b")[-1]
    assert (ann.dst, ann[ARP].psrc, ann[ARP].pdst, ann[ARP].hwsrc) == (
        BROADCAST_MAC,
        IP_B,
        IP_B,
        new_mac,
    )
    assert a.arp.entries[IP_B].mac == new_mac
    assert a.counters.arp_updates == 1
    assert a.counters.arp_gratuitous_received == 1
    assert IP_B not in c.arp.entries  # C never talked to B: no entry created
    n = len(hub.log)
    a.send_echo(session)
    hub.run()
    after = [Ether(f) for _, f in hub.log[n:]]
    assert [ICMP in p for p in after] == [True, True]
    assert after[0].dst == new_mac
    assert session.received == 2


# ---------------------------------------------------------------------- ICMP


def test_ping_rtt_in_caller_time() -> None:
    hub, a, _ = pair()
    session = a.ping(IP_B)
    hub.run()
    a.send_echo(session)
    hub.run()
    # First: ARP request, ARP reply, echo request, echo reply; then two frames.
    assert session.rtts() == [4 * LATENCY, 2 * LATENCY]
    assert (session.sent, session.received, session.lost) == (2, 2, 0)


def test_ping_counts_loss_duplicates_and_corrupted_replies() -> None:
    hub, a, _ = pair()

    def replies(frame: bytes) -> list[bytes]:
        pkt = Ether(frame)
        if ICMP not in pkt:
            return [frame]
        seq = pkt[ICMP].seq
        if seq == 1:
            return []
        if seq == 2:
            return [frame, frame, frame]
        if seq == 3:
            pkt[Raw].load = b"X" + pkt[Raw].load[1:]
            del pkt[ICMP].chksum
            return [bytes(pkt)]
        return [frame]

    hub.filters["b"] = replies
    session = a.ping(IP_B, count=5)
    hub.run()
    assert (session.sent, session.received, session.lost) == (5, 4, 1)
    assert session.duplicates == 2
    assert session.corrupted == 1
    assert sorted(session.replies) == [0, 2, 3, 4]


# ---------------------------------------------------------------------- UDP flows


def test_flow_counts_equal_what_the_link_did() -> None:
    rng = random.Random(9)
    hub, a, b = pair()
    link = Impairer(random.Random(42))
    hub.filters["a"] = link
    rx = FlowReceiver(payload_seed=0)
    b.bind_udp(6000, rx.deliver)
    flows = [a.udp_flow(1, IP_B), a.udp_flow(2, IP_B)]
    sent = {1: 0, 2: 0}
    for _ in range(600):
        f = rng.choice(flows)
        a.send_flow(f, rng.randrange(64, 1519))
        sent[f.flow_id] += 1
        hub.run()
    hub.queue.extend(("a", fr) for fr in link.flush())
    hub.run()
    for fid, n in sent.items():
        rx.set_sent(fid, n)

        def mine(keys: list[tuple[int, int]], fid: int = fid) -> int:
            return sum(k[0] == fid for k in keys)

        st = rx.stats(fid)
        assert st.lost == mine(link.dropped), fid
        assert st.duplicated == mine(link.duplicated), fid
        assert st.reordered == mine(link.reordered), fid
        assert st.corrupted == mine(link.corrupted), fid
        assert st.received == n - mine(link.dropped) + mine(link.duplicated), fid
        assert min(mine(link.dropped), mine(link.duplicated)) > 3
        assert min(mine(link.reordered), mine(link.corrupted)) > 3
    assert rx.unattributed == 0
    # The corruption broke the UDP checksum; the stack counted, and still delivered.
    assert b.counters.udp_checksum_errors == len(link.corrupted)
    assert b.counters.foreign == {}


def test_corrupted_flow_header_is_unattributed_and_its_frame_lost() -> None:
    hub, a, b = pair()
    rx = FlowReceiver(payload_seed=0)
    b.bind_udp(6000, rx.deliver)
    flow = a.udp_flow(1, IP_B)

    def hit_seq_2(frame: bytes) -> list[bytes]:
        if parse_flow(frame) == (1, 2):
            buf = bytearray(frame)
            buf[body_offset(frame) - 1] ^= 0x40  # low byte of the sequence number
            return [bytes(buf)]
        return [frame]

    hub.filters["a"] = hit_seq_2
    for _ in range(5):
        a.send_flow(flow, 200)
    hub.run()
    rx.set_sent(1, 5)
    st = rx.stats(1)
    assert rx.unattributed == 1
    assert (st.received, st.lost, st.corrupted, st.duplicated) == (4, 1, 0, 0)


def test_tail_loss_counts_once_the_sender_says_how_many_it_sent() -> None:
    hub, a, b = pair()
    rx = FlowReceiver()
    b.bind_udp(6000, rx.deliver)
    hub.filters["a"] = lambda fr: [] if parse_flow(fr) in ((1, 1), (1, 4)) else [fr]
    flow = a.udp_flow(1, IP_B)
    for _ in range(5):
        a.send_flow(flow, 64)
    hub.run()
    assert rx.stats(1).lost == 1  # the gap at seq 1; seq 4 cannot be seen missing yet
    rx.set_sent(1, 5)
    assert rx.stats(1).lost == 2


def test_seeded_flow_payload_is_recomputable_and_unseeded_flow_unchanged() -> None:
    f = UdpFlow(7, MAC_A, MAC_B, IP_A, IP_B, payload_seed=3)
    frames = [f.frame(128) for _ in range(3)]
    for seq, fr in enumerate(frames):
        load = bytes(Ether(fr)[Raw].load)
        assert HEADER.unpack_from(load) == (7, seq)
        assert load[HEADER.size :] == flow_payload(3, 7, seq, len(load) - HEADER.size)
    assert frames[0] != frames[1]
    # Without a seed the body still comes from the flow's rng, as before.
    rng = random.Random(5)
    plain = UdpFlow(7, MAC_A, MAC_B, IP_A, IP_B, rng=rng).frame(128)
    body = bytes(Ether(plain)[Raw].load)[HEADER.size :]
    assert body == random.Random(5).randbytes(len(body))


# ---------------------------------------------------------------------- foreign frames


def test_foreign_frames_are_counted_by_reason() -> None:
    hub = Hub()
    b = hub.add("b", MAC_B, IP_B)
    b.bind_udp(6000, lambda d: None)

    def eth(dst: str = MAC_B, src: str = MAC_C) -> Ether:
        return Ether(dst=dst, src=src)

    def ip(dst: str = IP_B, **kw: object) -> IP:
        return IP(src=IP_C, dst=dst, **kw)

    bad_icmp = eth() / ip() / ICMP(chksum=0x1234)
    cases = [
        (b"\x00" * 10, ForeignReason.MALFORMED),
        (eth(src=MAC_B) / ip() / ICMP(), ForeignReason.OWN_FRAME),
        (eth(dst="02:00:00:00:00:99") / ip() / ICMP(), ForeignReason.OTHER_MAC),
        (eth(dst="01:00:5e:00:00:fb") / ip("224.0.0.251") / UDP(), ForeignReason.MULTICAST),
        (eth() / Dot1Q(vlan=7) / ip() / ICMP(), ForeignReason.VLAN_MISMATCH),
        (eth() / IPv6(), ForeignReason.ETHERTYPE),
        (eth() / ARP(op=3, psrc=IP_C, pdst=IP_B), ForeignReason.ARP_UNSUPPORTED),
        (eth(BROADCAST_MAC) / ARP(psrc=IP_C, pdst="10.0.0.77"), ForeignReason.ARP_OTHER_TARGET),
        (eth() / ip(chksum=0x1234) / ICMP(), ForeignReason.IP_CHECKSUM),
        (eth() / ip(flags="MF") / UDP(dport=6000), ForeignReason.IP_FRAGMENT),
        (eth() / ip("10.0.0.99") / ICMP(), ForeignReason.OTHER_IP),
        (eth() / ip() / TCP(), ForeignReason.IP_PROTOCOL),
        (bad_icmp, ForeignReason.ICMP_CHECKSUM),
        (eth() / ip() / ICMP(type=13), ForeignReason.ICMP_TYPE),
        (eth(BROADCAST_MAC) / ip("10.0.0.255") / ICMP(), ForeignReason.ECHO_BROADCAST),
        (eth() / ip() / ICMP(type=0, id=999), ForeignReason.ECHO_REPLY_UNMATCHED),
        (eth() / ip() / UDP(dport=7777) / b"x", ForeignReason.UDP_NO_LISTENER),
        (eth() / ip(len=500) / UDP(dport=6000), ForeignReason.MALFORMED),
    ]
    for frame, _ in cases:
        hub.send("c", bytes(frame))
    good = eth() / ip() / UDP(dport=6000) / b"fine"
    bad_udp = eth() / ip() / UDP(dport=6000, chksum=0x1234) / b"x"
    hub.send("c", bytes(good))
    hub.send("c", bytes(bad_udp))
    hub.run()
    want: dict[ForeignReason, int] = {}
    for _, reason in cases:
        want[reason] = want.get(reason, 0) + 1
    c = b.counters
    assert c.foreign == want
    assert c.rx_frames == len(cases) + 2
    assert c.rx_consumed == 2  # the good datagram, and the bad checksum counted but delivered
    assert c.udp_checksum_errors == 1
    assert c.rx_frames == c.rx_consumed + c.foreign_total()
    assert c.tx_frames == 0
    # A stack told to drop bad UDP checksums counts them as foreign instead.
    strict_hub = Hub()
    strict = strict_hub.add("b", MAC_B, IP_B, drop_bad_udp_checksum=True)
    strict.bind_udp(6000, lambda d: None)
    strict_hub.send("c", bytes(bad_udp))
    strict_hub.run()
    assert strict.counters.foreign == {ForeignReason.UDP_CHECKSUM: 1}
    assert strict.counters.udp_received == 0


def test_vlan_tagging_and_mismatch() -> None:
    hub = Hub()
    a = hub.add("a", MAC_A, IP_A, vlan=10)
    b = hub.add("b", MAC_B, IP_B, vlan=10)
    c = hub.add("c", MAC_C, IP_C)
    session = a.ping(IP_B)
    hub.run()
    assert session.received == 1
    tagged = hub.frames()
    assert len(tagged) == 4
    assert all(Dot1Q in p and p[Dot1Q].vlan == 10 for p in tagged)
    assert all(len(bytes(p)) >= 64 for p in tagged)
    # C (untagged) saw the broadcast ARP request only past its MAC filter.
    assert c.counters.foreign == {ForeignReason.VLAN_MISMATCH: 1, ForeignReason.OTHER_MAC: 3}
    lost = c.ping(IP_B)
    hub.run()
    assert lost.received == 0
    assert a.counters.foreign == {ForeignReason.VLAN_MISMATCH: 1}
    assert b.counters.foreign == {ForeignReason.VLAN_MISMATCH: 1}
    # A priority tag (VID 0) is untagged traffic for C.
    prio = Ether(dst=MAC_C, src="02:00:00:00:00:0d") / Dot1Q(vlan=0, prio=5)
    hub.send("d", bytes(prio / IP(src="10.0.0.4", dst=IP_C) / ICMP()))
    hub.run()
    assert c.counters.icmp_echo_requests_received == 1


# ---------------------------------------------------------------------- outside host


@dataclass
class FakeSink:
    """Stands in for FastStreamSink: async recv() of frames with a ``tdata``."""

    frames: deque[bytes]

    async def recv(self) -> object:
        @dataclass
        class Frame:
            tdata: bytes

        return Frame(self.frames.popleft())


def test_external_host_is_a_netstack_answering_and_sinking_and_sourcing() -> None:
    hub = Hub()
    guest = hub.add("guest", MAC_A, IP_A)
    host = ExternalHost(
        InterfaceConfig("02:00:00:00:ff:01", "10.0.0.254"),
        lambda frame: hub.send("outside", frame),
        now=hub.clock,
    )
    assert isinstance(host, NetStack)
    hub.stacks["outside"] = host
    session = guest.ping("10.0.0.254", count=3)
    hub.run()
    out = guest.udp_flow(5, "10.0.0.254")
    for _ in range(20):
        guest.send_flow(out, 300)
    rx = FlowReceiver()
    guest.bind_udp(6000, rx.deliver)
    back = host.source(6, IP_A)
    for _ in range(10):
        host.send(6, 200)
    hub.run()
    assert back.dst_ip == IP_A
    assert session.received == 3
    assert host.sink.stats(5).received == 20 and host.sink.stats(5).lost == 0
    assert rx.stats(6).received == 10 and rx.stats(6).corrupted == 0
    assert "sink flow 5: 20 received" in host.summary()


def test_external_host_pump_feeds_frames_from_an_async_sink() -> None:
    sent: list[bytes] = []
    host = ExternalHost(InterfaceConfig("02:00:00:00:ff:01", "10.0.0.254"), sent.append)
    asker: list[bytes] = []
    guest = NetStack(InterfaceConfig(MAC_A, IP_A), asker.append)
    guest.resolve("10.0.0.254")
    asyncio.run(host.pump(FakeSink(deque(asker)), frames=1))
    reply = Ether(sent[0])
    assert (reply.dst, reply[ARP].op, reply[ARP].psrc) == (MAC_A, 2, "10.0.0.254")


def test_summaries_report_counters_pings_and_flows() -> None:
    hub, a, b = pair()
    rx = FlowReceiver()
    b.bind_udp(6000, rx.deliver)
    a.ping(IP_B, count=2)
    flow = a.udp_flow(3, IP_B)
    a.send_flow(flow, 64)
    hub.send("c", bytes(Ether(dst="02:00:00:00:00:99", src=MAC_C) / IP()))
    hub.run()
    text = a.summary()
    assert "arp_requests_sent 1" in text
    assert "foreign.other_mac 1" in text
    assert f"ping {IP_B} id 1: 2 sent, 2 received, 0 lost" in text
    assert f"arp {IP_B} is-at {MAC_B}" in text
    assert rx.summary() == "flow 3: 1 received, 0 lost, 0 duplicated, 0 reordered, 0 corrupted"
