"""The host side of the bus: memory, IOMMU and DMA responder (see docs/HOST_MODEL.md)."""

from tb.host.axi import AxiResp
from tb.host.dma_path import DmaResponderConfig
from tb.host.dma_responder import AxiDmaResponder
from tb.host.iommu import FaultKind, Iommu, IommuFault, Perm
from tb.host.memory import HostMemory, WriteWatch

__all__ = [
    "AxiDmaResponder",
    "AxiResp",
    "DmaResponderConfig",
    "FaultKind",
    "HostMemory",
    "Iommu",
    "IommuFault",
    "Perm",
    "WriteWatch",
]
