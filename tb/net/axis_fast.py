"""AXI-Stream source and sink that wake Python only while something moves.

A deliberate replacement of cocotbext-axi's ``AxiStreamSource``/``AxiStreamSink``
on the NIC's uplink (see docs/SIM_SPEED.md): those wake on every clock and read
``tdata`` once per byte lane per beat, which was 89 % of the testbench's wall
time. Here:

* the sink sleeps on a rising ``tvalid`` when idle; while a frame is in flight
  it reads ``tvalid`` once per cycle and ``tdata``/``tkeep``/``tlast`` once per
  accepted beat, and assembles the frame with ``int.to_bytes``;
* the source sleeps while its queue is empty, and while frames are queued it
  drives them beat by beat, back to back, reading ``tready`` once per cycle and
  writing ``tkeep``/``tlast`` only when they change.

Signals are sampled right after the rising clock edge, as cocotbext-axi does,
so the handshake timing is the same: a frame passed to ``send()`` shows its
first beat after the next rising edge, and frames follow each other without a
gap. cocotbext-axi stays the reference: tests/test_axis_fast.py sends the same
random frames through both and compares them.

Only ``tdata``/``tkeep``/``tlast``/``tvalid``/``tready`` are supported (no
``tid``/``tdest``/``tuser``), with 8-bit bytes; reset is not watched (drive
traffic after reset, as NicTb does). Backpressure: ``set_pause_generator()`` as
in cocotbext-axi; with a generator set, the model wakes every cycle.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cocotb
from cocotb.handle import HierarchyObject
from cocotb.triggers import ClockCycles, Event, RisingEdge
from cocotb.utils import get_sim_time

from tb.sigio import int_reader, int_writer


@dataclass
class StreamFrame:
    """One received frame: its bytes (only those whose ``tkeep`` bit was set)."""

    tdata: bytes
    sim_time_start: int = 0
    sim_time_end: int = 0

    def __bytes__(self) -> bytes:
        return self.tdata

    def __len__(self) -> int:
        return len(self.tdata)


def frame_bytes(frame: object) -> bytes:
    """A frame to send (bytes, or anything with ``tdata``) as bytes; empty is refused."""
    data = bytes(getattr(frame, "tdata", frame))  # type: ignore[arg-type]
    if not data:
        raise ValueError("an AXI-Stream frame needs at least one byte")
    return data


class _Port:
    def __init__(self, dut: HierarchyObject, prefix: str, clock) -> None:
        self.clock = clock
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tkeep = getattr(dut, f"{prefix}_tkeep")
        self.tlast = getattr(dut, f"{prefix}_tlast")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.byte_lanes = len(self.tdata) // 8
        self.full_keep = (1 << self.byte_lanes) - 1
        self._pause: Iterator[int] | None = None

    def _handles(self) -> tuple:
        """The five signal handles, for the run loops to keep in locals (hot path)."""
        return self.tdata, self.tkeep, self.tlast, self.tvalid, self.tready

    def _readers(self) -> tuple:
        """Fast value readers of the five signals (tb/sigio.py), same order."""
        return tuple(int_reader(h) for h in self._handles())

    def _writers(self) -> tuple:
        """Fast value writers of the five signals (tb/sigio.py), same order."""
        return tuple(int_writer(h) for h in self._handles())

    def set_pause_generator(self, generator: Iterable[int] | None = None) -> None:
        self._pause = iter(generator) if generator is not None else None

    def clear_pause_generator(self) -> None:
        self._pause = None

    def _paused(self) -> bool:
        p = self._pause
        if p is None:
            return False
        try:
            return bool(next(p))
        except StopIteration:
            self._pause = None
            return False


@dataclass(frozen=True)
class WirePacing:
    """Frame starts no earlier than an Ethernet link of ``rate_bps`` would start them.

    Each frame takes its own bytes plus ``overhead_bytes`` (preamble, SFD and
    inter-frame gap: 20 bytes) on the wire; at 100 Gb/s and 250 MHz that is
    400 bits per cycle, e.g. one 1518-byte frame per 30.76 cycles, where the
    512-bit stream alone could carry one per 24. A frame starts at the first
    edge at or after the link's start, and the link's fractional time carries
    on to the next frame (as a MAC hands frames to the bus), so a backlogged
    source offers exactly the link's rate on average.
    """

    rate_bps: float = 100e9
    period_ns: float = 4.0
    overhead_bytes: int = 20

    @property
    def bits_per_cycle(self) -> float:
        return self.rate_bps * self.period_ns * 1e-9

    def cycles(self, frame_bytes: int) -> float:
        return (frame_bytes + self.overhead_bytes) * 8 / self.bits_per_cycle


class FastStreamSource(_Port):
    """Drives queued frames onto ``<prefix>_t*``; ``send()`` never blocks (unbounded queue).

    With ``pacing``, a frame starts no earlier than the link rate allows after
    the previous one (an idle gap is one ``ClockCycles`` wait, not a wake-up
    per cycle); without it, frames follow each other back to back.
    """

    def __init__(
        self, dut: HierarchyObject, prefix: str, clock, pacing: WirePacing | None = None
    ) -> None:
        super().__init__(dut, prefix, clock)
        self.pacing = pacing
        self._next_start = 0.0  # earliest cycle the next frame may start (pacing)
        self.queue: deque[bytes] = deque()
        self.active = False
        self._wake = Event()
        self._idle = Event()
        self._idle.set()
        self.tvalid.value = 0
        self.tlast.value = 0
        self.tkeep.value = 0
        self.tdata.value = 0
        self._task = cocotb.start_soon(self._run())

    async def send(self, frame: object) -> None:
        self.send_nowait(frame)

    def send_nowait(self, frame: object) -> None:
        data = frame_bytes(frame)
        self.queue.append(data)
        self._idle.clear()
        self._wake.set()

    def count(self) -> int:
        return len(self.queue)

    def empty(self) -> bool:
        return not self.queue

    def full(self) -> bool:
        return False

    def clear(self) -> None:
        self.queue.clear()

    def idle(self) -> bool:
        return self.empty() and not self.active

    async def wait(self) -> None:
        await self._idle.wait()

    async def _run(self) -> None:
        edge = RisingEdge(self.clock)
        put_data, put_keep, put_last, put_valid, _ = self._writers()
        get_ready = self._readers()[4]
        nb = self.byte_lanes
        full_keep = self.full_keep
        queue = self.queue
        while True:
            if not queue:
                self.active = False
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            # tvalid is low: the first beat goes out after the next edge.
            await edge
            self.active = True
            keep_now = -1
            last_now = -1
            driving = False
            while queue:
                data = queue.popleft()
                n = len(data)
                beats = -(-n // nb)
                if self.pacing is not None:
                    now = get_sim_time("ns") / self.pacing.period_ns
                    if now + 1 < self._next_start:
                        if driving:
                            put_valid(0)
                            driving = False
                        await ClockCycles(self.clock, math.ceil(self._next_start - now - 1))
                        now = get_sim_time("ns") / self.pacing.period_ns
                    # The first beat goes out on the edge after this one. Less than a cycle
                    # after the link's start is the edge quantizing it: the link's time is
                    # kept, so the average rate is the link's (a 64-byte frame every 1.68
                    # cycles at 100 GbE, not every 2).
                    start = now + 1
                    if start - self._next_start < 1:
                        start = self._next_start
                    self._next_start = start + self.pacing.cycles(n)
                for b in range(beats):
                    while self._paused():
                        if driving:
                            put_valid(0)
                            driving = False
                        await edge
                    chunk = data[b * nb : (b + 1) * nb]
                    put_data(int.from_bytes(chunk, "little"))
                    keep = full_keep if len(chunk) == nb else (1 << len(chunk)) - 1
                    if keep != keep_now:
                        put_keep(keep)
                        keep_now = keep
                    last = 1 if b == beats - 1 else 0
                    if last != last_now:
                        put_last(last)
                        last_now = last
                    if not driving:
                        put_valid(1)
                        driving = True
                    # Hold the beat until an edge sees tready high; the next
                    # beat is driven right after that edge.
                    await edge
                    while not get_ready():
                        await edge
            put_valid(0)
            if last_now == 1:
                put_last(0)


class FastStreamSink(_Port):
    """Collects frames from ``<prefix>_t*``; ``tready`` stays high unless paused."""

    def __init__(self, dut: HierarchyObject, prefix: str, clock) -> None:
        super().__init__(dut, prefix, clock)
        self.queue: deque[StreamFrame] = deque()
        self.active = False
        self._frame_ready = Event()
        self._ready_now = 1
        self._buf = bytearray()
        self._start = 0
        self.tready.value = 1
        self._task = cocotb.start_soon(self._run())

    def set_pause_generator(self, generator: Iterable[int] | None = None) -> None:
        super().set_pause_generator(generator)
        self._restart()

    def clear_pause_generator(self) -> None:
        super().clear_pause_generator()

    def _restart(self) -> None:
        # A sleeping sink must start driving tready per cycle at once.
        self._task.cancel()
        self._task = cocotb.start_soon(self._run())

    async def recv(self, compact: bool = True) -> StreamFrame:
        while not self.queue:
            self._frame_ready.clear()
            await self._frame_ready.wait()
        return self.queue.popleft()

    def recv_nowait(self, compact: bool = True) -> StreamFrame:
        return self.queue.popleft()

    async def read(self, count: int = -1) -> bytes:
        return (await self.recv()).tdata

    def count(self) -> int:
        return len(self.queue)

    def empty(self) -> bool:
        return not self.queue

    def clear(self) -> None:
        self.queue.clear()

    def idle(self) -> bool:
        return not self.active

    async def wait(self) -> None:
        while not self.queue:
            self._frame_ready.clear()
            await self._frame_ready.wait()

    async def _run(self) -> None:
        edge = RisingEdge(self.clock)
        tvalid = self.tvalid
        get_data, get_keep, get_last, get_valid, _ = self._readers()
        put_ready = self._writers()[4]
        nb = self.byte_lanes
        full_keep = self.full_keep
        valid_rise = RisingEdge(tvalid)
        # On the instance, so a restart (set_pause_generator) keeps a frame in flight.
        buf = self._buf
        while True:
            if self._pause is None:
                if not self._ready_now:
                    put_ready(1)
                    self._ready_now = 1
                if not buf and not get_valid():
                    # Idle: sleep until the producer raises tvalid; its first
                    # beat can be accepted at the next edge.
                    self.active = False
                    await valid_rise
            else:
                ready = 0 if self._paused() else 1
                if ready != self._ready_now:
                    put_ready(ready)
                    self._ready_now = ready
            await edge
            if not (self._ready_now and get_valid()):
                continue
            if not buf:
                self._start = get_sim_time()
                self.active = True
            data = get_data()
            keep = get_keep()
            if keep == full_keep:
                buf += data.to_bytes(nb, "little")
            elif keep & (keep + 1) == 0:  # contiguous from byte 0
                buf += data.to_bytes(nb, "little")[: keep.bit_length()]
            else:
                raw = data.to_bytes(nb, "little")
                buf += bytes(raw[i] for i in range(nb) if keep >> i & 1)
            if get_last():
                self.queue.append(StreamFrame(bytes(buf), self._start, get_sim_time()))
                buf.clear()
                self.active = False
                self._frame_ready.set()
