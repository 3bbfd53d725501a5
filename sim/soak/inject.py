"""The injection framework: one small class per attack or fault kind, and the schedule.

A kind has a ``name``, a ``category`` (attack or fault), the loss reasons its window
makes legitimate and the VMs whose queues may stall meanwhile, ``counters()`` (the
counters it expects to move, read before and after) and ``inject()``, which acts on
the world and fills its record: what it did, and what each monitor should then see
(expected counter deltas, where its attack frames may arrive). The schedule draws
when each kind runs from the seed; kinds run one after the other (their windows do
not overlap), each window closed ``GRACE_CYCLES`` after the injection returns.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import ClassVar

from sim.soak.model import LINK_DOWN, InjectionRecord
from sim.soak.world import SoakWorld

GRACE_CYCLES = 3_000  # after an injection: frames in flight reach their drop point


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


async def run_injection(w: SoakWorld, inj: Injection) -> InjectionRecord:
    """One injection, its window and its counter deltas."""
    target = inj.target(w)
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


class Schedule:
    """When each kind runs: ``repeats`` times each, at random points of the traffic."""

    def __init__(self, kinds: list[type[Injection]], frames: int, seed: int, repeats: int) -> None:
        rng = random.Random(seed * 104729 + 7)
        self.plan: list[tuple[int, Injection]] = []
        for kind in kinds:
            for _ in range(repeats):
                at = rng.randint(frames // 20, max(frames // 20, frames * 3 // 4))
                self.plan.append((at, kind(random.Random(rng.getrandbits(32)))))
        self.plan.sort(key=lambda p: p[0])

    async def run(self, w: SoakWorld) -> None:
        for at, inj in self.plan:
            while w.sent_total < at and not w.traffic_done:
                await w.tb.cycles(100)
            await run_injection(w, inj)
        w.injections_done = True
