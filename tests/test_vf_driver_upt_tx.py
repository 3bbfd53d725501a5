"""The format-B (vmxnet3/UPT) TX queue driver, without a simulator: frames of 1..16
buffers across the ends of every ring (the gens flip), the descriptor fields, and
each completion check shown to fire on a completion corrupted in that one field.

They run against ``FakeUptDevice`` (tests/fake_upt_device.py): one function's
registers and rings by the rules of docs/ARCHITECTURE.md §4b/§4c, every descriptor
and completion through the project's vmxnet3 codec, over the real host memory.
"""

from __future__ import annotations

import random

import pytest

from tb.ref.layouts import ENTRY_BYTES, TxCompletion
from tb.ref.regmap import Queue, queue_reg, upt_reg
from tb.shell_model.vmxnet3_defs import MAX_TX_BUF_SIZE, Bar0, CompType, TxCompDesc, TxDesc
from tb.vf_driver.queues import QueueError
from tb.vf_driver.upt_queues import UptCompletionError, UptTxFrame, UptTxQueue
from tests.fake_upt_device import FakeUptDevice, corrupt, cpl_slot, device, open_tx, run

# ------------------------------------------------------------------ TX


def random_frames(rng: random.Random, n: int) -> list[tuple[bytes, list[int], int | None]]:
    out = []
    for _ in range(n):
        nbufs = rng.choice([1, 2, 3, 4, 5, 8, 15, 16])
        size = rng.randint(max(60, nbufs), 3000)
        cuts = sorted(rng.sample(range(1, size), nbufs - 1))
        edges = [0, *cuts, size]
        split = [edges[i + 1] - edges[i] for i in range(nbufs)]
        vlan = rng.randrange(1 << 16) if rng.random() < 0.3 else None
        out.append((rng.randbytes(size), split, vlan))
    return out


@pytest.mark.parametrize("upt_page", [True, False])
def test_tx_frames_of_1_to_16_buffers_across_wraps(upt_page: bool) -> None:
    dev = device()
    txq = open_tx(dev, q=1, upt_page=upt_page)
    rng = random.Random(5)
    frames = random_frames(rng, 60)
    done: list[UptTxFrame] = []
    for data, split, vlan in frames:
        while txq.ring.free_slots() < len(split):
            got = txq.reap()
            assert got, "the fake sends at once: a full ring means unreaped frames"
            done += [t for t in got if isinstance(t, UptTxFrame)]
        txq.post(data, split=split, offsets=[rng.randrange(64) for _ in split], vlan_tci=vlan)
        run(txq.ring_doorbell())
    done += [t for t in txq.reap() if isinstance(t, UptTxFrame)]
    assert dev.sent == [(1, d, v) for d, _, v in frames]
    assert [t.data for t in done] == [d for d, _, _ in frames] and txq.in_flight == 0
    assert txq.ring.laps >= 3  # the descriptor ring wrapped: gens 1, 0, 1, 0 were used
    for t in done:
        assert t.completion == TxCompletion(t.last_slot, len(t.data), 0, t.completion.gen)
        assert t.upt_completion is not None and t.upt_completion.txd_idx == t.last_slot
    doorbell = upt_reg(Bar0.TXPROD, 1) if upt_page else queue_reg(1, Queue.TXQ_PROD)
    assert dev.writes[-1] == (doorbell, txq.ring.prod)


def test_tx_descriptor_fields() -> None:
    """VLAN insert on the first descriptor, eop and cq on the last, the lap's gen."""
    txq = open_tx(device())
    txq.ring.prod = txq.ring.clean = 30
    txq.post(bytes(300), split=[100, 100, 100], vlan_tci=0x0ABC)
    got = [
        TxDesc.unpack(txq.mem.read(txq.ring.desc_base + s * ENTRY_BYTES, ENTRY_BYTES))
        for s in (30, 31, 0)
    ]
    assert [(d.gen, d.eop, d.cq, d.ti, d.tci) for d in got] == [
        (1, False, False, True, 0x0ABC),
        (1, False, False, False, 0),
        (0, True, True, False, 0),
    ]
    assert all(d.dtype == 0 and d.om == 0 for d in got)


def test_tx_16384_byte_buffers_encode_as_length_0() -> None:
    dev = device()
    txq = open_tx(dev)
    big = [dev.mem.alloc(MAX_TX_BUF_SIZE) for _ in range(2)]
    payload = random.Random(1).randbytes(2 * MAX_TX_BUF_SIZE + 10)
    dev.mem.write(big[0], payload[:MAX_TX_BUF_SIZE])
    dev.mem.write(big[1], payload[MAX_TX_BUF_SIZE : 2 * MAX_TX_BUF_SIZE])
    tail = dev.mem.alloc(64)
    dev.mem.write(tail, payload[-10:])
    tx = txq.post_buffers([(big[0], MAX_TX_BUF_SIZE), (big[1], MAX_TX_BUF_SIZE), (tail, 10)])
    raw = dev.mem.read(txq.ring.desc_base, ENTRY_BYTES)
    assert int.from_bytes(raw[8:10], "little") & 0x3FFF == 0  # len field 0 = 16384
    run(txq.ring_doorbell())
    assert dev.sent[-1][1] == payload
    (done,) = txq.reap()
    assert done is tx and tx.completion is not None and tx.completion.length == len(payload)
    with pytest.raises(QueueError):
        txq.post_copies(bytes(MAX_TX_BUF_SIZE + 1), 1)


def test_tx_reap_array_is_format_a_dtype() -> None:
    dev = device()
    txq = open_tx(dev)
    assert txq.post_copies(bytes(64), 40) == 31  # one slot stays empty
    run(txq.ring_doorbell())
    cpls = txq.reap_array()
    assert cpls.dtype == TxCompletion.DTYPE
    assert cpls["desc_idx"].tolist() == list(range(31)) and not cpls["status"].any()
    assert set(cpls["length"].tolist()) == {64} and txq.in_flight == 0 and txq.ring.clean == 31


def tx_with_frames(n: int = 3) -> tuple[FakeUptDevice, UptTxQueue]:
    dev = device()
    txq = open_tx(dev)
    for k in range(n):
        txq.post(bytes([k]) * 100, split=[60, 40])
    run(txq.ring_doorbell())
    return dev, txq


@pytest.mark.parametrize(
    ("slot", "values", "fld"),
    [
        (1, {"txd_idx": 2}, "txd_idx"),  # the SOP, not the EOP, of frame 1
        (0, {"txd_idx": 3}, "txd_idx"),  # frame 1's EOP where frame 0's is due
        (0, {"type": CompType.RXCOMP}, "type"),
        (1, {"gen": 0}, "gen"),  # slot 2 after it is the device's: a skipped entry
        (2, {"rsvd": 1}, "rsvd"),
        (2, {"ext2": 5}, "ext2"),
    ],
)
def test_tx_completion_checks_fire(slot: int, values: dict[str, int], fld: str) -> None:
    dev, txq = tx_with_frames()
    corrupt(dev.mem, cpl_slot(txq.ring, slot), TxCompDesc, **values)
    with pytest.raises(UptCompletionError) as exc:
        txq.reap()
    assert exc.value.field == fld, exc.value


def test_tx_completion_without_a_frame_in_flight() -> None:
    dev, txq = tx_with_frames(1)
    assert len(txq.reap()) == 1
    dev.mem.write(cpl_slot(txq.ring, 1), TxCompDesc(txd_idx=1, gen=1).pack())
    with pytest.raises(UptCompletionError, match="no frame in flight") as exc:
        txq.reap()
    assert exc.value.field == "txd_idx"


def test_tx_untouched_completions_pass() -> None:
    """The fixture of the corruption tests reaps clean when nothing is corrupted."""
    _, txq = tx_with_frames()
    assert [t.last_slot for t in txq.reap()] == [1, 3, 5]
