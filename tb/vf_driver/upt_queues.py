"""Queue pairs of one PCIe function, ring format B: vmxnet3's own rings (UPT, ARCHITECTURE §4b).

The same driver as :mod:`tb.vf_driver.queues` (open/close, posting, doorbells,
reaping, interrupts, the stall watchdog, the §4c queue state), with vmxnet3's
descriptors and completions, encoded and decoded with the project's one vmxnet3
codec, :mod:`tb.shell_model.vmxnet3_defs`:

- TX: a frame is 1..16 ``Vmxnet3_TxDesc`` carrying the ring's lap gen (1 on the
  first lap, flipped at every wrap), ``ti``/``tci`` on the first, ``eop`` and ``cq``
  on the last; a length of 16384 is stored as 0. One ``Vmxnet3_TxCompDesc`` per
  frame names its EOP descriptor.
- RX: ring 1 holds head buffers, ring 2 body buffers, and one completion ring of
  2^``RXQ_CPL_SIZE`` entries takes one ``Vmxnet3_RxCompDesc`` per buffer used; the
  driver puts each frame together from its SOP..EOP completions.
- Doorbells (``TXPROD``, ``RXPROD``, ``RXPROD2``) and interrupt masks (``IMR``) go
  through the UPT page (vmxnet3's BAR0 at 0x2000), or, with ``upt_page=False``,
  through the queue registers they alias.

Every completion is checked field by field against what the driver expects (the
oldest frame's EOP index, the next unused buffer of the right ring and its
``rqID``, full buffers but the last, ``eop`` on the last only, ``cnc``, the VLAN
fields the same across a frame, every other field 0, and a gen that does not skip
an entry); a deviation raises :class:`UptCompletionError` naming the field. This
is the check that the engine follows ``vmxnet3_defs.h``.

Frames come back as format A's do (``TxFrame.completion`` a
:class:`tb.ref.layouts.TxCompletion`, ``RxFrame.completion`` a
:class:`tb.ref.layouts.RxCompletion` for the whole frame), so a scoreboard written
for format A works unchanged; the vmxnet3 completions themselves are in
``UptTxFrame.upt_completion`` and ``UptRxFrame.upt_completions``. Format B carries
no TX length or status: the TX view's length is what the driver posted, its status
0 (a read error shows in ``TXQ_STATUS`` and ``TXQ_UPT_ERROR``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tb.ref.layouts import GEN_BIT, TxCompletion
from tb.ref.regmap import (
    Queue,
    upt_reg,
)
from tb.shell_model.vmxnet3_defs import (
    MAX_TX_BUF_SIZE,
    Bar0,
    CompletionTypeError,
    TxCompDesc,
    TxDesc,
)
from tb.vf_driver.queues import (
    TxFrame,
    _TxQueueBase,
)

# The longest buffer length a 64-byte-aligned RX descriptor can carry (14-bit field).
from tb.vf_driver.upt_common import (
    UptCompletionError,
    _check_gen_order,
    _must_be_zero,
    check_identity,
    desc_words,
    lap_gen,
    slot_gens,
)
from tb.vf_driver.upt_rx import UptRxFrame, UptRxQueue

# ------------------------------------------------------------------ TX


@dataclass
class UptTxFrame(TxFrame):
    """A TX frame of a format-B queue: ``nbytes`` posted, the vmxnet3 completion."""

    nbytes: int = 0
    upt_completion: TxCompDesc | None = None


@dataclass
class UptTxQueue(_TxQueueBase):
    """The TX half of a queue pair, ring format B (§4b); the interface of ``TxQueue``."""

    upt_page: bool = True  # doorbell and IMR through the UPT page, else the queue registers

    MAX_BUF_BYTES: ClassVar[int] = MAX_TX_BUF_SIZE
    _ZERO_FIELDS: ClassVar[tuple[str, ...]] = ("ext1", "ext2", "ext3", "rsvd")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.upt_page:
            self.ring.doorbell_reg = upt_reg(Bar0.TXPROD, self.q)
            self.ring.mask_reg = upt_reg(Bar0.IMR, 2 * self.q)

    async def open(self) -> None:
        await check_identity(self.bar)
        await super().open()

    def _descs(self, frags: list[tuple[int, int]], vlan_tci: int | None) -> list[bytes]:
        last = len(frags) - 1
        gens = slot_gens(self.ring, len(frags)).tolist()
        return [
            TxDesc(
                addr,
                length,
                gens[n],
                eop=n == last,
                cq=n == last,
                ti=n == 0 and vlan_tci is not None,
                tci=(vlan_tci or 0) if n == 0 else 0,
            ).pack()
            for n, (addr, length) in enumerate(frags)
        ]

    def _copy_descs(self, addrs: np.ndarray, length: int) -> np.ndarray:
        n = len(addrs)
        gens = slot_gens(self.ring, n)
        return desc_words(TxDesc, n, addr=addrs, length=length, gen=gens, eop=1, cq=1)

    def _frame(
        self, data: bytes, first: int, last: int, vlan_tci: int | None, nbytes: int
    ) -> TxFrame:
        return UptTxFrame(data, first, last, vlan_tci, nbytes=nbytes)

    def post_raw(self, desc: TxDesc) -> None:
        """Place one vmxnet3 descriptor exactly as given (for error-injection tests);
        ``lap_gen(ring)`` is the gen the device expects at ``ring.prod``."""
        self.ring.put_desc(desc.pack())

    @property
    def where(self) -> str:
        return f"function {self.bar.func} TX queue {self.q}"

    def _check(self, raw: bytes, slot: int) -> TxCompDesc:
        """Decode and check the completion at ``slot`` against the oldest frame in flight."""
        where = f"{self.where} completion slot {slot}"
        try:
            cpl = TxCompDesc.unpack(raw)
        except CompletionTypeError as exc:
            raise UptCompletionError("type", f"{where}: {exc}") from None
        expect = self._oldest_last_slot()
        if expect is None:
            raise UptCompletionError(
                "txd_idx", f"{where}: txd_idx {cpl.txd_idx} with no frame in flight"
            )
        if cpl.txd_idx != expect:
            raise UptCompletionError(
                "txd_idx",
                f"{where}: txd_idx {cpl.txd_idx}, expected {expect}, the EOP descriptor "
                f"of the oldest frame in flight",
            )
        _must_be_zero(cpl, self._ZERO_FIELDS, where)
        return cpl

    def reap(self) -> list[TxFrame]:
        """Frames whose completions the device has written, oldest first."""
        ring = self.ring
        start = ring.cpl_idx
        done: list[TxFrame] = []
        for k, raw in enumerate(ring.completions()):
            cpl = self._check(raw, (start + k) & ring.cpl_mask)
            tx = self._pop_frame()
            assert isinstance(tx, UptTxFrame)
            tx.upt_completion = cpl
            tx.completion = TxCompletion(cpl.txd_idx, tx.nbytes, 0, cpl.gen)
            ring.clean = (cpl.txd_idx + 1) & ring.mask
            done.append(tx)
        _check_gen_order(ring, self.where)
        return done

    def reap_array(self) -> np.ndarray:
        """reap(), as format A's TxCompletion.DTYPE record array (status 0, the length
        posted): the same checks, without handing out a frame object each."""
        cpls = [tx.completion for tx in self.reap()]
        out = np.zeros(len(cpls), TxCompletion.DTYPE)
        out["desc_idx"] = [c.desc_idx for c in cpls if c is not None]
        out["length"] = [c.length for c in cpls if c is not None]
        out["last"] = [GEN_BIT if c.gen else 0 for c in cpls if c is not None]
        return out

    async def upt_error(self) -> int:
        """``TXQ_UPT_ERROR``: the queue's error as vmxnet3 reports it (0: none)."""
        return await self.bar.read(self.ring.reg(Queue.TXQ_UPT_ERROR))


__all__ = [
    "UptCompletionError",
    "UptRxFrame",
    "UptRxQueue",
    "UptTxFrame",
    "UptTxQueue",
    "check_identity",
    "desc_words",
    "lap_gen",
    "slot_gens",
]
