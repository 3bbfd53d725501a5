"""NPA plugin image format: header, entry-point table, payload, two CRC32s.

Models the binary object an IHV ships and the hypervisor injects into guest
memory for the vmxnet3 shell to load (docs/ARCHITECTURE.md, "Plugin images").
All integers are little-endian.

    0   4  magic         b"NPAP"
    4   2  abi_major     must equal ABI_MAJOR
    6   2  abi_minor     any (additions that keep the ABI)
    8   2  vendor_id     PCI vendor of the VF the plugin drives
   10   2  device_id     PCI device of the VF
   12   2  entry_count   entries in the table, 1..MAX_ENTRIES
   14   2  flags         0 (reserved)
   16  16  plugin_id     ASCII, NUL-padded: which implementation this is
   32   4  payload_len
   36   4  payload_crc   CRC32 (zlib) of the payload
   40   4  header_crc    CRC32 of bytes 0..47 with this field zero, then the entry table
   44   4  reserved      0
   48  16n entry table   name (12 bytes ASCII, NUL-padded), u32 offset into the payload
       ...  payload
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace
from typing import ClassVar

MAGIC = b"NPAP"
ABI_MAJOR = 1
ABI_MINOR = 0
HEADER_BYTES = 48
ENTRY_BYTES = 16
ENTRY_NAME_BYTES = 12
PLUGIN_ID_BYTES = 16
MAX_ENTRIES = 32
REQUIRED_ENTRY_POINTS = ("init", "tx", "rx_refill", "reap", "quiesce")


class PluginImageError(ValueError):
    """Base of every reason an image is refused; ``reason`` names the counter."""

    reason = "invalid"


class TruncatedImageError(PluginImageError):
    reason = "truncated"


class BadMagicError(PluginImageError):
    reason = "bad_magic"


class UnsupportedAbiError(PluginImageError):
    reason = "unsupported_abi"


class HeaderCrcError(PluginImageError):
    reason = "header_crc"


class PayloadCrcError(PluginImageError):
    reason = "payload_crc"


class MalformedImageError(PluginImageError):
    """A field with an impossible value: flags, reserved, entry count, trailing bytes."""

    reason = "malformed"


class MalformedEntryError(PluginImageError):
    """An entry name that is not NUL-padded ASCII, empty, or repeated."""

    reason = "bad_entry"


class EntryOffsetError(PluginImageError):
    reason = "entry_offset"


class MissingEntryPointError(PluginImageError):
    reason = "missing_entry"


class DeviceMismatchError(PluginImageError):
    reason = "device_mismatch"


class UnknownPluginError(PluginImageError):
    reason = "unknown_plugin"


@dataclass(frozen=True)
class EntryPoint:
    """One shell->plugin call the image exports, at ``offset`` into the payload."""

    name: str
    offset: int


@dataclass(frozen=True)
class PluginImage:
    """A parsed (or to-be-built) plugin image."""

    vendor_id: int
    device_id: int
    plugin_id: str
    entries: tuple[EntryPoint, ...]
    payload: bytes
    abi_major: int = ABI_MAJOR
    abi_minor: int = ABI_MINOR

    _HDR: ClassVar[struct.Struct] = struct.Struct("<4sHHHHHH16sIIII")
    _ENT: ClassVar[struct.Struct] = struct.Struct("<12sI")

    def entry(self, name: str) -> EntryPoint:
        for e in self.entries:
            if e.name == name:
                return e
        raise MissingEntryPointError(f"plugin {self.plugin_id!r} has no entry point {name!r}")

    def pack(self) -> bytes:
        """The image bytes, CRCs computed; refuses values that do not fit the format."""
        if not 1 <= len(self.entries) <= MAX_ENTRIES:
            raise MalformedImageError(f"{len(self.entries)} entries outside 1..{MAX_ENTRIES}")
        pid = _ascii(self.plugin_id, PLUGIN_ID_BYTES, "plugin_id")
        table = b"".join(
            self._ENT.pack(_ascii(e.name, ENTRY_NAME_BYTES, "entry name"), e.offset)
            for e in self.entries
        )
        fields = (
            MAGIC,
            self.abi_major,
            self.abi_minor,
            self.vendor_id,
            self.device_id,
            len(self.entries),
            0,
            pid,
            len(self.payload),
            zlib.crc32(self.payload),
        )
        hdr0 = self._HDR.pack(*fields, 0, 0)
        hcrc = zlib.crc32(hdr0 + table)
        return self._HDR.pack(*fields, hcrc, 0) + table + self.payload

    @classmethod
    def parse(cls, raw: bytes) -> PluginImage:
        """Verify and decode ``raw``; every defect raises a specific :class:`PluginImageError`."""
        raw = bytes(raw)
        if len(raw) < HEADER_BYTES:
            raise TruncatedImageError(f"image of {len(raw)} bytes is shorter than its header")
        (magic, major, minor, vendor, device, count, flags, pid, plen, pcrc, hcrc, rsvd) = (
            cls._HDR.unpack_from(raw)
        )
        if magic != MAGIC:
            raise BadMagicError(f"magic {magic!r}, expected {MAGIC!r}")
        if major != ABI_MAJOR:
            raise UnsupportedAbiError(f"plugin ABI {major}.{minor}, loader speaks {ABI_MAJOR}.x")
        if not 1 <= count <= MAX_ENTRIES:
            raise MalformedImageError(f"entry count {count} outside 1..{MAX_ENTRIES}")
        table_end = HEADER_BYTES + ENTRY_BYTES * count
        if len(raw) < table_end:
            raise TruncatedImageError(
                f"image of {len(raw)} bytes ends inside its {count}-entry table"
            )
        hdr0 = raw[:40] + bytes(4) + raw[44:HEADER_BYTES]
        got = zlib.crc32(hdr0 + raw[HEADER_BYTES:table_end])
        if got != hcrc:
            raise HeaderCrcError(f"header CRC32 {got:#010x}, image says {hcrc:#010x}")
        if flags or rsvd:
            raise MalformedImageError(f"reserved fields set: flags {flags:#x}, reserved {rsvd:#x}")
        if len(raw) < table_end + plen:
            raise TruncatedImageError(
                f"payload of {plen} bytes, only {len(raw) - table_end} present"
            )
        if len(raw) > table_end + plen:
            raise MalformedImageError(f"{len(raw) - table_end - plen} bytes after the payload")
        payload = raw[table_end:]
        got = zlib.crc32(payload)
        if got != pcrc:
            raise PayloadCrcError(f"payload CRC32 {got:#010x}, image says {pcrc:#010x}")
        plugin_id = _unpad(pid, "plugin_id", MalformedImageError)
        entries: list[EntryPoint] = []
        for i in range(count):
            name_raw, offset = cls._ENT.unpack_from(raw, HEADER_BYTES + ENTRY_BYTES * i)
            name = _unpad(name_raw, f"entry {i} name", MalformedEntryError)
            if any(e.name == name for e in entries):
                raise MalformedEntryError(f"entry point {name!r} appears twice")
            if offset >= plen:
                raise EntryOffsetError(
                    f"entry point {name!r} at offset {offset:#x} is outside the {plen}-byte payload"
                )
            entries.append(EntryPoint(name, offset))
        return cls(vendor, device, plugin_id, tuple(entries), payload, major, minor)


ENTRY_STRIDE = 0x40  # bytes of (model) code per entry point in a vendor's payload


def vendor_image(
    vendor_id: int, device_id: int, plugin_id: str, code_step: int, abi_minor: int | None = None
) -> PluginImage:
    """An image as a vendor ships it for its VF: its ids, the five entry points
    ``ENTRY_STRIDE`` bytes apart, and a payload standing for its code (deterministic
    bytes ``code_step * i + 3``, so each vendor's CRCs are fixed and differ)."""
    entries = tuple(EntryPoint(n, ENTRY_STRIDE * i) for i, n in enumerate(REQUIRED_ENTRY_POINTS))
    payload = bytes((code_step * i + 3) & 0xFF for i in range(ENTRY_STRIDE * len(entries)))
    image = PluginImage(vendor_id, device_id, plugin_id, entries, payload)
    return image if abi_minor is None else replace(image, abi_minor=abi_minor)


def _ascii(text: str, width: int, what: str) -> bytes:
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise MalformedEntryError(f"{what} {text!r} is not ASCII") from exc
    if not 1 <= len(data) <= width or b"\0" in data:
        raise MalformedEntryError(f"{what} {text!r} must be 1..{width} ASCII characters")
    return data.ljust(width, b"\0")


def _unpad(raw: bytes, what: str, error: type[PluginImageError]) -> str:
    text, _, pad = raw.partition(b"\0")
    if not text or pad.strip(b"\0") or not all(0x21 <= b < 0x7F for b in text):
        raise error(f"{what} {raw!r} is not printable ASCII padded with NULs")
    return text.decode("ascii")
