"""The testbench top for ``nic_top``: clock, reset, host, network and drivers, built once.

Tests and scenarios both start from :class:`NicTb`, as verilog-axis tests start
from their ``TB`` class: it starts the clock, builds the bus models from the
port prefixes and offers ``reset()``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.handle import HierarchyObject
from cocotb.task import Task
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_time

from tb.host.dma_path import DmaResponderConfig
from tb.host.dma_responder import AxiDmaResponder
from tb.host.hdl_bus import HdlHostBus
from tb.host.interrupts import IrqMonitor
from tb.host.iommu import Iommu
from tb.host.memory import HostMemory
from tb.host.mmio import AxiLiteMmio, FunctionBar
from tb.hypervisor.hypervisor import Hypervisor
from tb.hypervisor.npa import NpaHost, VendorPlugin
from tb.hypervisor.vswitch import PfPortVswitch
from tb.net.axis_fast import FastStreamSink, FastStreamSource, WirePacing
from tb.net.hdl_stream import HdlStreamSink, HdlStreamSource, HdlStreamTap
from tb.net.pcap import NS_PER_CYCLE, Direction, PortCapture
from tb.net.stream_tap import StreamSignals, StreamTap
from tb.pf_driver.driver import PfDriver
from tb.plugin_model.ring_a import RingAPlugin, ring_a_image
from tb.plugin_model.ring_b import RingBPlugin, ring_b_image
from tb.ref.regmap import RING_A_IDENTITY, RING_B_IDENTITY, RingFmt
from tb.vf_driver.flavour import queue_pair
from tb.vf_driver.queues import RxQueue, TxQueue
from tb.vf_driver.upt_queues import UptRxQueue, UptTxQueue

# How often a capture on nic_sim_top takes its taps' frames out of C (cycles).
CAPTURE_DRAIN_CYCLES = 4096


@dataclass(frozen=True)
class TbConfig:
    mem_bytes: int = 64 << 20
    read_latency: int = 125
    # host write path: edges from a burst's last W beat to its B, bursts in flight
    write_latency: int = 1
    max_outstanding_writes: int = 32
    seed: int = 1
    pcap_dir: Path | None = None
    wire_rate_bps: float = 100e9  # the outside network's link rate into the uplink
    # VFs whose IOMMU domain the hypervisor owns (created when it assigns the VF
    # to a VM); every other function, the PF included, gets a host identity domain.
    vm_vfs: tuple[int, ...] = ()
    # Who serves the host bus: "hdl" is sim/tops/nic_sim_top.sv's sim_host_bus (no
    # Python per beat, docs/SIM_SPEED.md), "python" tb/host's AxiDmaResponder on
    # nic_top's m_axi port; "auto" takes whichever the built top has.
    host_bus: str = "auto"


class NicTb:
    """Everything around one ``nic_top`` instance."""

    def __init__(self, dut: HierarchyObject, cfg: TbConfig | None = None) -> None:
        self.dut = dut
        self.cfg = cfg or TbConfig()
        self.rng = random.Random(self.cfg.seed)
        self.num_vf = int(dut.NUM_VF.value)
        self.num_func = self.num_vf + 1
        self.data_bytes = len(dut.m_axis_uplink_tdata) // 8
        cocotb.start_soon(Clock(dut.clk, NS_PER_CYCLE, unit="ns").start())

        self.mem = HostMemory(self.cfg.mem_bytes)
        self.iommu = Iommu()
        # Host-side drivers (the PF's, and the VFs' not given to VMs) use bus
        # addresses equal to host physical addresses: identity domains. A VF in
        # ``vm_vfs`` has no domain (its DMA faults) until ``self.hv`` assigns it.
        for f in range(self.num_func):
            if f not in self.cfg.vm_vfs:
                self.iommu.create_domain(f, passthrough=True)
        self.host_bus = self._host_bus()
        self.mmio = AxiLiteMmio(dut, dut.clk)
        self.wire_in, self.wire_out = self._wire()
        # Interrupt messages are accepted at once; drivers here reap by watching
        # their completion rings.
        dut.m_irq_ready.value = 1
        self.pf = PfDriver(self.bar(0))
        self.hv = Hypervisor(self.mem, self.iommu, self.pf)
        self.capture: PortCapture | None = None
        self._taps: list[StreamTap] = []
        self._hdl_taps: list[tuple[str, Direction, HdlStreamTap]] = []
        self._tap_drain: Task[None] | None = None
        self._irq: IrqMonitor | None = None

    def _host_bus(self) -> AxiDmaResponder | HdlHostBus:
        """The host bus model the top calls for (both answer with the same timing)."""
        bus_cfg = DmaResponderConfig(
            read_latency=self.cfg.read_latency,
            write_latency=self.cfg.write_latency,
            max_outstanding_writes=self.cfg.max_outstanding_writes,
        )
        in_hdl = hasattr(self.dut, "host_bus_rst")
        choice = self.cfg.host_bus
        if choice == "auto":
            choice = "hdl" if in_hdl else "python"
        if choice != ("hdl" if in_hdl else "python"):
            raise ValueError(f"host_bus={choice!r} does not fit the top (HDL host bus: {in_hdl})")
        if choice == "hdl":
            # a top with several hosts names each one's state in C (HOST_BUS_INST)
            inst = int(self.dut.HOST_BUS_INST.value) if hasattr(self.dut, "HOST_BUS_INST") else 0
            return HdlHostBus(
                self.dut, "host_bus", self.dut.clk, self.mem, self.iommu, bus_cfg, instance=inst
            )
        return AxiDmaResponder(
            self.dut,
            "m_axi",
            self.dut.clk,
            self.mem,
            self.iommu,
            bus_cfg,
            rng=random.Random(self.cfg.seed),
        )

    def _wire(self) -> tuple[HdlStreamSource | FastStreamSource, HdlStreamSink | FastStreamSink]:
        """The uplink's wire: the outside network's frames in and out of the NIC.

        The outside network sends at 100 GbE's frame rate, never faster. In
        nic_sim_top the wire is HDL (tb/net/hdl_stream.py: Python wakes once per
        frame); on nic_top it is tb/net/axis_fast.py's models, which wake Python per
        beat while a frame moves (cocotbext-axi's woke per clock, docs/SIM_SPEED.md).
        """
        dut = self.dut
        nb = self.data_bytes
        pacing = WirePacing(self.cfg.wire_rate_bps, NS_PER_CYCLE)
        if hasattr(dut, "uplink_in_rst"):
            return (
                HdlStreamSource(dut, "uplink_in", dut.clk, int(dut.UPLINK_IN_CH.value), nb, pacing),
                HdlStreamSink(dut, "uplink_out", dut.clk, int(dut.UPLINK_OUT_CH.value), nb),
            )
        return (
            FastStreamSource(dut, "s_axis_uplink", dut.clk, pacing),
            FastStreamSink(dut, "m_axis_uplink", dut.clk),
        )

    def bar(self, func: int) -> FunctionBar:
        return FunctionBar(self.mmio, func)

    def interrupts(self) -> IrqMonitor:
        """The host's view of the NIC's interrupt messages (one monitor, started on first use)."""
        if self._irq is None:
            self._irq = IrqMonitor(self.dut)
            cocotb.start_soon(self._irq.run())
        return self._irq

    @staticmethod
    def cycle() -> int:
        return int(get_sim_time("ns")) // NS_PER_CYCLE

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 8)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 4)

    async def cycles(self, n: int) -> None:
        await ClockCycles(self.dut.clk, n)

    def ring_fmt(self, func: int) -> RingFmt:
        """Ring format of ``func``'s engine: the PF's is A, VF n's bit n-1 of VF_RING_FMT."""
        flavours = int(self.dut.VF_RING_FMT.value) if hasattr(self.dut, "VF_RING_FMT") else 0
        return RingFmt.B if func > 0 and (flavours >> (func - 1)) & 1 else RingFmt.A

    def queues(
        self, func: int, q: int = 0, size_log2: int = 8
    ) -> tuple[TxQueue | UptTxQueue, RxQueue | UptRxQueue]:
        """Queue pair ``q`` of ``func``, driven in the function's ring format."""
        return queue_pair(self.bar(func), self.mem, q, size_log2, self.ring_fmt(func))

    # -- capture -----------------------------------------------------------------------

    def port_name(self, port: int) -> str:
        if port == self.num_func:
            return "uplink"
        return "pf" if port == 0 else f"vf{port}"

    def start_capture(self, folder: Path) -> None:
        """One pcapng per switch port (``<port>.pcapng``), both directions, flagged."""
        cap = PortCapture(folder)
        self.capture = cap
        for port in range(self.num_func + 1):
            cap.open(self.port_name(port))
        if hasattr(self.dut, "TAP_CH"):
            self._start_hdl_taps(cap)
        else:
            self._start_python_taps(cap)

    def _tapped_streams(self) -> list[tuple[str, Direction]]:
        """The streams a capture taps, in nic_sim_top's TAP_CH order: the uplink into the
        switch and out of it, then each function's TX (into) and RX (out of) stream."""
        up = self.port_name(self.num_func)
        streams = [(up, Direction.INTO_SWITCH), (up, Direction.OUT_OF_SWITCH)]
        for f in range(self.num_func):
            name = self.port_name(f)
            streams += [(name, Direction.INTO_SWITCH), (name, Direction.OUT_OF_SWITCH)]
        return streams

    def _start_hdl_taps(self, cap: PortCapture) -> None:
        """nic_sim_top's taps collect in C; Python takes their frames every
        CAPTURE_DRAIN_CYCLES and writes them in time order (no wake-up per beat)."""
        base = int(self.dut.TAP_CH.value)
        for k, (port, direction) in enumerate(self._tapped_streams()):
            tap = HdlStreamTap(base + k, self.data_bytes)
            tap.open()
            self._hdl_taps.append((port, direction, tap))
        self._tap_drain = cocotb.start_soon(self._drain_hdl_taps())

    async def _drain_hdl_taps(self) -> None:
        while True:
            await ClockCycles(self.dut.clk, CAPTURE_DRAIN_CYCLES)
            self._record_hdl_taps()

    def _record_hdl_taps(self) -> None:
        assert self.capture is not None
        batch = []
        for k, (port, direction, tap) in enumerate(self._hdl_taps):
            batch += [(end, k, port, direction, data) for data, _, end in tap.take()]
        batch.sort(key=lambda b: (b[0], b[1]))  # time order; a tie in tap order
        for end, _, port, direction, data in batch:
            self.capture.record(port, direction, data, end // NS_PER_CYCLE)

    def _start_python_taps(self, cap: PortCapture) -> None:
        d = self.dut
        nb = self.data_bytes

        def tap(port: str, direction: Direction, sig: StreamSignals) -> None:
            t = StreamTap(d.clk, sig, nb, lambda fr, cyc: cap.record(port, direction, fr, cyc))
            t.start()
            self._taps.append(t)

        into, out = Direction.INTO_SWITCH, Direction.OUT_OF_SWITCH
        up = self.port_name(self.num_func)
        tap(up, into, StreamSignals(*self._uplink_signals("s_axis_uplink")))
        tap(up, out, StreamSignals(*self._uplink_signals("m_axis_uplink")))
        n = self.num_func
        for f in range(n):
            # Function f's TX stream goes into the switch, its RX stream comes out.
            name = self.port_name(f)
            tap(
                name,
                into,
                StreamSignals(d.tx_tdata, d.tx_tkeep, d.tx_tlast, d.tx_tvalid, d.tx_tready, f, n),
            )
            tap(
                name,
                out,
                StreamSignals(d.rx_tdata, d.rx_tkeep, d.rx_tlast, d.rx_tvalid, d.rx_tready, f, n),
            )

    def _uplink_signals(self, prefix: str) -> tuple:
        return tuple(
            getattr(self.dut, f"{prefix}_{s}")
            for s in ("tdata", "tkeep", "tlast", "tvalid", "tready")
        )

    def stop_capture(self) -> list[Path]:
        for t in self._taps:
            t.stop()
        self._taps.clear()
        if self._tap_drain is not None:
            self._tap_drain.cancel()
            self._tap_drain = None
            self._record_hdl_taps()
        for _, _, tap in self._hdl_taps:
            tap.close()
        self._hdl_taps.clear()
        return self.capture.close() if self.capture else []

    async def wait_until(
        self, what: str, done: Callable[[], bool], within: int = 200_000, step: int = 50
    ) -> None:
        """Clock-edge wait for ``done()``; fails naming ``what`` after ``within`` cycles."""
        waited = 0
        while not done():
            if waited >= within:
                raise AssertionError(f"{what}: not done within {within} cycles")
            await self.cycles(step)
            waited += step

    def now_ns(self) -> int:
        return int(get_sim_time("ns"))

    async def npa_host(self) -> NpaHost:
        """NPA on this NIC: interrupts, the PF-port vswitch and the hypervisor's NPA side,
        with both vendors' plugins (a VF gets its vendor's, by ``FUNC_PCI_ID``: ring
        format A's ``RingAPlugin``, ring format B's ``RingBPlugin``).

        Call after ``pf.probe()`` and ``pf.enable_sriov()``. VFs given to VMs must
        be in ``TbConfig.vm_vfs`` (no host identity domain).
        """
        irq = self.interrupts()
        vswitch = PfPortVswitch(self.bar(0), self.mem, self.pf)
        await vswitch.open()
        return NpaHost(
            self.hv,
            self.pf,
            vswitch,
            irq,
            self.bar,
            self.now_ns,
            (
                VendorPlugin(RING_A_IDENTITY, ring_a_image(), lambda image: RingAPlugin()),
                VendorPlugin(RING_B_IDENTITY, ring_b_image(), lambda image: RingBPlugin()),
            ),
            clock=self.dut.clk,
            ns_per_cycle=NS_PER_CYCLE,
        )

    async def settle(self, idle_cycles: int = 64) -> None:
        """Let in-flight traffic drain: wait a fixed number of cycles."""
        await ClockCycles(self.dut.clk, idle_cycles)
