"""The register walk (tb/uvm/regwalk.py: UVM's reset and bit-bash sequences, driven
from ``rtl/regs/*.rdl``) on the switch's block builds: every register of its window
the build has (each port's policy block and list slots, every MAC table entry, the
counters read only), through the switch's own register port. The SR-IOV builds walk
the switch with 4 or 6 ports; these have up to 18 ports and other table sizes."""

from __future__ import annotations

import cocotb

from sim.regmap_gen import compile_rdl
from tb.eswitch.harness import setup
from tb.ref.regs import EswCaps, EswId, EswLists, EswWindow
from tb.uvm.regwalk import Build, Walker, registers

# ESW in the PF's space (rtl/regs): its registers at window-relative addresses
SWITCH_NODE = "ESW"


@cocotb.test()
async def test_register_walk(dut):
    """Reset values, bit bash and aliasing of every switch register the build has."""
    tb, _model = await setup(dut)
    ident, caps, lists = [
        await tb.regs.read(r) for r in (EswWindow.ESW_ID, EswWindow.ESW_CAPS, EswWindow.ESW_LISTS)
    ]
    ports = EswId.PORTS.decode(ident)
    assert ports == tb.num_ports, (ports, tb.num_ports)
    build = Build(
        num_vf=ports - 2,
        num_queues=0,
        ports=ports,
        mac_entries=EswCaps.MAC_ENTRIES.decode(caps),
        lists={
            "SMAC": EswLists.SMACS.decode(lists),
            "VLAN_LIST": EswLists.VLANS.decode(lists),
            "MC": EswLists.MCS.decode(lists),
        },
    )
    node = compile_rdl()["pf_space"].get_child_by_name(SWITCH_NODE)
    regs = list(registers(node, build, 0, SWITCH_NODE))
    walker = Walker(tb.regs, regs, "switch", "A")
    await walker.reset()
    bashed = await walker.bash()
    await walker.aliasing()
    dut._log.info(
        "switch register walk: %d ports, %d MAC entries, %d registers, %d bashed, %d errors",
        ports, build.mac_entries, len(regs), bashed, len(walker.errors),
    )  # fmt: skip
    assert not walker.errors, "\n".join(walker.errors[:40]) + f"\n({len(walker.errors)} in all)"
    # every MAC table entry's four words, and each port's policy block, were bashed
    assert bashed >= 4 * build.mac_entries + 8 * ports, bashed
