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
    """Per-destination FIFOs of expected frames; order is preserved per destination."""

    expected: dict[str, deque[bytes]] = field(default_factory=lambda: defaultdict(deque))
    matched: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    matched_bytes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    mismatches: list[Mismatch] = field(default_factory=list)

    def expect(self, dest: str, frame: bytes) -> None:
        self.expected[dest].append(frame)

    def observe(self, dest: str, frame: bytes) -> bool:
        q = self.expected[dest]
        if not q:
            self.mismatches.append(Mismatch(dest, None, frame))
            return False
        want = q.popleft()
        if want != frame:
            self.mismatches.append(Mismatch(dest, want, frame))
            return False
        self.matched[dest] += 1
        self.matched_bytes[dest] += len(frame)
        return True

    def outstanding(self) -> int:
        return sum(len(q) for q in self.expected.values())

    def finish(self) -> list[Mismatch]:
        """Mismatches, counting every expected frame that never arrived."""
        for dest, q in self.expected.items():
            while q:
                self.mismatches.append(Mismatch(dest, q.popleft(), None))
        return self.mismatches
