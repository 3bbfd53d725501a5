"""cocotb tests of the embedded switch (``rtl/eswitch.sv``) against tb/ref/eswitch_model.

The switch's function-side streams are packed arrays (one vector for all
functions), so instead of one cocotbext-axi agent per port this bench uses one
cycle-based bus-functional model for all ports: at each falling edge it drives
every input beat and output tready, waits for the combinational settle
(ReadOnly) and records every handshake that the next rising edge completes.
One Python wake-up pair per cycle serves all ports.
"""

from __future__ import annotations

import os
import random
from collections import deque
from dataclasses import dataclass

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from tb.ref.eswitch_model import (
    ESW_CAPS,
    ESW_CTRL,
    ESW_CTRL_CLEAR_COUNTERS,
    ESW_ID,
    MACT_BASE,
    MACT_STRIDE,
    Counter,
    Delivery,
    DropReason,
    EswitchModel,
    PortPolicy,
    RxMeta,
    TxMeta,
    counter_addr,
    mac_bytes,
)


def mac_of(port: int) -> str:
    return f"02:00:00:00:00:{port + 1:02x}"


def ext_mac(i: int) -> str:
    return f"0a:00:00:00:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}"


CLK_NS = 4  # 250 MHz nominal clock (design brief §2)


@dataclass
class InFrame:
    port: int
    frame: bytes
    meta: TxMeta


class TB:
    """Clock, reset, register port and the all-ports stream BFM of one eswitch."""

    def __init__(self, dut, *, out_ready_p: float = 1.0, in_valid_p: float = 1.0, seed: int = 1):
        self.dut = dut
        self.data_w = len(dut.s_axis_uplink_tdata)
        self.keep_w = self.data_w // 8
        self.num_func = len(dut.s_axis_func_tvalid)
        self.num_ports = self.num_func + 1
        self.meta_w = len(dut.s_axis_func_tuser) // self.num_func
        self.rx_meta_w = len(dut.m_axis_func_tuser) // self.num_func
        self.out_ready_p = out_ready_p
        self.in_valid_p = in_valid_p
        self.rng = random.Random(seed)
        self.inq: list[deque[InFrame]] = [deque() for _ in range(self.num_ports)]
        self.received: list[list[tuple[bytes, int]]] = [[] for _ in range(self.num_ports)]
        # (first beat, last beat) handshake edges of every frame, per port, in order
        self.in_times: list[list[tuple[int, int]]] = [[] for _ in range(self.num_ports)]
        self.out_times: list[list[tuple[int, int]]] = [[] for _ in range(self.num_ports)]
        self.cycles = 0
        self.busy_out = [0] * self.num_ports
        cocotb.start_soon(Clock(dut.clk, CLK_NS, unit="ns").start())

    def edge(self) -> int:
        """Index of the next rising clock edge (the one that completes a handshake
        driven now); edge k is at k * CLK_NS ns."""
        return int(get_sim_time("ns")) // CLK_NS + 1

    def clear_received(self) -> None:
        for p in range(self.num_ports):
            self.received[p].clear()
            self.in_times[p].clear()
            self.out_times[p].clear()

    # ------------------------------------------------------------- basics
    def _idle_inputs(self) -> None:
        d = self.dut
        d.reg_wr.value = 0
        d.reg_rd.value = 0
        d.reg_addr.value = 0
        d.reg_wdata.value = 0
        d.s_axis_func_tvalid.value = 0
        d.s_axis_func_tdata.value = 0
        d.s_axis_func_tkeep.value = 0
        d.s_axis_func_tlast.value = 0
        d.s_axis_func_tuser.value = 0
        d.s_axis_uplink_tvalid.value = 0
        d.s_axis_uplink_tdata.value = 0
        d.s_axis_uplink_tkeep.value = 0
        d.s_axis_uplink_tlast.value = 0
        d.m_axis_func_tready.value = 0
        d.m_axis_uplink_tready.value = 0

    async def reset(self) -> None:
        self._idle_inputs()
        self.dut.rst.value = 1
        for _ in range(4):
            await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0
        for _ in range(2):
            await RisingEdge(self.dut.clk)

    async def reg_write(self, addr: int, value: int) -> None:
        await FallingEdge(self.dut.clk)
        self.dut.reg_addr.value = addr
        self.dut.reg_wdata.value = value
        self.dut.reg_wr.value = 1
        await FallingEdge(self.dut.clk)
        self.dut.reg_wr.value = 0

    async def reg_read(self, addr: int) -> int:
        await FallingEdge(self.dut.clk)
        self.dut.reg_addr.value = addr
        self.dut.reg_rd.value = 1
        await FallingEdge(self.dut.clk)
        self.dut.reg_rd.value = 0
        return int(self.dut.reg_rdata.value.to_unsigned())

    async def apply(self, writes: list[tuple[int, int]]) -> None:
        for addr, value in writes:
            await self.reg_write(addr, value)

    # ------------------------------------------------------------- streams
    def send(self, port: int, frame: bytes, meta: TxMeta | None = None) -> None:
        self.inq[port].append(InFrame(port, frame, meta or TxMeta(src_func=port)))

    def _beats(self, frame: bytes) -> list[tuple[int, int, bool]]:
        out = []
        for off in range(0, len(frame), self.keep_w):
            chunk = frame[off : off + self.keep_w]
            last = off + self.keep_w >= len(frame)
            out.append((int.from_bytes(chunk, "little"), (1 << len(chunk)) - 1, last))
        return out

    async def run_traffic(self, max_cycles: int = 200_000, drain_cycles: int = 64) -> None:
        """Drive every queued frame, collect outputs until quiet for ``drain_cycles``.

        Quiet means no input beat, no output beat and every ingress buffer empty: an
        input discards a dropped frame one beat per cycle (up to a longest frame, and
        several in a row), which shows on no port, so output silence alone is no sign
        that the switch has finished. A switch that never empties fails the run.
        """
        d = self.dut
        ingress = [d.g_ingress[p].u_ingress for p in range(self.num_ports)]
        n, dw, kw = self.num_func, self.data_w, self.keep_w
        cur: list[list[tuple[int, int, bool]] | None] = [None] * self.num_ports
        cur_meta = [0] * self.num_ports
        idx = [0] * self.num_ports
        partial: list[bytearray] = [bytearray() for _ in range(self.num_ports)]
        in_start = [0] * self.num_ports
        out_start = [0] * self.num_ports
        quiet = 0
        for _ in range(max_cycles):
            await FallingEdge(d.clk)
            self.cycles += 1
            edge = self.edge()
            valid = [False] * self.num_ports
            tdata = tkeep = tlast = tuser = tvalid = 0
            for p in range(self.num_ports):
                if cur[p] is None and self.inq[p]:
                    f = self.inq[p].popleft()
                    cur[p], idx[p], cur_meta[p] = self._beats(f.frame), 0, f.meta.pack()
                if cur[p] is not None and self.rng.random() < self.in_valid_p:
                    valid[p] = True
            for p in range(n):
                if valid[p]:
                    data, keep, last = cur[p][idx[p]]
                    tdata |= data << (p * dw)
                    tkeep |= keep << (p * kw)
                    tlast |= int(last) << p
                    tuser |= cur_meta[p] << (p * self.meta_w)
                    tvalid |= 1 << p
            d.s_axis_func_tdata.value = tdata
            d.s_axis_func_tkeep.value = tkeep
            d.s_axis_func_tlast.value = tlast
            d.s_axis_func_tuser.value = tuser
            d.s_axis_func_tvalid.value = tvalid
            up = self.num_func
            if valid[up]:
                data, keep, last = cur[up][idx[up]]
                d.s_axis_uplink_tdata.value = data
                d.s_axis_uplink_tkeep.value = keep
                d.s_axis_uplink_tlast.value = int(last)
                d.s_axis_uplink_tvalid.value = 1
            else:
                d.s_axis_uplink_tvalid.value = 0
            ready = [self.rng.random() < self.out_ready_p for _ in range(self.num_ports)]
            d.m_axis_func_tready.value = sum(int(r) << p for p, r in enumerate(ready[:n]))
            d.m_axis_uplink_tready.value = int(ready[up])

            await ReadOnly()
            in_ready = d.s_axis_func_tready.value.to_unsigned() | (
                int(d.s_axis_uplink_tready.value) << n
            )
            activity = False
            for p in range(self.num_ports):
                if valid[p] and (in_ready >> p) & 1:
                    activity = True
                    if idx[p] == 0:
                        in_start[p] = edge
                    idx[p] += 1
                    if idx[p] == len(cur[p]):
                        cur[p] = None
                        self.in_times[p].append((in_start[p], edge))
            out_valid = d.m_axis_func_tvalid.value.to_unsigned() | (
                int(d.m_axis_uplink_tvalid.value) << n
            )
            if out_valid:
                activity = True
                fd = fk = fl = fu = 0
                if out_valid & ((1 << n) - 1):
                    fd = d.m_axis_func_tdata.value.to_unsigned()
                    fk = d.m_axis_func_tkeep.value.to_unsigned()
                    fl = d.m_axis_func_tlast.value.to_unsigned()
                    fu = d.m_axis_func_tuser.value.to_unsigned()
                for p in range(self.num_ports):
                    if not (out_valid >> p) & 1:
                        continue
                    self.busy_out[p] += 1
                    if not ready[p]:
                        continue
                    if p < n:
                        data = (fd >> (p * dw)) & ((1 << dw) - 1)
                        keep = (fk >> (p * kw)) & ((1 << kw) - 1)
                        last = (fl >> p) & 1
                        user = (fu >> (p * self.rx_meta_w)) & ((1 << self.rx_meta_w) - 1)
                    else:
                        data = d.m_axis_uplink_tdata.value.to_unsigned()
                        keep = d.m_axis_uplink_tkeep.value.to_unsigned()
                        last = int(d.m_axis_uplink_tlast.value)
                        user = 0
                    nbytes = keep.bit_length()
                    assert keep == (1 << nbytes) - 1, f"port {p}: non-contiguous tkeep {keep:x}"
                    assert last or nbytes == kw, f"port {p}: partial beat before tlast"
                    if not partial[p]:
                        out_start[p] = edge
                    partial[p] += (data & ((1 << (8 * nbytes)) - 1)).to_bytes(nbytes, "little")
                    if last:
                        self.received[p].append((bytes(partial[p]), user))
                        self.out_times[p].append((out_start[p], edge))
                        partial[p] = bytearray()
            pending = any(cur[p] is not None or self.inq[p] for p in range(self.num_ports))
            busy = any(not ing.d_empty.value or not ing.i_empty.value for ing in ingress)
            quiet = 0 if (activity or pending or busy) else quiet + 1
            if quiet >= drain_cycles:
                break
        else:
            raise AssertionError(f"traffic did not drain in {max_cycles} cycles")
        await FallingEdge(d.clk)
        self._idle_inputs()

    # ------------------------------------------------------------- checking
    def check(self, expected: list[Delivery]) -> None:
        """Outputs equal the model's deliveries: per output, per source, in order."""
        per: dict[tuple[int, int], deque[Delivery]] = {}
        for e in expected:
            per.setdefault((e.port, e.src), deque()).append(e)
        for p in range(self.num_ports):
            for i, (frame, user) in enumerate(self.received[p]):
                for src in range(self.num_ports):
                    q = per.get((p, src))
                    if q and q[0].frame == frame:
                        exp = q.popleft()
                        got = RxMeta.unpack(user) if p < self.num_func else RxMeta()
                        assert got == exp.meta, f"port {p} frame {i}: meta {got} != {exp.meta}"
                        break
                else:
                    heads = {k: v[0].frame.hex()[:64] for k, v in per.items() if v and k[0] == p}
                    raise AssertionError(
                        f"port {p}: unexpected frame #{i} len {len(frame)} "
                        f"{frame.hex()[:64]}...; expected heads {heads}"
                    )
        left = {k: len(v) for k, v in per.items() if v}
        assert not left, f"frames expected but not received (port, src): {left}"

    async def check_counters(self, model: EswitchModel) -> None:
        for p in range(self.num_ports):
            for c in Counter:
                if c in (Counter.RX_BYTES_HI, Counter.TX_BYTES_HI):
                    continue  # read right after its LO below
                got = await self.reg_read(counter_addr(p, c))
                exp = model.counters[p].value(c)
                assert got == exp, f"port {p} {c.name}: got {got} expected {exp}"
                if c in (Counter.RX_BYTES_LO, Counter.TX_BYTES_LO):
                    hi = Counter(c + 4)
                    got = await self.reg_read(counter_addr(p, hi))
                    exp = model.counters[p].value(hi)
                    assert got == exp, f"port {p} {hi.name}: got {got} expected {exp}"


# ----------------------------------------------------------------- frames
def udp_frame(
    dst: str, src: str, seq: int, size: int, vid: int | None = None, pcp: int = 0
) -> bytes:
    """An Ethernet/IP/UDP frame of exactly ``size`` bytes (>= 42, +4 when tagged)."""
    eth = Ether(dst=dst, src=src)
    if vid is not None:
        eth = eth / Dot1Q(vlan=vid, prio=pcp)
    pkt = eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=2000)
    hdr = bytes(pkt)
    body = seq.to_bytes(4, "big") + bytes(
        (seq + i) & 0xFF for i in range(max(0, size - len(hdr) - 4))
    )
    frame = bytes(pkt / Raw(body))
    return frame[:size] if len(frame) > size else frame


def raw_frame(dst: str, src: str, seq: int, size: int, etype: int = 0x88B5) -> bytes:
    """Arbitrary-length frame (runts included): header then a counting payload."""
    base = (
        bytes.fromhex(dst.replace(":", ""))
        + bytes.fromhex(src.replace(":", ""))
        + etype.to_bytes(2, "big")
    )
    body = seq.to_bytes(4, "big") + bytes((seq * 7 + i) & 0xFF for i in range(max(0, size)))
    return (base + body)[:size]


async def setup(dut, **kw) -> tuple[TB, EswitchModel]:
    tb = TB(dut, **kw)
    await tb.reset()
    size = (await tb.reg_read(ESW_CAPS)) & 0xFFFF
    model = EswitchModel(num_func=tb.num_func, mac_table_size=size)
    return tb, model


async def program_functions(tb: TB, model: EswitchModel) -> None:
    """Table: each function's MAC untagged, and on VLAN 100 at the next entry."""
    for f in range(tb.num_func):
        await tb.apply(model.set_entry(2 * f, mac_of(f), 0, f))
        await tb.apply(model.set_entry(2 * f + 1, mac_of(f), 100, f))


# ----------------------------------------------------------------- tests
@cocotb.test()
async def test_registers(dut):
    """ESW_ID, ESW_CAPS, table read-back, unmapped reads are zero."""
    tb, model = await setup(dut)
    assert await tb.reg_read(ESW_ID) == model.esw_id()
    caps = await tb.reg_read(ESW_CAPS)
    assert caps & 0xFFFF == len(model.table)
    writes = model.set_entry(len(model.table) - 1, "12:34:56:78:9a:bc", 0xABC, 2)
    await tb.apply(writes)
    for addr, value in writes:
        assert await tb.reg_read(addr) == value, hex(addr)
    await tb.reg_write(MACT_BASE + MACT_STRIDE * (len(model.table) - 1) + 0xC, 0)
    assert await tb.reg_read(MACT_BASE + MACT_STRIDE * (len(model.table) - 1) + 0xC) == 0
    for addr in (0x0010, 0x0100, 0x1FF0, 0x3FFC, counter_addr(tb.num_ports, Counter.RX_FRAMES)):
        assert await tb.reg_read(addr) == 0, hex(addr)


@cocotb.test()
async def test_unicast(dut):
    """Local delivery between functions, unknown to uplink, uplink hit / miss."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    exp: list[Delivery] = []
    seq = 0
    for src in range(tb.num_ports):
        for dst in range(tb.num_func):
            for vid in (None, 100, 5):
                seq += 1
                f = udp_frame(mac_of(dst), mac_of(src), seq, 60 + 37 * seq % 200, vid)
                tb.send(src, f)
                exp += model.ingress(src, f, TxMeta(src_func=src))
        seq += 1
        f = udp_frame(ext_mac(seq), mac_of(src), seq, 64)
        tb.send(src, f)
        exp += model.ingress(src, f)
    await tb.run_traffic()
    tb.check(exp)
    await tb.check_counters(model)
    dut._log.info("unicast: %d deliveries in %d cycles", len(exp), tb.cycles)


@cocotb.test()
async def test_broadcast(dut):
    """Broadcast and multicast are replicated to every other port."""
    tb, model = await setup(dut, out_ready_p=0.7)
    await program_functions(tb, model)
    exp: list[Delivery] = []
    for i in range(6):
        for src in range(tb.num_ports):
            dst = "ff:ff:ff:ff:ff:ff" if i % 2 == 0 else "01:00:5e:00:00:01"
            f = udp_frame(dst, mac_of(src), 100 * src + i, 64 + 150 * i)
            tb.send(src, f)
            exp += model.ingress(src, f)
    await tb.run_traffic()
    tb.check(exp)
    await tb.check_counters(model)


@cocotb.test()
async def test_length_checks(dut):
    """Runts and oversize frames are dropped and counted; limits are inclusive."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    exp: list[Delivery] = []
    sizes = [1, 13, 14, 15, 60, model.max_bytes, model.max_bytes + 1, model.max_bytes + 200]
    for i, n in enumerate(sizes):
        for src in (0, tb.num_func):
            f = raw_frame(mac_of(1) if src == tb.num_func else ext_mac(1), mac_of(src), i, n)
            tb.send(src, f)
            exp += model.ingress(src, f)
    await tb.run_traffic()
    tb.check(exp)
    await tb.check_counters(model)
    await tb.reg_write(ESW_CTRL, ESW_CTRL_CLEAR_COUNTERS)
    model.clear_counters()
    await tb.check_counters(model)


class Traffic:
    """Sends frames to the DUT and the model together, and records coverage."""

    def __init__(self, tb: TB, model: EswitchModel) -> None:
        self.tb, self.model = tb, model
        self.exp: list[Delivery] = []
        self.cov: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.cov[name] = self.cov.get(name, 0) + 1

    def send(self, port: int, frame: bytes, meta: TxMeta | None = None) -> list[Delivery]:
        meta = meta or TxMeta(src_func=port)
        self.tb.send(port, frame, meta)
        out = self.model.ingress(port, frame, meta)
        self.exp += out
        self.hit(f"drop:{self.model.last_reason.name}")
        if len(out) > 1:
            self.hit("replicated")
        for d in out:
            self.hit(f"to:{'uplink' if d.port == self.tb.num_func else 'func'}")
            if len(d.frame) != len(frame):
                self.hit("tag inserted" if len(d.frame) > len(frame) else "tag stripped")
            if d.meta.vlan_stripped:
                self.hit("strip reported")
        return out

    async def run(self, **kw) -> None:
        await self.tb.run_traffic(**kw)
        try:
            self.tb.check(self.exp)
        except AssertionError:
            d = self.tb.dut
            for p in range(self.tb.num_ports):
                ing = d.g_ingress[p].u_ingress
                d._log.error(
                    "ing %d req %s mask %s tvalid %s ins %s dropping %s",
                    p,
                    ing.fwd_req.value,
                    ing.fwd_mask.value,
                    ing.fwd_tvalid.value,
                    ing.h_ins.value,
                    ing.dropping.value,
                )
            d._log.error("xbar active %s ptr %s", d.u_xbar.active_reg.value, d.u_xbar.ptr_reg.value)
            for p in range(self.tb.num_ports):
                got = [await self.tb.reg_read(counter_addr(p, c)) for c in Counter]
                exp = [self.model.counters[p].value(c) for c in Counter]
                self.tb.dut._log.error("port %d policy %s", p, self.model.policy[p])
                self.tb.dut._log.error("port %d counters got %s exp %s", p, got, exp)
            raise
        await self.tb.check_counters(self.model)
        self.exp = []
        for p in self.tb.received:
            p.clear()


@cocotb.test()
async def test_policy(dut):
    """Directed policy checks: anti-spoofing, port VLAN, Q-in-Q, link, RX modes, rate."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    up = tb.num_func
    await tb.apply(model.set_entry(10, mac_of(2), 10, 2))  # VF2 on its port VLAN
    t = Traffic(tb, model)
    vf1 = PortPolicy(spoofchk=True, smacs=[mac_bytes(mac_of(1))], vlan_filter=True, vlans=[100])
    vf2 = PortPolicy(pvid=10, pcp=3)
    await tb.apply(model.set_policy(1, vf1))
    await tb.apply(model.set_policy(2, vf2))
    for addr, value in vf2.writes(2):
        assert await tb.reg_read(addr) == value, hex(addr)
    seq = iter(range(1000))
    # anti-spoofing (MAC, VLAN), Q-in-Q, per-frame insertion
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100))
    t.send(1, udp_frame(ext_mac(1), "02:66:66:66:66:66", next(seq), 100))
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100, vid=100))
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100, vid=200))
    t.send(1, raw_frame(ext_mac(1), mac_of(1), next(seq), 100, etype=0x88A8))
    qinq = udp_frame(ext_mac(1), mac_of(1), next(seq), 100, vid=100)
    t.send(1, qinq[:16] + b"\x81\x00\x00\x05" + qinq[16:])
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100), TxMeta(1, True, 0x2064))
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100), TxMeta(1, True, 0x012C))
    # port VLAN: tagged on the way out, guest tags refused, stripped on the way in
    t.send(2, udp_frame(ext_mac(2), mac_of(2), next(seq), 61))
    t.send(2, udp_frame(ext_mac(2), mac_of(2), next(seq), 125))
    t.send(2, udp_frame(ext_mac(2), mac_of(2), next(seq), 100, vid=10))
    t.send(2, udp_frame(ext_mac(2), mac_of(2), next(seq), 100), TxMeta(2, True, 10))
    t.send(2, udp_frame("ff:ff:ff:ff:ff:ff", mac_of(2), next(seq), 300))
    for size in (64, 124, 125, 128, 300):
        t.send(up, udp_frame(mac_of(2), ext_mac(3), next(seq), size, vid=10, pcp=3))
    t.send(up, udp_frame(mac_of(2), ext_mac(3), next(seq), 100))  # untagged: no VF2 entry
    t.send(up, udp_frame("ff:ff:ff:ff:ff:ff", ext_mac(3), next(seq), 100, vid=10))
    t.send(up, udp_frame("ff:ff:ff:ff:ff:ff", ext_mac(3), next(seq), 100))
    await t.run()
    assert model.counters[1].drops == {
        DropReason.SPOOF_MAC: 1,
        DropReason.SPOOF_VLAN: 2,
        DropReason.VLAN_POLICY: 2,
    }, model.counters[1].drops

    # RX modes, trust clamp, strip offload, link state
    await tb.apply(
        model.set_policy(1, PortPolicy(rx_bcast=False, rx_promisc=True, rx_allmulti=False))
    )
    await tb.apply(
        model.set_policy(
            2,
            PortPolicy(
                trust=True,
                rx_promisc=True,
                vlan_strip=True,
                rx_allmulti=False,
                rx_mcast=True,
                mcs=[mac_bytes("01:00:5e:00:00:05")],
            ),
        )
    )
    for dst in ("ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:05", "01:00:5e:00:00:06", ext_mac(9)):
        t.send(up, udp_frame(dst, ext_mac(3), next(seq), 90))
        t.send(0, udp_frame(dst, mac_of(0), next(seq), 90, vid=100))
    t.send(up, udp_frame(mac_of(2), ext_mac(3), next(seq), 90, vid=100))
    await t.run()
    assert await tb.reg_read(0x2000 + 0x80 * 1 + 0x10) == 0b101  # link, allmulti (clamped)
    assert await tb.reg_read(0x2000 + 0x80 * 2 + 0x10) == 0b011  # link, promisc

    await tb.apply(model.set_policy(1, PortPolicy(link="disable")))
    await tb.apply(model.set_policy(2, PortPolicy(link="enable")))
    await tb.apply(model.set_uplink_link(False))
    for src in (0, 1, 2, up):
        for dst in ("ff:ff:ff:ff:ff:ff", mac_of(1), mac_of(2)):
            t.send(src, udp_frame(dst, mac_of(src), next(seq), 80))
    await t.run()
    await tb.apply(model.set_uplink_link(True))

    # rate limit: no refill, 1000-byte bucket
    await tb.apply(model.set_policy(1, PortPolicy(rate_enable=True, rate_inc=0, rate_burst=1000)))
    for size in (300, 300, 300, 300, 90, 64):
        t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), size))
    await t.run()
    assert model.counters[1].drops.get(DropReason.RATE) == 2
    dut._log.info("policy coverage: %s", dict(sorted(t.cov.items())))


@cocotb.test()
async def test_rate(dut):
    """Token bucket refill: sustained rate within the configured bound."""
    tb, model = await setup(dut)
    inc, burst, size = 64, 2000, 500  # 0.25 byte/cycle
    await tb.apply(
        model.set_policy(1, PortPolicy(rate_enable=True, rate_inc=inc, rate_burst=burst))
    )
    for i in range(60):
        tb.send(1, udp_frame(ext_mac(1), mac_of(1), i, size))
    await tb.run_traffic(drain_cycles=16)
    passed = len(tb.received[tb.num_func])
    cycles = tb.cycles
    bound = (burst + inc * cycles / 256) / size
    dut._log.info("rate: %d of 60 passed in %d cycles, bound %.1f", passed, cycles, bound)
    assert burst // size <= passed <= bound + 1
    assert passed < 60


def random_policy(rng: random.Random, port: int) -> PortPolicy:
    pol = PortPolicy(
        spoofchk=rng.random() < 0.4,
        trust=rng.random() < 0.5,
        link=rng.choice(["auto"] * 6 + ["enable", "disable"]),
        vlan_filter=rng.random() < 0.4,
        vlan_strip=rng.random() < 0.3,
        rx_ucast=rng.random() < 0.9,
        rx_mcast=rng.random() < 0.5,
        rx_bcast=rng.random() < 0.8,
        rx_allmulti=rng.random() < 0.5,
        rx_promisc=rng.random() < 0.3,
        smacs=[mac_bytes(mac_of(port))],
        vlans=rng.sample([7, 100, 200], rng.randrange(0, 3)),
        mcs=[mac_bytes("01:00:5e:00:00:01")] if rng.random() < 0.5 else [],
    )
    if rng.random() < 0.3:
        pol.pvid, pol.pcp = rng.choice([7, 100]), rng.randrange(8)
    if rng.random() < 0.25:
        pol.rate_enable, pol.rate_burst = True, rng.choice([3000, 20000])
    return pol


def close_policy_coverage(rng: random.Random, pols: list[PortPolicy]) -> None:
    """Constrain one round's random policies so that the policy-dependent outcomes the
    random test must cover can occur: a port sending into an exhausted rate bucket
    (DROP_RATE), a port filtering its VLANs (DROP_SPOOF_VLAN), a port with its link
    disabled (DROP_LINK_DOWN), and a port that strips and reports tags
    (``strip reported``). Each is forced on a distinct port,
    only when no port of the round already has it."""
    order = rng.sample(range(len(pols)), len(pols))
    if not any(p.rate_enable and p.rate_burst == 3000 and p.link != "disable" for p in pols):
        pol = pols[order[0]]
        pol.rate_enable, pol.rate_burst, pol.link = True, 3000, "auto"
    if not any(
        p.vlan_strip and p.pvid is None and not p.vlan_filter and p.link != "disable" for p in pols
    ):
        pol = pols[order[1 % len(pols)]]
        pol.vlan_strip, pol.pvid, pol.vlan_filter, pol.link = True, None, False, "auto"
        pol.rx_ucast = pol.rx_bcast = True
    if not any(p.vlan_filter and p.pvid is None and p.link != "disable" for p in pols):
        pol = pols[order[0]]
        pol.vlan_filter, pol.pvid, pol.link = True, None, "auto"
    if not any(p.link == "disable" for p in pols):
        pols[order[-1]].link = "disable"


@cocotb.test()
async def test_random(dut):
    """Constrained-random policy and traffic on every port, random valid gaps and output
    backpressure, checked against the model; coverage of decisions reported."""
    seed = int(os.environ.get("ESW_SEED", "7"))
    frames = int(os.environ.get("ESW_FRAMES", "600"))
    rng = random.Random(seed)
    tb, model = await setup(dut, out_ready_p=0.6, in_valid_p=0.8, seed=seed)
    await program_functions(tb, model)
    for f in range(tb.num_func):
        await tb.apply(model.set_entry(2 * tb.num_func + f, mac_of(f), 7, f))
    t = Traffic(tb, model)
    for rnd in range(2):
        pols = [random_policy(rng, f) for f in range(tb.num_func)]
        close_policy_coverage(rng, pols)
        for f in range(tb.num_func):
            await tb.apply(model.set_policy(f, pols[f]))
        for seq in range(frames // 2):
            seq += rnd * frames
            src = rng.randrange(tb.num_ports)
            kind = rng.choice(
                [
                    "local",
                    "local",
                    "unknown",
                    "bcast",
                    "mcast",
                    "tagged",
                    "tagged",
                    "runt",
                    "big",
                    "spoof",
                    "qinq",
                    "meta",
                ]
            )
            t.hit(f"kind:{kind}")
            size = rng.choice([60, 64, 65, 128, 200, 511, 512, 513, 1024, 1518])
            dst = mac_of(rng.randrange(tb.num_func))
            smac = mac_of(src) if src < tb.num_func else ext_mac(seq)
            vid = rng.choice([None, 7, 100, 200]) if kind in ("tagged", "bcast", "local") else None
            meta = TxMeta(src_func=src)
            if kind == "unknown":
                dst = ext_mac(seq)
            elif kind == "bcast":
                dst = "ff:ff:ff:ff:ff:ff"
            elif kind == "mcast":
                dst = rng.choice(["01:00:5e:00:00:01", "33:33:00:00:00:01"])
            elif kind == "spoof":
                smac = "02:66:66:66:66:66"
            elif kind == "meta":
                meta = TxMeta(src, True, rng.randrange(8) << 13 | rng.choice([7, 100, 300]))
            elif kind == "big":
                size = rng.choice([4000, 9018, 9019])
            if kind == "runt":
                f = raw_frame(dst, smac, seq, rng.randrange(1, 20))
            elif kind == "qinq":
                f = raw_frame(dst, smac, seq, size, etype=0x88A8)
            elif size > 1518:
                f = raw_frame(dst, smac, seq, size)
            else:
                f = udp_frame(dst, smac, seq, size, vid)
            t.send(src, f, meta)
        await t.run(max_cycles=2_000_000)
    dut._log.info(
        "random seed %d: %d frames, %d cycles; coverage %s",
        seed,
        frames,
        tb.cycles,
        dict(sorted(t.cov.items())),
    )
    missing = [r.name for r in DropReason if f"drop:{r.name}" not in t.cov]
    missing += [
        k
        for k in ("replicated", "tag inserted", "tag stripped", "strip reported")
        if k not in t.cov
    ]
    assert not missing, f"coverage holes: {missing}"


@cocotb.test()
async def test_throughput(dut):
    """Disjoint pairs run concurrently at one beat per cycle each."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    exp: list[Delivery] = []
    n = 40
    # port p -> port p+1 (mod functions), uplink -> function 0 ... disjoint outputs
    pairs = [(f, (f + 1) % tb.num_func) for f in range(tb.num_func)]
    for i in range(n):
        for src, dst in pairs:
            f = udp_frame(mac_of(dst), mac_of(src), i, 256)
            tb.send(src, f)
            exp += model.ingress(src, f)
    await tb.run_traffic(drain_cycles=8)
    tb.check(exp)
    beats = len(exp) * (256 // tb.keep_w)
    cycles = tb.cycles - 8
    rate = beats / cycles
    dut._log.info("throughput: %d beats over %d outputs in %d cycles", beats, len(pairs), cycles)
    # store-and-forward adds a fixed latency; steady state must be ~1 beat/cycle/output
    assert rate > 0.8 * len(pairs), f"aggregate {rate:.2f} beats/cycle for {len(pairs)} pairs"
