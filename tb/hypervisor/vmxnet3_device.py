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
commands and result codes are written down in ``docs/VMXNET3_DEVICE.md``. The
requests, policy and hooks are in tb/hypervisor/vmxnet3_control.py, ACTIVATE_DEV's
checks in vmxnet3_activation.py, the counters in vmxnet3_counters.py.
"""

from __future__ import annotations

from collections.abc import Callable

from tb.hypervisor.guest_memory import GuestMemory
from tb.hypervisor.vmxnet3_activation import (
    Activation,
    Refusal,
    Refused,
    inside,
    validate_activation,
)
from tb.hypervisor.vmxnet3_control import (
    ControlOutcome,
    ControlPolicy,
    ControlRequest,
    DeviceResult,
    FilterState,
    IrqCallback,
    MacAddressRequest,
    MacFiltersRequest,
    MtuRequest,
    NpaHooks,
    RxModeRequest,
    VlanFiltersRequest,
    Vmxnet3Backend,
    allow_all,
)
from tb.hypervisor.vmxnet3_counters import DeviceCounters, bump_stats, count_frame
from tb.shell_model.device_rings import (
    BadDescriptorError,
    DeviceRingError,
    MissingEopError,
    TxRequest,
    Vmxnet3DeviceRings,
)
from tb.shell_model.vmxnet3_defs import (
    ETH_ALEN,
    IC_DISABLE_ALL,
    MAX_INTRS,
    MAX_TX_QUEUES,
    REG_STRIDE,
    Bar0,
    Bar1,
    Cmd,
    Ecr,
    Err,
    PluginConfDesc,
    RxMode,
    link_word,
    mac_to_regs,
    regs_to_mac,
)
from tb.shell_model.vmxnet3_shared import (
    DriverShared,
    QueueStatus,
    RxFilterConf,
    RxQueueCtrl,
    RxQueueDesc,
    TxQueueCtrl,
    TxQueueDesc,
)

BAR_SIZE = 4096  # VMXNET3_PT_REG_SIZE / VMXNET3_VD_REG_SIZE
ETH_HLEN = 14
VLAN_HLEN = 4


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
        self.filters = FilterState()
        self.active: Activation | None = None  # what ACTIVATE_DEV accepted (kept by QUIESCE)
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
            act = validate_activation(self.mem, self.dsa, self.rev_selected, self.upt_selected)
        except Refused as exc:
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
                self.counters.tx = bump_stats(self.counters.tx, pkts_tx_error=1)
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
        self.counters.tx = count_frame(self.counters.tx, "tx", frame)

    @staticmethod
    def _max_frame(act: Activation) -> int:
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
            self.counters.rx = bump_stats(self.counters.rx, pkts_rx_out_of_buf=1)
            return False
        self.counters.rx = count_frame(self.counters.rx, "rx", frame)
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
        return inside(self.mem, gpa, length)

    def _read_shared(self, path: str, nbytes: int) -> int:
        off = DriverShared.offset_of(path)
        return int.from_bytes(self.mem.read(self.dsa + off, nbytes), "little")
