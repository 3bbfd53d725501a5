"""cocotb test of register-space isolation on nic_top: random accesses from one
VF's space never reach PF-owned, switch or other VFs' state.

Expectations come from the documented register layout (tb/ref/regmap.py,
docs/ARCHITECTURE.md), the ixgbe policy as the kernel implements it, and what
the test itself sent; never from the code under test reporting on itself.
"""

from __future__ import annotations

import os
import random
import time

import cocotb

from tb.env import NicTb
from tb.ref.regmap import (
    Esw,
    MacEntry,
    Pf,
    PfMbx,
    Queue,
    VfAdmin,
    VfMbx,
    VfSpace,
    pf_mbx_reg,
    queue_reg,
    vf_admin_reg,
)
from tb.ref.regs import PortPolicyReg
from tests.integration.sriov_harness import make_tb, pol, vf_mac

SPACE_END = VfSpace.MBX_BASE + VfSpace.MBX_BYTES  # a VF's space: windows 0 and 1
WINDOWS_END = 16 * VfSpace.FUNC_BYTES  # address bits [19:16] select one of 16 windows


# ------------------------------------------------------------------ isolation
class IsolationChecker:
    """Random accesses from one VF's space; documented reads checked on the fly,
    PF-owned, switch and other VFs' state compared by snapshot."""

    def __init__(self, tb: NicTb, rng: random.Random) -> None:
        self.tb = tb
        self.rng = rng
        ports = tb.num_func + 1
        # Switch state: control, every port's policy block, the MAC table.
        status = PortPolicyReg.PORT_STATUS  # the switch's own view: it may change
        self.esw = (
            [Esw.ESW_CTRL]
            + [
                pol(p, off)
                for p in range(ports)
                for off in range(0, Esw.PORT_STRIDE, 4)
                if off != status
            ]
            + [
                Esw.MACT_BASE + Esw.MACT_STRIDE * e + o
                for e in range(int(tb.dut.MAC_TABLE_SIZE.value))
                for o in MacEntry
            ]
        )
        # PF addresses a hostile VF might try (its own space holds none of them).
        self.targets = [a & (WINDOWS_END - 4) for a in self.esw[: 1 + 31 * ports]] + [
            Pf.NUM_VFS,
            Pf.IRQ_CTRL,
            Pf.VFLR,
        ]
        for f in range(1, tb.num_func):
            self.targets += [
                vf_admin_reg(f, VfAdmin.CTRL),
                pf_mbx_reg(f, PfMbx.CTRL),
                pf_mbx_reg(f, PfMbx.PF_MSG),
            ]

    async def snapshot(self, attacker: int) -> list[int]:
        tb = self.tb
        pf = tb.bar(0)
        vals = [await pf.read(a) for a in self.esw]
        vals += [await pf.read(a) for a in (Pf.NUM_VFS, Pf.IRQ_CTRL)]
        own = (Queue.TXQ_BASE_LO, Queue.TXQ_BASE_HI, Queue.TXQ_SIZE, Queue.TXQ_CTRL)
        vals += [await pf.read(queue_reg(0, r)) for r in (*own, Queue.RXQ_BASE_LO)]
        for f in range(1, tb.num_func):
            if f == attacker:
                continue
            bar = tb.bar(f)
            vals += [await bar.read(queue_reg(0, r)) for r in (*own[:3], Queue.RXQ_BASE_LO)]
            vals += [await bar.read(VfMbx.VF_MSG + 4 * i) for i in range(0, 16, 5)]
            vals += [await pf.read(pf_mbx_reg(f, PfMbx.PF_MSG + 4 * i)) for i in range(0, 16, 5)]
            vals.append(await pf.read(pf_mbx_reg(f, PfMbx.ERRS)))
            vals.append(await pf.read(vf_admin_reg(f, VfAdmin.BAD_ACCESS)))
        return vals

    def address(self) -> int:
        r = self.rng.random()
        if r < 0.25:  # its DMA window, anywhere
            return self.rng.randrange(0, VfSpace.FUNC_BYTES) & ~3
        if r < 0.45:  # its mailbox window, mapped and unmapped offsets
            off = self.rng.choice((*(m - VfMbx.BASE for m in VfMbx), 0xC0, 0x100, 0xFFFC))
            return VfMbx.BASE + (off + 4 * self.rng.randrange(16)) % VfSpace.MBX_BYTES
        if r < 0.75:  # PF addresses (in window 1 they are the VF's own mailbox)
            return self.rng.choice(self.targets)
        return self.rng.randrange(SPACE_END, WINDOWS_END) & ~3  # windows 2..15

    @staticmethod
    def mailbox_reads_zero(addr: int) -> bool:
        """Nothing is mapped there in the VF's mailbox window (documented: reads 0)."""
        msg_end = VfMbx.PF_MSG + VfMbx.PF_MSG_STRIDE * VfMbx.PF_MSG_COUNT
        return not (VfMbx.CTRL <= addr <= VfMbx.INFO or VfMbx.VF_MSG <= addr < msg_end)

    async def attack(self, vf: int, n: int) -> int:
        """``n`` random accesses from VF ``vf``; returns the out-of-space count."""
        mmio = self.tb.mmio
        outside = 0
        for _ in range(n):
            addr = self.address()
            out = addr >= SPACE_END  # documented: a VF has windows 0 and 1 only
            outside += out
            if self.rng.random() < 0.5:
                await mmio.write32(vf, addr, self.rng.getrandbits(32))
            else:
                value = await mmio.read32(vf, addr)
                if out or (VfMbx.BASE <= addr < SPACE_END and self.mailbox_reads_zero(addr)):
                    assert value == 0, f"VF {vf} read {value:#x} at {addr:#07x}, documented 0"
        return outside


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def isolation(dut) -> None:
    """>= 100,000 random accesses from every VF's space leave PF, switch and other
    VFs' state unchanged; reads outside the VF's registers return 0; every
    out-of-space access is counted for the PF."""
    tb, _irq = await make_tb(dut, seed=10)
    pf = tb.pf
    await pf.enable_sriov(tb.num_vf, apply_policy=True)
    # A hostile VF's DMA goes nowhere: empty IOMMU domains for the VFs.
    for f in range(1, tb.num_func):
        tb.iommu.remove_domain(f)
        tb.iommu.create_domain(f)
    # Non-trivial PF, switch and VF state to protect.
    for n in range(tb.num_vf):
        await pf.set_vf_mac(n, vf_mac(n + 1))
        await pf.set_vf_vlan(n, 10 + n, qos=n)
        await pf.set_vf_rate(n, 1000 * (n + 1))
    for e in range(8):
        await pf.add_fdb(f"02:00:00:00:aa:{e:02x}", port=e % tb.num_func, vlan=e)
    for f in range(1, tb.num_func):
        for i in range(16):
            await tb.bar(0).write(pf_mbx_reg(f, PfMbx.PF_MSG + 4 * i), 0xC0DE0000 + 16 * f + i)
            await tb.bar(f).write(VfMbx.VF_MSG + 4 * i, 0xF00D0000 + 16 * f + i)
        await tb.bar(f).write(queue_reg(0, Queue.TXQ_BASE_LO), 0x1000 * f + 0x40)
    await tb.bar(0).write(queue_reg(0, Queue.TXQ_BASE_LO), 0x7700)

    per_vf = int(os.environ.get("ISOLATION_ACCESSES", "100000"))
    chk = IsolationChecker(tb, random.Random(1234))
    chunk = 25_000
    t0 = time.perf_counter()
    for vf in range(1, tb.num_func):
        base = await chk.snapshot(vf)
        bad_before = await tb.bar(0).read(vf_admin_reg(vf, VfAdmin.BAD_ACCESS))
        outside = 0
        done = 0
        while done < per_vf:
            n = min(chunk, per_vf - done)
            outside += await chk.attack(vf, n)
            done += n
            now = await chk.snapshot(vf)
            diff = [i for i, (a, b) in enumerate(zip(base, now, strict=True)) if a != b]
            assert not diff, f"VF {vf} changed protected state at snapshot index {diff[:5]}"
        bad = await tb.bar(0).read(vf_admin_reg(vf, VfAdmin.BAD_ACCESS))
        assert bad - bad_before == outside, (bad, bad_before, outside)
        # NumVFs and the VF's own enable survived.
        assert await tb.bar(0).read(Pf.NUM_VFS) == tb.num_vf
    wall = time.perf_counter() - t0
    dut._log.info("isolation: %d accesses per VF x %d VFs in %.1f s wall", per_vf, tb.num_vf, wall)
    assert tb.mmio.reads + tb.mmio.writes >= per_vf * tb.num_vf
