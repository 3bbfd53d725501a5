"""The ring-format pieces of the pyuvm environment (tb/uvm/vf_dma_env.py), without a
simulator: ``VF_DMA_RING_FMT``, the configuration, and the RX credit, whose format-B
count of head and body buffers must be what the format-B driver takes per frame
(checked on the fake device of tests/test_vf_driver_upt.py)."""

from __future__ import annotations

import asyncio
import random

import pytest

from tb.ref.regmap import RingFmt
from tb.uvm.vf_dma_env import (
    MAX_FRAME,
    MIN_FRAME,
    RING_FMT_ENV,
    RxCredit,
    VfDmaEnvConfig,
    ring_fmt_from_env,
    upt_body_bins,
)
from tests.test_vf_driver_upt import device, open_rx


def test_ring_fmt_from_env() -> None:
    assert ring_fmt_from_env({}) == RingFmt.A
    assert ring_fmt_from_env({RING_FMT_ENV: "B"}) == RingFmt.B
    assert ring_fmt_from_env({RING_FMT_ENV: " b "}) == RingFmt.B
    with pytest.raises(ValueError, match=f"{RING_FMT_ENV}='vmxnet3': expected A .* or B"):
        ring_fmt_from_env({RING_FMT_ENV: "vmxnet3"})


def test_config_refuses_an_unknown_format() -> None:
    assert VfDmaEnvConfig(func=1, num_queues=2).ring_fmt == RingFmt.A
    with pytest.raises(ValueError):
        VfDmaEnvConfig(func=1, num_queues=2, ring_fmt="C")  # type: ignore[arg-type]


def test_body_bins_reach_the_largest_frame() -> None:
    cfg = VfDmaEnvConfig(func=1, num_queues=2, ring_fmt=RingFmt.B)
    assert upt_body_bins(cfg) == [("1", 1, 1), ("2", 2, 2), ("3", 3, 3), ("4", 4, 4)]
    small = VfDmaEnvConfig(func=1, num_queues=2, ring_fmt=RingFmt.B, rx_buf_len=512)
    assert upt_body_bins(small)[-1] == ("5-16", 5, 16)  # (9018 - 1024) / 512 -> 16


def test_format_a_credit_is_unchanged() -> None:
    c = RxCredit(2, 63, 2048, False)
    assert [c.bufs(bytes(n)) for n in (60, 2048, 2049, 9018)] == [1, 1, 2, 5]
    asyncio.run(c.acquire(bytes(5000)))
    assert (c.claimed, c.body_claimed) == ([3, 0], [0, 0])
    c.release(0, 3)
    assert c.claimed == [0, 0]


def test_format_b_credit_is_what_the_driver_takes() -> None:
    """Per frame: one ring-1 buffer and the ring-2 buffers the format-B driver reports."""
    head, body = 256, 512
    credit = RxCredit(2, 31, body, False, head_len=head, body_slots=31)
    dev = device()
    rxq = open_rx(dev, buf_len=body, head_len=head)
    rng = random.Random(2)
    for size in [MIN_FRAME, head, head + 1, head + body, MAX_FRAME] + [
        rng.randint(MIN_FRAME, MAX_FRAME) for _ in range(20)
    ]:
        frame = bytes(size)
        asyncio.run(credit.acquire(frame))
        assert credit.claimed[0] == 1 and credit.body_claimed[0] == credit.body_bufs(size)
        assert dev.deliver(0, frame)
        (fr,) = rxq.reap()
        assert fr.completion.num_bufs == credit.bufs(frame) == 1 + credit.body_bufs(size)
        credit.release(0, fr.completion.num_bufs)
        assert credit.claimed == credit.body_claimed == [0, 0]
        asyncio.run(rxq.refill())
