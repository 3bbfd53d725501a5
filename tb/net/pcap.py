"""Per-port packet capture in pcap format (scapy's writer), readable by tshark/Wireshark."""

from __future__ import annotations

from pathlib import Path

from scapy.utils import PcapWriter

# Timestamps: simulated time, one cycle of the nominal 250 MHz clock = 4 ns.
NS_PER_CYCLE = 4


class PortCapture:
    """One pcap file per (port, direction) under a folder, opened lazily."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._writers: dict[str, PcapWriter] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def record(self, name: str, frame: bytes, cycle: int) -> None:
        w = self._writers.get(name)
        if w is None:
            w = PcapWriter(str(self._folder / f"{name}.pcap"), linktype=1, sync=False)
            self._writers[name] = w
        ns = cycle * NS_PER_CYCLE
        w.write_packet(frame, sec=ns // 1_000_000_000, usec=(ns % 1_000_000_000) // 1000)

    def close(self) -> list[Path]:
        for w in self._writers.values():
            w.close()
        return sorted(self._folder / f"{n}.pcap" for n in self._writers)
