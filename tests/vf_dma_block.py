"""The bench of the block-level cocotb tests of rtl/vf_dma.sv (``tests/cocotb_vf_dma_*.py``).

Every piece is the project's shared one: host memory with a passthrough IOMMU
domain and the AXI4 DMA responder of ``tb/host`` (the vf_dma environment's
:class:`CountingResponder`: request log, holds of a*ready/wready, outstanding
reads), the register port master and :class:`FunctionBar` for the register map
of ``tb/ref/regmap.py``, the queue drivers of ``tb/vf_driver/queues.py`` (rings,
buffers and completions in the layouts of ``tb/ref/layouts.py``), the stream
source and sink of ``tb/uvm/axis.py`` and the interrupt monitor of
``tb/host/interrupts.py``. Frames are built with scapy.

Every wait is bounded: :func:`within` turns a wait that runs out into a
:class:`HangError` naming the queue and what was expected, so a stalled engine
fails with a reason instead of hanging until pytest's timeout.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, SimTimeoutError, with_timeout
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from tb.host import HostMemory, Iommu
from tb.host.dma_responder import DmaResponderConfig
from tb.host.interrupts import IrqMonitor
from tb.host.mmio import FunctionBar
from tb.ref.regmap import Queue, queue_reg
from tb.uvm.axis import StreamFrame, StreamSink, StreamSource
from tb.uvm.regport import RegPortMaster
from tb.uvm.vf_dma import CountingResponder
from tb.vf_driver.queues import RxFrame, RxQueue, TxFrame, TxQueue

FUNC = 5  # function number driven on func_num
PERIOD_NS = 4
MEM_BYTES = 64 << 20
WAIT = 20_000  # cycles a bounded wait allows by default before it calls the engine hung

T = TypeVar("T")


class HangError(AssertionError):
    """A bounded wait ran out: the engine (or the test's traffic) stopped moving."""


def now_cycle() -> int:
    """The clock cycle of the simulation time (the count of the responder's request log,
    the stream stamps and :meth:`RegPortMaster.cycle`)."""
    return int(get_sim_time("ns")) // PERIOD_NS


async def within(aw: Coroutine[Any, Any, T], cycles: int, what: Callable[[], str]) -> T:
    """Await ``aw`` for at most ``cycles`` clock cycles; else fail naming ``what()``."""
    try:
        return await with_timeout(aw, cycles * PERIOD_NS, "ns")
    except SimTimeoutError:
        raise HangError(f"no progress within {cycles} cycles: {what()}") from None


def _pauses(seed: int, p: float) -> Iterator[bool]:
    rng = random.Random(seed)
    while True:
        yield rng.random() < p


class Bench:
    """vf_dma with its host, register port, streams and interrupt monitor. Host read latency
    ``read_latency`` (+ 0..``jitter``) cycles, bursts of different IDs reordered with
    ``ooo`` (the responder's choices drawn from ``seed``)."""

    def __init__(
        self,
        dut: Any,
        read_latency: int = 4,
        ooo: bool = False,
        backpressure: bool = False,
        jitter: int = 0,
        seed: int = 1,
    ) -> None:
        self.dut = dut
        self.data_w = int(dut.DATA_W.value)
        self.nq = int(dut.NUM_QUEUES.value)
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
        dut.rst.value = 1
        dut.func_num.value = FUNC
        dut.func_enable.value = 1
        dut.m_irq_ready.value = 1
        self.regs = RegPortMaster(dut, FUNC, PERIOD_NS)
        self.bar = FunctionBar(self.regs, FUNC)  # type: ignore[arg-type]
        self.mem = HostMemory(MEM_BYTES)
        self.iommu = Iommu()
        self.iommu.create_domain(FUNC, passthrough=True, limit=MEM_BYTES)
        cfg = DmaResponderConfig(
            read_latency=read_latency, read_latency_jitter=jitter, out_of_order=ooo
        )
        self.host = CountingResponder(
            dut, "m_axi", dut.clk, self.mem, self.iommu, cfg, rng=random.Random(seed)
        )
        self.host.period_ns = PERIOD_NS
        self.host.access = []
        # TX stream: tready low 30 % of the cycles with backpressure
        self.tx_sink = StreamSink(
            dut, "m_axis_tx", PERIOD_NS, _pauses(7, 0.3) if backpressure else None
        )
        self.rx_src = StreamSource(dut, "s_axis_rx", PERIOD_NS)
        self.irq = IrqMonitor(dut)

    async def reset(self) -> None:
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        cocotb.start_soon(self.irq.run())
        await ClockCycles(self.dut.clk, 2)

    # -- queues and registers ------------------------------------------------------------------

    def tx_queue(self, q: int, size_log2: int = 5) -> TxQueue:
        return TxQueue(self.bar, self.mem, q, size_log2)

    def rx_queue(self, q: int, size_log2: int = 5, buf_len: int = 2048) -> RxQueue:
        return RxQueue(self.bar, self.mem, q, size_log2, buf_len)

    async def qreg(self, q: int, reg: Queue) -> int:
        return await self.bar.read(queue_reg(q, reg))

    async def rx_drops(self, q: int = 0) -> int:
        return await self.qreg(q, Queue.RXQ_DROPS)

    def writes(self, since: int = 0) -> list[tuple[int, int, int]]:
        """Write requests (AW) from log index ``since`` on: (cycle, AXI ID, address)."""
        acc = self.host.access
        assert acc is not None
        return [(a.cycle, a.axi_id, a.addr) for a in acc[since:] if a.write]

    def log_len(self) -> int:
        assert self.host.access is not None
        return len(self.host.access)

    def check_bus(self) -> None:
        """Every request was the function's own (the IOMMU has no other domain) and legal."""
        assert not self.iommu.faults, f"IOMMU faults: {self.iommu.faults[:3]}"
        assert not self.host.errors, f"host bus errors: {self.host.errors[:3]}"

    # -- bounded waits -----------------------------------------------------------------------------

    async def recv_tx(self, what: str, cycles: int = WAIT) -> StreamFrame:
        """The next frame on the TX stream."""
        sink = self.tx_sink
        return await within(
            sink.recv(), cycles, lambda: f"TX stream: no frame ({sink.count} so far) for {what}"
        )

    async def reap_tx(self, txq: TxQueue, n: int, cycles: int = WAIT) -> list[TxFrame]:
        """Exactly ``n`` frames completed on ``txq`` (waiting for completion writes)."""
        done: list[TxFrame] = []

        async def go() -> None:
            while len(done) < n:
                got = txq.reap()
                if not got:
                    await txq.ring.wait_completion_write(f"{n} completions")
                done.extend(got)

        await within(go(), cycles, lambda: _tx_state(txq, len(done), n))
        assert len(done) == n, f"TX queue {txq.q}: {len(done)} completions, expected {n}"
        return done

    async def reap_rx(self, rxq: RxQueue, n: int, cycles: int = WAIT) -> list[RxFrame]:
        """Exactly ``n`` frames received on ``rxq``, gathered from their buffers (no repost)."""
        done: list[RxFrame] = []

        async def go() -> None:
            while len(done) < n:
                got = rxq.reap()
                if not got:
                    await rxq.ring.wait_completion_write(f"{n} frames")
                done.extend(got)

        await within(go(), cycles, lambda: _rx_state(rxq, len(done), n))
        assert len(done) == n, f"RX queue {rxq.q}: {len(done)} frames, expected {n}"
        return done


def _tx_state(txq: TxQueue, got: int, n: int) -> str:
    r = txq.ring
    return (
        f"TX queue {txq.q}: {got} of {n} completions (driver prod {r.prod}, "
        f"completion index {r.cpl_idx}, phase {r.phase}, ring of {r.size})"
    )


def _rx_state(rxq: RxQueue, got: int, n: int) -> str:
    r = rxq.ring
    return (
        f"RX queue {rxq.q}: {got} of {n} frames (buffers posted to {r.prod}, "
        f"completion index {r.cpl_idx}, phase {r.phase}, ring of {r.size})"
    )


# ---------------------------------------------------------------- frames


def make_frame(rng: random.Random, length: int, vlan: int | None = None) -> bytes:
    """An Ethernet/IPv4/UDP frame of ``length`` bytes with a random payload."""
    p = Ether(src="02:00:00:00:00:05", dst="02:00:00:00:00:09")
    if vlan is not None:
        p = p / Dot1Q(vlan=vlan)
    p = p / IP(src="10.0.0.5", dst="10.0.0.9") / UDP(sport=1000, dport=2000)
    hdr = bytes(p)
    pay = bytes(rng.getrandbits(8) for _ in range(max(0, length - len(hdr))))
    return (hdr + pay)[:length] if length >= len(hdr) else hdr[:length]


def rand_splits(rng: random.Random, n: int, maxparts: int) -> list[int]:
    """``n`` bytes cut into 1..``maxparts`` buffers at random places."""
    parts = rng.randint(1, min(maxparts, n))
    cuts = sorted(rng.sample(range(1, n), parts - 1)) if parts > 1 else []
    edges = [0, *cuts, n]
    return [edges[i + 1] - edges[i] for i in range(parts)]


def post_tx(
    txq: TxQueue,
    frame: bytes,
    splits: list[int],
    rng: random.Random,
    vlan: int | None = None,
    offset: int | None = None,
) -> TxFrame:
    """Post ``frame`` in buffers of the given sizes, each at a random (or the given) byte
    offset in its slot's buffer area; the doorbell is the caller's."""
    offsets = [rng.randrange(64) if offset is None else offset for _ in splits]
    return txq.post(frame, split=splits, offsets=offsets, vlan_tci=vlan)
