"""The guest vmxnet3 driver's control path: probe and open as Linux's vmxnet3 does them.

Models what drivers/net/vmxnet3/vmxnet3_drv.c does at probe and open, on top
of a :class:`Vmxnet3Shell` (which owns the rings): check VRRS/UVRS and select
revision 1, read the permanent MAC (GET_PERM_MAC_LO/HI), allocate
DriverShared and the queue descriptor table in guest memory and fill them
from the shell's rings, point DSAL/DSAH at DriverShared, issue ACTIVATE_DEV
and check its result, post RX buffers and ring RXPROD, enable interrupts,
and set the RX mode, multicast list and VLAN filter through rxFilterConf and
the UPDATE_* commands. DriverShared's pluginConfDesc points at a buffer the
driver allocated for the NPA plugin image.

Every register access goes through the ``bars`` object the caller gives
(:class:`Vmxnet3Bars`): the emulated device itself in pure Python, or any
other path to a device with vmxnet3's registers. Synchronous.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from tb.shell_model.rings import GuestMemoryLike
from tb.shell_model.shell import TxPending, Vmxnet3Shell
from tb.shell_model.vmxnet3_defs import (
    ETH_ALEN,
    IC_DISABLE_ALL,
    LINK_SPEED_SHIFT,
    QUEUE_DESC_ALIGN,
    REG_STRIDE,
    REV1_MAGIC,
    Bar0,
    Bar1,
    Cmd,
    Ecr,
    PluginConfDesc,
    RxMode,
    regs_to_mac,
)
from tb.shell_model.vmxnet3_shared import (
    DriverInfo,
    DriverShared,
    DSDevRead,
    IntrConf,
    MiscConf,
    QueueStatus,
    RxFilterConf,
    RxQueueConf,
    RxQueueCtrl,
    RxQueueDesc,
    TxQueueConf,
    TxQueueDesc,
    Upt1RxStats,
    Upt1TxStats,
)

DRIVER_VERSION = 0x01040000  # driverInfo.version (opaque to the device)
GOS_LINUX_64 = 2 | (1 << 2)  # gosBits 64-bit, gosType Linux
PLUGIN_CONF_VER = 1
MF_TABLE_MAX = 32  # multicast addresses the driver's table holds


class Vmxnet3Bars(Protocol):
    """Register access to a vmxnet3 device (the emulated device satisfies it)."""

    def bar0_write(self, off: int, val: int) -> None: ...
    def bar0_read(self, off: int) -> int: ...
    def bar1_write(self, off: int, val: int) -> None: ...
    def bar1_read(self, off: int) -> int: ...


class DriverError(RuntimeError):
    """The device refused what the driver needs (reason and the device's result)."""

    def __init__(self, reason: str, result: int = 0) -> None:
        super().__init__(f"{reason} (result {result:#x})")
        self.reason = reason
        self.result = result


@dataclass(frozen=True)
class DriverConfig:
    mtu: int = 1500
    num_intrs: int = 1
    tx_intr: int = 0
    rx_intr: int = 0
    event_intr: int = 0
    auto_mask: bool = False
    plugin_buf_len: int = 64 * 1024


class Vmxnet3Driver:
    """Probe/open/control of one vmxnet3 device over a shell's queue pair."""

    def __init__(
        self,
        mem: GuestMemoryLike,
        shell: Vmxnet3Shell,
        bars: Vmxnet3Bars,
        config: DriverConfig | None = None,
    ) -> None:
        self.mem = mem
        self.shell = shell
        self.bars = bars
        self.config = config or DriverConfig()
        self.perm_mac = b""
        self.shared_gpa = mem.alloc(DriverShared.SIZE, 64)
        self.queue_desc_gpa = mem.alloc(TxQueueDesc.SIZE + RxQueueDesc.SIZE, QUEUE_DESC_ALIGN)
        self.mf_table_gpa = mem.alloc(MF_TABLE_MAX * ETH_ALEN, 64)
        self.plugin_gpa = mem.alloc(self.config.plugin_buf_len, 4096)
        self.vlans: frozenset[int] = frozenset()
        self.rx_mode = RxMode(0)
        self.mcast: tuple[bytes, ...] = ()

    # -- probe and open --------------------------------------------------------------------

    def probe(self) -> bytes:
        """Select revision 1 and UPT 1, read the permanent MAC."""
        if not self.bars.bar1_read(Bar1.VRRS) & 1:
            raise DriverError("device does not support vmxnet3 revision 1")
        self.bars.bar1_write(Bar1.VRRS, 1)
        if not self.bars.bar1_read(Bar1.UVRS) & 1:
            raise DriverError("device does not support UPT version 1")
        self.bars.bar1_write(Bar1.UVRS, 1)
        lo = self.command(Cmd.GET_PERM_MAC_LO)
        hi = self.command(Cmd.GET_PERM_MAC_HI)
        self.perm_mac = regs_to_mac(lo, hi)
        return self.perm_mac

    def shared(self) -> DriverShared:
        """DriverShared as vmxnet3_setup_driver_shared fills it from the shell's rings."""
        cfg = self.config
        misc = MiscConf(
            driver_info=DriverInfo(DRIVER_VERSION, GOS_LINUX_64, 1, 1),
            queue_desc_pa=self.queue_desc_gpa,
            queue_desc_len=TxQueueDesc.SIZE + RxQueueDesc.SIZE,
            mtu=cfg.mtu,
            max_num_rx_sg=1,
            num_tx_queues=1,
            num_rx_queues=1,
        )
        intr = IntrConf(
            auto_mask=cfg.auto_mask,
            num_intrs=cfg.num_intrs,
            event_intr_idx=cfg.event_intr,
            intr_ctrl=IC_DISABLE_ALL,
        )
        plugin = PluginConfDesc(PLUGIN_CONF_VER, cfg.plugin_buf_len, self.plugin_gpa)
        return DriverShared(
            magic=REV1_MAGIC,
            dev_read=DSDevRead(misc=misc, intr_conf=intr, plugin_conf_desc=plugin),
        )

    def queue_descs(self) -> tuple[TxQueueDesc, RxQueueDesc]:
        c, cfg = self.shell.conf, self.config
        txq = TxQueueDesc(
            conf=TxQueueConf(
                tx_ring_base_pa=c.tx_ring,
                comp_ring_base_pa=c.tx_comp,
                tx_ring_size=c.tx_size,
                comp_ring_size=c.tx_comp_size,
                intr_idx=cfg.tx_intr,
            )
        )
        rxq = RxQueueDesc(
            conf=RxQueueConf(
                rx_ring_base_pa=(c.rx_ring, c.rx2_ring),
                comp_ring_base_pa=c.rx_comp,
                rx_ring_size=(c.rx_size, c.rx2_size),
                comp_ring_size=c.rx_comp_size,
                intr_idx=cfg.rx_intr,
            )
        )
        return txq, rxq

    def write_shared(
        self,
        shared: DriverShared | None = None,
        queues: tuple[TxQueueDesc, RxQueueDesc] | None = None,
    ) -> None:
        txq, rxq = queues or self.queue_descs()
        self.mem.write(self.shared_gpa, (shared or self.shared()).pack())
        self.mem.write(self.queue_desc_gpa, txq.pack() + rxq.pack())
        self.bars.bar1_write(Bar1.DSAL, self.shared_gpa & 0xFFFFFFFF)
        self.bars.bar1_write(Bar1.DSAH, self.shared_gpa >> 32)

    def activate(self) -> None:
        """ACTIVATE_DEV, post RX buffers, enable interrupts (vmxnet3_activate_dev)."""
        result = self.command(Cmd.ACTIVATE_DEV)
        if result != 0:
            raise DriverError("ACTIVATE_DEV failed", result)
        self.post_rx()
        self._write_shared_u32("dev_read.intr_conf.intr_ctrl", 0)
        for vector in range(self.config.num_intrs):
            self.bars.bar0_write(Bar0.IMR + REG_STRIDE * vector, 0)

    def open(self, rx_mode: RxMode = RxMode.UCAST | RxMode.BCAST) -> None:
        """Probe-to-running: DriverShared, ACTIVATE_DEV, RX buffers, interrupts, RX mode."""
        if not self.perm_mac:
            self.probe()
        self.write_shared()
        self.activate()
        self.set_rx_mode(rx_mode)
        self.set_vlans({0})

    # -- control ---------------------------------------------------------------------------

    def command(self, cmd: int) -> int:
        self.bars.bar1_write(Bar1.CMD, cmd)
        return self.bars.bar1_read(Bar1.CMD)

    def set_mac(self, mac: bytes) -> None:
        """vmxnet3_write_mac_addr: MACL = bytes 0..3, MACH = bytes 4..5."""
        self.bars.bar1_write(Bar1.MACL, int.from_bytes(mac[:4], "little"))
        self.bars.bar1_write(Bar1.MACH, mac[4] | (mac[5] << 8))

    def current_mac(self) -> bytes:
        return regs_to_mac(self.bars.bar1_read(Bar1.MACL), self.bars.bar1_read(Bar1.MACH))

    def set_rx_mode(self, mode: RxMode) -> int:
        self.rx_mode = mode
        self._write_filter_conf()
        return self.command(Cmd.UPDATE_RX_MODE)

    def set_multicast(self, macs: Iterable[bytes]) -> int:
        table = tuple(macs)
        if len(table) > MF_TABLE_MAX:
            raise DriverError(f"{len(table)} multicast addresses, table holds {MF_TABLE_MAX}")
        self.mcast = table
        if table:
            self.mem.write(self.mf_table_gpa, b"".join(table))
        self._write_filter_conf()
        return self.command(Cmd.UPDATE_MAC_FILTERS)

    def set_vlans(self, vlans: Iterable[int]) -> int:
        self.vlans = frozenset(vlans)
        self._write_filter_conf()
        return self.command(Cmd.UPDATE_VLAN_FILTERS)

    def _write_filter_conf(self) -> None:
        conf = RxFilterConf(
            rx_mode=int(self.rx_mode),
            mf_table_len=len(self.mcast) * ETH_ALEN,
            mf_table_pa=self.mf_table_gpa,
            vf_table=RxFilterConf.vf_table_for(self.vlans),
        )
        off = DriverShared.offset_of("dev_read.rx_filter_conf")
        self.mem.write(self.shared_gpa + off, conf.pack())

    def _write_shared_u32(self, path: str, value: int) -> None:
        off = DriverShared.offset_of(path)
        self.mem.write(self.shared_gpa + off, value.to_bytes(4, "little"))

    # -- data path doorbells ---------------------------------------------------------------

    def send(self, frame: bytes, *, vlan_tci: int | None = None) -> TxPending:
        pending = self.shell.post_tx(frame, vlan_tci=vlan_tci)
        self.bars.bar0_write(Bar0.TXPROD, self.shell.tx_prod)
        return pending

    def post_rx(self, count: int | None = None) -> int:
        n = self.shell.post_rx(count)
        ctrl_off = self.queue_desc_gpa + TxQueueDesc.SIZE
        ctrl = RxQueueCtrl.unpack(self.mem.read(ctrl_off, RxQueueCtrl.SIZE))
        if n and ctrl.update_rx_prod:
            self.bars.bar0_write(Bar0.RXPROD, self.shell.rx_prod)
        return n

    # -- status ----------------------------------------------------------------------------

    def stats(self) -> tuple[Upt1TxStats, Upt1RxStats]:
        result = self.command(Cmd.GET_STATS)
        if result != 0:
            raise DriverError("GET_STATS failed", result)
        t = TxQueueDesc.unpack(self.mem.read(self.queue_desc_gpa, TxQueueDesc.SIZE))
        r = RxQueueDesc.unpack(
            self.mem.read(self.queue_desc_gpa + TxQueueDesc.SIZE, RxQueueDesc.SIZE)
        )
        return t.stats, r.stats

    def queue_status(self) -> tuple[QueueStatus, QueueStatus]:
        self.command(Cmd.GET_QUEUE_STATUS)
        t = TxQueueDesc.unpack(self.mem.read(self.queue_desc_gpa, TxQueueDesc.SIZE))
        r = RxQueueDesc.unpack(
            self.mem.read(self.queue_desc_gpa + TxQueueDesc.SIZE, RxQueueDesc.SIZE)
        )
        return t.status, r.status

    def link(self) -> tuple[bool, int]:
        word = self.command(Cmd.GET_LINK)
        return bool(word & 1), word >> LINK_SPEED_SHIFT

    def events(self) -> Ecr:
        """Read ECR (and DriverShared.ecr) and acknowledge them, as vmxnet3_process_events."""
        ecr = Ecr(self.bars.bar1_read(Bar1.ECR))
        if ecr:
            self.bars.bar1_write(Bar1.ECR, int(ecr))
        return ecr

    def write_plugin_image(self, image: bytes) -> None:
        if len(image) > self.config.plugin_buf_len:
            raise DriverError(f"plugin image of {len(image)} bytes exceeds the buffer")
        self.mem.write(self.plugin_gpa, image)
