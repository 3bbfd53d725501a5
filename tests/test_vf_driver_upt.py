"""The format-B (vmxnet3/UPT) queue drivers of tb/vf_driver/upt_queues.py, without a
simulator: the register map, the codec and batches, save / restore (§4c), errors
and interrupts. TX and RX: tests/test_vf_driver_upt_tx.py and _rx.py.

They run against ``FakeUptDevice`` (tests/fake_upt_device.py): one function's
registers and rings by the rules of docs/ARCHITECTURE.md §4b/§4c, every descriptor
and completion through the project's vmxnet3 codec, over the real host memory.
"""

from __future__ import annotations

import numpy as np
import pytest

from tb.ref.layouts import ENTRY_BYTES, GEN_BIT
from tb.ref.regmap import (
    QCTRL_ENABLE,
    QCTRL_RESUME,
    RING_A_IDENTITY,
    RING_B_IDENTITY,
    Func,
    QErr,
    Queue,
    RingFmt,
    func_reset_values,
    qstate,
    qstate_fields,
    queue_reg,
    upt_error_code,
    upt_reg,
)
from tb.shell_model.vmxnet3_defs import (
    MAX_TX_BUF_SIZE,
    Bar0,
    BufType,
    Err,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
    desc_gen,
)
from tb.vf_driver.queues import IrqModeration, QueueState, RingPosition
from tb.vf_driver.upt_queues import UptRxQueue, desc_words
from tests.fake_upt_device import FUNC, NQ, FakeUptDevice, device, open_rx, open_tx, run

# ------------------------------------------------------------------ register map


def test_upt_page_and_new_registers_are_the_documented_offsets() -> None:
    assert [upt_reg(Bar0.IMR, i) for i in (0, 3)] == [0x2000, 0x2018]
    assert upt_reg(Bar0.TXPROD, 1) == 0x2608
    assert upt_reg(Bar0.RXPROD, 1) == 0x2808
    assert upt_reg(Bar0.RXPROD2, 1) == 0x2A08
    assert Func.FUNC_PCI_ID == 0x10
    offsets = {
        Queue.TXQ_STATE: 0x34,
        Queue.TXQ_CPL_STATE: 0x38,
        Queue.TXQ_UPT_ERROR: 0x3C,
        Queue.RXQ_STATE: 0x74,
        Queue.RXQ_CPL_STATE: 0x78,
        Queue.RXQ_UPT_ERROR: 0x7C,
        Queue.RX2_BASE_LO: 0x80,
        Queue.RX2_BASE_HI: 0x84,
        Queue.RXQ_CPL_SIZE: 0x88,
        Queue.RX2_SIZE: 0x90,
        Queue.RX2_PROD: 0x98,
        Queue.RX2_CONS: 0x9C,
        Queue.RX2_STATE: 0xB4,
    }
    assert {k: int(k) for k in offsets} == offsets
    assert (QErr.DESC_GEN, QErr.DESC_TYPE, QErr.SMALL_BUF) == (0x09, 0x0A, 0x0B)


def test_upt_error_codes_are_the_table_of_4b() -> None:
    assert upt_error_code(QErr.NONE) == 0
    assert upt_error_code(QErr.TOO_MANY_BUFS) == Err.NOEOP == 0x8000_0000
    assert upt_error_code(QErr.DESC_LEN_MAX) == Err.BIG_PKT == 0x8000_0002
    assert upt_error_code(QErr.DESC_TYPE) == Err.DESC_NOT_SPT == 0x8000_0003
    assert upt_error_code(QErr.DESC_LEN_ZERO) == Err.SMALL_BUF == 0x8000_0004
    assert upt_error_code(QErr.SMALL_BUF) == Err.SMALL_BUF
    assert upt_error_code(QErr.DESC_GEN) == Err.TXD_INVALID == 0x8000_0007
    for e in (QErr.PROD_RANGE, QErr.BUS_READ, QErr.BUS_WRITE, QErr.DESC_ALIGN, QErr.RING_SIZE):
        assert upt_error_code(e) == 0x8000_0100 + e


@pytest.mark.parametrize("fmt", list(RingFmt))
def test_reset_values_know_the_new_registers(fmt: RingFmt) -> None:
    vals = func_reset_values(FUNC, NQ, fmt)
    ident = RING_B_IDENTITY if fmt == RingFmt.B else RING_A_IDENTITY
    assert vals[Func.FUNC_ID] == (ident.device_id << 16) | (NQ << 8) | FUNC
    assert vals[Func.FUNC_PCI_ID] == (0x5B015B00 if fmt == RingFmt.B else 0x5A015A00)
    for q in range(NQ):
        for reg in (Queue.TXQ_STATE, Queue.TXQ_CPL_STATE, Queue.RXQ_STATE, Queue.RXQ_CPL_STATE):
            assert vals[queue_reg(q, reg)] == 0x8000_0000
        rx2_state = 0x8000_0000 if fmt == RingFmt.B else 0
        assert vals[queue_reg(q, Queue.RX2_STATE)] == rx2_state
        for reg in (Queue.RX2_BASE_LO, Queue.RXQ_CPL_SIZE, Queue.RX2_SIZE, Queue.RX2_PROD):
            assert vals[queue_reg(q, reg)] == 0
    assert (upt_reg(Bar0.TXPROD, 0) in vals) == (fmt == RingFmt.B)
    assert all(v == 0 for a, v in vals.items() if a >= Func.UPT_BASE)


def test_queue_state_register_round_trip() -> None:
    assert qstate(5, 1) == 0x8000_0005 and qstate_fields(0x8000_0005) == (5, 1)
    assert RingPosition.from_reg(0x0000_0123) == RingPosition(0x123, 0)
    assert RingPosition(7, 1).reg_value() == 0x8000_0007
    with pytest.raises(ValueError):
        qstate(1 << 16, 0)


# ------------------------------------------------------------------ the codec and batches


def test_completion_ownership_bit_is_the_codec_gen_bit() -> None:
    """The shared ring reader takes entries by bit 7 of byte 15: vmxnet3's gen (bit 127)."""
    for raw in (TxCompDesc(txd_idx=3, gen=1).pack(), RxCompDesc(rxd_idx=3, length=1, gen=1).pack()):
        assert raw[ENTRY_BYTES - 1] & GEN_BIT and desc_gen(raw, 3) == 1
    assert not TxCompDesc(txd_idx=3, gen=0).pack()[ENTRY_BYTES - 1] & GEN_BIT


def test_desc_words_is_the_codec() -> None:
    rng = np.random.default_rng(3)
    n = 50
    addrs = rng.integers(0, 1 << 63, n, dtype=np.uint64)
    lens = rng.integers(1, MAX_TX_BUF_SIZE + 1, n)
    lens[:3] = (MAX_TX_BUF_SIZE, 1, MAX_TX_BUF_SIZE - 1)
    gens = rng.integers(0, 2, n)
    tci = rng.integers(0, 1 << 16, n)
    words = desc_words(TxDesc, n, addr=addrs, length=lens, gen=gens, eop=1, cq=1, ti=1, tci=tci)
    assert words.shape == (n, 4)
    for k in range(n):
        want = TxDesc(
            int(addrs[k]), int(lens[k]), int(gens[k]), eop=True, cq=True, ti=True, tci=int(tci[k])
        )
        assert words[k].tobytes() == want.pack(), k
    rx = desc_words(RxDesc, n, addr=addrs, length=4096, btype=1, gen=gens)
    for k in range(n):
        assert (
            rx[k].tobytes() == RxDesc(int(addrs[k]), 4096, int(gens[k]), btype=BufType.BODY).pack()
        )


@pytest.mark.parametrize("start", [0, 20, 31])
def test_post_copies_writes_what_post_writes(start: int) -> None:
    """The batch path of a format-B TX queue leaves the codec's descriptors, gens across
    the ring's end included."""
    frame = bytes(range(100))
    fast, slow = open_tx(device()), open_tx(device())
    for q in (fast, slow):
        q.ring.prod = q.ring.clean = start
    assert fast.post_copies(frame, 20) == 20
    for _ in range(20):
        slow.post(frame)
    assert fast.ring.laps == slow.ring.laps == int(start + 20 >= 32)
    for k in range(32):
        a = fast.mem.read(fast.ring.desc_base + k * ENTRY_BYTES, ENTRY_BYTES)
        b = slow.mem.read(slow.ring.desc_base + k * ENTRY_BYTES, ENTRY_BYTES)
        assert a == b, k
    last = (start + 19) % 32
    d = TxDesc.unpack(fast.mem.read(fast.ring.desc_base + last * ENTRY_BYTES, ENTRY_BYTES))
    assert d == TxDesc(fast._bufs[last], 100, int(last >= start), eop=True, cq=True)


@pytest.mark.parametrize("start", [0, 25])
def test_rx_refill_writes_the_codec_descriptors(start: int) -> None:
    dev = device()
    rxq = UptRxQueue(dev, dev.mem, 0, 5, 1024, head_len=256)  # type: ignore[arg-type]
    run(rxq.open(post=0))
    for r in (rxq.ring, rxq.ring2):
        r.prod = r.clean = start
    run(rxq.refill(16))
    for ring, bufs, btype, length in (
        (rxq.ring, rxq._head, BufType.HEAD, 256),
        (rxq.ring2, rxq._body, BufType.BODY, 1024),
    ):
        for k in range(16):
            s = (start + k) % 32
            raw = dev.mem.read(ring.desc_base + s * ENTRY_BYTES, ENTRY_BYTES)
            assert raw == RxDesc(int(bufs.own[s]), length, int(start + k < 32), btype=btype).pack()
        assert ring.prod == (start + 16) % 32
    # the doorbells: RXPROD2 first, then RXPROD, through the UPT page
    assert dev.writes[-2:] == [
        (upt_reg(Bar0.RXPROD2, 0), rxq.ring2.prod),
        (upt_reg(Bar0.RXPROD, 0), rxq.ring.prod),
    ]


# ------------------------------------------------------------------ §4c and errors


def test_save_and_restore_into_a_fresh_queue() -> None:
    """TX: a frame rung but not yet fetched at the save is sent by the restored queue;
    RX: the restored queue goes on with the next unused buffers and completion slot;
    every ring's index and gen carry over (after wraps, so gen 0 is among them)."""
    dev = device()
    dev.busy_reads = 3  # BUSY stays up for a few status reads after the disable
    txq, rxq = open_tx(dev), open_rx(dev, buf_len=512, head_len=256)
    for k in range(40):  # past the ends of the TX ring, RX ring 2 and the completion rings
        txq.post(bytes([k]) * 80, split=[40, 40])
        run(txq.ring_doorbell())
        txq.reap()
        assert dev.deliver(0, bytes([k]) * 700)
        rxq.reap()
        run(rxq.refill())
    dev.auto_tx = False
    pending = txq.post(b"\x55" * 90)
    run(txq.ring_doorbell())
    tx_state, rx_state = run(txq.save_state()), run(rxq.save_state())
    assert tx_state.prod == txq.ring.prod
    sop = TxDesc.unpack(dev.mem.read(txq.ring.desc_base + pending.first_slot * 16, 16))
    assert tx_state.desc == RingPosition(pending.first_slot, sop.gen)
    assert tx_state.cpl == RingPosition(txq.ring.cpl_idx, txq.ring.phase)
    assert rx_state == QueueState(
        rxq.ring.prod,
        RingPosition(rxq.ring.clean, dev.rx[0].ring.gen),  # type: ignore[union-attr]
        RingPosition(rxq.ring.cpl_idx, rxq.ring.phase),
        rxq.ring2.prod,
        RingPosition(rxq.ring2.clean, dev.rx[0].ring2.gen),  # type: ignore[union-attr]
    )
    assert 0 in (tx_state.cpl.gen, rx_state.cpl.gen, rx_state.desc2.gen)  # type: ignore[union-attr]
    fresh = FakeUptDevice(dev.mem, func=FUNC + 1)
    run(txq.restore_state(tx_state, fresh))  # type: ignore[arg-type]
    run(rxq.restore_state(rx_state, fresh))  # type: ignore[arg-type]
    assert fresh.sent == [(0, b"\x55" * 90, None)]
    (tx,) = txq.reap()
    assert tx is pending
    assert fresh.deliver(0, b"\xaa" * 2000)
    (fr,) = rxq.reap()
    assert fr.data == b"\xaa" * 2000
    # the order of §4c: geometry, the STATE registers, the doorbells, ENABLE | RESUME last
    rx_writes = [a for a, _ in fresh.writes if a >= queue_reg(0, Queue.RXQ_BASE_LO)]
    ctrl = rx_writes.index(queue_reg(0, Queue.RXQ_CTRL))
    assert set(rx_writes[ctrl - 5 : ctrl - 2]) == {
        queue_reg(0, Queue.RXQ_STATE),
        queue_reg(0, Queue.RXQ_CPL_STATE),
        queue_reg(0, Queue.RX2_STATE),
    }
    assert rx_writes[ctrl - 2 : ctrl] == [upt_reg(Bar0.RXPROD, 0), upt_reg(Bar0.RXPROD2, 0)]
    assert fresh.regs[queue_reg(0, Queue.RXQ_CTRL)] == QCTRL_ENABLE | QCTRL_RESUME
    assert rx_writes[ctrl + 1 :] == []


def test_upt_error_reads_the_queue_register() -> None:
    dev = device()
    txq, rxq = open_tx(dev), open_rx(dev)
    assert run(txq.upt_error()) == 0
    txq.post_raw(TxDesc(dev.mem.alloc(64), 64, gen=0, eop=True))  # the wrong gen for lap 1
    run(txq.ring_doorbell())
    assert run(txq.upt_error()) == Err.TXD_INVALID
    assert run(txq.status()) & 0xFF == QErr.DESC_GEN
    dev.rx[0].error = QErr.SMALL_BUF
    assert run(rxq.upt_error()) == Err.SMALL_BUF


@pytest.mark.parametrize("upt_page", [True, False])
def test_use_interrupts_unmasks_through_the_imr(upt_page: bool) -> None:
    """Vector 2q (TX) and 2q + 1 (RX) unmasked through IMR (or *Q_IRQ_CTRL, its alias);
    the moderation has no UPT alias and goes to *Q_IRQ_MOD."""
    dev = device()
    txq, rxq = open_tx(dev, q=1, upt_page=upt_page), open_rx(dev, q=1, upt_page=upt_page)
    mod = IrqModeration(min_interval=100, count_thresh=8)
    run(txq.use_interrupts(object(), mod))  # type: ignore[arg-type]
    run(rxq.use_interrupts(object(), mod))  # type: ignore[arg-type]
    tx_mask = upt_reg(Bar0.IMR, 2) if upt_page else queue_reg(1, Queue.TXQ_IRQ_CTRL)
    rx_mask = upt_reg(Bar0.IMR, 3) if upt_page else queue_reg(1, Queue.RXQ_IRQ_CTRL)
    assert dev.writes[-4:] == [
        (queue_reg(1, Queue.TXQ_IRQ_MOD), mod.value()),
        (tx_mask, 0),
        (queue_reg(1, Queue.RXQ_IRQ_MOD), mod.value()),
        (rx_mask, 0),
    ]
    assert (txq.ring.irq_vector, rxq.ring.irq_vector) == (2, 3)
