"""The format-B (vmxnet3/UPT) RX queue driver, without a simulator: frames of a head
and body buffers across every ring end, and each completion check shown to fire on
a completion corrupted in that one field.

They run against ``FakeUptDevice`` (tests/fake_upt_device.py): one function's
registers and rings by the rules of docs/ARCHITECTURE.md §4b/§4c, every descriptor
and completion through the project's vmxnet3 codec, over the real host memory.
"""

from __future__ import annotations

import random

import pytest

from tb.host.memory import HostMemory
from tb.ref.layouts import ENTRY_BYTES, RxCompletion
from tb.ref.regmap import RING_A_IDENTITY
from tb.shell_model.vmxnet3_defs import CompType, RxCompDesc
from tb.vf_driver.queues import QueueError
from tb.vf_driver.upt_queues import UptCompletionError, UptRxFrame, UptRxQueue, UptTxQueue
from tests.fake_upt_device import NQ, FakeUptDevice, corrupt, cpl_slot, device, open_rx, run

# ------------------------------------------------------------------ RX


def rx_frames(rng: random.Random, n: int) -> list[tuple[bytes, int | None]]:
    """Sizes for a 256-byte head and 512-byte bodies: head only (some exactly full),
    head + 1..18 bodies (9018 bytes)."""
    sizes = [60, 256, 257, 768, 769, 9018, 1500]
    out = []
    for k in range(n):
        size = (
            sizes[k]
            if k < len(sizes)
            else rng.choice([rng.randint(60, 256), rng.randint(257, 4000)])
        )
        vlan = rng.randrange(1 << 16) if rng.random() < 0.3 else None
        out.append((rng.randbytes(size), vlan))
    return out


def test_rx_frames_of_head_and_body_buffers_across_every_ring_end() -> None:
    dev = device()
    rxq = open_rx(dev, q=1, log2=5, buf_len=512, head_len=256)
    assert rxq.ring.cpl_size == 64 and rxq.num_queues == NQ
    rng = random.Random(7)
    frames = rx_frames(rng, 150)
    got: list[UptRxFrame] = []
    cpl_laps = 0
    for data, vlan in frames:
        if not dev.deliver(1, data, vlan):
            before = rxq.ring.cpl_idx
            got += [f for f in rxq.reap() if isinstance(f, UptRxFrame)]
            cpl_laps += rxq.ring.cpl_idx < before
            run(rxq.refill())
            assert dev.deliver(1, data, vlan)
    got += [f for f in rxq.reap() if isinstance(f, UptRxFrame)]
    assert [f.data for f in got] == [d for d, _ in frames]
    assert rxq.ring.laps >= 2 and rxq.ring2.laps >= 2 and cpl_laps >= 2
    for fr, (data, vlan) in zip(got, frames, strict=True):
        c = fr.completion
        nbody = -(-max(0, len(data) - 256) // 512)
        assert (c.num_bufs, c.length, c.status) == (1 + nbody, len(data), 0)
        assert (c.vlan_stripped, c.vlan_tci) == (vlan is not None, vlan or 0)
        assert len(fr.upt_completions) == len(fr.bufs) == 1 + nbody
        assert [b[1] for b in fr.bufs] == [cpl.length for cpl in fr.upt_completions]
        assert fr.upt_completions[0].rq_id == 1 and all(
            cpl.rq_id == 1 + NQ for cpl in fr.upt_completions[1:]
        )


def test_rx_frame_whose_eop_is_not_written_yet_waits() -> None:
    dev = device()
    rxq = open_rx(dev, buf_len=512, head_len=256)
    data = bytes(range(256)) * 6  # head + 3 body buffers: 4 completions
    assert dev.deliver(0, data)
    eop = cpl_slot(rxq.ring, 3)
    written = dev.mem.read(eop, ENTRY_BYTES)
    dev.mem.write(eop, bytes(ENTRY_BYTES))  # as if the EOP's beat were still on its way
    assert rxq.reap() == [] and rxq._partial is not None and rxq.ring.clean == 0
    dev.mem.write(eop, written)
    (fr,) = rxq.reap()
    assert fr.data == data and rxq.ring.clean == 1 and rxq.ring2.clean == 3


def test_rx_reap_array_and_buffers_posted_by_the_caller() -> None:
    dev = device()
    rxq = UptRxQueue(dev, dev.mem, 0, 5, 512, head_len=256)  # type: ignore[arg-type]
    run(rxq.open(post=0))
    heads = [(dev.mem.alloc(4096), 4096)]
    assert rxq.post_buffers(heads) == 1
    assert rxq.post_buffers([(dev.mem.alloc(512), 512)] * 3, body=True) == 3
    run(rxq.ring_doorbell())
    assert dev.deliver(0, bytes(4500), vlan_tci=0x123)
    cpls = rxq.reap_array()
    assert cpls.dtype == RxCompletion.DTYPE
    assert cpls[["desc_idx", "num_bufs", "flags", "length", "vlan_tci", "status"]].tolist() == [
        (0, 2, 1, 4500, 0x123, 0)
    ]
    assert rxq.frames_seen == 1 and rxq.ring2.clean == 1


def rx_with_frames() -> tuple[FakeUptDevice, UptRxQueue]:
    """Frame 0: head + 2 bodies (completion slots 0..2), frame 1: head only (slot 3),
    frame 2: head + 1 body (slots 4, 5); 256-byte heads, 512-byte bodies."""
    dev = device()
    rxq = open_rx(dev, buf_len=512, head_len=256)
    for size, vlan in ((1000, 0x0064), (200, None), (600, None)):
        assert dev.deliver(0, bytes(size), vlan)
    return dev, rxq


@pytest.mark.parametrize(
    ("slot", "values", "fld"),
    [
        (0, {"rxd_idx": 1}, "rxd_idx"),
        (1, {"rxd_idx": 1}, "rxd_idx"),  # body buffer 1 named where body 0 is due
        (0, {"rq_id": NQ}, "rq_id"),  # a head on ring 2's rqID
        (1, {"rq_id": 0}, "rq_id"),  # a body on ring 1's rqID
        (2, {"eop": 0}, "eop"),  # the last of 3 buffers, short, without eop
        (3, {"eop": 0, "length": 256}, "eop"),  # a full head, no eop: the next has sop
        (0, {"sop": 0}, "sop"),
        (1, {"sop": 1}, "eop"),
        (1, {"gen": 0}, "gen"),  # slots after it are the device's: a skipped entry
        (0, {"type": CompType.RXCOMP_LRO}, "type"),
        (0, {"type": CompType.TXCOMP}, "type"),
        (0, {"length": 200}, "eop"),  # a head not full, yet the frame goes on
        (3, {"length": 300}, "len"),  # more than the 256-byte head holds
        (3, {"length": 0}, "len"),
        (0, {"cnc": 0}, "cnc"),
        (1, {"ts": 0, "tci": 0}, "ts"),
        (2, {"tci": 0x0065}, "tci"),
        (3, {"tci": 0x0001}, "tci"),  # a tag without ts
        (3, {"rss_hash": 1}, "rss_hash"),
        (5, {"v4": 1}, "v4"),
        (4, {"err": 1}, "err"),
    ],
)
def test_rx_completion_checks_fire(slot: int, values: dict[str, int], fld: str) -> None:
    dev, rxq = rx_with_frames()
    corrupt(dev.mem, cpl_slot(rxq.ring, slot), RxCompDesc, **values)
    with pytest.raises(UptCompletionError) as exc:
        rxq.reap()
    assert exc.value.field == fld, exc.value


def test_rx_untouched_completions_pass() -> None:
    _, rxq = rx_with_frames()
    got = rxq.reap()
    assert [(f.completion.num_bufs, f.completion.length) for f in got] == [
        (3, 1000),
        (1, 200),
        (2, 600),
    ]


def test_rx_completion_for_a_buffer_never_posted() -> None:
    dev = device()
    rxq = open_rx(dev, buf_len=512, head_len=256)
    rxq.ring2.clean = rxq.ring2.prod  # as if ring 2 had no buffer posted
    assert dev.deliver(0, bytes(300))
    with pytest.raises(UptCompletionError, match="no ring-2 buffer posted") as exc:
        rxq.reap()
    assert exc.value.field == "rxd_idx"


def test_rx_geometry_is_checked() -> None:
    dev = device()
    with pytest.raises(QueueError, match="head buffer"):
        UptRxQueue(dev, dev.mem, head_len=64)  # type: ignore[arg-type]
    with pytest.raises(QueueError, match="completion ring"):
        UptRxQueue(dev, dev.mem, size_log2=6, ring2_log2=6, cpl_log2=6)  # type: ignore[arg-type]
    q = UptRxQueue(dev, dev.mem, size_log2=6, ring2_log2=8)  # type: ignore[arg-type]
    assert q.ring.cpl_size == 512 and q.ring2.size == 256


def test_open_refuses_a_function_that_is_not_format_b() -> None:
    dev = FakeUptDevice(HostMemory(1 << 20), pci_id=RING_A_IDENTITY.pci_id)
    with pytest.raises(QueueError, match="not a ring-format-B engine"):
        run(UptTxQueue(dev, dev.mem).open())  # type: ignore[arg-type]
