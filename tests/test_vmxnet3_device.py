"""The emulated vmxnet3 device and the guest driver's bring-up, in pure Python.

Layout expectations are literal numbers worked out by hand from the field
order of Linux's drivers/net/vmxnet3/vmxnet3_defs.h and upt1_defs.h
(natural alignment); the arithmetic is in the comments. Frames are built
with scapy and compared byte for byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from tb.host.memory import HostMemory
from tb.hypervisor import GuestMemory
from tb.hypervisor.vmxnet3_device import (
    ControlRequest,
    DeviceResult,
    MacAddressRequest,
    MacFiltersRequest,
    MtuRequest,
    RxModeRequest,
    VlanFiltersRequest,
    Vmxnet3Device,
)
from tb.shell_model import Vmxnet3Shell
from tb.shell_model.vmxnet3_defs import (
    Bar0,
    Bar1,
    Cmd,
    DriverInfo,
    DriverShared,
    DSDevRead,
    IntrConf,
    MiscConf,
    PluginConfDesc,
    QueueStatus,
    RxFilterConf,
    RxMode,
    RxQueueConf,
    RxQueueDesc,
    TxDesc,
    TxQueueConf,
    TxQueueCtrl,
    TxQueueDesc,
    Upt1RxStats,
    Upt1TxStats,
)
from tb.shell_model.vmxnet3_driver import DriverConfig, DriverError, Vmxnet3Driver

MAC = bytes.fromhex("005056000001")
PEER = bytes.fromhex("005056000002")
GUEST_MEM = 4 << 20
# VMXNET3_ERR_* and VMXNET3_ECR_* as the header writes them
ERR_NOEOP, ERR_BIG_PKT, ERR_SMALL_BUF, ERR_TXD_INVALID = (
    0x80000000,
    0x80000002,
    0x80000004,
    0x80000007,
)
ECR_RQERR, ECR_TQERR, ECR_LINK = 1, 2, 4
TX_VEC, RX_VEC, EVENT_VEC = 0, 1, 2


# -- a rig: guest memory, device, shell, driver -------------------------------------------


@dataclass
class RecordingBackend:
    frames: list[tuple[bytes, int | None]] = field(default_factory=list)

    def transmit(self, frame: bytes, vlan_tci: int | None) -> None:
        self.frames.append((frame, vlan_tci))


@dataclass
class RecordingPolicy:
    deny: tuple[type, ...] = ()
    seen: list[ControlRequest] = field(default_factory=list)

    def __call__(self, request: ControlRequest) -> bool:
        self.seen.append(request)
        return not isinstance(request, self.deny) and not (
            isinstance(request, RxModeRequest) and request.mode & RxMode.PROMISC
        )


@dataclass
class RecordingHooks:
    result: int = 0
    calls: list[tuple[str, object]] = field(default_factory=list)

    def stop_emulation(self, device: Vmxnet3Device) -> int:
        self.calls.append(("stop_emulation", device))
        return self.result

    def load_plugin(self, device: Vmxnet3Device, conf: PluginConfDesc) -> int:
        self.calls.append(("load_plugin", conf))
        return self.result

    def activate_vf(self, device: Vmxnet3Device) -> int:
        self.calls.append(("activate_vf", device))
        return self.result


@dataclass
class Rig:
    mem: GuestMemory
    dev: Vmxnet3Device
    shell: Vmxnet3Shell
    drv: Vmxnet3Driver
    backend: RecordingBackend
    policy: RecordingPolicy
    irqs: list[int]

    def new_driver(self, **shell_kw: int) -> Vmxnet3Driver:
        self.shell = Vmxnet3Shell(self.mem, **shell_kw)
        self.drv = Vmxnet3Driver(self.mem, self.shell, self.dev, self.drv.config)
        return self.drv


def make_rig(
    *,
    hooks: RecordingHooks | None = None,
    deny: tuple[type, ...] = (),
    auto_mask: bool = False,
    tx_size: int = 32,
    rx_size: int = 32,
    rx_buf_len: int = 2048,
) -> Rig:
    host = HostMemory(2 * GUEST_MEM)
    mem = GuestMemory(host, GUEST_MEM, GUEST_MEM)
    backend, policy, irqs = RecordingBackend(), RecordingPolicy(deny), []
    dev = Vmxnet3Device(mem, MAC, backend, policy=policy, hooks=hooks, irq=irqs.append)
    shell = Vmxnet3Shell(mem, tx_size=tx_size, rx_size=rx_size, rx_buf_len=rx_buf_len)
    config = DriverConfig(
        num_intrs=3, tx_intr=TX_VEC, rx_intr=RX_VEC, event_intr=EVENT_VEC, auto_mask=auto_mask
    )
    return Rig(mem, dev, shell, Vmxnet3Driver(mem, shell, dev, config), backend, policy, irqs)


def udp_frame(seq: int, size: int = 128, dst: bytes = PEER) -> bytes:
    pkt = (
        Ether(src=MAC.hex(":"), dst=dst.hex(":"))
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / UDP(sport=1000 + seq, dport=9)
    )
    pad = max(0, size - len(pkt))
    return bytes(pkt / bytes((seq + i) & 0xFF for i in range(pad)))


def to_guest(seq: int, size: int = 128) -> bytes:
    pkt = Ether(src=PEER.hex(":"), dst=MAC.hex(":")) / IP() / UDP(sport=seq, dport=7)
    return bytes(pkt / bytes((seq * 7 + i) & 0xFF for i in range(max(0, size - len(pkt)))))


# -- (a) registers, commands, layouts (literal numbers from the header) -----------------------


def test_register_offsets_and_command_codes() -> None:
    # BAR1: VRRS 0x0, UVRS 0x8, DSAL 0x10, DSAH 0x18, CMD 0x20, MACL 0x28, MACH 0x30,
    # ICR 0x38, ECR 0x40; BAR0: IMR 0x0, TXPROD 0x600, RXPROD 0x800, RXPROD2 0xA00.
    assert [int(r) for r in Bar1] == [0x0, 0x8, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40]
    assert [int(r) for r in Bar0] == [0x0, 0x600, 0x800, 0xA00]
    # enum from VMXNET3_CMD_FIRST_SET 0xCAFE0000: ACTIVATE +0, QUIESCE +1, RESET +2,
    # UPDATE_RX_MODE +3, MAC_FILTERS +4, VLAN_FILTERS +5, RESERVED1 (NPA STOP_EMULATION) +10,
    # LOAD_PLUGIN +11, RESERVED2 (NPA ACTIVATE_VF) +12; FIRST_GET 0xF00D0000: QUEUE_STATUS +0,
    # STATS +1, LINK +2, PERM_MAC_LO +3, PERM_MAC_HI +4.
    expect = {
        Cmd.ACTIVATE_DEV: 0xCAFE0000,
        Cmd.QUIESCE_DEV: 0xCAFE0001,
        Cmd.RESET_DEV: 0xCAFE0002,
        Cmd.UPDATE_RX_MODE: 0xCAFE0003,
        Cmd.UPDATE_MAC_FILTERS: 0xCAFE0004,
        Cmd.UPDATE_VLAN_FILTERS: 0xCAFE0005,
        Cmd.STOP_EMULATION: 0xCAFE000A,
        Cmd.LOAD_PLUGIN: 0xCAFE000B,
        Cmd.ACTIVATE_VF: 0xCAFE000C,
        Cmd.GET_QUEUE_STATUS: 0xF00D0000,
        Cmd.GET_STATS: 0xF00D0001,
        Cmd.GET_LINK: 0xF00D0002,
        Cmd.GET_PERM_MAC_LO: 0xF00D0003,
        Cmd.GET_PERM_MAC_HI: 0xF00D0004,
    }
    assert {k: int(k) for k in expect} == expect


def test_driver_shared_layout() -> None:
    shared = DriverShared(
        magic=0xBABEFEE1,
        dev_read=DSDevRead(
            misc=MiscConf(
                driver_info=DriverInfo(0x11, 0x22, 0x33, 0x44),
                upt_features=0x55,
                dd_pa=0x1122334455667788,
                queue_desc_pa=0x99AABBCCDDEEFF00,
                dd_len=0x101,
                queue_desc_len=0x202,
                mtu=1500,
                max_num_rx_sg=3,
                num_tx_queues=1,
                num_rx_queues=2,
            ),
            intr_conf=IntrConf(
                auto_mask=True,
                num_intrs=5,
                event_intr_idx=4,
                mod_levels=bytes(range(1, 26)),
                intr_ctrl=0xC0FFEE01,
            ),
            rx_filter_conf=RxFilterConf(
                rx_mode=0x15,
                mf_table_len=12,
                mf_table_pa=0xAAAA0000,
                vf_table=RxFilterConf.vf_table_for({0, 100, 4095}),
            ),
            rss_conf_desc=PluginConfDesc(7, 8, 0x9000),
            plugin_conf_desc=PluginConfDesc(1, 0x10000, 0x123456789A),
        ),
        ecr=0x5,
    )
    raw = shared.pack()
    # magic u32 @0, pad @4, devRead @8. misc (72 bytes) @8: driverInfo 16 bytes @8
    # (version 8, gos 12, vmxnet3RevSpt 16, uptVerSpt 20), uptFeatures @24, ddPA @32,
    # queueDescPA @40, ddLen @48, queueDescLen @52, mtu @56, maxNumRxSG u16 @60,
    # numTxQueues u8 @62, numRxQueues u8 @63, reserved[4] 64..80.
    assert len(raw) == 720  # 8 + devRead 688 + ecr 4 + reserved 4 + cmdInfo 16
    assert struct.unpack_from("<I", raw, 0)[0] == 0xBABEFEE1 == 3133079265
    assert struct.unpack_from("<IIII", raw, 8) == (0x11, 0x22, 0x33, 0x44)
    assert struct.unpack_from("<QQQ", raw, 24) == (0x55, 0x1122334455667788, 0x99AABBCCDDEEFF00)
    assert struct.unpack_from("<IIIHBB", raw, 48) == (0x101, 0x202, 1500, 3, 1, 2)
    # intrConf (40 bytes) @8+72=80: autoMask @80, numIntrs @81, eventIntrIdx @82,
    # modLevels[25] @83..108, intrCtrl u32 @108 (already 4-aligned), reserved[2] 112..120.
    assert struct.unpack_from("<?BB25sI", raw, 80) == (True, 5, 4, bytes(range(1, 26)), 0xC0FFEE01)
    # rxFilterConf @80+40=120: rxMode @120, mfTableLen u16 @124, pad @126, mfTablePA @128,
    # vfTable[128] u32 @136..648. VID 100 is word 100>>5=3 bit 100&31=4 -> @148.
    assert struct.unpack_from("<IHxxQ", raw, 120) == (0x15, 12, 0xAAAA0000)
    assert struct.unpack_from("<I", raw, 136)[0] == 1  # VID 0
    assert struct.unpack_from("<I", raw, 136 + 4 * 3)[0] == 1 << 4  # VID 100
    assert struct.unpack_from("<I", raw, 136 + 4 * 127)[0] == 1 << 31  # VID 4095
    # rssConfDesc @120+528=648, pmConfDesc @664, pluginConfDesc @680 (confVer, confLen, confPA)
    assert struct.unpack_from("<IIQ", raw, 648) == (7, 8, 0x9000)
    assert struct.unpack_from("<IIQ", raw, 680) == (1, 0x10000, 0x123456789A)
    # ecr @8+688=696
    assert struct.unpack_from("<I", raw, 696)[0] == 0x5
    assert DriverShared.unpack(raw) == shared
    assert DriverShared.offset_of("dev_read.misc.queue_desc_pa") == 40
    assert DriverShared.offset_of("dev_read.plugin_conf_desc") == 680
    assert DriverShared.offset_of("ecr") == 696


def test_queue_descriptor_layouts() -> None:
    txq = TxQueueDesc(
        ctrl=TxQueueCtrl(tx_num_deferred=3, tx_threshold=9),
        conf=TxQueueConf(
            tx_ring_base_pa=0x1000,
            data_ring_base_pa=0x2000,
            comp_ring_base_pa=0x3000,
            dd_pa=0x4000,
            tx_ring_size=512,
            data_ring_size=64,
            comp_ring_size=1024,
            dd_len=77,
            intr_idx=6,
            tx_data_ring_desc_size=256,
        ),
        status=QueueStatus(stopped=True, error=0x80000001),
        stats=Upt1TxStats(*range(101, 111)),
    )
    raw = txq.pack()
    # ctrl (16) @0: txNumDeferred @0, txThreshold @4, reserved u64 @8.
    # conf (64) @16: txRingBasePA @16, dataRingBasePA @24, compRingBasePA @32, ddPA @40,
    # reserved @48, txRingSize @56, dataRingSize @60, compRingSize @64, ddLen @68,
    # intrIdx u8 @72, pad @73, txDataRingDescSize u16 @74, pad 76..80.
    # status (8) @80: stopped @80, pad, error @84. stats (10 x u64 = 80) @88..168, pad[88] -> 256.
    assert len(raw) == 256
    assert struct.unpack_from("<II", raw, 0) == (3, 9)
    assert struct.unpack_from("<QQQQ", raw, 16) == (0x1000, 0x2000, 0x3000, 0x4000)
    assert struct.unpack_from("<IIIIBxH", raw, 56) == (512, 64, 1024, 77, 6, 256)
    assert struct.unpack_from("<?3xI", raw, 80) == (True, 0x80000001)
    assert struct.unpack_from("<10Q", raw, 88) == tuple(range(101, 111))
    assert TxQueueDesc.unpack(raw) == txq

    rxq = RxQueueDesc(
        conf=RxQueueConf(
            rx_ring_base_pa=(0x5000, 0x6000),
            comp_ring_base_pa=0x7000,
            dd_pa=0x8000,
            rx_data_ring_base_pa=0x9000,
            rx_ring_size=(256, 128),
            comp_ring_size=384,
            dd_len=5,
            intr_idx=2,
            rx_data_ring_desc_size=128,
        ),
        status=QueueStatus(stopped=True, error=0x80000004),
        stats=Upt1RxStats(*range(201, 211)),
    )
    raw = rxq.pack()
    # conf @16: rxRingBasePA[2] @16,@24, compRingBasePA @32, ddPA @40, rxDataRingBasePA @48,
    # rxRingSize[2] @56,@60, compRingSize @64, ddLen @68, intrIdx @72, rxDataRingDescSize @74.
    # pktsRxOutOfBuf is the 9th u64 of the stats: 88 + 8*8 = 152.
    assert len(raw) == 256
    assert struct.unpack_from("<QQQQQ", raw, 16) == (0x5000, 0x6000, 0x7000, 0x8000, 0x9000)
    assert struct.unpack_from("<IIIIBxH", raw, 56) == (256, 128, 384, 5, 2, 128)
    assert struct.unpack_from("<?3xI", raw, 80) == (True, 0x80000004)
    assert struct.unpack_from("<Q", raw, 152)[0] == 209
    assert RxQueueDesc.unpack(raw) == rxq


# -- (b) boot and traffic ---------------------------------------------------------------------


def test_probe_selects_revision_and_reads_permanent_mac() -> None:
    rig = make_rig()
    assert rig.dev.bar1_read(Bar1.VRRS) & 1 and rig.dev.rev_selected == 0
    assert rig.drv.probe() == MAC
    assert (rig.dev.rev_selected, rig.dev.upt_selected) == (1, 1)
    # GET_PERM_MAC_LO: bytes 0..3 little-endian; HI: bytes 4..5
    # 00:50:56:00:00:01 -> LO = 0x00 | 0x50 << 8 | 0x56 << 16 | 0x00 << 24, HI = 0x00 | 0x01 << 8
    assert rig.drv.command(Cmd.GET_PERM_MAC_LO) == 0x00_56_50_00
    assert rig.drv.command(Cmd.GET_PERM_MAC_HI) == 0x01_00
    # GET_LINK: up in bit 0, 10000 Mbps << 16 (VMXNET3_LINK_UP)
    assert rig.drv.command(Cmd.GET_LINK) == (10000 << 16) | 1 == 0x27100001


def test_unsupported_revision_is_refused() -> None:
    rig = make_rig()
    rig.dev.bar1_write(Bar1.VRRS, 0x2)  # revision 2: not in the bitmap
    rig.dev.bar1_write(Bar1.UVRS, 0x3)  # not a single revision
    assert (rig.dev.rev_selected, rig.dev.upt_selected) == (0, 0)
    assert rig.dev.counters.refused_selections == 2
    rig.drv.perm_mac = MAC  # skip probe: open with nothing selected
    with pytest.raises(DriverError) as err:
        rig.drv.open()
    assert err.value.result == DeviceResult.BAD_VERSION


def test_boot_tx_frames_reach_backend_bit_exact() -> None:
    rig = make_rig()
    rig.drv.open()
    assert rig.dev.bar1_read(Bar1.CMD) == 0 and rig.dev.rings is not None
    sent = [udp_frame(i, 64 + (37 * i) % 1455) for i in range(70)]  # > 2 laps of a 32-entry ring
    for i, frame in enumerate(sent):
        rig.drv.send(frame, vlan_tci=0x2064 if i == 5 else None)
        done = rig.shell.reap_tx()
        assert [t.data for t in done] == [frame]
    assert [f for f, _ in rig.backend.frames] == sent
    assert [t for _, t in rig.backend.frames] == [0x2064 if i == 5 else None for i in range(70)]
    assert rig.irqs.count(TX_VEC) == 70
    tx, _ = rig.drv.stats()
    assert tx.ucast_pkts_tx_ok == 70 and tx.ucast_bytes_tx_ok == sum(map(len, sent))
    assert rig.dev.counters.tx.ucast_pkts_tx_ok == 70


def test_boot_rx_frames_reach_shell_across_ring_wraps() -> None:
    rig = make_rig(rx_size=32, rx_buf_len=512)
    rig.drv.open()
    got: list[bytes] = []
    sent = []
    for lap in range(4):
        for k in range(20):
            seq = lap * 20 + k
            frame = to_guest(seq, 60 + (seq * 53) % 900)  # up to 2 buffers of 512
            sent.append(frame)
            assert rig.dev.receive(frame)
        got += [p.data for p in rig.shell.reap_rx()]
        rig.drv.post_rx()
    assert got == sent
    assert rig.irqs.count(RX_VEC) == 80
    _, rx = rig.drv.stats()
    assert rx.ucast_pkts_rx_ok == 80 and rx.ucast_bytes_rx_ok == sum(map(len, sent))


def test_rx_without_buffers_is_counted_out_of_buf() -> None:
    rig = make_rig(rx_size=32)
    rig.drv.open()
    delivered = [rig.dev.receive(to_guest(i)) for i in range(40)]
    assert delivered == [True] * 31 + [False] * 9  # one slot stays empty
    _, rx = rig.drv.stats()
    assert rx.pkts_rx_out_of_buf == 9


# -- (c) refusals -----------------------------------------------------------------------------


def _with_misc(rig: Rig, **kw: int) -> DriverShared:
    s = rig.drv.shared()
    return replace(s, dev_read=replace(s.dev_read, misc=replace(s.dev_read.misc, **kw)))


def _activate_with(
    rig: Rig,
    shared: DriverShared | None = None,
    txc: dict[str, int] | None = None,
    rxc: dict[str, object] | None = None,
) -> int:
    rig.drv.probe()
    txq, rxq = rig.drv.queue_descs()
    txq = replace(txq, conf=replace(txq.conf, **(txc or {})))
    rxq = replace(rxq, conf=replace(rxq.conf, **(rxc or {})))
    rig.drv.write_shared(shared, (txq, rxq))
    return rig.drv.command(Cmd.ACTIVATE_DEV)


def _assert_inactive_and_silent(rig: Rig) -> None:
    assert rig.dev.rings is None
    rig.shell.post_tx(udp_frame(1))
    rig.dev.bar0_write(Bar0.TXPROD, rig.shell.tx_prod)
    assert rig.backend.frames == []
    assert rig.dev.counters.doorbells_ignored == 1
    assert not rig.dev.receive(to_guest(1))


def test_bad_magic_is_refused() -> None:
    rig = make_rig()
    assert _activate_with(rig, replace(rig.drv.shared(), magic=0xBABEFEE0)) == 0x11
    assert rig.dev.last_refusal is not None and rig.dev.last_refusal.result == 0x11
    _assert_inactive_and_silent(rig)


@pytest.mark.parametrize("where", ["past_end", "high_dword"])
def test_driver_shared_outside_guest_memory_is_refused(where: str) -> None:
    rig = make_rig()
    rig.drv.probe()
    rig.drv.write_shared()
    if where == "past_end":
        rig.dev.bar1_write(Bar1.DSAL, GUEST_MEM - 100)  # 720 bytes do not fit
    else:
        rig.dev.bar1_write(Bar1.DSAH, 1)  # 4 GiB up: beyond the 4 MiB VM
    assert rig.drv.command(Cmd.ACTIVATE_DEV) == DeviceResult.BAD_SHARED_ADDR
    _assert_inactive_and_silent(rig)


def test_queue_desc_outside_guest_memory_is_refused() -> None:
    rig = make_rig()
    shared = _with_misc(rig, queue_desc_pa=GUEST_MEM - 128)
    assert _activate_with(rig, shared) == DeviceResult.BAD_QUEUE_DESC
    _assert_inactive_and_silent(rig)


@pytest.mark.parametrize(("ntx", "nrx"), [(2, 1), (1, 2), (0, 1)])
def test_queue_count_other_than_one_each_is_refused(ntx: int, nrx: int) -> None:
    rig = make_rig()
    shared = _with_misc(rig, num_tx_queues=ntx, num_rx_queues=nrx)
    assert _activate_with(rig, shared) == DeviceResult.QUEUE_COUNT
    _assert_inactive_and_silent(rig)


@pytest.mark.parametrize("mtu", [59, 9001])
def test_mtu_out_of_range_is_refused(mtu: int) -> None:
    rig = make_rig()
    assert _activate_with(rig, _with_misc(rig, mtu=mtu)) == DeviceResult.BAD_MTU
    _assert_inactive_and_silent(rig)


@pytest.mark.parametrize(
    ("queue", "conf"),
    [
        ("tx", {"tx_ring_size": 48}),  # not a multiple of 32
        ("tx", {"tx_ring_size": 4096 + 32, "comp_ring_size": 4096 + 32}),  # too big
        ("rx", {"rx_ring_size": (8192, 0)}),  # RX ring 1 max is 4096
        ("tx", "misaligned"),
        ("rx", "misaligned"),
    ],
)
def test_ring_geometry_is_refused_and_the_queue_marked_stopped(
    queue: str, conf: dict[str, object] | str
) -> None:
    rig = make_rig()
    c = rig.shell.conf
    if conf == "misaligned":  # 16 bytes past a 512-byte boundary
        conf = (
            {"tx_ring_base_pa": c.tx_ring + 16}
            if queue == "tx"
            else {"rx_ring_base_pa": (c.rx_ring + 16, 0)}
        )
    assert isinstance(conf, dict)
    kw = {"txc": conf} if queue == "tx" else {"rxc": conf}
    assert _activate_with(rig, **kw) == DeviceResult.RING_GEOMETRY  # type: ignore[arg-type]
    tx_status, rx_status = (
        QueueStatus.unpack(rig.mem.read(rig.drv.queue_desc_gpa + 256 * i + 80, 8)) for i in (0, 1)
    )
    assert (tx_status.stopped, rx_status.stopped) == (queue == "tx", queue == "rx")
    _assert_inactive_and_silent(rig)


def test_ring_outside_guest_memory_is_refused() -> None:
    rig = make_rig()
    # 512-aligned and a valid size, but past the end of the VM's 4 MiB
    assert _activate_with(rig, rxc={"comp_ring_base_pa": GUEST_MEM}) == DeviceResult.RING_ADDR
    _assert_inactive_and_silent(rig)


def _write_raw_tx(rig: Rig, count: int, *, eop_last: bool, gen: int | None = None) -> int:
    """Descriptors the shell did not make, from the shell's next slot; returns the new prod."""
    c = rig.shell.conf
    start = rig.shell.tx_prod
    buf = rig.mem.alloc(64 * count, 64)
    for i in range(count):
        desc = TxDesc(
            addr=buf + 64 * i,
            length=64,
            gen=rig.shell.tx_gen if gen is None else gen,
            eop=eop_last and i == count - 1,
            cq=eop_last and i == count - 1,
        )
        rig.mem.write(c.tx_ring + 16 * ((start + i) % c.tx_size), desc.pack())
    return (start + count) % c.tx_size


def _assert_tx_stopped_rx_works(rig: Rig, err: int) -> None:
    tx_status, rx_status = rig.drv.queue_status()
    assert tx_status == QueueStatus(stopped=True, error=err)
    assert rx_status == QueueStatus()
    assert rig.dev.bar1_read(Bar1.ECR) & ECR_TQERR
    assert rig.mem.read_u32(rig.drv.shared_gpa + 696) & ECR_TQERR  # DriverShared.ecr
    assert EVENT_VEC in rig.irqs
    # the RX queue keeps working
    frame = to_guest(3)
    assert rig.dev.receive(frame)
    assert [p.data for p in rig.shell.reap_rx()] == [frame]
    # and the stopped TX queue stays stopped
    rig.dev.bar0_write(Bar0.TXPROD, 0)
    assert rig.dev.counters.doorbells_ignored == 1


def test_tx_descriptor_without_eop_stops_the_tx_queue_only() -> None:
    rig = make_rig()
    rig.drv.open()
    prod = _write_raw_tx(rig, 17, eop_last=False)  # 17 > VMXNET3_MAX_TXD_PER_PKT
    rig.dev.bar0_write(Bar0.TXPROD, prod)
    assert rig.backend.frames == []
    assert TX_VEC not in rig.irqs
    _assert_tx_stopped_rx_works(rig, ERR_NOEOP)


def test_tx_descriptor_with_stale_gen_stops_the_tx_queue() -> None:
    rig = make_rig()
    rig.drv.open()
    prod = _write_raw_tx(rig, 1, eop_last=True, gen=rig.shell.tx_gen ^ 1)
    rig.dev.bar0_write(Bar0.TXPROD, prod)
    assert rig.backend.frames == []
    _assert_tx_stopped_rx_works(rig, ERR_TXD_INVALID)


def test_tx_frame_beyond_mtu_stops_the_tx_queue() -> None:
    rig = make_rig()
    rig.drv.open()  # MTU 1500: at most 1500 + 14 + 4 bytes
    rig.drv.send(udp_frame(0, 1518))
    assert len(rig.backend.frames) == 1
    rig.drv.send(udp_frame(1, 1519))
    assert len(rig.backend.frames) == 1
    assert rig.dev.counters.tx.pkts_tx_error == 1
    _assert_tx_stopped_rx_works(rig, ERR_BIG_PKT)


# -- (d) control requests go to the policy ----------------------------------------------------


def test_rx_mode_request_goes_to_policy_and_denial_keeps_filters() -> None:
    rig = make_rig()
    rig.drv.open()  # MTU 1500 at ACTIVATE_DEV, then UCAST | BCAST, VLAN {0}
    assert rig.policy.seen[:3] == [
        MtuRequest(1500),
        RxModeRequest(RxMode.UCAST | RxMode.BCAST),
        VlanFiltersRequest(frozenset({0})),
    ]
    assert rig.drv.set_rx_mode(RxMode.UCAST | RxMode.PROMISC) == DeviceResult.DENIED
    assert rig.policy.seen[-1] == RxModeRequest(RxMode.UCAST | RxMode.PROMISC)
    assert rig.dev.control_log[-1].allowed is False
    assert rig.dev.counters.policy_denied == 1
    # not promiscuous: a frame for another MAC is dropped
    other = bytes(Ether(src=PEER.hex(":"), dst="00:50:56:00:00:99") / IP())
    assert not rig.dev.receive(other)
    assert rig.drv.set_rx_mode(RxMode.UCAST) == DeviceResult.OK
    assert rig.dev.control_log[-1].allowed is True
    bcast = bytes(Ether(src=PEER.hex(":"), dst="ff:ff:ff:ff:ff:ff") / IP())
    assert not rig.dev.receive(bcast)  # BCAST no longer in the mode
    assert rig.dev.counters.rx_filtered == 2


def test_mac_filter_request_carries_the_multicast_list() -> None:
    rig = make_rig()
    rig.drv.open()
    groups = [bytes.fromhex("01005e000001"), bytes.fromhex("01005e7f0102")]
    mcast = bytes(Ether(src=PEER.hex(":"), dst="01:00:5e:00:00:01") / IP())
    rig.drv.set_rx_mode(RxMode.UCAST | RxMode.MCAST)
    assert not rig.dev.receive(mcast)  # not in the (empty) table yet
    assert rig.drv.set_multicast(groups) == DeviceResult.OK
    assert rig.policy.seen[-1] == MacFiltersRequest(tuple(groups))
    assert rig.dev.receive(mcast)
    assert rig.shell.reap_rx()[0].data == mcast


def test_mac_filter_request_denied_is_not_applied() -> None:
    rig = make_rig(deny=(MacFiltersRequest,))
    rig.drv.open()
    rig.drv.set_rx_mode(RxMode.UCAST | RxMode.MCAST)
    assert rig.drv.set_multicast([bytes.fromhex("01005e000001")]) == DeviceResult.DENIED
    assert rig.dev.control_log[-1].allowed is False
    assert not rig.dev.receive(bytes(Ether(src=PEER.hex(":"), dst="01:00:5e:00:00:01") / IP()))


def test_vlan_filter_request_carries_the_vlan_set() -> None:
    rig = make_rig()
    rig.drv.open()
    assert rig.drv.set_vlans({0, 100, 4095}) == DeviceResult.OK
    assert rig.policy.seen[-1] == VlanFiltersRequest(frozenset({0, 100, 4095}))
    frame = to_guest(1)
    assert not rig.dev.receive(frame, vlan_tci=200)
    assert rig.dev.receive(frame, vlan_tci=0x6064)  # PCP 3, VID 100
    pkt = rig.shell.reap_rx()[0]
    assert (pkt.data, pkt.vlan_tci) == (frame, 0x6064)


def test_vlan_filter_request_denied_is_not_applied() -> None:
    rig = make_rig()
    rig.drv.open()  # VLAN filter {0}: untagged only
    rig.policy.deny = (VlanFiltersRequest,)
    assert rig.drv.set_vlans({0, 100}) == DeviceResult.DENIED
    assert rig.dev.control_log[-1].allowed is False
    assert not rig.dev.receive(to_guest(1), vlan_tci=100)
    assert rig.dev.receive(to_guest(1))


def test_mac_address_change_goes_to_policy() -> None:
    rig = make_rig()
    rig.drv.open()
    new = bytes.fromhex("02aabbccddee")
    rig.drv.set_mac(new)
    assert rig.policy.seen[-1] == MacAddressRequest(new)
    assert rig.drv.current_mac() == new and rig.dev.mac == new
    assert rig.drv.command(Cmd.GET_PERM_MAC_LO) == int.from_bytes(MAC[:4], "little")
    denied = make_rig(deny=(MacAddressRequest,))
    denied.drv.open()
    denied.drv.set_mac(new)
    assert denied.drv.current_mac() == MAC
    assert denied.dev.control_log[-1] == type(denied.dev.control_log[-1])(
        MacAddressRequest(new), False
    )


# -- (e) NPA commands call the hooks ----------------------------------------------------------


def test_npa_commands_call_the_hooks_and_return_their_result() -> None:
    hooks = RecordingHooks(result=0)
    rig = make_rig(hooks=hooks)
    rig.drv.open()
    rig.drv.write_plugin_image(b"\x7fPLUGIN" + bytes(100))
    assert rig.drv.command(Cmd.LOAD_PLUGIN) == 0
    name, conf = hooks.calls[-1]
    assert name == "load_plugin"
    assert conf == PluginConfDesc(1, 64 * 1024, rig.drv.plugin_gpa)
    assert isinstance(conf, PluginConfDesc)
    assert rig.mem.read(conf.conf_pa, 7) == b"\x7fPLUGIN"
    hooks.result = 0x1234
    assert rig.drv.command(Cmd.ACTIVATE_VF) == 0x1234
    assert hooks.calls[-1] == ("activate_vf", rig.dev)
    hooks.result = 0
    assert rig.drv.command(Cmd.STOP_EMULATION) == 0
    assert hooks.calls[-1] == ("stop_emulation", rig.dev)
    # the emulated data path let go of the rings: the plugin owns them now
    rig.drv.send(udp_frame(0))
    assert rig.backend.frames == []
    assert not rig.dev.receive(to_guest(0))


def test_npa_commands_without_hooks_and_unknown_commands() -> None:
    rig = make_rig()
    rig.drv.open()
    for cmd in (Cmd.STOP_EMULATION, Cmd.LOAD_PLUGIN, Cmd.ACTIVATE_VF, 0xCAFE00FF, 0xF00D00FF):
        assert rig.drv.command(cmd) == 0xFFFFFFFF
    assert rig.dev.counters.unknown_commands == 5
    rig.drv.send(udp_frame(0))  # still emulating
    assert len(rig.backend.frames) == 1


# -- (f) QUIESCE_DEV / RESET_DEV --------------------------------------------------------------


def test_quiesce_stops_the_data_path_and_keeps_the_device_configured() -> None:
    rig = make_rig()
    rig.drv.open()
    rig.drv.send(udp_frame(0))
    assert rig.drv.command(Cmd.QUIESCE_DEV) == 0
    rig.drv.send(udp_frame(1))
    assert len(rig.backend.frames) == 1
    assert not rig.dev.receive(to_guest(0))
    tx, _ = rig.drv.stats()  # still answers from the activated configuration
    assert tx.ucast_pkts_tx_ok == 1
    assert rig.dev.bar1_read(Bar1.DSAL) == rig.drv.shared_gpa & 0xFFFFFFFF


def test_reset_returns_to_the_probe_state_and_reopens() -> None:
    rig = make_rig()
    rig.drv.open()
    rig.drv.send(udp_frame(0))
    rig.dev.set_link(False)
    assert rig.dev.bar1_read(Bar1.ECR) == ECR_LINK
    assert rig.drv.command(Cmd.RESET_DEV) == 0
    assert (rig.dev.bar1_read(Bar1.DSAL), rig.dev.bar1_read(Bar1.DSAH)) == (0, 0)
    assert rig.dev.bar1_read(Bar1.ECR) == 0
    assert rig.dev.bar0_read(Bar0.IMR) == 1  # masked again
    assert rig.drv.command(Cmd.GET_STATS) == DeviceResult.NOT_READY
    rig.drv.send(udp_frame(1))
    assert len(rig.backend.frames) == 1
    drv = rig.new_driver(tx_size=64, rx_size=64)  # Linux re-initializes its rings on open
    drv.open()
    drv.send(udp_frame(2))
    assert [f for f, _ in rig.backend.frames] == [udp_frame(0), udp_frame(2)]


def test_link_change_raises_the_link_event() -> None:
    rig = make_rig()
    rig.drv.open()
    rig.dev.set_link(False)
    assert rig.drv.link() == (False, 0)
    assert rig.irqs[-1] == EVENT_VEC
    assert rig.drv.events() == ECR_LINK  # read and acknowledged (write-1-to-clear)
    assert rig.dev.bar1_read(Bar1.ECR) == 0
    rig.dev.set_link(True, 25000)
    assert rig.drv.link() == (True, 25000)


# -- (g) interrupt masking --------------------------------------------------------------------


def test_imr_masking_suppresses_irq_until_unmasked() -> None:
    rig = make_rig()
    rig.drv.open()
    rig.dev.bar0_write(Bar0.IMR + 8 * TX_VEC, 1)
    assert rig.dev.bar0_read(Bar0.IMR + 8 * TX_VEC) == 1
    rig.drv.send(udp_frame(0))
    rig.drv.send(udp_frame(1))
    assert len(rig.backend.frames) == 2 and rig.irqs == []
    assert rig.dev.counters.irqs_masked == 2
    assert rig.dev.receive(to_guest(0))  # another vector is not masked
    assert rig.irqs == [RX_VEC]
    rig.dev.bar0_write(Bar0.IMR + 8 * TX_VEC, 0)  # the pending TX interrupt fires once
    assert rig.irqs == [RX_VEC, TX_VEC]
    assert rig.dev.bar1_read(Bar1.ICR) == (1 << TX_VEC) | (1 << RX_VEC)
    assert rig.dev.bar1_read(Bar1.ICR) == 0  # read to clear


def test_intr_ctrl_disable_all_suppresses_irq() -> None:
    rig = make_rig()
    rig.drv.open()
    rig.drv._write_shared_u32("dev_read.intr_conf.intr_ctrl", 1)  # VMXNET3_IC_DISABLE_ALL
    rig.drv.send(udp_frame(0))
    assert rig.irqs == []


def test_auto_mask_masks_the_vector_after_each_interrupt() -> None:
    rig = make_rig(auto_mask=True)
    rig.drv.open()
    rig.drv.send(udp_frame(0))
    rig.drv.send(udp_frame(1))
    assert rig.irqs == [TX_VEC] and rig.dev.imr[TX_VEC]
    rig.dev.bar0_write(Bar0.IMR + 8 * TX_VEC, 0)  # the driver re-enables after polling
    assert rig.irqs == [TX_VEC, TX_VEC]


def test_rx_buffer_of_length_zero_stops_the_rx_queue_only() -> None:
    rig = make_rig(rx_size=32)
    rig.drv.open()  # 31 buffers posted and taken
    assert rig.dev.receive(to_guest(0))
    rig.shell.reap_rx()
    slot = rig.shell.rx_prod  # 31: still the first lap, so the device expects gen 1
    # Vmxnet3_RxDesc with len:14 = 0 (RxDesc refuses to build one): addr, dword 2 = gen << 31
    raw = struct.pack("<QII", 0x10000, 1 << 31, 0)
    rig.mem.write(rig.shell.conf.rx_ring + 16 * slot, raw)
    rig.dev.bar0_write(Bar0.RXPROD, 0)
    tx_status, rx_status = rig.drv.queue_status()
    assert rx_status == QueueStatus(stopped=True, error=ERR_SMALL_BUF)
    assert tx_status == QueueStatus()
    assert rig.dev.bar1_read(Bar1.ECR) & ECR_RQERR and rig.irqs[-1] == EVENT_VEC
    assert not rig.dev.receive(to_guest(1))
    rig.drv.send(udp_frame(0))  # the TX queue keeps working
    assert len(rig.backend.frames) == 1


def test_mtu_request_at_activation_and_denial_keeps_the_approved_mtu() -> None:
    """ACTIVATE_DEV asks the policy about an MTU it has not approved; a denial is
    logged, the device still runs (the guest's rings are its own) and the approved
    MTU stays what it was; the same MTU again is not asked twice."""
    rig = make_rig()
    rig.drv.open()
    assert rig.dev.approved_mtu == 1500
    rig.policy.deny = (MtuRequest,)
    assert rig.drv.command(Cmd.QUIESCE_DEV) == DeviceResult.OK
    rig.drv.config = replace(rig.drv.config, mtu=9000)
    rig.drv.write_shared()
    rig.drv.activate()
    assert rig.policy.seen[-1] == MtuRequest(9000)
    assert rig.dev.control_log[-1].allowed is False
    assert rig.dev.approved_mtu == 1500 and rig.dev.active is not None
    asked = len(rig.policy.seen)
    assert rig.drv.command(Cmd.QUIESCE_DEV) == DeviceResult.OK
    rig.drv.config = replace(rig.drv.config, mtu=1500)
    rig.drv.write_shared()
    rig.drv.activate()
    assert len(rig.policy.seen) == asked  # 1500 is approved already


def test_ring_2_is_published_as_linux_does_and_the_device_accepts_it_serving_ring_1() -> None:
    rig = make_rig(rx_size=32, rx_buf_len=512)
    c = rig.shell.conf
    _, rxq = rig.drv.queue_descs()
    assert rxq.conf.rx_ring_base_pa == (c.rx_ring, c.rx2_ring)
    assert rxq.conf.rx_ring_size == (32, 32) and rxq.conf.comp_ring_size == 64
    rig.drv.open()
    assert rig.dev.rings is not None and rig.dev.rings.conf == c  # ring 2 included
    frame = to_guest(1, 1200)  # three ring-1 buffers: the device does not use ring 2
    assert rig.dev.receive(frame)
    [pkt] = rig.shell.reap_rx()
    assert pkt.data == frame and pkt.nbufs == 3
    ignored = rig.dev.counters.doorbells_ignored
    rig.dev.bar0_write(Bar0.RXPROD2, 5)
    assert rig.dev.counters.doorbells_ignored == ignored + 1
    # A completion ring too small for both rings is refused (vmxnet3's rule).
    rig2 = make_rig(rx_size=32)
    assert _activate_with(rig2, rxc={"comp_ring_size": 32}) == DeviceResult.RING_GEOMETRY
