"""The migration loss ledger (tb/datacenter/loss_ledger.py) and the workload's ping
streams (tb/datacenter/workload.py), on scripted losses: every lost frame is named
exactly once, frame by frame or by a counter placed by time, or the balance fails."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tb.datacenter.loss_ledger import LossImbalance, LossLedger
from tb.datacenter.workload import PING_TO_OUTSIDE, PING_TO_VM, REPLY_KEY, PingTrack
from tests.test_guest_stack import pair


@dataclass
class Scripted:
    """A stream whose frames 0..sent-1 were sent at 10 ns each; ``lost`` never arrived."""

    name: str
    flow_id: int
    to_vm: bool
    sent: int
    lost: set[int] = field(default_factory=set)

    def sent_frames(self) -> int:
        return self.sent

    def missing(self) -> dict[int, float]:
        return {k: 10.0 * k for k in sorted(self.lost)}

    def quality(self) -> tuple[int, int, int]:
        return 0, 0, 0


def frame(fid: int, key: int) -> bytes:
    return bytes([fid, key])


def ledger() -> LossLedger:
    return LossLedger(lambda fr: (fr[0], fr[1]) if fr[0] else None)


def test_named_frames_and_counters_balance_each_stream() -> None:
    up = Scripted("up", 1, False, 10, {3})
    down = Scripted("down", 2, True, 10, {1, 2, 6, 8})
    ping = Scripted("ping down", 4, True, 5, {0, 4})  # sent at 0 and 40 ns
    led = ledger()
    led.add_frames("ring", [frame(1, 3), frame(2, 6), bytes([0, 9])], [31, 61, 99])
    # two counters see frames to the VM: the earlier switch-over gets the earlier sent
    led.add_count("late", 2, (2, 4), at_ns=500)
    led.add_count("early", 3, (2, 4), at_ns=100)
    accounts = led.balance([up, down, ping])
    assert [(a.name, a.sent, a.delivered, a.lost) for a in accounts] == [
        ("up", 10, 9, {"ring": 1}),
        ("down", 10, 6, {"early": 2, "ring": 1, "late": 1}),
        ("ping down", 5, 3, {"early": 1, "late": 1}),
    ]
    # unnamed lost, by send time: ping 0 (0), down 1 (10), down 2 (20), ping 4 (40), down 8
    assert led.when[4, "early"] == [100] and led.when[4, "late"] == [500]
    assert led.when[2, "ring"] == [61]
    assert sorted(led.when[2, "early"]) == [100, 100]


def test_a_lost_frame_left_unnamed_fails() -> None:
    led = ledger()
    led.add_frames("ring", [frame(1, 3)])
    with pytest.raises(LossImbalance, match="1 frames lost with no name"):
        led.balance([Scripted("up", 1, False, 10, {3, 5})])


def test_a_frame_named_that_arrived_or_named_twice_fails() -> None:
    led = ledger()
    led.add_frames("ring", [frame(1, 4)])
    with pytest.raises(LossImbalance, match=r"named lost \(ring\) but it arrived"):
        led.balance([Scripted("up", 1, False, 10, {3})])
    with pytest.raises(LossImbalance, match="named lost twice"):
        led.add_frames("vswitch", [frame(1, 4)])


def test_counters_must_count_exactly_the_unnamed_frames() -> None:
    for n in (1, 3):
        led = ledger()
        led.add_count("no_route", n, (2,))
        with pytest.raises(LossImbalance, match=f"count {n} frames .* but 2 are lost unnamed"):
            led.balance([Scripted("down", 2, True, 10, {1, 2})])
    led = ledger()
    led.add_count("a", 0, (2,))
    led.add_count("b", 0, (1, 2))
    with pytest.raises(ValueError, match="overlap"):
        led.balance([Scripted("up", 1, False, 3), Scripted("down", 2, True, 3)])
    with pytest.raises(ValueError, match="negative"):
        ledger().add_count("a", -1, (2,))


def test_ping_streams_name_each_lost_request_and_reply() -> None:
    """A VM ('a') and an outside host ('b') ping each other; the wire drops the VM's
    request 1, the outside host's reply to the VM's request 2 and its own request 3;
    each dropped frame is classified into its stream and key."""
    hub, vm, ext = pair()
    track = PingTrack(vm, ext)
    dropped: list[bytes] = []

    def lose(keys: set[int]):
        def f(fr: bytes) -> list[bytes]:
            got = track.classify(fr)
            if got is not None and got[1] in keys:
                dropped.append(fr)
                return []
            return [fr]

        return f

    hub.filters["a"] = lose({1})  # the VM's request seq 1 (to outside)
    hub.filters["b"] = lose({REPLY_KEY | 2, 3})  # reply to the VM's seq 2; ext's seq 3
    for _ in range(5):
        track.send(vm)
        track.send(ext)
        hub.run()
    assert [track.classify(f) for f in dropped] == [
        (PING_TO_OUTSIDE, 1),
        (PING_TO_VM, REPLY_KEY | 2),
        (PING_TO_VM, 3),
    ]
    out, into = track.streams
    assert out.missing().keys() == {1} and into.missing().keys() == {REPLY_KEY | 2, 3}
    # frames each way: 5 requests, and a reply per request that arrived from the other way
    assert (out.sent_frames(), into.sent_frames()) == (5 + 4, 5 + 4)
    led = LossLedger(track.classify)
    led.add_frames("wire", dropped)
    accounts = led.balance(track.streams)
    assert [(a.name, a.to_vm, a.delivered, a.lost) for a in accounts] == [
        ("ping vm -> outside", False, 8, {"wire": 1}),
        ("ping outside -> vm", True, 7, {"wire": 2}),
    ]
    assert (track.from_vm.received, track.from_ext.received) == (3, 4)
    # frames of other sessions or other hosts are no stream's
    other = vm.ping(ext.ip, 1)
    hub.run()
    assert other.received == 1 and out.sent_frames() == 9


def test_ping_duplicates_and_reorders_are_seen() -> None:
    hub, vm, ext = pair()
    track = PingTrack(vm, ext)
    hold: list[bytes] = []

    def ext_wire(fr: bytes) -> list[bytes]:
        if track.classify(fr) == (PING_TO_VM, 0):  # hold the outside's request 0 back
            hold.append(fr)
            return []
        return [fr, fr] if track.classify(fr) == (PING_TO_VM, 1) else [fr]

    hub.filters["b"] = ext_wire
    track.send(ext)
    track.send(ext)
    hub.run()
    hub.queue.append(("b", hold.pop()))
    hub.run()
    _, into = track.streams
    assert into.missing() == {}
    # into the VM: request 1 twice, request 0 after it; back out: the VM answered each
    # arrival, so its replies repeat the pattern (reply 1 twice, reply 0 last)
    assert into.quality() == (1, 1, 0)
    assert track.streams[0].quality() == (1, 1, 0)
    assert track.from_ext.duplicates == 1 and track.streams[0].missing() == {}
