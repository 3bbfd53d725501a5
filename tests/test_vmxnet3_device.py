"""The emulated vmxnet3 device and the guest driver: bring-up, traffic, ring 2,
quiesce and reset, interrupt masking, in pure Python.

Frames are built with scapy and compared byte for byte; the rig (guest memory,
device, shell, driver) is tests/vmxnet3_rig.py.
"""

from __future__ import annotations

import pytest

from tb.hypervisor.vmxnet3_control import DeviceResult
from tb.shell_model.vmxnet3_defs import Bar0, Bar1, Cmd
from tb.shell_model.vmxnet3_driver import DriverError
from tests.vmxnet3_rig import (
    ECR_LINK,
    EVENT_VEC,
    MAC,
    RX_VEC,
    TX_VEC,
    activate_with,
    make_rig,
    to_guest,
    udp_frame,
)

# -- boot and traffic ------------------------------------------------------------------------------


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
    assert activate_with(rig2, rxc={"comp_ring_size": 32}) == DeviceResult.RING_GEOMETRY


# -- QUIESCE_DEV / RESET_DEV -----------------------------------------------------------------------


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


# -- interrupt masking -----------------------------------------------------------------------------


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
