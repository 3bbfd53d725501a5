"""The register walk (tb/uvm/regwalk.py: UVM's reset and bit-bash sequences, driven
from ``rtl/regs/*.rdl``) on nic_top: every register of the PF's space and of each VF's
space that the build has (queues below ``NUM_QUEUES``, switch ports and MAC table
entries the switch reports, VFs 1..``NUM_VF``)."""

from __future__ import annotations

import cocotb
from systemrdl.node import AddrmapNode

from sim.regmap_gen import compile_rdl
from tb.env import NicTb, TbConfig
from tb.ref.regs import Esw, EswCaps, EswId, EswLists, Pf
from tb.uvm.regwalk import Build, Walker, registers


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def register_walk(dut) -> None:
    """Reset values, bit bash and aliasing over the PF's and every VF's register space."""
    tb = NicTb(dut, TbConfig(seed=3))
    await tb.reset()
    pf = tb.bar(0)
    ident, caps, lists = [await pf.read(r) for r in (Esw.ESW_ID, Esw.ESW_CAPS, Esw.ESW_LISTS)]
    ports = EswId.PORTS.decode(ident)
    # The capability registers against the build (PF, VFs and the uplink are ports).
    assert ports == tb.num_vf + 2, (ports, tb.num_vf)
    assert EswCaps.MAC_ENTRIES.decode(caps) == int(dut.MAC_TABLE_SIZE.value)
    build = Build(
        num_vf=tb.num_vf,
        num_queues=int(dut.NUM_QUEUES.value),
        ports=ports,
        mac_entries=EswCaps.MAC_ENTRIES.decode(caps),
        lists={
            "SMAC": EswLists.SMACS.decode(lists),
            "VLAN_LIST": EswLists.VLANS.decode(lists),
            "MC": EswLists.MCS.decode(lists),
        },
    )
    tops: dict[str, AddrmapNode] = compile_rdl()
    pf_regs = list(registers(tops["pf_space"], build, 0, ""))
    vf_regs = list(registers(tops["vf_space"], build, 0, ""))
    walkers = [Walker(pf, pf_regs, "PF", tb.ring_fmt(0).name)]
    await walkers[0].reset()
    # The VFs exist once NumVFs says so (the write this walk leaves alone elsewhere).
    await pf.write(Pf.NUM_VFS, tb.num_vf)
    for f in range(1, tb.num_func):
        w = Walker(tb.bar(f), vf_regs, f"VF {f}", tb.ring_fmt(f).name)
        await w.reset()
        walkers.append(w)
    bashed = [await w.bash() for w in walkers]
    for w in walkers:
        await w.aliasing()
    errors = [e for w in walkers for e in w.errors]
    dut._log.info(
        "register walk: %d PF and %d VF registers, %s bashed per function, %d errors",
        len(pf_regs), len(vf_regs), bashed, len(errors),
    )  # fmt: skip
    assert not errors, "\n".join(errors[:40]) + f"\n({len(errors)} in all)"
    # Counted by hand from docs/ARCHITECTURE.md §3.1: a queue pair's plain RW registers
    # (bases, completion bases, sizes, interrupt mask and moderation, both directions,
    # ring 2's base and size, the completion ring size: 18), RX_STEER, the mailbox's IRQ.
    assert bashed[1:] == [18 * build.num_queues + 2] * tb.num_vf, bashed
    assert bashed[0] > bashed[1] + 300, bashed  # and the PF: the switch, its own control
