"""pyuvm environment of vf_dma: agents, a ring-owning driver model, scoreboard, coverage.

::

    VfDmaEnv
     +- HostBusAgent      tb/host: numpy HostMemory, per-function IOMMU, AxiDmaResponder
     |                    (random latency, jitter, reordering across IDs, a*ready stalls)
     +- TxStreamAgent     monitor of m_axis_tx with random tready backpressure
     +- RxStreamAgent     uvm_driver of s_axis_rx (RxFrameItem), random gaps
     +- DriverModel       uvm_driver of TxFrameItem: tb/vf_driver TxQueue/RxQueue per queue
     |                    (ring format B: UptTxQueue/UptRxQueue), posts, doorbells, reaps
     |                    completions, reposts RX buffers
     +- VfDmaScoreboard   tb/ref FrameScoreboard: TX frames + sideband byte for byte per
     |                    queue, RX frames + completion fields per queue, TX completions
     +- VfDmaCoverage     bins over the random dimensions, reported and checked

The actor models (host, driver queues, reference layouts, flow hash) are the
plain classes under ``tb/``; this package only wires them into UVM components
(modules ``config``, ``items``, ``agents``, ``driver``, ``scoreboard``, ``coverage``;
``env`` assembles them).
Configuration travels through the ConfigDB as one :class:`VfDmaEnvConfig`
(key ``"cfg"``) and the DUT handle (key ``"dut"``).

The ring format (``VfDmaEnvConfig.ring_fmt``, from ``VF_DMA_RING_FMT`` through
:func:`ring_fmt_from_env`) picks the drivers: format A's rings (ARCHITECTURE §4)
or format B's vmxnet3 rings (§4b), whose drivers check every completion field by
field and hand back frames the scoreboard takes as it takes format A's. Format B
adds its own coverage points (``upt_*``); format A's points are the same for both.
"""

from __future__ import annotations

from pyuvm import (
    ConfigDB,
    uvm_env,
)

from tb.uvm.vf_dma.agents import HostBusAgent, RxStreamAgent, TxStreamAgent
from tb.uvm.vf_dma.coverage import VfDmaCoverage
from tb.uvm.vf_dma.driver import DriverModel
from tb.uvm.vf_dma.scoreboard import VfDmaScoreboard


class VfDmaEnv(uvm_env):
    def build_phase(self) -> None:
        self.host = HostBusAgent("host", self)
        ConfigDB().set(None, "*", "host", self.host)
        self.tx_mon = TxStreamAgent("tx_mon", self)
        self.rx_agent = RxStreamAgent("rx_agent", self)
        self.driver = DriverModel("driver", self)
        self.scoreboard = VfDmaScoreboard("scoreboard", self)
        self.coverage = VfDmaCoverage("coverage", self)

    def connect_phase(self) -> None:
        sb, cov = self.scoreboard, self.coverage
        self.driver.tx_posted.connect(sb.tx_posted.analysis_export)
        self.driver.tx_posted.connect(cov.tx_posted.analysis_export)
        self.driver.tx_done.connect(sb.tx_done.analysis_export)
        self.driver.rx_done.connect(sb.rx_done.analysis_export)
        self.driver.rx_done.connect(cov.rx_done.analysis_export)
        self.tx_mon.ap.connect(sb.tx_seen.analysis_export)
        self.rx_agent.ap.connect(sb.rx_sent.analysis_export)
        self.rx_agent.credit = self.driver.rx_credit
