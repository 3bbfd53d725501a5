"""Reference of the switch's TX shaper (docs/ARCHITECTURE.md §3.2, "TX rate limit"):
a token bucket per function port in 1/65536 byte, fed every frame of a shaped
port with its first and last beat's edge; it raises if a frame started while its
bucket was in debt."""

from __future__ import annotations

from dataclasses import dataclass

RATE_FRAC_BITS = 16  # RATE_INC and the bucket count 1/65536 byte


class ShaperViolation(AssertionError):
    """A function port let a frame start while its token bucket was in debt."""


@dataclass
class TxShaperModel:
    """Reference of one function port's TX shaper (docs §3.2), checked per frame.

    The bucket, in 1/65536 byte, gains ``rate_inc`` every clock edge up to
    ``rate_burst`` bytes; a frame's length is taken out on the edge that accepts its
    last beat, and a frame may have its first beat accepted on edge ``e`` only when
    the bucket held at least 0 after edge ``e - 1``. Writing the policy fills it.
    """

    rate_inc: int = 0
    rate_burst: int = 0
    tokens: int = 0
    edge: int = 0  # the edge ``tokens`` is the value after
    # frames that started on the first edge their bucket allowed after being in debt
    released_from_debt: int = 0

    def load(self, rate_inc: int, rate_burst: int) -> None:
        self.rate_inc, self.rate_burst = rate_inc, rate_burst
        self.tokens, self.edge = rate_burst << RATE_FRAC_BITS, 0

    def _advance(self, edge: int) -> None:
        if edge < self.edge:
            raise ValueError(f"edge {edge} before the bucket's edge {self.edge}")
        cap = self.rate_burst << RATE_FRAC_BITS
        self.tokens = min(self.tokens + self.rate_inc * (edge - self.edge), cap)
        self.edge = edge

    def earliest_start(self, not_before: int) -> int | None:
        """First edge >= ``not_before`` that may accept a frame's first beat, with no
        other frame charged meanwhile; None when the bucket never leaves debt."""
        e = max(not_before, self.edge + 1)
        if self.tokens >= 0:
            return e
        if self.rate_inc == 0:
            return None
        k = self.edge + -(self.tokens // self.rate_inc)  # ceil(-tokens / rate_inc)
        return max(e, k + 1)

    def frame(self, first: int, last: int, length: int) -> None:
        """A frame whose first beat was accepted on edge ``first`` and last on
        ``last``; raises :class:`ShaperViolation` when it started over the rate."""
        before = None
        if first - 2 >= self.edge:
            self._advance(first - 2)
            before = self.tokens
        self._advance(first - 1)
        if self.tokens < 0:
            raise ShaperViolation(
                f"frame started on edge {first} with the bucket at "
                f"{self.tokens / (1 << RATE_FRAC_BITS):.2f} bytes"
            )
        if before is not None and before < 0:
            self.released_from_debt += 1
        self._advance(last)
        self.tokens -= min(length, 0xFFFF) << RATE_FRAC_BITS


# ----------------------------------------------------------------- the model
