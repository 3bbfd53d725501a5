"""Passive taps that rebuild frames from AXI-Stream handshakes (for pcap and per-port counts).

A tap may watch one lane of a packed port array (``lane``/``lanes``), as the
switch's function ports are packed vectors inside ``nic_top``. A tap sleeps on
a change of ``tvalid`` while its stream is idle and wakes once per clock only
while ``tvalid`` is high (a beat offered or in flight), reading ``tready`` only
when valid is high and ``tdata``/``tkeep``/``tlast`` once per accepted beat. On
a packed vector every change of any lane's ``tvalid`` wakes every tap of that
vector (each goes back to sleep if its own lane is low). Taps are only
started when a capture is asked for (``PCAP=1``), and only on ``nic_top``:
``nic_sim_top`` taps its streams in HDL (``sim/tops/sim_stream_tap.sv``,
``tb/net/hdl_stream.py``'s ``HdlStreamTap``), with no Python per beat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cocotb
from cocotb.triggers import RisingEdge
from cocotb.utils import get_sim_time

from tb.net.pcap import NS_PER_CYCLE


@dataclass(frozen=True)
class StreamSignals:
    tdata: object
    tkeep: object
    tlast: object
    tvalid: object
    tready: object
    lane: int = 0
    lanes: int = 1


class StreamTap:
    """Calls ``on_frame(frame_bytes, cycle)`` for every frame accepted on a stream."""

    def __init__(
        self, clk, sig: StreamSignals, data_bytes: int, on_frame: Callable[[bytes, int], None]
    ) -> None:
        self._clk = clk
        self._sig = sig
        self._bytes = data_bytes
        self._on_frame = on_frame
        self.frames = 0
        self.octets = 0
        self._task = None

    def start(self) -> None:
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _bit(self, handle) -> bool:
        v = int(handle.value)
        return bool((v >> self._sig.lane) & 1) if self._sig.lanes > 1 else bool(v)

    async def _run(self) -> None:
        s = self._sig
        nb = self._bytes
        buf = bytearray()
        while True:
            await RisingEdge(self._clk)
            if not self._bit(s.tvalid):
                # Idle: sleep until a producer raises valid (for a packed
                # per-function vector any lane's change wakes us; we re-check).
                await s.tvalid.value_change
                continue
            if not self._bit(s.tready):
                continue
            data = int(s.tdata.value)
            keep = int(s.tkeep.value)
            if s.lanes > 1:
                data = (data >> (s.lane * nb * 8)) & ((1 << (nb * 8)) - 1)
                keep = (keep >> (s.lane * nb)) & ((1 << nb) - 1)
            n = keep.bit_length()  # tkeep is contiguous from bit 0
            buf += data.to_bytes(nb, "little")[:n]
            if self._bit(s.tlast):
                cycle = int(get_sim_time("ns")) // NS_PER_CYCLE
                self.frames += 1
                self.octets += len(buf)
                self._on_frame(bytes(buf), cycle)
                buf = bytearray()
