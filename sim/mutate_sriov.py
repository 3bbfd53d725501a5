"""Mutation checks of the SR-IOV control plane (issue 5): each mutant removes one
check from the RTL or from the PF driver model, in a copy of the repository, and
the named SR-IOV integration tests must fail. Usage: python -m sim.mutate_sriov [ID ...]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.mutation import killed_by
from sim.toolchain import REPO_ROOT

# (id and description, file, original text, mutated text, tests that must fail)
MUTANTS: list[tuple[str, str, str, str, list[str]]] = [
    (
        "R1 VF reaches PF control window",
        "rtl/nic_top.sv",
        "end else if (is_pf && win == WIN_PF) begin",
        "end else if (win == WIN_PF) begin",
        ["isolation"],
    ),
    (
        "R2 VF reaches PF mailbox window",
        "rtl/nic_top.sv",
        "is_pf && win == WIN_PF_MBX",
        "win == WIN_PF_MBX",
        ["isolation"],
    ),
    (
        "R3 out-of-space accesses not counted",
        "rtl/nic_top.sv",
        "vf_bad_access[n-1] = (reg_wr || reg_rd) && sel == T_NONE && 32'(reg_func) == n;",
        "vf_bad_access[n-1] = 1'b0;",
        ["isolation"],
    ),
    (
        "R4 VF may rewrite its message while REQ pending",
        "rtl/mailbox.sv",
        "end else if (vf_in_vfmsg && !req_reg) begin",
        "end else if (vf_in_vfmsg) begin",
        ["mailbox_hw_protocol"],
    ),
    (
        "R5 VF may write the PF's message words",
        "rtl/mailbox.sv",
        "      if (vf_msg_wr) vf_msg_reg[vf_word] <= vf_reg_wdata;",
        "      if (vf_msg_wr) vf_msg_reg[vf_word] <= vf_reg_wdata;\n"
        "      if (vf_reg_wr && vf_in_pfmsg) pf_msg_reg[vf_word] <= vf_reg_wdata;",
        ["mailbox_hw_protocol"],
    ),
    (
        "R6 FLR does not reset the mailbox",
        "rtl/mailbox.sv",
        "    if (rst || flr) begin\n      vf_msg_reg",
        "    if (rst) begin\n      vf_msg_reg",
        ["mailbox_hw_protocol", "flr_pf_and_vf"],
    ),
    (
        "R7 no VF mailbox interrupt",
        "rtl/mailbox.sv",
        "if (pf_doorbell || pf_ackw) irq_pend_reg <= 1'b1;",
        "if (1'b0) irq_pend_reg <= 1'b1;",
        ["mailbox_hw_protocol"],
    ),
    (
        "R8 VF-initiated FLR not reported (VFLR)",
        "rtl/pf_ctrl.sv",
        "end else if (vf_self_flr[n]) begin",
        "end else if (1'b0) begin",
        ["flr_pf_and_vf"],
    ),
    (
        "R9 PF-initiated FLR has no effect",
        "rtl/pf_ctrl.sv",
        "vf_flr_reg[vi] <= 1'b1;",
        "vf_flr_reg[vi] <= 1'b0;",
        ["flr_pf_and_vf"],
    ),
    (
        "R10 disabled VF's DMA engine not held in reset",
        "rtl/nic_top.sv",
        "assign dma_enable  = {vf_enable & ~vf_flr, 1'b1};",
        "assign dma_enable  = {~vf_flr, 1'b1};",
        ["disabled_vf"],
    ),
    (
        "R11 DMA read arbiter without rotation",
        "rtl/dma_arbiter.sv",
        "      .advance    (ar_fire),",
        "      .advance    (1'b0),",
        ["dma_fairness"],
    ),
    (
        "R12 absent function reads 0",
        "rtl/nic_top.sv",
        "T_ABSENT: reg_rdata = ABSENT_READ;",
        "T_ABSENT: reg_rdata = 32'h0;",
        ["disabled_vf"],
    ),
    (
        "R13 VF mailbox writes not routed by function",
        "rtl/nic_top.sv",
        ".vf_reg_wr   (reg_wr && sel == T_MBX_VF && reg_func[SEL_W-1:0] == SEL_W'(n)),",
        ".vf_reg_wr   (reg_wr && sel == T_MBX_VF),",
        ["isolation"],
    ),
    (
        "R14 DMA write arbiter without rotation",
        "rtl/dma_arbiter.sv",
        "      .advance    (aw_fire),",
        "      .advance    (1'b0),",
        ["dma_write_fairness"],
    ),
    (
        "R15 PF's per-VF statistics cleared by the VF's FLR",
        "rtl/pf_ctrl.sv",
        "        if (!vf_enable[n]) begin\n          rx_drops_reg[n] <= '0;",
        "        if (!vf_enable[n] || vf_flr_reg[n]) begin\n          rx_drops_reg[n] <= '0;",
        ["rx_overload"],
    ),
    (
        "R16 PF's per-VF statistics kept after the VF is disabled",
        "rtl/pf_ctrl.sv",
        "        if (!vf_enable[n]) begin\n          rx_drops_reg[n] <= '0;",
        "        if (1'b0) begin\n          rx_drops_reg[n] <= '0;",
        ["rx_overload"],
    ),
    (
        "R17 engine RX drops not reported to the PF",
        "rtl/vf_dma.sv",
        "      stat_rx_drops = stat_rx_drops + 16'(rxq_drop[q]);",
        "      stat_rx_drops = stat_rx_drops;",
        ["rx_overload"],
    ),
    (
        "P1 untrusted VF may override the admin MAC",
        "tb/pf_driver/mbx_policy.py",
        "if st.admin.pf_set_mac and not st.admin.trust and mac != st.admin.mac:",
        "if False:",
        ["mailbox_policy"],
    ),
    (
        "P2 SET_VLAN allowed under a port VLAN",
        "tb/pf_driver/mbx_policy.py",
        '        if st.admin.pvid:\n            return self._refuse(msg, "SET_VLAN',
        '        if False:\n            return self._refuse(msg, "SET_VLAN',
        ["mailbox_policy"],
    ),
    (
        "P3 no promiscuous clamp for untrusted VFs",
        "tb/pf_driver/mbx_policy.py",
        "if mode > XcastMode.MULTI and not st.admin.trust:",
        "if False:",
        ["mailbox_policy"],
    ),
    (
        "P4 requests accepted before VF_RESET (no CTS check)",
        "tb/pf_driver/mbx_policy.py",
        "if not st.guest.clear_to_send:",
        "if False:",
        ["mailbox_policy"],
    ),
    (
        "P5 invalid MAC accepted from the VF",
        "tb/pf_driver/mbx_policy.py",
        "        if not is_valid_ether_addr(mac):\n"
        '            return self._refuse(msg, "invalid MAC',
        '        if False:\n            return self._refuse(msg, "invalid MAC',
        ["mailbox_policy"],
    ),
    (
        "P6 non-multicast entries accepted in SET_MULTICAST",
        "tb/pf_driver/mbx_policy.py",
        "if any(not is_multicast(a) for a in addrs):",
        "if False:",
        ["mailbox_policy"],
    ),
    (
        "P7 VLAN > 4095 accepted by the knob",
        "tb/pf_driver/knobs.py",
        "if not 0 <= vlan <= 4095:",
        "if False:",
        ["pf_knobs"],
    ),
    (
        "P8 802.1ad port VLAN accepted",
        "tb/pf_driver/knobs.py",
        "if proto != ETH_P_8021Q:",
        "if False:",
        ["pf_knobs"],
    ),
    (
        "P9 service ignores VFLR events",
        "tb/pf_driver/mailbox.py",
        "if vflr >> vf & 1 and vf in self.states:",
        "if False:",
        ["flr_pf_and_vf"],
    ),
]

_SKIP = shutil.ignore_patterns("build", ".git", ".venv", "reports", "__pycache__")


SRIOV_TESTS = ("tests/integration/test_sriov.py", "tests/integration/test_rx_stress.py")


def run_mutant(
    root: Path,
    mutant: tuple[str, str, str, str, list[str]],
    test_files: tuple[str, ...] = SRIOV_TESTS,
) -> bool:
    """Apply one mutant in ``root``, run its tests, restore; True when a test failed."""
    name, path, old, new, tests = mutant
    p = root / path
    orig = p.read_text()
    if orig.count(old) != 1:
        raise SystemExit(f"{name}: original text not found once in {path}")
    p.write_text(orig.replace(old, new))
    try:
        t0 = time.time()
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-n",
                str(min(2, len(tests))),
                *test_files,
                "-k",
                " or ".join(tests),
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = r.stdout.splitlines()
        why = [x.strip() for x in lines if "AssertionError" in x or "Error:" in x][:1]
        killed = killed_by(r, " or ".join(tests))
        verdict = "KILLED" if killed else "SURVIVED"
        print(f"{verdict:8s} {name} [{', '.join(tests)}] {why} {time.time() - t0:.0f}s", flush=True)
        return killed
    finally:
        p.write_text(orig)


def run_all(
    mutants: list[tuple[str, str, str, str, list[str]]],
    test_files: tuple[str, ...],
    argv: list[str],
) -> int:
    """Each chosen mutant (by id, default all) in a copy of the tree; 1 if any survived."""
    ids = [m[0].split()[0] for m in mutants]
    unknown = [a for a in argv if a not in ids]
    if unknown:  # a run of nothing would report every mutant killed
        raise SystemExit(f"unknown mutant id {', '.join(unknown)}; known: {' '.join(ids)}")
    with tempfile.TemporaryDirectory(prefix="mutate_") as tmp:
        root = Path(tmp) / "repo"
        shutil.copytree(REPO_ROOT, root, ignore=_SKIP, symlinks=True)
        (root / ".venv").symlink_to(REPO_ROOT / ".venv")
        chosen = [m for m in mutants if not argv or m[0].split()[0] in argv]
        survivors = [m[0] for m in chosen if not run_mutant(root, m, test_files)]
    print(f"{len(chosen) - len(survivors)}/{len(chosen)} mutants killed")
    return 1 if survivors else 0


def main(argv: list[str]) -> int:
    return run_all(MUTANTS, SRIOV_TESTS, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
