"""The hypervisor's emulated vmxnet3 device: trapped BAR0/BAR1 accesses, commands, data path.

Models the paravirtual NIC a VM boots on (ESXi's vmxnet3 device model), in
pure synchronous Python: the guest's MMIO writes and reads arrive as
``bar0_write``/``bar0_read``/``bar1_write``/``bar1_read``; ACTIVATE_DEV reads
and validates DriverShared and the queue descriptor table in the VM's
guest memory and builds the device end of the rings
(:class:`tb.shell_model.Vmxnet3DeviceRings`); a TXPROD doorbell hands every
whole frame to the :class:`Vmxnet3Backend` and completes it; the backend's
received frames go in through :meth:`Vmxnet3Device.receive`.

The device decides no policy. RX mode, multicast list, VLAN filter and MAC
changes are decoded into typed requests and handed to the hypervisor's
:class:`ControlPolicy`; the device records the outcome and applies only what
was allowed. NPA's STOP_EMULATION / LOAD_PLUGIN / ACTIVATE_VF call the
hypervisor's :class:`NpaHooks` and return their result.

A malformed descriptor stops only its queue, as vmxnet3 does: the queue's
status (stopped, VMXNET3_ERR_* reason) is written to its queue descriptor,
ECR gets TQERR/RQERR and the event interrupt is raised if unmasked.
Encodings come from :mod:`tb.shell_model.vmxnet3_defs`; register behaviour,
commands and result codes are written down in ``docs/VMXNET3_DEVICE.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Protocol, TypeVar

from tb.hypervisor.guest_memory import GuestMemory
from tb.shell_model.device_rings import (
    BadDescriptorError,
    DeviceRingError,
    MissingEopError,
    TxRequest,
    Vmxnet3DeviceRings,
)
from tb.shell_model.rings import RingConf
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    ETH_ALEN,
    IC_DISABLE_ALL,
    MAX_INTRS,
    MAX_MTU,
    MAX_TX_QUEUES,
    MIN_MTU,
    QUEUE_DESC_ALIGN,
    REG_STRIDE,
    REV1_MAGIC,
    Bar0,
    Bar1,
    Cmd,
    DriverShared,
    Ecr,
    Err,
    PluginConfDesc,
    QueueStatus,
    RingGeometryError,
    RingKind,
    RxFilterConf,
    RxMode,
    RxQueueCtrl,
    RxQueueDesc,
    TxQueueCtrl,
    TxQueueDesc,
    Upt1RxStats,
    Upt1TxStats,
    check_ring,
    link_word,
    mac_to_regs,
    regs_to_mac,
)

BAR_SIZE = 4096  # VMXNET3_PT_REG_SIZE / VMXNET3_VD_REG_SIZE
ETH_HLEN = 14
VLAN_HLEN = 4
TX_DATA_DESC_DEFAULT = 128  # VMXNET3_HDR_COPY_SIZE: data ring entry size when 0 is given
BROADCAST = b"\xff" * ETH_ALEN


class DeviceResult(IntEnum):
    """What a CMD read returns after a command (vmxnet3 only says 0 = success)."""

    OK = 0
    NOT_READY = 1  # no valid DriverShared address, or not activated
    DENIED = 2  # the hypervisor's policy refused the request
    BAD_REQUEST = 3  # the request in DriverShared does not decode
    BAD_SHARED_ADDR = 0x10  # DriverShared not inside guest memory
    BAD_MAGIC = 0x11
    BAD_VERSION = 0x12  # VRRS/UVRS not selected, or not in driverInfo's supported sets
    BAD_QUEUE_DESC = 0x13  # queueDescPA misaligned, too short or outside guest memory
    BAD_DRIVER_DATA = 0x14  # ddPA/ddLen outside guest memory
    QUEUE_COUNT = 0x15  # the model serves exactly 1 TX and 1 RX queue
    BAD_MTU = 0x16
    BAD_INTR_CONF = 0x17
    RING_GEOMETRY = 0x18  # check_ring: size not a multiple of 32 / too big, base not 512-aligned
    RING_ADDR = 0x19  # a ring outside guest memory
    UNKNOWN = 0xFFFFFFFF  # unknown command (also NPA commands with no hooks)


# -- what the device hands to the hypervisor --------------------------------------------------


@dataclass(frozen=True)
class RxModeRequest:
    mode: RxMode


@dataclass(frozen=True)
class MacFiltersRequest:
    macs: tuple[bytes, ...]


@dataclass(frozen=True)
class VlanFiltersRequest:
    vlans: frozenset[int]  # empty = no VLAN filtering


@dataclass(frozen=True)
class MacAddressRequest:
    mac: bytes


@dataclass(frozen=True)
class MtuRequest:
    """The MTU in DriverShared's MiscConf at an ACTIVATE_DEV that changes it."""

    mtu: int


ControlRequest = (
    RxModeRequest | MacFiltersRequest | VlanFiltersRequest | MacAddressRequest | MtuRequest
)


@dataclass(frozen=True)
class ControlOutcome:
    request: ControlRequest
    allowed: bool


class ControlPolicy(Protocol):
    """The hypervisor's decision on a guest control request: True = allow."""

    def __call__(self, request: ControlRequest) -> bool: ...


def allow_all(request: ControlRequest) -> bool:
    return True


class NpaHooks(Protocol):
    """The hypervisor's side of NPA's three commands; each returns the CMD result."""

    def stop_emulation(self, device: Vmxnet3Device) -> int: ...
    def load_plugin(self, device: Vmxnet3Device, conf: PluginConfDesc) -> int: ...
    def activate_vf(self, device: Vmxnet3Device) -> int: ...


class Vmxnet3Backend(Protocol):
    """Where the device's TX frames go (e.g. the PF's queue of the simulated NIC)."""

    def transmit(self, frame: bytes, vlan_tci: int | None) -> None: ...


IrqCallback = Callable[[int], None]


# -- counters ---------------------------------------------------------------------------------


UptStats = TypeVar("UptStats", Upt1TxStats, Upt1RxStats)


def _bump(stats: UptStats, **add: int) -> UptStats:
    """``stats`` with the named UPT1 counters increased (the stats records are frozen)."""
    return replace(stats, **{k: getattr(stats, k) + n for k, n in add.items()})


def _count_frame(stats: UptStats, direction: str, frame: bytes) -> UptStats:
    """One good frame of ``direction`` ("tx"/"rx"): its cast kind's packet and byte counters."""
    kind = _cast_kind(frame)
    return _bump(
        stats, **{f"{kind}_pkts_{direction}_ok": 1, f"{kind}_bytes_{direction}_ok": len(frame)}
    )


@dataclass
class DeviceCounters:
    """Everything the device counts; ``tx``/``rx`` are what GET_STATS publishes."""

    tx: Upt1TxStats = field(default_factory=Upt1TxStats)
    rx: Upt1RxStats = field(default_factory=Upt1RxStats)
    commands: int = 0
    unknown_commands: int = 0
    ignored_commands: int = 0  # known vmxnet3 commands the model does not act on
    refused_selections: int = 0  # VRRS/UVRS writes of an unsupported value
    bad_register_accesses: int = 0  # unaligned, out of range or unused offsets
    doorbells_ignored: int = 0  # while inactive, quiesced, stopped or not emulating
    rx_not_ready: int = 0  # receive() while the RX queue cannot take frames
    rx_filtered: int = 0  # dropped by the (policy-approved) RX filters
    policy_denied: int = 0
    irqs: int = 0
    irqs_masked: int = 0  # held pending by IMR or intrCtrl DISABLE_ALL
    queue_stops: int = 0


def _cast_kind(frame: bytes) -> str:
    dst = frame[:ETH_ALEN]
    if dst == BROADCAST:
        return "bcast"
    return "mcast" if dst and dst[0] & 1 else "ucast"


# -- activation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why the device refused an activation or stopped a queue."""

    result: int
    detail: str
    queue: str | None = None  # "tx" / "rx"
    error: int = 0  # VMXNET3_ERR_* written to the queue's status, where one applies


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


@dataclass(frozen=True)
class _Active:
    """What ACTIVATE_DEV accepted."""

    dsa: int
    txq_gpa: int
    rxq_gpa: int
    tx_vec: int
    rx_vec: int
    event_vec: int
    auto_mask: bool
    mtu: int
    ring_conf: RingConf


@dataclass
class _FilterState:
    """The RX filters the policy allowed (reset values: nothing passes until UPDATE_RX_MODE)."""

    rx_mode: RxMode = field(default_factory=lambda: RxMode(0))
    mac_filters: tuple[bytes, ...] = ()
    vlans: frozenset[int] = field(default_factory=frozenset)

    def accepts(self, dst: bytes, mac: bytes, vlan_tci: int | None) -> bool:
        if self.rx_mode & RxMode.PROMISC:
            return True
        vid = 0 if vlan_tci is None else vlan_tci & 0xFFF
        if self.vlans and vid not in self.vlans:
            return False
        if dst == BROADCAST:
            return bool(self.rx_mode & RxMode.BCAST)
        if dst[0] & 1:
            return bool(self.rx_mode & RxMode.ALL_MULTI) or bool(
                self.rx_mode & RxMode.MCAST and dst in self.mac_filters
            )
        return dst == mac and bool(self.rx_mode & RxMode.UCAST)


class Vmxnet3Device:
    """One VM's emulated vmxnet3 NIC (one TX and one RX queue)."""

    REV_SUPPORTED = 0x1  # VRRS bitmap: revision 1
    UPT_SUPPORTED = 0x1  # UVRS bitmap: UPT version 1

    def __init__(
        self,
        mem: GuestMemory,
        mac: bytes,
        backend: Vmxnet3Backend,
        *,
        policy: ControlPolicy = allow_all,
        hooks: NpaHooks | None = None,
        irq: IrqCallback | None = None,
        link_speed_mbps: int = 10000,
        tx_threshold: int = 1,
    ) -> None:
        if len(mac) != ETH_ALEN:
            raise ValueError(f"a MAC address is {ETH_ALEN} bytes, got {len(mac)}")
        self.mem = mem
        self.perm_mac = bytes(mac)
        self.mac = bytes(mac)
        self.backend = backend
        self.policy = policy
        self.hooks = hooks
        self.irq = irq
        self.link_up = True
        self.link_speed_mbps = link_speed_mbps
        self.tx_threshold = tx_threshold
        self.rev_selected = 0
        self.upt_selected = 0
        self.counters = DeviceCounters()
        self.control_log: list[ControlOutcome] = []
        self.last_refusal: Refusal | None = None
        # The MTU the policy last approved (None: none yet). The guest's rings take
        # whatever MTU it activated with; the approval is what the hypervisor lets
        # through its switch. Kept across RESET_DEV: it is the hypervisor's.
        self.approved_mtu: int | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self.dsa = 0
        self.result = 0
        self.ecr = 0
        self.icr = 0
        self.imr = [True] * MAX_INTRS  # masked until the driver enables them
        self._pending = [False] * MAX_INTRS
        self._macl = 0
        self._doorbells: dict[int, int] = {}
        self.filters = _FilterState()
        self.active: _Active | None = None  # what ACTIVATE_DEV accepted (kept by QUIESCE)
        self.rings: Vmxnet3DeviceRings | None = None  # None unless the data path runs
        self.emulating = True  # False after STOP_EMULATION: the plugin owns the rings
        self.tx_status = QueueStatus()
        self.rx_status = QueueStatus()

    # -- MMIO ------------------------------------------------------------------------------

    def bar0_write(self, off: int, val: int) -> None:
        slot = self._bar0_slot(off)
        if slot is None:
            return
        reg, idx = slot
        self._doorbells[off] = val
        if reg is Bar0.IMR:
            self._set_imr(idx, bool(val & 1))
        elif reg is Bar0.TXPROD:
            self._tx_doorbell(idx, val)
        elif reg is Bar0.RXPROD:
            self._rx_doorbell(idx)
        else:  # RXPROD2: ring 2 is not served by the model
            self.counters.doorbells_ignored += 1

    def bar0_read(self, off: int) -> int:
        slot = self._bar0_slot(off)
        if slot is None:
            return 0
        reg, idx = slot
        if reg is Bar0.IMR:
            return int(self.imr[idx])
        return self._doorbells.get(off, 0)

    def bar1_write(self, off: int, val: int) -> None:
        reg = self._bar1_reg(off)
        val &= 0xFFFFFFFF
        if reg is Bar1.VRRS:
            self.rev_selected = self._select(val, self.REV_SUPPORTED, self.rev_selected)
        elif reg is Bar1.UVRS:
            self.upt_selected = self._select(val, self.UPT_SUPPORTED, self.upt_selected)
        elif reg is Bar1.DSAL:
            self.dsa = (self.dsa & ~0xFFFFFFFF) | val
        elif reg is Bar1.DSAH:
            self.dsa = (self.dsa & 0xFFFFFFFF) | (val << 32)
        elif reg is Bar1.CMD:
            self.result = self.command(val)
        elif reg is Bar1.MACL:
            self._macl = val
        elif reg is Bar1.MACH:
            self._set_mac(regs_to_mac(self._macl, val))
        elif reg is Bar1.ECR:
            self._ack_events(val)
        elif reg is not None:  # ICR is read-only
            self.counters.bad_register_accesses += 1

    def bar1_read(self, off: int) -> int:
        reg = self._bar1_reg(off)
        if reg is Bar1.VRRS:
            return self.REV_SUPPORTED
        if reg is Bar1.UVRS:
            return self.UPT_SUPPORTED
        if reg is Bar1.DSAL:
            return self.dsa & 0xFFFFFFFF
        if reg is Bar1.DSAH:
            return self.dsa >> 32
        if reg is Bar1.CMD:
            return self.result
        if reg is Bar1.MACL:
            return mac_to_regs(self.mac)[0]
        if reg is Bar1.MACH:
            return mac_to_regs(self.mac)[1]
        if reg is Bar1.ICR:
            icr, self.icr = self.icr, 0  # read to clear
            return icr
        if reg is Bar1.ECR:
            return self.ecr
        return 0

    def _bar0_slot(self, off: int) -> tuple[Bar0, int] | None:
        for reg, count in (
            (Bar0.IMR, MAX_INTRS),
            (Bar0.TXPROD, MAX_TX_QUEUES),
            (Bar0.RXPROD, 16),
            (Bar0.RXPROD2, 16),
        ):
            idx, rem = divmod(off - reg, REG_STRIDE)
            if rem == 0 and 0 <= idx < count:
                return reg, idx
        self.counters.bad_register_accesses += 1
        return None

    def _bar1_reg(self, off: int) -> Bar1 | None:
        try:
            return Bar1(off)
        except ValueError:
            self.counters.bad_register_accesses += 1
            return None

    def _select(self, val: int, supported: int, current: int) -> int:
        if val and not val & (val - 1) and val & supported:
            return val
        self.counters.refused_selections += 1
        return current

    # -- commands --------------------------------------------------------------------------

    def command(self, cmd: int) -> int:
        """Run ``cmd`` as a CMD write does; returns (and latches) its result."""
        self.counters.commands += 1
        handlers: dict[int, Callable[[], int]] = {
            Cmd.ACTIVATE_DEV: self._activate,
            Cmd.QUIESCE_DEV: self._quiesce,
            Cmd.RESET_DEV: self._reset,
            Cmd.UPDATE_RX_MODE: self._update_rx_mode,
            Cmd.UPDATE_MAC_FILTERS: self._update_mac_filters,
            Cmd.UPDATE_VLAN_FILTERS: self._update_vlan_filters,
            Cmd.GET_QUEUE_STATUS: self._get_queue_status,
            Cmd.GET_STATS: self._get_stats,
            Cmd.GET_LINK: lambda: link_word(self.link_up, self.link_speed_mbps),
            Cmd.GET_PERM_MAC_LO: lambda: mac_to_regs(self.perm_mac)[0],
            Cmd.GET_PERM_MAC_HI: lambda: mac_to_regs(self.perm_mac)[1],
            Cmd.STOP_EMULATION: self._stop_emulation,
            Cmd.LOAD_PLUGIN: self._load_plugin,
            Cmd.ACTIVATE_VF: self._activate_vf,
        }
        ignored = (Cmd.UPDATE_RSSIDT, Cmd.UPDATE_IML, Cmd.UPDATE_PMCFG, Cmd.UPDATE_FEATURE)
        if cmd in handlers:
            result = handlers[cmd]()
        elif cmd in ignored:
            self.counters.ignored_commands += 1
            result = DeviceResult.OK
        else:
            self.counters.unknown_commands += 1
            result = DeviceResult.UNKNOWN
        self.result = int(result) & 0xFFFFFFFF
        return self.result

    def _activate(self) -> int:
        self.rings = None
        self.active = None
        try:
            act = self._validate()
        except _Refused as exc:
            self._refuse_activation(exc.refusal)
            return exc.refusal.result
        self.active = act
        if act.mtu != self.approved_mtu and self._decide(MtuRequest(act.mtu)):
            self.approved_mtu = act.mtu
        self.rings = Vmxnet3DeviceRings(self.mem, act.ring_conf)
        self.emulating = True
        self.tx_status = QueueStatus()
        self.rx_status = QueueStatus()
        self._write_status()
        self.mem.write(act.txq_gpa, TxQueueCtrl(tx_threshold=self.tx_threshold).pack())
        self.mem.write(act.rxq_gpa, RxQueueCtrl(update_rx_prod=True).pack())
        self.last_refusal = None
        return DeviceResult.OK

    def _validate(self) -> _Active:
        def refuse(result: DeviceResult, detail: str, queue: str | None = None) -> _Refused:
            return _Refused(Refusal(int(result), detail, queue))

        if not (self.rev_selected and self.upt_selected):
            raise refuse(DeviceResult.BAD_VERSION, "VRRS/UVRS not selected")
        dsa = self.dsa
        if not self._inside(dsa, DriverShared.SIZE):
            raise refuse(DeviceResult.BAD_SHARED_ADDR, f"DriverShared at {dsa:#x} outside memory")
        shared = DriverShared.unpack(self.mem.read(dsa, DriverShared.SIZE))
        if shared.magic != REV1_MAGIC:
            raise refuse(DeviceResult.BAD_MAGIC, f"magic {shared.magic:#x}")
        misc = shared.dev_read.misc
        info = misc.driver_info
        if not (info.vmxnet3_rev_spt & self.rev_selected and info.upt_ver_spt & self.upt_selected):
            raise refuse(DeviceResult.BAD_VERSION, "driverInfo does not support the selection")
        if misc.num_tx_queues != 1 or misc.num_rx_queues != 1:
            raise refuse(
                DeviceResult.QUEUE_COUNT,
                f"{misc.num_tx_queues} TX / {misc.num_rx_queues} RX queues (1 / 1 supported)",
            )
        need = TxQueueDesc.SIZE + RxQueueDesc.SIZE
        qpa = misc.queue_desc_pa
        if qpa % QUEUE_DESC_ALIGN or misc.queue_desc_len < need or not self._inside(qpa, need):
            raise refuse(DeviceResult.BAD_QUEUE_DESC, f"queueDescPA {qpa:#x}")
        if misc.dd_len and not self._inside(misc.dd_pa, misc.dd_len):
            raise refuse(DeviceResult.BAD_DRIVER_DATA, f"ddPA {misc.dd_pa:#x}+{misc.dd_len}")
        if not MIN_MTU <= misc.mtu <= MAX_MTU:
            raise refuse(DeviceResult.BAD_MTU, f"MTU {misc.mtu} outside {MIN_MTU}..{MAX_MTU}")
        intr = shared.dev_read.intr_conf
        if not 1 <= intr.num_intrs <= MAX_INTRS or intr.event_intr_idx >= intr.num_intrs:
            raise refuse(DeviceResult.BAD_INTR_CONF, f"{intr.num_intrs} interrupts")
        txq_gpa, rxq_gpa = qpa, qpa + TxQueueDesc.SIZE
        tx = TxQueueDesc.unpack(self.mem.read(txq_gpa, TxQueueDesc.SIZE)).conf
        rx = RxQueueDesc.unpack(self.mem.read(rxq_gpa, RxQueueDesc.SIZE)).conf
        for queue, idx in (("tx", tx.intr_idx), ("rx", rx.intr_idx)):
            if idx >= intr.num_intrs:
                raise refuse(DeviceResult.BAD_INTR_CONF, f"{queue} intrIdx {idx}", queue)
        tx_rings = [
            (RingKind.TX, tx.tx_ring_size, tx.tx_ring_base_pa),
            (RingKind.TX_COMP, tx.comp_ring_size, tx.comp_ring_base_pa),
        ]
        rx_rings = [
            (RingKind.RX, rx.rx_ring_size[0], rx.rx_ring_base_pa[0]),
            (RingKind.RX_COMP, rx.comp_ring_size, rx.comp_ring_base_pa),
        ]
        if rx.rx_ring_size[1] or rx.rx_ring_base_pa[1]:
            rx_rings.append((RingKind.RX2, rx.rx_ring_size[1], rx.rx_ring_base_pa[1]))
        for queue, rings in (("tx", tx_rings), ("rx", rx_rings)):
            for kind, size, base in rings:
                try:
                    check_ring(kind, size, base)
                except RingGeometryError as exc:
                    raise refuse(DeviceResult.RING_GEOMETRY, str(exc), queue) from None
                if not self._inside(base, size * DESC_BYTES):
                    raise refuse(DeviceResult.RING_ADDR, f"{kind.name} ring {base:#x}", queue)
        if tx.comp_ring_size < tx.tx_ring_size:
            raise refuse(DeviceResult.RING_GEOMETRY, "TX completion ring too small", "tx")
        if rx.comp_ring_size < rx.rx_ring_size[0] + rx.rx_ring_size[1]:
            raise refuse(DeviceResult.RING_GEOMETRY, "RX completion ring too small", "rx")
        data_len = tx.data_ring_size * (tx.tx_data_ring_desc_size or TX_DATA_DESC_DEFAULT)
        if tx.data_ring_size and not self._inside(tx.data_ring_base_pa, data_len):
            raise refuse(DeviceResult.RING_ADDR, "TX data ring", "tx")
        conf = RingConf(
            tx_ring=tx.tx_ring_base_pa,
            tx_size=tx.tx_ring_size,
            tx_comp=tx.comp_ring_base_pa,
            tx_comp_size=tx.comp_ring_size,
            rx_ring=rx.rx_ring_base_pa[0],
            rx_size=rx.rx_ring_size[0],
            rx_comp=rx.comp_ring_base_pa,
            rx_comp_size=rx.comp_ring_size,
            rx2_ring=rx.rx_ring_base_pa[1],
            rx2_size=rx.rx_ring_size[1],
        )
        return _Active(
            dsa=dsa,
            txq_gpa=txq_gpa,
            rxq_gpa=rxq_gpa,
            tx_vec=tx.intr_idx,
            rx_vec=rx.intr_idx,
            event_vec=intr.event_intr_idx,
            auto_mask=intr.auto_mask,
            mtu=misc.mtu,
            ring_conf=conf,
        )

    def _refuse_activation(self, refusal: Refusal) -> None:
        self.last_refusal = refusal
        if refusal.queue is None or not self._inside(self.dsa, DriverShared.SIZE):
            return
        qpa = self._read_shared("dev_read.misc.queue_desc_pa", 8)
        gpa = qpa if refusal.queue == "tx" else qpa + TxQueueDesc.SIZE
        status = QueueStatus(stopped=True, error=refusal.error)
        setattr(self, f"{refusal.queue}_status", status)
        self.mem.write(gpa + TxQueueDesc.offset_of("status"), status.pack())

    def _quiesce(self) -> int:
        self.rings = None
        return DeviceResult.OK

    def _reset(self) -> int:
        self._reset_state()
        return DeviceResult.OK

    def _get_queue_status(self) -> int:
        if self.active is None:
            return DeviceResult.NOT_READY
        self._write_status()
        return DeviceResult.OK

    def _get_stats(self) -> int:
        act = self.active
        if act is None:
            return DeviceResult.NOT_READY
        self.mem.write(act.txq_gpa + TxQueueDesc.offset_of("stats"), self.counters.tx.pack())
        self.mem.write(act.rxq_gpa + RxQueueDesc.offset_of("stats"), self.counters.rx.pack())
        return DeviceResult.OK

    # -- control requests (policy) ---------------------------------------------------------

    def _rx_filter_conf(self) -> RxFilterConf | None:
        if not self._inside(self.dsa, DriverShared.SIZE):
            return None
        f = DriverShared.field_of("dev_read.rx_filter_conf")
        return RxFilterConf.unpack(self.mem.read(self.dsa + f.offset, f.size))

    def _decide(self, request: ControlRequest) -> bool:
        allowed = bool(self.policy(request))
        self.control_log.append(ControlOutcome(request, allowed))
        if not allowed:
            self.counters.policy_denied += 1
        return allowed

    def _update_rx_mode(self) -> int:
        conf = self._rx_filter_conf()
        if conf is None:
            return DeviceResult.NOT_READY
        req = RxModeRequest(RxMode(conf.rx_mode & 0x1F))
        if not self._decide(req):
            return DeviceResult.DENIED
        self.filters.rx_mode = req.mode
        return DeviceResult.OK

    def _update_mac_filters(self) -> int:
        conf = self._rx_filter_conf()
        if conf is None:
            return DeviceResult.NOT_READY
        n = conf.mf_table_len
        if n % ETH_ALEN or (n and not self._inside(conf.mf_table_pa, n)):
            return DeviceResult.BAD_REQUEST
        raw = self.mem.read(conf.mf_table_pa, n) if n else b""
        req = MacFiltersRequest(tuple(raw[i : i + ETH_ALEN] for i in range(0, n, ETH_ALEN)))
        if not self._decide(req):
            return DeviceResult.DENIED
        self.filters.mac_filters = req.macs
        return DeviceResult.OK

    def _update_vlan_filters(self) -> int:
        conf = self._rx_filter_conf()
        if conf is None:
            return DeviceResult.NOT_READY
        req = VlanFiltersRequest(conf.vlans)
        if not self._decide(req):
            return DeviceResult.DENIED
        self.filters.vlans = req.vlans
        return DeviceResult.OK

    def _set_mac(self, mac: bytes) -> None:
        if self._decide(MacAddressRequest(mac)):
            self.mac = mac

    # -- NPA -------------------------------------------------------------------------------

    def _stop_emulation(self) -> int:
        if self.hooks is None:
            self.counters.unknown_commands += 1
            return DeviceResult.UNKNOWN
        result = self.hooks.stop_emulation(self)
        if result == DeviceResult.OK:
            self.emulating = False
        return result

    def resume_emulation(self) -> None:
        """The hypervisor takes the rings back (plugin quiesced or refused): emulate again.

        The ring cursors are where the plugin left them (the shell handed back
        unsent frames and unfilled buffers), so no ACTIVATE_DEV is needed.
        """
        if self.rings is not None:
            self.emulating = True

    def _load_plugin(self) -> int:
        if self.hooks is None:
            self.counters.unknown_commands += 1
            return DeviceResult.UNKNOWN
        if not self._inside(self.dsa, DriverShared.SIZE):
            return DeviceResult.NOT_READY
        f = DriverShared.field_of("dev_read.plugin_conf_desc")
        conf = PluginConfDesc.unpack(self.mem.read(self.dsa + f.offset, f.size))
        return self.hooks.load_plugin(self, conf)

    def _activate_vf(self) -> int:
        if self.hooks is None:
            self.counters.unknown_commands += 1
            return DeviceResult.UNKNOWN
        return self.hooks.activate_vf(self)

    # -- data path -------------------------------------------------------------------------

    def _tx_doorbell(self, queue: int, prod: int) -> None:
        rings, act = self.rings, self.active
        if queue != 0 or rings is None or act is None or not self.emulating:
            self.counters.doorbells_ignored += 1
            return
        if self.tx_status.stopped:
            self.counters.doorbells_ignored += 1
            return
        failure: Err | None = None
        try:
            reqs = rings.fetch_tx(prod)
        except DeviceRingError as exc:
            failure = Err.NOEOP if isinstance(exc, MissingEopError) else Err.TXD_INVALID
            reqs = rings.fetch_tx(rings.tx_next)  # whole frames before the refused descriptor
        done = 0
        for req in reqs:
            if req.length > self._max_frame(act):
                self.counters.tx = _bump(self.counters.tx, pkts_tx_error=1)
                failure = Err.BIG_PKT
                break
            self._transmit(rings, req)
            done += 1
        self.mem.write(act.txq_gpa, TxQueueCtrl(tx_threshold=self.tx_threshold).pack())
        if done:
            self._interrupt(act.tx_vec)
        if failure is not None:
            self._stop_queue("tx", failure)

    def _transmit(self, rings: Vmxnet3DeviceRings, req: TxRequest) -> None:
        frame = rings.read_frame(req)
        self.backend.transmit(frame, req.vlan_tci)
        rings.complete_tx(req)
        self.counters.tx = _count_frame(self.counters.tx, "tx", frame)

    @staticmethod
    def _max_frame(act: _Active) -> int:
        return act.mtu + ETH_HLEN + VLAN_HLEN

    def _rx_doorbell(self, queue: int) -> None:
        rings = self.rings
        if queue != 0 or rings is None or not self.emulating or self.rx_status.stopped:
            self.counters.doorbells_ignored += 1
            return
        try:
            rings.take_rx_buffers()
        except BadDescriptorError:
            self._stop_queue("rx", Err.SMALL_BUF)

    def receive(self, frame: bytes, vlan_tci: int | None = None) -> bool:
        """A frame from the backend for this VM; False = not delivered (counted)."""
        rings, act = self.rings, self.active
        if rings is None or act is None or not self.emulating or self.rx_status.stopped:
            self.counters.rx_not_ready += 1
            return False
        if len(frame) < ETH_HLEN or not self.filters.accepts(frame[:ETH_ALEN], self.mac, vlan_tci):
            self.counters.rx_filtered += 1
            return False
        try:
            ok = rings.deliver_rx(frame, vlan_tci=vlan_tci)
        except BadDescriptorError:
            self._stop_queue("rx", Err.SMALL_BUF)
            return False
        if not ok:
            self.counters.rx = _bump(self.counters.rx, pkts_rx_out_of_buf=1)
            return False
        self.counters.rx = _count_frame(self.counters.rx, "rx", frame)
        self._interrupt(act.rx_vec)
        return True

    def _stop_queue(self, queue: str, error: Err) -> None:
        act = self.active
        assert act is not None
        status = QueueStatus(stopped=True, error=int(error))
        setattr(self, f"{queue}_status", status)
        self.last_refusal = Refusal(int(error), f"{queue} queue stopped: {error.name}", queue)
        self.counters.queue_stops += 1
        self._write_status()
        self._raise_event(Ecr.TQERR if queue == "tx" else Ecr.RQERR)

    def _write_status(self) -> None:
        act = self.active
        assert act is not None
        off = TxQueueDesc.offset_of("status")
        self.mem.write(act.txq_gpa + off, self.tx_status.pack())
        self.mem.write(act.rxq_gpa + off, self.rx_status.pack())

    # -- link, events, interrupts ----------------------------------------------------------

    def set_link(self, up: bool, speed_mbps: int | None = None) -> None:
        """The hypervisor changes the link; a change raises ECR LINK."""
        changed = up != self.link_up
        self.link_up = up
        if speed_mbps is not None:
            self.link_speed_mbps = speed_mbps
        if changed and self.active is not None:
            self._raise_event(Ecr.LINK)

    def _raise_event(self, bits: Ecr) -> None:
        self.ecr |= int(bits)
        self._write_ecr()
        if self.active is not None:
            self._interrupt(self.active.event_vec)

    def _ack_events(self, val: int) -> None:
        self.ecr &= ~val
        self._write_ecr()

    def _write_ecr(self) -> None:
        if self._inside(self.dsa, DriverShared.SIZE):
            self.mem.write_u32(self.dsa + DriverShared.offset_of("ecr"), self.ecr)

    def _set_imr(self, vector: int, masked: bool) -> None:
        self.imr[vector] = masked
        if not masked and self._pending[vector]:
            self._interrupt(vector)

    def _interrupt(self, vector: int) -> None:
        disabled = self.active is not None and bool(
            self._read_shared("dev_read.intr_conf.intr_ctrl", 4) & IC_DISABLE_ALL
        )
        if self.imr[vector] or disabled:
            self._pending[vector] = True
            self.counters.irqs_masked += 1
            return
        self._pending[vector] = False
        self.icr |= 1 << vector
        self.counters.irqs += 1
        if self.active is not None and self.active.auto_mask:
            self.imr[vector] = True
        if self.irq is not None:
            self.irq(vector)

    # -- helpers ---------------------------------------------------------------------------

    def _inside(self, gpa: int, length: int) -> bool:
        return gpa > 0 and length >= 0 and gpa + length <= self.mem.size

    def _read_shared(self, path: str, nbytes: int) -> int:
        off = DriverShared.offset_of(path)
        return int.from_bytes(self.mem.read(self.dsa + off, nbytes), "little")
