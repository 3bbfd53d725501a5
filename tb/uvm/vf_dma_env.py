"""pyuvm environment of vf_dma: agents, a ring-owning driver model, scoreboard, coverage.

::

    VfDmaEnv
     +- HostBusAgent      tb/host: numpy HostMemory, per-function IOMMU, AxiDmaResponder
     |                    (random latency, jitter, reordering across IDs, a*ready stalls)
     +- TxStreamAgent     monitor of m_axis_tx with random tready backpressure
     +- RxStreamAgent     uvm_driver of s_axis_rx (RxFrameItem), random gaps
     +- DriverModel       uvm_driver of TxFrameItem: tb/vf_driver TxQueue/RxQueue per queue
     |                    (ring format B: UptTxQueue/UptRxQueue), posts, doorbells, reaps
     |                    completions, reposts RX buffers
     +- VfDmaScoreboard   tb/ref FrameScoreboard: TX frames + sideband byte for byte per
     |                    queue, RX frames + completion fields per queue, TX completions
     +- VfDmaCoverage     bins over the random dimensions, reported and checked

The actor models (host, driver queues, reference layouts, flow hash) are the
plain classes under ``tb/``; this module only wires them into UVM components.
Configuration travels through the ConfigDB as one :class:`VfDmaEnvConfig`
(key ``"cfg"``) and the DUT handle (key ``"dut"``).

The ring format (``VfDmaEnvConfig.ring_fmt``, from ``VF_DMA_RING_FMT`` through
:func:`ring_fmt_from_env`) picks the drivers: format A's rings (ARCHITECTURE §4)
or format B's vmxnet3 rings (§4b), whose drivers check every completion field by
field and hand back frames the scoreboard takes as it takes format A's. Format B
adds its own coverage points (``upt_*``); format A's points are the same for both.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event
from pyuvm import (
    ConfigDB,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_env,
    uvm_sequence_item,
    uvm_sequencer,
    uvm_subscriber,
)

from tb.host import AxiDmaResponder, DmaResponderConfig, HostMemory, Iommu, Perm
from tb.host.mmio import FunctionBar
from tb.ref.regmap import RX_STEER_HASH, Func, RingFmt
from tb.ref.scoreboard import FrameScoreboard, Mismatch
from tb.ref.vf_dma_model import rx_flow_queue
from tb.uvm.axis import StreamFrame, StreamSink, StreamSource
from tb.uvm.regport import RegPortMaster
from tb.vf_driver.queues import MAX_TX_BUFS, QueueStall, RxFrame, RxQueue, TxFrame, TxQueue
from tb.vf_driver.upt_queues import UptRxFrame, UptRxQueue, UptTxQueue

MIN_FRAME, MAX_FRAME = 60, 9018
TX_META_FUNC_BITS = 8
RING_FMT_ENV = "VF_DMA_RING_FMT"


def ring_fmt_from_env(environ: Mapping[str, str] | None = None) -> RingFmt:
    """The ring format ``VF_DMA_RING_FMT`` asks for (default A); anything but A or B is
    refused with the variable's name and the values it takes."""
    env = os.environ if environ is None else environ
    text = env.get(RING_FMT_ENV, RingFmt.A.value)
    try:
        return RingFmt(text.strip().upper())
    except ValueError:
        raise ValueError(
            f"{RING_FMT_ENV}={text!r}: expected A (ring format A, ARCHITECTURE §4) or "
            f"B (vmxnet3's rings, UPT, §4b)"
        ) from None


@dataclass(frozen=True)
class VfDmaEnvConfig:
    """Knobs of one run; every random choice comes from ``seed``."""

    func: int
    num_queues: int
    seed: int = 1
    period_ns: int = 4
    mem_bytes: int = 64 << 20
    tx_ring_log2: int = 6  # small rings: the random run wraps them many times
    rx_ring_log2: int = 6
    rx_buf_len: int = 2048
    read_latency: int = 30
    read_latency_jitter: int = 120  # so host read latency is uniform in 30..150
    out_of_order: bool = True
    bus_ready_probability: float = 0.85
    tx_pause_probability: float = 0.25  # m_axis_tx tready low
    rx_gap_probability: float = 0.2  # idle cycles between RX beats
    # IOMMU page tables instead of a passthrough domain: identity-mapped RW,
    # except the pages at fault_ro (read-only: writes answer SLVERR), fault_wo
    # (write-only: reads answer SLVERR) and fault_hole (never mapped: DECERR)
    iommu_paged: bool = False
    access_log: bool = False  # record every AR/AW request (HostBusAgent.responder.access)
    max_outstanding_reads: int = 32
    rx_hash: bool = True  # RX_STEER.HASH on (only with >= 2 queues and 64-byte beats)
    # Ring format of the DUT's engine; B: vmxnet3's rings, ring 1 of head buffers of
    # rx_head_len bytes (frames above it go on in rx_buf_len-byte body buffers of ring 2).
    ring_fmt: RingFmt = RingFmt.A
    rx_head_len: int = 1024
    rx_ring2_log2: int = 6

    def __post_init__(self) -> None:
        RingFmt(self.ring_fmt)  # refuses anything but A or B


PAGE = 4096


# ------------------------------------------------------------------ sequence items


@dataclass
class TxFrameItemData:
    queue: int
    data: bytes
    split: list[int]
    offsets: list[int]
    vlan_tci: int | None


class TxFrameItem(uvm_sequence_item):
    """One TX frame: bytes, its buffer split and the byte offset (alignment) of each buffer."""

    def __init__(self, name: str = "tx_frame") -> None:
        super().__init__(name)
        self.d = TxFrameItemData(0, b"", [], [], None)

    def randomize_with(self, rng: random.Random, num_queues: int, queue: int | None = None) -> None:
        size = random_frame_size(rng)
        nbufs = rng.choice([1, 1, 1, 2, 3, 4, rng.randint(1, MAX_TX_BUFS), MAX_TX_BUFS])
        nbufs = min(nbufs, size)
        cuts = sorted(rng.sample(range(1, size), nbufs - 1)) if nbufs > 1 else []
        edges = [0, *cuts, size]
        split = [edges[i + 1] - edges[i] for i in range(nbufs)]
        offsets = [rng.randrange(64) for _ in split]
        vlan = rng.randrange(1 << 16) if rng.random() < 0.3 else None
        q = rng.randrange(num_queues) if queue is None else queue
        self.d = TxFrameItemData(q, rng.randbytes(size), split, offsets, vlan)


@dataclass
class RxFrameItemData:
    data: bytes
    meta: int  # rx_meta_t {vlan_tci[15:0], vlan_stripped}


class RxFrameItem(uvm_sequence_item):
    def __init__(self, name: str = "rx_frame") -> None:
        super().__init__(name)
        self.d = RxFrameItemData(b"", 0)

    def randomize_with(self, rng: random.Random) -> None:
        size = random_frame_size(rng)
        # an IPv4/UDP header with random addresses and ports so RX_STEER.HASH spreads flows
        hdr = (
            rng.randbytes(12) + b"\x08\x00\x45\x00" + rng.randbytes(5) + b"\x11" + rng.randbytes(14)
        )
        data = (hdr + rng.randbytes(size))[:size]
        meta = ((rng.randrange(1 << 16) << 1) | 1) if rng.random() < 0.3 else 0
        self.d = RxFrameItemData(data, meta)


def random_frame_size(rng: random.Random) -> int:
    """60..9018 bytes, weighted towards the sizes that matter: minimum, MTU, beat edges, jumbo."""
    r = rng.random()
    if r < 0.08:
        return rng.choice([60, 63, 64, 65, 127, 128, 1514, 1518, 4096, 9017, 9018])
    if r < 0.40:
        return rng.randint(60, 256)
    if r < 0.75:
        return rng.randint(257, 1518)
    if r < 0.90:
        return rng.randint(1519, 4200)
    return rng.randint(4201, 9018)


# ------------------------------------------------------------------ agents


@dataclass(frozen=True)
class Access:
    """One request the DUT put on the host bus: cycle of its address handshake, range, ID."""

    cycle: int
    write: bool
    axi_id: int
    addr: int
    nbytes: int

    def overlaps(self, lo: int, hi: int) -> bool:
        return self.addr < hi and lo < self.addr + self.nbytes


class CountingResponder(AxiDmaResponder):
    """The host responder, counting read bursts returned ahead of an older one (reordering).

    With ``access`` set to a list, every accepted AR/AW is appended to it as an
    :class:`Access` stamped with the cycle number of the simulation time (the
    same clock count as :meth:`RegPortMaster.cycle`). ``ar_hold``, ``aw_hold`` and
    ``w_hold`` hold a channel's ready low while set (a host that stops taking
    requests or write data), and ``max_reads`` is the most read bursts outstanding.
    """

    reordered: int = 0
    latencies: list[int] | None = None  # drawn latency of every read burst served
    access: list[Access] | None = None
    period_ns: int = 4
    max_reads: int = 0  # most read bursts outstanding at once
    # Channels a test holds (ready low): requests and data wait until released.
    _held: frozenset[str] = frozenset()

    def _hold(self, name: str, on: bool) -> None:
        """Hold ``arready``/``awready``/``wready`` low (at once, even while the responder
        sleeps) or release it (taken up on the next edge it processes)."""
        self._held = self._held | {name} if on else self._held - {name}
        if on and getattr(self, f"_{name}"):
            setattr(self, f"_{name}", False)
            self.port.sig[name].value = 0

    @property
    def ar_hold(self) -> bool:
        return "arready" in self._held

    @ar_hold.setter
    def ar_hold(self, on: bool) -> None:
        self._hold("arready", on)

    @property
    def aw_hold(self) -> bool:
        return "awready" in self._held

    @aw_hold.setter
    def aw_hold(self, on: bool) -> None:
        self._hold("awready", on)

    @property
    def w_hold(self) -> bool:
        return "wready" in self._held

    @w_hold.setter
    def w_hold(self, on: bool) -> None:
        self._hold("wready", on)

    def _step(self, now: int) -> bool:  # type: ignore[override]
        awake = super()._step(now)
        for name in self._held:
            if getattr(self, f"_{name}"):
                setattr(self, f"_{name}", False)
                self.port.sig[name].value = 0
        # while a channel is held, look at every edge: a release is taken up at once
        return awake or bool(self._held)

    def _log_access(self, write: bool, b: Any) -> None:
        if self.access is not None:
            cycle = int(get_sim_time("ns")) // self.period_ns
            nbytes = b.beats << b.size
            self.access.append(Access(cycle, write, b.axi_id, b.addr, nbytes))

    def _accept_ar(self, now: int) -> None:  # type: ignore[override]
        super()._accept_ar(now)
        self.max_reads = max(self.max_reads, self.outstanding_reads)
        self._log_access(False, self._reads[-1])

    def _accept_aw(self, now: int) -> None:  # type: ignore[override]
        super()._accept_aw(now)
        self._log_access(True, self._writes[-1])

    def _pick_read(self, now: int):  # type: ignore[override]
        oldest = self._reads[0] if self._reads else None
        b = super()._pick_read(now)
        if b is not None:
            if self.latencies is None:
                self.latencies = []
            self.latencies.append(b.due + 1 - b.accepted)
            if b is not oldest:
                self.reordered += 1
        return b


class HostBusAgent(uvm_component):
    """Host memory + IOMMU + AXI4 responder on m_axi (only the DUT's function has a domain)."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        dut = ConfigDB().get(self, "", "dut")
        c = self.cfg
        self.mem = HostMemory(c.mem_bytes)
        self.iommu = Iommu()
        if c.iommu_paged:
            # pages 1..3 are kept from the allocator: page 1 read-only, page 2 unmapped,
            # page 3 write-only
            self.mem = HostMemory(c.mem_bytes, reserve_low=4 * PAGE)
            self.fault_ro, self.fault_hole, self.fault_wo = PAGE, 2 * PAGE, 3 * PAGE
            self.iommu.create_domain(c.func)
            self.iommu.map(c.func, 4 * PAGE, 4 * PAGE, c.mem_bytes - 4 * PAGE)
            self.iommu.map(c.func, self.fault_ro, self.fault_ro, PAGE, Perm.R)
            self.iommu.map(c.func, self.fault_wo, self.fault_wo, PAGE, Perm.W)
        else:
            self.iommu.create_domain(c.func, passthrough=True, limit=c.mem_bytes)
        rcfg = DmaResponderConfig(
            read_latency=c.read_latency,
            read_latency_jitter=c.read_latency_jitter,
            out_of_order=c.out_of_order,
            ready_probability=c.bus_ready_probability,
            max_outstanding_reads=c.max_outstanding_reads,
        )
        self.responder = CountingResponder(
            dut, "m_axi", dut.clk, self.mem, self.iommu, rcfg, rng=random.Random(c.seed * 7 + 1)
        )
        self.responder.period_ns = c.period_ns
        if c.access_log:
            self.responder.access = []


def _bernoulli(rng: random.Random, p: float) -> Iterator[bool]:
    while True:
        yield rng.random() < p


class TxStreamAgent(uvm_component):
    """Monitor of the TX stream; applies random backpressure; publishes every frame."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        self.ap = uvm_analysis_port("ap", self)
        self.stalled_frames = 0

    def connect_phase(self) -> None:
        dut = ConfigDB().get(self, "", "dut")
        rng = random.Random(self.cfg.seed * 7 + 2)
        self.sink = StreamSink(
            dut, "m_axis_tx", self.cfg.period_ns, _bernoulli(rng, self.cfg.tx_pause_probability)
        )
        self.sink.on_frame.append(self._publish)

    def _publish(self, f: StreamFrame) -> None:
        self.sink.frames.clear()  # the analysis port is the consumer
        beats = -(-len(f.data) // len(self.sink._keep))
        if f.last_cycle - f.first_cycle + 1 > beats:
            self.stalled_frames += 1
        self.ap.write(f)


class RxStreamAgent(uvm_driver):
    """Drives RxFrameItems into s_axis_rx with random idle gaps; publishes what it sent."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        self.ap = uvm_analysis_port("ap", self)
        self.seqr = uvm_sequencer("seqr", self)

    def connect_phase(self) -> None:
        dut = ConfigDB().get(self, "", "dut")
        rng = random.Random(self.cfg.seed * 7 + 3)
        self.src = StreamSource(
            dut, "s_axis_rx", self.cfg.period_ns, _bernoulli(rng, self.cfg.rx_gap_probability)
        )
        self.seq_item_port.connect(self.seqr.seq_item_export)
        self.credit: Any = None  # set by the env: the DriverModel's RX buffer credit

    async def run_phase(self) -> None:
        while True:
            item = await self.seq_item_port.get_next_item()
            await self.credit.acquire(item.d.data)
            self.ap.write(item.d)
            self.src.send_nowait(item.d.data, item.d.meta)
            self.seq_item_port.item_done()


# ------------------------------------------------------------------ driver model


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
        self.mem = host.mem
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


# ------------------------------------------------------------------ scoreboard


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


# ------------------------------------------------------------------ coverage


@dataclass
class CoverPoint:
    """Named bins; ``hit`` counts samples per bin; every bin is reachable unless ``optional``."""

    name: str
    bins: list[str]
    hit: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def sample(self, b: str) -> None:
        if b not in self.bins:
            raise KeyError(f"{self.name}: no bin {b!r}")
        self.hit[b] += 1

    @property
    def covered(self) -> int:
        return sum(1 for b in self.bins if self.hit[b])

    def holes(self) -> list[str]:
        return [b for b in self.bins if not self.hit[b]]


SIZE_BINS = [
    ("60", 60, 60),
    ("61-63", 61, 63),
    ("64", 64, 64),
    ("65-127", 65, 127),
    ("128-255", 128, 255),
    ("256-511", 256, 511),
    ("512-1023", 512, 1023),
    ("1024-1518", 1024, 1518),
    ("1519-4096", 1519, 4096),
    ("4097-9017", 4097, 9017),
    ("9018", 9018, 9018),
]
NBUF_BINS = [
    ("1", 1, 1),
    ("2", 2, 2),
    ("3-4", 3, 4),
    ("5-8", 5, 8),
    ("9-15", 9, 15),
    ("16", 16, 16),
]


# Format B: vmxnet3 descriptors per TX frame (MAX_TXD_PER_PKT = 16).
UPT_TXD_BINS = [("1", 1, 1), ("2-4", 2, 4), ("5-15", 5, 15), ("16", 16, 16)]


def _bin(table: list[tuple[str, int, int]], v: int) -> str:
    return next(name for name, lo, hi in table if lo <= v <= hi)


def upt_body_bins(cfg: VfDmaEnvConfig) -> list[tuple[str, int, int]]:
    """Ring-2 (body) buffers an RX frame of 61..MAX_FRAME bytes can take in format B:
    one bin each up to 4, the rest together."""
    most = -(-(MAX_FRAME - cfg.rx_head_len) // cfg.rx_buf_len)
    bins = [(str(n), n, n) for n in range(1, min(most, 4) + 1)]
    if most > 4:
        bins.append((f"5-{most}", 5, most))
    return bins


class VfDmaCoverage(uvm_component):
    """Functional coverage of the random dimensions (issue #3): printed and checked complete."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        nq = self.cfg.num_queues
        # without RX_STEER.HASH every RX frame goes to queue 0: other RX queue bins are unreachable
        rxq = range(nq) if self.cfg.rx_hash else range(1)
        self.points = {
            "tx_size": CoverPoint("tx_size", [b for b, _, _ in SIZE_BINS]),
            "tx_bufs": CoverPoint("tx_bufs", [b for b, _, _ in NBUF_BINS]),
            "tx_buf_align": CoverPoint("tx_buf_align", ["0", "1-15", "16-31", "32-47", "48-63"]),
            "tx_vlan_ins": CoverPoint("tx_vlan_ins", ["no", "yes"]),
            "tx_queue": CoverPoint("tx_queue", [str(q) for q in range(nq)]),
            "rx_size": CoverPoint("rx_size", [b for b, _, _ in SIZE_BINS]),
            "rx_bufs_used": CoverPoint("rx_bufs_used", ["1", "2", "3-4", "5"]),
            "rx_queue": CoverPoint("rx_queue", [str(q) for q in rxq]),
            "rx_vlan_stripped": CoverPoint("rx_vlan_stripped", ["no", "yes"]),
            "tx_ring_wrap": CoverPoint("tx_ring_wrap", [f"q{q}" for q in range(nq)]),
            "rx_ring_wrap": CoverPoint("rx_ring_wrap", [f"q{q}" for q in rxq]),
            "tx_backpressure": CoverPoint("tx_backpressure", ["frame stalled"]),
            "host_reorder": CoverPoint("host_reorder", ["read returned ahead of older"]),
            "host_latency": CoverPoint("host_latency", ["30-69", "70-109", "110-150"]),
        }
        self.upt = self.cfg.ring_fmt == RingFmt.B
        if self.upt:
            self._build_upt_points(nq, rxq)
        self.tx_posted = _Sub("cov_tx", self, self._tx)
        self.rx_done = _Sub("cov_rx", self, self._rx)

    def _build_upt_points(self, nq: int, rxq: range) -> None:
        """Format B (§4b): descriptors per TX frame, every ring's gen wrap, both RX rings,
        the VLAN fields of the vmxnet3 descriptors and completions. A TX buffer of 16384
        bytes (``len`` 0) has no bin: with MAX_FRAME_BYTES 9018 such a frame is always
        ``ERR_DESC_LEN_MAX``, a case for a directed test, not for a clean random run."""
        self.body_bins = upt_body_bins(self.cfg)
        self.points |= {
            "upt_tx_descs": CoverPoint("upt_tx_descs", [b for b, _, _ in UPT_TXD_BINS]),
            "upt_tx_gen_wrap": CoverPoint(
                "upt_tx_gen_wrap",
                [f"q{q} {r}" for q in range(nq) for r in ("descriptors", "completions")],
            ),
            "upt_rx_gen_wrap": CoverPoint(
                "upt_rx_gen_wrap",
                [f"q{q} {r}" for q in rxq for r in ("ring 1", "ring 2", "completions")],
            ),
            "upt_rx_rings": CoverPoint("upt_rx_rings", ["ring 1 only", "ring 1 + ring 2"]),
            "upt_rx_body_bufs": CoverPoint("upt_rx_body_bufs", [b for b, _, _ in self.body_bins]),
            "upt_vlan": CoverPoint(
                "upt_vlan", ["TX ti on SOP", "RX ts, ring 1 only", "RX ts on every buffer"]
            ),
        }

    def _tx(self, t: tuple[TxFrameItemData, TxFrame]) -> None:
        d, _ = t
        p = self.points
        p["tx_size"].sample(_bin(SIZE_BINS, len(d.data)))
        p["tx_bufs"].sample(_bin(NBUF_BINS, len(d.split)))
        for off in d.offsets:
            p["tx_buf_align"].sample(
                "0"
                if off == 0
                else _bin(
                    [("1-15", 1, 15), ("16-31", 16, 31), ("32-47", 32, 47), ("48-63", 48, 63)], off
                )
            )
        p["tx_vlan_ins"].sample("yes" if d.vlan_tci is not None else "no")
        p["tx_queue"].sample(str(d.queue))
        if self.upt:
            p["upt_tx_descs"].sample(_bin(UPT_TXD_BINS, len(d.split)))
            if d.vlan_tci is not None:
                p["upt_vlan"].sample("TX ti on SOP")

    def _rx(self, t: tuple[int, RxFrame]) -> None:
        q, fr = t
        p = self.points
        p["rx_size"].sample(_bin(SIZE_BINS, len(fr.data)))
        n = fr.completion.num_bufs
        p["rx_bufs_used"].sample(str(n) if n <= 2 or n == 5 else "3-4")
        p["rx_queue"].sample(str(q))
        p["rx_vlan_stripped"].sample("yes" if fr.completion.vlan_stripped else "no")
        if self.upt:
            assert isinstance(fr, UptRxFrame)
            body = len(fr.upt_completions) - 1
            p["upt_rx_rings"].sample("ring 1 + ring 2" if body else "ring 1 only")
            if body:
                p["upt_rx_body_bufs"].sample(_bin(self.body_bins, body))
            if all(c.ts for c in fr.upt_completions):
                p["upt_vlan"].sample("RX ts on every buffer" if body else "RX ts, ring 1 only")

    def sample_run(self, driver: DriverModel, tx: TxStreamAgent, host: HostBusAgent) -> None:
        p = self.points
        rxq_bins = range(self.cfg.num_queues) if self.cfg.rx_hash else range(1)
        for q in range(self.cfg.num_queues):
            for _ in range(driver.tx_wraps[q]):
                p["tx_ring_wrap"].sample(f"q{q}")
            for _ in range(driver.rx_wraps[q] if q in rxq_bins else 0):
                p["rx_ring_wrap"].sample(f"q{q}")
        if self.upt:
            self._sample_upt_wraps(driver, rxq_bins)
        for _ in range(tx.stalled_frames):
            p["tx_backpressure"].sample("frame stalled")
        for _ in range(host.responder.reordered):
            p["host_reorder"].sample("read returned ahead of older")
        for lat in host.responder.latencies or []:
            p["host_latency"].sample("30-69" if lat < 70 else "70-109" if lat < 110 else "110-150")

    def _sample_upt_wraps(self, driver: DriverModel, rxq_bins: range) -> None:
        """Every lap past a ring's end flips its gen (descriptor rings: the driver's lap
        count; completion rings: the reapers' wrap counts)."""
        p = self.points
        for q in range(self.cfg.num_queues):
            txq = driver.txq[q]
            for _ in range(txq.ring.laps):
                p["upt_tx_gen_wrap"].sample(f"q{q} descriptors")
            for _ in range(driver.tx_wraps[q]):
                p["upt_tx_gen_wrap"].sample(f"q{q} completions")
            rxq = driver.rxq[q]
            if q not in rxq_bins:
                continue
            assert isinstance(rxq, UptRxQueue)
            for ring, n in (("ring 1", rxq.ring.laps), ("ring 2", rxq.ring2.laps)):
                for _ in range(n):
                    p["upt_rx_gen_wrap"].sample(f"q{q} {ring}")
            for _ in range(driver.rx_wraps[q]):
                p["upt_rx_gen_wrap"].sample(f"q{q} completions")

    def summary(self) -> str:
        lines = ["functional coverage (vf_dma random):"]
        for cp in self.points.values():
            hits = ", ".join(f"{b}:{cp.hit[b]}" for b in cp.bins)
            lines.append(f"  {cp.name:18s} {cp.covered}/{len(cp.bins)}  [{hits}]")
        total = sum(len(cp.bins) for cp in self.points.values())
        got = sum(cp.covered for cp in self.points.values())
        lines.append(f"  total {got}/{total} bins ({100.0 * got / total:.1f} %)")
        return "\n".join(lines)

    def holes(self) -> dict[str, list[str]]:
        return {n: cp.holes() for n, cp in self.points.items() if cp.holes()}


# ------------------------------------------------------------------ environment


class VfDmaEnv(uvm_env):
    def build_phase(self) -> None:
        self.host = HostBusAgent("host", self)
        ConfigDB().set(None, "*", "host", self.host)
        self.tx_mon = TxStreamAgent("tx_mon", self)
        self.rx_agent = RxStreamAgent("rx_agent", self)
        self.driver = DriverModel("driver", self)
        self.scoreboard = VfDmaScoreboard("scoreboard", self)
        self.coverage = VfDmaCoverage("coverage", self)

    def connect_phase(self) -> None:
        sb, cov = self.scoreboard, self.coverage
        self.driver.tx_posted.connect(sb.tx_posted.analysis_export)
        self.driver.tx_posted.connect(cov.tx_posted.analysis_export)
        self.driver.tx_done.connect(sb.tx_done.analysis_export)
        self.driver.rx_done.connect(sb.rx_done.analysis_export)
        self.driver.rx_done.connect(cov.rx_done.analysis_export)
        self.tx_mon.ap.connect(sb.tx_seen.analysis_export)
        self.rx_agent.ap.connect(sb.rx_sent.analysis_export)
        self.rx_agent.credit = self.driver.rx_credit
