"""Fast AXI-Stream source and sink for a block's frame ports (one beat per Python wake-up).

cocotbext-axi's AxiStreamSource/Sink cost about 90 µs per beat here (design
brief §5); these drive and sample whole ``DATA_W`` beats as integers, sleep on
the rising edge of ``tvalid`` while a sink has nothing to take, and stamp each
frame with the clock cycle of its first and last beat, which the benchmarks
and the latency checks need. Byte 0 of a frame is ``tdata[7:0]`` and ``tkeep``
is contiguous from bit 0 on the last beat (ARCHITECTURE.md §1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, RisingEdge


class StreamProtocolError(AssertionError):
    """A beat broke the stream rules of ARCHITECTURE.md §1."""


@dataclass
class StreamFrame:
    """A frame seen on (or sent to) a stream, with the cycles of its first and last beat."""

    data: bytes
    user: int = 0
    idle_before: int = 0  # source: idle cycles before the first beat
    first_cycle: int = -1
    last_cycle: int = -1


def _cycle(period_ns: int) -> int:
    return int(get_sim_time("ns")) // period_ns


class _StreamPort:
    """Binds ``<prefix>_t*`` handles of an AXI-Stream port (sink or source side)."""

    dut: Any
    prefix: str

    def _bind_signals(self) -> None:
        d, p = self.dut, self.prefix
        self._clk = d.clk
        self._valid = getattr(d, f"{p}_tvalid")
        self._ready = getattr(d, f"{p}_tready")
        self._data = getattr(d, f"{p}_tdata")
        self._keep = getattr(d, f"{p}_tkeep")
        self._last = getattr(d, f"{p}_tlast")
        self._user = getattr(d, f"{p}_tuser")
        self._nb = len(self._keep)


@dataclass
class StreamSink(_StreamPort):
    """Takes frames from ``{prefix}_t*``; ``pause`` yields True for cycles with ``tready`` low."""

    dut: Any
    prefix: str
    period_ns: int = 4
    pause: Iterator[bool] | None = None
    frames: deque[StreamFrame] = field(default_factory=deque)
    count: int = 0
    beats: int = 0
    on_frame: list[Callable[[StreamFrame], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._bind_signals()
        self._full = (1 << self._nb) - 1
        self._event = Event()
        self._ready.value = 1 if self.pause is None else 0
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        self._task.cancel()

    async def wait_count(self, n: int) -> None:
        """Wait until ``n`` frames have been taken in all (frames stay queued)."""
        while self.count < n:
            self._event.clear()
            await self._event.wait()

    async def recv(self) -> StreamFrame:
        while not self.frames:
            self._event.clear()
            await self._event.wait()
        return self.frames.popleft()

    async def _run(self) -> None:
        edge = RisingEdge(self._clk)
        rise = RisingEdge(self._valid)
        ready = self.pause is None
        buf = bytearray()
        first = -1
        user = 0
        while True:
            if self.pause is None and not self._valid.value:
                await rise  # the beat is taken at the next clock edge
            await edge
            if ready and self._valid.value:
                keep = int(self._keep.value)
                last = bool(self._last.value)
                u = int(self._user.value)
                if not buf:
                    first = _cycle(self.period_ns)
                    user = u
                elif u != user:
                    raise StreamProtocolError(f"{self.prefix}: tuser changed inside a frame")
                n = self._nb if keep == self._full else keep.bit_length()
                if keep != (1 << n) - 1 or (keep != self._full and not last):
                    raise StreamProtocolError(f"{self.prefix}: tkeep {keep:#x} not contiguous")
                buf += int(self._data.value).to_bytes(self._nb, "little")[:n]
                self.beats += 1
                if last:
                    f = StreamFrame(
                        bytes(buf), user, first_cycle=first, last_cycle=_cycle(self.period_ns)
                    )
                    buf = bytearray()
                    self.count += 1
                    self.frames.append(f)
                    for hook in self.on_frame:
                        hook(f)
                    self._event.set()
            if self.pause is not None:
                nxt = not next(self.pause)
                if nxt != ready:
                    self._ready.value = int(nxt)
                    ready = nxt


@dataclass
class StreamSource(_StreamPort):
    """Sends frames on ``{prefix}_t*``, one beat per cycle; ``gaps`` yields True for idle cycles."""

    dut: Any
    prefix: str
    period_ns: int = 4
    gaps: Iterator[bool] | None = None
    sent: list[StreamFrame] = field(default_factory=list)
    _queue: deque[StreamFrame] = field(default_factory=deque, init=False)

    def __post_init__(self) -> None:
        self._bind_signals()
        self._valid.value = 0
        self._event = Event()
        self._idle = Event()
        self._idle.set()
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        self._task.cancel()

    def send_nowait(self, data: bytes, user: int = 0, idle_before: int = 0) -> StreamFrame:
        f = StreamFrame(data, user, idle_before=idle_before)
        self._queue.append(f)
        self._idle.clear()
        self._event.set()
        return f

    @property
    def idle(self) -> bool:
        return not self._queue and self._idle.is_set()

    async def wait_idle(self) -> None:
        while not self.idle:
            await self._idle.wait()

    def _beats(self, f: StreamFrame) -> list[tuple[int, int, int]]:
        nb = self._nb
        out = []
        for off in range(0, len(f.data), nb):
            chunk = f.data[off : off + nb]
            last = off + nb >= len(f.data)
            out.append((int.from_bytes(chunk, "little"), (1 << len(chunk)) - 1, int(last)))
        return out

    async def _run(self) -> None:
        edge = RisingEdge(self._clk)
        while True:
            if not self._queue:
                self._idle.set()
                self._event.clear()
                await self._event.wait()
                # start on a clock edge so the first beat is held for a whole cycle
                await edge
            f = self._queue.popleft()
            for _ in range(f.idle_before):
                await edge
            self._user.value = f.user
            for data, keep, last in self._beats(f):
                if self.gaps is not None:
                    while next(self.gaps):
                        await edge
                self._data.value = data
                self._keep.value = keep
                self._last.value = last
                self._valid.value = 1
                while True:
                    await edge
                    if self._ready.value:
                        break
                if f.first_cycle < 0:
                    f.first_cycle = _cycle(self.period_ns)
                if last:
                    f.last_cycle = _cycle(self.period_ns)
                self._valid.value = 0
            self.sent.append(f)
