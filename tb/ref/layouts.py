"""Ring format A: descriptor and completion layouts, written once, from docs/ARCHITECTURE.md §4.

These are the documented byte layouts, independent of the RTL that produces
or consumes them, so a scoreboard that decodes a completion with this module
checks the RTL against the document, not against itself.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

ENTRY_BYTES = 16
GEN_BIT = 0x80  # bit 7 of byte 15


class LayoutError(ValueError):
    """A field does not fit its documented width."""


def _check(name: str, value: int, bits: int) -> int:
    if not 0 <= value < (1 << bits):
        raise LayoutError(f"{name}={value:#x} does not fit in {bits} bits")
    return value


@dataclass(frozen=True)
class TxDesc:
    """TX descriptor: one buffer of a frame."""

    buf_addr: int
    length: int
    sof: bool = True
    eof: bool = True
    vlan_ins: bool = False
    vlan_tci: int = 0

    FLAG_SOF: ClassVar[int] = 0x1
    FLAG_EOF: ClassVar[int] = 0x2
    FLAG_VLAN_INS: ClassVar[int] = 0x4
    _FMT: ClassVar[str] = "<QHBBHH"
    _STRUCT: ClassVar[struct.Struct] = struct.Struct(_FMT)
    # The same layout as a numpy record, for a batch of descriptors in one array
    # (tests/test_vf_driver_rings.py checks it against _FMT field by field).
    DTYPE: ClassVar[np.dtype] = np.dtype(
        [
            ("buf_addr", "<u8"),
            ("length", "<u2"),
            ("flags", "u1"),
            ("rsvd0", "u1"),
            ("vlan_tci", "<u2"),
            ("rsvd1", "<u2"),
        ]
    )

    def pack(self) -> bytes:
        return self.encode(
            self.buf_addr, self.length, self.sof, self.eof, self.vlan_ins, self.vlan_tci
        )

    @classmethod
    def encode(
        cls,
        buf_addr: int,
        length: int,
        sof: bool = True,
        eof: bool = True,
        vlan_ins: bool = False,
        vlan_tci: int = 0,
    ) -> bytes:
        """The 16 bytes of a descriptor without building one (a driver's hot path)."""
        flags = (
            (cls.FLAG_SOF if sof else 0)
            | (cls.FLAG_EOF if eof else 0)
            | (cls.FLAG_VLAN_INS if vlan_ins else 0)
        )
        return cls._STRUCT.pack(
            _check("buf_addr", buf_addr, 64),
            _check("length", length, 16),
            flags,
            0,
            _check("vlan_tci", vlan_tci, 16),
            0,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> TxDesc:
        addr, length, flags, _, tci, _ = struct.unpack(cls._FMT, raw[:ENTRY_BYTES])
        return cls(
            addr,
            length,
            bool(flags & cls.FLAG_SOF),
            bool(flags & cls.FLAG_EOF),
            bool(flags & cls.FLAG_VLAN_INS),
            tci,
        )


@dataclass(frozen=True)
class RxDesc:
    """RX descriptor: one posted buffer."""

    buf_addr: int
    length: int
    _FMT: ClassVar[str] = "<QH6x"
    _STRUCT: ClassVar[struct.Struct] = struct.Struct(_FMT)
    # The same layout as a numpy record, for a batch of descriptors in one array.
    DTYPE: ClassVar[np.dtype] = np.dtype([("buf_addr", "<u8"), ("length", "<u2"), ("rsvd", "V6")])

    def pack(self) -> bytes:
        return self.encode(self.buf_addr, self.length)

    @classmethod
    def encode(cls, buf_addr: int, length: int) -> bytes:
        """The 16 bytes of a descriptor without building one (a driver's hot path)."""
        return cls._STRUCT.pack(_check("buf_addr", buf_addr, 64), _check("length", length, 16))

    @classmethod
    def unpack(cls, raw: bytes) -> RxDesc:
        addr, length = struct.unpack(cls._FMT, raw[:ENTRY_BYTES])
        return cls(addr, length)


@dataclass(frozen=True)
class TxCompletion:
    """TX completion: one per frame."""

    desc_idx: int
    length: int
    status: int
    gen: int
    _FMT: ClassVar[str] = "<HHB10xB"
    # The same layout as a numpy record; the generation bit is bit 7 of ``last``.
    DTYPE: ClassVar[np.dtype] = np.dtype(
        [("desc_idx", "<u2"), ("length", "<u2"), ("status", "u1"), ("rsvd", "V10"), ("last", "u1")]
    )

    @classmethod
    def unpack(cls, raw: bytes) -> TxCompletion:
        idx, length, status, last = struct.unpack(cls._FMT, raw[:ENTRY_BYTES])
        return cls(idx, length, status, (last & GEN_BIT) >> 7)

    def pack(self) -> bytes:
        return struct.pack(self._FMT, self.desc_idx, self.length, self.status, self.gen << 7)


@dataclass(frozen=True)
class RxCompletion:
    """RX completion: one per frame."""

    desc_idx: int
    num_bufs: int
    vlan_stripped: bool
    length: int
    vlan_tci: int
    status: int
    gen: int
    FLAG_VLAN_STRIPPED: ClassVar[int] = 0x1
    _FMT: ClassVar[str] = "<HBBHHB6xB"
    # The same layout as a numpy record; the generation bit is bit 7 of ``last``.
    DTYPE: ClassVar[np.dtype] = np.dtype(
        [
            ("desc_idx", "<u2"),
            ("num_bufs", "u1"),
            ("flags", "u1"),
            ("length", "<u2"),
            ("vlan_tci", "<u2"),
            ("status", "u1"),
            ("rsvd", "V6"),
            ("last", "u1"),
        ]
    )

    @classmethod
    def unpack(cls, raw: bytes) -> RxCompletion:
        idx, nbufs, flags, length, tci, status, last = struct.unpack(cls._FMT, raw[:ENTRY_BYTES])
        return cls(
            idx,
            nbufs,
            bool(flags & cls.FLAG_VLAN_STRIPPED),
            length,
            tci,
            status,
            (last & GEN_BIT) >> 7,
        )

    def pack(self) -> bytes:
        flags = self.FLAG_VLAN_STRIPPED if self.vlan_stripped else 0
        return struct.pack(
            self._FMT,
            self.desc_idx,
            self.num_bufs,
            flags,
            self.length,
            self.vlan_tci,
            self.status,
            self.gen << 7,
        )


def entry_gen(raw: bytes) -> int:
    """Generation bit of a raw completion entry, without decoding the rest."""
    return (raw[ENTRY_BYTES - 1] & GEN_BIT) >> 7
