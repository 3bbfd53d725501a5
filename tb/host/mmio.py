"""MMIO: the host's register access to the NIC over AXI4-Lite, one function at a time.

cocotbext-axi's AXI-Lite master has no ``a*user`` signals, and those carry the
PCIe function number here (a VF's BAR is a different function, not a
different address). This master issues one access at a time, which is how a
CPU's uncached MMIO behaves, and wakes Python only while an access is open.
"""

from __future__ import annotations

from dataclasses import dataclass

from cocotb.handle import HierarchyObject
from cocotb.triggers import Lock, RisingEdge

AXI_OKAY = 0
_AXIL_SIGNALS = [
    "awaddr",
    "awuser",
    "awvalid",
    "awready",
    "wdata",
    "wstrb",
    "wvalid",
    "wready",
    "bresp",
    "bvalid",
    "bready",
    "araddr",
    "aruser",
    "arvalid",
    "arready",
    "rdata",
    "rresp",
    "rvalid",
    "rready",
]


class MmioError(RuntimeError):
    """The device answered an access with an error response."""


class AxiLiteMmio:
    """AXI4-Lite master with the function number on ``awuser``/``aruser``."""

    def __init__(self, dut: HierarchyObject, clk, prefix: str = "s_axil") -> None:
        self._clk = clk
        self._sig = {name: getattr(dut, f"{prefix}_{name}") for name in _AXIL_SIGNALS}
        self._lock = Lock()
        self.reads = 0
        self.writes = 0
        for name in ("awvalid", "wvalid", "bready", "arvalid", "rready"):
            self._sig[name].value = 0

    async def write32(self, func: int, addr: int, value: int) -> None:
        s = self._sig
        async with self._lock:
            s["awaddr"].value = addr
            s["awuser"].value = func
            s["awvalid"].value = 1
            s["wdata"].value = value & 0xFFFF_FFFF
            s["wstrb"].value = 0xF
            s["wvalid"].value = 1
            s["bready"].value = 1
            aw_open = w_open = True
            while aw_open or w_open:
                await RisingEdge(self._clk)
                if aw_open and s["awready"].value:
                    aw_open = False
                    s["awvalid"].value = 0
                if w_open and s["wready"].value:
                    w_open = False
                    s["wvalid"].value = 0
            while True:
                await RisingEdge(self._clk)
                if s["bvalid"].value:
                    break
            s["bready"].value = 0
            resp = int(s["bresp"].value)
            self.writes += 1
        if resp != AXI_OKAY:
            raise MmioError(f"write func {func} addr {addr:#07x} answered resp {resp}")

    async def read32(self, func: int, addr: int) -> int:
        s = self._sig
        async with self._lock:
            s["araddr"].value = addr
            s["aruser"].value = func
            s["arvalid"].value = 1
            while True:
                await RisingEdge(self._clk)
                if s["arready"].value:
                    break
            s["arvalid"].value = 0
            s["rready"].value = 1
            while True:
                await RisingEdge(self._clk)
                if s["rvalid"].value:
                    break
            s["rready"].value = 0
            value = int(s["rdata"].value)
            resp = int(s["rresp"].value)
            self.reads += 1
        if resp != AXI_OKAY:
            raise MmioError(f"read func {func} addr {addr:#07x} answered resp {resp}")
        return value


@dataclass(frozen=True)
class FunctionBar:
    """One function's register space, as its driver sees it."""

    mmio: AxiLiteMmio
    func: int

    async def read(self, addr: int) -> int:
        return await self.mmio.read32(self.func, addr)

    async def write(self, addr: int, value: int) -> None:
        await self.mmio.write32(self.func, addr, value)

    async def read64(self, lo_addr: int) -> int:
        lo = await self.read(lo_addr)
        hi = await self.read(lo_addr + 4)
        return (hi << 32) | lo
