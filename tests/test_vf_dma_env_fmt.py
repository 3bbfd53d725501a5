"""The ring-format pieces of the pyuvm environment (tb/uvm/vf_dma/), without a
simulator: ``VF_DMA_RING_FMT``, the configuration, and the RX credit, whose format-B
count of head and body buffers must be what the format-B driver takes per frame
(checked on the fake device of tests/test_vf_driver_upt.py)."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

import pytest
from pyuvm import ConfigDB

from tb.ref.regmap import RingFmt
from tb.uvm.vf_dma import (
    MAX_FRAME,
    MIN_FRAME,
    RING_FMT_ENV,
    RxCredit,
    TxFrameItemData,
    VfDmaCoverage,
    VfDmaEnvConfig,
    ring_fmt_from_env,
    upt_body_bins,
)
from tests.fake_upt_device import device, open_rx, open_tx


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


def coverage(cfg: VfDmaEnvConfig, name: str) -> VfDmaCoverage:
    """A coverage component outside a simulation (pyuvm's root keeps every component:
    one name per test)."""
    ConfigDB().set(None, "*", "cfg", cfg)
    cov = VfDmaCoverage(name, None)
    cov.build_phase()
    return cov


def test_format_a_coverage_has_no_format_b_points() -> None:
    cov = coverage(VfDmaEnvConfig(func=1, num_queues=2), "coverage_a")
    assert not [name for name in cov.points if name.startswith("upt_")]


def test_format_b_coverage_bins_fill_from_the_drivers_frames() -> None:
    """Every format-B bin is reachable: fed the frames and ring laps of the format-B
    drivers on the fake device, as the environment's analysis ports and sample_run
    feed them, every ``upt_*`` point is covered."""
    cfg = VfDmaEnvConfig(func=1, num_queues=2, ring_fmt=RingFmt.B, rx_head_len=256, rx_buf_len=512)
    cov = coverage(cfg, "coverage_b")
    dev = device()
    txqs = [open_tx(dev, q=q) for q in range(2)]
    rxqs = [open_rx(dev, q=q, buf_len=512, head_len=256) for q in range(2)]
    rng = random.Random(4)
    for k in range(80):
        q = k % 2
        nbufs = [1, 3, 8, 16][k % 4]
        size = rng.randint(60, 3000)
        cuts = sorted(rng.sample(range(1, size), nbufs - 1))
        split = [b - a for a, b in zip([0, *cuts], [*cuts, size], strict=True)]
        vlan = 0x10 if k % 3 == 0 else None
        d = TxFrameItemData(q, rng.randbytes(size), split, [0] * nbufs, vlan)
        cov._tx((d, txqs[q].post(d.data, split=split, vlan_tci=vlan)))
        asyncio.run(txqs[q].ring_doorbell())
        txqs[q].reap()
        rx_size = [100, 700, 1200, 1500, 2000, MAX_FRAME][k % 6]  # 0, 1, 2, 3, 4, 18 bodies
        assert dev.deliver(q, rng.randbytes(rx_size), 0x20 if k % 4 < 2 else None)
        for fr in rxqs[q].reap():
            cov._rx((q, fr))
        asyncio.run(rxqs[q].refill())
    driver = SimpleNamespace(txq=txqs, rxq=rxqs, tx_wraps=[1, 1], rx_wraps=[1, 1])
    idle = SimpleNamespace(stalled_frames=0)
    host = SimpleNamespace(responder=SimpleNamespace(reordered=0, latencies=[]))
    cov.sample_run(driver, idle, host)  # type: ignore[arg-type]
    assert {n: h for n, h in cov.holes().items() if n.startswith("upt_")} == {}
    assert cov.points["upt_rx_body_bufs"].bins[-1] == "5-18"
