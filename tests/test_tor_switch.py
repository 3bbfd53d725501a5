"""The top-of-rack switch model (tb/net/tor_switch.py) against hand-computed forwarding.

Frames are built with scapy; every expectation is written out by hand from the rules
of docs/MIGRATION.md §3 (or, for the random sequence, by a reference that keeps every
sighting of every address and decides validity from the latest one).
"""

from __future__ import annotations

import random

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether

from tb.net.tor_switch import (
    DropReason,
    Forwarding,
    Move,
    TimeUnit,
    TorConfig,
    TorSwitch,
    mac_value,
)

A, B, C, D = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c", "02:00:00:00:00:0d"
BCAST = "ff:ff:ff:ff:ff:ff"
MCAST = "01:00:5e:00:00:01"


def udp(src: str, dst: str, vlan: int | None = None, size: int = 0) -> bytes:
    eth = Ether(src=src, dst=dst)
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    return bytes(eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / (b"x" * size))


def rarp(mac: str) -> bytes:
    """A RARP request announcing ``mac`` (what QEMU sends after a migration)."""
    return bytes(Ether(src=mac, dst=BCAST, type=0x8035) / ARP(op=3, hwsrc=mac, hwdst=mac))


def three_ports(**kw) -> TorSwitch:
    return TorSwitch(TorConfig(ports=3, names=("host_a", "host_b", "outside"), **kw))


def test_flood_then_learn_then_forward() -> None:
    sw = three_ports()
    f1 = udp(A, B)  # A on port 0 to B, unknown: floods to 1 and 2
    assert sw.receive(0, f1, 10) == Forwarding((1, 2), flooded=True)
    f2 = udp(B, A)  # B on port 1 to A, learned on 0: port 0 only
    assert sw.receive(1, f2, 20) == Forwarding((0,))
    f3 = udp(A, B)  # now B is known on port 1
    assert sw.receive(0, f3, 30) == Forwarding((1,))
    f4 = udp(C, BCAST)  # broadcast floods whatever is learned
    assert sw.receive(2, f4, 40) == Forwarding((0, 1), flooded=True)
    f5 = udp(C, MCAST)  # so does multicast
    assert sw.receive(2, f5, 50) == Forwarding((0, 1), flooded=True)
    assert sw.table(50) == {(0, A): 0, (0, B): 1, (0, C): 2}
    c = sw.counters
    assert (c[0].rx_frames, c[0].rx_bytes, c[0].flooded) == (2, len(f1) + len(f3), 1)
    assert (c[0].tx_frames, c[0].tx_bytes) == (3, len(f2) + len(f4) + len(f5))
    assert (c[1].rx_frames, c[1].tx_frames, c[1].tx_bytes) == (
        1,
        4,
        len(f1) + len(f3) + len(f4) + len(f5),
    )
    assert (c[2].rx_frames, c[2].flooded, c[2].tx_frames) == (2, 2, 1)
    assert not any(p.drops for p in c)
    assert sw.summary().splitlines()[0] == (
        f"host_a: rx 2 ({len(f1) + len(f3)} B), tx 3 ({len(f2) + len(f4) + len(f5)} B), "
        "flooded 1, drops none"
    )


def test_ageing_boundary_in_ns() -> None:
    sw = three_ports(ageing_time=1000)
    sw.receive(0, udp(A, BCAST), 100)  # A learned on 0 at t=100
    # Exactly ageing_time old: still valid, the frame goes to port 0 only.
    assert sw.receive(2, udp(C, A), 1100) == Forwarding((0,))
    assert sw.lookup(A, 1100) == 0
    # One ns older: forgotten, the next frame to A floods (ports 0 and 1).
    assert sw.receive(2, udp(C, A), 1101) == Forwarding((0, 1), flooded=True)
    assert sw.aged == 1
    assert sw.lookup(A, 1101) is None
    # A frame from A refreshes; a frame to A does not.
    sw.receive(1, udp(A, C), 1500)  # A now learned on port 1 afresh (not a move: it aged)
    assert sw.moves == []
    assert sw.lookup(A, 2500) == 1
    assert sw.lookup(A, 2501) is None


def test_ageing_in_cycles() -> None:
    cfg = TorConfig(ports=2, ageing_time=250, time_unit=TimeUnit.CYCLES, cycle_ns=4.0)
    assert cfg.ageing_ns == 1000.0
    sw = TorSwitch(cfg)
    sw.receive(0, udp(A, B), 0)
    assert sw.lookup(A, 250) == 0
    assert sw.lookup(A, 251) is None
    assert sw.age(251) == 0  # already forgotten by the lookup
    assert sw.aged == 1


def test_age_sweeps_every_expired_entry() -> None:
    sw = three_ports(ageing_time=100)
    sw.receive(0, udp(A, BCAST), 0)
    sw.receive(1, udp(B, BCAST), 50)
    sw.receive(2, udp(C, BCAST), 100)
    assert sw.age(150) == 1  # A (150 - 0 > 100); B exactly 100 old stays
    assert sw.table(150) == {(0, B): 1, (0, C): 2}
    assert sw.age(201) == 2


def test_move_on_rarp_from_another_port() -> None:
    sw = three_ports()
    sw.receive(0, udp(A, D), 10)  # the VM on host A
    assert sw.receive(2, udp(D, A), 20) == Forwarding((0,))
    # Migrated: host B announces A by RARP on port 1 (broadcast: floods to 0 and 2).
    assert sw.receive(1, rarp(A), 30) == Forwarding((0, 2), flooded=True)
    assert sw.moves == [Move(0, A, 0, 1, 30)]
    assert sw.receive(2, udp(D, A), 40) == Forwarding((1,))
    assert sw.table(40)[(0, A)] == 1


def test_vlans_are_separate_tables() -> None:
    sw = three_ports()
    sw.receive(0, udp(A, BCAST, vlan=10), 0)  # A in VLAN 10 on port 0
    sw.receive(1, udp(A, BCAST), 1)  # A untagged on port 1: another entry, not a move
    assert sw.moves == []
    assert sw.table(1) == {(0, A): 1, (10, A): 0}
    assert sw.receive(2, udp(C, A, vlan=10), 2) == Forwarding((0,))
    assert sw.receive(2, udp(C, A), 3) == Forwarding((1,))
    assert sw.receive(2, udp(C, A, vlan=20), 4) == Forwarding((0, 1), flooded=True)


def test_same_port_is_filtered() -> None:
    sw = three_ports()
    sw.receive(0, udp(A, BCAST), 0)
    f = udp(B, A)  # B and A both behind port 0
    assert sw.receive(0, f, 1) == Forwarding((), drop=DropReason.SAME_PORT)
    assert sw.counters[0].drops == {DropReason.SAME_PORT: 1}
    assert sw.counters[0].rx_frames == 2
    assert sum(c.tx_frames for c in sw.counters) == 2  # the broadcast only


def test_port_down() -> None:
    sw = three_ports()
    sw.receive(0, udp(A, BCAST), 0)
    sw.set_port_up(1, False)
    assert sw.receive(1, udp(B, A), 1) == Forwarding((), drop=DropReason.PORT_DOWN)
    assert sw.lookup(B, 1) is None  # nothing learned from a down port
    assert sw.receive(2, udp(C, BCAST), 2) == Forwarding((0,), flooded=True)  # 1 skipped
    sw.set_port_up(0, False)
    assert sw.receive(2, udp(C, A), 3) == Forwarding((), drop=DropReason.PORT_DOWN)
    assert sw.counters[2].drops == {DropReason.PORT_DOWN: 1}
    assert sw.counters[1].drops == {DropReason.PORT_DOWN: 1}


def test_table_full_floods_unlearned_addresses() -> None:
    sw = TorSwitch(TorConfig(ports=3, max_entries=2, ageing_time=100))
    sw.receive(0, udp(A, BCAST), 0)
    sw.receive(1, udp(B, BCAST), 0)
    sw.receive(2, udp(C, BCAST), 0)  # table full: C not learned
    assert sw.learn_full == 1
    assert sw.receive(0, udp(A, C), 1) == Forwarding((1, 2), flooded=True)
    # At 101 B (seen at 0) is aged; A was refreshed at 1 by its frame to C and stays.
    sw.receive(2, udp(C, BCAST), 101)  # room for C now
    assert sw.table(101) == {(0, A): 0, (0, C): 2}
    assert sw.aged == 1


def test_group_source_and_runt() -> None:
    sw = three_ports()
    sw.receive(0, udp(MCAST, BCAST), 0)
    assert sw.table(0) == {}
    assert sw.receive(0, bytes(13), 1) == Forwarding((), drop=DropReason.RUNT)
    tagged_runt = bytes(Ether(src=A, dst=B, type=0x8100))[:16]  # a tag cut short
    assert sw.receive(0, tagged_runt, 2) == Forwarding((), drop=DropReason.RUNT)
    assert sw.counters[0].drops == {DropReason.RUNT: 2}


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 ports"):
        TorConfig(ports=1)
    with pytest.raises(ValueError, match="names"):
        TorConfig(ports=3, names=("a", "b"))
    with pytest.raises(ValueError, match="differ"):
        TorConfig(ports=2, names=("a", "a"))
    with pytest.raises(ValueError, match="ageing_time"):
        TorConfig(ports=2, ageing_time=0)
    sw = three_ports()
    with pytest.raises(ValueError, match=r"ports 0\.\.2"):
        sw.receive(3, udp(A, B), 0)
    sw.receive(0, udp(A, B), 10)
    with pytest.raises(ValueError, match="backwards"):
        sw.receive(0, udp(A, B), 9)
    for bad in ("02:00:00:00:00", "zz:00:00:00:00:00", "0200.0000.000a"):
        with pytest.raises(ValueError):
            mac_value(bad)
    with pytest.raises(ValueError):
        mac_value(b"\x00" * 5)


def test_random_sequence_against_sightings() -> None:
    """300 random frames among 6 addresses on 4 ports; the expectation keeps every
    sighting and takes the latest: valid while now - last <= ageing_time."""
    rng = random.Random(7)
    macs = [f"02:00:00:00:01:{i:02x}" for i in range(6)] + [BCAST]
    ageing = 400
    sw = TorSwitch(TorConfig(ports=4, ageing_time=ageing))
    sightings: dict[str, list[tuple[int, int]]] = {}
    now = 0
    for _ in range(300):
        now += rng.randrange(0, 60)
        port = rng.randrange(4)
        src = rng.choice(macs[:-1])
        dst = rng.choice(macs)
        last = sightings.get(dst, [])
        known = [p for t, p in last[-1:] if now - t <= ageing] if dst != BCAST else []
        if src == dst:
            known = [port]
        sightings.setdefault(src, []).append((now, port))
        if not known:
            expect = Forwarding(tuple(p for p in range(4) if p != port), flooded=True)
        elif known[0] == port:
            expect = Forwarding((), drop=DropReason.SAME_PORT)
        else:
            expect = Forwarding((known[0],))
        assert sw.receive(port, udp(src, dst), now) == expect, (now, port, src, dst)
