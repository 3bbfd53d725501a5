"""Configuration of the vf_dma pyuvm environment: one :class:`VfDmaEnvConfig` per run (ConfigDB
key ``"cfg"``) and the ring format asked for in ``VF_DMA_RING_FMT``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tb.ref.regmap import RingFmt

MIN_FRAME, MAX_FRAME = 60, 9018
TX_META_FUNC_BITS = 8
RING_FMT_ENV = "VF_DMA_RING_FMT"


def ring_fmt_from_env(environ: Mapping[str, str] | None = None) -> RingFmt:
    """The ring format ``VF_DMA_RING_FMT`` asks for (default A); anything but A or B is
    refused with the variable's name and the values it takes."""
    env = os.environ if environ is None else environ
    text = env.get(RING_FMT_ENV, RingFmt.A.value)
    try:
        return RingFmt(text.strip().upper())
    except ValueError:
        raise ValueError(
            f"{RING_FMT_ENV}={text!r}: expected A (ring format A, ARCHITECTURE §4) or "
            f"B (vmxnet3's rings, UPT, §4b)"
        ) from None


@dataclass(frozen=True)
class VfDmaEnvConfig:
    """Knobs of one run; every random choice comes from ``seed``."""

    func: int
    num_queues: int
    seed: int = 1
    period_ns: int = 4
    mem_bytes: int = 64 << 20
    tx_ring_log2: int = 6  # small rings: the random run wraps them many times
    rx_ring_log2: int = 6
    rx_buf_len: int = 2048
    read_latency: int = 30
    read_latency_jitter: int = 120  # so host read latency is uniform in 30..150
    out_of_order: bool = True
    bus_ready_probability: float = 0.85
    tx_pause_probability: float = 0.25  # m_axis_tx tready low
    rx_gap_probability: float = 0.2  # idle cycles between RX beats
    # IOMMU page tables instead of a passthrough domain: identity-mapped RW,
    # except the pages at fault_ro (read-only: writes answer SLVERR), fault_wo
    # (write-only: reads answer SLVERR) and fault_hole (never mapped: DECERR)
    iommu_paged: bool = False
    access_log: bool = False  # record every AR/AW request (HostBusAgent.responder.access)
    max_outstanding_reads: int = 32
    rx_hash: bool = True  # RX_STEER.HASH on (only with >= 2 queues and 64-byte beats)
    # Ring format of the DUT's engine; B: vmxnet3's rings, ring 1 of head buffers of
    # rx_head_len bytes (frames above it go on in rx_buf_len-byte body buffers of ring 2).
    ring_fmt: RingFmt = RingFmt.A
    rx_head_len: int = 1024
    rx_ring2_log2: int = 6
    # The function's DMA addresses start here: rings and buffers at IOVAs with these
    # high bits set, the IOMMU mapping them to host memory from 0 (every address bit
    # of the engine's datapath carries both values); 0: the passthrough domain.
    iova_base: int = 0

    def __post_init__(self) -> None:
        RingFmt(self.ring_fmt)  # refuses anything but A or B
        if self.iova_base and (self.iommu_paged or self.iova_base % PAGE):
            raise ValueError(
                f"iova_base {self.iova_base:#x}: page-aligned, and not with iommu_paged"
            )


PAGE = 4096
