"""The failover device's rules (tb/guest/failover.py), each against fake slaves whose
state the test sets and reads itself: enslaving by MAC, TX choice, RX from each
slave, carrier, and the configuration each slave gets."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tb.guest.failover import (
    RX_NOT_ENSLAVED,
    STANDBY_RX_DROPPED,
    TX_NO_SLAVE,
    FailoverDevice,
    FailoverError,
    ForeignMacError,
    NoPrimaryError,
    PrimaryExistsError,
    Receive,
    SlaveConfigError,
)

MAC = "02:00:00:00:0a:01"
OTHER = "02:00:00:00:0b:02"


@dataclass
class FakeSlave:
    name: str
    mac: str = MAC
    running: bool = True
    carrier: bool = True
    sent: list[bytes] = field(default_factory=list)
    receive: Receive | None = None
    mtu: int = 0
    rx_mode: tuple[bool, bool] | None = None
    mc: tuple[str, ...] | None = None
    vids: set[int] = field(default_factory=set)
    max_mtu: int = 9000
    refuse_vids: frozenset[int] = frozenset()

    def is_running(self) -> bool:
        return self.running

    def has_carrier(self) -> bool:
        return self.carrier

    def xmit(self, frame: bytes) -> bool:
        self.sent.append(frame)
        return True

    def set_receiver(self, receive: Receive | None) -> None:
        self.receive = receive

    def set_mtu(self, mtu: int) -> None:
        if mtu > self.max_mtu:
            raise SlaveConfigError(f"{self.name}: MTU {mtu} above {self.max_mtu}")
        self.mtu = mtu

    def set_rx_mode(self, promisc: bool, allmulti: bool) -> None:
        self.rx_mode = (promisc, allmulti)

    def set_multicast(self, macs: tuple[str, ...]) -> None:
        self.mc = macs

    def add_vid(self, vid: int) -> None:
        if vid in self.refuse_vids:
            raise SlaveConfigError(f"{self.name}: VLAN {vid} refused")
        self.vids.add(vid)

    def kill_vid(self, vid: int) -> None:
        self.vids.discard(vid)

    def arrive(self, frame: bytes) -> None:
        """A frame received by this slave, handed to whatever RX handler it has."""
        assert self.receive is not None, f"{self.name} has no RX handler"
        self.receive(frame)


def device() -> tuple[FailoverDevice, FakeSlave, list[bytes]]:
    standby = FakeSlave("standby")
    fo = FailoverDevice(MAC, standby)
    got: list[bytes] = []
    fo.receiver = got.append
    return fo, standby, got


# -- enslaving ------------------------------------------------------------------------------


def test_primary_registered_by_mac() -> None:
    fo, _, _ = device()
    vf = FakeSlave("vf", mac=MAC.upper())  # the same address, written otherwise
    fo.register(vf)
    assert fo.primary is vf


def test_foreign_mac_not_enslaved() -> None:
    fo, _, _ = device()
    vf = FakeSlave("vf", mac=OTHER)
    with pytest.raises(ForeignMacError, match="not the failover device's"):
        fo.register(vf)
    assert fo.primary is None and vf.receive is None and vf.mtu == 0
    with pytest.raises(ForeignMacError):
        FailoverDevice(MAC, FakeSlave("standby", mac=OTHER))


def test_second_primary_refused() -> None:
    fo, standby, _ = device()
    first, second = FakeSlave("vf1"), FakeSlave("vf2")
    fo.register(first)
    with pytest.raises(PrimaryExistsError, match="vf1"):
        fo.register(second)
    with pytest.raises(FailoverError, match="standby"):
        fo.register(standby)
    assert fo.primary is first


def test_unregister_needs_the_registered_primary() -> None:
    fo, _, _ = device()
    vf = FakeSlave("vf")
    with pytest.raises(NoPrimaryError, match="no primary"):
        fo.unregister(vf)
    fo.register(vf)
    with pytest.raises(NoPrimaryError, match="not the primary"):
        fo.unregister(FakeSlave("vf2"))
    fo.unregister(vf)
    assert fo.primary is None and vf.receive is None


# -- TX ---------------------------------------------------------------------------------------


def test_tx_on_primary_while_ready_else_standby() -> None:
    fo, standby, _ = device()
    assert fo.xmit(b"a")  # no primary: the standby
    vf = FakeSlave("vf")
    fo.register(vf)
    assert fo.xmit(b"b")
    vf.carrier = False
    assert fo.xmit(b"c")  # primary without carrier
    vf.carrier, vf.running = True, False
    assert fo.xmit(b"d")  # primary not running
    vf.running = True
    assert fo.xmit(b"e")
    fo.unregister(vf)
    assert fo.xmit(b"f")  # unregistered
    assert (vf.sent, standby.sent) == ([b"b", b"e"], [b"a", b"c", b"d", b"f"])


def test_tx_dropped_without_a_ready_slave() -> None:
    fo, standby, _ = device()
    standby.carrier = False
    assert not fo.xmit(b"x")
    assert fo.drops(TX_NO_SLAVE) == [b"x"] and standby.sent == []


# -- RX ---------------------------------------------------------------------------------------


def test_rx_from_standby_dropped_while_primary_registered() -> None:
    fo, standby, got = device()
    standby.arrive(b"1")  # no primary: delivered
    vf = FakeSlave("vf")
    fo.register(vf)
    standby.arrive(b"2")
    vf.arrive(b"3")
    vf.running = False  # registered but down: standby frames still dropped
    standby.arrive(b"4")
    fo.unregister(vf)
    standby.arrive(b"5")
    assert got == [b"1", b"3", b"5"]
    assert fo.drops(STANDBY_RX_DROPPED) == [b"2", b"4"]
    assert [d.slave for d in fo.dropped] == ["standby", "standby"]


def test_rx_from_a_former_primary_not_delivered() -> None:
    fo, _, got = device()
    vf = FakeSlave("vf")
    fo.register(vf)
    handler = vf.receive
    fo.unregister(vf)
    assert handler is not None
    handler(b"late")  # a frame its driver reaped after the unregister
    assert got == [] and fo.drops(RX_NOT_ENSLAVED) == [b"late"]


# -- carrier ------------------------------------------------------------------------------------


def test_carrier_up_while_either_slave_is() -> None:
    fo, standby, _ = device()
    vf = FakeSlave("vf")
    fo.register(vf)
    states = []
    for vf_up, sb_up in ((True, True), (False, True), (True, False), (False, False)):
        vf.carrier, standby.running = vf_up, sb_up
        states.append(fo.carrier)
    assert states == [True, True, True, False]


# -- configuration --------------------------------------------------------------------------------


def test_config_propagated_to_both_slaves() -> None:
    fo, standby, _ = device()
    vf = FakeSlave("vf")
    fo.register(vf)
    fo.set_mtu(4000)
    fo.set_rx_mode(allmulti=True)
    fo.set_multicast(("01:00:5e:00:00:fb",))
    fo.add_vid(7)
    for s in (vf, standby):
        assert (s.mtu, s.rx_mode, s.mc, s.vids) == (
            4000,
            (False, True),
            ("01:00:5e:00:00:fb",),
            {7},
        ), s.name
    fo.kill_vid(7)
    assert vf.vids == standby.vids == set()


def test_late_primary_gets_the_config() -> None:
    fo, _, _ = device()
    fo.set_mtu(2000)
    fo.set_rx_mode(promisc=True)
    fo.set_multicast(("33:33:00:00:00:01",))
    fo.add_vid(5)
    vf = FakeSlave("vf")
    fo.register(vf)
    want = (2000, (True, False), ("33:33:00:00:00:01",), {5})
    assert (vf.mtu, vf.rx_mode, vf.mc, vf.vids) == want


def test_refused_mtu_rolled_back() -> None:
    fo, standby, _ = device()
    vf = FakeSlave("vf")
    fo.register(vf)
    standby.max_mtu = 1500
    with pytest.raises(SlaveConfigError):
        fo.set_mtu(9000)
    assert (fo.config.mtu, vf.mtu, standby.mtu) == (1500, 1500, 1500)


def test_refused_vlan_rolled_back_and_late_primary_refusing_not_enslaved() -> None:
    fo, standby, _ = device()
    vf = FakeSlave("vf")
    fo.register(vf)
    standby.refuse_vids = frozenset({9})
    with pytest.raises(SlaveConfigError):
        fo.add_vid(9)
    assert vf.vids == set() and 9 not in fo.config.vids
    fo.add_vid(3)
    fo.unregister(vf)
    picky = FakeSlave("vf2", refuse_vids=frozenset({3}))
    with pytest.raises(SlaveConfigError):
        fo.register(picky)
    assert fo.primary is None and picky.receive is None


def test_bad_settings_refused() -> None:
    fo, _, _ = device()
    with pytest.raises(ValueError, match="MTU"):
        fo.set_mtu(20)
    with pytest.raises(ValueError, match="multicast"):
        fo.set_multicast((OTHER,))
    with pytest.raises(ValueError, match="VLAN"):
        fo.add_vid(4095)
    with pytest.raises(FailoverError, match="not filtered"):
        fo.kill_vid(12)
