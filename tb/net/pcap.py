"""Per-port packet capture as pcapng (scapy's writer), readable by tshark/Wireshark.

One file per switch port. Both directions go into it in time order; each
packet's Enhanced Packet Block carries the pcapng direction flag (inbound =
into the switch, outbound = out of it), which Wireshark shows as
``frame.packet_flags_direction``. Timestamps are simulated time at nanosecond
resolution, so back-to-back frames one clock apart stay distinguishable.
"""

from __future__ import annotations

import struct
from decimal import Decimal
from enum import IntEnum
from pathlib import Path

from scapy.utils import RawPcapNgWriter

# Timestamps: simulated time, one cycle of the nominal 250 MHz clock = 4 ns.
NS_PER_CYCLE = 4
LINKTYPE_ETHERNET = 1
# pcapng IDB option if_tsresol (code 9): 10^-9 s per timestamp unit.
IF_TSRESOL_CODE = 9
IF_TSRESOL_NS = 9


class Direction(IntEnum):
    """pcapng EPB flags, bits 0-1, seen from the switch port."""

    INTO_SWITCH = 1  # inbound
    OUT_OF_SWITCH = 2  # outbound


class NanosecondPcapNgWriter(RawPcapNgWriter):
    """scapy's raw pcapng writer with nanosecond timestamps.

    scapy writes microsecond IDBs and has no option for ``if_tsresol``; this
    adds the option to each Interface Description Block and scales timestamps
    to match. Everything else (block framing, EPB flags) is scapy's.
    """

    def __init__(self, filename: str, ifname: str) -> None:
        super().__init__(filename)
        self.linktype = LINKTYPE_ETHERNET
        self.tsresol = 1_000_000_000
        self._ifname = ifname.encode()

    def _write_header(self, pkt: object) -> None:
        # Interface 0 is the port itself (scapy would leave it unnamed).
        if not self.header_present:
            self.header_present = True
            self._write_block_shb()
            self._write_block_idb(linktype=self.linktype, ifname=self._ifname)

    def _write_block_idb(self, linktype: int, ifname: bytes | None = None) -> None:
        block_type = struct.pack(self.endian + "I", 1)
        body = struct.pack(self.endian + "HHI", linktype, 0, 262144)
        opts = b""
        if ifname is not None:
            opts += struct.pack(self.endian + "HH", 2, len(ifname)) + self._add_padding(ifname)
        opts += struct.pack(self.endian + "HHB", IF_TSRESOL_CODE, 1, IF_TSRESOL_NS)
        opts += b"\x00" * 3  # pad the 1-byte option value to 32 bits
        opts += struct.pack(self.endian + "HH", 0, 0)
        self.f.write(self.build_block(block_type, body, options=opts))


class PortCapture:
    """One pcapng file per switch port under a folder, opened lazily."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._writers: dict[str, NanosecondPcapNgWriter] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, port: str) -> Path:
        return self._folder / f"{port}.pcapng"

    def open(self, port: str) -> None:
        """Create the port's file now, so a port that carried nothing still has one."""
        if port not in self._writers:
            w = NanosecondPcapNgWriter(str(self.path(port)), port)
            # scapy writes the section header with the first packet; write it
            # now so an idle port's file is a valid, empty capture.
            w._write_header(None)
            self._writers[port] = w

    def record(self, port: str, direction: Direction, frame: bytes, cycle: int) -> None:
        self.open(port)
        self._writers[port]._write_packet(
            frame,
            linktype=LINKTYPE_ETHERNET,
            # Decimal: scapy scales by tsresol and truncates; a float would
            # land 1 ns early on many cycles.
            sec=Decimal(cycle * NS_PER_CYCLE) / Decimal(10**9),
            direction=int(direction),
        )

    def close(self) -> list[Path]:
        for w in self._writers.values():
            w.close()
        return sorted(self.path(p) for p in self._writers)
