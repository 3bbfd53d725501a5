"""pyuvm tests of vf_dma on the environment of tb/uvm/vf_dma/.

``VfDmaRandomTest``: constrained-random TX and RX at the same time on every
queue (frame sizes 60..9018, 1..16 TX buffers at any byte alignment, VLAN
requests, small rings that wrap, TX backpressure, random host latency
30..150 cycles with reordering across IDs and a*ready stalls). Frame count
and seed come from ``VF_DMA_FRAMES`` (TX + RX, default 10,000) and
``VF_DMA_SEED``, the ring format of the engine under test from
``VF_DMA_RING_FMT`` (A, the default, or B: vmxnet3's rings, ARCHITECTURE §4b; the
DUT must be built with that format). Passes only with zero scoreboard mismatches, every frame
accounted for, no IOMMU fault, and every reachable coverage bin hit.

The directed error, queue reset and FLR tests build on ``VfDmaBaseTest`` through
``tests/vf_dma_directed_base.py`` (``tests/cocotb_vf_dma_errors.py``,
``tests/cocotb_vf_dma_reset.py``).
"""

from __future__ import annotations

import os
import random

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Combine
from pyuvm import ConfigDB, uvm_sequence, uvm_test

from tb.functional_coverage import write_report
from tb.ref.regmap import QSTATUS_ERROR, Queue, queue_reg
from tb.uvm.vf_dma import (
    RxFrameItem,
    TxFrameItem,
    VfDmaEnv,
    VfDmaEnvConfig,
    ring_fmt_from_env,
)

FUNC = 5
DRAIN_CYCLES = 200_000  # a run that has not drained by then has hung


class TxRandomSeq(uvm_sequence):
    def __init__(self, name: str, n: int, rng: random.Random, nq: int) -> None:
        super().__init__(name)
        self.n, self.rng, self.nq = n, rng, nq

    async def body(self) -> None:
        for _ in range(self.n):
            item = TxFrameItem()
            await self.start_item(item)
            item.randomize_with(self.rng, self.nq)
            await self.finish_item(item)


class RxRandomSeq(uvm_sequence):
    def __init__(self, name: str, n: int, rng: random.Random) -> None:
        super().__init__(name)
        self.n, self.rng = n, rng

    async def body(self) -> None:
        for _ in range(self.n):
            item = RxFrameItem()
            await self.start_item(item)
            item.randomize_with(self.rng)
            await self.finish_item(item)


class VfDmaBaseTest(uvm_test):
    def build_phase(self) -> None:
        dut = cocotb.top
        self.dut = dut
        self.seed = int(os.environ.get("VF_DMA_SEED", "1"))
        nq = int(dut.NUM_QUEUES.value)
        hash_ok = nq > 1 and int(dut.DATA_W.value) == 512  # §3.1: the hash needs 64-byte beats
        self.cfg = self.make_cfg(nq, hash_ok)
        ConfigDB().set(None, "*", "cfg", self.cfg)
        ConfigDB().set(None, "*", "dut", dut)
        dut.rst.value = 1
        dut.func_num.value = FUNC
        dut.func_enable.value = 1
        dut.m_irq_ready.value = 1
        cocotb.start_soon(Clock(dut.clk, self.cfg.period_ns, unit="ns").start())
        self.env = VfDmaEnv("env", self)

    def make_cfg(self, nq: int, hash_ok: bool) -> VfDmaEnvConfig:
        return VfDmaEnvConfig(
            func=FUNC,
            num_queues=nq,
            seed=self.seed,
            rx_hash=hash_ok,
            ring_fmt=ring_fmt_from_env(),
            iova_base=int(os.environ.get("VF_DMA_IOVA_BASE", "0"), 0),
        )

    async def reset(self) -> None:
        await ClockCycles(self.dut.clk, 8)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 4)

    async def drain(self, n_tx: int, n_rx: int) -> None:
        """Wait until every TX frame is seen and completed and every RX frame reaped."""
        env = self.env
        sb = env.scoreboard.sb
        for _ in range(DRAIN_CYCLES // 500):
            done_tx = (
                sb.matched["tx"] + len(sb.mismatches) >= n_tx and env.scoreboard.tx_cpls >= n_tx
            )
            rx = sum(v for k, v in sb.matched.items() if k.startswith("rx"))
            if done_tx and rx >= n_rx and env.host.responder.idle:
                return
            await ClockCycles(self.dut.clk, 500)
        raise AssertionError(
            f"engine hung: TX {sb.matched['tx']}/{n_tx} seen, {env.scoreboard.tx_cpls} completed, "
            f"RX {sum(v for k, v in sb.matched.items() if k.startswith('rx'))}/{n_rx}"
        )

    def check_clean(self) -> None:
        env = self.env
        mism = env.scoreboard.mismatches()
        for m in mism[:10]:
            self.logger.error("mismatch: %s", m)
        assert not mism, f"{len(mism)} scoreboard mismatches"
        assert not env.scoreboard.errors, env.scoreboard.errors[:5]


@pyuvm.test()
class VfDmaRandomTest(VfDmaBaseTest):
    async def run_phase(self) -> None:
        self.raise_objection()
        await self.reset()
        env = self.env
        total = int(os.environ.get("VF_DMA_FRAMES", "10000"))
        n_tx, n_rx = total // 2, total - total // 2
        await env.driver.open(hash_en=self.cfg.rx_hash)
        rng = random.Random(self.seed)
        tx = TxRandomSeq("tx", n_tx, random.Random(rng.random()), self.cfg.num_queues)
        rx = RxRandomSeq("rx", n_rx, random.Random(rng.random()))

        async def run_tx() -> None:
            await tx.start(env.driver.seqr)
            await env.driver.flush()

        await Combine(cocotb.start_soon(run_tx()), cocotb.start_soon(rx.start(env.rx_agent.seqr)))
        await self.drain(n_tx, n_rx)
        env.driver.stop()
        self.check_clean()
        sb = env.scoreboard.sb
        rx_ok = sum(v for k, v in sb.matched.items() if k.startswith("rx"))
        self.logger.info(
            "random seed %d: %d TX + %d RX frames, %d bytes TX, 0 mismatches, %d reordered reads",
            self.seed,
            sb.matched["tx"],
            rx_ok,
            sb.matched_bytes["tx"],
            env.host.responder.reordered,
        )
        assert sb.matched["tx"] == n_tx and rx_ok == n_rx
        # no access outside the function's own domain, no bus error
        assert not env.host.iommu.faults and not env.host.responder.errors
        for q in range(self.cfg.num_queues):
            drops = await env.driver.bar.read(queue_reg(q, Queue.RXQ_DROPS))
            assert drops == 0, f"queue {q} dropped {drops} RX frames"
            st = await env.driver.bar.read(queue_reg(q, Queue.TXQ_STATUS))
            assert st & QSTATUS_ERROR == 0, hex(st)
        cov = env.coverage
        cov.sample_run(env.driver, env.tx_mon, env.host)
        summary = cov.summary()
        self.logger.info("%s", summary)
        out = os.environ.get("VF_DMA_COVERAGE")
        if out:
            with open(out, "w") as fh:
                fh.write(summary + "\n")
        write_report(summary)
        holes = cov.holes()
        assert not holes, f"coverage holes: {holes}"
        self.drop_objection()
