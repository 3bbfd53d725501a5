"""The RX half of a ring-format-B queue pair (vmxnet3's rings, UPT, ARCHITECTURE §4b): head
buffers in ring 1, body buffers in ring 2, one completion ring; frames put together from
their SOP..EOP completions, each checked field by field. Imported through
:mod:`tb.vf_driver.upt_queues`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from tb.ref.layouts import GEN_BIT, RxCompletion
from tb.ref.regmap import (
    QCTRL_ENABLE,
    RX2_OFFSET,
    RX_CPL_LOG2_MAX,
    Queue,
    queue_reg,
    upt_reg,
)
from tb.shell_model.vmxnet3_defs import (
    MIN_T0_BUF_SIZE,
    Bar0,
    BufType,
    CompletionTypeError,
    CompType,
    RxCompDesc,
    RxDesc,
)
from tb.vf_driver.queues import (
    RING_LOG2_MIN,
    QueueError,
    RxFrame,
    _DescRing,
    _Ring,
    _RxQueueBase,
    copy_slots,
)

# The longest buffer length a 64-byte-aligned RX descriptor can carry (14-bit field).
from tb.vf_driver.upt_common import (
    MAX_RX_BUF_ALIGNED,
    UptCompletionError,
    _check_gen_order,
    _must_be_zero,
    check_identity,
    desc_words,
    slot_gens,
)

# ------------------------------------------------------------------ RX


@dataclass
class UptRxFrame(RxFrame):
    """An RX frame of a format-B queue: ``completion`` is the format-A view of the whole
    frame, ``upt_completions`` the vmxnet3 completion of each buffer, SOP first."""

    upt_completions: tuple[RxCompDesc, ...] = ()


@dataclass
class _PostedBufs:
    """The buffers posted on one format-B RX descriptor ring: the queue's own (own
    buffer k always at slot k) or a caller's, remembered per slot."""

    ring: _DescRing
    btype: BufType
    buf_len: int
    own: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    own_slot_buf: list[tuple[int, int]] = field(default_factory=list)
    slot_buf: list[tuple[int, int]] = field(default_factory=list)

    def reset(self) -> None:
        self.slot_buf = [(0, 0)] * self.ring.size

    def alloc_own(self) -> None:
        mem = self.ring.mem
        addrs = [mem.alloc(self.buf_len, 64) for _ in range(self.ring.size)]
        self.own = np.array(addrs, dtype=np.uint64)
        self.own_slot_buf = [(a, self.buf_len) for a in addrs]

    def free_own(self) -> None:
        """Give the own buffers back to the memory they came from; forget every posted one."""
        for addr in self.own.tolist():
            self.ring.mem.free(int(addr))
        self.own = np.empty(0, np.uint64)
        self.own_slot_buf = []
        self.slot_buf = []

    def refill(self, count: int | None) -> int:
        """Post up to ``count`` own buffers (default: every free slot); returns how many."""
        if not len(self.own):
            self.alloc_own()
        ring = self.ring
        n = ring.free_slots() if count is None else min(count, ring.free_slots())
        if n <= 0:
            return 0
        prod = ring.prod
        descs = desc_words(
            RxDesc,
            n,
            addr=self.own[(prod + np.arange(n)) & ring.mask],
            length=self.buf_len,
            btype=int(self.btype),
            gen=slot_gens(ring, n),
        )
        copy_slots(self.slot_buf, self.own_slot_buf, prod, n)
        ring.put_desc_array(descs)
        return n

    def post(self, bufs: list[tuple[int, int]]) -> int:
        """Post the caller's ``(address, length)`` buffers, as many as fit."""
        ring = self.ring
        n = min(len(bufs), ring.free_slots())
        gens = slot_gens(ring, n).tolist()
        for k, buf in enumerate(bufs[:n]):
            self.slot_buf[(ring.prod + k) & ring.mask] = buf
        ring.put_descs(
            [
                RxDesc(addr, length, gens[k], btype=self.btype).pack()
                for k, (addr, length) in enumerate(bufs[:n])
            ]
        )
        return n

    def posted(self) -> int:
        """Buffers posted and not yet returned by a completed frame."""
        return (self.ring.prod - self.ring.clean) & self.ring.mask


@dataclass
class _PartialFrame:
    """The completions of a frame taken so far (SOP, not yet EOP)."""

    head_idx: int
    ts: bool
    tci: int
    cpls: list[RxCompDesc] = field(default_factory=list)
    bufs: list[tuple[int, int]] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)

    @property
    def body_used(self) -> int:
        return len(self.cpls) - 1


@dataclass
class UptRxQueue(_RxQueueBase):
    """The RX half of a queue pair, ring format B (§4b); the interface of ``RxQueue``.

    Ring 1 (``ring``, ``size_log2`` entries) holds head buffers of ``head_len`` bytes
    (default ``buf_len``), ring 2 (``ring2``, ``ring2_log2``, default ``size_log2``) body
    buffers of ``buf_len``; the completion ring has 2^``cpl_log2`` entries (default the
    smallest that holds both rings). ``num_queues`` (ring 2's completions carry
    ``rqID`` = q + it) is read from ``FUNC_ID`` at open unless given.
    """

    head_len: int | None = None
    ring2_log2: int | None = None
    cpl_log2: int | None = None
    num_queues: int | None = None
    upt_page: bool = True  # doorbells and IMR through the UPT page, else the queue registers
    ring2: _DescRing = field(init=False)
    _head: _PostedBufs = field(init=False)
    _body: _PostedBufs = field(init=False)
    _partial: _PartialFrame | None = field(init=False, default=None)

    _ZERO_FIELDS: ClassVar[tuple[str, ...]] = (
        "err",
        "rss_type",
        "rss_hash",
        "csum",
        "tuc",
        "udp",
        "tcp",
        "ipc",
        "v6",
        "v4",
        "frg",
        "fcs",
        "ext1",
        "ext2",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        head = self.buf_len if self.head_len is None else self.head_len
        self.head_len = head
        if self.buf_len > MAX_RX_BUF_ALIGNED:
            raise QueueError(f"RX body buffer length {self.buf_len} above {MAX_RX_BUF_ALIGNED}")
        if head % 64 or not MIN_T0_BUF_SIZE <= head <= MAX_RX_BUF_ALIGNED:
            raise QueueError(
                f"RX head buffer length {head} is not a multiple of 64 in "
                f"{MIN_T0_BUF_SIZE}..{MAX_RX_BUF_ALIGNED}"
            )
        log2_2 = self.size_log2 if self.ring2_log2 is None else self.ring2_log2
        self.ring2_log2 = log2_2
        if not 1 <= self.refill_batch < 1 << log2_2:
            raise QueueError(f"RX refill batch {self.refill_batch} outside ring 2's slots")
        need = (1 << self.size_log2) + (1 << log2_2)
        cpl_log2 = (need - 1).bit_length() if self.cpl_log2 is None else self.cpl_log2
        self.cpl_log2 = cpl_log2
        if not RING_LOG2_MIN <= cpl_log2 <= RX_CPL_LOG2_MAX or 1 << cpl_log2 < need:
            raise QueueError(
                f"RX completion ring of 2**{cpl_log2} entries: needs {RING_LOG2_MIN}.."
                f"{RX_CPL_LOG2_MAX} and room for both rings' {need} buffers"
            )
        base = queue_reg(self.q, Queue.TXQ_BASE_LO)
        self.ring = _Ring(
            self.bar,
            self.mem,
            self.ring.base_reg,
            self.size_log2,
            name=f"RX queue {self.q}",
            cpl_size_log2=cpl_log2,
            cpl_size_reg=queue_reg(self.q, Queue.RXQ_CPL_SIZE),
        )
        self.ring2 = _DescRing(self.bar, self.mem, base + RX2_OFFSET, log2_2)
        if self.upt_page:
            self.ring.doorbell_reg = upt_reg(Bar0.RXPROD, self.q)
            self.ring2.doorbell_reg = upt_reg(Bar0.RXPROD2, self.q)
            self.ring.mask_reg = upt_reg(Bar0.IMR, 2 * self.q + 1)
        self._head = _PostedBufs(self.ring, BufType.HEAD, head)
        self._body = _PostedBufs(self.ring2, BufType.BODY, self.buf_len)

    def _ring2(self) -> _DescRing | None:
        return self.ring2

    def _free_buffers(self) -> None:
        self._head.free_own()
        self._body.free_own()
        self._partial = None

    def buffer_regions(self) -> list[tuple[int, int]]:
        return [(int(a), bufs.buf_len) for bufs in (self._head, self._body) for a in bufs.own]

    @property
    def where(self) -> str:
        return f"function {self.bar.func} RX queue {self.q}"

    async def open(self, post: int | None = None) -> None:
        """Rings up, ``post`` own buffers posted on each ring (default all; 0: the caller
        posts)."""
        nq = await check_identity(self.bar)
        if self.num_queues is None:
            self.num_queues = nq
        ring, ring2 = self.ring, self.ring2
        ring.check_size()
        ring2.check_size()
        ring.alloc()
        ring2.alloc()
        b = self.bar
        await b.write(ring.reg(Queue.TXQ_CTRL), 0)
        await ring.program_geometry()
        await ring2.program_geometry()
        await b.write(ring.reg(Queue.TXQ_PROD), 0)
        await b.write(ring2.reg(Queue.TXQ_PROD), 0)
        await b.write(ring.reg(Queue.TXQ_CTRL), QCTRL_ENABLE)
        self._head.reset()
        self._body.reset()
        self._partial = None
        if post != 0:
            await self.refill(None if post is None else post)

    async def refill(self, count: int | None = None) -> None:
        """Post up to ``count`` own buffers on each ring (default: every free slot) and
        ring the doorbells of the rings that got some (ring 2 first, so a frame never
        finds its head posted and its body buffers not yet)."""
        n2 = self._body.refill(count)
        n1 = self._head.refill(count)
        if n2:
            await self.ring2.ring_doorbell()
        if n1:
            await self.ring.ring_doorbell()

    def post_buffers(self, bufs: list[tuple[int, int]], *, body: bool = False) -> int:
        """Post the caller's ``(address, length)`` buffers on ring 1 (head buffers) or,
        with ``body``, ring 2, as many as fit; returns how many. The doorbells are rung
        separately (:meth:`ring_doorbell`)."""
        return (self._body if body else self._head).post(bufs)

    async def ring_doorbell(self) -> None:
        """``RXPROD2`` then ``RXPROD``."""
        await self.ring2.ring_doorbell()
        await self.ring.ring_doorbell()

    def _refill_due(self) -> bool:
        batch = self.refill_batch
        return self.ring.free_slots() >= batch or self.ring2.free_slots() >= batch

    # -- completions ----------------------------------------------------------------------

    def _take(self, raw: bytes, slot: int, gather: bool) -> UptRxFrame | None:
        """Check the completion at ``slot`` against the frame being put together; the
        frame once its EOP came."""
        where = f"{self.where} completion slot {slot}"

        def fail(name: str, msg: str) -> UptCompletionError:
            return UptCompletionError(name, f"{where}: {msg}")

        try:
            cpl = RxCompDesc.unpack(raw)
        except CompletionTypeError as exc:
            raise fail("type", str(exc)) from None
        if cpl.type != CompType.RXCOMP:
            raise fail("type", f"type {cpl.type}, expected {int(CompType.RXCOMP)} (RXCOMP)")
        part = self._partial
        if part is not None and cpl.sop:
            raise fail(
                "eop",
                f"a frame starts (sop) while the frame at ring-1 buffer {part.head_idx} "
                f"({len(part.cpls)} completions so far) had no eop",
            )
        if part is None and not cpl.sop:
            raise fail("sop", "sop=0 where a frame starts")
        assert self.num_queues is not None, "queue not open"
        if part is None:
            bufs, used, want_rq, ring_no = self._head, 0, self.q, 1
        else:
            bufs, used, want_rq, ring_no = self._body, part.body_used, self.q + self.num_queues, 2
        if cpl.rq_id != want_rq:
            raise fail("rq_id", f"rq_id {cpl.rq_id}, expected {want_rq} (ring {ring_no})")
        ring = bufs.ring
        want_idx = (ring.clean + used) & ring.mask
        if used >= bufs.posted():
            raise fail("rxd_idx", f"rxd_idx {cpl.rxd_idx}: no ring-{ring_no} buffer posted")
        if cpl.rxd_idx != want_idx:
            raise fail(
                "rxd_idx",
                f"rxd_idx {cpl.rxd_idx}, expected {want_idx}: the next unused ring-{ring_no} "
                f"buffer",
            )
        addr, size = bufs.slot_buf[want_idx]
        if cpl.length > size or (cpl.eop and cpl.length == 0):
            raise fail("len", f"len {cpl.length} for a {size}-byte ring-{ring_no} buffer")
        if not cpl.eop and cpl.length < size:
            raise fail(
                "eop",
                f"len {cpl.length} < the {size}-byte buffer without eop (a buffer that is not "
                f"the frame's last is full)",
            )
        if not cpl.cnc:
            raise fail("cnc", "cnc=0, expected 1 (no checksum computed)")
        if part is None:
            if not cpl.ts and cpl.tci:
                raise fail("tci", f"tci {cpl.tci:#06x} without ts")
            part = self._partial = _PartialFrame(cpl.rxd_idx, cpl.ts, cpl.tci)
        elif (cpl.ts, cpl.tci) != (part.ts, part.tci):
            name = "ts" if cpl.ts != part.ts else "tci"
            raise fail(
                name,
                f"ts={int(cpl.ts)} tci={cpl.tci:#06x}, the frame's SOP had ts={int(part.ts)} "
                f"tci={part.tci:#06x}",
            )
        _must_be_zero(cpl, self._ZERO_FIELDS, where)
        part.cpls.append(cpl)
        part.bufs.append((addr, cpl.length))
        if gather:
            part.data += self.mem.read(addr, cpl.length)
        if not cpl.eop:
            return None
        self._partial = None
        self.ring.clean = (self.ring.clean + 1) & self.ring.mask
        body = self.ring2
        body.clean = (body.clean + part.body_used) & body.mask
        total = sum(n for _, n in part.bufs)
        view = RxCompletion(part.head_idx, len(part.bufs), part.ts, total, part.tci, 0, cpl.gen)
        return UptRxFrame(bytes(part.data), view, tuple(part.bufs), tuple(part.cpls))

    def reap(self, gather: bool = True) -> list[RxFrame]:
        """Frames the device has completed (every buffer up to the EOP one); ``gather``
        copies their bytes out of the buffers. A frame whose EOP completion is not written
        yet waits for the next reap; its buffers are returned with the frame."""
        ring = self.ring
        start = ring.cpl_idx
        frames: list[RxFrame] = []
        for k, raw in enumerate(ring.completions()):
            fr = self._take(raw, (start + k) & ring.cpl_mask, gather)
            if fr is not None:
                frames.append(fr)
        _check_gen_order(ring, self.where)
        self.frames_seen += len(frames)
        return frames

    def reap_array(self) -> np.ndarray:
        """reap() without copying, as format A's RxCompletion.DTYPE record array (one row
        per frame): the same checks, without handing out a frame object each."""
        cpls = [fr.completion for fr in self.reap(gather=False)]
        out = np.zeros(len(cpls), RxCompletion.DTYPE)
        out["desc_idx"] = [c.desc_idx for c in cpls]
        out["num_bufs"] = [c.num_bufs for c in cpls]
        out["flags"] = [RxCompletion.FLAG_VLAN_STRIPPED if c.vlan_stripped else 0 for c in cpls]
        out["length"] = [c.length for c in cpls]
        out["vlan_tci"] = [c.vlan_tci for c in cpls]
        out["last"] = [GEN_BIT if c.gen else 0 for c in cpls]
        return out

    async def upt_error(self) -> int:
        """``RXQ_UPT_ERROR``: the queue's error as vmxnet3 reports it (0: none)."""
        return await self.bar.read(self.ring.reg(Queue.TXQ_UPT_ERROR))
