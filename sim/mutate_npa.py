"""Mutation checks of the NPA protections (issue 9): each mutant removes one
protection, in a copy of the repository, and the NPA tests must fail.

Usage: python -m sim.mutate_npa [ID ...]   (RTL mutants rebuild nic_top, ~2 min each)
"""

from __future__ import annotations

import sys

from sim.mutate_sriov import run_all

NPA_TESTS = ("tests/integration/test_npa.py", "tests/test_scenarios.py")

# (id and description, file, original text, mutated text, tests that must fail)
MUTANTS: list[tuple[str, str, str, str, list[str]]] = [
    (
        "N1 forged source MAC not dropped (switch anti-spoofing)",
        "rtl/eswitch_ingress.sv",
        "port_ctrl[PORT][C_SPOOFCHK] && !smac_ok",
        "1'b0 && port_ctrl[PORT][C_SPOOFCHK] && !smac_ok",
        ["npa_scenario"],
    ),
    (
        "N2 forged VLAN tag not dropped (switch VLAN anti-spoofing)",
        "rtl/eswitch_ingress.sv",
        "!pv_en && port_ctrl[PORT][C_VLAN_FILTER] && !vid_ok",
        "1'b0 && !pv_en && port_ctrl[PORT][C_VLAN_FILTER] && !vid_ok",
        ["npa_scenario"],
    ),
    (
        "N3 IOMMU lets a VF reach unmapped addresses (identity)",
        "tb/host/iommu.py",
        "            if entry is None:\n"
        "                raise IommuFault(FaultRecord(self.func, addr, length, write, "
        "FaultKind.UNMAPPED))",
        "            if entry is None:\n                entry = (addr >> PAGE_SHIFT, Perm.RW)",
        ["vm_dma_confined", "npa_scenario"],
    ),
    (
        "N4 a MAC change the VM's policy rejects is applied",
        "tb/hypervisor/npa_vm.py",
        "            if not p.mac_changes:",
        "            if False:",
        ["npa_scenario"],
    ),
    (
        "N5 plugin image with a bad payload CRC accepted",
        "tb/plugin_model/image.py",
        "        if got != pcrc:",
        "        if False:",
        ["npa_scenario"],
    ),
    (
        "N6 the VM's emulated TX frames not drained before its first frame on the VF",
        "tb/hypervisor/npa.py",
        "            if cmd == Cmd.STOP_EMULATION and v.port is not None:",
        "            if False:",
        ["npa_switch_overs_under_traffic"],
    ),
    (
        "N7 a MAC change breaks before it makes (old MAC not kept while retiring)",
        "tb/pf_driver/vf_state.py",
        "        return [m for m in self.admin.retiring if m != mac] + own",
        "        return own",
        ["npa_switch_overs_under_traffic"],
    ),
    (
        "N8 the VF's RX ring closed while frames are on their way to it",
        "tb/hypervisor/npa.py",
        "        await self.wait_ns(RX_PIPE_NS)",
        "        pass",
        ["npa_switch_overs_under_traffic"],
    ),
    (
        "N9 forwarding entries rewritten break-before-make (all removed, then re-added)",
        "tb/pf_driver/driver.py",
        "        have = self._vf_fdb.pop(f, [])",
        "        await self._clear_fdb(f)\n        have = []",
        ["npa_switch_overs_under_traffic"],
    ),
    (
        "N10 an allowed multicast/RX-mode request not applied to the VM's VF",
        "tb/hypervisor/npa_vm.py",
        "        elif allowed and v.vf is not None:  # RX mode, multicast or VLAN filters",
        "        elif False:",
        ["npa_rx_filters_trapped"],
    ),
    (
        "N11 the device's RX filters not programmed onto the VF at ACTIVATE_VF",
        "tb/hypervisor/npa.py",
        "        await self.apply_rx_filters(v)  # what the guest asked of the emulated device",
        "        pass",
        ["npa_rx_filters_trapped"],
    ),
    (
        "N12 a multicast list longer than a VF's filter allowed",
        "tb/hypervisor/npa_vm.py",
        "            if len(req.macs) > NUM_MC:",
        "            if False:",
        ["npa_rx_filters_trapped"],
    ),
    (
        "N13 the vswitch does not tag an emulated VM's frames with its port VLAN",
        "tb/hypervisor/vswitch.py",
        "            vlan_tci = src.pvid",
        "            pass",
        ["npa_port_vlan"],
    ),
    (
        "N14 a guest on a port VLAN may tag its own frames (emulated path)",
        "tb/hypervisor/vswitch.py",
        "            if vlan_tci is not None or is_tagged(frame):",
        "            if False:",
        ["npa_port_vlan"],
    ),
    (
        "N15 the VM's VF attached without the port group's VLAN",
        "tb/hypervisor/npa.py",
        "        if v.policy.port_vlan:  # before the MAC: its forwarding entry is on that VLAN",
        "        if False:",
        ["npa_port_vlan"],
    ),
    (
        "N16 an MTU above the port group's approved",
        "tb/hypervisor/npa_vm.py",
        "            if req.mtu > p.max_mtu:",
        "            if False:",
        ["npa_mtu_trapped"],
    ),
    (
        "N17 the vswitch lets frames above the approved MTU through",
        "tb/hypervisor/vswitch.py",
        "        too_big = len(frame) > port.max_frame",
        "        too_big = False",
        ["npa_mtu_trapped"],
    ),
    (
        "N18 the VF attached without the VM's approved MTU (PORT_MAX_LEN)",
        "tb/hypervisor/npa.py",
        "        await self.pf.set_vf_max_frame(v.vf, v.max_frame)\n        if v.policy.port_vlan:",
        "        if v.policy.port_vlan:",
        ["npa_mtu_trapped"],
    ),
]


def main(argv: list[str]) -> int:
    return run_all(MUTANTS, NPA_TESTS, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
