"""Frame scoreboard: expected frames per destination, compared byte for byte in order."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field


@dataclass
class Mismatch:
    dest: str
    expected: bytes | None
    observed: bytes | None

    def __str__(self) -> str:
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
    """

    expected: dict[str, dict[str, deque[bytes]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(deque))
    )
    matched: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    matched_bytes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    mismatches: list[Mismatch] = field(default_factory=list)

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
                self.matched[dest] += 1
                self.matched_bytes[dest] += len(frame)
                return True
        # No source's next frame matches: report against the head of the same
        # length if there is one (most informative diff), and consume it so one
        # corrupted frame is one mismatch, not a cascade.
        q = next((q for q in heads if len(q[0]) == len(frame)), heads[0])
        self.mismatches.append(Mismatch(dest, q.popleft(), frame))
        return False

    def outstanding(self) -> int:
        return sum(len(q) for per_src in self.expected.values() for q in per_src.values())

    def finish(self) -> list[Mismatch]:
        """Mismatches, counting every expected frame that never arrived."""
        for dest, per_src in self.expected.items():
            for q in per_src.values():
                while q:
                    self.mismatches.append(Mismatch(dest, q.popleft(), None))
        return self.mismatches
