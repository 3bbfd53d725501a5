"""Which queue drivers serve a function: its ring format, told by its PCI identity.

A VF of ring format A (docs/ARCHITECTURE.md §4) is driven with
``tb/vf_driver/queues.py``, one of format B (vmxnet3's rings, §4b) with
``tb/vf_driver/upt_queues.py``; both have the same interface. A driver binds
to the device ids it knows, as Linux's PCI id tables do.
"""

from __future__ import annotations

from tb.host.mmio import FunctionBar
from tb.ref.regmap import RingFmt
from tb.vf_driver.queues import DmaMemory, RxQueue, TxQueue
from tb.vf_driver.upt_queues import UptRxQueue, UptTxQueue

DEVICE_RING_FMT = {fmt.identity.device_id: fmt for fmt in RingFmt}


class UnknownDeviceError(RuntimeError):
    """A function whose device id no queue driver serves."""


def ring_fmt_of(device_id: int) -> RingFmt:
    """The ring format of a function reporting ``device_id`` (FUNC_ID[31:16])."""
    try:
        return DEVICE_RING_FMT[device_id]
    except KeyError:
        known = ", ".join(f"{d:#06x}" for d in DEVICE_RING_FMT)
        raise UnknownDeviceError(f"device id {device_id:#06x}: not one of {known}") from None


def queue_pair(
    bar: FunctionBar, mem: DmaMemory, q: int, size_log2: int, ring_fmt: RingFmt
) -> tuple[TxQueue | UptTxQueue, RxQueue | UptRxQueue]:
    """Queue pair ``q`` of the function behind ``bar``, its default buffers (format B: a
    ring 2 as large as ring 1, head and body buffers of the format-A buffer length)."""
    if ring_fmt is RingFmt.B:
        return UptTxQueue(bar, mem, q, size_log2), UptRxQueue(bar, mem, q, size_log2)
    return TxQueue(bar, mem, q, size_log2), RxQueue(bar, mem, q, size_log2)
