"""Agents of the vf_dma pyuvm environment: the host bus (memory, IOMMU, AXI4 responder with
a request log), the TX stream monitor with backpressure and the RX stream driver."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cocotb.simtime import get_sim_time
from pyuvm import (
    ConfigDB,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_sequencer,
)

from tb.host import AxiDmaResponder, DmaResponderConfig, HostMemory, Iommu, Perm
from tb.hypervisor.guest_memory import GuestMemory
from tb.uvm.axis import StreamFrame, StreamSink, StreamSource
from tb.uvm.vf_dma.config import PAGE, VfDmaEnvConfig
from tb.vf_driver.rings import DmaMemory


@dataclass(frozen=True)
class Access:
    """One request the DUT put on the host bus: cycle of its address handshake, range, ID."""

    cycle: int
    write: bool
    axi_id: int
    addr: int
    nbytes: int

    def overlaps(self, lo: int, hi: int) -> bool:
        return self.addr < hi and lo < self.addr + self.nbytes


class CountingResponder(AxiDmaResponder):
    """The host responder, counting read bursts returned ahead of an older one (reordering).

    With ``access`` set to a list, every accepted AR/AW is appended to it as an
    :class:`Access` stamped with the cycle number of the simulation time (the
    same clock count as :meth:`RegPortMaster.cycle`). ``ar_hold``, ``aw_hold`` and
    ``w_hold`` hold a channel's ready low while set (a host that stops taking
    requests or write data), and ``max_reads`` is the most read bursts outstanding.
    """

    reordered: int = 0
    latencies: list[int] | None = None  # drawn latency of every read burst served
    access: list[Access] | None = None
    period_ns: int = 4
    max_reads: int = 0  # most read bursts outstanding at once
    # Channels a test holds (ready low): requests and data wait until released.
    _held: frozenset[str] = frozenset()

    def _hold(self, name: str, on: bool) -> None:
        """Hold ``arready``/``awready``/``wready`` low (at once, even while the responder
        sleeps) or release it (taken up on the next edge it processes)."""
        self._held = self._held | {name} if on else self._held - {name}
        if on and getattr(self, f"_{name}"):
            setattr(self, f"_{name}", False)
            self.port.sig[name].value = 0

    @property
    def ar_hold(self) -> bool:
        return "arready" in self._held

    @ar_hold.setter
    def ar_hold(self, on: bool) -> None:
        self._hold("arready", on)

    @property
    def aw_hold(self) -> bool:
        return "awready" in self._held

    @aw_hold.setter
    def aw_hold(self, on: bool) -> None:
        self._hold("awready", on)

    @property
    def w_hold(self) -> bool:
        return "wready" in self._held

    @w_hold.setter
    def w_hold(self, on: bool) -> None:
        self._hold("wready", on)

    def _step(self, now: int) -> bool:  # type: ignore[override]
        awake = super()._step(now)
        for name in self._held:
            if getattr(self, f"_{name}"):
                setattr(self, f"_{name}", False)
                self.port.sig[name].value = 0
        # while a channel is held, look at every edge: a release is taken up at once
        return awake or bool(self._held)

    def _log_access(self, write: bool, b: Any) -> None:
        if self.access is not None:
            cycle = int(get_sim_time("ns")) // self.period_ns
            nbytes = b.beats << b.size
            self.access.append(Access(cycle, write, b.axi_id, b.addr, nbytes))

    def _accept_ar(self, now: int) -> None:  # type: ignore[override]
        super()._accept_ar(now)
        self.max_reads = max(self.max_reads, self.outstanding_reads)
        self._log_access(False, self._reads[-1])

    def _accept_aw(self, now: int) -> None:  # type: ignore[override]
        super()._accept_aw(now)
        self._log_access(True, self._writes[-1])

    def _pick_read(self, now: int):  # type: ignore[override]
        oldest = self._reads[0] if self._reads else None
        b = super()._pick_read(now)
        if b is not None:
            if self.latencies is None:
                self.latencies = []
            self.latencies.append(b.due + 1 - b.accepted)
            if b is not oldest:
                self.reordered += 1
        return b


class HostBusAgent(uvm_component):
    """Host memory + IOMMU + AXI4 responder on m_axi (only the DUT's function has a domain)."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        dut = ConfigDB().get(self, "", "dut")
        c = self.cfg
        self.mem = HostMemory(c.mem_bytes)
        self.iommu = Iommu()
        if c.iommu_paged:
            # pages 1..3 are kept from the allocator: page 1 read-only, page 2 unmapped,
            # page 3 write-only
            self.mem = HostMemory(c.mem_bytes, reserve_low=4 * PAGE)
            self.fault_ro, self.fault_hole, self.fault_wo = PAGE, 2 * PAGE, 3 * PAGE
            self.iommu.create_domain(c.func)
            self.iommu.map(c.func, 4 * PAGE, 4 * PAGE, c.mem_bytes - 4 * PAGE)
            self.iommu.map(c.func, self.fault_ro, self.fault_ro, PAGE, Perm.R)
            self.iommu.map(c.func, self.fault_wo, self.fault_wo, PAGE, Perm.W)
        elif c.iova_base:
            self.iommu.create_domain(c.func)
            self.iommu.map(c.func, c.iova_base, 0, c.mem_bytes)
        else:
            self.iommu.create_domain(c.func, passthrough=True, limit=c.mem_bytes)
        # what the driver allocates from and reads and writes: addresses as the DMA
        # engine sees them
        self.dma_mem: DmaMemory = self.mem
        if c.iova_base:
            self.dma_mem = GuestMemory(self.mem, 0, c.mem_bytes, gpa_base=c.iova_base)
        rcfg = DmaResponderConfig(
            read_latency=c.read_latency,
            read_latency_jitter=c.read_latency_jitter,
            out_of_order=c.out_of_order,
            ready_probability=c.bus_ready_probability,
            max_outstanding_reads=c.max_outstanding_reads,
        )
        self.responder = CountingResponder(
            dut, "m_axi", dut.clk, self.mem, self.iommu, rcfg, rng=random.Random(c.seed * 7 + 1)
        )
        self.responder.period_ns = c.period_ns
        if c.access_log:
            self.responder.access = []


def _bernoulli(rng: random.Random, p: float) -> Iterator[bool]:
    while True:
        yield rng.random() < p


class TxStreamAgent(uvm_component):
    """Monitor of the TX stream; applies random backpressure; publishes every frame."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        self.ap = uvm_analysis_port("ap", self)
        self.stalled_frames = 0

    def connect_phase(self) -> None:
        dut = ConfigDB().get(self, "", "dut")
        rng = random.Random(self.cfg.seed * 7 + 2)
        self.sink = StreamSink(
            dut, "m_axis_tx", self.cfg.period_ns, _bernoulli(rng, self.cfg.tx_pause_probability)
        )
        self.sink.on_frame.append(self._publish)

    def _publish(self, f: StreamFrame) -> None:
        self.sink.frames.clear()  # the analysis port is the consumer
        beats = -(-len(f.data) // len(self.sink._keep))
        if f.last_cycle - f.first_cycle + 1 > beats:
            self.stalled_frames += 1
        self.ap.write(f)


class RxStreamAgent(uvm_driver):
    """Drives RxFrameItems into s_axis_rx with random idle gaps; publishes what it sent."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        self.ap = uvm_analysis_port("ap", self)
        self.seqr = uvm_sequencer("seqr", self)

    def connect_phase(self) -> None:
        dut = ConfigDB().get(self, "", "dut")
        rng = random.Random(self.cfg.seed * 7 + 3)
        self.src = StreamSource(
            dut, "s_axis_rx", self.cfg.period_ns, _bernoulli(rng, self.cfg.rx_gap_probability)
        )
        self.seq_item_port.connect(self.seqr.seq_item_export)
        self.credit: Any = None  # set by the env: the DriverModel's RX buffer credit

    async def run_phase(self) -> None:
        while True:
            item = await self.seq_item_port.get_next_item()
            await self.credit.acquire(item.d.data)
            self.ap.write(item.d)
            self.src.send_nowait(item.d.data, item.d.meta)
            self.seq_item_port.item_done()
