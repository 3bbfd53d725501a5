"""The bench of the ring-format-B directed tests of vf_dma (``tests/cocotb_vf_dma_fmt_b_*.py``):
vmxnet3's rings (docs/ARCHITECTURE.md §4b, §4c) driven by hand.

Every descriptor is built and every completion decoded with the project's one
vmxnet3 codec (``tb/shell_model/vmxnet3_defs.py``); the expected completion of
each frame or buffer is computed here from the rules of §4b, not read from the
RTL (the drivers of ``tb/vf_driver/upt_queues.py`` are checked against the same
rules in ``tests/test_vf_driver_upt.py``). Registers are those of
``tb/ref/regmap.py``; host, register port and streams are the block bench of
``tests/vf_dma_block.py``. With RX_STEER.HASH off every received frame goes to
queue 0, so RX traffic runs on queue 0 and TX on queue 1. The tests need a
2-queue engine built with ``RING_FMT`` = 1.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cocotb.triggers import ClockCycles

from tb.host import HostMemory
from tb.ref.regmap import (
    QCTRL_ENABLE,
    QSTATE_GEN,
    QSTATE_INDEX_MASK,
    QSTATUS_ERROR,
    Queue,
    queue_reg,
    upt_reg,
)
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    Bar0,
    BufType,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
    desc_gen,
)
from tests.vf_dma_block import FUNC, Bench, HangError

MAX_FRAME = 9018
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


class UptBench(Bench):
    """The block bench (host read latency 40..100 cycles, reordered across IDs) with
    queue-register access and vmxnet3 rings in host memory."""

    def __init__(self, dut: Any) -> None:
        super().__init__(dut, read_latency=40, ooo=True, jitter=60, seed=5)
        self.sink = self.tx_sink
        self.src = self.rx_src

    async def wr(self, q: int, off: int, v: int) -> None:
        await self.bar.write(queue_reg(q, off), v)  # type: ignore[arg-type]

    async def rd(self, q: int, off: int) -> int:
        return await self.bar.read(queue_reg(q, off))  # type: ignore[arg-type]

    def ring(self, size: int) -> Ring:
        base = self.mem.alloc(size * DESC_BYTES, 512)
        self.mem.write(base, bytes(size * DESC_BYTES))
        return Ring(base, size)

    async def wait_for(self, cond: Callable[[], bool], what: str) -> None:
        for _ in range(TIMEOUT_CYCLES // 16):
            if cond():
                return
            await ClockCycles(self.dut.clk, 16)
        raise HangError(f"timed out after {TIMEOUT_CYCLES} cycles waiting for {what}")


class TxSide:
    """Queue q's TX rings: posts frames as TxDescs, expects one TxCompDesc per frame."""

    def __init__(self, b: UptBench, q: int, log2: int) -> None:
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
        await self.b.bar.write(upt_reg(Bar0.TXPROD, self.q), self.ring.idx)

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

    def __init__(self, b: UptBench, q: int, log2: int, head: int, body: int) -> None:
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
        await b.wr(q, Queue.RX2_BASE_LO, self.r2.base & 0xFFFFFFFF)
        await b.wr(q, Queue.RX2_BASE_HI, self.r2.base >> 32)
        await b.wr(q, Queue.RXQ_CPL_BASE_LO, self.comp.base & 0xFFFFFFFF)
        await b.wr(q, Queue.RXQ_CPL_BASE_HI, self.comp.base >> 32)
        await b.wr(q, Queue.RXQ_SIZE, self.log2)
        await b.wr(q, Queue.RX2_SIZE, self.log2)
        await b.wr(q, Queue.RXQ_CPL_SIZE, self.log2 + 1)
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
        await self.b.bar.write(upt_reg(Bar0.RXPROD, self.q), self.r1.idx)
        await self.b.bar.write(upt_reg(Bar0.RXPROD2, self.q), self.r2.idx)

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


async def error_state(b: UptBench, q: int, rx: bool) -> tuple[int, int]:
    """STATUS and UPT_ERROR once the queue is in error (its bad descriptor may still be
    behind other traffic on the host bus); STATUS as it is after a bounded wait."""
    reg = Queue.RXQ_STATUS if rx else Queue.TXQ_STATUS
    for _ in range(TIMEOUT_CYCLES // 64):
        st = await b.rd(q, reg)
        if st & QSTATUS_ERROR:
            break
        await ClockCycles(b.dut.clk, 64)
    upt = await b.rd(q, Queue.RXQ_UPT_ERROR if rx else Queue.TXQ_UPT_ERROR)
    return st, upt


def rx_user(vlan: int | None) -> int:
    """rx_meta_t {vlan_tci, vlan_stripped}."""
    return 0 if vlan is None else (vlan << 1) | 1


async def send_rx(b: UptBench, rxs: RxSide, frames: list[tuple[bytes, int | None]]) -> None:
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


async def new_bench(dut) -> UptBench:
    assert int(dut.RING_FMT.value) == 1, "these tests need RING_FMT = 1 (format B)"
    b = UptBench(dut)
    await b.reset()
    return b


async def tx_run(b: UptBench, tx: TxSide, rng: random.Random, n: int) -> None:
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


def rx_frames_for(rng: random.Random, n: int) -> list[tuple[bytes, int | None]]:
    out = []
    for _ in range(n):
        size = rng.choice([60, 64, 200, 256, 257, 1000, 1518, 4000, MAX_FRAME])
        out.append((rng.randbytes(size), rng.choice([None, rng.randrange(1 << 16)])))
    return out


async def read_state(b: UptBench, q: int, reg: int) -> tuple[int, int]:
    v = await b.rd(q, reg)
    assert v & ~(QSTATE_GEN | QSTATE_INDEX_MASK) == 0, f"state register {reg:#x} = {v:#x}"
    return v & QSTATE_INDEX_MASK, int(bool(v & QSTATE_GEN))
