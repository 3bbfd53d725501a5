"""The vmxnet3 register offsets, command codes and shared-memory layouts, in pure Python.

Layout expectations are literal numbers worked out by hand from the field
order of Linux's drivers/net/vmxnet3/vmxnet3_defs.h and upt1_defs.h
(natural alignment); the arithmetic is in the comments. Frames are built
with scapy and compared byte for byte. The rig: tests/vmxnet3_rig.py.
"""

from __future__ import annotations

import struct

from tb.shell_model.vmxnet3_defs import Bar0, Bar1, Cmd, PluginConfDesc
from tb.shell_model.vmxnet3_shared import (
    DriverInfo,
    DriverShared,
    DSDevRead,
    IntrConf,
    MiscConf,
    QueueStatus,
    RxFilterConf,
    RxQueueConf,
    RxQueueDesc,
    TxQueueConf,
    TxQueueCtrl,
    TxQueueDesc,
    Upt1RxStats,
    Upt1TxStats,
)

# -- registers, commands, layouts (literal numbers from the header) --------------------------------


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
