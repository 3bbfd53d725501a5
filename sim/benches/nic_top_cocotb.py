"""nic_top benchmark (``make bench``): the whole NIC in simulated cycles, run by
:mod:`sim.benches.nic_top` on nic_sim_top (host bus and uplink wire in HDL, same
cycles as nic_top with the Python models, docs/SIM_SPEED.md).

Parameters from the environment: ``BENCH_OUT`` (JSON rows), ``BENCH_SIZES``,
``BENCH_PATHS`` (comma lists). Host read latency 125 cycles, at most 256 read
bursts outstanding (the DmaResponderConfig default: 8-bit PCIe tags), TX buffers
64-byte aligned,
RX buffers 2 KiB, ixgbevf's default rings (TX 1024, RX 512 entries), RX refilled every
16 buffers (ixgbevf).

Paths:

- ``vf_tx``: VF1 keeps its TX ring full of frames to the outside host; measured
  at the uplink (the last beat of each frame on the wire, from the HDL sink).
- ``vf_rx``: the outside host sends to VF1 at RX_OFFER (1.10) times the 100 GbE
  frame rate of the size (an engine that keeps up delivers more than line rate);
  measured at VF1's completion writes.
- ``vf_vf``: VF1 keeps its TX ring full of frames to VF2; measured at VF2's
  completion writes.
- ``all_tx``/``all_rx``: every VF at once in both directions on the shared host
  bus: each keeps its TX ring full to the outside host, and the outside host
  sends to every VF in turn at RX_OFFER times line rate in all. ``all_tx`` is
  measured at the uplink, ``all_rx`` at the completion writes of all VFs; each
  VF's share of the frames in the window is in ``extra``.

Window: the first quarter of each path's frames is ramp-up; frames/cycle =
(N - 1 - k) / (t[N-1] - t[k]) with k = N // 4 over the sorted arrival cycles t,
the method of sim/benches/vf_dma_cocotb.py. RX arrival = the cycle the driver is
woken by the completion write (a wake-up per write: exact to the cycle).

Latency, on an idle NIC, mean of PROBES single frames: TX from the doorbell
write's response to the frame's first beat on the uplink; RX from the edge the
frame's first beat is offered on the uplink to its completion write; VF to VF
from the doorbell write's response to VF2's completion write.

Frames the NIC drops (an RX engine slower than the offered rate) are counted by
it in ``RXQ_DROPS``; the bench reads the register and reports it (``drops``)
beside what the sender offered and the receiver got (``offered``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cocotb
from cocotb.triggers import Event

from sim.benches import steady_window, write_measurements
from sim.traffic import (
    EXT_MAC,
    TX_MODERATION,
    bring_up,
    keep_tx_ring_full,
    until_quiet,
    vf_mac,
)
from tb.guest.flows import UdpFlow
from tb.net.axis_fast import WirePacing
from tb.net.pcap import NS_PER_CYCLE
from tb.ref.regmap import Queue, queue_reg
from tb.vf_driver.queues import RxQueue, TxQueue

RX_OFFER = 1.10
RX_REFILL_BATCH = 16  # ixgbevf's IXGBEVF_RX_BUFFER_WRITE
# Ring sizes: ixgbevf's defaults (IXGBEVF_DEFAULT_TXD 1024, IXGBEVF_DEFAULT_RXD 512). A
# TX ring must hold every frame of one round trip (doorbell, descriptor read, data
# read, completion, moderated interrupt at most every 128 cycles, next doorbell:
# about 400 cycles): at 64 B, 0.6 frames/cycle, that is ~240 entries plus the
# 64-frame posting batch, more than a 256-entry ring (it held vf_tx at 0.99x).
TX_RING_LOG2 = 10
RX_RING_LOG2 = 9
PROBES = 4
QUIET_CYCLES = 3000  # a receiver that saw nothing for this long after the sender is done


def sizes() -> list[int]:
    return [int(s) for s in os.environ["BENCH_SIZES"].split(",")]


def frames_for(size: int) -> int:
    """Enough frames for a window of several thousand cycles at line rate."""
    return max(128, min(2000, 300_000 // (size + 20)))


def cycle() -> int:
    return int(cocotb.utils.get_sim_time("ns")) // NS_PER_CYCLE


class Arrivals:
    """Reaps an RX queue for the whole test and stamps every frame with the cycle its
    completion was written (the driver wakes on each completion write)."""

    def __init__(self, tb, rxq: RxQueue) -> None:
        self.tb = tb
        self.rxq = rxq
        self.cycles: list[int] = []
        self.arrived = Event()
        cocotb.start_soon(self._reap())

    async def _reap(self) -> None:
        while True:
            got = await self.rxq.wait_reaped()
            now = cycle()
            self.cycles += [now] * len(got)
            self.arrived.set()

    async def first(self) -> int:
        """The arrival cycle of the next frame (forgetting what arrived before)."""
        self.take()
        self.arrived.clear()
        await self.arrived.wait()
        return self.take()[0]

    def take(self) -> list[int]:
        out, self.cycles = self.cycles, []
        return out

    async def quiet(self, done: Event) -> None:
        """Until ``done`` is set and no frame arrived for QUIET_CYCLES."""
        await until_quiet(self.tb, lambda: len(self.cycles), done, QUIET_CYCLES)


async def _tb(dut):
    from tb.env import NicTb, TbConfig

    # ixgbevf's rings with a 9 KiB buffer per TX slot: 8 VFs need ~80 MiB of host memory
    cfg = TbConfig(seed=1, read_latency=125, mem_bytes=256 << 20)
    tb = await bring_up(NicTb(dut, cfg))
    await tb.pf.add_fdb(EXT_MAC, port=tb.num_func)
    for f in range(1, tb.num_func):
        await tb.pf.add_fdb(vf_mac(f), port=f)
    return tb


async def _open_rx(tb, f: int) -> RxQueue:
    _, rxq = tb.queues(f, size_log2=RX_RING_LOG2)
    rxq.refill_batch = RX_REFILL_BATCH
    await rxq.open()
    return rxq


async def _open_tx(tb, f: int) -> TxQueue:
    txq, _ = tb.queues(f, size_log2=TX_RING_LOG2)
    await txq.open()
    await txq.use_interrupts(tb.interrupts(), TX_MODERATION)  # TX timing is taken at the uplink
    return txq


async def _drops(tb, f: int) -> int:
    return await tb.bar(f).read(queue_reg(0, Queue.RXQ_DROPS))


def _row(path: str, size: int, arrivals: list[int], latency: float | None, **extra) -> dict:
    """One measurement; ``latency`` None where the path has no idle-NIC latency of its own."""
    frames, cycles, _, _ = steady_window(arrivals)
    return {
        "path": path,
        "frame_size": size,
        "frames": frames,
        "cycles": cycles,
        "latency_cycles": latency,
        "extra": extra,
    }


class Uplink:
    """The outside host's end of the wire: sends paced frames, stamps what arrives."""

    def __init__(self, tb) -> None:
        self.tb = tb

    def offer(self, rate: float) -> None:
        self.tb.wire_in.pacing = WirePacing(rate * 100e9, NS_PER_CYCLE)

    async def receive(self, n: int) -> list[tuple[bytes, int, int]]:
        """The next ``n`` frames out of the uplink: (bytes, first-beat cycle, last-beat cycle)."""
        out = []
        sink = self.tb.wire_out
        steps = cocotb.utils.get_sim_steps(NS_PER_CYCLE, "ns")
        while len(out) < n:
            await sink.wait(min(64, n - len(out)))
            while not sink.empty():
                fr = sink.recv_nowait()
                out.append((bytes(fr.tdata), fr.sim_time_start // steps, fr.sim_time_end // steps))
        return out


async def _tx_latency(up: Uplink, txq: TxQueue, frame: bytes) -> float:
    total = 0
    for _ in range(PROBES):
        txq.post(frame)
        await txq.ring_doorbell()
        rung = cycle()
        ((_, first, _),) = await up.receive(1)
        total += first - rung
        while txq.in_flight:
            await txq.wait_reaped()
    return total / PROBES


async def _rx_latency(tb, rx: Arrivals, frame: bytes) -> float:
    total = 0
    for _ in range(PROBES):
        arrival = cocotb.start_soon(rx.first())
        tb.wire_in.send_nowait(frame)
        sent = cycle() + 1  # an idle source drives the first beat at the next edge
        total += await arrival - sent
    return total / PROBES


@dataclass
class Bench:
    """The NIC with every VF's queues open, and the outside host."""

    tb: Any
    vfs: list[int]
    txqs: dict[int, TxQueue]
    rx: dict[int, Arrivals]
    up: Uplink

    def to_ext(self, f: int) -> UdpFlow:
        return UdpFlow(f, vf_mac(f), EXT_MAC, f"10.0.0.{f}", "10.0.0.254")

    def from_ext(self, f: int) -> UdpFlow:
        return UdpFlow(100 + f, EXT_MAC, vf_mac(f), "10.0.0.254", f"10.0.0.{f}")

    async def drops(self) -> dict[int, int]:
        return {f: await _drops(self.tb, f) for f in self.vfs}

    async def send_from_ext(self, frames: list[bytes]) -> Event:
        """Queue ``frames`` on the uplink at RX_OFFER times line rate; set when all are out."""
        self.up.offer(RX_OFFER)
        for fr in frames:
            self.tb.wire_in.send_nowait(fr)
        sent = Event()

        async def out() -> None:
            await self.tb.wire_in.wait()
            sent.set()

        cocotb.start_soon(out())
        return sent


async def vf_tx(b: Bench, size: int, n: int) -> list[dict]:
    frame = b.to_ext(1).frame(size)
    feeder = cocotb.start_soon(keep_tx_ring_full(b.txqs[1], frame, n))
    got = await b.up.receive(n)
    await feeder
    lat = await _tx_latency(b.up, b.txqs[1], frame)
    return [_row("vf_tx", size, [last for _, _, last in got], lat, vfs=1)]


async def vf_rx(b: Bench, size: int, n: int) -> list[dict]:
    frame = b.from_ext(1).frame(size)
    drops0 = await b.drops()
    await b.rx[1].quiet(await b.send_from_ext([frame] * n))
    arrivals = b.rx[1].take()
    drops = (await b.drops())[1] - drops0[1]
    lat = await _rx_latency(b.tb, b.rx[1], frame)
    return [_row("vf_rx", size, arrivals, lat, vfs=1, offered=n, drops=drops)]


async def vf_vf(b: Bench, size: int, n: int) -> list[dict]:
    if len(b.vfs) < 2:
        return []
    frame = UdpFlow(50, vf_mac(1), vf_mac(2), "10.0.0.1", "10.0.0.2").frame(size)
    drops0 = await b.drops()
    sent = Event()

    async def send() -> None:
        await keep_tx_ring_full(b.txqs[1], frame, n)
        sent.set()

    cocotb.start_soon(send())
    await b.rx[2].quiet(sent)
    arrivals = b.rx[2].take()
    drops = (await b.drops())[2] - drops0[2]
    total = 0
    for _ in range(PROBES):
        arrival = cocotb.start_soon(b.rx[2].first())
        b.txqs[1].post(frame)
        await b.txqs[1].ring_doorbell()
        rung = cycle()
        total += await arrival - rung
        while b.txqs[1].in_flight:
            await b.txqs[1].wait_reaped()
    return [_row("vf_vf", size, arrivals, total / PROBES, vfs=1, offered=n, drops=drops)]


async def all_vfs(b: Bench, size: int, n: int) -> list[dict]:
    """Every VF sends n frames to the outside host and receives n from it, at once."""
    vfs = b.vfs
    drops0 = await b.drops()
    feeders = [
        cocotb.start_soon(keep_tx_ring_full(b.txqs[f], b.to_ext(f).frame(size), n)) for f in vfs
    ]
    sent = await b.send_from_ext(
        [b.from_ext(vfs[k % len(vfs)]).frame(size) for k in range(n * len(vfs))]
    )
    got = await b.up.receive(n * len(vfs))
    for fd in feeders:
        await fd
    for f in vfs:
        await b.rx[f].quiet(sent)
    drops1 = await b.drops()
    tx = [(data[11], last) for data, _, last in got]  # the low byte of the source MAC is f
    rx = [(f, c) for f in vfs for c in b.rx[f].take()]
    return [
        _row("all_tx", size, [c for _, c in tx], None, vfs=len(vfs), **_shares(tx, vfs)),
        _row(
            "all_rx",
            size,
            [c for _, c in rx],
            None,
            vfs=len(vfs),
            offered=n * len(vfs),
            drops=sum(drops1[f] - drops0[f] for f in vfs),
            **_shares(rx, vfs),
        ),
    ]


PATHS = {"vf_tx": vf_tx, "vf_rx": vf_rx, "vf_vf": vf_vf, "all": all_vfs}


@cocotb.test()
async def nic_top_bench(dut) -> None:
    """Every path of BENCH_PATHS at every size of BENCH_SIZES."""
    tb = await _tb(dut)
    vfs = list(range(1, tb.num_func))
    txqs = {f: await _open_tx(tb, f) for f in vfs}
    rx = {f: Arrivals(tb, await _open_rx(tb, f)) for f in vfs}
    b = Bench(tb, vfs, txqs, rx, Uplink(tb))
    rows: list[dict] = []
    for size in sizes():
        for path in os.environ["BENCH_PATHS"].split(","):
            rows += await PATHS[path](b, size, frames_for(size))
    write_measurements(Path(os.environ["BENCH_OUT"]), rows)


def _shares(items: list[tuple[int, int]], vfs: list[int]) -> dict[str, float]:
    """Each VF's share of the ``(vf, cycle)`` frames inside the window, min and max."""
    _, _, lo, hi = steady_window([c for _, c in items])
    counts = dict.fromkeys(vfs, 0)
    for f, c in items:
        if lo < c <= hi:
            counts[f] += 1
    total = sum(counts.values()) or 1
    shares = [counts[f] / total for f in vfs]
    return {"share_min": min(shares), "share_max": max(shares)}
