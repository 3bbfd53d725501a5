"""Saturating traffic on the embedded switch and TX shaper measurements over it.

:class:`Saturation` offers one-beat frames back to back on function ports and
records the edges at which frames left each output; :func:`shaped_run` measures
one shaped function's rate per window against its configuration (issue #16).
Used by tests/cocotb_eswitch_shaper.py and sim/benches/eswitch_cocotb.py.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

from tb.eswitch.frames import eth_frame, ext_mac, mac_of
from tb.eswitch.harness import TB
from tb.pf_driver.switch_regs import policy_writes
from tb.ref.eswitch_model import (
    ESW_CTRL,
    ESW_CTRL_CLEAR_COUNTERS,
    ESW_CTRL_UPLINK_LINK,
    Counter,
    EswitchModel,
    PortPolicy,
    TxMeta,
    counter_addr,
)


class Saturation:
    """One-beat frames offered back to back on several function ports for a number
    of cycles (tvalid and tlast held; every output always ready), and the edges at
    which frames left on each output. Python wakes once per cycle only while
    ``dense`` (another flow at line rate); otherwise once per output frame."""

    def __init__(self, tb: TB, flows: dict[int, bytes]) -> None:
        assert all(len(f) <= tb.keep_w and p < tb.num_func for p, f in flows.items())
        self.tb, self.flows = tb, flows
        self.out: list[list[int]] = [[] for _ in range(tb.num_ports)]
        # per input port, beats taken after the offered load's end: the beat a port
        # still offered then (valid stays until ready), in ``out`` but not offered in time
        self.late = [0] * tb.num_func

    def _drive(self, on: bool) -> None:
        tb, d = self.tb, self.tb.dut
        data = keep = user = 0
        for p, frame in self.flows.items():
            data |= int.from_bytes(frame, "little") << (p * tb.data_w)
            keep |= ((1 << len(frame)) - 1) << (p * tb.keep_w)
            user |= TxMeta(src_func=p).pack() << (p * tb.meta_w)
        mask = sum(1 << p for p in self.flows) if on else 0
        d.s_axis_func_tdata.value = data
        d.s_axis_func_tkeep.value = keep
        d.s_axis_func_tlast.value = mask
        d.s_axis_func_tuser.value = user
        d.s_axis_func_tvalid.value = mask
        d.m_axis_uplink_tready.value = 1
        d.m_axis_func_tready.value = (1 << tb.num_func) - 1

    async def run(self, cycles: int, dense: bool) -> int:
        """Offer for ``cycles`` cycles, then let the switch drain; returns the edge of
        the first offered beat."""
        tb, d = self.tb, self.tb.dut
        await FallingEdge(d.clk)
        self._drive(True)
        t0 = tb.edge()
        end = t0 + cycles
        if dense:
            while tb.edge() < end:
                await FallingEdge(d.clk)
                self._sample_all()
            await self._stop(sample=True)
            until = tb.edge() + 64
            while tb.edge() < until:
                await FallingEdge(d.clk)
                self._sample_all()
        else:
            await self._sparse_uplink(end)
            await FallingEdge(d.clk)
            await self._stop(sample=False)
            await ClockCycles(d.clk, 64)
        await FallingEdge(d.clk)
        tb._idle_inputs()
        return t0

    async def _stop(self, sample: bool) -> None:
        """End the offered load from a falling edge: each port's tvalid goes only after
        the beat it offers was taken (AXI-Stream: a beat once offered stays until
        tready; a shaped port may hold it a while). The ports whose tready is high now
        take their beat at the coming edge and drop at the falling edge after it."""
        d = self.tb.dut
        on = sum(1 << p for p in self.flows)
        while on:
            taking = on & d.s_axis_func_tready.value.to_unsigned()
            for p in range(self.tb.num_func):
                self.late[p] += (taking >> p) & 1
            await FallingEdge(d.clk)
            if sample:
                self._sample_all()
            on &= ~taking
            d.s_axis_func_tvalid.value = on
            d.s_axis_func_tlast.value = on

    def _sample_all(self) -> None:
        tb, d = self.tb, self.tb.dut
        edge = tb.edge()
        v = d.m_axis_func_tvalid.value.to_unsigned() | int(d.m_axis_uplink_tvalid.value) << (
            tb.num_func
        )
        for p in range(tb.num_ports):
            if (v >> p) & 1:
                self.out[p].append(edge)

    async def _sparse_uplink(self, end: int) -> None:
        """Only the uplink carries frames: wake on its tvalid, then per cycle while it
        stays high; stops at the first frame on or after ``end``."""
        tb, d = self.tb, self.tb.dut
        valid, up = d.m_axis_uplink_tvalid, self.out[tb.num_func]
        while True:
            if not int(valid.value):
                await RisingEdge(valid)
            edge = tb.edge()
            if edge >= end:
                return
            up.append(edge)
            await RisingEdge(d.clk)
            await ReadOnly()


def window_extremes(events: list[int], start: int, end: int, window: int) -> tuple[int, int]:
    """Fewest and most events in any ``window`` consecutive edges inside [start, end)."""
    ev = sorted(e for e in events if start <= e < end)
    cands = {start, end - window}
    cands.update(e + 1 for e in ev)
    cands.update(e - window + 1 for e in ev)
    counts = [
        bisect_left(ev, s + window) - bisect_left(ev, s)
        for s in cands
        if start <= s <= end - window
    ]
    return min(counts), max(counts)


# The bucket a shaped source starts with is spent within this many cycles of its
# first frame (RATE_BURST at the line rate less the shaped rate); windows begin after.
SHAPER_WARMUP_CYCLES = 1000
SHAPER_WINDOW = 100_000


@dataclass(frozen=True)
class ShaperRun:
    """A shaped function saturating towards the uplink: per-window extremes."""

    rate_inc: int
    frame_bytes: int
    frames: int  # left on the uplink inside the measured windows
    cycles: int  # measured span
    window: int  # window length in cycles
    window_lo: int  # fewest / most bytes in any window inside the span
    window_hi: int

    @property
    def want_per_window(self) -> float:
        return self.rate_inc / 65536 * self.window

    @property
    def rate_error(self) -> float:
        """Long-run rate over the measured span, relative to the configured one."""
        return self.frames * self.frame_bytes / (self.rate_inc / 65536 * self.cycles) - 1

    @property
    def window_error(self) -> tuple[float, float]:
        w = self.want_per_window
        return self.window_lo / w - 1, self.window_hi / w - 1


async def shaped_run(
    tb: TB,
    model: EswitchModel,
    rate_inc: int,
    windows: int,
    others: bool,
    burst: int = 4096,
    window: int = SHAPER_WINDOW,
) -> ShaperRun:
    """Port 1 shaped at ``rate_inc`` saturates towards the uplink for ``windows``
    windows after the warm-up; with ``others`` every other function saturates too,
    each towards the next of them (a permutation, no output shared with port 1),
    and each of those outputs must be gapless: one frame per cycle while offered.
    Zero drops anywhere, and every counter agrees with the frames seen."""
    size = min(64, tb.keep_w)
    shaped = 1
    await tb.program(
        model,
        policy_writes(shaped, PortPolicy(rate_enable=True, rate_inc=rate_inc, rate_burst=burst)),
    )
    await tb.regs.write(ESW_CTRL, ESW_CTRL_CLEAR_COUNTERS | ESW_CTRL_UPLINK_LINK)
    model.clear_counters()
    up = tb.num_func
    flows = {shaped: eth_frame(ext_mac(1), mac_of(shaped), size, 0)}
    rest = [p for p in range(tb.num_func) if p != shaped] if others else []
    assert len(rest) != 1, "the other functions need two ports to pair among themselves"
    pairs = {p: rest[(i + 1) % len(rest)] for i, p in enumerate(rest)}
    for p, q in pairs.items():
        flows[p] = eth_frame(mac_of(q), mac_of(p), size, p)
    sat = Saturation(tb, flows)
    span = SHAPER_WARMUP_CYCLES + windows * window
    t0 = await sat.run(span, dense=bool(rest))
    start, end = t0 + SHAPER_WARMUP_CYCLES, t0 + span
    lo, hi = window_extremes(sat.out[up], start, end, window)
    measured = sum(1 for e in sat.out[up] if start <= e < end)
    # nothing dropped anywhere; every frame the shaped port took left on the uplink
    for p in flows:
        drops = await tb.regs.read(counter_addr(p, Counter.RX_DROPS))
        assert drops == 0, f"port {p}: {drops} frames dropped"
    taken = await tb.regs.read(counter_addr(shaped, Counter.RX_FRAMES))
    sent = await tb.regs.read(counter_addr(up, Counter.TX_FRAMES))
    assert taken == sent, f"shaped port took {taken} frames, the uplink sent {sent}"
    assert sent >= len(sat.out[up]) and (sent == len(sat.out[up]) or not rest)
    for p, q in pairs.items():
        got = sum(1 for e in sat.out[q] if t0 <= e < end)
        # store-and-forward of one beat: the first frame leaves 2 edges after it entered
        assert got >= span - 4, f"port {p} -> {q}: {got} frames in {span} cycles"
    return ShaperRun(rate_inc, size, measured, end - start, window, lo * size, hi * size)
