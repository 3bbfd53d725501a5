"""cocotb test of the embedded switch's per-port policy (``rtl/eswitch.sv``).

Anti-spoofing, port VLAN, Q-in-Q, link state, RX modes and trust, the TX shaper
and PORT_MAX_LEN, directed, against tb/ref/eswitch_model (tb/eswitch/harness.py).
"""

from __future__ import annotations

import cocotb

from tb.eswitch.frames import eth_frame, ext_mac, mac_of, raw_frame, udp_frame
from tb.eswitch.harness import Traffic, program_functions, setup
from tb.pf_driver.switch_regs import entry_writes, policy_writes, uplink_link_writes
from tb.ref.eswitch_model import DropReason, PortPolicy, TxMeta, mac_bytes
from tb.ref.regs import EswWindow, PortPolicyReg, PortStatus

# PORT_STATUS: the policy the switch applies (docs/ARCHITECTURE.md §3.2)
LINK = PortStatus.LINK.encode(1)
PROMISC = PortStatus.PROMISC.encode(1)
ALLMULTI = PortStatus.ALLMULTI.encode(1)


def port_status(port: int) -> int:
    return EswWindow.PORT_BASE + EswWindow.PORT_STRIDE * port + PortPolicyReg.PORT_STATUS


@cocotb.test()
async def test_policy(dut):
    """Directed policy checks: anti-spoofing, port VLAN, Q-in-Q, link, RX modes, rate."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    up = tb.num_func
    await tb.program(model, entry_writes(10, mac_of(2), 10, 2))  # VF2 on its port VLAN
    t = Traffic(tb, model)
    vf1 = PortPolicy(spoofchk=True, smacs=[mac_bytes(mac_of(1))], vlan_filter=True, vlans=[100])
    vf2 = PortPolicy(pvid=10, pcp=3)
    await tb.program(model, policy_writes(1, vf1))
    await tb.program(model, policy_writes(2, vf2))
    for addr, value in policy_writes(2, vf2):
        assert await tb.regs.read(addr) == value, hex(addr)
    seq = iter(range(1000))
    # anti-spoofing (MAC, VLAN), Q-in-Q, per-frame insertion
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100))
    t.send(1, udp_frame(ext_mac(1), "02:66:66:66:66:66", next(seq), 100))
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100, vid=100))
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100, vid=200))
    t.send(1, raw_frame(ext_mac(1), mac_of(1), next(seq), 100, etype=0x88A8))
    qinq = udp_frame(ext_mac(1), mac_of(1), next(seq), 100, vid=100)
    t.send(1, qinq[:16] + b"\x81\x00\x00\x05" + qinq[16:])
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100), TxMeta(1, True, 0x2064))
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100), TxMeta(1, True, 0x012C))
    # a tag request on a frame that already has one would stack two tags
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 100, vid=100), TxMeta(1, True, 100))
    # port VLAN: tagged on the way out, guest tags refused, stripped on the way in
    t.send(2, udp_frame(ext_mac(2), mac_of(2), next(seq), 61))
    t.send(2, udp_frame(ext_mac(2), mac_of(2), next(seq), 125))
    t.send(2, udp_frame(ext_mac(2), mac_of(2), next(seq), 100, vid=10))
    t.send(2, udp_frame(ext_mac(2), mac_of(2), next(seq), 100), TxMeta(2, True, 10))
    t.send(2, udp_frame("ff:ff:ff:ff:ff:ff", mac_of(2), next(seq), 300))
    for size in (64, 124, 125, 128, 300):
        t.send(up, udp_frame(mac_of(2), ext_mac(3), next(seq), size, vid=10, pcp=3))
    t.send(up, udp_frame(mac_of(2), ext_mac(3), next(seq), 100))  # untagged: no VF2 entry
    t.send(up, udp_frame("ff:ff:ff:ff:ff:ff", ext_mac(3), next(seq), 100, vid=10))
    t.send(up, udp_frame("ff:ff:ff:ff:ff:ff", ext_mac(3), next(seq), 100))
    await t.run()
    assert model.counters[1].drops == {
        DropReason.SPOOF_MAC: 1,
        DropReason.SPOOF_VLAN: 2,
        DropReason.VLAN_POLICY: 3,
    }, model.counters[1].drops

    # RX modes, trust clamp, strip offload, link state
    await tb.program(
        model, policy_writes(1, PortPolicy(rx_bcast=False, rx_promisc=True, rx_allmulti=False))
    )
    await tb.program(
        model,
        policy_writes(
            2,
            PortPolicy(
                trust=True,
                rx_promisc=True,
                vlan_strip=True,
                rx_allmulti=False,
                rx_mcast=True,
                mcs=[mac_bytes("01:00:5e:00:00:05")],
            ),
        ),
    )
    for dst in ("ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:05", "01:00:5e:00:00:06", ext_mac(9)):
        t.send(up, udp_frame(dst, ext_mac(3), next(seq), 90))
        t.send(0, udp_frame(dst, mac_of(0), next(seq), 90, vid=100))
    t.send(up, udp_frame(mac_of(2), ext_mac(3), next(seq), 90, vid=100))
    await t.run()
    assert await tb.regs.read(port_status(1)) == LINK  # promisc clamped: not trusted
    assert await tb.regs.read(port_status(2)) == LINK | PROMISC

    # all-multicast needs trust too: untrusted VF1 asks for it and gets only its list;
    # with RX_UCAST off it takes no unicast either
    await tb.program(
        model,
        policy_writes(
            1,
            PortPolicy(
                rx_allmulti=True,
                rx_mcast=True,
                rx_ucast=False,
                mcs=[mac_bytes("01:00:5e:00:00:07")],
            ),
        ),
    )
    for src in (0, 2, up):
        t.send(src, udp_frame(mac_of(1), mac_of(src), next(seq), 90))
    before = model.counters[0].drops.get(DropReason.NO_ROUTE, 0)
    await tb.program(model, policy_writes(2, PortPolicy(trust=True, rx_allmulti=True)))
    for dst in ("01:00:5e:00:00:07", "01:00:5e:00:00:08", "33:33:00:00:00:01"):
        t.send(up, udp_frame(dst, ext_mac(3), next(seq), 90))
        t.send(0, udp_frame(dst, mac_of(0), next(seq), 90))
    await t.run()
    assert await tb.regs.read(port_status(1)) == LINK  # allmulti clamped: not trusted
    assert await tb.regs.read(port_status(2)) == LINK | ALLMULTI
    assert model.counters[0].drops.get(DropReason.NO_ROUTE, 0) == before + 1

    await tb.program(model, policy_writes(1, PortPolicy(link="disable")))
    await tb.program(model, policy_writes(2, PortPolicy(link="enable")))
    await tb.program(model, uplink_link_writes(False))
    for src in (0, 1, 2, up):
        for dst in ("ff:ff:ff:ff:ff:ff", mac_of(1), mac_of(2)):
            t.send(src, udp_frame(dst, mac_of(src), next(seq), 80))
    await t.run()
    await tb.program(model, uplink_link_writes(True))

    # TX shaper: a 1000-byte bucket at 1/4 byte per cycle holds the fifth frame back
    # until the bucket is out of debt; nothing is dropped (the model checks every
    # frame's start against its own bucket)
    drops0 = dict(model.counters[1].drops)
    await tb.program(
        model, policy_writes(1, PortPolicy(rate_enable=True, rate_inc=64 * 256, rate_burst=1000))
    )
    for size in (300, 300, 300, 300, 90, 64):
        t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), size))
    await t.run()
    assert model.shapers[1].released_from_debt >= 1
    assert model.counters[1].drops == drops0  # shaped, never dropped

    # PORT_MAX_LEN, a tag not counted: the sender's own limit, a unicast destination's
    # (TOO_BIG), a broadcast skipping the port it does not fit (independent of the
    # model: counted by hand below)
    await tb.program(model, policy_writes(1, PortPolicy(max_len=1000)))
    await tb.program(model, policy_writes(2, PortPolicy(max_len=500)))
    big0 = model.counters[1].drops.get(DropReason.TOO_BIG, 0)
    up_big0 = model.counters[up].drops.get(DropReason.TOO_BIG, 0)
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 1001))  # too big for port 1
    t.send(1, udp_frame(ext_mac(1), mac_of(1), next(seq), 1000))  # fits exactly
    t.send(1, eth_frame(ext_mac(1), mac_of(1), 1004, next(seq), ((0x8100, 7),)))  # tag free
    t.send(up, udp_frame(mac_of(2), ext_mac(2), next(seq), 501))  # too big for port 2
    t.send(up, udp_frame(mac_of(2), ext_mac(2), next(seq), 500))
    t.send(up, udp_frame("ff:ff:ff:ff:ff:ff", ext_mac(2), next(seq), 800))  # not to port 2
    await t.run()
    assert model.counters[1].drops.get(DropReason.TOO_BIG, 0) == big0 + 1
    assert model.counters[up].drops.get(DropReason.TOO_BIG, 0) == up_big0 + 1
    await tb.program(model, policy_writes(1, PortPolicy()))
    await tb.program(model, policy_writes(2, PortPolicy()))
    dut._log.info("policy coverage: %s", t.cov.summary())
