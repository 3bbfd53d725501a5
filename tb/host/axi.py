"""AXI4 as the host model's slave ports see it: response and burst codes, the
signals of one port, and where the beats of a burst sit (AXI spec A3.4.1).

Shared by the Python DMA responder (tb/host/dma_responder.py) and the tests of
burst layout (tests/test_host_model.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from tb.sigio import int_reader

AXI_4K = 4096


class AxiResp(IntEnum):
    OKAY = 0
    EXOKAY = 1
    SLVERR = 2
    DECERR = 3


class AxiBurst(IntEnum):
    FIXED = 0
    INCR = 1
    WRAP = 2


class AxiProtocolError(AssertionError):
    """The master broke an AXI4 rule (raised when ``strict``; it fails the cocotb test)."""


_REQUIRED = (
    "awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready",
    "wdata", "wlast", "wvalid", "wready",
    "bid", "bresp", "bvalid", "bready",
    "arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "arready",
    "rid", "rdata", "rresp", "rlast", "rvalid", "rready",
)  # fmt: skip
_OPTIONAL = ("awuser", "aruser", "wstrb")
# Signals the master drives: the ones the responder reads.
_INPUTS = (
    "awid", "awaddr", "awlen", "awsize", "awburst", "awuser", "awvalid",
    "wdata", "wstrb", "wlast", "wvalid", "bready",
    "arid", "araddr", "arlen", "arsize", "arburst", "aruser", "arvalid", "rready",
)  # fmt: skip


class PortReaders:
    """One fast reader per signal the master drives; absent optional ones read a default."""

    __slots__ = _INPUTS

    def __init__(self, sig: dict[str, Any], data_bytes: int) -> None:
        defaults = {"awuser": 0, "aruser": 0, "wstrb": (1 << data_bytes) - 1}
        for name in _INPUTS:
            if name in sig:
                setattr(self, name, int_reader(sig[name]))
            else:
                setattr(self, name, lambda v=defaults[name]: v)


class AxiSlavePort:
    """Handles of one AXI4 port, found by prefix (``m_axi`` -> ``dut.m_axi_awid`` ...).

    ``awuser``/``aruser`` (function number) and ``wstrb`` are optional: without
    them every access is function 0 and every strobe is set.
    """

    def __init__(self, dut: Any, prefix: str) -> None:
        missing = [n for n in _REQUIRED if not hasattr(dut, f"{prefix}_{n}")]
        if missing:
            raise AttributeError(
                f"AXI4 port '{prefix}' lacks signals: "
                + ", ".join(f"{prefix}_{n}" for n in missing)
            )
        self.prefix = prefix
        self.sig: dict[str, Any] = {n: getattr(dut, f"{prefix}_{n}") for n in _REQUIRED}
        for n in _OPTIONAL:
            if hasattr(dut, f"{prefix}_{n}"):
                self.sig[n] = getattr(dut, f"{prefix}_{n}")
        for n, handle in self.sig.items():  # plain attributes: fast in the per-edge path
            setattr(self, n, handle)
        self.data_bytes = len(self.sig["rdata"]) // 8
        if self.data_bytes * 8 != len(self.sig["rdata"]) or self.data_bytes & (self.data_bytes - 1):
            raise ValueError(f"{prefix}_rdata width {len(self.sig['rdata'])} is not 8 * 2**k bits")
        self.get = PortReaders(self.sig, self.data_bytes)

    def __getattr__(self, name: str) -> Any:  # only reached for names that are not signals
        raise AttributeError(f"AXI4 port '{self.__dict__.get('prefix')}' has no signal '{name}'")

    def has(self, name: str) -> bool:
        return name in self.sig


@dataclass(frozen=True)
class BurstLayout:
    """Where the beats of a burst sit: the covered address range and each beat's bytes."""

    lo: int  # first byte address of the covered range
    hi: int  # one past the last
    fast: bool  # full-width INCR: beat i is bytes [lo + i*DB, lo + (i+1)*DB)
    beats: tuple[tuple[int, int, int], ...] = ()  # slow path: (offset in range, lane, nbytes)


def burst_layout(addr: int, beats: int, size: int, burst: int, data_bytes: int) -> BurstLayout:
    """Address layout of an AXI4 burst (AXI spec A3.4.1) on a ``data_bytes``-wide bus."""
    nb = 1 << size
    base = addr & -nb  # aligned to the transfer size
    if burst == AxiBurst.INCR and nb == data_bytes:
        return BurstLayout(base, base + beats * nb, True)
    if burst == AxiBurst.FIXED:
        lo, hi = base, base + nb
        addrs = [addr] * beats
    elif burst == AxiBurst.WRAP:
        total = beats * nb
        lo = addr & -total
        hi = lo + total
        addrs = [lo + ((base - lo) + i * nb) % total for i in range(beats)]
    else:  # INCR, narrow
        lo, hi = base, base + beats * nb
        addrs = [addr] + [base + i * nb for i in range(1, beats)]
    lanes = []
    for a in addrs:
        lane = a % data_bytes
        end = ((a & -nb) % data_bytes) + nb
        lanes.append((a - lo, lane, end - lane))
    return BurstLayout(lo, hi, False, tuple(lanes))
