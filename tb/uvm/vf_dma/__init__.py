"""The pyuvm environment of vf_dma (:mod:`tb.uvm.vf_dma.env`), one module per part:
configuration, sequence items, agents, driver model, scoreboard, coverage."""

from tb.uvm.vf_dma.agents import (
    Access,
    CountingResponder,
    HostBusAgent,
    RxStreamAgent,
    TxStreamAgent,
)
from tb.uvm.vf_dma.config import (
    MAX_FRAME,
    MIN_FRAME,
    PAGE,
    RING_FMT_ENV,
    TX_META_FUNC_BITS,
    VfDmaEnvConfig,
    ring_fmt_from_env,
)
from tb.uvm.vf_dma.coverage import (
    NBUF_BINS,
    SIZE_BINS,
    UPT_TXD_BINS,
    CoverPoint,
    VfDmaCoverage,
    upt_body_bins,
)
from tb.uvm.vf_dma.driver import DriverModel, RxCredit
from tb.uvm.vf_dma.env import VfDmaEnv
from tb.uvm.vf_dma.items import (
    RxFrameItem,
    RxFrameItemData,
    TxFrameItem,
    TxFrameItemData,
    random_frame_size,
)
from tb.uvm.vf_dma.scoreboard import VfDmaScoreboard, tx_user

__all__ = [
    "MAX_FRAME",
    "MIN_FRAME",
    "NBUF_BINS",
    "PAGE",
    "RING_FMT_ENV",
    "SIZE_BINS",
    "TX_META_FUNC_BITS",
    "UPT_TXD_BINS",
    "Access",
    "CountingResponder",
    "CoverPoint",
    "DriverModel",
    "HostBusAgent",
    "RxCredit",
    "RxFrameItem",
    "RxFrameItemData",
    "RxStreamAgent",
    "TxFrameItem",
    "TxFrameItemData",
    "TxStreamAgent",
    "VfDmaCoverage",
    "VfDmaEnv",
    "VfDmaEnvConfig",
    "VfDmaScoreboard",
    "random_frame_size",
    "ring_fmt_from_env",
    "tx_user",
    "upt_body_bins",
]
