"""Scoreboard of the vf_dma pyuvm environment: everything the engine delivers, byte for byte,
against what the driver posted or the RX agent sent (tb/ref FrameScoreboard)."""

from __future__ import annotations

from typing import Any

from pyuvm import (
    ConfigDB,
    uvm_component,
    uvm_subscriber,
)

from tb.ref.scoreboard import FrameScoreboard, Mismatch
from tb.ref.vf_dma_model import rx_flow_queue
from tb.uvm.axis import StreamFrame
from tb.uvm.vf_dma.config import TX_META_FUNC_BITS, VfDmaEnvConfig
from tb.uvm.vf_dma.items import RxFrameItemData, TxFrameItemData
from tb.vf_driver.queues import RxFrame, TxFrame


def tx_user(func: int, vlan_tci: int | None) -> int:
    """tx_meta_t {vlan_tci, vlan_ins, src_func} (ARCHITECTURE.md §1)."""
    ins = vlan_tci is not None
    return ((vlan_tci or 0) << (TX_META_FUNC_BITS + 1)) | (int(ins) << TX_META_FUNC_BITS) | func


def _with_side(data: bytes, side: int) -> bytes:
    """Frame bytes plus its sideband as trailing bytes, so one byte-for-byte compare covers both."""
    return data + b"|" + side.to_bytes(8, "little")


class VfDmaScoreboard(uvm_component):
    """Byte-for-byte check of everything the engine delivers against what was posted or sent.

    TX: the stream is compared with the frames the driver posted, in order per
    queue (queues interleave), sideband included; every TX completion must say
    sent, with the frame's length and EOF slot. RX: the frames the driver
    reaps are compared with the frames sent, in order per steered queue, with
    the completion's length and VLAN fields checked against the sent sideband.
    """

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        self.sb = FrameScoreboard()
        self.errors: list[str] = []
        self.tx_cpls = 0
        self.rx_hash_en = self.cfg.rx_hash
        self.tx_posted = _Sub("tx_posted", self, self._tx_posted)
        self.tx_seen = _Sub("tx_seen", self, self._tx_seen)
        self.tx_done = _Sub("tx_done", self, self._tx_done)
        self.rx_sent = _Sub("rx_sent", self, self._rx_sent)
        self.rx_done = _Sub("rx_done", self, self._rx_done)
        # frames a directed test accounts for itself (e.g. of a queue it resets): kept out
        # of the scoreboard, recorded in the order the engine delivered them
        self.aside: set[bytes] = set()
        self.aside_tx_seen: list[bytes] = []
        self.aside_rx_sent: list[bytes] = []

    def _tx_posted(self, t: tuple[TxFrameItemData, TxFrame]) -> None:
        d, _ = t
        self.sb.expect("tx", _with_side(d.data, tx_user(self.cfg.func, d.vlan_tci)), f"q{d.queue}")

    def _tx_seen(self, f: StreamFrame) -> None:
        if f.data in self.aside:
            self.aside_tx_seen.append(f.data)
            return
        self.sb.observe("tx", _with_side(f.data, f.user))

    def _tx_done(self, t: tuple[int, TxFrame]) -> None:
        q, tx = t
        c = tx.completion
        assert c is not None
        self.tx_cpls += 1
        if (c.status, c.length, c.desc_idx) != (0, len(tx.data), tx.last_slot):
            self.errors.append(f"TX q{q} completion {c} for a {len(tx.data)}-byte frame")

    def _rx_sent(self, d: RxFrameItemData) -> None:
        if d.data in self.aside:
            self.aside_rx_sent.append(d.data)
            return
        q = rx_flow_queue(d.data, self.cfg.num_queues, self.rx_hash_en)
        self.sb.expect(f"rx{q}", _with_side(d.data, d.meta))

    def _rx_done(self, t: tuple[int, RxFrame]) -> None:
        q, fr = t
        c = fr.completion
        if c.status != 0 or c.length != len(fr.data):
            self.errors.append(f"RX q{q} completion {c}")
        meta = (c.vlan_tci << 1) | 1 if c.vlan_stripped else 0
        self.sb.observe(f"rx{q}", _with_side(fr.data, meta))

    def mismatches(self) -> list[Mismatch]:
        return self.sb.finish()

    def report_phase(self) -> None:
        self.logger.info(
            "scoreboard: %s matched, %d frames outstanding, %d mismatches, %d completion errors",
            dict(self.sb.matched),
            self.sb.outstanding(),
            len(self.sb.mismatches),
            len(self.errors),
        )


class _Sub(uvm_subscriber):
    """A subscriber that forwards to a method of its parent (one per analysis stream)."""

    def __init__(self, name: str, parent: uvm_component, fn: Any) -> None:
        super().__init__(name, parent)
        self._fn = fn

    def write(self, tt: Any) -> None:
        self._fn(tt)
