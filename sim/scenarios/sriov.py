"""Scenario "sriov": the PF's policy, set as with `ip link set`, enforced in the switch.

The PF enables two VFs and starts its mailbox service. Each VF is brought up
by the ixgbevf-like driver using only its own registers and the mailbox:

- vf 0 (function 1): `mac 02:00:00:00:0a:01 spoofchk on`. Its driver learns
  the MAC from VF_RESET. It sends UDP flows to the outside host and, between
  them, frames forged with another source MAC; the switch drops and counts
  every forged frame.
- vf 1 (function 2): `vlan 100 qos 3`. Its driver picks a random MAC over the
  mailbox. Its frames leave on the wire tagged (PCP 3, VID 100); tagged frames
  from the wire reach it untagged, and the completion does not report the tag:
  a port VLAN is invisible to the guest (ARCHITECTURE §3.2), as in Linux.

Expected frames are built independently with scapy (the 802.1Q tag), and the
per-VF `ethtool -S` counters are compared with what was sent.
"""

from __future__ import annotations

import time

import cocotb
from cocotb.triggers import Combine
from scapy.layers.l2 import Dot1Q, Ether

from sim.scenarios.report import conclude, gather, report_progress, scenario_config
from tb.env import NicTb
from tb.guest.flows import UdpFlow
from tb.host.interrupts import IrqMonitor
from tb.ref.mailbox import format_mac
from tb.ref.scoreboard import FrameScoreboard
from tb.vf_driver.ixgbevf import IxgbeVf

OUTSIDE_MAC = "02:00:00:00:ff:01"
OUTSIDE_IP = "10.0.0.254"
VF0_ADMIN_MAC = "02:00:00:00:0a:01"
FORGED_MAC = "02:00:00:00:0b:ad"
PORT_VLAN = 100
PORT_QOS = 3
SIZES = (64, 128, 256, 512, 1024, 1518, 60, 1000)
FORGE_EVERY = 4  # every 4th frame vf 0 posts is forged


def tagged(frame: bytes, vid: int, pcp: int) -> bytes:
    """The frame as the wire carries it from a port-VLAN VF (scapy builds the tag)."""
    eth = Ether(frame)
    inner_type = eth.type
    tag = Dot1Q(prio=pcp, vlan=vid, type=inner_type)
    return bytes(Ether(dst=eth.dst, src=eth.src, type=0x8100) / tag / eth.payload)


@cocotb.test()
async def run_scenario(dut) -> None:
    cfg = scenario_config()
    wall0 = time.monotonic()
    tb = NicTb(dut, cfg.tb)
    irq = IrqMonitor(dut)
    cocotb.start_soon(irq.run())
    if cfg.tb.pcap_dir is not None:
        tb.start_capture(cfg.tb.pcap_dir)
    await tb.reset()
    cycle0 = tb.cycle()
    pf = tb.pf
    await pf.probe()
    await pf.enable_sriov(2, apply_policy=True)
    pf.start_mailbox(irq)
    # ip link set pf0 vf 0 mac ... spoofchk on; ip link set pf0 vf 1 vlan 100 qos 3
    await pf.set_vf_mac(0, VF0_ADMIN_MAC)
    await pf.set_vf_spoofchk(0, True)
    await pf.set_vf_vlan(1, PORT_VLAN, qos=PORT_QOS)

    vf0 = IxgbeVf(tb.bar(1), tb.mem, irq, rng=tb.rng)
    vf1 = IxgbeVf(tb.bar(2), tb.mem, irq, rng=tb.rng)
    await vf0.up()
    await vf1.up()
    assert format_mac(vf0.mac) == VF0_ADMIN_MAC, "VF_RESET did not hand out the admin MAC"
    vf1_mac = format_mac(vf1.mac)

    sb = FrameScoreboard()
    n = cfg.frames
    rng = tb.rng
    out0 = UdpFlow(1, VF0_ADMIN_MAC, OUTSIDE_MAC, "10.0.1.1", OUTSIDE_IP, rng=rng)
    forged = UdpFlow(2, FORGED_MAC, OUTSIDE_MAC, "10.0.1.66", OUTSIDE_IP, rng=rng)
    out1 = UdpFlow(3, vf1_mac, OUTSIDE_MAC, "10.0.2.1", OUTSIDE_IP, rng=rng)
    in1 = UdpFlow(4, OUTSIDE_MAC, vf1_mac, OUTSIDE_IP, "10.0.2.1", rng=rng)
    sent = {"vf0": 0, "vf0_forged": 0, "vf1": 0}
    sent_bytes = {"vf1_rx": 0}

    async def vf0_sender() -> None:
        for k in range(n):
            report_progress(cfg, k)
            size = SIZES[k % len(SIZES)]
            if k % FORGE_EVERY == FORGE_EVERY - 1:
                frame = forged.frame(size)
                sent["vf0_forged"] += 1
            else:
                frame = out0.frame(size)
                sb.expect("uplink", frame, source="vf0")
            sent["vf0"] += 1
            await vf0.send([frame])
            await vf0.wait_sent(1)

    async def vf1_sender() -> None:
        for k in range(n):
            frame = out1.frame(SIZES[(k + 3) % len(SIZES)])
            sb.expect("uplink", tagged(frame, PORT_VLAN, PORT_QOS), source="vf1")
            sent["vf1"] += 1
            await vf1.send([frame])
            await vf1.wait_sent(1)

    async def outside_sender() -> None:
        for k in range(n):
            frame = in1.frame(SIZES[(k + 5) % len(SIZES)])
            sb.expect("vf2", frame, source="uplink")
            sent_bytes["vf1_rx"] += len(frame)
            await tb.wire_in.send(tagged(frame, PORT_VLAN, PORT_QOS))

    async def vf1_receiver() -> None:
        for fr in await vf1.receive(n):
            c = fr.completion
            assert c.status == 0, c
            assert not c.vlan_stripped and c.vlan_tci == 0, f"port VLAN leaked to the guest: {c}"
            sb.observe("vf2", fr.data)

    async def wire_receiver() -> None:
        for _ in range(n - n // FORGE_EVERY + n):
            frame = await tb.wire_out.recv()
            sb.observe("uplink", bytes(frame.tdata))

    tasks = [
        cocotb.start_soon(c)
        for c in (vf0_sender(), vf1_sender(), outside_sender(), vf1_receiver(), wire_receiver())
    ]
    await Combine(*tasks)
    await tb.settle(300)

    report = await gather("sriov", cfg, tb, sb, cycle0)
    for vf in (0, 1):
        # `ip link`/`ethtool` count VFs from 0; switch ports are named by function.
        report.vf_stats[f"vf {vf} (port vf{vf + 1})"] = await pf.vf_stats(vf)
    report.notes = [f"ip link show: {pf.vf_info(vf).line()}" for vf in (0, 1)]
    st0, st1 = (await pf.vf_stats(0)), (await pf.vf_stats(1))
    expect = {
        "vf 0 tx_packets": (st0["tx_packets"], sent["vf0"]),
        "vf 0 tx_dropped_spoof": (st0["tx_dropped_spoof"], sent["vf0_forged"]),
        "vf 1 tx_packets": (st1["tx_packets"], sent["vf1"]),
        "vf 1 rx_packets": (st1["rx_packets"], n),
        "vf 1 rx_bytes": (st1["rx_bytes"], sent_bytes["vf1_rx"]),
    }
    for name, (got, want) in expect.items():
        if got != want:
            report.mismatches.append(f"counter {name}: hardware {got}, sent {want}")
    report.notes.append(
        f"forged frames dropped by the switch: {st0['tx_dropped_spoof']} of "
        f"{sent['vf0_forged']} sent; port VLAN {PORT_VLAN} qos {PORT_QOS} on vf 1"
    )
    conclude(report, cfg, tb, wall0)
