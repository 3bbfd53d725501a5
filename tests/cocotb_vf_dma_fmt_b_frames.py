"""Directed tests of vf_dma with ring format B (vmxnet3's rings, docs/ARCHITECTURE.md §4b):
identity, the UPT page, and frames through the rings.

``identity_and_upt_page``: FUNC_ID / FUNC_PCI_ID report vendor B, the UPT
page's TXPROD / RXPROD / RXPROD2 / IMR alias the queue registers.

``tx_frames``: frames of 1..16 descriptors at random byte alignment, VLAN insert
from the SOP descriptor, a ring that wraps several times (gen flips), one
TxCompDesc per frame naming its EOP descriptor.

``rx_frames``: frames from 60 to 9018 bytes over a head buffer in ring 1 and body
buffers in ring 2, all three rings wrapping; one RxCompDesc per buffer, checked
field by field; VLAN strip sideband in ts/tci.

The bench and the hand-written vmxnet3 ring drivers: ``tests/vf_dma_fmt_b_bench.py``.
"""

from __future__ import annotations

import random

import cocotb

from tb.ref.regmap import (
    QSTATUS_ERROR,
    RING_B_IDENTITY,
    Func,
    Queue,
    upt_reg,
)
from tb.shell_model.vmxnet3_defs import (
    Bar0,
)
from tests.vf_dma_block import FUNC
from tests.vf_dma_fmt_b_bench import (
    RxSide,
    TxSide,
    new_bench,
    rx_frames_for,
    send_rx,
    tx_run,
)


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def identity_and_upt_page(dut) -> None:
    b = await new_bench(dut)
    fid = await b.bar.read(Func.FUNC_ID)
    assert fid >> 16 == RING_B_IDENTITY.device_id and fid & 0xFF == FUNC, f"FUNC_ID {fid:#x}"
    assert await b.bar.read(Func.FUNC_PCI_ID) == RING_B_IDENTITY.pci_id
    tx = TxSide(b, 1, 6)
    await tx.open()
    await b.bar.write(upt_reg(Bar0.TXPROD, 1), 0)
    assert await b.rd(1, Queue.TXQ_PROD) == 0
    rxs = RxSide(b, 1, 5, 256, 256)
    await rxs.open()
    await b.bar.write(upt_reg(Bar0.RXPROD, 1), 7)
    await b.bar.write(upt_reg(Bar0.RXPROD2, 1), 9)
    assert await b.rd(1, Queue.RXQ_PROD) == 7
    assert await b.rd(1, Queue.RX2_PROD) == 9
    assert await b.bar.read(upt_reg(Bar0.RXPROD2, 1)) == 9
    for vec, reg in ((2, Queue.TXQ_IRQ_CTRL), (3, Queue.RXQ_IRQ_CTRL)):
        await b.bar.write(upt_reg(Bar0.IMR, vec), 1)
        assert await b.rd(1, reg) == 1, f"IMR {vec} does not alias {reg.name}"
        await b.bar.write(upt_reg(Bar0.IMR, vec), 0)
        assert await b.rd(1, reg) == 0
    # outside the aliases the page decodes nothing
    for off in (0x4, 0x600 + 8 * 2, 0x800 + 8 * 2 + 4, 0xC00, 0xFFC):
        await b.bar.write(Func.UPT_BASE + off, 0xFFFFFFFF)
        assert await b.bar.read(Func.UPT_BASE + off) == 0, f"UPT page +{off:#x} decodes"
    assert await b.rd(1, Queue.TXQ_STATUS) & QSTATUS_ERROR == 0


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def tx_frames(dut) -> None:
    b = await new_bench(dut)
    rng = random.Random(21)
    tx = TxSide(b, 1, 5)  # 32 entries: 120 frames wrap it many times
    await tx.open()
    await tx_run(b, tx, rng, 120)
    st = await b.rd(1, Queue.TXQ_STATUS)
    assert st & QSTATUS_ERROR == 0, f"TXQ_STATUS {st:#x}"
    assert tx.comp.gen == 0 or tx.comp.idx > 0


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def rx_frames(dut) -> None:
    b = await new_bench(dut)
    rng = random.Random(22)
    rxs = RxSide(b, 0, 5, head=256, body=512)  # a 9018 B frame: head + 18 bodies
    await rxs.open()
    for _ in range(16):
        batch = rx_frames_for(rng, 12)
        for ring in (0, 1):
            rxs.fill(ring)
        await rxs.doorbells()
        # at most what the posted buffers hold, so nothing is dropped
        fit, heads, bodies = [], len(rxs.posted[0]), len(rxs.posted[1])
        for data, vlan in batch:
            need = max(0, -(-(len(data) - rxs.head) // rxs.body))
            if heads >= 1 and bodies >= need:
                heads, bodies = heads - 1, bodies - need
                fit.append((data, vlan))
        await send_rx(b, rxs, fit)
    assert await b.rd(0, Queue.RXQ_DROPS) == 0
    st = await b.rd(0, Queue.RXQ_STATUS)
    assert st & QSTATUS_ERROR == 0, f"RXQ_STATUS {st:#x}"
    assert rxs.r1.gen == 0 and rxs.r2.gen == 0, "the test must wrap both RX rings"
    assert rxs.comp.gen == 0 or rxs.comp.idx > 0
