"""Harness of the embedded switch (``rtl/eswitch.sv``): clock, reset, register port
and one bus-functional model for all its stream ports, checked against tb/ref/eswitch_model.

The switch's function-side streams are packed arrays (one vector for all
functions), so instead of one cocotbext-axi agent per port this harness uses one
cycle-based bus-functional model for all ports: at each falling edge it drives
every input beat and output tready, waits for the combinational settle
(ReadOnly) and records every handshake that the next rising edge completes.
One Python wake-up pair per cycle serves all ports. The register port is driven
by :class:`tb.uvm.regport.RegPortMaster`, as every block's is.

Used by the block tests (tests/cocotb_eswitch_*.py) and the bench
(sim/benches/eswitch_cocotb.py).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from tb.eswitch.frames import mac_of
from tb.pf_driver.switch_regs import entry_writes
from tb.ref.eswitch_coverage import EswitchCoverage
from tb.ref.eswitch_model import (
    ESW_CAPS,
    Counter,
    Delivery,
    EswitchModel,
    RxMeta,
    TxMeta,
    counter_addr,
    mac_bytes,
)
from tb.uvm.regport import RegPortMaster

CLK_NS = 4  # 250 MHz nominal clock (design brief §2)
# The switch's registers are the PF's (function 0): its port has no function input.
ESW_FUNC = 0


@dataclass
class InFrame:
    port: int
    frame: bytes
    meta: TxMeta


class TB:
    """Clock, reset, register port (``regs``) and the all-ports stream BFM of one eswitch."""

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
        self.regs = RegPortMaster(dut, ESW_FUNC, CLK_NS)

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

    async def program(self, model: EswitchModel, writes: list[tuple[int, int]]) -> None:
        """Write switch registers (from the PF driver's encoder) to the RTL, and hand
        the same writes to the reference model, which decodes them itself."""
        await self.regs.apply(writes)
        model.apply_writes(writes)

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
        ingress = [
            d._id(f"g_ingress[{p}]", extended=False).u_ingress for p in range(self.num_ports)
        ]
        n, dw, kw = self.num_func, self.data_w, self.keep_w
        cur: list[list[tuple[int, int, bool]] | None] = [None] * self.num_ports
        cur_meta = [0] * self.num_ports
        idx = [0] * self.num_ports
        partial: list[bytearray] = [bytearray() for _ in range(self.num_ports)]
        in_start = [0] * self.num_ports
        out_start = [0] * self.num_ports
        quiet = 0
        # The inputs this loop drives, written only when their value changes (a write
        # costs a scheduled VPI put; an unchanged one would change nothing).
        inputs = [
            d.s_axis_func_tdata,
            d.s_axis_func_tkeep,
            d.s_axis_func_tlast,
            d.s_axis_func_tuser,
            d.s_axis_func_tvalid,
            d.s_axis_uplink_tdata,
            d.s_axis_uplink_tkeep,
            d.s_axis_uplink_tlast,
            d.s_axis_uplink_tvalid,
            d.m_axis_func_tready,
            d.m_axis_uplink_tready,
        ]
        (FUNC_TDATA, FUNC_TKEEP, FUNC_TLAST, FUNC_TUSER, FUNC_TVALID) = range(5)
        (UP_TDATA, UP_TKEEP, UP_TLAST, UP_TVALID, FUNC_TREADY, UP_TREADY) = range(5, 11)
        driven: list[int | None] = [None] * len(inputs)
        held = [False] * self.num_ports  # a beat offered and not yet taken

        def drive(i: int, value: int) -> None:
            if driven[i] != value:
                inputs[i].value = value
                driven[i] = value

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
                # a beat offered stays offered until taken (AXI-Stream: valid held
                # until ready); the draw is made either way, so a seed's stimulus
                # does not depend on when the switch was ready
                offer = self.rng.random() < self.in_valid_p
                if cur[p] is not None and (offer or held[p]):
                    valid[p] = True
            for p in range(n):
                if valid[p]:
                    data, keep, last = cur[p][idx[p]]
                    tdata |= data << (p * dw)
                    tkeep |= keep << (p * kw)
                    tlast |= int(last) << p
                    tuser |= cur_meta[p] << (p * self.meta_w)
                    tvalid |= 1 << p
            drive(FUNC_TDATA, tdata)
            drive(FUNC_TKEEP, tkeep)
            drive(FUNC_TLAST, tlast)
            drive(FUNC_TUSER, tuser)
            drive(FUNC_TVALID, tvalid)
            up = self.num_func
            if valid[up]:
                data, keep, last = cur[up][idx[up]]
                drive(UP_TDATA, data)
                drive(UP_TKEEP, keep)
                drive(UP_TLAST, int(last))
                drive(UP_TVALID, 1)
            else:
                drive(UP_TVALID, 0)
            ready = [self.rng.random() < self.out_ready_p for _ in range(self.num_ports)]
            drive(FUNC_TREADY, sum(int(r) << p for p, r in enumerate(ready[:n])))
            drive(UP_TREADY, int(ready[up]))

            await ReadOnly()
            in_ready = d.s_axis_func_tready.value.to_unsigned() | (
                int(d.s_axis_uplink_tready.value) << n
            )
            activity = False
            for p in range(self.num_ports):
                held[p] = valid[p] and not (in_ready >> p) & 1
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
            # Short-circuit: the ingress buffers are read only once the ports are quiet
            # (34 signal reads a cycle at 16 VFs otherwise).
            busy = (
                activity
                or any(cur[p] is not None or self.inq[p] for p in range(self.num_ports))
                or any(not ing.d_empty.value or not ing.i_empty.value for ing in ingress)
            )
            quiet = 0 if busy else quiet + 1
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
                got = await self.regs.read(counter_addr(p, c))
                exp = model.counters[p].value(c)
                assert got == exp, f"port {p} {c.name}: got {got} expected {exp}"
                if c in (Counter.RX_BYTES_LO, Counter.TX_BYTES_LO):
                    hi = Counter(c + 4)
                    got = await self.regs.read(counter_addr(p, hi))
                    exp = model.counters[p].value(hi)
                    assert got == exp, f"port {p} {hi.name}: got {got} expected {exp}"


async def setup(dut, **kw) -> tuple[TB, EswitchModel]:
    tb = TB(dut, **kw)
    await tb.reset()
    size = (await tb.regs.read(ESW_CAPS)) & 0xFFFF
    model = EswitchModel(num_func=tb.num_func, mac_table_size=size)
    return tb, model


async def program_functions(tb: TB, model: EswitchModel) -> None:
    """Table: each function's MAC untagged, and on VLAN 100 at the next entry."""
    for f in range(tb.num_func):
        await tb.program(model, entry_writes(2 * f, mac_of(f), 0, f))
        await tb.program(model, entry_writes(2 * f + 1, mac_of(f), 100, f))


@dataclass(frozen=True)
class Sent:
    port: int
    frame: bytes
    meta: TxMeta
    dmac: bytes  # destination the frame was built for (a runt may be shorter)


class Traffic:
    """Queues frames on the DUT. After the run it feeds them to the model in the order
    the switch decided them, each with its first and last beat's edge (the TX
    shaper's bucket depends on time), samples coverage, then checks every output
    frame and counter."""

    def __init__(self, tb: TB, model: EswitchModel) -> None:
        self.tb, self.model = tb, model
        self.cov = EswitchCoverage(tb.num_func)
        self.sent: list[list[Sent]] = [[] for _ in range(tb.num_ports)]
        self.frames = 0

    def send(
        self, port: int, frame: bytes, meta: TxMeta | None = None, dmac: str | None = None
    ) -> None:
        meta = meta or TxMeta(src_func=port)
        to = mac_bytes(dmac) if dmac is not None else frame[:6]
        if len(to) != 6:
            raise ValueError("a frame shorter than a MAC needs its dmac")
        self.tb.send(port, frame, meta)
        self.sent[port].append(Sent(port, frame, meta, to))

    def predict(self) -> list[Delivery]:
        order: list[tuple[int, int, Sent, tuple[int, int]]] = []
        for p in range(self.tb.num_ports):
            for s, times in zip(self.sent[p], self.tb.in_times[p], strict=True):
                # decided on the edge after the last beat (docs §3.2, frame end + 1)
                order.append((times[1] + 1, p, s, times))
        order.sort(key=lambda x: (x[0], x[1]))
        exp: list[Delivery] = []
        for _, p, s, times in order:
            exp += self.model.ingress(p, s.frame, s.meta, edges=times)
            assert self.model.last is not None
            self.cov.sample(p, s.dmac, self.model.last)
        return exp

    async def run(self, **kw) -> None:
        await self.tb.run_traffic(**kw)
        try:
            self.tb.check(self.predict())
        except AssertionError:
            for p in range(self.tb.num_ports):
                got = [await self.tb.regs.read(counter_addr(p, c)) for c in Counter]
                exp = [self.model.counters[p].value(c) for c in Counter]
                self.tb.dut._log.error("port %d policy %s", p, self.model.policy[p])
                self.tb.dut._log.error("port %d counters got %s exp %s", p, got, exp)
            raise
        await self.tb.check_counters(self.model)
        self.frames += sum(len(s) for s in self.sent)
        self.sent = [[] for _ in range(self.tb.num_ports)]
        self.tb.clear_received()
