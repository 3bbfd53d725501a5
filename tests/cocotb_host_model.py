"""cocotb tests of AxiDmaResponder on sim/tops/axi_loop_top.sv.

cocotbext-axi's AxiMaster drives ``s_axi``; the top wires it to ``m_axi``, which
the responder serves from HostMemory through the Iommu. An independent monitor
records handshakes on ``m_axi`` by clock edge, so ordering and latency are
checked from the bus, not from the responder's own bookkeeping.
"""

from __future__ import annotations

import itertools
import logging
import random
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.handle import HierarchyObject
from cocotb.triggers import ClockCycles, Combine, RisingEdge
from cocotbext.axi import AxiBus, AxiMaster

from tb.host.axi import AxiResp
from tb.host.dma_path import DmaResponderConfig
from tb.host.dma_responder import AxiDmaResponder
from tb.host.iommu import PAGE_SIZE, FaultKind, Iommu, Perm
from tb.host.memory import HostMemory

MEM_BYTES = 1 << 20


@dataclass
class BusLog:
    """Handshakes on m_axi, by clock edge (counted from the monitor's start)."""

    # (edge, arid, beats)
    ar: list[tuple[int, int, int]] = field(default_factory=list)
    # (edge of the first rvalid, rid, beats, rresp)
    r: list[tuple[int, int, int, int]] = field(default_factory=list)
    w_last: list[int] = field(default_factory=list)  # edge of each burst's last W beat
    b: list[int] = field(default_factory=list)  # edge of each first bvalid


class BusMonitor:
    """Samples m_axi at every rising edge (test-only, so per-cycle Python is fine here)."""

    def __init__(self, dut: HierarchyObject) -> None:
        self.dut = dut
        self.log = BusLog()
        cocotb.start_soon(self._run())

    async def _run(self) -> None:
        d = self.dut
        edge = RisingEdge(d.clk)
        cycle = 0
        r_cur: list[int] | None = None  # [first edge, rid, beats, resp]
        b_shown = False
        while True:
            await edge
            cycle += 1
            if d.m_axi_arvalid.value and d.m_axi_arready.value:
                beats = d.m_axi_arlen.value.to_unsigned() + 1
                self.log.ar.append((cycle, d.m_axi_arid.value.to_unsigned(), beats))
            if d.m_axi_rvalid.value:
                if r_cur is None:
                    rresp = d.m_axi_rresp.value.to_unsigned()
                    r_cur = [cycle, d.m_axi_rid.value.to_unsigned(), 0, rresp]
                if d.m_axi_rready.value:
                    r_cur[2] += 1
                    if d.m_axi_rlast.value:
                        self.log.r.append((r_cur[0], r_cur[1], r_cur[2], r_cur[3]))
                        r_cur = None
            if d.m_axi_wvalid.value and d.m_axi_wready.value and d.m_axi_wlast.value:
                self.log.w_last.append(cycle)
            if d.m_axi_bvalid.value:
                if not b_shown:
                    self.log.b.append(cycle)
                b_shown = not d.m_axi_bready.value
            else:
                b_shown = False


class LoopTb:
    """axi_loop_top with an AxiMaster on s_axi and the responder on m_axi."""

    def __init__(self, dut: HierarchyObject, cfg: DmaResponderConfig, seed: int) -> None:
        self.dut = dut
        self.cfg = cfg
        self.rng = random.Random(seed)
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())
        self.mem = HostMemory(MEM_BYTES)
        self.iommu = Iommu()
        self.responder = AxiDmaResponder(
            dut, "m_axi", dut.clk, self.mem, self.iommu, cfg, rng=random.Random(seed + 1)
        )
        self.master = AxiMaster(AxiBus.from_prefix(dut, "s_axi"), dut.clk, dut.rst)
        for log in (self.master.write_if.log, self.master.read_if.log):
            log.setLevel(logging.WARNING)  # it logs every burst at INFO
        self.monitor = BusMonitor(dut)
        self.data_bytes = len(dut.m_axi_rdata) // 8
        self.max_size = self.data_bytes.bit_length() - 1

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def random_pauses(self, rng: random.Random) -> None:
        """Master-side stalls: gaps in the valids, rready and bready low at random."""
        m = self.master
        channels = (
            m.write_if.aw_channel,
            m.write_if.w_channel,
            m.write_if.b_channel,
            m.read_if.ar_channel,
            m.read_if.r_channel,
        )
        for ch in channels:
            prob = rng.choice([0.0, 0.2, 0.5])
            pattern = [rng.random() < prob for _ in range(257)]
            ch.set_pause_generator(itertools.cycle(pattern))

    def random_size(self) -> int:
        """Full-width bursts mostly, sometimes narrow ones."""
        return self.rng.choice([self.max_size] * 3 + list(range(self.max_size)))

    def describe(self) -> str:
        return f"{self.data_bytes * 8}-bit bus, {self.cfg}"


def seed_of(dut: HierarchyObject) -> int:
    return cocotb.RANDOM_SEED + len(dut.m_axi_rdata)


def check_read_latencies(log: BusLog, latency: int, exact: bool) -> list[int]:
    """Pair each AR with its ID's next R burst; check beats and latency; return latencies.

    ``exact`` (in-order responder, rready always high): each burst starts at
    AR + latency, or right after the previous burst's last beat if that is later.
    """
    pending: dict[int, list[tuple[int, int]]] = {}
    for edge, arid, beats in log.ar:
        pending.setdefault(arid, []).append((edge, beats))
    lats = []
    r_free = 0  # first edge at which the R channel is free
    for first, rid, beats, _ in log.r:
        assert pending.get(rid), f"R burst with rid {rid:#x} at edge {first} has no request"
        ar_edge, ar_beats = pending[rid].pop(0)
        assert beats == ar_beats, (
            f"rid {rid:#x}: {beats} beats returned for a {ar_beats}-beat request "
            "(bursts of one ID out of order?)"
        )
        lat = first - ar_edge
        assert lat >= latency, f"rid {rid:#x}: first beat {lat} edges after AR, latency {latency}"
        if exact:
            want = max(ar_edge + latency, r_free)
            assert first == want, (
                f"rid {rid:#x}: first beat {lat} edges after AR, want {want - ar_edge} "
                f"(latency {latency}, R channel free at edge {r_free})"
            )
        r_free = first + beats
        lats.append(lat)
    assert not any(pending.values()), f"requests never answered: {pending}"
    return lats


@cocotb.test()
async def roundtrip_random(dut: HierarchyObject) -> None:
    """Random writes then random reads at any alignment, length and burst size match numpy."""
    seed = seed_of(dut)
    rng = random.Random(seed)
    cfg = DmaResponderConfig(
        read_latency=rng.randint(1, 150),
        read_latency_jitter=rng.choice([0, 0, 25]),
        write_latency=rng.randint(1, 8),
        max_outstanding_reads=rng.randint(1, 16),
        max_outstanding_writes=rng.randint(1, 16),
        out_of_order=rng.random() < 0.5,
        ready_probability=rng.choice([1.0, 0.8, 0.4]),
    )
    tb = LoopTb(dut, cfg, seed)
    tb.random_pauses(rng)
    dut._log.info("config: %s", tb.describe())
    tb.iommu.create_domain(0, passthrough=True, limit=MEM_BYTES)
    span = 64 * 1024
    base = tb.mem.alloc(span, PAGE_SIZE)
    tb.mem.write(base, rng.randbytes(span))
    shadow = bytearray(tb.mem.read(base, span))
    await tb.reset()

    # Writes, many in flight; AxiMaster issues them in call order, so they land in that order.
    events = []
    written = 0
    for _ in range(60):
        n = rng.randint(1, 700)
        off = rng.randrange(0, span - n)
        data = rng.randbytes(n)
        events.append(
            tb.master.init_write(base + off, data, awid=rng.randrange(8), size=tb.random_size())
        )
        shadow[off : off + n] = data
        written += n
    await Combine(*(e.wait() for e in events))
    for e in events:
        assert e.data.resp == AxiResp.OKAY, f"write answered {e.data.resp!r}"
    assert tb.mem.read(base, span) == bytes(shadow), "host memory differs from the writes"

    # Reads, many in flight on several IDs.
    reads = []
    for _ in range(60):
        n = rng.randint(1, 700)
        off = rng.randrange(0, span - n)
        ev = tb.master.init_read(base + off, n, arid=rng.randrange(8), size=tb.random_size())
        reads.append((off, n, ev))
    await Combine(*(ev.wait() for _, _, ev in reads))
    for off, n, ev in reads:
        assert ev.data.resp == AxiResp.OKAY, f"read of {off:#x}+{n} answered {ev.data.resp!r}"
        assert ev.data.data == bytes(shadow[off : off + n]), f"read of {off:#x}+{n} differs"

    check_read_latencies(tb.monitor.log, cfg.read_latency, exact=False)
    total = tb.responder.stats.total()
    assert total.write_bytes == written, "strobe-enabled bytes differ from bytes written"
    assert total.read_errors == total.write_errors == 0
    assert tb.iommu.faults == [] and tb.responder.errors == []
    dut._log.info("stats: %s; edges %d wakeups %d", total, tb.responder.stats.edges,
                  tb.responder.stats.wakeups)  # fmt: skip


@cocotb.test()
async def iommu_faults(dut: HierarchyObject) -> None:
    """A VF reaches only what its domain maps; refused bursts get SLVERR/DECERR, change nothing."""
    seed = seed_of(dut)
    tb = LoopTb(dut, DmaResponderConfig(read_latency=17), seed)
    rw_pa = tb.mem.alloc(2 * PAGE_SIZE, PAGE_SIZE)
    ro_pa = tb.mem.alloc(PAGE_SIZE, PAGE_SIZE)
    tb.mem.write(ro_pa, bytes(range(256)) * 16)
    vf = 1
    tb.iommu.create_domain(vf)
    tb.iommu.map(vf, 0x10000, rw_pa, 2 * PAGE_SIZE, Perm.RW)
    tb.iommu.map(vf, 0x20000, ro_pa, PAGE_SIZE, Perm.R)
    await tb.reset()
    m = tb.master

    wr = await m.write(0x10100, b"\x5a" * 100, awid=1, user=vf)
    assert wr.resp == AxiResp.OKAY
    assert tb.mem.read(rw_pa + 0x100, 100) == b"\x5a" * 100
    rd = await m.read(0x10100, 100, arid=1, user=vf)
    assert rd.resp == AxiResp.OKAY and rd.data == b"\x5a" * 100

    # Read-only page: reads work, writes are refused with SLVERR and change nothing.
    rd = await m.read(0x20010, 64, arid=2, user=vf)
    assert rd.resp == AxiResp.OKAY and rd.data == tb.mem.read(ro_pa + 0x10, 64)
    before = tb.mem.read(ro_pa, PAGE_SIZE)
    wr = await m.write(0x20000, b"\xff" * 200, awid=2, user=vf)
    assert wr.resp == AxiResp.SLVERR, f"write to a read-only page answered {wr.resp!r}"
    assert tb.mem.read(ro_pa, PAGE_SIZE) == before

    # Unmapped IOVA, and a function without a domain: DECERR, zero data.
    rd = await m.read(0x30000, 128, arid=3, user=vf)
    assert rd.resp == AxiResp.DECERR and rd.data == bytes(128)
    wr = await m.write(0x30000, b"\x01" * 8, awid=3, user=vf)
    assert wr.resp == AxiResp.DECERR
    rd = await m.read(0x10000, 64, arid=4, user=5)
    assert rd.resp == AxiResp.DECERR
    # The same IOVA through another function is another address space.
    tb.iommu.create_domain(0, passthrough=True, limit=MEM_BYTES)
    rd = await m.read(rw_pa + 0x100, 4, arid=4, user=0)
    assert rd.resp == AxiResp.OKAY and rd.data == b"\x5a" * 4

    kinds = [(f.func, f.kind, f.write) for f in tb.iommu.faults]
    assert kinds == [
        (vf, FaultKind.PERMISSION, True),
        (vf, FaultKind.UNMAPPED, False),
        (vf, FaultKind.UNMAPPED, True),
        (5, FaultKind.NO_DOMAIN, False),
    ], kinds
    errs = [(e.func, e.write, e.resp) for e in tb.responder.errors]
    assert errs == [
        (vf, True, AxiResp.SLVERR),
        (vf, False, AxiResp.DECERR),
        (vf, True, AxiResp.DECERR),
        (5, False, AxiResp.DECERR),
    ], errs
    st = tb.responder.stats.per_func[vf]
    assert (st.read_errors, st.write_errors) == (1, 2)
    assert st.write_bytes == 100  # strobe-enabled bytes
    assert st.read_bytes >= 100 + 64  # whole beats from the start address (reads have no strobes)


@cocotb.test()
async def out_of_order_across_ids(dut: HierarchyObject) -> None:
    """With out_of_order, bursts of different IDs overtake each other; one ID's stay in order."""
    seed = seed_of(dut)
    rng = random.Random(seed)
    cfg = DmaResponderConfig(read_latency=30, out_of_order=True, max_outstanding_reads=32)
    tb = LoopTb(dut, cfg, seed)
    tb.iommu.create_domain(0, passthrough=True, limit=MEM_BYTES)
    base = tb.mem.alloc(64 * 1024, PAGE_SIZE)
    tb.mem.write(base, rng.randbytes(64 * 1024))
    await tb.reset()
    db = tb.data_bytes
    reads = []
    for k in range(24):
        beats = rng.randint(1, 12)
        addr = base + k * 16 * db
        ev = tb.master.init_read(addr, beats * db, arid=k % 6)
        reads.append((addr, beats * db, ev))
    await Combine(*(ev.wait() for _, _, ev in reads))
    for addr, n, ev in reads:
        assert ev.data.resp == AxiResp.OKAY and ev.data.data == tb.mem.read(addr, n)
    log = tb.monitor.log
    check_read_latencies(log, cfg.read_latency, exact=False)
    ar_ids = [arid for _, arid, _ in log.ar]
    r_ids = [rid for _, rid, _, _ in log.r]
    assert sorted(ar_ids) == sorted(r_ids)
    assert ar_ids != r_ids, "no burst overtook another: out-of-order return never happened"
    overtakes = sum(1 for a, b in zip(ar_ids, r_ids, strict=True) if a != b)
    dut._log.info("AR order %s\nR order  %s (%d positions differ)", ar_ids, r_ids, overtakes)


@cocotb.test()
async def read_latency_is_respected(dut: HierarchyObject) -> None:
    """On an idle bus the first rvalid comes exactly read_latency edges after AR,
    and bvalid exactly write_latency edges after the last W beat."""
    seed = seed_of(dut)
    rng = random.Random(seed)
    cfg = DmaResponderConfig(read_latency=rng.randint(1, 200), write_latency=rng.randint(1, 20))
    tb = LoopTb(dut, cfg, seed)
    dut._log.info("read latency %d, write latency %d", cfg.read_latency, cfg.write_latency)
    tb.iommu.create_domain(0, passthrough=True, limit=MEM_BYTES)
    base = tb.mem.alloc(16 * 1024, PAGE_SIZE)
    await tb.reset()
    for _ in range(8):  # one at a time: the latency shows exactly
        n = rng.randint(1, 600)
        await tb.master.write(base + rng.randrange(0, 8192), rng.randbytes(n))
        await tb.master.read(base + rng.randrange(0, 8192), n)
        await ClockCycles(dut.clk, rng.randint(0, 300))  # let the responder sleep in between
    log = tb.monitor.log
    lats = check_read_latencies(log, cfg.read_latency, exact=True)
    assert len(lats) >= 8
    assert len(log.b) == len(log.w_last) >= 8  # a write across 4 KiB is two bursts
    for w, b in zip(log.w_last, log.b, strict=True):
        assert b - w == cfg.write_latency, (
            f"bvalid {b - w} edges after last W, want {cfg.write_latency}"
        )
    # Many in flight, in order: never early, returned in request order.
    events = [
        tb.master.init_read(base + 64 * k, rng.randint(1, 400), arid=k % 4) for k in range(16)
    ]
    await Combine(*(e.wait() for e in events))
    check_read_latencies(log, cfg.read_latency, exact=True)  # rready stays high: still exact
    assert [a for _, a, _ in log.ar] == [r for _, r, _, _ in log.r], "in-order mode reordered"
    st = tb.responder.stats
    dut._log.info("edges processed %d, wake-ups %d", st.edges, st.wakeups)


@cocotb.test()
async def write_watch_wakes_driver(dut: HierarchyObject) -> None:
    """A coroutine awaiting a WriteWatch wakes on a bus write into its range, not elsewhere."""
    seed = seed_of(dut)
    tb = LoopTb(dut, DmaResponderConfig(read_latency=5), seed)
    tb.iommu.create_domain(0, passthrough=True, limit=MEM_BYTES)
    ring = tb.mem.alloc(1024, 64)
    other = tb.mem.alloc(1024, 64)
    await tb.reset()
    woke: list[tuple[int, int]] = []

    async def driver() -> None:
        with tb.mem.watch(ring, ring + 1024) as watch:
            for _ in range(2):
                region = await watch.wait()
                woke.append((region.addr, region.size))

    task = cocotb.start_soon(driver())
    await tb.master.write(other, b"\x11" * 64)
    await ClockCycles(dut.clk, 10)
    assert woke == [], "a write outside the watched range woke the driver"
    await tb.master.write(ring + 0x40, b"\x22" * 16)
    await ClockCycles(dut.clk, 2)
    assert woke and woke[0][0] <= ring + 0x40 < woke[0][0] + woke[0][1]
    await tb.master.write(ring + 0x3F0, b"\x33" * 16)
    await task
    assert len(woke) == 2
    assert tb.mem.read(ring + 0x3F0, 16) == b"\x33" * 16


@cocotb.test()
async def reset_drops_bursts_in_flight(dut: HierarchyObject) -> None:
    """reset() forgets accepted bursts and serves new ones afterwards."""
    seed = seed_of(dut)
    tb = LoopTb(dut, DmaResponderConfig(read_latency=50), seed)
    tb.iommu.create_domain(0, passthrough=True, limit=MEM_BYTES)
    addr = tb.mem.alloc(256)
    tb.mem.write(addr, bytes(range(256)))
    await tb.reset()
    tb.master.init_read(addr, 64, arid=1)
    await ClockCycles(dut.clk, 10)
    assert tb.responder.outstanding_reads == 1
    tb.responder.reset()
    assert tb.responder.idle and tb.responder.outstanding_reads == 0
    # The master is reset too (a bus reset), then the bus works again.
    await tb.reset()
    await ClockCycles(dut.clk, 80)
    assert not dut.m_axi_rvalid.value, "a dropped burst was returned after reset()"
    rd = await tb.master.read(addr + 64, 64, arid=2)
    assert rd.resp == AxiResp.OKAY and rd.data == bytes(range(64, 128))
