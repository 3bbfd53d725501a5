"""vmxnet3 device definitions: registers, commands, descriptors and ring rules, written once.

Models the interface between the guest's vmxnet3 shell and whatever serves it
(the hypervisor's emulated device, or an NPA plugin on a VF). Facts follow
Linux's ``drivers/net/vmxnet3/vmxnet3_defs.h``: every 16-byte descriptor is
four little-endian dwords, and each field below is ``(dword, shift, width)``
exactly as the header's little-endian bitfield order places it. NPA's three
commands (STOP_EMULATION, LOAD_PLUGIN, ACTIVATE_VF at 0xCAFE000A..C) and the
plugin configuration descriptor come from the design brief (§4).

The shared-memory structures (DriverShared with its device-read area, the
queue descriptor table's TxQueueDesc/RxQueueDesc, UPT1 stats) are
``_Struct`` dataclasses whose ``LAYOUT`` table of (name, byte offset, struct
format) drives pack, unpack and ``offset_of``; the offsets are the C
structures' with natural alignment.

Descriptors are frozen dataclasses that validate their fields on
construction, so a value that does not fit its field, a wrong-length raw
entry or a completion of the wrong type is refused with a specific error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, fields
from enum import Enum, IntEnum, IntFlag
from typing import Any, ClassVar, Self

DESC_BYTES = 16
INIT_GEN = 1  # VMXNET3_INIT_GEN
MAX_TX_BUF_SIZE = 1 << 14  # a 14-bit len of 0 means this many bytes
MAX_TXD_PER_PKT = 16  # non-TSO packet
MAX_RX_BUF_SIZE = (1 << 14) - 1
MIN_T0_BUF_SIZE = 128  # a head (type 0) RX buffer is at least this long
RING_BA_ALIGN = 512  # every ring base
RING_SIZE_ALIGN = 32  # every ring size is a multiple of this


class Bar0(IntEnum):
    """BAR0 (pass-through page): per-queue doorbells, 8-byte stride."""

    IMR = 0x0  # + 8 * interrupt
    TXPROD = 0x600  # + 8 * tx queue
    RXPROD = 0x800  # + 8 * rx queue, ring 1
    RXPROD2 = 0xA00  # + 8 * rx queue, ring 2


class Bar1(IntEnum):
    """BAR1 (virtual device page)."""

    VRRS = 0x0
    UVRS = 0x8
    DSAL = 0x10
    DSAH = 0x18
    CMD = 0x20
    MACL = 0x28
    MACH = 0x30
    ICR = 0x38
    ECR = 0x40


REG_STRIDE = 8  # VMXNET3_REG_ALIGN


class Cmd(IntEnum):
    """Commands written to BAR1 CMD: 0xCAFE0000.. set, 0xF00D0000.. get."""

    ACTIVATE_DEV = 0xCAFE0000
    QUIESCE_DEV = 0xCAFE0001
    RESET_DEV = 0xCAFE0002
    UPDATE_RX_MODE = 0xCAFE0003
    UPDATE_MAC_FILTERS = 0xCAFE0004
    UPDATE_VLAN_FILTERS = 0xCAFE0005
    UPDATE_RSSIDT = 0xCAFE0006
    UPDATE_IML = 0xCAFE0007
    UPDATE_PMCFG = 0xCAFE0008
    UPDATE_FEATURE = 0xCAFE0009
    STOP_EMULATION = 0xCAFE000A  # NPA (Linux: RESERVED1)
    LOAD_PLUGIN = 0xCAFE000B
    ACTIVATE_VF = 0xCAFE000C  # NPA (Linux: RESERVED2)
    GET_QUEUE_STATUS = 0xF00D0000
    GET_STATS = 0xF00D0001
    GET_LINK = 0xF00D0002
    GET_PERM_MAC_LO = 0xF00D0003
    GET_PERM_MAC_HI = 0xF00D0004


class OffloadMode(IntEnum):
    """TxDesc.om."""

    NONE = 0
    ENCAP = 1
    CSUM = 2
    TSO = 3


class CompType(IntEnum):
    """Completion descriptor types (VMXNET3_CDTYPE_*)."""

    TXCOMP = 0
    RXCOMP = 3
    RXCOMP_LRO = 4


class BufType(IntEnum):
    """RxDesc.btype."""

    HEAD = 0
    BODY = 1


class Vmxnet3FormatError(ValueError):
    """Base of every refused vmxnet3 encoding or decoding."""

    reason = "format"


class DescriptorSizeError(Vmxnet3FormatError):
    reason = "descriptor_size"


class FieldRangeError(Vmxnet3FormatError):
    reason = "field_range"


class CompletionTypeError(Vmxnet3FormatError):
    reason = "completion_type"


class RingGeometryError(Vmxnet3FormatError):
    reason = "ring_geometry"


@dataclass(frozen=True)
class BitField:
    """One field of a 16-byte descriptor: ``width`` bits at ``shift`` of little-endian dword."""

    name: str
    dword: int
    shift: int
    width: int

    @property
    def bit(self) -> int:
        return 32 * self.dword + self.shift

    @property
    def limit(self) -> int:
        return 1 << self.width


class _Descriptor:
    """Pack/unpack driven by ``FIELDS``; subclasses are frozen dataclasses of the same names.

    ``_encode``/``_decode`` translate a dataclass value to/from the raw field
    value where the two differ (e.g. a TX length of 16384 is stored as 0).
    """

    FIELDS: ClassVar[tuple[BitField, ...]]

    def _encode(self, name: str, value: int) -> int:
        return value

    @classmethod
    def _decode(cls, name: str, raw: int) -> int:
        return raw

    def __post_init__(self) -> None:
        for f in self.FIELDS:
            value = int(getattr(self, f.name))
            raw = self._encode(f.name, value)
            if not 0 <= raw < f.limit:
                raise FieldRangeError(
                    f"{type(self).__name__}.{f.name}={value:#x} does not fit {f.width} bits"
                )

    def pack(self) -> bytes:
        word = 0
        for f in self.FIELDS:
            word |= self._encode(f.name, int(getattr(self, f.name))) << f.bit
        return word.to_bytes(DESC_BYTES, "little")

    @classmethod
    def unpack(cls, raw: bytes) -> Self:
        if len(raw) != DESC_BYTES:
            raise DescriptorSizeError(f"{cls.__name__} is {DESC_BYTES} bytes, got {len(raw)}")
        word = int.from_bytes(raw, "little")
        kinds = {f.name: f.type for f in fields(cls)}  # type: ignore[arg-type]
        values: dict[str, int | bool] = {}
        for f in cls.FIELDS:
            v = cls._decode(f.name, (word >> f.bit) & (f.limit - 1))
            values[f.name] = bool(v) if kinds[f.name] in ("bool", bool) else v
        return cls(**values)


@dataclass(frozen=True)
class TxDesc(_Descriptor):
    """Vmxnet3_TxDesc: one buffer of a frame to send."""

    addr: int
    length: int  # 1 .. MAX_TX_BUF_SIZE
    gen: int
    eop: bool = False
    cq: bool = False  # request a completion (set on the EOP descriptor)
    ti: bool = False  # insert VLAN tag ``tci`` (on the SOP descriptor)
    tci: int = 0
    om: int = OffloadMode.NONE
    hlen: int = 0
    msscof: int = 0
    oco: bool = False
    dtype: int = 0
    ext1: int = 0
    ext2: int = 0

    FIELDS: ClassVar[tuple[BitField, ...]] = (
        BitField("addr", 0, 0, 64),
        BitField("length", 2, 0, 14),
        BitField("gen", 2, 14, 1),
        BitField("oco", 2, 15, 1),
        BitField("dtype", 2, 16, 1),
        BitField("ext1", 2, 17, 1),
        BitField("msscof", 2, 18, 14),
        BitField("hlen", 3, 0, 10),
        BitField("om", 3, 10, 2),
        BitField("eop", 3, 12, 1),
        BitField("cq", 3, 13, 1),
        BitField("ext2", 3, 14, 1),
        BitField("ti", 3, 15, 1),
        BitField("tci", 3, 16, 16),
    )

    def _encode(self, name: str, value: int) -> int:
        if name == "length":
            if not 1 <= value <= MAX_TX_BUF_SIZE:
                raise FieldRangeError(f"TxDesc.length={value} outside 1..{MAX_TX_BUF_SIZE}")
            return 0 if value == MAX_TX_BUF_SIZE else value
        return value

    @classmethod
    def _decode(cls, name: str, raw: int) -> int:
        return MAX_TX_BUF_SIZE if name == "length" and raw == 0 else raw


@dataclass(frozen=True)
class TxCompDesc(_Descriptor):
    """Vmxnet3_TxCompDesc: the device finished the frame whose EOP descriptor is ``txd_idx``."""

    txd_idx: int
    gen: int
    type: int = CompType.TXCOMP
    ext1: int = 0
    ext2: int = 0
    ext3: int = 0
    rsvd: int = 0

    FIELDS: ClassVar[tuple[BitField, ...]] = (
        BitField("txd_idx", 0, 0, 12),
        BitField("ext1", 0, 12, 20),
        BitField("ext2", 1, 0, 32),
        BitField("ext3", 2, 0, 32),
        BitField("rsvd", 3, 0, 24),
        BitField("type", 3, 24, 7),
        BitField("gen", 3, 31, 1),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.type != CompType.TXCOMP:
            raise CompletionTypeError(
                f"TX completion has type {self.type}, expected {int(CompType.TXCOMP)}"
            )


@dataclass(frozen=True)
class RxDesc(_Descriptor):
    """Vmxnet3_RxDesc: one posted receive buffer."""

    addr: int
    length: int  # 1 .. MAX_RX_BUF_SIZE
    gen: int
    btype: int = BufType.HEAD
    dtype: int = 0
    rsvd: int = 0
    ext1: int = 0

    FIELDS: ClassVar[tuple[BitField, ...]] = (
        BitField("addr", 0, 0, 64),
        BitField("length", 2, 0, 14),
        BitField("btype", 2, 14, 1),
        BitField("dtype", 2, 15, 1),
        BitField("rsvd", 2, 16, 15),
        BitField("gen", 2, 31, 1),
        BitField("ext1", 3, 0, 32),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.length == 0:
            raise FieldRangeError("RxDesc.length=0: a posted buffer must hold at least one byte")


@dataclass(frozen=True)
class RxCompDesc(_Descriptor):
    """Vmxnet3_RxCompDesc: ``length`` bytes landed in the buffer at ring index ``rxd_idx``."""

    rxd_idx: int
    length: int
    gen: int
    sop: bool = True
    eop: bool = True
    rq_id: int = 0
    type: int = CompType.RXCOMP
    err: bool = False
    ts: bool = False  # a VLAN tag was stripped into ``tci``
    tci: int = 0
    rss_type: int = 0
    rss_hash: int = 0
    cnc: bool = False
    csum: int = 0
    tuc: bool = False
    udp: bool = False
    tcp: bool = False
    ipc: bool = False
    v6: bool = False
    v4: bool = False
    frg: bool = False
    fcs: bool = False
    ext1: int = 0
    ext2: int = 0

    FIELDS: ClassVar[tuple[BitField, ...]] = (
        BitField("rxd_idx", 0, 0, 12),
        BitField("ext1", 0, 12, 2),
        BitField("eop", 0, 14, 1),
        BitField("sop", 0, 15, 1),
        BitField("rq_id", 0, 16, 10),
        BitField("rss_type", 0, 26, 4),
        BitField("cnc", 0, 30, 1),
        BitField("ext2", 0, 31, 1),
        BitField("rss_hash", 1, 0, 32),
        BitField("length", 2, 0, 14),
        BitField("err", 2, 14, 1),
        BitField("ts", 2, 15, 1),
        BitField("tci", 2, 16, 16),
        BitField("csum", 3, 0, 16),
        BitField("tuc", 3, 16, 1),
        BitField("udp", 3, 17, 1),
        BitField("tcp", 3, 18, 1),
        BitField("ipc", 3, 19, 1),
        BitField("v6", 3, 20, 1),
        BitField("v4", 3, 21, 1),
        BitField("frg", 3, 22, 1),
        BitField("fcs", 3, 23, 1),
        BitField("type", 3, 24, 7),
        BitField("gen", 3, 31, 1),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.type not in (CompType.RXCOMP, CompType.RXCOMP_LRO):
            raise CompletionTypeError(
                f"RX completion has type {self.type}, expected "
                f"{int(CompType.RXCOMP)} or {int(CompType.RXCOMP_LRO)}"
            )


def desc_gen(raw: bytes, dword: int) -> int:
    """Bit 31 of ``dword`` of a raw entry: the gen bit of a completion or an RxDesc."""
    return raw[4 * dword + 3] >> 7


@dataclass(frozen=True)
class PluginConfDesc:
    """NPA plugin configuration descriptor in DriverShared's device-read area."""

    conf_ver: int
    conf_len: int
    conf_pa: int
    _FMT: ClassVar[str] = "<IIQ"
    SIZE: ClassVar[int] = DESC_BYTES

    def __post_init__(self) -> None:
        for name, bits in (("conf_ver", 32), ("conf_len", 32), ("conf_pa", 64)):
            if not 0 <= getattr(self, name) < (1 << bits):
                raise FieldRangeError(f"PluginConfDesc.{name} does not fit {bits} bits")

    def pack(self) -> bytes:
        return struct.pack(self._FMT, self.conf_ver, self.conf_len, self.conf_pa)

    @classmethod
    def unpack(cls, raw: bytes) -> PluginConfDesc:
        if len(raw) != DESC_BYTES:
            raise DescriptorSizeError(f"PluginConfDesc is {DESC_BYTES} bytes, got {len(raw)}")
        return cls(*struct.unpack(cls._FMT, raw))


class RingKind(Enum):
    """The vmxnet3 rings; ``max_size`` is VMXNET3_*_RING_MAX_SIZE."""

    TX = "tx"
    TX_COMP = "tx_comp"
    RX = "rx"
    RX2 = "rx2"
    RX_COMP = "rx_comp"

    @property
    def max_size(self) -> int:
        return 8192 if self is RingKind.RX_COMP else 4096


def check_ring(kind: RingKind, size: int, base: int | None = None) -> None:
    """Refuse a ring size that is not a nonzero multiple of 32 up to the kind's maximum,
    or a base address not aligned to 512 bytes."""
    if size <= 0 or size % RING_SIZE_ALIGN or size > kind.max_size:
        raise RingGeometryError(
            f"{kind.name} ring size {size} is not a multiple of {RING_SIZE_ALIGN} "
            f"in {RING_SIZE_ALIGN}..{kind.max_size}"
        )
    if base is not None and base % RING_BA_ALIGN:
        raise RingGeometryError(
            f"{kind.name} ring base {base:#x} is not aligned to {RING_BA_ALIGN} bytes"
        )


# -- DriverShared and the queue descriptor table ---------------------------------------------
#
# Shared-memory structures the driver fills and the device reads (and, for queue status and
# stats, writes). Each is a frozen dataclass whose LAYOUT is a table of
# (name, byte offset, struct format or nested structure); the offsets are those of the C
# structures in vmxnet3_defs.h / upt1_defs.h (natural alignment, little-endian). Bytes a
# layout does not name (padding, reserved words, fields the model does not use) pack as zero.

REV1_MAGIC = 0xBABEFEE1  # VMXNET3_REV1_MAGIC, DriverShared.magic
MIN_MTU = 60  # VMXNET3_MIN_MTU
MAX_MTU = 9000  # VMXNET3_MAX_MTU
MAX_INTRS = 25  # VMXNET3_MAX_INTRS (IntrConf.modLevels)
MAX_TX_QUEUES = 8
MAX_RX_QUEUES = 16
QUEUE_DESC_ALIGN = 128  # queueDescPA alignment
VFT_SIZE = 4096 // 32  # VMXNET3_VFT_SIZE: u32 words of the VLAN filter bitmap
IC_DISABLE_ALL = 0x1  # IntrConf.intrCtrl bit 0
LINK_SPEED_SHIFT = 16  # GET_LINK: bit 0 link up, speed in Mbps at bit 16
ETH_ALEN = 6


class Err(IntEnum):
    """Reasons a queue stopped (Vmxnet3_QueueStatus.error, VMXNET3_ERR_*)."""

    NOEOP = 0x80000000  # cannot find the EOP descriptor of a packet
    TXD_REUSE = 0x80000001  # TxDesc reused before its completion
    BIG_PKT = 0x80000002  # too many TxDesc for a packet
    DESC_NOT_SPT = 0x80000003  # descriptor type not supported
    SMALL_BUF = 0x80000004  # type 0 buffer too small
    STRESS = 0x80000005
    SWITCH = 0x80000006  # mode switch failure
    TXD_INVALID = 0x80000007  # invalid TxDesc


class RxMode(IntFlag):
    """RxFilterConf.rxMode (VMXNET3_RXM_*)."""

    UCAST = 0x01
    MCAST = 0x02
    BCAST = 0x04
    ALL_MULTI = 0x08
    PROMISC = 0x10


class Ecr(IntFlag):
    """Event cause bits of BAR1 ECR and DriverShared.ecr (VMXNET3_ECR_*)."""

    RQERR = 1 << 0
    TQERR = 1 << 1
    LINK = 1 << 2
    DIC = 1 << 3
    DEBUG = 1 << 4


def link_word(up: bool, speed_mbps: int) -> int:
    """The GET_LINK result: ``speed << 16 | up`` (VMXNET3_LINK_UP is 10000 << 16 | 1)."""
    return (speed_mbps << LINK_SPEED_SHIFT) | 1 if up else 0


def mac_to_regs(mac: bytes) -> tuple[int, int]:
    """MACL/MACH (and GET_PERM_MAC_LO/HI) words: bytes 0..3 little-endian, then 4..5."""
    if len(mac) != ETH_ALEN:
        raise FieldRangeError(f"a MAC address is {ETH_ALEN} bytes, got {len(mac)}")
    return int.from_bytes(mac[:4], "little"), mac[4] | (mac[5] << 8)


def regs_to_mac(lo: int, hi: int) -> bytes:
    return (lo & 0xFFFFFFFF).to_bytes(4, "little") + (hi & 0xFFFF).to_bytes(2, "little")


@dataclass(frozen=True)
class StructField:
    """One member of a shared-memory structure: ``fmt`` is a struct format (no byte-order
    prefix; a count such as ``2Q`` makes a tuple) or a nested structure class."""

    name: str
    offset: int
    fmt: str | type[Any]

    @property
    def size(self) -> int:
        if isinstance(self.fmt, str):
            return struct.calcsize("<" + self.fmt)
        return int(self.fmt.SIZE)


class _Struct:
    """Pack/unpack of a fixed-size little-endian structure driven by ``LAYOUT``."""

    SIZE: ClassVar[int]
    LAYOUT: ClassVar[tuple[StructField, ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        end = 0
        for f in cls.LAYOUT:  # the table itself is checked once, when the class is made
            if f.offset < end or f.offset + f.size > cls.SIZE:
                raise TypeError(f"{cls.__name__}.{f.name} at {f.offset} overlaps or overflows")
            end = f.offset + f.size

    def __post_init__(self) -> None:
        self.pack()

    def pack(self) -> bytes:
        buf = bytearray(self.SIZE)
        for f in self.LAYOUT:
            value = getattr(self, f.name)
            if isinstance(f.fmt, str):
                args = value if isinstance(value, tuple) else (value,)
                try:
                    struct.pack_into("<" + f.fmt, buf, f.offset, *args)
                except struct.error as exc:
                    raise FieldRangeError(
                        f"{type(self).__name__}.{f.name}={value!r} does not fit {f.fmt}: {exc}"
                    ) from None
            else:
                if not isinstance(value, f.fmt):
                    raise FieldRangeError(f"{type(self).__name__}.{f.name} is not a {f.fmt}")
                buf[f.offset : f.offset + f.size] = value.pack()
        return bytes(buf)

    @classmethod
    def unpack(cls, raw: bytes) -> Self:
        if len(raw) != cls.SIZE:
            raise DescriptorSizeError(f"{cls.__name__} is {cls.SIZE} bytes, got {len(raw)}")
        values: dict[str, Any] = {}
        for f in cls.LAYOUT:
            if isinstance(f.fmt, str):
                got = struct.unpack_from("<" + f.fmt, raw, f.offset)
                values[f.name] = got[0] if len(got) == 1 else got
            else:
                values[f.name] = f.fmt.unpack(raw[f.offset : f.offset + f.size])
        return cls(**values)

    @classmethod
    def field_of(cls, path: str) -> StructField:
        """The member at dotted ``path`` (e.g. ``dev_read.misc.mtu``), offset from ``cls``."""
        layout: type[Any] = cls
        base = 0
        found: StructField | None = None
        for name in path.split("."):
            by_name = {f.name: f for f in getattr(layout, "LAYOUT", ())}
            if name not in by_name:
                raise KeyError(f"{cls.__name__} has no member {path!r}")
            found = by_name[name]
            base += found.offset
            layout = found.fmt if not isinstance(found.fmt, str) else type(None)
        assert found is not None
        return StructField(path, base, found.fmt)

    @classmethod
    def offset_of(cls, path: str) -> int:
        return cls.field_of(path).offset


def _zero_conf() -> PluginConfDesc:
    return PluginConfDesc(0, 0, 0)


@dataclass(frozen=True)
class DriverInfo(_Struct):
    """Vmxnet3_DriverInfo."""

    version: int = 0
    gos: int = 0  # Vmxnet3_GOSInfo bitfield word
    vmxnet3_rev_spt: int = 0
    upt_ver_spt: int = 0

    SIZE: ClassVar[int] = 16
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("version", 0, "I"),
        StructField("gos", 4, "I"),
        StructField("vmxnet3_rev_spt", 8, "I"),
        StructField("upt_ver_spt", 12, "I"),
    )


@dataclass(frozen=True)
class MiscConf(_Struct):
    """Vmxnet3_MiscConf (reserved[4] at 56 not modelled)."""

    driver_info: DriverInfo = field(default_factory=DriverInfo)
    upt_features: int = 0
    dd_pa: int = 0
    queue_desc_pa: int = 0
    dd_len: int = 0
    queue_desc_len: int = 0
    mtu: int = 0
    max_num_rx_sg: int = 0
    num_tx_queues: int = 0
    num_rx_queues: int = 0

    SIZE: ClassVar[int] = 72
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("driver_info", 0, DriverInfo),
        StructField("upt_features", 16, "Q"),
        StructField("dd_pa", 24, "Q"),
        StructField("queue_desc_pa", 32, "Q"),
        StructField("dd_len", 40, "I"),
        StructField("queue_desc_len", 44, "I"),
        StructField("mtu", 48, "I"),
        StructField("max_num_rx_sg", 52, "H"),
        StructField("num_tx_queues", 54, "B"),
        StructField("num_rx_queues", 55, "B"),
    )


@dataclass(frozen=True)
class IntrConf(_Struct):
    """Vmxnet3_IntrConf."""

    auto_mask: bool = False
    num_intrs: int = 0
    event_intr_idx: int = 0
    mod_levels: bytes = bytes(MAX_INTRS)
    intr_ctrl: int = 0

    SIZE: ClassVar[int] = 40
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("auto_mask", 0, "?"),
        StructField("num_intrs", 1, "B"),
        StructField("event_intr_idx", 2, "B"),
        StructField("mod_levels", 3, f"{MAX_INTRS}s"),
        StructField("intr_ctrl", 28, "I"),
    )


@dataclass(frozen=True)
class RxFilterConf(_Struct):
    """Vmxnet3_RxFilterConf: RX mode, the multicast table's PA and length (bytes), and the
    4096-bit VLAN filter (bit ``vid`` of little-endian ``vfTable``; VID 0 = untagged)."""

    rx_mode: int = 0
    mf_table_len: int = 0
    mf_table_pa: int = 0
    vf_table: bytes = bytes(4 * VFT_SIZE)

    SIZE: ClassVar[int] = 528
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("rx_mode", 0, "I"),
        StructField("mf_table_len", 4, "H"),
        StructField("mf_table_pa", 8, "Q"),
        StructField("vf_table", 16, f"{4 * VFT_SIZE}s"),
    )

    @staticmethod
    def vf_table_for(vlans: frozenset[int] | set[int]) -> bytes:
        bitmap = 0
        for vid in vlans:
            if not 0 <= vid < 4096:
                raise FieldRangeError(f"VLAN ID {vid} outside 0..4095")
            bitmap |= 1 << vid
        return bitmap.to_bytes(4 * VFT_SIZE, "little")

    @property
    def vlans(self) -> frozenset[int]:
        bitmap = int.from_bytes(self.vf_table, "little")
        return frozenset(v for v in range(4096) if bitmap >> v & 1)


@dataclass(frozen=True)
class DSDevRead(_Struct):
    """Vmxnet3_DSDevRead: what the device reads in response to a SET command."""

    misc: MiscConf = field(default_factory=MiscConf)
    intr_conf: IntrConf = field(default_factory=IntrConf)
    rx_filter_conf: RxFilterConf = field(default_factory=RxFilterConf)
    rss_conf_desc: PluginConfDesc = field(default_factory=_zero_conf)
    pm_conf_desc: PluginConfDesc = field(default_factory=_zero_conf)
    plugin_conf_desc: PluginConfDesc = field(default_factory=_zero_conf)

    SIZE: ClassVar[int] = 688
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("misc", 0, MiscConf),
        StructField("intr_conf", 72, IntrConf),
        StructField("rx_filter_conf", 112, RxFilterConf),
        StructField("rss_conf_desc", 640, PluginConfDesc),
        StructField("pm_conf_desc", 656, PluginConfDesc),
        StructField("plugin_conf_desc", 672, PluginConfDesc),
    )


@dataclass(frozen=True)
class DriverShared(_Struct):
    """Vmxnet3_DriverShared (the 16-byte cmdInfo union at 704 is not modelled)."""

    magic: int = REV1_MAGIC
    dev_read: DSDevRead = field(default_factory=DSDevRead)
    ecr: int = 0

    SIZE: ClassVar[int] = 720
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("magic", 0, "I"),
        StructField("dev_read", 8, DSDevRead),
        StructField("ecr", 696, "I"),
    )


@dataclass(frozen=True)
class QueueStatus(_Struct):
    """Vmxnet3_QueueStatus: written by the device."""

    stopped: bool = False
    error: int = 0

    SIZE: ClassVar[int] = 8
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("stopped", 0, "?"),
        StructField("error", 4, "I"),
    )


@dataclass(frozen=True)
class TxQueueCtrl(_Struct):
    """Vmxnet3_TxQueueCtrl."""

    tx_num_deferred: int = 0
    tx_threshold: int = 0

    SIZE: ClassVar[int] = 16
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("tx_num_deferred", 0, "I"),
        StructField("tx_threshold", 4, "I"),
    )


@dataclass(frozen=True)
class TxQueueConf(_Struct):
    """Vmxnet3_TxQueueConf."""

    tx_ring_base_pa: int = 0
    data_ring_base_pa: int = 0
    comp_ring_base_pa: int = 0
    dd_pa: int = 0
    tx_ring_size: int = 0
    data_ring_size: int = 0
    comp_ring_size: int = 0
    dd_len: int = 0
    intr_idx: int = 0
    tx_data_ring_desc_size: int = 0

    SIZE: ClassVar[int] = 64
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("tx_ring_base_pa", 0, "Q"),
        StructField("data_ring_base_pa", 8, "Q"),
        StructField("comp_ring_base_pa", 16, "Q"),
        StructField("dd_pa", 24, "Q"),
        StructField("tx_ring_size", 40, "I"),
        StructField("data_ring_size", 44, "I"),
        StructField("comp_ring_size", 48, "I"),
        StructField("dd_len", 52, "I"),
        StructField("intr_idx", 56, "B"),
        StructField("tx_data_ring_desc_size", 58, "H"),
    )


@dataclass(frozen=True)
class Upt1TxStats(_Struct):
    """UPT1_TxStats: ten u64 counters."""

    tso_pkts_tx_ok: int = 0
    tso_bytes_tx_ok: int = 0
    ucast_pkts_tx_ok: int = 0
    ucast_bytes_tx_ok: int = 0
    mcast_pkts_tx_ok: int = 0
    mcast_bytes_tx_ok: int = 0
    bcast_pkts_tx_ok: int = 0
    bcast_bytes_tx_ok: int = 0
    pkts_tx_error: int = 0
    pkts_tx_discard: int = 0

    SIZE: ClassVar[int] = 80
    LAYOUT: ClassVar[tuple[StructField, ...]] = tuple(
        StructField(n, 8 * i, "Q")
        for i, n in enumerate(
            (
                "tso_pkts_tx_ok",
                "tso_bytes_tx_ok",
                "ucast_pkts_tx_ok",
                "ucast_bytes_tx_ok",
                "mcast_pkts_tx_ok",
                "mcast_bytes_tx_ok",
                "bcast_pkts_tx_ok",
                "bcast_bytes_tx_ok",
                "pkts_tx_error",
                "pkts_tx_discard",
            )
        )
    )


@dataclass(frozen=True)
class Upt1RxStats(_Struct):
    """UPT1_RxStats: ten u64 counters."""

    lro_pkts_rx_ok: int = 0
    lro_bytes_rx_ok: int = 0
    ucast_pkts_rx_ok: int = 0
    ucast_bytes_rx_ok: int = 0
    mcast_pkts_rx_ok: int = 0
    mcast_bytes_rx_ok: int = 0
    bcast_pkts_rx_ok: int = 0
    bcast_bytes_rx_ok: int = 0
    pkts_rx_out_of_buf: int = 0
    pkts_rx_error: int = 0

    SIZE: ClassVar[int] = 80
    LAYOUT: ClassVar[tuple[StructField, ...]] = tuple(
        StructField(n, 8 * i, "Q")
        for i, n in enumerate(
            (
                "lro_pkts_rx_ok",
                "lro_bytes_rx_ok",
                "ucast_pkts_rx_ok",
                "ucast_bytes_rx_ok",
                "mcast_pkts_rx_ok",
                "mcast_bytes_rx_ok",
                "bcast_pkts_rx_ok",
                "bcast_bytes_rx_ok",
                "pkts_rx_out_of_buf",
                "pkts_rx_error",
            )
        )
    )


@dataclass(frozen=True)
class TxQueueDesc(_Struct):
    """Vmxnet3_TxQueueDesc: one entry of the queue descriptor table (256 bytes)."""

    ctrl: TxQueueCtrl = field(default_factory=TxQueueCtrl)
    conf: TxQueueConf = field(default_factory=TxQueueConf)
    status: QueueStatus = field(default_factory=QueueStatus)
    stats: Upt1TxStats = field(default_factory=Upt1TxStats)

    SIZE: ClassVar[int] = 256
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("ctrl", 0, TxQueueCtrl),
        StructField("conf", 16, TxQueueConf),
        StructField("status", 80, QueueStatus),
        StructField("stats", 88, Upt1TxStats),
    )


@dataclass(frozen=True)
class RxQueueCtrl(_Struct):
    """Vmxnet3_RxQueueCtrl."""

    update_rx_prod: bool = False

    SIZE: ClassVar[int] = 16
    LAYOUT: ClassVar[tuple[StructField, ...]] = (StructField("update_rx_prod", 0, "?"),)


@dataclass(frozen=True)
class RxQueueConf(_Struct):
    """Vmxnet3_RxQueueConf: ring 1 and ring 2 share one completion ring."""

    rx_ring_base_pa: tuple[int, int] = (0, 0)
    comp_ring_base_pa: int = 0
    dd_pa: int = 0
    rx_data_ring_base_pa: int = 0
    rx_ring_size: tuple[int, int] = (0, 0)
    comp_ring_size: int = 0
    dd_len: int = 0
    intr_idx: int = 0
    rx_data_ring_desc_size: int = 0

    SIZE: ClassVar[int] = 64
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("rx_ring_base_pa", 0, "2Q"),
        StructField("comp_ring_base_pa", 16, "Q"),
        StructField("dd_pa", 24, "Q"),
        StructField("rx_data_ring_base_pa", 32, "Q"),
        StructField("rx_ring_size", 40, "2I"),
        StructField("comp_ring_size", 48, "I"),
        StructField("dd_len", 52, "I"),
        StructField("intr_idx", 56, "B"),
        StructField("rx_data_ring_desc_size", 58, "H"),
    )


@dataclass(frozen=True)
class RxQueueDesc(_Struct):
    """Vmxnet3_RxQueueDesc: follows the TxQueueDescs in the queue descriptor table."""

    ctrl: RxQueueCtrl = field(default_factory=RxQueueCtrl)
    conf: RxQueueConf = field(default_factory=RxQueueConf)
    status: QueueStatus = field(default_factory=QueueStatus)
    stats: Upt1RxStats = field(default_factory=Upt1RxStats)

    SIZE: ClassVar[int] = 256
    LAYOUT: ClassVar[tuple[StructField, ...]] = (
        StructField("ctrl", 0, RxQueueCtrl),
        StructField("conf", 16, RxQueueConf),
        StructField("status", 80, QueueStatus),
        StructField("stats", 88, Upt1RxStats),
    )
