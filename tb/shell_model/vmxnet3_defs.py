"""vmxnet3 device definitions: registers, commands, descriptors and ring rules, written once.

Models the interface between the guest's vmxnet3 shell and whatever serves it
(the hypervisor's emulated device, or an NPA plugin on a VF). Facts follow
Linux's ``drivers/net/vmxnet3/vmxnet3_defs.h``: every 16-byte descriptor is
four little-endian dwords, and each field below is ``(dword, shift, width)``
exactly as the header's little-endian bitfield order places it. NPA's three
commands (STOP_EMULATION, LOAD_PLUGIN, ACTIVATE_VF at 0xCAFE000A..C) and the
plugin configuration descriptor come from the design brief (§4).

The shared-memory structures (DriverShared with its device-read area, the
queue descriptor table's TxQueueDesc/RxQueueDesc, UPT1 stats) are in
tb/shell_model/vmxnet3_shared.py; their constants (magic, MTU limits, interrupt
count, error codes, RX modes, ECR bits) are here.

Descriptors are frozen dataclasses that validate their fields on
construction, so a value that does not fit its field, a wrong-length raw
entry or a completion of the wrong type is refused with a specific error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from enum import Enum, IntEnum, IntFlag
from typing import ClassVar, Self

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


# -- constants of DriverShared and the queue descriptor table --------------------------------
#
# The structures themselves are in tb/shell_model/vmxnet3_shared.py.

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
