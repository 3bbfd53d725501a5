"""``FakeUptDevice``: one format-B (vmxnet3/UPT) function in a few hundred lines of
Python, for the queue drivers of tb/vf_driver/upt_queues.py without a simulator.

It serves one function's registers (identity, queue blocks, the ring-2 block,
the UPT page, ``*_STATE``) and its rings by the rules of docs/ARCHITECTURE.md
§4b/§4c, with every descriptor and completion going through the project's
vmxnet3 codec (tb/shell_model/vmxnet3_defs.py) and ring walks through its
``RingCursor``, over the real host memory (tb/host/memory.py). Set-up helpers
open its queues; ``corrupt`` rewrites one field of a completion.
Used by tests/test_vf_driver_upt*.py, tests/test_plugin_ring_b.py and
tests/test_vf_dma_env_fmt.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tb.host.memory import HostMemory
from tb.ref.layouts import ENTRY_BYTES
from tb.ref.regmap import (
    FUNC_ID_QUEUES_SHIFT,
    QCTRL_ENABLE,
    QCTRL_RESUME,
    QSTATE_RESET,
    QSTATUS_BUSY,
    QSTATUS_ERROR,
    RING_B_IDENTITY,
    Func,
    QErr,
    Queue,
    qstate,
    qstate_fields,
    queue_reg,
    upt_error_code,
)
from tb.shell_model.rings import RingCursor
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    MAX_TXD_PER_PKT,
    Bar0,
    BitField,
    BufType,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
)
from tb.vf_driver.upt_queues import UptRxQueue, UptTxQueue

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
