"""Frame scoreboard: expected frames per destination, compared byte for byte in order."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field


@dataclass
class Mismatch:
    dest: str
    expected: bytes | None
    observed: bytes | None
    note: str = ""  # a mismatch of counts rather than of one frame

    def __str__(self) -> str:
        if self.note:
            return f"{self.dest}: {self.note}"
        if self.expected is None:
            return f"{self.dest}: unexpected frame of {len(self.observed or b'')} bytes"
        if self.observed is None:
            return f"{self.dest}: expected frame of {len(self.expected)} bytes never arrived"
        diff = next(
            (
                i
                for i, (a, b) in enumerate(zip(self.expected, self.observed, strict=False))
                if a != b
            ),
            min(len(self.expected), len(self.observed)),
        )
        return (
            f"{self.dest}: frame differs at byte {diff} "
            f"(expected {len(self.expected)} bytes, got {len(self.observed)})"
        )


@dataclass
class FrameScoreboard:
    """Expected frames per destination, one FIFO per source feeding it.

    A switch keeps order within a (source, destination) flow but interleaves
    sources freely, so an observed frame must equal the oldest outstanding
    frame of one of the sources feeding that destination.

    A NIC may drop frames it cannot take (no posted buffer, a full FIFO) as
    long as it counts them: an observed frame further down a source's queue
    skips the frames before it, and at ``finish()`` the frames skipped or never
    seen at a destination must equal what its drop counters say
    (``counted_drops``); every other missing frame is a mismatch.
    """

    expected: dict[str, dict[str, deque[bytes]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(deque))
    )
    matched: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    matched_bytes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    drops: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    def counted_drops(self, dest: str, counter: str, count: int) -> None:
        """The NIC's ``counter`` says ``count`` frames for ``dest`` were dropped."""
        self.drops[dest][counter] = count

    def expect(self, dest: str, frame: bytes, source: str = "") -> None:
        self.expected[dest][source].append(frame)

    def observe(self, dest: str, frame: bytes) -> bool:
        heads = [q for q in self.expected[dest].values() if q]
        if not heads:
            self.mismatches.append(Mismatch(dest, None, frame))
            return False
        for q in heads:
            if q[0] == frame:
                q.popleft()
                self._match(dest, frame)
                return True
        for q in heads:
            # A gap in one source's order: the frames before it were dropped
            # (accounted for at finish()). Frames carry sequence numbers, so
            # equal bytes further down are this frame.
            if frame in q:
                while (head := q.popleft()) != frame:
                    self.skipped[dest].append(head)
                self._match(dest, frame)
                return True
        # No source's next frame matches: report against the head of the same
        # length if there is one (most informative diff), and consume it so one
        # corrupted frame is one mismatch, not a cascade.
        q = next((q for q in heads if len(q[0]) == len(frame)), heads[0])
        self.mismatches.append(Mismatch(dest, q.popleft(), frame))
        return False

    def _match(self, dest: str, frame: bytes) -> None:
        self.matched[dest] += 1
        self.matched_bytes[dest] += len(frame)

    def outstanding(self) -> int:
        return sum(len(q) for per_src in self.expected.values() for q in per_src.values())

    def finish(self) -> list[Mismatch]:
        """Mismatches, counting every expected frame that never arrived."""
        for dest, per_src in self.expected.items():
            missing = self.skipped.pop(dest, [])
            for q in per_src.values():
                missing += q
                q.clear()
            counted = sum(self.drops.get(dest, {}).values())
            # Counted drops explain that many missing frames, no more; a counter
            # above what is missing means frames were counted twice or wrongly.
            self.mismatches += [Mismatch(dest, f, None) for f in missing[counted:]]
            if counted > len(missing):
                note = f"drop counters say {counted} frames, only {len(missing)} are missing"
                self.mismatches.append(Mismatch(dest, None, None, note))
        return self.mismatches
