"""Interrupt delivery: the NIC's interrupt messages ``{function, vector}`` as the host sees them.

The monitor sleeps on ``m_irq_valid`` and wakes per clock only while messages
are being accepted; drivers wait for a given (function, vector) without polling.
"""

from __future__ import annotations

from collections import defaultdict

from cocotb.handle import HierarchyObject
from cocotb.triggers import Event, RisingEdge


class IrqMonitor:
    """Counts accepted interrupt messages per (function, vector) and wakes waiters."""

    def __init__(self, dut: HierarchyObject, prefix: str = "m_irq") -> None:
        self._clk = dut.clk
        self._valid = getattr(dut, f"{prefix}_valid")
        self._ready = getattr(dut, f"{prefix}_ready")
        self._func = getattr(dut, f"{prefix}_func")
        self._vector = getattr(dut, f"{prefix}_vector")
        self._counts: defaultdict[tuple[int, int], int] = defaultdict(int)
        self._events: defaultdict[tuple[int, int], Event] = defaultdict(Event)
        self._kicks: defaultdict[tuple[int, int], int] = defaultdict(int)  # kick() calls
        # Per function, any vector: what an interrupt handler of the function waits on.
        self._func_counts: defaultdict[int, int] = defaultdict(int)
        self._func_events: defaultdict[int, Event] = defaultdict(Event)

    async def run(self) -> None:
        while True:
            if not self._valid.value:
                await RisingEdge(self._valid)
            await RisingEdge(self._clk)
            # Sampled at the edge where the handshake completes.
            while self._valid.value and self._ready.value:
                key = (int(self._func.value), int(self._vector.value))
                self._counts[key] += 1
                self._events[key].set()
                self._func_counts[key[0]] += 1
                self._func_events[key[0]].set()
                await RisingEdge(self._clk)

    def count(self, func: int, vector: int) -> int:
        return self._counts[(func, vector)]

    async def wait_beyond(self, func: int, vector: int, seen: int) -> int:
        """Return once more than ``seen`` interrupts of (func, vector) were delivered, or
        once :meth:`kick` releases the waiters."""
        key = (func, vector)
        kicks = self._kicks[key]
        while self._counts[key] <= seen and self._kicks[key] == kicks:
            ev = self._events[key]
            ev.clear()
            await ev.wait()
        return self._counts[key]

    def kick(self, func: int, vector: int) -> None:
        """Release the waiters of (func, vector) without an interrupt (a driver's watchdog)."""
        self._kicks[(func, vector)] += 1
        self._events[(func, vector)].set()

    def function_count(self, func: int) -> int:
        """Interrupt messages of ``func``, all vectors."""
        return self._func_counts[func]

    async def wait_function(self, func: int, seen: int) -> int:
        """Return once more than ``seen`` interrupts of ``func`` (any vector) were delivered."""
        while self._func_counts[func] <= seen:
            ev = self._func_events[func]
            ev.clear()
            await ev.wait()
        return self._func_counts[func]
