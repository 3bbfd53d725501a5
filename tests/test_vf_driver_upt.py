"""The format-B (vmxnet3/UPT) queue drivers of tb/vf_driver/upt_queues.py, without a simulator.

They run against ``FakeUptDevice``: a few dozen lines of Python that serve one
function's registers (identity, queue blocks, the ring-2 block, the UPT page,
``*_STATE``) and its rings by the rules of docs/ARCHITECTURE.md §4b/§4c, with every
descriptor and completion going through the project's vmxnet3 codec
(tb/shell_model/vmxnet3_defs.py) and ring walks through its ``RingCursor``, over the
real host memory (tb/host/memory.py). TX frames of 1..16 buffers and RX frames of a
head and body buffers go across the ends of every ring (the gens flip), and each
check of a driver is shown to fire on a completion corrupted in that one field.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pytest

from tb.host.memory import HostMemory
from tb.ref.layouts import ENTRY_BYTES, GEN_BIT, RxCompletion, TxCompletion
from tb.ref.regmap import (
    FUNC_ID_QUEUES_SHIFT,
    QCTRL_ENABLE,
    QCTRL_RESUME,
    QSTATE_RESET,
    QSTATUS_BUSY,
    QSTATUS_ERROR,
    RING_A_IDENTITY,
    RING_B_IDENTITY,
    Func,
    QErr,
    Queue,
    RingFmt,
    func_reset_values,
    qstate,
    qstate_fields,
    queue_reg,
    upt_error_code,
    upt_reg,
)
from tb.shell_model.rings import RingCursor
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    MAX_TX_BUF_SIZE,
    MAX_TXD_PER_PKT,
    Bar0,
    BitField,
    BufType,
    CompType,
    Err,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
    desc_gen,
)
from tb.vf_driver.queues import IrqModeration, QueueError, QueueState, RingPosition
from tb.vf_driver.upt_queues import (
    UptCompletionError,
    UptRxFrame,
    UptRxQueue,
    UptTxFrame,
    UptTxQueue,
    desc_words,
)

T = TypeVar("T")
NQ = 2  # queue pairs of the fake function
FUNC = 3


def run(aw: Awaitable[T]) -> T:
    async def main() -> T:
        return await aw

    return asyncio.run(main())


def set_fields(raw: bytes, cls: type, **values: int) -> bytes:
    """``raw`` with the named fields of ``cls`` replaced, at the codec's bit positions
    (any value that fits the field, e.g. a type the codec refuses to build)."""
    word = int.from_bytes(raw, "little")
    by_name: dict[str, BitField] = {f.name: f for f in cls.FIELDS}
    for name, v in values.items():
        f = by_name[name]
        word = (word & ~((f.limit - 1) << f.bit)) | ((int(v) & (f.limit - 1)) << f.bit)
    return word.to_bytes(DESC_BYTES, "little")


# ------------------------------------------------------------------ the fake device


@dataclass
class _Tx:
    """One TX queue of the fake engine."""

    enabled: bool = False
    prod: int = 0
    ring: RingCursor | None = None
    cpl: RingCursor | None = None
    saved: dict[Queue, int] = field(
        default_factory=lambda: {Queue.TXQ_STATE: QSTATE_RESET, Queue.TXQ_CPL_STATE: QSTATE_RESET}
    )
    error: QErr = QErr.NONE


@dataclass
class _Rx:
    """One RX queue of the fake engine: ring 1, ring 2, one completion ring."""

    enabled: bool = False
    prod: int = 0
    prod2: int = 0
    ring: RingCursor | None = None
    ring2: RingCursor | None = None
    cpl: RingCursor | None = None
    saved: dict[Queue, int] = field(
        default_factory=lambda: {
            Queue.RXQ_STATE: QSTATE_RESET,
            Queue.RXQ_CPL_STATE: QSTATE_RESET,
            Queue.RX2_STATE: QSTATE_RESET,
        }
    )
    error: QErr = QErr.NONE


class FakeUptDevice:
    """One function of a format-B ``vf_dma``, as §4b/§4c describe it; also its BAR.

    TX frames are fetched and completed when ``TXPROD`` is written (``auto_tx``), or
    by :meth:`run_tx`; RX frames arrive by :meth:`deliver`. After a disable,
    ``*Q_STATUS.BUSY`` reads 1 ``busy_reads`` times. ``writes`` logs every register
    write, ``sent`` every TX frame (queue, bytes, VLAN tag to insert)."""

    def __init__(self, mem: HostMemory, *, func: int = FUNC, pci_id: int | None = None) -> None:
        self.mem = mem
        self.func = func
        self.pci_id = RING_B_IDENTITY.pci_id if pci_id is None else pci_id
        self.regs: dict[int, int] = {}
        self.tx = [_Tx() for _ in range(NQ)]
        self.rx = [_Rx() for _ in range(NQ)]
        self.writes: list[tuple[int, int]] = []
        self.sent: list[tuple[int, bytes, int | None]] = []
        self.auto_tx = True
        self.busy_reads = 0
        self._busy_left = 0

    # -- the BAR (FunctionBar's interface) ---------------------------------------------------

    async def read(self, addr: int) -> int:
        return self.read_now(addr)

    async def write(self, addr: int, value: int) -> None:
        self.writes.append((addr, value))
        self.write_now(addr, value)

    def reg(self, q: int, reg: Queue) -> int:
        return self.regs.get(queue_reg(q, reg), 0)

    def read_now(self, addr: int) -> int:
        if addr == Func.FUNC_ID:
            return (RING_B_IDENTITY.device_id << 16) | (NQ << FUNC_ID_QUEUES_SHIFT) | self.func
        if addr == Func.FUNC_PCI_ID:
            return self.pci_id
        q, off = divmod(addr - Func.QUEUE_BASE, Func.QUEUE_STRIDE)
        if 0 <= q < NQ:
            tx, rx = self.tx[q], self.rx[q]
            if off in (Queue.TXQ_STATUS, Queue.RXQ_STATUS):
                busy = self._busy_left > 0
                self._busy_left -= busy
                err = (tx if off == Queue.TXQ_STATUS else rx).error
                return (QSTATUS_BUSY if busy else 0) | (QSTATUS_ERROR | err if err else 0)
            if off == Queue.TXQ_UPT_ERROR:
                return upt_error_code(tx.error)
            if off == Queue.RXQ_UPT_ERROR:
                return upt_error_code(rx.error)
            if off in tx.saved:
                return self._state(
                    tx.enabled, tx.ring if off == Queue.TXQ_STATE else tx.cpl, off, tx.saved
                )
            if off in rx.saved:
                cur = {
                    Queue.RXQ_STATE: rx.ring,
                    Queue.RXQ_CPL_STATE: rx.cpl,
                    Queue.RX2_STATE: rx.ring2,
                }
                return self._state(rx.enabled, cur[Queue(off)], off, rx.saved)
            if off == Queue.TXQ_PROD:
                return tx.prod
            if off == Queue.RXQ_PROD:
                return rx.prod
            if off == Queue.RX2_PROD:
                return rx.prod2
        return self.regs.get(addr, 0)

    @staticmethod
    def _state(enabled: bool, cur: RingCursor | None, off: int, saved: dict[Queue, int]) -> int:
        if enabled and cur is not None:
            return qstate(cur.index, cur.gen)
        return saved[Queue(off)]

    def write_now(self, addr: int, value: int) -> None:
        upt = addr - Func.UPT_BASE
        if 0 <= upt < Func.UPT_BYTES:  # the UPT page: aliases of queue registers
            kind, n = divmod(upt, 0x200)
            n //= 8
            alias = {
                Bar0.TXPROD: Queue.TXQ_PROD,
                Bar0.RXPROD: Queue.RXQ_PROD,
                Bar0.RXPROD2: Queue.RX2_PROD,
            }
            if kind * 0x200 == Bar0.IMR:
                q, rx = divmod(n, 2)
                reg = Queue.RXQ_IRQ_CTRL if rx else Queue.TXQ_IRQ_CTRL
                self.write_now(queue_reg(q, reg), value)
            else:
                self.write_now(queue_reg(n, alias[Bar0(kind * 0x200)]), value)
            return
        self.regs[addr] = value
        q, off = divmod(addr - Func.QUEUE_BASE, Func.QUEUE_STRIDE)
        if not 0 <= q < NQ:
            return
        tx, rx = self.tx[q], self.rx[q]
        if off == Queue.TXQ_CTRL:
            self._tx_ctrl(q, value)
        elif off == Queue.RXQ_CTRL:
            self._rx_ctrl(q, value)
        elif off == Queue.TXQ_PROD:
            tx.prod = value
            if self.auto_tx:
                self.run_tx(q)
        elif off == Queue.RXQ_PROD:
            rx.prod = value
        elif off == Queue.RX2_PROD:
            rx.prod2 = value
        elif off in tx.saved and not tx.enabled:
            tx.saved[Queue(off)] = value
        elif off in rx.saved and not rx.enabled:
            rx.saved[Queue(off)] = value

    def _base(self, q: int, lo: Queue) -> int:
        return self.reg(q, lo) | (self.reg(q, Queue(lo + 4)) << 32)

    @staticmethod
    def _cursor(base: int, size: int, state: int, resume: bool) -> RingCursor:
        index, gen = qstate_fields(state) if resume else (0, 1)
        return RingCursor(base, size, index, gen)

    def _tx_ctrl(self, q: int, value: int) -> None:
        tx = self.tx[q]
        if not value & QCTRL_ENABLE:
            if tx.enabled and tx.ring is not None and tx.cpl is not None:
                tx.saved[Queue.TXQ_STATE] = qstate(tx.ring.index, tx.ring.gen)
                tx.saved[Queue.TXQ_CPL_STATE] = qstate(tx.cpl.index, tx.cpl.gen)
            tx.enabled, tx.prod, tx.error = False, 0, QErr.NONE
            self._busy_left = self.busy_reads
            return
        if tx.enabled:
            return
        size = 1 << self.reg(q, Queue.TXQ_SIZE)
        resume = bool(value & QCTRL_RESUME)
        tx.ring = self._cursor(
            self._base(q, Queue.TXQ_BASE_LO), size, tx.saved[Queue.TXQ_STATE], resume
        )
        tx.cpl = self._cursor(
            self._base(q, Queue.TXQ_CPL_BASE_LO), size, tx.saved[Queue.TXQ_CPL_STATE], resume
        )
        tx.enabled = True
        if self.auto_tx:  # a PROD written while disabled is kept (§4c restore)
            self.run_tx(q)

    def _rx_ctrl(self, q: int, value: int) -> None:
        rx = self.rx[q]
        if not value & QCTRL_ENABLE:
            if rx.enabled and rx.ring and rx.ring2 and rx.cpl:
                rx.saved[Queue.RXQ_STATE] = qstate(rx.ring.index, rx.ring.gen)
                rx.saved[Queue.RX2_STATE] = qstate(rx.ring2.index, rx.ring2.gen)
                rx.saved[Queue.RXQ_CPL_STATE] = qstate(rx.cpl.index, rx.cpl.gen)
            rx.enabled, rx.prod, rx.prod2, rx.error = False, 0, 0, QErr.NONE
            self._busy_left = self.busy_reads
            return
        if rx.enabled:
            return
        resume = bool(value & QCTRL_RESUME)
        s = rx.saved
        rx.ring = self._cursor(
            self._base(q, Queue.RXQ_BASE_LO),
            1 << self.reg(q, Queue.RXQ_SIZE),
            s[Queue.RXQ_STATE],
            resume,
        )
        rx.ring2 = self._cursor(
            self._base(q, Queue.RX2_BASE_LO),
            1 << self.reg(q, Queue.RX2_SIZE),
            s[Queue.RX2_STATE],
            resume,
        )
        cpl_size = 1 << self.reg(q, Queue.RXQ_CPL_SIZE)
        assert cpl_size >= rx.ring.size + rx.ring2.size, "completion ring too small"
        rx.cpl = self._cursor(
            self._base(q, Queue.RXQ_CPL_BASE_LO), cpl_size, s[Queue.RXQ_CPL_STATE], resume
        )
        rx.enabled = True

    # -- TX --------------------------------------------------------------------------------

    def run_tx(self, q: int) -> None:
        """Fetch the whole frames below TXPROD, send them, write their completions."""
        tx = self.tx[q]
        if not tx.enabled or tx.error or tx.ring is None or tx.cpl is None:
            return
        ring = tx.ring
        while ring.index != tx.prod:
            scan = RingCursor(ring.base, ring.size, ring.index, ring.gen)
            descs: list[tuple[int, TxDesc]] = []
            while scan.index != tx.prod:
                d = TxDesc.unpack(self.mem.read(scan.addr(), DESC_BYTES))
                if d.gen != scan.gen:
                    tx.error = QErr.DESC_GEN
                    return
                if d.dtype or d.om:
                    tx.error = QErr.DESC_TYPE
                    return
                descs.append((scan.index, d))
                scan.advance()
                if len(descs) > MAX_TXD_PER_PKT:
                    tx.error = QErr.TOO_MANY_BUFS
                    return
                if d.eop:
                    break
            if not descs or not descs[-1][1].eop:
                return  # a frame cut by TXPROD waits for the rest
            data = b"".join(self.mem.read(d.addr, d.length) for _, d in descs)
            first = descs[0][1]
            self.sent.append((q, data, first.tci if first.ti else None))
            cpl = TxCompDesc(txd_idx=descs[-1][0], gen=tx.cpl.gen)
            self.mem.write(tx.cpl.addr(), cpl.pack())
            tx.cpl.advance()
            ring.index, ring.gen = scan.index, scan.gen

    # -- RX --------------------------------------------------------------------------------

    def _rx_buf(self, rx: _Rx, cur: RingCursor, prod: int, btype: BufType) -> RxDesc | None:
        if cur.index == prod:
            return None
        d = RxDesc.unpack(self.mem.read(cur.addr(), DESC_BYTES))
        if d.gen != cur.gen:
            rx.error = QErr.DESC_GEN
            return None
        if d.btype != btype or d.dtype:
            rx.error = QErr.DESC_TYPE
            return None
        return d

    def deliver(self, q: int, frame: bytes, vlan_tci: int | None = None) -> bool:
        """Write ``frame`` into the next head buffer and as many body buffers as it needs,
        one completion each; False (dropped) without posted buffers for all of it."""
        rx = self.rx[q]
        if not rx.enabled or rx.error or not (rx.ring and rx.ring2 and rx.cpl):
            return False
        head = self._rx_buf(rx, rx.ring, rx.prod, BufType.HEAD)
        if head is None:
            return False
        use: list[tuple[RingCursor, int, RxDesc, int]] = [(rx.ring, rx.ring.index, head, q)]
        left = len(frame) - head.length
        scan = RingCursor(rx.ring2.base, rx.ring2.size, rx.ring2.index, rx.ring2.gen)
        while left > 0:
            body = self._rx_buf(rx, scan, rx.prod2, BufType.BODY)
            if body is None:
                return False
            use.append((rx.ring2, scan.index, body, q + NQ))
            scan.advance()
            left -= body.length
        pos = 0
        for k, (cur, idx, d, rq) in enumerate(use):
            chunk = frame[pos : pos + d.length]
            pos += len(chunk)
            self.mem.write(d.addr, chunk)
            cpl = RxCompDesc(
                rxd_idx=idx,
                length=len(chunk),
                gen=rx.cpl.gen,
                sop=k == 0,
                eop=k == len(use) - 1,
                rq_id=rq,
                cnc=True,
                ts=vlan_tci is not None,
                tci=vlan_tci or 0,
            )
            self.mem.write(rx.cpl.addr(), cpl.pack())
            rx.cpl.advance()
            cur.advance()
        return True


# ------------------------------------------------------------------ set-up helpers


def device() -> FakeUptDevice:
    return FakeUptDevice(HostMemory(1 << 24))


def open_tx(dev: FakeUptDevice, q: int = 0, log2: int = 5, **kw: Any) -> UptTxQueue:
    txq = UptTxQueue(dev, dev.mem, q, log2, **kw)  # type: ignore[arg-type]
    run(txq.open())
    return txq


def open_rx(dev: FakeUptDevice, q: int = 0, log2: int = 5, **kw: Any) -> UptRxQueue:
    rxq = UptRxQueue(dev, dev.mem, q, log2, **kw)  # type: ignore[arg-type]
    run(rxq.open())
    return rxq


def cpl_slot(ring: Any, slot: int) -> int:
    return ring.cpl_base + slot * ENTRY_BYTES


def corrupt(mem: HostMemory, addr: int, cls: type, **values: int) -> None:
    mem.write(addr, set_fields(mem.read(addr, DESC_BYTES), cls, **values))


# ------------------------------------------------------------------ register map


def test_upt_page_and_new_registers_are_the_documented_offsets() -> None:
    assert [upt_reg(Bar0.IMR, i) for i in (0, 3)] == [0x2000, 0x2018]
    assert upt_reg(Bar0.TXPROD, 1) == 0x2608
    assert upt_reg(Bar0.RXPROD, 1) == 0x2808
    assert upt_reg(Bar0.RXPROD2, 1) == 0x2A08
    assert Func.FUNC_PCI_ID == 0x10
    offsets = {
        Queue.TXQ_STATE: 0x34,
        Queue.TXQ_CPL_STATE: 0x38,
        Queue.TXQ_UPT_ERROR: 0x3C,
        Queue.RXQ_STATE: 0x74,
        Queue.RXQ_CPL_STATE: 0x78,
        Queue.RXQ_UPT_ERROR: 0x7C,
        Queue.RX2_BASE_LO: 0x80,
        Queue.RX2_BASE_HI: 0x84,
        Queue.RXQ_CPL_SIZE: 0x88,
        Queue.RX2_SIZE: 0x90,
        Queue.RX2_PROD: 0x98,
        Queue.RX2_CONS: 0x9C,
        Queue.RX2_STATE: 0xB4,
    }
    assert {k: int(k) for k in offsets} == offsets
    assert (QErr.DESC_GEN, QErr.DESC_TYPE, QErr.SMALL_BUF) == (0x09, 0x0A, 0x0B)


def test_upt_error_codes_are_the_table_of_4b() -> None:
    assert upt_error_code(QErr.NONE) == 0
    assert upt_error_code(QErr.TOO_MANY_BUFS) == Err.NOEOP == 0x8000_0000
    assert upt_error_code(QErr.DESC_LEN_MAX) == Err.BIG_PKT == 0x8000_0002
    assert upt_error_code(QErr.DESC_TYPE) == Err.DESC_NOT_SPT == 0x8000_0003
    assert upt_error_code(QErr.DESC_LEN_ZERO) == Err.SMALL_BUF == 0x8000_0004
    assert upt_error_code(QErr.SMALL_BUF) == Err.SMALL_BUF
    assert upt_error_code(QErr.DESC_GEN) == Err.TXD_INVALID == 0x8000_0007
    for e in (QErr.PROD_RANGE, QErr.BUS_READ, QErr.BUS_WRITE, QErr.DESC_ALIGN, QErr.RING_SIZE):
        assert upt_error_code(e) == 0x8000_0100 + e


@pytest.mark.parametrize("fmt", list(RingFmt))
def test_reset_values_know_the_new_registers(fmt: RingFmt) -> None:
    vals = func_reset_values(FUNC, NQ, fmt)
    ident = RING_B_IDENTITY if fmt == RingFmt.B else RING_A_IDENTITY
    assert vals[Func.FUNC_ID] == (ident.device_id << 16) | (NQ << 8) | FUNC
    assert vals[Func.FUNC_PCI_ID] == (0x5B015B00 if fmt == RingFmt.B else 0x5A015A00)
    for q in range(NQ):
        for reg in (Queue.TXQ_STATE, Queue.TXQ_CPL_STATE, Queue.RXQ_STATE, Queue.RXQ_CPL_STATE):
            assert vals[queue_reg(q, reg)] == 0x8000_0000
        rx2_state = 0x8000_0000 if fmt == RingFmt.B else 0
        assert vals[queue_reg(q, Queue.RX2_STATE)] == rx2_state
        for reg in (Queue.RX2_BASE_LO, Queue.RXQ_CPL_SIZE, Queue.RX2_SIZE, Queue.RX2_PROD):
            assert vals[queue_reg(q, reg)] == 0
    assert (upt_reg(Bar0.TXPROD, 0) in vals) == (fmt == RingFmt.B)
    assert all(v == 0 for a, v in vals.items() if a >= Func.UPT_BASE)


def test_queue_state_register_round_trip() -> None:
    assert qstate(5, 1) == 0x8000_0005 and qstate_fields(0x8000_0005) == (5, 1)
    assert RingPosition.from_reg(0x0000_0123) == RingPosition(0x123, 0)
    assert RingPosition(7, 1).reg_value() == 0x8000_0007
    with pytest.raises(ValueError):
        qstate(1 << 16, 0)


# ------------------------------------------------------------------ the codec and batches


def test_completion_ownership_bit_is_the_codec_gen_bit() -> None:
    """The shared ring reader takes entries by bit 7 of byte 15: vmxnet3's gen (bit 127)."""
    for raw in (TxCompDesc(txd_idx=3, gen=1).pack(), RxCompDesc(rxd_idx=3, length=1, gen=1).pack()):
        assert raw[ENTRY_BYTES - 1] & GEN_BIT and desc_gen(raw, 3) == 1
    assert not TxCompDesc(txd_idx=3, gen=0).pack()[ENTRY_BYTES - 1] & GEN_BIT


def test_desc_words_is_the_codec() -> None:
    rng = np.random.default_rng(3)
    n = 50
    addrs = rng.integers(0, 1 << 63, n, dtype=np.uint64)
    lens = rng.integers(1, MAX_TX_BUF_SIZE + 1, n)
    lens[:3] = (MAX_TX_BUF_SIZE, 1, MAX_TX_BUF_SIZE - 1)
    gens = rng.integers(0, 2, n)
    tci = rng.integers(0, 1 << 16, n)
    words = desc_words(TxDesc, n, addr=addrs, length=lens, gen=gens, eop=1, cq=1, ti=1, tci=tci)
    assert words.shape == (n, 4)
    for k in range(n):
        want = TxDesc(
            int(addrs[k]), int(lens[k]), int(gens[k]), eop=True, cq=True, ti=True, tci=int(tci[k])
        )
        assert words[k].tobytes() == want.pack(), k
    rx = desc_words(RxDesc, n, addr=addrs, length=4096, btype=1, gen=gens)
    for k in range(n):
        assert (
            rx[k].tobytes() == RxDesc(int(addrs[k]), 4096, int(gens[k]), btype=BufType.BODY).pack()
        )


@pytest.mark.parametrize("start", [0, 20, 31])
def test_post_copies_writes_what_post_writes(start: int) -> None:
    """The batch path of a format-B TX queue leaves the codec's descriptors, gens across
    the ring's end included."""
    frame = bytes(range(100))
    fast, slow = open_tx(device()), open_tx(device())
    for q in (fast, slow):
        q.ring.prod = q.ring.clean = start
    assert fast.post_copies(frame, 20) == 20
    for _ in range(20):
        slow.post(frame)
    assert fast.ring.laps == slow.ring.laps == int(start + 20 >= 32)
    for k in range(32):
        a = fast.mem.read(fast.ring.desc_base + k * ENTRY_BYTES, ENTRY_BYTES)
        b = slow.mem.read(slow.ring.desc_base + k * ENTRY_BYTES, ENTRY_BYTES)
        assert a == b, k
    last = (start + 19) % 32
    d = TxDesc.unpack(fast.mem.read(fast.ring.desc_base + last * ENTRY_BYTES, ENTRY_BYTES))
    assert d == TxDesc(fast._bufs[last], 100, int(last >= start), eop=True, cq=True)


@pytest.mark.parametrize("start", [0, 25])
def test_rx_refill_writes_the_codec_descriptors(start: int) -> None:
    dev = device()
    rxq = UptRxQueue(dev, dev.mem, 0, 5, 1024, head_len=256)  # type: ignore[arg-type]
    run(rxq.open(post=0))
    for r in (rxq.ring, rxq.ring2):
        r.prod = r.clean = start
    run(rxq.refill(16))
    for ring, bufs, btype, length in (
        (rxq.ring, rxq._head, BufType.HEAD, 256),
        (rxq.ring2, rxq._body, BufType.BODY, 1024),
    ):
        for k in range(16):
            s = (start + k) % 32
            raw = dev.mem.read(ring.desc_base + s * ENTRY_BYTES, ENTRY_BYTES)
            assert raw == RxDesc(int(bufs.own[s]), length, int(start + k < 32), btype=btype).pack()
        assert ring.prod == (start + 16) % 32
    # the doorbells: RXPROD2 first, then RXPROD, through the UPT page
    assert dev.writes[-2:] == [
        (upt_reg(Bar0.RXPROD2, 0), rxq.ring2.prod),
        (upt_reg(Bar0.RXPROD, 0), rxq.ring.prod),
    ]


# ------------------------------------------------------------------ TX


def random_frames(rng: random.Random, n: int) -> list[tuple[bytes, list[int], int | None]]:
    out = []
    for _ in range(n):
        nbufs = rng.choice([1, 2, 3, 4, 5, 8, 15, 16])
        size = rng.randint(max(60, nbufs), 3000)
        cuts = sorted(rng.sample(range(1, size), nbufs - 1))
        edges = [0, *cuts, size]
        split = [edges[i + 1] - edges[i] for i in range(nbufs)]
        vlan = rng.randrange(1 << 16) if rng.random() < 0.3 else None
        out.append((rng.randbytes(size), split, vlan))
    return out


@pytest.mark.parametrize("upt_page", [True, False])
def test_tx_frames_of_1_to_16_buffers_across_wraps(upt_page: bool) -> None:
    dev = device()
    txq = open_tx(dev, q=1, upt_page=upt_page)
    rng = random.Random(5)
    frames = random_frames(rng, 60)
    done: list[UptTxFrame] = []
    for data, split, vlan in frames:
        while txq.ring.free_slots() < len(split):
            got = txq.reap()
            assert got, "the fake sends at once: a full ring means unreaped frames"
            done += [t for t in got if isinstance(t, UptTxFrame)]
        txq.post(data, split=split, offsets=[rng.randrange(64) for _ in split], vlan_tci=vlan)
        run(txq.ring_doorbell())
    done += [t for t in txq.reap() if isinstance(t, UptTxFrame)]
    assert dev.sent == [(1, d, v) for d, _, v in frames]
    assert [t.data for t in done] == [d for d, _, _ in frames] and txq.in_flight == 0
    assert txq.ring.laps >= 3  # the descriptor ring wrapped: gens 1, 0, 1, 0 were used
    for t in done:
        assert t.completion == TxCompletion(t.last_slot, len(t.data), 0, t.completion.gen)
        assert t.upt_completion is not None and t.upt_completion.txd_idx == t.last_slot
    doorbell = upt_reg(Bar0.TXPROD, 1) if upt_page else queue_reg(1, Queue.TXQ_PROD)
    assert dev.writes[-1] == (doorbell, txq.ring.prod)


def test_tx_descriptor_fields() -> None:
    """VLAN insert on the first descriptor, eop and cq on the last, the lap's gen."""
    txq = open_tx(device())
    txq.ring.prod = txq.ring.clean = 30
    txq.post(bytes(300), split=[100, 100, 100], vlan_tci=0x0ABC)
    got = [
        TxDesc.unpack(txq.mem.read(txq.ring.desc_base + s * ENTRY_BYTES, ENTRY_BYTES))
        for s in (30, 31, 0)
    ]
    assert [(d.gen, d.eop, d.cq, d.ti, d.tci) for d in got] == [
        (1, False, False, True, 0x0ABC),
        (1, False, False, False, 0),
        (0, True, True, False, 0),
    ]
    assert all(d.dtype == 0 and d.om == 0 for d in got)


def test_tx_16384_byte_buffers_encode_as_length_0() -> None:
    dev = device()
    txq = open_tx(dev)
    big = [dev.mem.alloc(MAX_TX_BUF_SIZE) for _ in range(2)]
    payload = random.Random(1).randbytes(2 * MAX_TX_BUF_SIZE + 10)
    dev.mem.write(big[0], payload[:MAX_TX_BUF_SIZE])
    dev.mem.write(big[1], payload[MAX_TX_BUF_SIZE : 2 * MAX_TX_BUF_SIZE])
    tail = dev.mem.alloc(64)
    dev.mem.write(tail, payload[-10:])
    tx = txq.post_buffers([(big[0], MAX_TX_BUF_SIZE), (big[1], MAX_TX_BUF_SIZE), (tail, 10)])
    raw = dev.mem.read(txq.ring.desc_base, ENTRY_BYTES)
    assert int.from_bytes(raw[8:10], "little") & 0x3FFF == 0  # len field 0 = 16384
    run(txq.ring_doorbell())
    assert dev.sent[-1][1] == payload
    (done,) = txq.reap()
    assert done is tx and tx.completion is not None and tx.completion.length == len(payload)
    with pytest.raises(QueueError):
        txq.post_copies(bytes(MAX_TX_BUF_SIZE + 1), 1)


def test_tx_reap_array_is_format_a_dtype() -> None:
    dev = device()
    txq = open_tx(dev)
    assert txq.post_copies(bytes(64), 40) == 31  # one slot stays empty
    run(txq.ring_doorbell())
    cpls = txq.reap_array()
    assert cpls.dtype == TxCompletion.DTYPE
    assert cpls["desc_idx"].tolist() == list(range(31)) and not cpls["status"].any()
    assert set(cpls["length"].tolist()) == {64} and txq.in_flight == 0 and txq.ring.clean == 31


def tx_with_frames(n: int = 3) -> tuple[FakeUptDevice, UptTxQueue]:
    dev = device()
    txq = open_tx(dev)
    for k in range(n):
        txq.post(bytes([k]) * 100, split=[60, 40])
    run(txq.ring_doorbell())
    return dev, txq


@pytest.mark.parametrize(
    ("slot", "values", "fld"),
    [
        (1, {"txd_idx": 2}, "txd_idx"),  # the SOP, not the EOP, of frame 1
        (0, {"txd_idx": 3}, "txd_idx"),  # frame 1's EOP where frame 0's is due
        (0, {"type": CompType.RXCOMP}, "type"),
        (1, {"gen": 0}, "gen"),  # slot 2 after it is the device's: a skipped entry
        (2, {"rsvd": 1}, "rsvd"),
        (2, {"ext2": 5}, "ext2"),
    ],
)
def test_tx_completion_checks_fire(slot: int, values: dict[str, int], fld: str) -> None:
    dev, txq = tx_with_frames()
    corrupt(dev.mem, cpl_slot(txq.ring, slot), TxCompDesc, **values)
    with pytest.raises(UptCompletionError) as exc:
        txq.reap()
    assert exc.value.field == fld, exc.value


def test_tx_completion_without_a_frame_in_flight() -> None:
    dev, txq = tx_with_frames(1)
    assert len(txq.reap()) == 1
    dev.mem.write(cpl_slot(txq.ring, 1), TxCompDesc(txd_idx=1, gen=1).pack())
    with pytest.raises(UptCompletionError, match="no frame in flight") as exc:
        txq.reap()
    assert exc.value.field == "txd_idx"


def test_tx_untouched_completions_pass() -> None:
    """The fixture of the corruption tests reaps clean when nothing is corrupted."""
    _, txq = tx_with_frames()
    assert [t.last_slot for t in txq.reap()] == [1, 3, 5]


# ------------------------------------------------------------------ RX


def rx_frames(rng: random.Random, n: int) -> list[tuple[bytes, int | None]]:
    """Sizes for a 256-byte head and 512-byte bodies: head only (some exactly full),
    head + 1..18 bodies (9018 bytes)."""
    sizes = [60, 256, 257, 768, 769, 9018, 1500]
    out = []
    for k in range(n):
        size = (
            sizes[k]
            if k < len(sizes)
            else rng.choice([rng.randint(60, 256), rng.randint(257, 4000)])
        )
        vlan = rng.randrange(1 << 16) if rng.random() < 0.3 else None
        out.append((rng.randbytes(size), vlan))
    return out


def test_rx_frames_of_head_and_body_buffers_across_every_ring_end() -> None:
    dev = device()
    rxq = open_rx(dev, q=1, log2=5, buf_len=512, head_len=256)
    assert rxq.ring.cpl_size == 64 and rxq.num_queues == NQ
    rng = random.Random(7)
    frames = rx_frames(rng, 150)
    got: list[UptRxFrame] = []
    cpl_laps = 0
    for data, vlan in frames:
        if not dev.deliver(1, data, vlan):
            before = rxq.ring.cpl_idx
            got += [f for f in rxq.reap() if isinstance(f, UptRxFrame)]
            cpl_laps += rxq.ring.cpl_idx < before
            run(rxq.refill())
            assert dev.deliver(1, data, vlan)
    got += [f for f in rxq.reap() if isinstance(f, UptRxFrame)]
    assert [f.data for f in got] == [d for d, _ in frames]
    assert rxq.ring.laps >= 2 and rxq.ring2.laps >= 2 and cpl_laps >= 2
    for fr, (data, vlan) in zip(got, frames, strict=True):
        c = fr.completion
        nbody = -(-max(0, len(data) - 256) // 512)
        assert (c.num_bufs, c.length, c.status) == (1 + nbody, len(data), 0)
        assert (c.vlan_stripped, c.vlan_tci) == (vlan is not None, vlan or 0)
        assert len(fr.upt_completions) == len(fr.bufs) == 1 + nbody
        assert [b[1] for b in fr.bufs] == [cpl.length for cpl in fr.upt_completions]
        assert fr.upt_completions[0].rq_id == 1 and all(
            cpl.rq_id == 1 + NQ for cpl in fr.upt_completions[1:]
        )


def test_rx_frame_whose_eop_is_not_written_yet_waits() -> None:
    dev = device()
    rxq = open_rx(dev, buf_len=512, head_len=256)
    data = bytes(range(256)) * 6  # head + 3 body buffers: 4 completions
    assert dev.deliver(0, data)
    eop = cpl_slot(rxq.ring, 3)
    written = dev.mem.read(eop, ENTRY_BYTES)
    dev.mem.write(eop, bytes(ENTRY_BYTES))  # as if the EOP's beat were still on its way
    assert rxq.reap() == [] and rxq._partial is not None and rxq.ring.clean == 0
    dev.mem.write(eop, written)
    (fr,) = rxq.reap()
    assert fr.data == data and rxq.ring.clean == 1 and rxq.ring2.clean == 3


def test_rx_reap_array_and_buffers_posted_by_the_caller() -> None:
    dev = device()
    rxq = UptRxQueue(dev, dev.mem, 0, 5, 512, head_len=256)  # type: ignore[arg-type]
    run(rxq.open(post=0))
    heads = [(dev.mem.alloc(4096), 4096)]
    assert rxq.post_buffers(heads) == 1
    assert rxq.post_buffers([(dev.mem.alloc(512), 512)] * 3, body=True) == 3
    run(rxq.ring_doorbell())
    assert dev.deliver(0, bytes(4500), vlan_tci=0x123)
    cpls = rxq.reap_array()
    assert cpls.dtype == RxCompletion.DTYPE
    assert cpls[["desc_idx", "num_bufs", "flags", "length", "vlan_tci", "status"]].tolist() == [
        (0, 2, 1, 4500, 0x123, 0)
    ]
    assert rxq.frames_seen == 1 and rxq.ring2.clean == 1


def rx_with_frames() -> tuple[FakeUptDevice, UptRxQueue]:
    """Frame 0: head + 2 bodies (completion slots 0..2), frame 1: head only (slot 3),
    frame 2: head + 1 body (slots 4, 5); 256-byte heads, 512-byte bodies."""
    dev = device()
    rxq = open_rx(dev, buf_len=512, head_len=256)
    for size, vlan in ((1000, 0x0064), (200, None), (600, None)):
        assert dev.deliver(0, bytes(size), vlan)
    return dev, rxq


@pytest.mark.parametrize(
    ("slot", "values", "fld"),
    [
        (0, {"rxd_idx": 1}, "rxd_idx"),
        (1, {"rxd_idx": 1}, "rxd_idx"),  # body buffer 1 named where body 0 is due
        (0, {"rq_id": NQ}, "rq_id"),  # a head on ring 2's rqID
        (1, {"rq_id": 0}, "rq_id"),  # a body on ring 1's rqID
        (2, {"eop": 0}, "eop"),  # the last of 3 buffers, short, without eop
        (3, {"eop": 0, "length": 256}, "eop"),  # a full head, no eop: the next has sop
        (0, {"sop": 0}, "sop"),
        (1, {"sop": 1}, "eop"),
        (1, {"gen": 0}, "gen"),  # slots after it are the device's: a skipped entry
        (0, {"type": CompType.RXCOMP_LRO}, "type"),
        (0, {"type": CompType.TXCOMP}, "type"),
        (0, {"length": 200}, "eop"),  # a head not full, yet the frame goes on
        (3, {"length": 300}, "len"),  # more than the 256-byte head holds
        (3, {"length": 0}, "len"),
        (0, {"cnc": 0}, "cnc"),
        (1, {"ts": 0, "tci": 0}, "ts"),
        (2, {"tci": 0x0065}, "tci"),
        (3, {"tci": 0x0001}, "tci"),  # a tag without ts
        (3, {"rss_hash": 1}, "rss_hash"),
        (5, {"v4": 1}, "v4"),
        (4, {"err": 1}, "err"),
    ],
)
def test_rx_completion_checks_fire(slot: int, values: dict[str, int], fld: str) -> None:
    dev, rxq = rx_with_frames()
    corrupt(dev.mem, cpl_slot(rxq.ring, slot), RxCompDesc, **values)
    with pytest.raises(UptCompletionError) as exc:
        rxq.reap()
    assert exc.value.field == fld, exc.value


def test_rx_untouched_completions_pass() -> None:
    _, rxq = rx_with_frames()
    got = rxq.reap()
    assert [(f.completion.num_bufs, f.completion.length) for f in got] == [
        (3, 1000),
        (1, 200),
        (2, 600),
    ]


def test_rx_completion_for_a_buffer_never_posted() -> None:
    dev = device()
    rxq = open_rx(dev, buf_len=512, head_len=256)
    rxq.ring2.clean = rxq.ring2.prod  # as if ring 2 had no buffer posted
    assert dev.deliver(0, bytes(300))
    with pytest.raises(UptCompletionError, match="no ring-2 buffer posted") as exc:
        rxq.reap()
    assert exc.value.field == "rxd_idx"


def test_rx_geometry_is_checked() -> None:
    dev = device()
    with pytest.raises(QueueError, match="head buffer"):
        UptRxQueue(dev, dev.mem, head_len=64)  # type: ignore[arg-type]
    with pytest.raises(QueueError, match="completion ring"):
        UptRxQueue(dev, dev.mem, size_log2=6, ring2_log2=6, cpl_log2=6)  # type: ignore[arg-type]
    q = UptRxQueue(dev, dev.mem, size_log2=6, ring2_log2=8)  # type: ignore[arg-type]
    assert q.ring.cpl_size == 512 and q.ring2.size == 256


def test_open_refuses_a_function_that_is_not_format_b() -> None:
    dev = FakeUptDevice(HostMemory(1 << 20), pci_id=RING_A_IDENTITY.pci_id)
    with pytest.raises(QueueError, match="not a ring-format-B engine"):
        run(UptTxQueue(dev, dev.mem).open())  # type: ignore[arg-type]


# ------------------------------------------------------------------ §4c and errors


def test_save_and_restore_into_a_fresh_queue() -> None:
    """TX: a frame rung but not yet fetched at the save is sent by the restored queue;
    RX: the restored queue goes on with the next unused buffers and completion slot;
    every ring's index and gen carry over (after wraps, so gen 0 is among them)."""
    dev = device()
    dev.busy_reads = 3  # BUSY stays up for a few status reads after the disable
    txq, rxq = open_tx(dev), open_rx(dev, buf_len=512, head_len=256)
    for k in range(40):  # past the ends of the TX ring, RX ring 2 and the completion rings
        txq.post(bytes([k]) * 80, split=[40, 40])
        run(txq.ring_doorbell())
        txq.reap()
        assert dev.deliver(0, bytes([k]) * 700)
        rxq.reap()
        run(rxq.refill())
    dev.auto_tx = False
    pending = txq.post(b"\x55" * 90)
    run(txq.ring_doorbell())
    tx_state, rx_state = run(txq.save_state()), run(rxq.save_state())
    assert tx_state.prod == txq.ring.prod
    sop = TxDesc.unpack(dev.mem.read(txq.ring.desc_base + pending.first_slot * 16, 16))
    assert tx_state.desc == RingPosition(pending.first_slot, sop.gen)
    assert tx_state.cpl == RingPosition(txq.ring.cpl_idx, txq.ring.phase)
    assert rx_state == QueueState(
        rxq.ring.prod,
        RingPosition(rxq.ring.clean, dev.rx[0].ring.gen),  # type: ignore[union-attr]
        RingPosition(rxq.ring.cpl_idx, rxq.ring.phase),
        rxq.ring2.prod,
        RingPosition(rxq.ring2.clean, dev.rx[0].ring2.gen),  # type: ignore[union-attr]
    )
    assert 0 in (tx_state.cpl.gen, rx_state.cpl.gen, rx_state.desc2.gen)  # type: ignore[union-attr]
    fresh = FakeUptDevice(dev.mem, func=FUNC + 1)
    run(txq.restore_state(tx_state, fresh))  # type: ignore[arg-type]
    run(rxq.restore_state(rx_state, fresh))  # type: ignore[arg-type]
    assert fresh.sent == [(0, b"\x55" * 90, None)]
    (tx,) = txq.reap()
    assert tx is pending
    assert fresh.deliver(0, b"\xaa" * 2000)
    (fr,) = rxq.reap()
    assert fr.data == b"\xaa" * 2000
    # the order of §4c: geometry, the STATE registers, the doorbells, ENABLE | RESUME last
    rx_writes = [a for a, _ in fresh.writes if a >= queue_reg(0, Queue.RXQ_BASE_LO)]
    ctrl = rx_writes.index(queue_reg(0, Queue.RXQ_CTRL))
    assert set(rx_writes[ctrl - 5 : ctrl - 2]) == {
        queue_reg(0, Queue.RXQ_STATE),
        queue_reg(0, Queue.RXQ_CPL_STATE),
        queue_reg(0, Queue.RX2_STATE),
    }
    assert rx_writes[ctrl - 2 : ctrl] == [upt_reg(Bar0.RXPROD, 0), upt_reg(Bar0.RXPROD2, 0)]
    assert fresh.regs[queue_reg(0, Queue.RXQ_CTRL)] == QCTRL_ENABLE | QCTRL_RESUME
    assert rx_writes[ctrl + 1 :] == []


def test_upt_error_reads_the_queue_register() -> None:
    dev = device()
    txq, rxq = open_tx(dev), open_rx(dev)
    assert run(txq.upt_error()) == 0
    txq.post_raw(TxDesc(dev.mem.alloc(64), 64, gen=0, eop=True))  # the wrong gen for lap 1
    run(txq.ring_doorbell())
    assert run(txq.upt_error()) == Err.TXD_INVALID
    assert run(txq.status()) & 0xFF == QErr.DESC_GEN
    dev.rx[0].error = QErr.SMALL_BUF
    assert run(rxq.upt_error()) == Err.SMALL_BUF


@pytest.mark.parametrize("upt_page", [True, False])
def test_use_interrupts_unmasks_through_the_imr(upt_page: bool) -> None:
    """Vector 2q (TX) and 2q + 1 (RX) unmasked through IMR (or *Q_IRQ_CTRL, its alias);
    the moderation has no UPT alias and goes to *Q_IRQ_MOD."""
    dev = device()
    txq, rxq = open_tx(dev, q=1, upt_page=upt_page), open_rx(dev, q=1, upt_page=upt_page)
    mod = IrqModeration(min_interval=100, count_thresh=8)
    run(txq.use_interrupts(object(), mod))  # type: ignore[arg-type]
    run(rxq.use_interrupts(object(), mod))  # type: ignore[arg-type]
    tx_mask = upt_reg(Bar0.IMR, 2) if upt_page else queue_reg(1, Queue.TXQ_IRQ_CTRL)
    rx_mask = upt_reg(Bar0.IMR, 3) if upt_page else queue_reg(1, Queue.RXQ_IRQ_CTRL)
    assert dev.writes[-4:] == [
        (queue_reg(1, Queue.TXQ_IRQ_MOD), mod.value()),
        (tx_mask, 0),
        (queue_reg(1, Queue.RXQ_IRQ_MOD), mod.value()),
        (rx_mask, 0),
    ]
    assert (txq.ring.irq_vector, rxq.ring.irq_vector) == (2, 3)
