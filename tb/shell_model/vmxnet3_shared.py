"""vmxnet3 shared-memory structures, written once: DriverShared with its device-read
area, the queue descriptor table (TxQueueDesc/RxQueueDesc), UPT1 statistics.

Each is a frozen ``_Struct`` dataclass whose ``LAYOUT`` is a table of (name, byte
offset, struct format or nested structure) that drives pack, unpack and
``offset_of``; the offsets are those of the C structures in Linux's
``vmxnet3_defs.h`` / ``upt1_defs.h`` (natural alignment, little-endian). Bytes a
layout does not name (padding, reserved words, fields the model does not use)
pack as zero. Registers, commands, descriptors and constants:
tb/shell_model/vmxnet3_defs.py.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from tb.shell_model.vmxnet3_defs import (
    MAX_INTRS,
    REV1_MAGIC,
    VFT_SIZE,
    DescriptorSizeError,
    FieldRangeError,
    PluginConfDesc,
)


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
