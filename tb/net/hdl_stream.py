"""The uplink's wire in HDL: Python's side of ``sim/tops/sim_stream_source.sv`` and
``sim_stream_sink.sv`` (no Python per beat, docs/SIM_SPEED.md).

:class:`HdlStreamSource` and :class:`HdlStreamSink` replace
:class:`~tb.net.axis_fast.FastStreamSource`/``FastStreamSink`` where the model
contains the SV stream ends (``sim/tops/nic_sim_top.sv``): ``send()`` hands the
whole frame to ``sim/dpi/stream.cpp`` and returns, the SV module asks C for a
beat once per clock edge and drives it; the sink's module hands every accepted
beat to C, which assembles the frame, and Python wakes only when it waits for
frames (a value change of the module's frame count once enough are complete).
Timing is FastStreamSource's, WirePacing included; tests/test_hdl_stream.py
checks both ends against cocotbext-axi and FastStreamSource edge by edge.

Not supported, unlike the Python models: a pause generator (the HDL sink's
``tready`` is always high, the source never pauses by itself) and frames
queued before the constructor (the constructor opens the channel empty).
"""

from __future__ import annotations

import ctypes
from collections import deque
from collections.abc import Iterable
from functools import cache
from typing import Any

import cocotb
import numpy as np
from cocotb.handle import HierarchyObject
from cocotb.triggers import FallingEdge, RisingEdge
from cocotb.utils import get_sim_steps, get_sim_time

from tb.net.axis_fast import StreamFrame, WirePacing, frame_bytes
from tb.simlib import loaded_library_path


@cache
def _lib() -> Any:
    lib = ctypes.CDLL(str(loaded_library_path()))
    i32, i64, u64 = ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64
    p64 = ctypes.POINTER(i64)
    vp = ctypes.c_void_p
    sig: dict[str, tuple[list[Any], Any]] = {
        "simstream_source_open": ([i32, i32], None),
        "simstream_source_pacing": ([i32, i32, ctypes.c_double, ctypes.c_double, i32], None),
        "simstream_source_push": ([i32, ctypes.c_char_p, i64, ctypes.c_double], None),
        "simstream_source_queued": ([i32], i64),
        "simstream_source_busy": ([i32], i32),
        "simstream_source_done": ([i32], u64),
        "simstream_source_clear": ([i32], None),
        "simstream_sink_open": ([i32, i32], None),
        "simstream_sink_pending": ([i32, p64], i64),
        "simstream_sink_take": ([i32, i64, ctypes.c_char_p, vp, vp, vp], None),
        "simstream_sink_busy": ([i32], i32),
        "simstream_sink_notify": ([i32, i64], None),
        "simstream_sink_close": ([i32], None),
    }
    for name, (args, res) in sig.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


def _take_batch(lib: Any, channel: int) -> tuple[Any, np.ndarray]:
    """The bytes of every frame a sink or tap channel has completed, back to back, and
    their lengths, first-beat and last-beat times in ns as three rows (C forgets them).
    Two foreign calls per batch, whatever its size."""
    total = ctypes.c_int64()
    n = lib.simstream_sink_pending(channel, ctypes.byref(total))
    meta = np.empty((3, n), dtype=np.int64)  # lengths, first-beat ns, last-beat ns
    if n == 0:
        return None, meta
    buf = ctypes.create_string_buffer(max(total.value, 1))
    base, row = meta.ctypes.data, 8 * n
    lib.simstream_sink_take(channel, n, buf, base, base + row, base + 2 * row)
    return buf, meta


def take_frames(lib: Any, channel: int) -> list[tuple[bytes, int, int]]:
    """The frames a sink or tap channel has completed, oldest first, each with the
    simulated time in ns of its first and last beat."""
    buf, meta = _take_batch(lib, channel)
    if buf is None:
        return []
    raw = buf.raw
    lens, starts, ends = meta.tolist()
    out = []
    pos = 0
    for size, start, end in zip(lens, starts, ends, strict=True):
        out.append((raw[pos : pos + size], start, end))
        pos += size
    return out


class HdlStreamTap:
    """One ``sim_stream_tap`` channel: frames seen on a stream, taken when Python asks.

    ``open()`` starts collecting (a channel not opened collects nothing), ``take()``
    returns what completed since, ``close()`` stops and forgets.
    """

    def __init__(self, channel: int, byte_lanes: int) -> None:
        self.channel = channel
        self.byte_lanes = byte_lanes
        self._lib = _lib()

    def open(self) -> None:
        self._lib.simstream_sink_open(self.channel, self.byte_lanes)

    def take(self) -> list[tuple[bytes, int, int]]:
        """Frames completed since the last take: ``(bytes, first_ns, last_ns)``."""
        return take_frames(self._lib, self.channel)

    def close(self) -> None:
        self._lib.simstream_sink_close(self.channel)


class _HdlEnd:
    """One SV stream end: ``<prefix>_rst`` (held for the first edge), ``<prefix>_frames``,
    and its channel in sim/dpi/stream.cpp (the module's CHANNEL parameter)."""

    def __init__(self, dut: HierarchyObject, prefix: str, clock: Any, channel: int) -> None:
        self.clock = clock
        self.channel = channel
        self._rst = getattr(dut, f"{prefix}_rst")
        self._frames = getattr(dut, f"{prefix}_frames")
        self._lib = _lib()
        self._rst.value = 1  # drops a beat a previous test left on the wire
        cocotb.start_soon(self._release())

    async def _release(self) -> None:
        await RisingEdge(self.clock)
        self._rst.value = 0

    def set_pause_generator(self, generator: Iterable[int] | None = None) -> None:
        raise NotImplementedError(
            f"{type(self).__name__}: the HDL stream ends never pause; backpressure on the "
            "uplink needs FastStreamSource/FastStreamSink (NIC_HOST_BUS=python builds nic_top)"
        )

    def clear_pause_generator(self) -> None:
        """Nothing to clear: no pause generator can be set."""


class HdlStreamSource(_HdlEnd):
    """Frames into ``sim_stream_source``; ``send()`` never blocks (unbounded queue in C).

    Also reads ``<prefix>_busy`` (frames queued or on the wire, as of the last edge).
    """

    def __init__(
        self,
        dut: HierarchyObject,
        prefix: str,
        clock: Any,
        channel: int,
        byte_lanes: int,
        pacing: WirePacing | None = None,
    ) -> None:
        super().__init__(dut, prefix, clock, channel)
        self.byte_lanes = byte_lanes
        self._lib.simstream_source_open(channel, self.byte_lanes)
        self.pacing = pacing
        self._busy = getattr(dut, f"{prefix}_busy")

    @property
    def pacing(self) -> WirePacing | None:
        return self._pacing

    @pacing.setter
    def pacing(self, pacing: WirePacing | None) -> None:
        self._pacing = pacing
        p = pacing or WirePacing()
        self._lib.simstream_source_pacing(
            self.channel, pacing is not None, p.bits_per_cycle, p.period_ns, p.overhead_bytes
        )

    async def send(self, frame: object) -> None:
        self.send_nowait(frame)

    def send_nowait(self, frame: object) -> None:
        data = frame_bytes(frame)
        self._lib.simstream_source_push(self.channel, data, len(data), get_sim_time("ns"))

    def count(self) -> int:
        return int(self._lib.simstream_source_queued(self.channel))

    def empty(self) -> bool:
        return self.count() == 0

    def full(self) -> bool:
        return False

    def clear(self) -> None:
        """Drop the frames not yet started (a frame on the wire finishes)."""
        self._lib.simstream_source_clear(self.channel)

    def idle(self) -> bool:
        return self.empty() and not self._lib.simstream_source_busy(self.channel)

    async def wait(self) -> None:
        """Until every queued frame's last beat has been taken (one wake-up: ``busy`` falls)."""
        while not self.idle():
            await FallingEdge(self._busy)


class HdlStreamSink(_HdlEnd):
    """Frames out of ``sim_stream_sink``; its ``tready`` is always high.

    Frames queue in C until Python looks (``count()``, ``recv*()``, ``wait()``); the
    module's ``<prefix>_frames`` changes only when a waiter asked for a wake-up.
    """

    def __init__(
        self, dut: HierarchyObject, prefix: str, clock: Any, channel: int, byte_lanes: int
    ) -> None:
        super().__init__(dut, prefix, clock, channel)
        self.byte_lanes = byte_lanes
        self._lib.simstream_sink_open(channel, self.byte_lanes)
        self.queue: deque[StreamFrame] = deque()
        self._steps_per_ns = get_sim_steps(1, "ns")

    def _take(self) -> int:
        """Move the frames C has completed into ``queue``; how many."""
        got = take_frames(self._lib, self.channel)
        steps = self._steps_per_ns
        self.queue.extend(StreamFrame(data, a * steps, b * steps) for data, a, b in got)
        return len(got)

    async def recv(self, compact: bool = True) -> StreamFrame:
        await self.wait()
        return self.queue.popleft()

    def take_lengths(self) -> np.ndarray:
        """The lengths of every frame received so far, oldest first, the frames dropped
        (a receiver that counts and sizes frames without keeping them: one array per
        batch, no object per frame)."""
        queued = [len(f.tdata) for f in self.queue]
        self.queue.clear()
        _, meta = _take_batch(self._lib, self.channel)
        return np.concatenate([np.array(queued, dtype=np.int64), meta[0]])

    def recv_nowait(self, compact: bool = True) -> StreamFrame:
        if not self.queue:  # what is queued here is older than anything still in C
            self._take()
        return self.queue.popleft()

    async def read(self, count: int = -1) -> bytes:
        return (await self.recv()).tdata

    def count(self) -> int:
        self._take()
        return len(self.queue)

    def empty(self) -> bool:
        return not self.queue and self.count() == 0

    def clear(self) -> None:
        self._take()
        self.queue.clear()

    def idle(self) -> bool:
        return not self._lib.simstream_sink_busy(self.channel)

    async def wait(self, frames: int = 1) -> None:
        """Until ``frames`` frames are queued here: one wake-up, at the edge the last of them
        completes (nothing wakes Python while nobody waits)."""
        change = self._frames.value_change
        while (have := self.count()) < frames:
            self._lib.simstream_sink_notify(self.channel, frames - have)
            await change
