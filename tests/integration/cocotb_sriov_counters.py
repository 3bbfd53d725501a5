"""cocotb test of nic_top's statistics counters at their limits.

No simulation counts to 2^32, so the counters are preloaded by VPI deposits
(sim/verilator/nic_top.vlt makes them writable) and the documented behaviour at
the limit is checked through the registers (docs/ARCHITECTURE.md §3):
``BAD_ACCESS`` saturates at 2^32 - 1 and never wraps; the PF's per-VF engine
statistics (``RX_DROPS``, ``RX_ABANDONED``, ``TX_ABANDONED``) hold 32 bits and
are cleared while the VF is disabled; a VF's own queue counters (``*Q_DROPS``,
``*Q_ABANDONED``) hold 32 bits and are cleared by the VF's FLR.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import ClockCycles

from tb.env import NicTb
from tb.ref.regmap import (
    Pf,
    Queue,
    VfAdmin,
    VfSpace,
    VfStats,
    queue_reg,
    vf_admin_reg,
    vf_stats_reg,
)
from tb.ref.regs import VfAdminCtrl
from tb.sigio import pack_array
from tests.integration.sriov_harness import make_tb

COUNTER_W = 32  # every counter preloaded here
TOP = (1 << COUNTER_W) - 1
SATURATE_GAP = 3  # BAD_ACCESS starts this far below its top
OVERSHOOT = 5  # accesses beyond the top
SPACE_END = VfSpace.MBX_BASE + VfSpace.MBX_BYTES  # a VF's space: windows 0 and 1
QUEUE_COUNTERS = (Queue.RXQ_DROPS, Queue.TXQ_ABANDONED, Queue.RXQ_ABANDONED)
FLR_SETTLE_CYCLES = 64


def _nic(dut):
    """nic_top: the top itself, or inside nic_sim_top (the HDL host bus build)."""
    return dut.u_nic if dut._name == "nic_sim_top" else dut


def _engine_regs(dut, func: int):
    return _nic(dut)._id(f"g_func[{func}]", extended=False).u_dma.regs


async def _stats(tb: NicTb, vf: int) -> list[int]:
    return [await tb.bar(0).read(vf_stats_reg(vf, r)) for r in VfStats]


async def _queue_counters(tb: NicTb, vf: int, num_queues: int) -> list[int]:
    return [
        await tb.bar(vf).read(queue_reg(q, r)) for q in range(num_queues) for r in QUEUE_COUNTERS
    ]


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def counter_limits(dut) -> None:
    """Saturating BAD_ACCESS, the PF's per-VF statistics and the VF's queue
    counters at 2^32 - 1, and every bit of them cleared as documented."""
    tb, _irq = await make_tb(dut, seed=11)
    pf = tb.pf
    nvf = tb.num_vf
    nq = int(_nic(dut).NUM_QUEUES.value)
    await pf.enable_sriov(nvf)

    # BAD_ACCESS saturates: SATURATE_GAP + OVERSHOOT accesses outside the VF's space.
    _nic(dut).u_pf_ctrl.bad_reg.value = pack_array([TOP - SATURATE_GAP] * nvf, COUNTER_W)
    await ClockCycles(dut.clk, 2)
    for vf in range(1, nvf + 1):
        for i in range(SATURATE_GAP + OVERSHOOT):
            assert await tb.mmio.read32(vf, SPACE_END + 4 * i) == 0
    for vf in range(1, nvf + 1):
        got = await tb.bar(0).read(vf_admin_reg(vf, VfAdmin.BAD_ACCESS))
        assert got == TOP, f"VF {vf} BAD_ACCESS {got:#x}: it must stop at {TOP:#x}"

    # The PF's per-VF statistics read all 32 bits, and are cleared by disabling the VFs.
    for name in ("rx_drops_reg", "rx_aband_reg", "tx_aband_reg"):
        getattr(_nic(dut).u_pf_ctrl, name).value = pack_array([TOP] * nvf, COUNTER_W)
    # The VF's queue counters read all 32 bits, and are cleared by its FLR.
    for vf in range(1, nvf + 1):
        regs = _engine_regs(dut, vf)
        regs.drops_reg.value = pack_array([TOP] * nq, COUNTER_W)
        regs.aband_reg.value = pack_array([TOP] * (2 * nq), COUNTER_W)
    await ClockCycles(dut.clk, 2)
    for vf in range(1, nvf + 1):
        assert await _stats(tb, vf) == [TOP] * len(VfStats), f"VF {vf} statistics"
        assert await _queue_counters(tb, vf, nq) == [TOP] * (nq * len(QUEUE_COUNTERS))

    for vf in range(1, nvf + 1):
        await tb.bar(0).write(vf_admin_reg(vf, VfAdmin.CTRL), VfAdminCtrl.FLR.mask)
    await ClockCycles(dut.clk, FLR_SETTLE_CYCLES)
    for vf in range(1, nvf + 1):
        assert await _queue_counters(tb, vf, nq) == [0] * (nq * len(QUEUE_COUNTERS)), vf
        # the FLR resets the VF's engine, not the PF's statistics of it (§3)
        assert await _stats(tb, vf) == [TOP] * len(VfStats), f"VF {vf} statistics after FLR"

    await tb.bar(0).write(Pf.NUM_VFS, 0)
    await ClockCycles(dut.clk, 2)
    await pf.enable_sriov(nvf)
    for vf in range(1, nvf + 1):
        assert await _stats(tb, vf) == [0] * len(VfStats), f"VF {vf} statistics not cleared"
        # BAD_ACCESS is reset only by rst (§3): disabling the VFs keeps it
        assert await tb.bar(0).read(vf_admin_reg(vf, VfAdmin.BAD_ACCESS)) == TOP
