"""Directed test of vf_dma with ring format B (docs/ARCHITECTURE.md §4b): every refusal.

``errors``: each format-B refusal (gen not handed over, offload requested, no
EOP within 16, 16 KiB buffer, head in ring 2, body in ring 1, small head, RX
gen) stops its queue with the documented code and vmxnet3 code while queue 0
keeps moving frames. The bench: ``tests/vf_dma_fmt_b_bench.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cocotb

from tb.ref.regmap import (
    QSTATUS_ERROR,
    QErr,
    Queue,
)
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    BufType,
    Err,
    OffloadMode,
    RxDesc,
    TxDesc,
    desc_gen,
)
from tests.vf_dma_fmt_b_bench import (
    RxSide,
    TxSide,
    error_state,
    new_bench,
    send_rx,
    tx_run,
)


@dataclass
class TxCase:
    name: str
    code: int
    upt: int
    descs: list[dict]


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def errors(dut) -> None:
    b = await new_bench(dut)
    rng = random.Random(23)
    tx0 = TxSide(b, 0, 6)
    await tx0.open()
    cases = [
        TxCase("gen not handed over", QErr.DESC_GEN, Err.TXD_INVALID, [{"gen_flip": True}]),
        TxCase("checksum offload", QErr.DESC_TYPE, Err.DESC_NOT_SPT, [{"om": OffloadMode.CSUM}]),
        TxCase("descriptor type 1", QErr.DESC_TYPE, Err.DESC_NOT_SPT, [{"dtype": 1}]),
        TxCase("no EOP within 16", QErr.TOO_MANY_BUFS, Err.NOEOP, [{"eop": False}] * 17),
        TxCase("16 KiB buffer", QErr.DESC_LEN_MAX, Err.BIG_PKT, [{"length": 16384}]),
    ]
    for case in cases:
        tx = TxSide(b, 1, 5)
        await tx.open()
        bad = tx.ring.idx
        buf = b.mem.alloc(16384, 64)
        descs = []
        for k, spec in enumerate(case.descs):
            last = k == len(case.descs) - 1
            descs.append(
                TxDesc(
                    addr=buf,
                    length=spec.get("length", 100),
                    gen=tx.ring.gen ^ int(spec.get("gen_flip", False)),
                    eop=spec.get("eop", last),
                    om=spec.get("om", 0),
                    dtype=spec.get("dtype", 0),
                )
            )
        for d in descs:  # written raw: these frames break the driver's own rules
            b.mem.write(tx.ring.addr(), d.pack())
            tx.ring.advance()
        await tx.doorbell()
        await tx_run(b, tx0, rng, 8)  # queue 0 keeps moving frames
        st, upt = await error_state(b, 1, rx=False)
        assert st & QSTATUS_ERROR and st & 0xFF == case.code, f"{case.name}: TXQ_STATUS {st:#x}"
        assert upt == case.upt, f"{case.name}: TXQ_UPT_ERROR {upt:#x}, expected {case.upt:#x}"
        assert not b.sink.frames, f"{case.name}: a frame of the errored queue was sent"
        assert desc_gen(b.mem.read(tx.comp.addr(), DESC_BYTES), 3) != tx.comp.gen, (
            f"{case.name}: a completion was written for descriptor {bad}"
        )
        await b.wr(1, Queue.TXQ_CTRL, 0)
        assert (await b.rd(1, Queue.TXQ_UPT_ERROR)) == 0, f"{case.name}: UPT error survives reset"

    rx0 = RxSide(b, 0, 5, 256, 256)
    await rx0.open()
    rx_cases = [
        ("body buffer in ring 1", 0, {"btype": BufType.BODY}, QErr.DESC_TYPE, Err.DESC_NOT_SPT),
        ("head buffer in ring 2", 1, {"btype": BufType.HEAD}, QErr.DESC_TYPE, Err.DESC_NOT_SPT),
        ("head buffer of 64 B", 0, {"length": 64}, QErr.SMALL_BUF, Err.SMALL_BUF),
        ("RX gen not handed over", 1, {"gen_flip": True}, QErr.DESC_GEN, Err.TXD_INVALID),
        ("RX descriptor type 1", 0, {"dtype": 1}, QErr.DESC_TYPE, Err.DESC_NOT_SPT),
    ]
    for name, ring, spec, code, vmx in rx_cases:
        rxs = RxSide(b, 1, 5, 256, 256)
        await rxs.open()
        r = rxs.r1 if ring == 0 else rxs.r2
        d = RxDesc(
            addr=b.mem.alloc(256, 64),
            length=spec.get("length", 256),
            gen=r.gen ^ int(spec.get("gen_flip", False)),
            btype=spec.get("btype", BufType(ring)),
            dtype=spec.get("dtype", 0),
        )
        b.mem.write(r.addr(), d.pack())
        r.advance()
        await rxs.doorbells()
        rx0.fill(0)
        rx0.fill(1)
        await rx0.doorbells()
        # queue 0 keeps receiving (frames its 31 head and 31 body buffers hold)
        await send_rx(b, rx0, [(rng.randbytes(rng.randint(60, 4000)), None) for _ in range(2)])
        st, upt = await error_state(b, 1, rx=True)
        assert st & QSTATUS_ERROR and st & 0xFF == code, f"{name}: RXQ_STATUS {st:#x}"
        assert upt == vmx, f"{name}: RXQ_UPT_ERROR {upt:#x}, expected {vmx:#x}"
        await b.wr(1, Queue.RXQ_CTRL, 0)
