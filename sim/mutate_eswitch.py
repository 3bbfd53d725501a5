"""Mutation check of the embedded switch's policy rules.

python -m sim.mutate_eswitch [--only NAME,...] [--list] [--jobs N]

Each mutant removes or breaks one rule in a private copy of the repository (the
working tree is never touched, so other users of rtl/ are unaffected), builds it,
runs the eswitch tests that should notice, and reports which of them failed. A
mutant that no test kills is a rule without a test. Prints a Markdown table;
exit status 1 if any mutant survives.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sim.toolchain import REPO_ROOT


@dataclass(frozen=True)
class Mutant:
    name: str  # the rule it removes
    file: str  # under rtl/
    old: str  # exact text, must occur once
    new: str


ING = "eswitch_ingress.sv"
MUTANTS = (
    Mutant(
        "MAC anti-spoofing",
        ING,
        "port_ctrl[PORT][C_SPOOFCHK] && !smac_ok",
        "1'b0 && port_ctrl[PORT][C_SPOOFCHK] && !smac_ok",
    ),
    Mutant(
        "port VLAN: tag insert",
        ING,
        "      ins     = 1'b1;\n      ins_tci = {port_pvlan",
        "      ins     = 1'b0;\n      ins_tci = {port_pvlan",
    ),
    Mutant(
        "port VLAN: priority in the tag",
        ING,
        "ins_tci = {port_pvlan[PORT][PV_PCP+:3], 1'b0,",
        "ins_tci = {3'b000, 1'b0,",
    ),
    Mutant(
        "port VLAN: strip towards the VF",
        ING,
        "strip[q] = tagged_out && (port_pvlan[q][PV_EN] ||",
        "strip[q] = tagged_out && (1'b0 ||",
    ),
    Mutant(
        "port VLAN: guest-tagged frame dropped",
        ING,
        "(pv_en && (is_tagged || meta.vlan_ins)) ||",
        "1'b0 ||",
    ),
    Mutant(
        "port VLAN: membership of the destination",
        ING,
        "member[q]  = port_pvlan[q][PV_EN] ? (tagged_out && vid == port_pvlan[q][PV_VID +: 12]) :",
        "member[q]  = port_pvlan[q][PV_EN] ? 1'b1 :",
    ),
    Mutant(
        "VLAN anti-spoofing (allowed VLAN set)",
        ING,
        "!pv_en && port_ctrl[PORT][C_VLAN_FILTER] && !vid_ok",
        "1'b0 && !pv_en && port_ctrl[PORT][C_VLAN_FILTER] && !vid_ok",
    ),
    Mutant(
        "no Q-in-Q: 802.1ad (0x88a8) outer tag",
        ING,
        "end else if (ethertype == 16'h88A8 ||",
        "end else if (1'b0 ||",
    ),
    Mutant(
        "no Q-in-Q: stacked 802.1Q tags",
        ING,
        "inner_type == 16'h8100 ||",
        "1'b0 ||",
    ),
    Mutant(
        "no Q-in-Q: tag request on a tagged frame",
        ING,
        "(is_tagged && (meta.vlan_ins ||",
        "(is_tagged && (1'b0 ||",
    ),
    Mutant(
        "trust clamp: untrusted promiscuous",
        "eswitch.sv",
        "port_promisc[p]  = port_ctrl[p][ESW_PORT_CTRL_RX_PROMISC_LSB] && trust;",
        "port_promisc[p]  = port_ctrl[p][ESW_PORT_CTRL_RX_PROMISC_LSB];",
    ),
    Mutant(
        "trust clamp: untrusted all-multicast",
        "eswitch.sv",
        "port_allmulti[p] = port_ctrl[p][ESW_PORT_CTRL_RX_ALLMULTI_LSB] && trust;",
        "port_allmulti[p] = port_ctrl[p][ESW_PORT_CTRL_RX_ALLMULTI_LSB];",
    ),
    Mutant(
        "link state: disable",
        "eswitch.sv",
        "        2'd3:    port_link[p] = 1'b0;",
        "        2'd3:    port_link[p] = 1'b1;",
    ),
    Mutant(
        "link state: auto follows the uplink",
        "eswitch.sv",
        "default: port_link[p] = uplink_link_reg;",
        "default: port_link[p] = 1'b1;",
    ),
    Mutant(
        "link state: enable ignores the uplink",
        "eswitch.sv",
        "2'd1:    port_link[p] = 1'b1;",
        "2'd1:    port_link[p] = uplink_link_reg;",
    ),
    Mutant(
        "RX mode: unicast",
        ING,
        "uc_ok[q] = ok[q] && port_ctrl[q][C_RX_UCAST];",
        "uc_ok[q] = ok[q];",
    ),
    Mutant(
        "RX mode: multicast list membership",
        ING,
        "(port_ctrl[q][C_RX_MCAST] && mc_hit));",
        "port_ctrl[q][C_RX_MCAST]);",
    ),
    Mutant(
        "RX mode: broadcast",
        ING,
        "bc_ok[q] = ok[q] && port_ctrl[q][C_RX_BCAST];",
        "bc_ok[q] = ok[q];",
    ),
    Mutant(
        "RX mode: all-multicast",
        ING,
        "mc_ok[q]   = ok[q] && (port_allmulti[q] || port_promisc[q] ||",
        "mc_ok[q]   = ok[q] && (port_promisc[q] ||",
    ),
    Mutant(
        "RX mode: promiscuous gets unknown unicast",
        ING,
        "prom_ok[q] = ok[q] && port_promisc[q];",
        "prom_ok[q] = 1'b0;",
    ),
    Mutant(
        "unknown unicast from a function goes to the uplink",
        ING,
        "          mask[UPLINK] = fits[UPLINK];",
        "          mask[UPLINK] = 1'b0;",
    ),
    Mutant(
        "unknown unicast from the uplink is dropped (not flooded)",
        ING,
        "        mask = prom_ok;",
        "        mask = PORT == UPLINK ? ok : prom_ok;",
    ),
    Mutant(
        "local switching never leaves on the uplink",
        ING,
        "          mask[lk_port[$clog2(NUM_PORTS)-1:0]] = 1'b1;",
        "          mask[lk_port[$clog2(NUM_PORTS)-1:0]] = 1'b1;\n          mask[UPLINK] = 1'b1;",
    ),
    Mutant(
        "shaper: refill rate",
        ING,
        "tokens_fill = tokens_reg + TOK_W'({rate_inc[23:0]});",
        "tokens_fill = tokens_reg + TOK_W'({rate_inc[23:0], 1'b0});",
    ),
    Mutant(
        "shaper: burst cap",
        ING,
        "    if (tokens_fill > tokens_cap) begin",
        "    if (1'b0) begin",
    ),
    Mutant(
        "shaper: a frame waits while the bucket is in debt",
        ING,
        "!(rate_on && first_reg && tokens_reg[TOK_W-1])",
        "!(1'b0 && first_reg && tokens_reg[TOK_W-1])",
    ),
    Mutant(
        "shaper: every frame is charged its length",
        ING,
        "if (rate_on && beat && s_axis.last) begin",
        "if (1'b0) begin",
    ),
    Mutant(
        "shaper: a RATE_* write fills the bucket",
        ING,
        "    if (rate_load) begin\n      tokens_next = tokens_cap;",
        "    if (1'b0) begin\n      tokens_next = tokens_cap;",
    ),
    Mutant(
        "counters: drop reason reaches its counter",
        ING,
        "pre_drop = DROP_SPOOF_VLAN;",
        "pre_drop = DROP_NO_ROUTE;",
    ),
    Mutant(
        "fair crossbar: pointer passes a served input",
        "eswitch_xbar.sv",
        "ptr_next = grant[i] ? PTR_W'((i + 1) % NUM_PORTS) : PTR_W'(i);",
        "ptr_next = PTR_W'((int'(ptr_reg) + 1) % NUM_PORTS);",
    ),
    Mutant(
        "PORT_MAX_LEN: the sender's own limit",
        ING,
        "end else if (body_len > port_max_len[PORT]) begin",
        "end else if (1'b0 && body_len > port_max_len[PORT]) begin",
    ),
    Mutant(
        "PORT_MAX_LEN: a destination's limit",
        ING,
        "fits[q] = body_len <= port_max_len[q];",
        "fits[q] = 1'b1;",
    ),
    Mutant(
        "PORT_MAX_LEN: a frame of exactly the limit fits (boundary)",
        ING,
        "fits[q] = body_len <= port_max_len[q];",
        "fits[q] = body_len < port_max_len[q];",
    ),
    Mutant(
        "PORT_MAX_LEN: an 802.1Q tag is not counted",
        ING,
        "body_len = evt_len_reg - (is_tagged ? 16'd4 : 16'd0);",
        "body_len = evt_len_reg;",
    ),
    Mutant(
        "PORT_MAX_LEN: an unknown unicast skips an uplink it does not fit",
        ING,
        "mask[UPLINK] = fits[UPLINK];",
        "mask[UPLINK] = 1'b1;",
    ),
    Mutant(
        "PORT_MAX_LEN: a unicast destination too small is TOO_BIG (not NO_ROUTE)",
        ING,
        "          drop = DROP_TOO_BIG;",
        "          drop = DROP_NO_ROUTE;",
    ),
)

# Directed tests first, then the random regression and the rate/line-rate checks.
DIRECTED = ("test_unicast", "test_broadcast", "test_policy", "test_shaper")
OTHERS = ("test_shaper_window", "test_random-seed1", "test_line_rate")
COPY = ("rtl", "sim", "tb", "tests", "pyproject.toml")


def make_copy(root: Path) -> None:
    for name in COPY:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, root / name)


def run_tests(root: Path, tests: tuple[str, ...], jobs: int) -> list[str]:
    """Run ``tests`` (default build) in the copy at ``root``; return those that failed."""
    ids = [f"default-{t}" for t in tests]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"]
    cmd += ["-n", str(jobs)] if jobs > 1 else []
    cmd += [f"tests/test_eswitch.py::test_eswitch[{t}]" for t in ids]
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    out = res.stdout + res.stderr
    ran = [t for t in ids if f"test_eswitch[{t}]" in out]
    if len(ran) != len(ids):
        raise SystemExit(f"not every test ran ({ran} of {ids})\n{out[-3000:]}")
    return [t for t in tests if f"FAILED tests/test_eswitch.py::test_eswitch[default-{t}]" in out]


def run_mutant(m: Mutant, jobs: int) -> list[str]:
    """The tests that fail on the mutant: the directed ones, and only if none of them
    does, the random regression and the rate / line-rate checks."""
    with tempfile.TemporaryDirectory(prefix="esw_mut_") as tmp:
        root = Path(tmp)
        make_copy(root)
        f = root / "rtl" / m.file
        text = f.read_text()
        if text.count(m.old) != 1:
            raise SystemExit(f"mutant {m.name!r}: text not found exactly once in {m.file}")
        f.write_text(text.replace(m.old, m.new))
        return run_tests(root, DIRECTED, jobs) or run_tests(root, OTHERS, jobs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default="", help="comma-separated mutant names (substrings)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    picked = [
        m
        for m in MUTANTS
        if not args.only or any(s.strip() in m.name for s in args.only.split(","))
    ]
    if not picked:
        ap.error(f"--only {args.only!r} names no mutant (--list shows them)")
    if args.list:
        for m in picked:
            print(m.name)
        return 0
    print("| rule removed | killed by |")
    print("|---|---|")
    survivors = 0
    for m in picked:
        t0 = time.monotonic()
        killers = run_mutant(m, args.jobs)
        survivors += not killers
        took = time.monotonic() - t0
        print(f"| {m.name} | {', '.join(killers) or '**SURVIVED**'} | <!-- {took:.0f} s -->")
        sys.stdout.flush()
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
