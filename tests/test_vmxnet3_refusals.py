"""What the emulated vmxnet3 device refuses: bad activations, ring geometry and
addresses, malformed TX and RX descriptors (the queue stopped, the other working).

Frames are built with scapy and compared byte for byte; the rig (guest memory,
device, shell, driver) is tests/vmxnet3_rig.py.
"""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from tb.hypervisor.vmxnet3_control import DeviceResult
from tb.shell_model.vmxnet3_defs import Bar0, Bar1, Cmd, TxDesc
from tb.shell_model.vmxnet3_shared import DriverShared, QueueStatus
from tests.vmxnet3_rig import (
    ECR_RQERR,
    ECR_TQERR,
    ERR_BIG_PKT,
    ERR_NOEOP,
    ERR_SMALL_BUF,
    ERR_TXD_INVALID,
    EVENT_VEC,
    GUEST_MEM,
    TX_VEC,
    Rig,
    activate_with,
    make_rig,
    to_guest,
    udp_frame,
)

# -- refusals --------------------------------------------------------------------------------------


def _with_misc(rig: Rig, **kw: int) -> DriverShared:
    s = rig.drv.shared()
    return replace(s, dev_read=replace(s.dev_read, misc=replace(s.dev_read.misc, **kw)))


def _assert_inactive_and_silent(rig: Rig) -> None:
    assert rig.dev.rings is None
    rig.shell.post_tx(udp_frame(1))
    rig.dev.bar0_write(Bar0.TXPROD, rig.shell.tx_prod)
    assert rig.backend.frames == []
    assert rig.dev.counters.doorbells_ignored == 1
    assert not rig.dev.receive(to_guest(1))


def test_bad_magic_is_refused() -> None:
    rig = make_rig()
    assert activate_with(rig, replace(rig.drv.shared(), magic=0xBABEFEE0)) == 0x11
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
    assert activate_with(rig, shared) == DeviceResult.BAD_QUEUE_DESC
    _assert_inactive_and_silent(rig)


@pytest.mark.parametrize(("ntx", "nrx"), [(2, 1), (1, 2), (0, 1)])
def test_queue_count_other_than_one_each_is_refused(ntx: int, nrx: int) -> None:
    rig = make_rig()
    shared = _with_misc(rig, num_tx_queues=ntx, num_rx_queues=nrx)
    assert activate_with(rig, shared) == DeviceResult.QUEUE_COUNT
    _assert_inactive_and_silent(rig)


@pytest.mark.parametrize("mtu", [59, 9001])
def test_mtu_out_of_range_is_refused(mtu: int) -> None:
    rig = make_rig()
    assert activate_with(rig, _with_misc(rig, mtu=mtu)) == DeviceResult.BAD_MTU
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
    assert activate_with(rig, **kw) == DeviceResult.RING_GEOMETRY  # type: ignore[arg-type]
    tx_status, rx_status = (
        QueueStatus.unpack(rig.mem.read(rig.drv.queue_desc_gpa + 256 * i + 80, 8)) for i in (0, 1)
    )
    assert (tx_status.stopped, rx_status.stopped) == (queue == "tx", queue == "rx")
    _assert_inactive_and_silent(rig)


def test_ring_outside_guest_memory_is_refused() -> None:
    rig = make_rig()
    # 512-aligned and a valid size, but past the end of the VM's 4 MiB
    assert activate_with(rig, rxc={"comp_ring_base_pa": GUEST_MEM}) == DeviceResult.RING_ADDR
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
