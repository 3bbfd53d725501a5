"""Master of a block's internal register port (``reg_wr``/``reg_rd``, ARCHITECTURE.md §1).

It offers the same ``read32``/``write32(func, addr, ...)`` calls as
:class:`tb.host.mmio.AxiLiteMmio`, so a :class:`tb.host.mmio.FunctionBar` (and
the driver models built on it) can drive a block directly, without the
AXI4-Lite front end of ``nic_top``. The function number is fixed by the
block's ``func_num`` input, so ``func`` is checked, not driven. A block-wide port
(the switch's, owned by the PF) is driven with :meth:`read`, :meth:`write` and
:meth:`apply`, which address the port's own function.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cocotb.simtime import get_sim_time
from cocotb.triggers import Lock, RisingEdge


class RegPortError(RuntimeError):
    """An access was addressed to another function than the block's."""


@dataclass
class RegPortMaster:
    """One register access at a time; ``last_write_cycle`` stamps the edge a write took effect."""

    dut: Any
    func: int
    period_ns: int = 4
    reads: int = 0
    writes: int = 0
    last_write_cycle: int = -1
    _lock: Lock = field(default_factory=Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        d = self.dut
        d.reg_wr.value = 0
        d.reg_rd.value = 0
        d.reg_addr.value = 0
        d.reg_wdata.value = 0

    def cycle(self) -> int:
        return int(get_sim_time("ns")) // self.period_ns

    def _check(self, func: int) -> None:
        if func != self.func:
            raise RegPortError(f"access for function {func} on the port of function {self.func}")

    async def write32(self, func: int, addr: int, value: int) -> None:
        self._check(func)
        d = self.dut
        async with self._lock:
            d.reg_addr.value = addr
            d.reg_wdata.value = value & 0xFFFF_FFFF
            d.reg_wr.value = 1
            await RisingEdge(d.clk)
            self.last_write_cycle = self.cycle()
            d.reg_wr.value = 0
            self.writes += 1

    async def read32(self, func: int, addr: int) -> int:
        self._check(func)
        d = self.dut
        async with self._lock:
            d.reg_addr.value = addr
            d.reg_rd.value = 1
            await RisingEdge(d.clk)
            d.reg_rd.value = 0
            await RisingEdge(d.clk)
            self.reads += 1
            return int(d.reg_rdata.value)

    async def write(self, addr: int, value: int) -> None:
        """A write on the port's own function."""
        await self.write32(self.func, addr, value)

    async def read(self, addr: int) -> int:
        """A read on the port's own function."""
        return await self.read32(self.func, addr)

    async def apply(self, writes: Iterable[tuple[int, int]]) -> None:
        """``(addr, value)`` writes in order (a reference model's register sequence)."""
        for addr, value in writes:
            await self.write(addr, value)
