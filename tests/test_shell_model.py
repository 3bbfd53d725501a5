"""vmxnet3 descriptor layouts (against vmxnet3_defs.h's shifts) and the shell's ring logic."""

from __future__ import annotations

import random
import struct
from dataclasses import replace

import pytest

from tb.host.memory import HostMemory
from tb.hypervisor import GuestMemory
from tb.shell_model import (
    Cmd,
    CompletionFormatError,
    CompletionOrderError,
    CompletionTypeError,
    DescriptorOwnershipError,
    DescriptorSizeError,
    FieldRangeError,
    FrameSizeError,
    PluginConfDesc,
    RingFullError,
    RingGeometryError,
    RingKind,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
    Vmxnet3DeviceRings,
    Vmxnet3Shell,
    check_ring,
)
from tb.shell_model.rings import DeviceState, RingPoint

# Bit positions as vmxnet3_defs.h states them (shift macros and LE bitfield order).
TXD_GEN_SHIFT, TXD_GEN_DWORD = 14, 2
TXD_EOP_SHIFT, TXD_CQ_SHIFT, TXD_EOP_DWORD = 12, 13, 3
TXD_TI_SHIFT, TXD_TCI_SHIFT = 15, 16  # dword 3: hlen:10 om:2 eop cq ext2 ti tci:16
TXD_MSSCOF_SHIFT = 18  # dword 2: len:14 gen oco dtype ext1 msscof:14
TCD_GEN_SHIFT, TCD_GEN_DWORD, TCD_TXIDX_SIZE = 31, 3, 12
TCD_TYPE_SHIFT = 24
RXD_GEN_SHIFT, RXD_BTYPE_SHIFT = 31, 14  # dword 2
RCD_TYPE_SHIFT, RCD_GEN_SHIFT = 56, 63  # qword 1
RCD_TUC_SHIFT, RCD_IPC_SHIFT = 16, 19  # dword 3
RCD_EOP_SHIFT, RCD_SOP_SHIFT, RCD_RQID_SHIFT = 14, 15, 16  # dword 0
RCD_ERR_SHIFT, RCD_TS_SHIFT, RCD_TCI_SHIFT = 14, 15, 16  # dword 2
CDTYPE_TXCOMP, CDTYPE_RXCOMP = 0, 3


def dwords(raw: bytes) -> tuple[int, int, int, int]:
    return struct.unpack("<IIII", raw)


def tcd_bytes(txd_idx: int, gen: int, cdtype: int = CDTYPE_TXCOMP) -> bytes:
    return struct.pack("<IIII", txd_idx, 0, 0, (cdtype << TCD_TYPE_SHIFT) | (gen << TCD_GEN_SHIFT))


def rcd_bytes(
    rxd_idx: int, length: int, gen: int, *, sop: bool, eop: bool, tci: int | None = None
) -> bytes:
    dw0 = rxd_idx | (eop << RCD_EOP_SHIFT) | (sop << RCD_SOP_SHIFT)
    dw2 = length | ((tci is not None) << RCD_TS_SHIFT) | ((tci or 0) << RCD_TCI_SHIFT)
    qw1 = dw2 | (CDTYPE_RXCOMP << RCD_TYPE_SHIFT) | (gen << RCD_GEN_SHIFT)
    return struct.pack("<IIQ", dw0, 0, qw1)


# -- descriptor layouts ---------------------------------------------------------------------


def test_tx_desc_bits_match_the_header() -> None:
    d = TxDesc(
        addr=0x1122_3344_5566_7788,
        length=1514,
        gen=1,
        eop=True,
        cq=True,
        ti=True,
        tci=0xABCD,
        msscof=0x2A5,
    )
    dw2 = 1514 | (1 << TXD_GEN_SHIFT) | (0x2A5 << TXD_MSSCOF_SHIFT)
    dw3 = (1 << TXD_EOP_SHIFT) | (1 << TXD_CQ_SHIFT) | (1 << TXD_TI_SHIFT) | (0xABCD << 16)
    expect = struct.pack("<QII", 0x1122_3344_5566_7788, dw2, dw3)
    assert d.pack() == expect
    assert TxDesc.unpack(expect) == d
    assert (dwords(expect)[TXD_GEN_DWORD] >> TXD_GEN_SHIFT) & 1 == 1
    assert (dwords(expect)[TXD_EOP_DWORD] >> TXD_EOP_SHIFT) & 1 == 1


def test_tx_desc_length_16384_is_stored_as_zero() -> None:
    raw = TxDesc(addr=0x1000, length=1 << 14, gen=0).pack()
    assert dwords(raw)[2] & 0x3FFF == 0
    assert TxDesc.unpack(raw).length == 1 << 14


def test_tx_comp_desc_bits_match_the_header() -> None:
    expect = struct.pack("<IIII", 0xFFF, 0, 0, 1 << TCD_GEN_SHIFT)
    assert TxCompDesc(txd_idx=(1 << TCD_TXIDX_SIZE) - 1, gen=1).pack() == expect
    assert TxCompDesc.unpack(expect) == TxCompDesc(txd_idx=0xFFF, gen=1)
    assert TxCompDesc.unpack(tcd_bytes(5, 0)).gen == 0


def test_rx_desc_bits_match_the_header() -> None:
    d = RxDesc(addr=0xDEAD_B000, length=2048, gen=1, btype=1)
    expect = struct.pack("<QII", 0xDEAD_B000, 2048 | (1 << RXD_BTYPE_SHIFT) | (1 << 31), 0)
    assert d.pack() == expect
    assert RxDesc.unpack(expect) == d
    assert dwords(expect)[2] >> RXD_GEN_SHIFT == 1


def test_rx_comp_desc_bits_match_the_header() -> None:
    d = RxCompDesc(
        rxd_idx=0x123,
        length=0x2345,
        gen=1,
        sop=True,
        eop=False,
        rq_id=0x155,
        err=True,
        ts=True,
        tci=0x8064,
        tuc=True,
        ipc=True,
        rss_hash=0xCAFEF00D,
    )
    dw0 = 0x123 | (0 << RCD_EOP_SHIFT) | (1 << RCD_SOP_SHIFT) | (0x155 << RCD_RQID_SHIFT)
    dw2 = 0x2345 | (1 << RCD_ERR_SHIFT) | (1 << RCD_TS_SHIFT) | (0x8064 << RCD_TCI_SHIFT)
    dw3 = (1 << RCD_TUC_SHIFT) | (1 << RCD_IPC_SHIFT)
    qw1 = dw2 | (dw3 << 32) | (CDTYPE_RXCOMP << RCD_TYPE_SHIFT) | (1 << RCD_GEN_SHIFT)
    expect = struct.pack("<IIQ", dw0, 0xCAFEF00D, qw1)
    assert d.pack() == expect
    assert RxCompDesc.unpack(expect) == d


def test_malformed_descriptors_are_refused() -> None:
    good = TxDesc(addr=0x1000, length=64, gen=1).pack()
    for raw in (good[:15], good + b"\0", b""):
        with pytest.raises(DescriptorSizeError):
            TxDesc.unpack(raw)
    with pytest.raises(DescriptorSizeError):
        RxCompDesc.unpack(bytes(8))
    with pytest.raises(FieldRangeError):
        TxDesc(addr=0x1000, length=0, gen=1)
    with pytest.raises(FieldRangeError):
        TxDesc(addr=0x1000, length=(1 << 14) + 1, gen=1)
    with pytest.raises(FieldRangeError, match="tci"):
        TxDesc(addr=0x1000, length=64, gen=1, tci=0x10000)
    with pytest.raises(FieldRangeError, match="gen"):
        TxDesc(addr=0x1000, length=64, gen=2)
    with pytest.raises(FieldRangeError):
        TxDesc(addr=1 << 64, length=64, gen=1)
    with pytest.raises(FieldRangeError, match="txd_idx"):
        TxCompDesc(txd_idx=4096, gen=1)
    with pytest.raises(FieldRangeError):
        RxDesc.unpack(struct.pack("<QII", 0x1000, 1 << 31, 0))  # a zero-length buffer
    with pytest.raises(CompletionTypeError):
        TxCompDesc.unpack(tcd_bytes(0, 1, CDTYPE_RXCOMP))
    with pytest.raises(CompletionTypeError):
        RxCompDesc.unpack(tcd_bytes(0, 1, CDTYPE_TXCOMP))
    with pytest.raises(FieldRangeError):
        PluginConfDesc(conf_ver=1, conf_len=1 << 32, conf_pa=0)


def test_ring_rules_and_npa_commands() -> None:
    check_ring(RingKind.TX, 32, 0x200)
    check_ring(RingKind.TX, 4096)
    check_ring(RingKind.RX_COMP, 8192)
    for kind, size in (
        (RingKind.TX, 0),
        (RingKind.TX, 48),
        (RingKind.RX, 4128),
        (RingKind.RX_COMP, 8224),
    ):
        with pytest.raises(RingGeometryError):
            check_ring(kind, size)
    with pytest.raises(RingGeometryError, match="aligned"):
        check_ring(RingKind.TX, 64, 0x1100)
    assert (Cmd.STOP_EMULATION, Cmd.LOAD_PLUGIN, Cmd.ACTIVATE_VF) == (
        0xCAFE000A,
        0xCAFE000B,
        0xCAFE000C,
    )
    assert Cmd.GET_LINK == 0xF00D0002
    conf = PluginConfDesc(conf_ver=1, conf_len=0x300, conf_pa=0x1_2345_6000)
    assert conf.pack() == struct.pack("<IIQ", 1, 0x300, 0x1_2345_6000)
    assert PluginConfDesc.unpack(conf.pack()) == conf


# -- the shell's rings ----------------------------------------------------------------------


class RecordingMemory(GuestMemory):
    """Guest memory that logs every write (address, bytes)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.log: list[tuple[int, bytes]] = []

    def write(self, gpa: int, data: bytes | bytearray | memoryview) -> None:
        self.log.append((gpa, bytes(data)))
        super().write(gpa, data)


def guest(size: int = 2 << 20) -> RecordingMemory:
    host = HostMemory(size + (1 << 20))
    return RecordingMemory(host, host.alloc(size, 4096), size)


def read_desc(mem: GuestMemory, base: int, idx: int) -> bytes:
    return mem.read(base + 16 * idx, 16)


def test_tx_post_writes_the_documented_descriptors_with_sop_gen_flipped_last() -> None:
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32)
    base = shell.conf.tx_ring
    assert base % 512 == 0
    frame = bytes(range(256)) * 160  # 40960 bytes: 16384 + 16384 + 8192
    mem.log.clear()
    tx = shell.post_tx(frame, vlan_tci=0x0123)
    assert (tx.sop_idx, tx.eop_idx, tx.ndesc) == (0, 2, 3)
    descs = [dwords(read_desc(mem, base, i)) for i in range(3)]
    addrs = [d[0] | (d[1] << 32) for d in descs]
    assert [d[2] & 0x3FFF for d in descs] == [0, 0, 8192]  # 16384 stored as 0
    assert all((d[2] >> TXD_GEN_SHIFT) & 1 == 1 for d in descs)
    assert [(d[3] >> TXD_EOP_SHIFT) & 1 for d in descs] == [0, 0, 1]
    assert [(d[3] >> TXD_CQ_SHIFT) & 1 for d in descs] == [0, 0, 1]
    assert descs[0][3] >> TXD_TCI_SHIFT == 0x0123 and (descs[0][3] >> TXD_TI_SHIFT) & 1
    assert mem.read(addrs[0], 16384) + mem.read(addrs[1], 16384) + mem.read(addrs[2], 8192) == frame
    ring_writes = [(a, d) for a, d in mem.log if base <= a < base + 32 * 16]
    first_sop = next(d for a, d in ring_writes if a == base)
    assert (dwords(first_sop)[2] >> TXD_GEN_SHIFT) & 1 == 0  # not yet the device's
    assert ring_writes[-1][0] == base  # the SOP's gen flip is the last ring write
    assert shell.tx_prod == 3


def test_tx_wraps_flips_generation_and_reaps_hand_written_completions() -> None:
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32)
    rng = random.Random(7)
    desc_count = 0
    comp_count = 0
    for n in range(120):
        size = rng.choice([60, 1514, 20000, 40000])
        ndesc = -(-size // 16384)
        tx = shell.post_tx(rng.randbytes(size))
        for k in range(ndesc):
            lap = (desc_count + k) // 32
            raw = read_desc(mem, shell.conf.tx_ring, (desc_count + k) % 32)
            assert (dwords(raw)[2] >> TXD_GEN_SHIFT) & 1 == (1 if lap % 2 == 0 else 0), n
        desc_count += ndesc
        assert tx.eop_idx == (desc_count - 1) % 32
        if n % 3 == 2 or shell.tx_free() < 3:
            for pending in shell.tx_in_flight:
                gen = 1 if (comp_count // 32) % 2 == 0 else 0
                mem.write(
                    shell.conf.tx_comp + 16 * (comp_count % 32), tcd_bytes(pending.eop_idx, gen)
                )
                comp_count += 1
            done = shell.reap_tx()
            assert done and all(t.done for t in done) and shell.tx_in_flight == ()
            assert shell.tx_free() == 31
    assert desc_count > 3 * 32 and comp_count > 2 * 32
    assert shell.stats["tx_completed"] == comp_count


def test_tx_ring_full_is_refused_and_counted() -> None:
    shell = Vmxnet3Shell(guest(), tx_size=32, rx_size=32)
    for _ in range(31):
        shell.post_tx(b"x" * 64)
    with pytest.raises(RingFullError):
        shell.post_tx(b"x" * 64)
    with pytest.raises(FrameSizeError):
        shell.post_tx(b"")
    with pytest.raises(FrameSizeError):
        Vmxnet3Shell(guest(), tx_size=32, rx_size=32).post_tx(bytes(17 * 16384))
    assert shell.errors == {"ring_full": 1, "frame_size": 1}


def test_stale_generation_completion_is_not_consumed() -> None:
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32)
    comp = shell.conf.tx_comp
    tx = shell.post_tx(b"a" * 100)
    mem.write(comp, tcd_bytes(tx.eop_idx, 0))  # gen 0: the previous lap's, not ours
    assert shell.reap_tx() == [] and not tx.done
    mem.write(comp, tcd_bytes(tx.eop_idx, 1))
    assert shell.reap_tx() == [tx]
    # One full lap later the completion ring expects gen 0; the old gen-1 entries are stale.
    for i in range(1, 32):
        t = shell.post_tx(b"b" * 64)
        mem.write(comp + 16 * i, tcd_bytes(t.eop_idx, 1))
        assert shell.reap_tx() == [t]
    t = shell.post_tx(b"c" * 64)
    assert dwords(mem.read(comp, 16))[3] >> TCD_GEN_SHIFT == 1  # left over from lap one
    assert shell.reap_tx() == []
    mem.write(comp, tcd_bytes(t.eop_idx, 0))
    assert shell.reap_tx() == [t]


def test_bad_completions_are_refused_and_counted() -> None:
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32)
    a = shell.post_tx(b"a" * 64)
    shell.post_tx(b"b" * 64)
    mem.write(shell.conf.tx_comp, tcd_bytes(a.eop_idx + 1, 1))  # skips frame a
    with pytest.raises(CompletionOrderError, match="expected EOP 0"):
        shell.reap_tx()
    mem.write(shell.conf.tx_comp, tcd_bytes(a.eop_idx, 1, CDTYPE_RXCOMP))
    with pytest.raises(CompletionFormatError):
        shell.reap_tx()
    mem.write(shell.conf.tx_comp, tcd_bytes(a.eop_idx, 1))
    assert shell.reap_tx() == [a]
    shell.post_rx()
    mem.write(shell.conf.rx_comp, rcd_bytes(5, 64, 1, sop=True, eop=True))
    with pytest.raises(CompletionOrderError, match="descriptor 5"):
        shell.reap_rx()
    mem.write(shell.conf.rx_comp, rcd_bytes(0, 64, 1, sop=False, eop=True))
    with pytest.raises(CompletionOrderError, match="SOP"):
        shell.reap_rx()
    assert shell.errors == {"completion_order": 3, "completion_format": 1}


def test_rx_posts_documented_buffers_and_gathers_multi_buffer_frames() -> None:
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32, rx_buf_len=512)
    assert shell.post_rx() == 31
    raw = read_desc(mem, shell.conf.rx_ring, 0)
    _, dw2, _ = struct.unpack("<QII", raw)
    assert dw2 & 0x3FFF == 512 and dw2 >> RXD_GEN_SHIFT == 1
    assert (dw2 >> RXD_BTYPE_SHIFT) & 1 == 0
    frame = random.Random(1).randbytes(1200)
    bufs = [struct.unpack("<Q", read_desc(mem, shell.conf.rx_ring, i)[:8])[0] for i in range(3)]
    for i, chunk in enumerate((frame[:512], frame[512:1024], frame[1024:])):
        mem.write(bufs[i], chunk)
    mem.write(shell.conf.rx_comp + 0, rcd_bytes(0, 512, 1, sop=True, eop=False, tci=0x64))
    mem.write(shell.conf.rx_comp + 16, rcd_bytes(1, 512, 1, sop=False, eop=False))
    assert shell.reap_rx() == []  # frame not complete yet
    mem.write(shell.conf.rx_comp + 32, rcd_bytes(2, 176, 1, sop=False, eop=True))
    [pkt] = shell.reap_rx()
    assert pkt.data == frame and pkt.vlan_tci == 0x64 and pkt.nbufs == 3 and not pkt.err
    assert shell.post_rx() == 3


def test_shell_and_device_rings_loop_frames_over_many_laps() -> None:
    mem = guest(4 << 20)
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=64, rx_buf_len=1024)
    dev = Vmxnet3DeviceRings(mem, shell.conf)
    rng = random.Random(3)
    shell.post_rx()
    sent: list[bytes] = []
    for _ in range(150):
        frame = rng.randbytes(rng.choice([60, 1000, 3000, 17000]))
        tci = rng.choice([None, 5])
        shell.post_tx(frame, vlan_tci=tci)
        for req in dev.fetch_tx(shell.tx_prod):
            assert dev.read_frame(req) == frame and req.vlan_tci == tci
            dev.complete_tx(req)
        assert [t.data for t in shell.reap_tx()] == [frame]
        rx = rng.randbytes(rng.randint(60, 4000))
        assert dev.deliver_rx(rx, vlan_tci=tci)
        [pkt] = shell.reap_rx()
        assert pkt.data == rx and pkt.vlan_tci == tci
        shell.post_rx()
        sent.append(frame)
    assert dev.stats["tx_completed"] == 150 and shell.stats["rx_packets"] == 150
    assert not dev.deliver_rx(bytes(64 * 1024))  # more than every posted buffer
    assert dev.stats["rx_no_buffer"] == 1


def test_device_refuses_a_descriptor_the_shell_has_not_handed_over() -> None:
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32)
    dev = Vmxnet3DeviceRings(mem, shell.conf)
    shell.post_tx(b"z" * 64)
    with pytest.raises(DescriptorOwnershipError, match="descriptor 1"):
        dev.fetch_tx(3)  # a doorbell beyond what was posted
    assert dev.errors["not_owned"] == 1
    assert len(dev.fetch_tx(shell.tx_prod)) == 1


def test_rx_rings_are_linux_shaped_ring_2_published_empty_and_buffers_64_byte_units() -> None:
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=64, rx_buf_len=1536)
    c = shell.conf
    # Ring 2 as long as ring 1 (Linux's default), one completion ring for both.
    assert (c.rx2_size, c.rx_comp_size) == (64, 128)
    assert c.rx2_ring % 512 == 0 and c.rx2_ring not in (c.rx_ring, c.rx_comp)
    assert shell.post_rx() == 63
    assert mem.read(c.rx2_ring, 64 * 16) == bytes(64 * 16)  # nothing posted on ring 2
    bufs = [struct.unpack("<Q", read_desc(mem, c.rx_ring, i)[:8])[0] for i in range(63)]
    assert all(b % 64 == 0 for b in bufs)  # whole 64-byte beats from the buffer's start
    small = Vmxnet3Shell(guest(), tx_size=32, rx_size=32, rx_buf_len=512, rx2_size=32)
    assert small.conf.rx_comp_size == 64
    for bad in (1500, 1518, 100):  # not a multiple of 64, or below a head buffer's 128
        with pytest.raises(FrameSizeError):
            Vmxnet3Shell(guest(), tx_size=32, rx_size=32, rx_buf_len=bad)
    with pytest.raises(RingGeometryError):
        Vmxnet3Shell(guest(), tx_size=32, rx_size=32, rx2_size=48)


def test_device_state_gives_back_taken_buffers_and_the_next_owner_resumes_there() -> None:
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32, rx_buf_len=512)
    dev = Vmxnet3DeviceRings(mem, shell.conf)
    rng = random.Random(8)
    for _ in range(40):  # past the TX ring's end: its gen flipped
        shell.post_tx(rng.randbytes(100))
        for req in dev.fetch_tx(shell.tx_prod):
            dev.complete_tx(req)
        shell.reap_tx()
    shell.post_rx()
    for _ in range(35):
        assert dev.deliver_rx(rng.randbytes(300))
        shell.reap_rx()
        shell.post_rx()
    dev.take_rx_buffers()
    assert dev.rx_buffers == 31
    st = dev.device_state()
    assert (st.tx, st.tx_comp) == (RingPoint(8, 0), RingPoint(8, 0))
    # RX: the first buffer taken and not used, on the lap it was posted in.
    assert (st.rx, st.rx_comp, st.rx2) == (RingPoint(3, 0), RingPoint(35, 1), RingPoint(0, 1))
    assert dev.rx_buffers == 0  # handed over with the position
    # Another owner used 4 buffers and sent 2 frames: the device resumes after them.
    for _ in range(2):
        shell.post_tx(rng.randbytes(64))
    frame = rng.randbytes(200)
    moved = DeviceState(
        RingPoint(10, 0), RingPoint(10, 0), RingPoint(7, 0), RingPoint(39, 1), st.rx2
    )
    # What that owner wrote: one completion per frame and per buffer.
    for k in range(2):
        mem.write(shell.conf.tx_comp + 16 * (8 + k), tcd_bytes(8 + k, 0))
    for k in range(4):
        mem.write(shell.conf.rx_comp + 16 * (35 + k), rcd_bytes(3 + k, 64, 1, sop=True, eop=True))
    dev.set_device_state(moved)
    assert len(shell.reap_tx()) == 2 and len(shell.reap_rx()) == 4
    assert dev.fetch_tx(shell.tx_prod) == []  # nothing sent twice
    assert dev.deliver_rx(frame)  # into buffer 7, completion slot 39
    [pkt] = shell.reap_rx()
    assert pkt.data == frame
    with pytest.raises(ValueError, match="outside a ring of 32"):
        dev.set_device_state(replace(moved, tx=RingPoint(32, 0)))


def test_reclaim_completes_held_tx_unsent_and_gives_held_rx_buffers_back_in_order() -> None:
    """A backend that stopped without handing the rings back (failed quiesce): the
    frames it fetched and never completed are completed unsent, the buffers it
    claimed and never filled go to the next owner, oldest first."""
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32, rx_buf_len=512)
    dev = Vmxnet3DeviceRings(mem, shell.conf)
    rng = random.Random(21)
    frames = [rng.randbytes(100 + i) for i in range(6)]
    for f in frames:
        shell.post_tx(f)
    reqs = dev.fetch_tx(shell.tx_prod)
    dev.complete_tx(reqs[0])  # the backend finished the first,
    dev.unfetch_tx(reqs[4])  # and gave back the last two (sent by the next owner)
    shell.post_rx()
    bufs = dev.claim_rx_buffers()
    dev.complete_rx(bufs[:2], 700)  # it filled two buffers with one frame
    assert [t.data for t in shell.reap_tx()] == frames[:1]
    assert len(shell.reap_rx()) == 1
    lost = dev.reclaim()
    assert [dev.read_frame(r) for r in lost] == frames[1:4]
    # The guest gets its buffers back as if sent: completions in ring order.
    assert [t.data for t in shell.reap_tx()] == frames[1:4]
    resent = dev.fetch_tx(shell.tx_prod)
    assert [dev.read_frame(r) for r in resent] == frames[4:]
    for req in resent:
        dev.complete_tx(req)
    assert (dev.stats["tx_reclaimed"], dev.stats["rx_reclaimed"]) == (3, len(bufs) - 2)
    # The buffers the backend held are the device's again, the oldest filled first.
    rx = rng.randbytes(300)
    assert dev.deliver_rx(rx)
    [pkt] = shell.reap_rx()
    assert pkt.data == rx and mem.read(bufs[2].gpa, 300) == rx  # the oldest held buffer
    assert dev.reclaim() == [] and dev.stats["rx_reclaimed"] == len(bufs) - 2


def test_reclaim_after_a_vf_served_the_rings_catches_up_then_completes_the_rest_unsent() -> None:
    """A VF that served the shell's rings itself (ring format B) and was reset after a
    failed quiesce: it wrote completions for the frames it sent and the buffers it
    filled, and nobody told the device end. Reclaim moves over those (nothing sent
    twice, no used buffer reused), completes unsent the frames it may have read (up to
    the TXPROD its plugin was given), and leaves the later frames to the next owner."""
    mem = guest()
    shell = Vmxnet3Shell(mem, tx_size=32, rx_size=32, rx_buf_len=512)
    dev = Vmxnet3DeviceRings(mem, shell.conf)
    rng = random.Random(34)
    for _ in range(30):  # the device end served a while: its TX cursor at 30
        shell.post_tx(rng.randbytes(80))
        for req in dev.fetch_tx(shell.tx_prod):
            dev.complete_tx(req)
        shell.reap_tx()
    shell.post_rx()
    start = dev.device_state()  # the VF takes over here
    assert start.tx == RingPoint(30, 1) and start.rx == RingPoint(0, 1)
    frames = [rng.randbytes(90 + i) for i in range(7)]
    for f in frames:
        shell.post_tx(f)  # descriptors 30, 31, 0, ..., 4: across the wrap
    handed = (30 + 5) % 32  # its plugin rang the VF with the first five
    # The VF sent the first three (one completion each, the third after the wrap) and
    # filled buffers 0 and 1 with one frame each; then it was reset.
    for k, idx in enumerate((30, 31, 0)):
        slot = (30 + k) % 32
        mem.write(shell.conf.tx_comp + 16 * slot, tcd_bytes(idx, 1 if slot >= 30 else 0))
    for k in range(2):
        mem.write(shell.conf.rx_comp + 16 * k, rcd_bytes(k, 64, 1, sop=True, eop=True))
    lost = dev.reclaim(vf_tx_prod=handed)
    assert [dev.read_frame(r) for r in lost] == frames[3:5]  # read maybe, sent maybe
    assert dev.stats["caught_up"] == 1 and dev.stats["tx_reclaimed"] == 2
    # The guest sees the three sent and the two completed unsent, each once, in order.
    assert [t.data for t in shell.reap_tx()] == frames[:5]
    assert len(shell.reap_rx()) == 2
    # The next owner sends only the two the VF was never given, and fills buffer 2 next.
    rest = dev.fetch_tx(shell.tx_prod)
    assert [dev.read_frame(r) for r in rest] == frames[5:]
    for req in rest:
        dev.complete_tx(req)
    rx = rng.randbytes(200)
    assert dev.deliver_rx(rx)
    [pkt] = shell.reap_rx()
    ring1 = RxDesc.unpack(read_desc(mem, shell.conf.rx_ring, 2))
    assert pkt.data == rx and mem.read(ring1.addr, 200) == rx
    # Without the VF's TXPROD (a plugin that fetched through the device end), no catch-up.
    assert dev.reclaim() == [] and dev.stats["caught_up"] == 1
