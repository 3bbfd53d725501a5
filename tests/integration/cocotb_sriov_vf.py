"""cocotb tests of a VF's life on nic_top: FLR of the PF and of a VF (what is
cleared, what is kept, what the driver sees), and the VF driver's datapath.

Expectations come from the documented register layout (tb/ref/regmap.py,
docs/ARCHITECTURE.md), the ixgbe policy as the kernel implements it, and what
the test itself sent; never from the code under test reporting on itself.
"""

from __future__ import annotations

import random

import cocotb

from tb.guest.flows import UdpFlow
from tb.ref.eswitch_model import (
    CTRL_RX_ALLMULTI,
    CTRL_SPOOFCHK,
    CTRL_TRUST,
    MC_BASE,
    PORT_CTRL,
    SMAC_BASE,
)
from tb.ref.mailbox import MboxApi, MbxMessage, MsgType, XcastMode, format_mac, parse_mac
from tb.ref.regmap import MBX_RSTD, Func, Pf, Queue, VfMbx, queue_reg
from tb.vf_driver.ixgbevf import IxgbeVf
from tests.integration.sriov_harness import EXT_MAC, make_tb, mbx_vector, pol, raw_request, vf_mac


# ------------------------------------------------------------------------ FLR
@cocotb.test(timeout_time=2, timeout_unit="ms")
async def flr_pf_and_vf(dut) -> None:
    """FLR from the PF and from the VF: queues, mailbox and the VF's requested policy
    are reset; the administrator's settings stay; other VFs are untouched."""
    tb, irq = await make_tb(dut, seed=7)
    pf = tb.pf
    await pf.enable_sriov(tb.num_vf, apply_policy=True)
    pf.start_mailbox(irq)
    await pf.set_vf_mac(0, vf_mac(1))
    await pf.set_vf_trust(0, True)
    vf1 = IxgbeVf(tb.bar(1), tb.mem, irq)
    vf2 = IxgbeVf(tb.bar(2), tb.mem, irq)
    await pf.set_vf_mac(1, vf_mac(2))
    mc = [parse_mac("01:00:5e:01:02:03")]
    await vf1.up(mc=mc)
    await vf2.up(mc=mc)
    assert vf1.mac == parse_mac(vf_mac(1))
    assert await vf1.set_xcast(XcastMode.ALLMULTI) == XcastMode.ALLMULTI
    bar0 = tb.bar(0)
    txq_ctrl = queue_reg(0, Queue.TXQ_CTRL)
    assert await tb.bar(1).read(txq_ctrl) == 1
    before_vf2 = [await bar0.read(pol(2, off)) for off in range(0, 0x80, 4)]

    # PF-initiated FLR of VF 1.
    await pf.reset_vf(0)
    assert await tb.bar(1).read(txq_ctrl) == 0
    assert await tb.bar(1).read(queue_reg(0, Queue.TXQ_BASE_LO)) == 0
    assert await tb.bar(1).read(VfMbx.CTRL) & MBX_RSTD
    assert await bar0.read(pol(1, MC_BASE + 4)) == 0  # the VF's multicast list is gone
    ctrl = await bar0.read(pol(1, PORT_CTRL))
    assert ctrl & CTRL_RX_ALLMULTI == 0 and ctrl & CTRL_TRUST and ctrl & CTRL_SPOOFCHK
    assert await bar0.read(pol(1, SMAC_BASE)) == 0x00000001  # admin MAC kept
    assert await tb.bar(2).read(txq_ctrl) == 1  # VF 2 untouched
    # The VF driver comes back up and works.
    await vf1.up(mc=mc)
    assert await bar0.read(pol(1, MC_BASE + 4)) == (1 << 31) | 0x0100
    flow = UdpFlow(1, vf_mac(1), EXT_MAC, "10.0.0.1", "10.0.0.9", rng=tb.rng)
    frame = flow.frame(200)
    await vf1.send([frame])
    assert bytes((await tb.wire_out.recv()).tdata) == frame
    assert await vf1.wait_sent(1) == 1

    # VF-initiated FLR: the PF sees VFLR and resets the VF's requested state.
    svc_stats = pf.mailbox.vf_stats(1)
    events = svc_stats.vflr_events
    pf_irqs = irq.count(0, mbx_vector(tb))
    await tb.bar(1).write(Func.FUNC_CTRL, 1)
    await irq.wait_beyond(0, mbx_vector(tb), pf_irqs)
    for _ in range(100):
        if svc_stats.vflr_events > events:
            break
        await tb.cycles(50)
    assert svc_stats.vflr_events == events + 1
    assert await bar0.read(pol(1, MC_BASE + 4)) == 0
    assert await tb.bar(1).read(txq_ctrl) == 0
    assert await bar0.read(Pf.VFLR) == 0  # serviced
    # Requests before the VF's VF_RESET are refused (clear-to-send was withdrawn).
    r = await raw_request(vf1, MbxMessage(MsgType.GET_LINK_STATE))
    assert r.nack and not r.cts
    await vf1.up()
    assert await vf1.get_link_state() is True
    assert [await bar0.read(pol(2, off)) for off in range(0, 0x80, 4)] == before_vf2


# ------------------------------------------------------------ VF driver datapath
@cocotb.test(timeout_time=2, timeout_unit="ms")
async def vf_driver_datapath(dut) -> None:
    """ixgbevf model with no admin MAC: picks a random MAC over the mailbox, then sends
    and receives through its rings; the switch enforces what the PF granted."""
    tb, irq = await make_tb(dut, seed=11)
    pf = tb.pf
    await pf.enable_sriov(tb.num_vf, apply_policy=True)
    pf.start_mailbox(irq)
    group = parse_mac("01:00:5e:00:00:fb")
    other_group = parse_mac("01:00:5e:00:00:fc")
    vfd = IxgbeVf(tb.bar(2), tb.mem, irq, rng=random.Random(3))
    await vfd.up(mc=[group])
    assert vfd.mac[0] & 0x03 == 0x02, format_mac(vfd.mac)  # locally administered unicast
    assert pf.vf_info(1).mac == format_mac(vfd.mac)
    assert vfd.api == MboxApi.API_13 and vfd.link_up
    # An untrusted VF asking for all-multicast gets MULTI.
    assert await vfd.set_xcast(XcastMode.ALLMULTI) == XcastMode.MULTI
    mine = format_mac(vfd.mac)
    out = UdpFlow(1, mine, EXT_MAC, "10.0.0.2", "10.0.0.9", rng=tb.rng).frame(300)
    spoofed = UdpFlow(1, vf_mac(1), EXT_MAC, "10.0.0.2", "10.0.0.9", rng=tb.rng).frame(300)
    await vfd.send([spoofed, out])
    assert bytes((await tb.wire_out.recv()).tdata) == out
    assert await vfd.wait_sent(2) == 2  # both left the ring; the switch dropped one
    to_me = UdpFlow(2, EXT_MAC, mine, "10.0.0.9", "10.0.0.2", rng=tb.rng).frame(500)
    mc_in = UdpFlow(3, EXT_MAC, format_mac(group), "10.0.0.9", "224.0.0.251").frame(200)
    mc_out = UdpFlow(4, EXT_MAC, format_mac(other_group), "10.0.0.9", "224.0.0.252").frame(200)
    for fr in (mc_out, to_me, mc_in):
        await tb.wire_in.send(fr)
    got = await vfd.receive(2)
    assert [g.data for g in got] == [to_me, mc_in]
    await tb.settle(400)
    assert not vfd.rx.reap()  # the unlisted group never arrived
    st = await pf.vf_stats(1)
    assert st["tx_packets"] == 2 and st["tx_dropped_spoof"] == 1
    assert st["rx_packets"] == 2 and st["rx_bytes"] == 700
