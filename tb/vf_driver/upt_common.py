"""Shared pieces of the ring-format-B queue drivers (vmxnet3's rings, UPT, ARCHITECTURE §4b):
the per-lap gen of descriptors, descriptor batches built from the codec's field table,
the identity check, and the completion checks common to TX and RX
(:class:`UptCompletionError`). The drivers: :mod:`tb.vf_driver.upt_queues` (TX, and the
package's entry point) and :mod:`tb.vf_driver.upt_rx` (RX)."""

from __future__ import annotations

import numpy as np

from tb.host.mmio import FunctionBar
from tb.ref.layouts import ENTRY_BYTES
from tb.ref.regmap import (
    FUNC_ID_QUEUES_SHIFT,
    RING_B_IDENTITY,
    Func,
)
from tb.shell_model.vmxnet3_defs import (
    INIT_GEN,
    MAX_RX_BUF_SIZE,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
    desc_gen,
)
from tb.vf_driver.queues import (
    QueueError,
    _DescRing,
    _Ring,
)

# The longest buffer length a 64-byte-aligned RX descriptor can carry (14-bit field).
MAX_RX_BUF_ALIGNED = MAX_RX_BUF_SIZE & ~63
CPL_GEN_DWORD = 3  # the gen of a TX or RX completion: bit 31 of dword 3 (bit 127)


class UptCompletionError(QueueError):
    """A vmxnet3 completion that is not what the driver expects; ``field`` names the
    field that deviates (``type``, ``gen``, ``txd_idx``, ``rxd_idx``, ``rq_id``, ``sop``,
    ``eop``, ``len``, ``cnc``, ``ts``, ``tci``, or a field that must be 0)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def lap_gen(ring: _DescRing) -> int:
    """The gen of descriptors the driver writes in the ring's current lap."""
    return INIT_GEN ^ (ring.laps & 1)


def slot_gens(ring: _DescRing, n: int) -> np.ndarray:
    """The gens of the ``n`` slots from ``ring.prod`` (flipped past the ring's end)."""
    wrapped = (ring.prod + np.arange(n)) >= ring.size
    return (lap_gen(ring) ^ wrapped).astype(np.uint64)


def desc_words(cls: type[TxDesc] | type[RxDesc], n: int, **values: np.ndarray | int) -> np.ndarray:
    """``n`` descriptors of ``cls`` as rows of four little-endian dwords (a batch for
    ``put_desc_array``): each named field set from ``values`` (one value per row, or one
    for all) at the dword and bit the codec's ``FIELDS`` give it, every other field 0.
    Values are stored modulo the field's width (a TX length of 16384 becomes 0, as the
    codec stores it); callers pass values the codec would accept."""
    words = np.zeros((n, 4), np.dtype("<u4"))
    by_name = {f.name: f for f in cls.FIELDS}
    for name, value in values.items():
        f = by_name[name]
        v = np.broadcast_to(np.asarray(value, np.uint64), (n,))
        if f.width == 64:
            words[:, f.dword] = v & np.uint64(0xFFFF_FFFF)
            words[:, f.dword + 1] = v >> np.uint64(32)
            continue
        if f.shift + f.width > 32:
            raise ValueError(f"{cls.__name__}.{name} crosses a dword")
        bits = (v & np.uint64(f.limit - 1)) << np.uint64(f.shift)
        words[:, f.dword] |= bits.astype(np.uint32)
    return words


async def check_identity(bar: FunctionBar) -> int:
    """Refuse a function that is not a format-B engine (``FUNC_PCI_ID``, §4b); returns
    its queue pairs (``FUNC_ID[15:8]``)."""
    pci_id = await bar.read(Func.FUNC_PCI_ID)
    if pci_id != RING_B_IDENTITY.pci_id:
        raise QueueError(
            f"function {bar.func} is not a ring-format-B engine: FUNC_PCI_ID reads "
            f"{pci_id:#010x}, expected {RING_B_IDENTITY.pci_id:#010x}"
        )
    return (await bar.read(Func.FUNC_ID) >> FUNC_ID_QUEUES_SHIFT) & 0xFF


def _check_gen_order(ring: _Ring, where: str) -> None:
    """The completion at the read index is not the driver's (a reap stops there); the
    one after it must not be either. A device that wrote the next entry in this lap
    wrote the one at the read index with the wrong gen (entries are written in order)."""
    idx = ring.cpl_idx
    nxt = (idx + 1) & ring.cpl_mask
    want = ring.phase ^ int(nxt == 0)  # the next slot's gen in the lap it is in
    raw_next = ring.mem.read(ring.cpl_base + nxt * ENTRY_BYTES, ENTRY_BYTES)
    if desc_gen(raw_next, CPL_GEN_DWORD) == want:
        raw = ring.mem.read(ring.cpl_base + idx * ENTRY_BYTES, ENTRY_BYTES)
        raise UptCompletionError(
            "gen",
            f"{where} completion slot {idx}: gen {desc_gen(raw, CPL_GEN_DWORD)}, expected "
            f"{ring.phase}, while slot {nxt} after it holds a completion of this lap "
            f"(gen {want}): the entry was written with the wrong gen",
        )


def _must_be_zero(cpl: TxCompDesc | RxCompDesc, names: tuple[str, ...], where: str) -> None:
    for name in names:
        if getattr(cpl, name):
            raise UptCompletionError(
                name, f"{where}: {name}={int(getattr(cpl, name)):#x}, expected 0 ({cpl})"
            )
