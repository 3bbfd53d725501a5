"""The injection framework: one small class per attack or fault kind, and the schedule.

A kind has a ``name``, a ``category`` (attack or fault), the loss reasons its window
makes legitimate and the VMs whose queues may stall meanwhile, ``counters()`` (the
counters it expects to move, read before and after) and ``inject()``, which acts on
the world and fills its record: what it did, and what each monitor should then see
(expected counter deltas, where its attack frames may arrive). The schedule draws
when each kind runs from the seed. Attacks run in one lane and faults in
``FAULT_LANES`` more, all at the same time, each lane one injection after the other,
each window closed ``GRACE_CYCLES`` after the injection returns; so an attack's window
and faults' windows overlap wherever the draw puts them, unless they claim something in
common (``claims``: the VMs whose counters, deliveries or interrupts one measures and
the other may move, the uplink, the host bus), in which case the later one waits for
the earlier to close.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import ClassVar

import cocotb
from cocotb.triggers import Event

from sim.soak.model import LINK_DOWN, InjectionRecord
from sim.soak.world import SoakWorld

GRACE_CYCLES = 3_000  # after an injection: frames in flight reach their drop point
FAULT_LANES = 2  # faults that may run at once (on different VMs, ``claims``)


class Injection(ABC):
    name: ClassVar[str]
    category: ClassVar[str]  # "attack" or "fault"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def target(self, w: SoakWorld) -> str:
        return "vm4"

    def tolerated(self, w: SoakWorld, target: str) -> frozenset[str]:
        """Loss reasons legitimate during the window (model.py names them)."""
        return frozenset()

    def excused(self, target: str) -> frozenset[str]:
        """VMs whose queues may legitimately stop completing during the window."""
        return frozenset()

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        """What no other injection may act on while this one's window is open: what it
        measures exactly or makes move (by default its target)."""
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        """The counters this kind expects to move, read now."""
        return {}

    @abstractmethod
    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        """Do it; fill ``rec.expects`` and, for attack frames, where they may arrive."""


async def read_tolerated(w: SoakWorld, reasons: frozenset[str]) -> dict[str, int]:
    """Counter-level loss reasons of a window, read now."""
    out: dict[str, int] = {}
    for r in sorted(reasons):
        if r == LINK_DOWN:
            out[r] = await w.link_down_drops()
        elif r.startswith("rxq_drops:"):
            out[r] = await w.rx_drops(r.split(":", 1)[1])
    return out


async def run_injection(w: SoakWorld, inj: Injection, target: str) -> InjectionRecord:
    """One injection on ``target``, its window and its counter deltas."""
    tolerated = inj.tolerated(w, target)
    rec = InjectionRecord(
        inj.name,
        inj.category,
        target,
        w.tb.now_ns(),
        tolerated=tolerated,
        excused=inj.excused(target),
    )
    w.records.append(rec)
    w.tb.dut._log.info("soak: %s %s on %s", inj.category, inj.name, target)
    before = await inj.counters(w, target)
    losses0 = await read_tolerated(w, tolerated)
    await inj.inject(w, rec)
    await w.tb.cycles(GRACE_CYCLES)
    after = await inj.counters(w, target)
    losses1 = await read_tolerated(w, tolerated)
    rec.measured.update({k: after[k] - before[k] for k in after})
    rec.counter_losses = {k: losses1[k] - losses0[k] for k in losses1}
    rec.end_ns = w.tb.now_ns()
    return rec


class Claims:
    """Who holds what (``Injection.claims``). An injection takes all of its claims at once,
    in the order the injections asked: it waits while anything it wants is held or
    wanted by one that asked before it (a lane that gives a claim back and asks for it
    again at once does not starve the other lane), and never holds some while waiting
    for others (no two injections wait on each other)."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self._queue: list[tuple[frozenset[str], Event]] = []

    def _free_for(self, entry: tuple[frozenset[str], Event]) -> bool:
        want = entry[0]
        if self.held & want:
            return False
        for earlier in self._queue:
            if earlier is entry:
                return True
            if earlier[0] & want:
                return False
        raise AssertionError("a claim that is not queued")

    async def take(self, want: frozenset[str]) -> None:
        entry = (want, Event())
        self._queue.append(entry)
        while not self._free_for(entry):
            entry[1].clear()
            await entry[1].wait()
        self._queue.remove(entry)
        self.held |= want

    def give_back(self, want: frozenset[str]) -> None:
        self.held -= want
        for _, freed in self._queue:
            freed.set()


class Schedule:
    """When each kind runs: ``repeats`` times each, at random points of the traffic; the
    attacks in one lane, the faults in another, the two lanes at once."""

    def __init__(self, kinds: list[type[Injection]], frames: int, seed: int, repeats: int) -> None:
        rng = random.Random(seed * 104729 + 7)
        self.plan: list[tuple[int, Injection]] = []
        for kind in kinds:
            for _ in range(repeats):
                at = rng.randint(frames // 20, max(frames // 20, frames * 3 // 4))
                self.plan.append((at, kind(random.Random(rng.getrandbits(32)))))
        self.plan.sort(key=lambda p: p[0])
        self.claims = Claims()

    def lanes(self) -> list[list[tuple[int, Injection]]]:
        """One lane of attacks (one attacker), FAULT_LANES of faults (dealt in turn)."""
        attacks = [p for p in self.plan if p[1].category == "attack"]
        faults = [p for p in self.plan if p[1].category == "fault"]
        return [attacks, *(faults[k::FAULT_LANES] for k in range(FAULT_LANES))]

    async def run(self, w: SoakWorld) -> None:
        w.planned_injections = len(self.plan)
        lanes = [cocotb.start_soon(self._lane(w, plan)) for plan in self.lanes() if plan]
        for lane in lanes:
            await lane
        w.injections_done = True

    async def _lane(self, w: SoakWorld, plan: list[tuple[int, Injection]]) -> None:
        for at, inj in plan:
            while w.sent_total < at and not w.traffic_done:
                await w.tb.cycles(100)
            target = inj.target(w)
            claims = inj.claims(w, target)
            await self.claims.take(claims)
            try:
                await run_injection(w, inj, target)
            finally:
                self.claims.give_back(claims)
