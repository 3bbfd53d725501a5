"""The driver model of the vf_dma pyuvm environment: the function's driver owning every ring
(tb/vf_driver TxQueue/RxQueue, format B UptTxQueue/UptRxQueue) and the RX buffer credit."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import cocotb
from cocotb.triggers import Event
from pyuvm import (
    ConfigDB,
    uvm_analysis_port,
    uvm_driver,
    uvm_sequencer,
)

from tb.host.mmio import FunctionBar
from tb.ref.regmap import RX_STEER_HASH, Func, RingFmt
from tb.ref.vf_dma_model import rx_flow_queue
from tb.uvm.regport import RegPortMaster
from tb.uvm.vf_dma.agents import HostBusAgent
from tb.uvm.vf_dma.config import VfDmaEnvConfig
from tb.uvm.vf_dma.items import TxFrameItemData
from tb.vf_driver.queues import QueueStall, RxFrame, RxQueue, TxQueue
from tb.vf_driver.upt_queues import UptRxQueue, UptTxQueue


@dataclass
class RxCredit:
    """RX buffers the driver has posted and no frame in flight claims yet, per queue.

    The random test must not lose frames for lack of buffers (that case has
    its own directed test), so a frame is sent only when its queue has enough
    unclaimed posted buffers; reaping a frame returns its buffers.

    Format B (``head_len`` > 0): a frame claims one ring-1 (head) buffer of ``slots``
    and the ring-2 (body) buffers of ``buf_len`` its bytes past ``head_len`` need, of
    ``body_slots``.
    """

    num_queues: int
    slots: int  # buffers a full ring holds (size - 1); format B: ring 1
    buf_len: int  # format B: body buffers
    hash_en: bool
    head_len: int = 0  # format B: ring-1 buffer length; 0: format A, one ring
    body_slots: int = 0  # format B: buffers a full ring 2 holds
    claimed: list[int] = field(default_factory=list)
    body_claimed: list[int] = field(default_factory=list)
    changed: Event = field(default_factory=Event)

    def __post_init__(self) -> None:
        self.claimed = [0] * self.num_queues
        self.body_claimed = [0] * self.num_queues

    def body_bufs(self, nbytes: int) -> int:
        """Ring-2 buffers a frame of ``nbytes`` takes (format B; 0 in format A)."""
        if not self.head_len:
            return 0
        return -(-max(0, nbytes - self.head_len) // self.buf_len)

    def bufs(self, frame: bytes) -> int:
        """Buffers ``frame`` takes, head and body."""
        if self.head_len:
            return 1 + self.body_bufs(len(frame))
        return -(-len(frame) // self.buf_len)

    async def acquire(self, frame: bytes) -> None:
        q = rx_flow_queue(frame, self.num_queues, self.hash_en)
        body = self.body_bufs(len(frame))
        head = self.bufs(frame) - body
        while self.claimed[q] + head > self.slots or self.body_claimed[q] + body > self.body_slots:
            self.changed.clear()
            await self.changed.wait()
        self.claimed[q] += head
        self.body_claimed[q] += body

    def release(self, q: int, nbufs: int) -> None:
        """A reaped frame of ``nbufs`` buffers (format B: its head and nbufs - 1 bodies)."""
        body = nbufs - 1 if self.head_len else 0
        self.claimed[q] -= nbufs - body
        self.body_claimed[q] -= body
        self.changed.set()


class DriverModel(uvm_driver):
    """The function's driver: owns every ring (tb/vf_driver/queues.py) through the register port."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        self.seqr = uvm_sequencer("seqr", self)
        self.tx_posted = uvm_analysis_port("tx_posted", self)
        self.tx_done = uvm_analysis_port("tx_done", self)
        self.rx_done = uvm_analysis_port("rx_done", self)
        self.rng = random.Random(self.cfg.seed * 7 + 4)

    def connect_phase(self) -> None:
        dut = ConfigDB().get(self, "", "dut")
        host: HostBusAgent = ConfigDB().get(self, "", "host")
        c = self.cfg
        self.regs = RegPortMaster(dut, c.func, c.period_ns)
        self.bar = FunctionBar(self.regs, c.func)  # type: ignore[arg-type]
        self.mem = host.dma_mem
        nq = range(c.num_queues)
        self.txq = [self.tx_queue(q, c.tx_ring_log2) for q in nq]
        self.rxq = [self.rx_queue(q, c.rx_ring_log2, c.rx_buf_len) for q in nq]
        if c.ring_fmt == RingFmt.B:
            self.rx_credit = RxCredit(
                c.num_queues,
                (1 << c.rx_ring_log2) - 1,
                c.rx_buf_len,
                c.rx_hash,
                head_len=c.rx_head_len,
                body_slots=(1 << c.rx_ring2_log2) - 1,
            )
        else:
            self.rx_credit = RxCredit(
                c.num_queues, (1 << c.rx_ring_log2) - 1, c.rx_buf_len, c.rx_hash
            )
        self.seq_item_port.connect(self.seqr.seq_item_export)
        self.unrung = [0] * c.num_queues
        self.tx_wraps = [0] * c.num_queues
        self.rx_wraps = [0] * c.num_queues
        self.tx_space = [Event() for _ in range(c.num_queues)]
        self._tasks: list[Any] = []

    def tx_queue(self, q: int, size_log2: int) -> TxQueue | UptTxQueue:
        """A TX queue driver of the configured ring format on this function."""
        if self.cfg.ring_fmt == RingFmt.B:
            return UptTxQueue(self.bar, self.mem, q, size_log2)
        return TxQueue(self.bar, self.mem, q, size_log2)

    def rx_queue(
        self, q: int, size_log2: int, buf_len: int, head_len: int | None = None
    ) -> RxQueue | UptRxQueue:
        """An RX queue driver of the configured ring format. Format B: ``buf_len``-byte body
        buffers; head buffers of ``head_len`` (default ``rx_head_len``) and a ring 2 of
        ``rx_ring2_log2`` entries, or, given ``head_len``, a ring 2 as large as ring 1."""
        c = self.cfg
        if c.ring_fmt == RingFmt.B:
            return UptRxQueue(
                self.bar,
                self.mem,
                q,
                size_log2,
                buf_len,
                head_len=c.rx_head_len if head_len is None else head_len,
                ring2_log2=c.rx_ring2_log2 if head_len is None else size_log2,
                num_queues=c.num_queues,
            )
        return RxQueue(self.bar, self.mem, q, size_log2, buf_len)

    async def open(self, hash_en: bool, queues: list[int] | None = None) -> None:
        """Open ``queues`` (default all) and reap them; a directed test drives the others."""
        queues = list(range(self.cfg.num_queues)) if queues is None else queues
        for q in queues:
            await self.txq[q].open()
            await self.rxq[q].open()
        if hash_en:
            await self.bar.write(Func.RX_STEER, RX_STEER_HASH)
        for q in queues:
            self._tasks.append(cocotb.start_soon(self._tx_reaper(q)))
            self._tasks.append(cocotb.start_soon(self._rx_reaper(q)))

    async def _tx_reaper(self, q: int) -> None:
        txq = self.txq[q]
        prev = 0
        while True:
            try:
                done = await txq.wait_reaped()
            except QueueStall:
                if txq.in_flight:
                    raise  # frames posted and never completed: a real stall
                continue  # nothing posted: a quiet TX queue is idle, not stuck
            for tx in done:
                self.tx_done.write((q, tx))
            if txq.ring.cpl_idx < prev:
                self.tx_wraps[q] += 1
            prev = txq.ring.cpl_idx
            self.tx_space[q].set()

    async def _rx_reaper(self, q: int) -> None:
        rxq = self.rxq[q]
        prev = 0
        while True:
            try:
                frames: list[RxFrame] = await rxq.wait_reaped()
            except QueueStall:
                # A queue the traffic is not steered to stays quiet; the test's
                # own end-of-traffic wait bounds the run.
                continue
            for fr in frames:
                self.rx_credit.release(q, fr.completion.num_bufs)
                self.rx_done.write((q, fr))
            if rxq.ring.cpl_idx < prev:
                self.rx_wraps[q] += 1
            prev = rxq.ring.cpl_idx

    async def run_phase(self) -> None:
        while True:
            item = await self.seq_item_port.get_next_item()
            d: TxFrameItemData = item.d
            txq = self.txq[d.queue]
            while txq.ring.free_slots() < len(d.split):
                if self.unrung[d.queue]:
                    await self._doorbell(d.queue)
                self.tx_space[d.queue].clear()
                await self.tx_space[d.queue].wait()
            tx = txq.post(d.data, split=d.split, offsets=d.offsets, vlan_tci=d.vlan_tci)
            self.tx_posted.write((d, tx))
            self.unrung[d.queue] += 1
            # doorbells batch a random number of frames, as a driver under load does
            if self.unrung[d.queue] >= self.rng.randint(1, 8):
                await self._doorbell(d.queue)
            self.seq_item_port.item_done()

    async def _doorbell(self, q: int) -> None:
        self.unrung[q] = 0
        await self.txq[q].ring_doorbell()

    async def flush(self) -> None:
        for q in range(self.cfg.num_queues):
            if self.unrung[q]:
                await self._doorbell(q)

    def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
