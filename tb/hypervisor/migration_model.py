"""The modelled part of a live migration: pre-copy rounds, stop-and-copy (docs/MIGRATION.md §5).

Copying gigabytes over a 10 Gbit/s link takes seconds, which the RTL cannot be
simulated for; so the memory copy is a modelled phase. :func:`plan_precopy`
gives its rounds from :class:`PrecopyParams`, as QEMU's pre-copy runs them:
round 0 sends all of the VM's memory, each later round what the guest dirtied
while the previous one was sent, and the migration stops the VM once what is
left would cross the link within the downtime limit (QEMU's
``DEFAULT_MIGRATE_SET_DOWNTIME``, 300 ms), or after ``max_rounds`` (then it stops
it anyway, as libvirt's ``--timeout`` does). The stop-and-copy sends what is
left and the device state; its duration is the modelled downtime. What the
guest dirties during a round is its application's rate times the round's
duration, plus the writable working set of its datapath (Clark et al., NSDI
2005): the pages the simulated traffic keeps rewriting (RX buffers, rings),
measured, which a longer round does not make larger. Arithmetic is exact
(fractions), so hand-computed expectations hold to the byte.

:class:`DirtyPages` measures what the simulation itself dirtied: the pages of a
VM's memory whose content changed between two points in simulated time (RX
buffers the NIC or the emulated device wrote, rings, the guest's own writes).
It compares snapshots, so a page rewritten with the same bytes does not count
(QEMU's dirty log would count it); the pages it finds over a window of traffic
are the datapath's ``working_set_bytes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from tb.hypervisor.guest_memory import GuestMemory

PAGE = 4096
GIB = 1 << 30
MIB = 1 << 20
DEFAULT_DOWNTIME_LIMIT_S = Fraction(3, 10)  # QEMU migration/options.c, 300 ms


@dataclass(frozen=True)
class PrecopyParams:
    """The modelled copy's parameters (scenario options; defaults from docs/MIGRATION.md §5)."""

    vm_memory_bytes: int = 2 * GIB
    dirty_rate_bytes_per_s: int = 100_000_000
    link_bandwidth_bps: int = 10_000_000_000
    downtime_limit_s: Fraction = DEFAULT_DOWNTIME_LIMIT_S
    max_rounds: int = 30
    device_state_bytes: int = MIB
    page_bytes: int = PAGE
    working_set_bytes: int = 0  # pages the datapath rewrites in every round, whatever its length

    def __post_init__(self) -> None:
        if self.page_bytes <= 0 or self.vm_memory_bytes <= 0:
            raise ValueError(f"memory and page size must be positive: {self}")
        if self.vm_memory_bytes % self.page_bytes:
            raise ValueError(f"VM memory {self.vm_memory_bytes} is not whole pages")
        if self.link_bandwidth_bps <= 0 or self.link_bandwidth_bps % 8:
            raise ValueError(f"link bandwidth {self.link_bandwidth_bps} bit/s: whole bytes/s > 0")
        if min(self.dirty_rate_bytes_per_s, self.device_state_bytes, self.working_set_bytes) < 0:
            raise ValueError(f"dirty rate, device state and working set must be >= 0: {self}")
        if self.downtime_limit_s <= 0 or self.max_rounds < 1:
            raise ValueError(f"downtime limit > 0 and max_rounds >= 1 needed: {self}")

    @property
    def link_bytes_per_s(self) -> int:
        return self.link_bandwidth_bps // 8


@dataclass(frozen=True)
class PrecopyRound:
    """One pre-copy round: what it sent, how long that took, what the guest dirtied meanwhile."""

    index: int
    bytes_sent: int
    duration_s: Fraction
    dirtied_bytes: int


@dataclass(frozen=True)
class PrecopyPlan:
    rounds: tuple[PrecopyRound, ...]
    converged: bool  # False: stopped after max_rounds with more left than the limit allows
    stop_copy_bytes: int  # memory left plus the device state
    downtime_s: Fraction  # the stop-and-copy's duration on the link

    @property
    def precopy_s(self) -> Fraction:
        return sum((r.duration_s for r in self.rounds), Fraction(0))

    @property
    def total_bytes(self) -> int:
        return sum(r.bytes_sent for r in self.rounds) + self.stop_copy_bytes


def plan_precopy(p: PrecopyParams) -> PrecopyPlan:
    """The rounds QEMU's pre-copy would run for ``p``, and the stop-and-copy after them."""
    bw = p.link_bytes_per_s
    threshold = bw * p.downtime_limit_s  # bytes that cross the link within the limit
    left = p.vm_memory_bytes
    rounds: list[PrecopyRound] = []
    converged = False
    for i in range(p.max_rounds):
        duration = Fraction(left, bw)
        pages = math.ceil(p.dirty_rate_bytes_per_s * duration / p.page_bytes)
        dirtied = min(p.vm_memory_bytes, pages * p.page_bytes + p.working_set_bytes)
        rounds.append(PrecopyRound(i, left, duration, dirtied))
        left = dirtied
        if left <= threshold:
            converged = True
            break
    stop = left + p.device_state_bytes
    return PrecopyPlan(tuple(rounds), converged, stop, Fraction(stop, bw))


class DirtyPages:
    """Pages of a VM's memory whose content changed since the last ``mark()``."""

    def __init__(self, memory: GuestMemory, page_bytes: int = PAGE) -> None:
        if memory.size % page_bytes:
            raise ValueError(f"guest memory of {memory.size} bytes is not whole pages")
        self.memory = memory
        self.page_bytes = page_bytes
        self._snapshot = self._pages().copy()

    def _pages(self) -> np.ndarray:
        m = self.memory
        return m.host.view(m.host_base, m.size).reshape(-1, self.page_bytes)

    def dirty(self) -> np.ndarray:
        """Indices of the pages that changed since the last mark (or the start)."""
        return np.flatnonzero((self._pages() != self._snapshot).any(axis=1))

    def mark(self) -> int:
        """Count the dirty pages and start again from now; returns the count."""
        now = self._pages()
        n = int((now != self._snapshot).any(axis=1).sum())
        self._snapshot = now.copy()
        return n
