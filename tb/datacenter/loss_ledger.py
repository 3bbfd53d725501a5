"""The loss accounting both migration modes are judged by (docs/MIGRATION.md §6, §9).

A :class:`LossStream` is one direction of one kind of traffic whose every frame has
an identity (a UDP flow's sequence numbers, an ICMP echo's type and sequence number)
and a send time; it says which frames it sent never arrived. The
:class:`LossLedger` names each of them:

- frame by frame, where a drop point keeps the frame (a vswitch's record, the
  failover device's drops, a VF ring's leftovers): the ledger's ``classify`` gives
  the frame's (stream, key). A frame named that arrived, or named twice, is an error.
- by count, where only a NIC counter exists. A counter sees every frame of some
  streams (all frames to the VM, say) and carries the switch-over it belongs to; the
  counted frames are the streams' still unnamed lost frames, the earliest sent going
  to the earliest switch-over (frames meet a FIFO path in the order they were sent).
  The counts must equal the unnamed frames exactly, stream group by stream group.

:meth:`LossLedger.balance` returns each stream's account and raises
:class:`LossImbalance` when any lost frame is left without a name or a name without a
lost frame behind it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

FrameKey = tuple[int, int]  # (stream id, the frame's key within its stream)
Classify = Callable[[bytes], FrameKey | None]


class LossStream(Protocol):
    """One direction of identifiable frames between the VM and the outside host."""

    name: str
    flow_id: int

    @property
    def to_vm(self) -> bool: ...

    def sent_frames(self) -> int: ...

    def missing(self) -> dict[int, float]:
        """Key -> send time (ns) of every frame sent that never arrived."""
        ...

    def quality(self) -> tuple[int, int, int]:
        """(duplicates, reordered, corrupted) among what arrived."""
        ...


@dataclass(frozen=True)
class FlowAccount:
    """A stream's balance: ``sent == delivered + sum(lost.values())``."""

    name: str
    flow_id: int
    to_vm: bool
    sent: int
    delivered: int
    lost: dict[str, int]
    duplicates: int
    reordered: int
    corrupted: int

    @property
    def lost_total(self) -> int:
        return sum(self.lost.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "flow_id": self.flow_id,
            "to_vm": self.to_vm,
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": dict(sorted(self.lost.items())),
            "lost_total": self.lost_total,
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "corrupted": self.corrupted,
        }


@dataclass(frozen=True)
class CountedLoss:
    """``n`` frames of ``flows`` lost where only a counter exists; ``at_ns``: the
    switch-over the counter belongs to (None: after every timed one)."""

    reason: str
    n: int
    flows: frozenset[int]
    at_ns: int | None

    def order(self) -> tuple[bool, int]:
        return (self.at_ns is None, self.at_ns or 0)


class LossImbalance(AssertionError):
    """Frames do not balance: sent != delivered + lost by named reason."""


class LossLedger:
    """Lost frames named by reason, frame by frame or by count; :meth:`balance` checks
    and attributes them."""

    def __init__(self, classify: Classify) -> None:
        self.classify = classify
        self.named: dict[FrameKey, tuple[str, int | None]] = {}  # frame -> (reason, ns)
        self.counted: list[CountedLoss] = []
        # filled by balance(): lost frames by (stream, reason), and the drop times known
        self.lost: Counter[tuple[int, str]] = Counter()
        self.when: dict[tuple[int, str], list[int]] = {}

    def add_frames(
        self, reason: str, frames: Iterable[bytes], times_ns: Iterable[int] | None = None
    ) -> None:
        """Dropped frames, each put in its stream by ``classify`` (frames of no stream,
        an ARP say, are not accounted), with the simulated time of each drop if known."""
        frames = list(frames)
        times = list(times_ns) if times_ns is not None else [None] * len(frames)
        if len(times) != len(frames):
            raise ValueError(f"{reason}: {len(frames)} frames but {len(times)} times")
        for frame, t in zip(frames, times, strict=True):
            if (key := self.classify(frame)) is None:
                continue
            if key in self.named:
                raise LossImbalance(
                    f"frame {key} named lost twice: {self.named[key][0]!r} and {reason!r}"
                )
            self.named[key] = (reason, t)

    def add_vswitch(
        self, host: str, dropped: list[tuple[str, str, bytes]], times_ns: list[int]
    ) -> None:
        """A vswitch's record of (where, reason, frame) and their times: reason named with
        its host."""
        for (_where, reason, frame), t in zip(dropped, times_ns, strict=True):
            self.add_frames(f"{reason} (host {host})", [frame], [t])

    def add_count(
        self, reason: str, n: int, flows: Iterable[int], at_ns: int | None = None
    ) -> None:
        """``n`` frames lost where only a counter exists, one that sees every frame of
        ``flows`` (and of those only); ``at_ns``: the switch-over it belongs to."""
        if n < 0:
            raise ValueError(f"negative loss count {n} for {reason!r}")
        self.counted.append(CountedLoss(reason, n, frozenset(flows), at_ns))

    def reasons(self, flow_id: int) -> dict[str, int]:
        """After :meth:`balance`: a stream's lost frames by reason."""
        return {r: n for (fid, r), n in self.lost.items() if fid == flow_id and n}

    def _name(self, fid: int, reason: str, t: int | None) -> None:
        self.lost[fid, reason] += 1
        if t is not None:
            self.when.setdefault((fid, reason), []).append(t)

    def balance(self, streams: Iterable[LossStream]) -> list[FlowAccount]:
        """Each stream's account; raises :class:`LossImbalance` when one does not balance."""
        streams = list(streams)
        by_id = {s.flow_id: s for s in streams}
        self.lost.clear()
        self.when.clear()
        unnamed: dict[int, dict[int, float]] = {fid: s.missing() for fid, s in by_id.items()}
        for (fid, key), (reason, t) in self.named.items():
            if fid not in by_id:
                raise LossImbalance(f"{reason}: a frame of stream {fid}, which no one counts")
            if unnamed[fid].pop(key, None) is None:
                raise LossImbalance(
                    f"{by_id[fid].name}: frame {key:#x} named lost ({reason}) but it arrived"
                )
            self._name(fid, reason, t)
        self._attribute_counts(by_id, unnamed)
        for fid, left in unnamed.items():
            if left:
                raise LossImbalance(
                    f"{by_id[fid].name}: {len(left)} frames lost with no name "
                    f"(keys {sorted(left)[:8]}): {self.reasons(fid)}"
                )
        out = []
        for s in streams:
            lost = self.reasons(s.flow_id)
            sent = s.sent_frames()
            dup, reord, corrupt = s.quality()
            delivered = sent - sum(lost.values())
            out.append(
                FlowAccount(s.name, s.flow_id, s.to_vm, sent, delivered, lost, dup, reord, corrupt)
            )
        return out

    def _attribute_counts(
        self, by_id: dict[int, LossStream], unnamed: dict[int, dict[int, float]]
    ) -> None:
        """Each group of streams one set of counters sees: its unnamed lost frames, by send
        time, to its counters by switch-over time; the numbers must match exactly."""
        groups: dict[frozenset[int], list[CountedLoss]] = {}
        for c in self.counted:
            groups.setdefault(c.flows, []).append(c)
        seen: set[int] = set()
        for flows, counts in groups.items():
            if flows & seen or not flows <= by_id.keys():
                raise ValueError(f"counter streams {sorted(flows)}: overlap or not counted")
            seen |= flows
            pool = sorted((t, fid, key) for fid in flows for key, t in unnamed[fid].items())
            need = sum(c.n for c in counts)
            if need != len(pool):
                names = ", ".join(f"{c.reason} {c.n}" for c in counts)
                raise LossImbalance(
                    f"counters ({names}) count {need} frames of "
                    f"{[by_id[f].name for f in sorted(flows)]} but {len(pool)} are lost unnamed"
                )
            frames = iter(pool)
            for c in sorted(counts, key=CountedLoss.order):
                for _ in range(c.n):
                    _t, fid, key = next(frames)
                    del unnamed[fid][key]
                    self._name(fid, c.reason, c.at_ns)
