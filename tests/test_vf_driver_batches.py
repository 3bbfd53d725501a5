"""The VF driver's batch paths (tb/vf_driver/queues.py: post_copies, reap_array, the RX
refill, HostMemory.write_each), without a simulator: each must leave in host memory,
slot for slot, what the one-at-a-time path built from the documented layouts
(tb/ref/layouts.py ``encode``/``unpack``, docs/ARCHITECTURE.md §4) leaves, and take
exactly the completions the device has handed back, across the ring's end and the
phase flip."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tb.host.memory import HostMemory, MemoryAccessError
from tb.ref.layouts import ENTRY_BYTES, RxCompletion, RxDesc, TxCompletion, TxDesc
from tb.vf_driver.queues import QueueError, RxQueue, TxQueue

SIZE_LOG2 = 8


def with_rings(q: TxQueue | RxQueue) -> TxQueue | RxQueue:
    """The queue's rings placed in its memory as open() would, without the register writes."""
    r = q.ring
    r.desc_base = q.mem.alloc(r.size * ENTRY_BYTES)
    r.cpl_base = q.mem.alloc(r.size * ENTRY_BYTES)
    return q


def tx_queue() -> TxQueue:
    q = with_rings(TxQueue(bar=None, mem=HostMemory(1 << 24), size_log2=SIZE_LOG2))  # type: ignore[arg-type]
    assert isinstance(q, TxQueue)
    q._bufs = [q.mem.alloc(q.buf_bytes, 64) for _ in range(q.ring.size)]
    q._buf_addrs = np.array(q._bufs, dtype=np.uint64)
    return q


def rx_queue() -> RxQueue:
    q = with_rings(RxQueue(bar=None, mem=HostMemory(1 << 24), size_log2=SIZE_LOG2))  # type: ignore[arg-type]
    assert isinstance(q, RxQueue)
    r = q.ring
    q._slot_buf = [(0, 0)] * r.size
    q._alloc_bufs()

    async def no_doorbell() -> None:  # the doorbell is MMIO; here only memory counts
        return None

    r.ring_doorbell = no_doorbell  # type: ignore[method-assign]
    return q


def desc_at(q: TxQueue | RxQueue, k: int) -> bytes:
    return q.mem.read(q.ring.desc_base + k * ENTRY_BYTES, ENTRY_BYTES)


def complete(q: TxQueue | RxQueue, slots: list[int], raws: list[bytes]) -> None:
    """The device's side: completion entries written into the given completion slots."""
    for k, raw in zip(slots, raws, strict=True):
        q.mem.write(q.ring.cpl_base + k * ENTRY_BYTES, raw)


@pytest.mark.parametrize(
    ("cls", "fmt"),
    [
        (TxDesc, "<QHBBHH"),
        (RxDesc, "<QH6x"),
        (TxCompletion, "<HHB10xB"),
        (RxCompletion, "<HBBHHB6xB"),
    ],
)
def test_dtype_is_the_struct_layout(cls: type, fmt: str) -> None:
    """Each record dtype puts every field at the offset and width of the struct format."""
    assert fmt == cls._FMT  # the format the documented layout was written in
    assert cls.DTYPE.itemsize == struct.calcsize(fmt) == ENTRY_BYTES
    # A struct pad byte ("x") is no value; every other field is one, in order.
    names = [n for n in cls.DTYPE.names if cls.DTYPE[n].kind != "V"]
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, ENTRY_BYTES, dtype=np.uint8).tobytes()
    rec = np.frombuffer(raw, dtype=cls.DTYPE)[0]
    unpacked = list(struct.unpack(fmt, raw))
    assert [int(rec[n]) for n in names] == unpacked


@pytest.mark.parametrize("start", [0, 100, 250])
def test_post_copies_writes_what_post_writes(start: int) -> None:
    frame = bytes(range(60)) + b"\xaa\xbb\xcc\xdd"
    fast, slow = tx_queue(), tx_queue()
    for q in (fast, slow):
        q.ring.prod = q.ring.clean = start
    n = fast.post_copies(frame, 40)
    for _ in range(40):
        slow.post(frame)
    assert n == 40 and fast.ring.prod == slow.ring.prod == (start + 40) % 256
    for k in range(256):  # every slot: the 40 across the end, and nothing else
        assert desc_at(fast, k) == desc_at(slow, k), k
        buf = fast._bufs[k]
        assert fast.mem.read(buf, 64) == slow.mem.read(buf, 64), k
    first = TxDesc.unpack(desc_at(fast, start))
    assert first == TxDesc(fast._bufs[start], 64, sof=True, eof=True)
    assert fast.in_flight == 40


def test_post_copies_stops_at_a_full_ring_and_refuses_bad_frames() -> None:
    q = tx_queue()
    assert q.post_copies(b"x" * 64, 1000) == 255  # one slot stays empty
    assert q.post_copies(b"x" * 64, 1) == 0
    with pytest.raises(QueueError):
        tx_queue().post_copies(b"", 1)
    with pytest.raises(QueueError):
        tx_queue().post_copies(b"x" * 65536, 1)


def tx_cpls(first: int, count: int, gen: int) -> tuple[list[int], list[bytes]]:
    slots = [(first + k) % 256 for k in range(count)]
    return slots, [TxCompletion(s, 64, 0, gen).pack() for s in slots]


def test_tx_reap_array_takes_owned_completions_across_the_end() -> None:
    q = tx_queue()
    complete(q, *tx_cpls(0, 200, gen=1))  # the first lap, reaped: still gen 1 in memory
    q.ring.prod = q.ring.clean = q.ring.cpl_idx = 200
    q.post_copies(b"y" * 64, 50)  # slots 200..249
    q.post(b"z" * 128)  # slot 250: a per-frame post after the batch
    q.post_copies(b"w" * 64, 20)  # slots 251..255, 0..14
    complete(q, *tx_cpls(200, 56, gen=1))  # 200..255: the first lap's gen
    cpls = q.reap_array()
    assert cpls["desc_idx"].tolist() == list(range(200, 256))
    assert q.in_flight == 71 - 56 and q.ring.clean == 0 and (q.ring.cpl_idx, q.ring.phase) == (0, 0)
    assert len(q.reap_array()) == 0  # slot 0 still holds gen 0 of nothing: not ours
    complete(q, *tx_cpls(0, 15, gen=0))  # after the flip the device writes gen 0
    tail = q.reap()  # the per-frame reap of what is left of a batch
    assert [t.first_slot for t in tail] == list(range(15)) and q.in_flight == 0
    assert all(t.completion is not None and t.completion.status == 0 for t in tail)


def test_tx_reap_array_refuses_more_completions_than_frames() -> None:
    q = tx_queue()
    q.post_copies(b"y" * 64, 2)
    complete(q, *tx_cpls(0, 3, gen=1))
    with pytest.raises(QueueError, match="3 TX completions with 2 frames"):
        q.reap_array()


@pytest.mark.parametrize("start", [0, 247])
def test_rx_refill_writes_what_encode_writes(start: int) -> None:
    import asyncio

    q = rx_queue()
    q.ring.prod = q.ring.clean = start
    asyncio.run(q.refill(16))
    for k in range(16):
        s = (start + k) % 256
        assert desc_at(q, s) == RxDesc.encode(q._bufs[s], q.buf_len)
        assert q._slot_buf[s] == (q._bufs[s], q.buf_len)
    assert desc_at(q, (start + 16) % 256) == bytes(ENTRY_BYTES)
    assert q.ring.prod == (start + 16) % 256


def test_rx_reap_array_returns_buffers_and_counts_frames() -> None:
    q = rx_queue()
    first_lap = [RxCompletion(k, 1, False, 64, 0, 0, 1).pack() for k in range(254)]
    complete(q, list(range(254)), first_lap)  # reaped in the first lap, still gen 1
    q.ring.prod = q.ring.clean = q.ring.cpl_idx = 254
    raws = [
        RxCompletion(254, 1, False, 64, 0, 0, 1).pack(),
        RxCompletion(255, 2, True, 3000, 0x0064, 0, 1).pack(),  # two buffers, across the end
    ]
    complete(q, [254, 255], raws)
    cpls = q.reap_array()
    assert cpls["length"].tolist() == [64, 3000] and cpls["num_bufs"].tolist() == [1, 2]
    assert cpls["vlan_tci"].tolist() == [0, 0x64] and cpls["flags"].tolist() == [0, 1]
    assert q.ring.clean == 1 and q.frames_seen == 2 and q.ring.phase == 0


def test_write_each_bounds_and_contents() -> None:
    mem = HostMemory(1 << 16)
    addrs = np.array([0x1000, 0x2003, 0x3000], dtype=np.uint64)
    mem.write_each(addrs, b"\x01\x02\x03")
    for a in addrs.tolist():
        assert mem.read(a, 4) == b"\x01\x02\x03\x00"
    with pytest.raises(MemoryAccessError):
        mem.write_each(np.array([(1 << 16) - 2], dtype=np.uint64), b"abc")
