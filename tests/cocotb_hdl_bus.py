"""cocotb tests of the HDL host bus against AxiDmaResponder on sim/tops/hdl_bus_pair_top.sv.

Two identical paths: cocotbext-axi master A -> pass-through -> AxiDmaResponder
(the reference), master B -> sim_host_bus (HdlHostBus). Both masters get the
same commands at the same time and the same stall patterns, both host memories
the same contents and both IOMMUs the same domains. A monitor per path records
every handshake with its edge and payload; the two records, the read results,
the final memories, the error logs, the IOMMU fault logs, the per-function
statistics and the write-watch wake-ups must all be identical.
"""

from __future__ import annotations

import itertools
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.handle import HierarchyObject
from cocotb.triggers import ClockCycles, Combine, RisingEdge
from cocotbext.axi import AxiBurstType, AxiBus, AxiMaster

from tb.host.axi import AxiResp
from tb.host.dma_path import DmaResponderConfig
from tb.host.dma_responder import AxiDmaResponder
from tb.host.hdl_bus import HdlHostBus
from tb.host.iommu import PAGE_SIZE, Iommu, Perm
from tb.host.memory import HostMemory

MEM_BYTES = 1 << 20
VF = 1  # paged domain
ROGUE = 3  # no domain


@dataclass
class Handshakes:
    """Every handshake on one path: (edge, payload...) per channel."""

    ar: list[tuple] = field(default_factory=list)
    aw: list[tuple] = field(default_factory=list)
    w: list[tuple] = field(default_factory=list)
    r: list[tuple] = field(default_factory=list)
    b: list[tuple] = field(default_factory=list)


class HandshakeMonitor:
    """Samples one AXI4 path at every rising edge (test-only: per-cycle Python is fine)."""

    def __init__(self, dut: HierarchyObject, prefix: str) -> None:
        self.sig = {
            n: getattr(dut, f"{prefix}_{n}")
            for n in (
                "arvalid", "arready", "arid", "araddr", "arlen", "arsize", "arburst", "aruser",
                "awvalid", "awready", "awid", "awaddr", "awlen", "awsize", "awburst", "awuser",
                "wvalid", "wready", "wdata", "wstrb", "wlast",
                "rvalid", "rready", "rid", "rdata", "rresp", "rlast",
                "bvalid", "bready", "bid", "bresp",
            )
        }  # fmt: skip
        self.clk = dut.clk
        self.log = Handshakes()
        cocotb.start_soon(self._run())

    def _v(self, name: str) -> int:
        return int(self.sig[name].value)

    def _vals(self, *names: str) -> tuple[int, ...]:
        return tuple(self._v(n) for n in names)

    async def _run(self) -> None:
        edge = RisingEdge(self.clk)
        cycle = 0
        log = self.log
        while True:
            await edge
            cycle += 1
            if self._v("arvalid") and self._v("arready"):
                log.ar.append((cycle, *self._vals("arid", "araddr", "arlen", "arsize",
                                                  "arburst", "aruser")))  # fmt: skip
            if self._v("awvalid") and self._v("awready"):
                log.aw.append((cycle, *self._vals("awid", "awaddr", "awlen", "awsize",
                                                  "awburst", "awuser")))  # fmt: skip
            if self._v("wvalid") and self._v("wready"):
                log.w.append((cycle, *self._vals("wdata", "wstrb", "wlast")))
            if self._v("rvalid") and self._v("rready"):
                log.r.append((cycle, *self._vals("rid", "rdata", "rresp", "rlast")))
            if self._v("bvalid") and self._v("bready"):
                log.b.append((cycle, *self._vals("bid", "bresp")))


class Side:
    """One path: memory, IOMMU, bus model, master, monitor, watch wake-ups."""

    def __init__(self, dut: HierarchyObject, name: str, cfg: DmaResponderConfig, seed: int) -> None:
        self.mem = HostMemory(MEM_BYTES)
        self.iommu = Iommu()
        if name == "a":
            self.bus: Any = AxiDmaResponder(
                dut, "m_axi_a", dut.clk, self.mem, self.iommu, cfg, rng=random.Random(seed)
            )
        else:
            self.bus = HdlHostBus(dut, "bus_b", dut.clk, self.mem, self.iommu, cfg)
        self.master = AxiMaster(AxiBus.from_prefix(dut, f"s_axi_{name}"), dut.clk, dut.rst)
        for log in (self.master.write_if.log, self.master.read_if.log):
            log.setLevel(logging.WARNING)
        self.monitor = HandshakeMonitor(dut, f"s_axi_{name}")
        self.woke: list[tuple[int, int, int]] = []  # (cycle, addr, size) per watch wake-up


class PairTb:
    """Both paths, driven identically."""

    def __init__(self, dut: HierarchyObject, cfg: DmaResponderConfig, seed: int) -> None:
        self.dut = dut
        self.cfg = cfg
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())
        self.a = Side(dut, "a", cfg, seed)
        self.b = Side(dut, "b", cfg, seed)
        self.sides = (self.a, self.b)
        self.data_bytes = len(dut.m_axi_a_rdata) // 8
        self.max_size = self.data_bytes.bit_length() - 1
        self.cycle = 0
        cocotb.start_soon(self._count())

    async def _count(self) -> None:
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def pauses(self, rng: random.Random) -> None:
        """The same random stalls (valids low, rready/bready low) on both masters."""
        patterns = []
        for _ in range(5):
            prob = rng.choice([0.0, 0.2, 0.5])
            patterns.append([rng.random() < prob for _ in range(257)])
        for s in self.sides:
            m = s.master
            chans = (
                m.write_if.aw_channel,
                m.write_if.w_channel,
                m.write_if.b_channel,
                m.read_if.ar_channel,
                m.read_if.r_channel,
            )
            for ch, pat in zip(chans, patterns, strict=True):
                ch.set_pause_generator(itertools.cycle(pat))

    def setup_memory(self, rng: random.Random) -> None:
        init = rng.randbytes(MEM_BYTES)
        for s in self.sides:
            s.mem.array[:] = memoryview(init)

    def both_iommu(self, fn: str, *args: Any, **kw: Any) -> None:
        for s in self.sides:
            getattr(s.iommu, fn)(*args, **kw)

    def watch(self, lo: int, hi: int, wakeups: int) -> None:
        """A driver on each side waiting ``wakeups`` times for writes into [lo, hi)."""
        for s in self.sides:

            async def driver(s: Side = s) -> None:
                with s.mem.watch(lo, hi) as w:
                    for _ in range(wakeups):
                        region = await w.wait()
                        assert region is not None
                        s.woke.append((self.cycle, region.addr, region.size))

            cocotb.start_soon(driver())

    def compare(self) -> None:
        a, b = self.a, self.b
        la, lb = a.monitor.log, b.monitor.log
        for ch in ("ar", "aw", "w", "r", "b"):
            ha, hb = getattr(la, ch), getattr(lb, ch)
            for i, (x, y) in enumerate(zip(ha, hb, strict=False)):
                assert x == y, f"{ch} handshake {i}: responder {x} != HDL bus {y}"
            assert len(ha) == len(hb), f"{ch}: {len(ha)} handshakes (responder), {len(hb)} (HDL)"
        assert (a.mem.array == b.mem.array).all(), "host memories differ"
        assert a.bus.errors == b.bus.errors, f"{a.bus.errors}\n!=\n{b.bus.errors}"
        assert a.iommu.faults == b.iommu.faults, f"{a.iommu.faults}\n!=\n{b.iommu.faults}"
        sa, sb = a.bus.stats.per_func, b.bus.stats.per_func
        assert dict(sa) == dict(sb), f"stats {dict(sa)} != {dict(sb)}"
        assert a.bus.protocol_violations == b.bus.protocol_violations
        assert a.woke == b.woke, f"watch wake-ups {a.woke} != {b.woke}"


def seed_of(dut: HierarchyObject) -> int:
    return cocotb.RANDOM_SEED + len(dut.m_axi_a_rdata)


def random_config(rng: random.Random) -> DmaResponderConfig:
    return DmaResponderConfig(
        read_latency=rng.choice([1, 2, rng.randint(3, 150)]),
        write_latency=rng.choice([1, rng.randint(2, 8)]),
        max_outstanding_reads=rng.choice([1, rng.randint(2, 32), 256]),
        max_outstanding_writes=rng.choice([1, rng.randint(2, 32)]),
        strict=False,  # WRAP bursts from a master that addresses them as INCR: logged
    )


async def run_both(tb: PairTb, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[Any, Any]]:
    """Issue the same init_read/init_write calls on both masters; wait for all of them."""
    pairs = []
    for method, kw in calls:
        ea = getattr(tb.a.master, method)(**kw)
        eb = getattr(tb.b.master, method)(**kw)
        pairs.append((ea, eb))
    await Combine(*(e.wait() for p in pairs for e in p))
    return [(ea.data, eb.data) for ea, eb in pairs]


def random_calls(tb: PairTb, rng: random.Random, n: int, areas: list[tuple[int, int, int]]):
    """Reads and writes of random length, alignment, size, burst type and function."""
    calls = []
    for _ in range(n):
        func, base, span = rng.choice(areas)
        length = rng.choice([1, 2, rng.randint(1, 64), rng.randint(1, 1500), rng.randint(1, 5000)])
        length = min(length, span - 1)
        addr = base + rng.randrange(0, span - length)
        size = rng.choice([tb.max_size] * 4 + list(range(tb.max_size)))
        burst = rng.choice([AxiBurstType.INCR] * 8 + [AxiBurstType.FIXED])
        kw: dict[str, Any] = {"address": addr, "size": size, "burst": burst, "user": func}
        if burst == AxiBurstType.FIXED:
            kw["address"] = addr & -(1 << size)
            length = min(length, 16 << size)
        if rng.random() < 0.05:  # a WRAP burst: 4 aligned beats
            kw.update(address=addr & -(4 << size), burst=AxiBurstType.WRAP)
            length = 4 << size
        if rng.random() < 0.5:
            kw.update(data=rng.randbytes(length), awid=rng.randrange(8))
            calls.append(("init_write", kw))
        else:
            kw.update(length=length, arid=rng.randrange(8))
            calls.append(("init_read", kw))
    return calls


@cocotb.test()
async def same_as_responder(dut: HierarchyObject) -> None:
    """Random traffic through both paths: identical handshakes, data, memory and logs."""
    seed = seed_of(dut)
    rng = random.Random(seed)
    cfg = random_config(rng)
    dut._log.info("config %s", cfg)
    tb = PairTb(dut, cfg, seed)
    tb.setup_memory(rng)
    tb.pauses(rng)
    # PF: identity domain bounded below the end of memory (DECERR past it).
    tb.both_iommu("create_domain", 0, passthrough=True, limit=MEM_BYTES - 8 * PAGE_SIZE)
    # VF: pages RW, RO, WO and holes, not contiguous in PA.
    tb.both_iommu("create_domain", VF)
    vf_base = 0x40_0000
    perms = [Perm.RW, Perm.RW, Perm.R, None, Perm.RW, Perm.W, Perm.RW, None]
    for i, perm in enumerate(perms):
        if perm is not None:
            pa = (0x10 + 3 * i) * PAGE_SIZE
            tb.both_iommu("map", VF, vf_base + i * PAGE_SIZE, pa, PAGE_SIZE, perm)
    areas = [
        (0, 0x2000, MEM_BYTES - 0x2000),  # runs past the limit sometimes
        (VF, vf_base, len(perms) * PAGE_SIZE),
        (VF, vf_base, len(perms) * PAGE_SIZE),
        (ROGUE, 0x8000, 0x4000),
        (0, 0x3000, 0x800),  # around the first watch (a completion ring)
    ]
    tb.watch(0x3000, 0x3400, 3)
    tb.watch((0x10 + 3) * PAGE_SIZE, (0x10 + 3) * PAGE_SIZE + 64, 2)
    await tb.reset()
    for phase in range(3):
        results = await run_both(tb, random_calls(tb, rng, 40, areas))
        for i, (ra, rb) in enumerate(results):
            assert ra.resp == rb.resp, f"phase {phase} call {i}: resp {ra.resp!r} != {rb.resp!r}"
            if hasattr(ra, "data"):
                assert ra.data == rb.data, f"phase {phase} call {i}: read data differs"
        await ClockCycles(dut.clk, rng.randint(0, 200))  # let the responder sleep
        # Change the IOMMU between phases: the C mirror must follow.
        if phase == 0:
            tb.both_iommu("unmap", VF, vf_base, PAGE_SIZE)
            tb.both_iommu("map", VF, vf_base + 3 * PAGE_SIZE, 0x60 * PAGE_SIZE, PAGE_SIZE, Perm.R)
            tb.both_iommu("create_domain", ROGUE, passthrough=True)
        elif phase == 1:
            tb.both_iommu("remove_domain", ROGUE)
            for s in tb.sides:
                s.iommu.domain(VF).clear()
            tb.both_iommu("map", VF, vf_base, 0x70 * PAGE_SIZE, 4 * PAGE_SIZE, Perm.RW)
    tb.compare()
    errs = tb.b.bus.errors
    dut._log.info(
        "%d errors, %d faults, %d watch wake-ups; HDL bus woke Python %d times",
        len(errs), len(tb.b.iommu.faults), len(tb.b.woke), tb.b.bus.wakeups,
    )  # fmt: skip
    assert errs and tb.b.iommu.faults, "no refused burst: the IOMMU check was not exercised"
    assert tb.b.woke, "no watched write"


@cocotb.test()
async def saturated_full_width(dut: HierarchyObject) -> None:
    """What the NIC does: full-width INCR bursts, many in flight, no stalls, NicTb's timing."""
    seed = seed_of(dut)
    rng = random.Random(seed)
    cfg = DmaResponderConfig(read_latency=125, write_latency=1, max_outstanding_writes=32)
    tb = PairTb(dut, cfg, seed)
    tb.setup_memory(rng)
    tb.both_iommu("create_domain", 0, passthrough=True)
    tb.watch(0x1000, 0x2000, 5)
    await tb.reset()
    db = tb.data_bytes
    calls = []
    for k in range(120):
        n = rng.choice([db, 4 * db, 2048, rng.randint(1, 4096)])
        addr = 0x1000 + rng.randrange(0, 200) * 64 + (k % 3) * 7
        method = "init_write" if rng.random() < 0.5 else "init_read"
        kw: dict[str, Any] = {"address": addr}
        if method == "init_write":
            kw.update(data=rng.randbytes(n), awid=k % 16)
        else:
            kw.update(length=n, arid=k % 16)
        calls.append((method, kw))
    results = await run_both(tb, calls)
    for ra, rb in results:
        assert ra.resp == rb.resp and getattr(ra, "data", None) == getattr(rb, "data", None)
    tb.compare()
    await ClockCycles(dut.clk, 2)  # the HDL's idle is sampled before the edge (cocotb on Verilator)
    assert tb.b.bus.idle and tb.a.bus.idle


@cocotb.test()
async def reset_drops_bursts_in_flight(dut: HierarchyObject) -> None:
    """reset() forgets accepted bursts and serves new ones afterwards (HDL bus alone)."""
    seed = seed_of(dut)
    tb = PairTb(dut, DmaResponderConfig(read_latency=50), seed)
    for s in tb.sides:
        s.iommu.create_domain(0, passthrough=True)
        s.mem.write(0x4000, bytes(range(256)))
    await tb.reset()
    tb.b.master.init_read(0x4000, 64, arid=1)
    await ClockCycles(dut.clk, 10)
    assert not tb.b.bus.idle
    tb.b.bus.reset()
    await ClockCycles(dut.clk, 2)  # in reset at the next edge, seen after the one after
    assert tb.b.bus.idle
    await tb.reset()  # the master too
    await ClockCycles(dut.clk, 80)
    assert not dut.s_axi_b_rvalid.value, "a dropped burst was returned after reset()"
    rd = await tb.b.master.read(0x4040, 64, arid=2)
    assert rd.data == bytes(range(64, 128))


def both(tb: PairTb, method: str, *args: Any, **kw: Any) -> None:
    """The same run-time fault call on both buses."""
    for s in tb.sides:
        getattr(s.bus, method)(*args, **kw)


@cocotb.test()
async def injected_errors(dut: HierarchyObject) -> None:
    """inject_error: exactly the chosen bursts (function, direction, address range, count)
    are answered SLVERR, logged as injected, with no IOMMU fault and no memory written;
    the responder and the HDL bus agree edge for edge."""
    seed = seed_of(dut)
    tb = PairTb(dut, DmaResponderConfig(read_latency=20, write_latency=3), seed)
    tb.setup_memory(random.Random(seed))
    tb.both_iommu("create_domain", 0, passthrough=True)
    tb.both_iommu("create_domain", VF, passthrough=True)
    await tb.reset()
    db = tb.data_bytes
    lo, hi = span = (0x2100, 0x2F00)  # no burst below crosses a 4 KiB boundary
    both(tb, "inject_error", VF, count=2, span=span)
    both(tb, "inject_error", VF, write=True, count=1, span=span)
    # (read?, function, address, bytes, answered with the injected error?)
    plan = [
        (True, 0, 0x2000, 4 * db, False),  # another function
        (True, VF, 0x1000, 4 * db, False),  # outside the range
        (False, VF, 0x2400, 2 * db, True),  # the one write
        (True, VF, lo - db, 2 * db, True),  # meets the range's first bytes
        (False, VF, 0x2800, db, False),  # writes used up
        (True, VF, hi - db, 3 * db, True),  # the second read: meets its last bytes
        (True, VF, lo, db, False),  # reads used up
    ]
    for is_read, func, addr, n, hit in plan:
        if is_read:
            kw: dict[str, Any] = {"address": addr, "length": n, "arid": 1, "user": func}
            (ra, rb), = await run_both(tb, [("init_read", kw)])  # fmt: skip
        else:
            kw = {"address": addr, "data": bytes([0xA5]) * n, "awid": 2, "user": func}
            (ra, rb), = await run_both(tb, [("init_write", kw)])  # fmt: skip
        want = AxiResp.SLVERR if hit else AxiResp.OKAY
        assert int(rb.resp) == int(ra.resp) == want, (is_read, hex(addr), ra.resp, rb.resp)
    for s in tb.sides:
        assert s.bus.injections_left == 0
        errs = s.bus.errors
        assert [(e.write, e.addr, e.resp, e.reason) for e in errs] == [
            (True, 0x2400, AxiResp.SLVERR, "injected"),
            (False, lo - db, AxiResp.SLVERR, "injected"),
            (False, hi - db, AxiResp.SLVERR, "injected"),
        ], errs
        assert not s.iommu.faults
        assert s.mem.read(0x2400, 2 * db) != bytes([0xA5]) * 2 * db, "a refused write landed"
        assert s.mem.read(0x2800, db) == bytes([0xA5]) * db
    # every beat of a refused read says SLVERR, every other beat OKAY
    refused = {lo - db, hi - db}
    ars = [(cycle, addr) for cycle, _, addr, *_ in tb.b.monitor.log.ar]
    beats = iter(tb.b.monitor.log.r)
    for _, addr in ars:
        beat = next(beats)
        resps = [beat[3]]
        while not beat[4]:
            beat = next(beats)
            resps.append(beat[3])
        want = AxiResp.SLVERR if addr in refused else AxiResp.OKAY
        assert set(resps) == {want}, (hex(addr), resps)
    bresp = [b[2] for b in tb.b.monitor.log.b]
    assert bresp == [AxiResp.SLVERR, AxiResp.OKAY], bresp
    tb.compare()


@cocotb.test()
async def latency_spike(dut: HierarchyObject) -> None:
    """set_extra_latency: the bursts accepted while it is set (reads at AR, writes at their
    last W beat) take exactly the extra cycles longer; bursts stay in order (a read
    accepted after the spike ended waits behind a spiked one); the responder and the
    HDL bus agree edge for edge."""
    seed = seed_of(dut)
    lat, wlat, extra, wextra = 20, 3, 300, 150
    tb = PairTb(dut, DmaResponderConfig(read_latency=lat, write_latency=wlat), seed)
    tb.setup_memory(random.Random(seed))
    tb.both_iommu("create_domain", 0, passthrough=True)
    await tb.reset()
    db = tb.data_bytes
    mon = tb.b.monitor.log

    async def read(addr: int) -> int:
        """One read alone on the bus: cycles from its AR handshake to its first R beat."""
        n_ar, n_r = len(mon.ar), len(mon.r)
        await run_both(tb, [("init_read", {"address": addr, "length": db, "arid": 3})])
        return mon.r[n_r][0] - mon.ar[n_ar][0]

    async def write(addr: int) -> int:
        """One write alone: cycles from its last W beat to its B."""
        n_w, n_b = len(mon.w), len(mon.b)
        await run_both(tb, [("init_write", {"address": addr, "data": bytes(db), "awid": 4})])
        return mon.b[n_b][0] - mon.w[n_w][0]

    assert [await read(0x1000), await write(0x1000)] == [lat, wlat]
    both(tb, "set_extra_latency", read=extra, write=wextra)
    assert [await read(0x1040), await write(0x1040), await read(0x1080)] == [
        lat + extra,
        wlat + wextra,
        lat + extra,
    ]
    # A spiked read, then the spike ends and a second read follows at once: the second
    # is due long before the first but comes after it, the next edge its turn allows.
    n_ar, n_r = len(mon.ar), len(mon.r)
    first = [("init_read", {"address": 0x2000, "length": db, "arid": 5})]
    second = [("init_read", {"address": 0x2040, "length": db, "arid": 6})]
    spiked = cocotb.start_soon(run_both(tb, first))
    while len(mon.ar) == n_ar:
        await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)  # both buses have taken the AR with the spike
    both(tb, "set_extra_latency")
    await run_both(tb, second)
    await spiked
    (a0, *_), (a1, *_) = mon.ar[n_ar], mon.ar[n_ar + 1]
    (r0, id0, *_), (r1, id1, *_) = mon.r[n_r], mon.r[n_r + 1]
    assert (id0, id1) == (5, 6) and r0 - a0 == lat + extra, (a0, a1, r0, r1)
    assert r1 == r0 + 1 and a1 + lat < r0, "the later read waits behind the spiked one"
    assert [await read(0x3000), await write(0x3000)] == [lat, wlat]
    tb.compare()
