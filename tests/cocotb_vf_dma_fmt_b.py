"""Directed tests of vf_dma with ring format B (vmxnet3's rings, docs/ARCHITECTURE.md §4b, §4c).

Every descriptor is built and every completion decoded with the project's one
vmxnet3 codec (``tb/shell_model/vmxnet3_defs.py``); the expected completion of
each frame or buffer is computed here from the rules of §4b, not read from the
RTL. With RX_STEER.HASH off every received frame goes to queue 0, so RX
traffic runs on queue 0 and TX on queue 1 (errors of queue 1 are descriptor
errors, found when its rings are fetched). The tests need a 2-queue engine:

``identity_and_upt_page``: FUNC_ID / FUNC_PCI_ID report vendor B, the UPT
page's TXPROD / RXPROD / RXPROD2 / IMR alias the queue registers.

``tx_frames``: frames of 1..16 descriptors at random byte alignment, VLAN insert
from the SOP descriptor, a ring that wraps several times (gen flips), one
TxCompDesc per frame naming its EOP descriptor.

``rx_frames``: frames from 60 to 9018 bytes over a head buffer in ring 1 and body
buffers in ring 2, all three rings wrapping; one RxCompDesc per buffer, checked
field by field; VLAN strip sideband in ts/tci.

``errors``: each format-B refusal (gen not handed over, offload requested, no
EOP within 16, 16 KiB buffer, head in ring 2, body in ring 1, small head, RX
gen) stops its queue with the documented code and vmxnet3 code while queue 0
keeps moving frames.

``save_restore``: TX and RX state saved after a quiesce and restored into the
reset queue (§4c): the rings resume where they stopped, prefetched but unused RX
buffers are used next, and completions continue at the saved index and gen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from tb.host import AxiDmaResponder, DmaResponderConfig, HostMemory, Iommu
from tb.host.mmio import FunctionBar
from tb.ref.regmap import QCTRL_ENABLE, QSTATUS_ERROR, Func, QErr, Queue, queue_reg
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    Bar0,
    BufType,
    OffloadMode,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
    desc_gen,
)
from tb.uvm.axis import StreamSink, StreamSource
from tb.uvm.regport import RegPortMaster

FUNC = 3
PERIOD = 4
MAX_FRAME = 9018
VENDOR_B, DEVICE_B = 0x5B00, 0x5B01
# §4b / §4c registers (queue-pair offsets) and the UPT page
FUNC_PCI_ID = 0x0010
UPT_PAGE = 0x2000
TXQ_STATE, TXQ_CPL_STATE, TXQ_UPT_ERROR = 0x34, 0x38, 0x3C
RXQ_STATE, RXQ_CPL_STATE, RXQ_UPT_ERROR = 0x74, 0x78, 0x7C
RX2_BASE_LO, RX2_BASE_HI, RXQ_CPL_SIZE, RX2_SIZE, RX2_PROD, RX2_CONS, RX2_STATE = (
    0x80,
    0x84,
    0x88,
    0x90,
    0x98,
    0x9C,
    0xB4,
)
QCTRL_RESUME = 0x2
STATE_GEN = 1 << 31
ERR_DESC_GEN, ERR_DESC_TYPE, ERR_SMALL_BUF = 0x09, 0x0A, 0x0B
VMX_NOEOP, VMX_BIG_PKT, VMX_DESC_NOT_SPT, VMX_SMALL_BUF, VMX_TXD_INVALID = (
    0x80000000,
    0x80000002,
    0x80000003,
    0x80000004,
    0x80000007,
)
TIMEOUT_CYCLES = 200_000


@dataclass
class Ring:
    """A vmxnet3 ring in host memory and the index/gen of its next entry (driver side)."""

    base: int
    size: int
    idx: int = 0
    gen: int = 1

    def addr(self, i: int | None = None) -> int:
        return self.base + DESC_BYTES * (self.idx if i is None else i)

    def advance(self) -> None:
        self.idx += 1
        if self.idx == self.size:
            self.idx, self.gen = 0, self.gen ^ 1

    def written(self, mem: HostMemory) -> bytes | None:
        """The completion at the ring's index once the device wrote it (its gen is ours)."""
        raw = mem.read(self.addr(), DESC_BYTES)
        return raw if desc_gen(raw, 3) == self.gen else None


@dataclass
class RxPosted:
    idx: int
    addr: int
    length: int


@dataclass
class Bench:
    dut: object
    mem: HostMemory = field(init=False)
    bar: FunctionBar = field(init=False)
    sink: StreamSink = field(init=False)
    src: StreamSource = field(init=False)

    async def start(self) -> None:
        d = self.dut
        d.rst.value = 1
        d.func_num.value = FUNC
        d.func_enable.value = 1
        d.m_irq_ready.value = 1
        cocotb.start_soon(Clock(d.clk, PERIOD, unit="ns").start())
        self.mem = HostMemory(32 << 20)
        iommu = Iommu()
        iommu.create_domain(FUNC, passthrough=True, limit=32 << 20)
        cfg = DmaResponderConfig(read_latency=40, read_latency_jitter=60, out_of_order=True)
        self.resp = AxiDmaResponder(d, "m_axi", d.clk, self.mem, iommu, cfg, rng=random.Random(5))
        self.regs = RegPortMaster(d, FUNC, PERIOD)
        self.bar = FunctionBar(self.regs, FUNC)  # type: ignore[arg-type]
        self.sink = StreamSink(d, "m_axis_tx", PERIOD)
        self.src = StreamSource(d, "s_axis_rx", PERIOD)
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        await ClockCycles(d.clk, 2)

    async def wr(self, q: int, off: int, v: int) -> None:
        await self.bar.write(queue_reg(q, off), v)  # type: ignore[arg-type]

    async def rd(self, q: int, off: int) -> int:
        return await self.bar.read(queue_reg(q, off))  # type: ignore[arg-type]

    def ring(self, size: int) -> Ring:
        base = self.mem.alloc(size * DESC_BYTES, 512)
        self.mem.write(base, bytes(size * DESC_BYTES))
        return Ring(base, size)

    async def wait_for(self, cond, what: str) -> None:
        for _ in range(TIMEOUT_CYCLES // 16):
            if cond():
                return
            await ClockCycles(self.dut.clk, 16)
        raise AssertionError(f"timed out waiting for {what}")


class TxSide:
    """Queue q's TX rings: posts frames as TxDescs, expects one TxCompDesc per frame."""

    def __init__(self, b: Bench, q: int, log2: int) -> None:
        self.b, self.q, self.log2 = b, q, log2
        self.ring = b.ring(1 << log2)
        self.comp = b.ring(1 << log2)
        self.eops: list[int] = []  # EOP index of each posted, uncompleted frame
        self.clean = 0  # first descriptor not yet returned by a completion

    async def open(self, ctrl: int = QCTRL_ENABLE) -> None:
        b, q = self.b, self.q
        await b.wr(q, Queue.TXQ_CTRL, 0)
        await b.wr(q, Queue.TXQ_BASE_LO, self.ring.base & 0xFFFFFFFF)
        await b.wr(q, Queue.TXQ_BASE_HI, self.ring.base >> 32)
        await b.wr(q, Queue.TXQ_CPL_BASE_LO, self.comp.base & 0xFFFFFFFF)
        await b.wr(q, Queue.TXQ_CPL_BASE_HI, self.comp.base >> 32)
        await b.wr(q, Queue.TXQ_SIZE, self.log2)
        await b.wr(q, Queue.TXQ_CTRL, ctrl)

    def free(self) -> int:
        return self.ring.size - 1 - (self.ring.idx - self.clean) % self.ring.size

    def post(self, descs: list[TxDesc]) -> None:
        """Write ``descs`` at the ring's next slots, each with the gen of its own slot."""
        for d in descs:
            self.b.mem.write(self.ring.addr(), replace(d, gen=self.ring.gen).pack())
            eop = self.ring.idx
            self.ring.advance()
        self.eops.append(eop)

    def post_frame(self, frame: bytes, rng: random.Random, nbufs: int, vlan: int | None) -> None:
        cuts = sorted(rng.sample(range(1, len(frame)), nbufs - 1)) if nbufs > 1 else []
        parts = [frame[a:z] for a, z in zip([0, *cuts], [*cuts, len(frame)], strict=True)]
        descs = []
        for k, part in enumerate(parts):
            addr = self.b.mem.alloc(len(part) + 64, 64) + rng.randrange(64)
            self.b.mem.write(addr, part)
            descs.append(
                TxDesc(
                    addr=addr,
                    length=len(part),
                    gen=0,  # set per slot by post()
                    eop=k == len(parts) - 1,
                    cq=k == len(parts) - 1,
                    ti=k == 0 and vlan is not None,
                    tci=(vlan or 0) if k == 0 else 0,
                )
            )
        self.post(descs)

    async def doorbell(self) -> None:
        await self.b.bar.write(UPT_PAGE + Bar0.TXPROD + 8 * self.q, self.ring.idx)

    def reap(self) -> int:
        """Check and take every completion written; returns how many."""
        n = 0
        while (raw := self.comp.written(self.b.mem)) is not None:
            cpl = TxCompDesc.unpack(raw)  # refuses a wrong type
            assert self.eops, f"TX q{self.q}: completion {cpl} with no frame outstanding"
            want = self.eops.pop(0)
            assert cpl == TxCompDesc(txd_idx=want, gen=self.comp.gen), (
                f"TX q{self.q} completion {self.comp.idx}: {cpl}, expected EOP {want}"
            )
            self.clean = (want + 1) % self.ring.size
            self.comp.advance()
            n += 1
        return n

    async def drain(self) -> None:
        await self.b.wait_for(lambda: self.reap() >= 0 and not self.eops, f"TX q{self.q} drain")


class RxSide:
    """Queue q's RX rings: head buffers in ring 1, body buffers in ring 2, one completion ring."""

    def __init__(self, b: Bench, q: int, log2: int, head: int, body: int) -> None:
        self.b, self.q, self.log2 = b, q, log2
        self.r1, self.r2 = b.ring(1 << log2), b.ring(1 << log2)
        self.comp = b.ring(2 << log2)
        self.head, self.body = head, body
        self.posted: list[list[RxPosted]] = [[], []]  # per ring, oldest first
        self.nq = int(b.dut.NUM_QUEUES.value)
        self.frames: list[tuple[bytes, int | None]] = []

    async def open(self, ctrl: int = QCTRL_ENABLE) -> None:
        b, q = self.b, self.q
        await b.wr(q, Queue.RXQ_CTRL, 0)
        await b.wr(q, Queue.RXQ_BASE_LO, self.r1.base & 0xFFFFFFFF)
        await b.wr(q, Queue.RXQ_BASE_HI, self.r1.base >> 32)
        await b.wr(q, RX2_BASE_LO, self.r2.base & 0xFFFFFFFF)
        await b.wr(q, RX2_BASE_HI, self.r2.base >> 32)
        await b.wr(q, Queue.RXQ_CPL_BASE_LO, self.comp.base & 0xFFFFFFFF)
        await b.wr(q, Queue.RXQ_CPL_BASE_HI, self.comp.base >> 32)
        await b.wr(q, Queue.RXQ_SIZE, self.log2)
        await b.wr(q, RX2_SIZE, self.log2)
        await b.wr(q, RXQ_CPL_SIZE, self.log2 + 1)
        await b.wr(q, Queue.RXQ_CTRL, ctrl)

    def fill(self, ring: int, n: int | None = None) -> None:
        r = self.r1 if ring == 0 else self.r2
        room = r.size - 1 - len(self.posted[ring])
        for _ in range(room if n is None else min(n, room)):
            length = self.head if ring == 0 else self.body
            addr = self.b.mem.alloc(length, 64)
            d = RxDesc(addr=addr, length=length, gen=r.gen, btype=BufType(ring))
            self.b.mem.write(r.addr(), d.pack())
            self.posted[ring].append(RxPosted(r.idx, addr, length))
            r.advance()

    async def doorbells(self) -> None:
        await self.b.bar.write(UPT_PAGE + Bar0.RXPROD + 8 * self.q, self.r1.idx)
        await self.b.bar.write(UPT_PAGE + Bar0.RXPROD2 + 8 * self.q, self.r2.idx)

    def reap(self) -> int:
        """Check every completion written against §4b; reassemble frames into ``frames``."""
        n = 0
        while self.comp.written(self.b.mem) is not None:
            # the whole frame's completions are written before it is taken
            cpls = []
            probe = Ring(self.comp.base, self.comp.size, self.comp.idx, self.comp.gen)
            while True:
                raw = probe.written(self.b.mem)
                if raw is None:
                    return n  # rest of the frame not written yet
                cpls.append(RxCompDesc.unpack(raw))
                probe.advance()
                if cpls[-1].eop:
                    break
            data = b""
            for k, cpl in enumerate(cpls):
                ring = 0 if k == 0 else 1
                assert self.posted[ring], f"RX q{self.q}: completion {cpl} with no buffer posted"
                buf = self.posted[ring].pop(0)
                last = k == len(cpls) - 1
                want = RxCompDesc(
                    rxd_idx=buf.idx,
                    length=cpl.length if last else buf.length,
                    gen=self.comp.gen,
                    sop=k == 0,
                    eop=last,
                    rq_id=self.q + ring * self.nq,
                    cnc=True,
                    ts=cpls[0].ts,
                    tci=cpls[0].tci,
                )
                assert cpl == want, (
                    f"RX q{self.q} completion {self.comp.idx}: {cpl}, expected {want}"
                )
                assert 0 < cpl.length <= buf.length
                data += self.b.mem.read(buf.addr, cpl.length)
                self.comp.advance()
            self.frames.append((data, cpls[0].tci if cpls[0].ts else None))
            n += 1
        return n


async def error_state(b: Bench, q: int, rx: bool) -> tuple[int, int]:
    """STATUS and UPT_ERROR once the queue is in error (its bad descriptor may still be
    behind other traffic on the host bus); STATUS as it is after a bounded wait."""
    reg = Queue.RXQ_STATUS if rx else Queue.TXQ_STATUS
    for _ in range(TIMEOUT_CYCLES // 64):
        st = await b.rd(q, reg)
        if st & QSTATUS_ERROR:
            break
        await ClockCycles(b.dut.clk, 64)
    upt = await b.rd(q, RXQ_UPT_ERROR if rx else TXQ_UPT_ERROR)
    return st, upt


def rx_user(vlan: int | None) -> int:
    """rx_meta_t {vlan_tci, vlan_stripped}."""
    return 0 if vlan is None else (vlan << 1) | 1


async def send_rx(b: Bench, rxs: RxSide, frames: list[tuple[bytes, int | None]]) -> None:
    for data, vlan in frames:
        b.src.send_nowait(data, rx_user(vlan))
    want = len(rxs.frames) + len(frames)

    def done() -> bool:
        rxs.reap()
        return len(rxs.frames) >= want

    await b.wait_for(done, f"{len(frames)} RX frames on q{rxs.q}")
    got = rxs.frames[-len(frames) :]
    for k, ((data, vlan), (gdata, gvlan)) in enumerate(zip(frames, got, strict=True)):
        assert gdata == data, f"RX frame {k} ({len(data)} B) differs"
        assert gvlan == vlan, f"RX frame {k}: tci {gvlan}, sent {vlan}"


async def new_bench(dut) -> Bench:
    assert int(dut.RING_FMT.value) == 1, "these tests need RING_FMT = 1 (format B)"
    b = Bench(dut)
    await b.start()
    return b


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def identity_and_upt_page(dut) -> None:
    b = await new_bench(dut)
    fid = await b.bar.read(Func.FUNC_ID)
    assert fid >> 16 == DEVICE_B and fid & 0xFF == FUNC, f"FUNC_ID {fid:#x}"
    assert await b.bar.read(FUNC_PCI_ID) == (DEVICE_B << 16) | VENDOR_B
    tx = TxSide(b, 1, 6)
    await tx.open()
    await b.bar.write(UPT_PAGE + Bar0.TXPROD + 8, 0)
    assert await b.rd(1, Queue.TXQ_PROD) == 0
    rxs = RxSide(b, 1, 5, 256, 256)
    await rxs.open()
    await b.bar.write(UPT_PAGE + Bar0.RXPROD + 8, 7)
    await b.bar.write(UPT_PAGE + Bar0.RXPROD2 + 8, 9)
    assert await b.rd(1, Queue.RXQ_PROD) == 7
    assert await b.rd(1, RX2_PROD) == 9
    assert await b.bar.read(UPT_PAGE + Bar0.RXPROD2 + 8) == 9
    for vec, reg in ((2, Queue.TXQ_IRQ_CTRL), (3, Queue.RXQ_IRQ_CTRL)):
        await b.bar.write(UPT_PAGE + Bar0.IMR + 8 * vec, 1)
        assert await b.rd(1, reg) == 1, f"IMR {vec} does not alias {reg.name}"
        await b.bar.write(UPT_PAGE + Bar0.IMR + 8 * vec, 0)
        assert await b.rd(1, reg) == 0
    # outside the aliases the page decodes nothing
    for off in (0x4, 0x600 + 8 * 2, 0x800 + 8 * 2 + 4, 0xC00, 0xFFC):
        await b.bar.write(UPT_PAGE + off, 0xFFFFFFFF)
        assert await b.bar.read(UPT_PAGE + off) == 0, f"UPT page +{off:#x} decodes"
    assert await b.rd(1, Queue.TXQ_STATUS) & QSTATUS_ERROR == 0


async def tx_run(b: Bench, tx: TxSide, rng: random.Random, n: int) -> None:
    expect = []
    for _ in range(n):
        size = rng.choice([60, 61, 64, 127, 512, 1514, 1518, rng.randint(60, MAX_FRAME)])
        nbufs = min(size, rng.choice([1, 1, 2, 3, 4, 8, 15, 16]))
        vlan = rng.choice([None, rng.randrange(1 << 16)])
        frame = rng.randbytes(size)
        spins = 0
        while tx.free() < nbufs:
            await tx.doorbell()
            await ClockCycles(b.dut.clk, 32)
            tx.reap()
            spins += 1
            assert spins < 2000, (
                f"TX q{tx.q}: no room for {nbufs} descriptors: ring {tx.ring}, clean {tx.clean}, "
                f"{len(tx.eops)} frames outstanding, completions at {tx.comp.idx}"
            )
        tx.post_frame(frame, rng, nbufs, vlan)
        expect.append((frame, vlan))
        if rng.random() < 0.3:
            await tx.doorbell()
    await tx.doorbell()
    await tx.drain()
    await b.wait_for(lambda: len(b.sink.frames) >= len(expect), "TX frames on the stream")
    for k, (frame, vlan) in enumerate(expect):
        f = b.sink.frames.popleft()
        assert f.data == frame, f"TX frame {k} ({len(frame)} B) differs"
        user = ((vlan or 0) << 9) | (int(vlan is not None) << 8) | FUNC
        assert f.user == user, f"TX frame {k}: tuser {f.user:#x}, expected {user:#x}"


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def tx_frames(dut) -> None:
    b = await new_bench(dut)
    rng = random.Random(21)
    tx = TxSide(b, 1, 5)  # 32 entries: 120 frames wrap it many times
    await tx.open()
    await tx_run(b, tx, rng, 120)
    st = await b.rd(1, Queue.TXQ_STATUS)
    assert st & QSTATUS_ERROR == 0, f"TXQ_STATUS {st:#x}"
    assert tx.comp.gen == 0 or tx.comp.idx > 0


def rx_frames_for(rng: random.Random, n: int) -> list[tuple[bytes, int | None]]:
    out = []
    for _ in range(n):
        size = rng.choice([60, 64, 200, 256, 257, 1000, 1518, 4000, MAX_FRAME])
        out.append((rng.randbytes(size), rng.choice([None, rng.randrange(1 << 16)])))
    return out


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def rx_frames(dut) -> None:
    b = await new_bench(dut)
    rng = random.Random(22)
    rxs = RxSide(b, 0, 5, head=256, body=512)  # a 9018 B frame: head + 18 bodies
    await rxs.open()
    for _ in range(16):
        batch = rx_frames_for(rng, 12)
        for ring in (0, 1):
            rxs.fill(ring)
        await rxs.doorbells()
        # at most what the posted buffers hold, so nothing is dropped
        fit, heads, bodies = [], len(rxs.posted[0]), len(rxs.posted[1])
        for data, vlan in batch:
            need = max(0, -(-(len(data) - rxs.head) // rxs.body))
            if heads >= 1 and bodies >= need:
                heads, bodies = heads - 1, bodies - need
                fit.append((data, vlan))
        await send_rx(b, rxs, fit)
    assert await b.rd(0, Queue.RXQ_DROPS) == 0
    st = await b.rd(0, Queue.RXQ_STATUS)
    assert st & QSTATUS_ERROR == 0, f"RXQ_STATUS {st:#x}"
    assert rxs.r1.gen == 0 and rxs.r2.gen == 0, "the test must wrap both RX rings"
    assert rxs.comp.gen == 0 or rxs.comp.idx > 0


@dataclass
class TxCase:
    name: str
    code: int
    upt: int
    descs: list[dict]


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def errors(dut) -> None:
    b = await new_bench(dut)
    rng = random.Random(23)
    tx0 = TxSide(b, 0, 6)
    await tx0.open()
    cases = [
        TxCase("gen not handed over", ERR_DESC_GEN, VMX_TXD_INVALID, [{"gen_flip": True}]),
        TxCase("checksum offload", ERR_DESC_TYPE, VMX_DESC_NOT_SPT, [{"om": OffloadMode.CSUM}]),
        TxCase("descriptor type 1", ERR_DESC_TYPE, VMX_DESC_NOT_SPT, [{"dtype": 1}]),
        TxCase("no EOP within 16", QErr.TOO_MANY_BUFS, VMX_NOEOP, [{"eop": False}] * 17),
        TxCase("16 KiB buffer", QErr.DESC_LEN_MAX, VMX_BIG_PKT, [{"length": 16384}]),
    ]
    for case in cases:
        tx = TxSide(b, 1, 5)
        await tx.open()
        bad = tx.ring.idx
        buf = b.mem.alloc(16384, 64)
        descs = []
        for k, spec in enumerate(case.descs):
            last = k == len(case.descs) - 1
            descs.append(
                TxDesc(
                    addr=buf,
                    length=spec.get("length", 100),
                    gen=tx.ring.gen ^ int(spec.get("gen_flip", False)),
                    eop=spec.get("eop", last),
                    om=spec.get("om", 0),
                    dtype=spec.get("dtype", 0),
                )
            )
        for d in descs:  # written raw: these frames break the driver's own rules
            b.mem.write(tx.ring.addr(), d.pack())
            tx.ring.advance()
        await tx.doorbell()
        await tx_run(b, tx0, rng, 8)  # queue 0 keeps moving frames
        st, upt = await error_state(b, 1, rx=False)
        assert st & QSTATUS_ERROR and st & 0xFF == case.code, f"{case.name}: TXQ_STATUS {st:#x}"
        assert upt == case.upt, f"{case.name}: TXQ_UPT_ERROR {upt:#x}, expected {case.upt:#x}"
        assert not b.sink.frames, f"{case.name}: a frame of the errored queue was sent"
        assert desc_gen(b.mem.read(tx.comp.addr(), DESC_BYTES), 3) != tx.comp.gen, (
            f"{case.name}: a completion was written for descriptor {bad}"
        )
        await b.wr(1, Queue.TXQ_CTRL, 0)
        assert (await b.rd(1, TXQ_UPT_ERROR)) == 0, f"{case.name}: UPT error survives reset"

    rx0 = RxSide(b, 0, 5, 256, 256)
    await rx0.open()
    rx_cases = [
        ("body buffer in ring 1", 0, {"btype": BufType.BODY}, ERR_DESC_TYPE, VMX_DESC_NOT_SPT),
        ("head buffer in ring 2", 1, {"btype": BufType.HEAD}, ERR_DESC_TYPE, VMX_DESC_NOT_SPT),
        ("head buffer of 64 B", 0, {"length": 64}, ERR_SMALL_BUF, VMX_SMALL_BUF),
        ("RX gen not handed over", 1, {"gen_flip": True}, ERR_DESC_GEN, VMX_TXD_INVALID),
        ("RX descriptor type 1", 0, {"dtype": 1}, ERR_DESC_TYPE, VMX_DESC_NOT_SPT),
    ]
    for name, ring, spec, code, vmx in rx_cases:
        rxs = RxSide(b, 1, 5, 256, 256)
        await rxs.open()
        r = rxs.r1 if ring == 0 else rxs.r2
        d = RxDesc(
            addr=b.mem.alloc(256, 64),
            length=spec.get("length", 256),
            gen=r.gen ^ int(spec.get("gen_flip", False)),
            btype=spec.get("btype", BufType(ring)),
            dtype=spec.get("dtype", 0),
        )
        b.mem.write(r.addr(), d.pack())
        r.advance()
        await rxs.doorbells()
        rx0.fill(0)
        rx0.fill(1)
        await rx0.doorbells()
        # queue 0 keeps receiving (frames its 31 head and 31 body buffers hold)
        await send_rx(b, rx0, [(rng.randbytes(rng.randint(60, 4000)), None) for _ in range(2)])
        st, upt = await error_state(b, 1, rx=True)
        assert st & QSTATUS_ERROR and st & 0xFF == code, f"{name}: RXQ_STATUS {st:#x}"
        assert upt == vmx, f"{name}: RXQ_UPT_ERROR {upt:#x}, expected {vmx:#x}"
        await b.wr(1, Queue.RXQ_CTRL, 0)


async def read_state(b: Bench, q: int, reg: int) -> tuple[int, int]:
    v = await b.rd(q, reg)
    assert v & ~(STATE_GEN | 0xFFFF) == 0, f"state register {reg:#x} = {v:#x}"
    return v & 0xFFFF, v >> 31


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def save_restore(dut) -> None:
    b = await new_bench(dut)
    rng = random.Random(24)
    # ---- TX: run, quiesce, save, reset, restore, run on
    tx = TxSide(b, 1, 5)
    await tx.open()
    fresh = [await read_state(b, 1, r) for r in (TXQ_STATE, TXQ_CPL_STATE)]
    assert fresh == [(0, 1), (0, 1)], f"TX state after enable: {fresh}"
    await tx_run(b, tx, rng, 45)  # wraps the 32-entry rings
    prod = await b.rd(1, Queue.TXQ_PROD)
    assert prod == tx.ring.idx
    await b.wr(1, Queue.TXQ_CTRL, 0)
    saved = [await read_state(b, 1, r) for r in (TXQ_STATE, TXQ_CPL_STATE)]
    assert saved == [(tx.ring.idx, tx.ring.gen), (tx.comp.idx, tx.comp.gen)], (
        f"saved TX state {saved}, driver at ring {(tx.ring.idx, tx.ring.gen)} "
        f"completions {(tx.comp.idx, tx.comp.gen)}"
    )
    # an enable without RESUME starts over; the saved values are written back before resuming
    await b.wr(1, Queue.TXQ_CTRL, QCTRL_ENABLE)
    assert [await read_state(b, 1, r) for r in (TXQ_STATE, TXQ_CPL_STATE)] == [(0, 1), (0, 1)]
    await b.wr(1, TXQ_STATE, 0x1234 | STATE_GEN)  # ignored while enabled
    assert await read_state(b, 1, TXQ_STATE) == (0, 1)
    await b.wr(1, Queue.TXQ_CTRL, 0)
    for reg, (idx, gen) in zip((TXQ_STATE, TXQ_CPL_STATE), saved, strict=True):
        await b.wr(1, reg, idx | (gen << 31))
    await b.wr(1, Queue.TXQ_PROD, prod)  # before the enable (§4c)
    await b.wr(1, Queue.TXQ_CTRL, QCTRL_ENABLE | QCTRL_RESUME)
    assert [await read_state(b, 1, r) for r in (TXQ_STATE, TXQ_CPL_STATE)] == saved
    await tx_run(b, tx, rng, 45)
    st = await b.rd(1, Queue.TXQ_STATUS)
    assert st & QSTATUS_ERROR == 0, f"TX after restore: TXQ_STATUS {st:#x}"

    # ---- RX: some buffers used, some prefetched and unused at the save
    rxs = RxSide(b, 0, 5, 256, 256)
    await rxs.open()
    for ring in (0, 1):
        rxs.fill(ring, 20)
    await rxs.doorbells()
    await send_rx(b, rxs, [(rng.randbytes(600), None) for _ in range(7)])  # 7 heads, 14 bodies
    await ClockCycles(dut.clk, 200)  # the engine prefetches the rest
    await b.wr(0, Queue.RXQ_CTRL, 0)
    await ClockCycles(dut.clk, 50)
    st = await b.rd(0, Queue.RXQ_STATUS)
    assert st & (1 << 30) == 0, f"RX queue still busy after disable: {st:#x}"
    saved_rx = [await read_state(b, 0, r) for r in (RXQ_STATE, RX2_STATE, RXQ_CPL_STATE)]
    used = (rxs.posted[0][0].idx, rxs.posted[1][0].idx)
    assert saved_rx[0] == (used[0], 1) and saved_rx[1] == (used[1], 1), (
        f"saved RX rings {saved_rx[:2]}, next unused buffers {used}"
    )
    assert saved_rx[2] == (rxs.comp.idx, rxs.comp.gen), f"saved RX completions {saved_rx[2]}"
    await b.wr(0, Queue.RXQ_CTRL, 0)
    for reg, (idx, gen) in zip((RXQ_STATE, RX2_STATE, RXQ_CPL_STATE), saved_rx, strict=True):
        await b.wr(0, reg, idx | (gen << 31))
    await rxs.doorbells()  # PROD before the enable (§4c)
    await b.wr(0, Queue.RXQ_CTRL, QCTRL_ENABLE | QCTRL_RESUME)
    # the buffers posted before the save are used first, in order: 13 heads and 6 bodies
    # are left, 3 frames of 600 B take 3 heads and all 6 bodies
    await send_rx(b, rxs, [(rng.randbytes(600), rng.choice([None, 5])) for _ in range(3)])
    assert rxs.posted[1] == [], "the restored queue skipped or reused body buffers"
    for ring in (0, 1):
        rxs.fill(ring)
    await rxs.doorbells()
    await send_rx(b, rxs, [(rng.randbytes(rng.randint(60, 1518)), None) for _ in range(4)])
    assert await b.rd(0, Queue.RXQ_DROPS) == 0, "a frame was dropped after the restore"
    st = await b.rd(0, Queue.RXQ_STATUS)
    assert st & QSTATUS_ERROR == 0, f"RX after restore: RXQ_STATUS {st:#x}"
    await RisingEdge(dut.clk)
