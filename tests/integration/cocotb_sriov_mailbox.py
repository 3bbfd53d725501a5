"""cocotb tests of the SR-IOV mailbox on nic_top: the mailbox hardware and protocol
(doorbells, acknowledges, interrupts, masks, FLR state), and the PF driver's
mailbox policy (what a VF may ask for, what it is refused).

Expectations come from the documented register layout (tb/ref/regmap.py,
docs/ARCHITECTURE.md), the ixgbe policy as the kernel implements it, and what
the test itself sent; never from the code under test reporting on itself.
"""

from __future__ import annotations

import cocotb

from tb.ref.eswitch_model import (
    CTRL_RX_ALLMULTI,
    CTRL_RX_MCAST,
    CTRL_RX_PROMISC,
    MC_BASE,
    NUM_VLAN,
    PORT_CTRL,
    PORT_VLAN,
    SMAC_BASE,
    VLAN_BASE,
)
from tb.ref.mailbox import (
    MSGTYPE_ACK,
    MSGTYPE_CTS,
    MSGTYPE_NACK,
    MboxApi,
    MbxMessage,
    MsgType,
    XcastMode,
    format_mac,
    mac_to_words,
    parse_mac,
)
from tb.ref.regmap import (
    MBX_ACK,
    MBX_OACK,
    MBX_REQ,
    MBX_RSTD,
    MBX_STS,
    MBX_WORDS,
    VF_STATUS_ENABLED,
    VF_STATUS_MBX_REQ,
    VF_STATUS_VFLR,
    Func,
    Pf,
    PfMbx,
    VfAdmin,
    VfMbx,
    pf_mbx_reg,
    vf_admin_reg,
)
from tb.vf_driver.ixgbevf import IxgbeVf
from tests.integration.sriov_harness import make_tb, mbx_vector, pol, raw_request


# ------------------------------------------------------------- mailbox hardware
@cocotb.test(timeout_time=2, timeout_unit="ms")
async def mailbox_hw_protocol(dut) -> None:
    """Doorbells, acknowledges, interrupts both ways, masks, refused writes, FLR state."""
    tb, irq = await make_tb(dut)
    await tb.pf.enable_sriov(tb.num_vf)
    vec = mbx_vector(tb)
    pf, vf = tb.bar(0), tb.bar(1)
    assert tb.pf.mbx_vector == vec
    assert await vf.read(VfMbx.INFO) == (vec << 8) | MBX_WORDS
    # A newly enabled VF reports a reset; clearing RSTD leaves the mailbox idle.
    assert await vf.read(VfMbx.CTRL) == MBX_RSTD
    await vf.write(VfMbx.CTRL, MBX_RSTD)
    assert await vf.read(VfMbx.CTRL) == 0

    # VF -> PF: message, doorbell, PF interrupt and bitmap.
    msg = [0x1000 + 7 * i for i in range(MBX_WORDS)]
    for i, w in enumerate(msg):
        await vf.write(VfMbx.VF_MSG + 4 * i, w)
    pf_irqs = irq.count(0, vec)
    await vf.write(VfMbx.CTRL, MBX_REQ)
    await irq.wait_beyond(0, vec, pf_irqs)
    assert await vf.read(VfMbx.CTRL) & MBX_REQ
    assert await pf.read(Pf.MBX_VFREQ) == 1 << 1
    assert await pf.read(vf_admin_reg(1, VfAdmin.STATUS)) == VF_STATUS_ENABLED | VF_STATUS_MBX_REQ
    assert await pf.read(pf_mbx_reg(1, PfMbx.CTRL)) == MBX_STS
    assert [await pf.read(pf_mbx_reg(1, PfMbx.VF_MSG + 4 * i)) for i in range(16)] == msg
    # While the doorbell is pending the VF cannot change its message or ring again.
    await vf.write(VfMbx.VF_MSG, 0xDEAD)
    await vf.write(VfMbx.CTRL, MBX_REQ)
    assert await pf.read(pf_mbx_reg(1, PfMbx.VF_MSG)) == msg[0]
    assert await pf.read(pf_mbx_reg(1, PfMbx.ERRS)) == 2
    # VF 2's mailbox saw none of it.
    assert await pf.read(pf_mbx_reg(2, PfMbx.VF_MSG)) == 0
    # PF acknowledges: VF interrupt, PFACK, request cleared.
    vf_irqs = irq.count(1, vec)
    await pf.write(pf_mbx_reg(1, PfMbx.CTRL), MBX_ACK)
    await irq.wait_beyond(1, vec, vf_irqs)
    assert await vf.read(VfMbx.CTRL) == MBX_OACK
    assert await pf.read(Pf.MBX_VFREQ) == 0
    await vf.write(VfMbx.CTRL, MBX_OACK)
    assert await vf.read(VfMbx.CTRL) == 0

    # PF -> VF: message, doorbell, VF interrupt; the VF cannot write the PF's words.
    reply = [0xA0000 + i for i in range(MBX_WORDS)]
    for i, w in enumerate(reply):
        await pf.write(pf_mbx_reg(1, PfMbx.PF_MSG + 4 * i), w)
    vf_irqs = irq.count(1, vec)
    await pf.write(pf_mbx_reg(1, PfMbx.CTRL), MBX_REQ)
    await irq.wait_beyond(1, vec, vf_irqs)
    assert await vf.read(VfMbx.CTRL) == MBX_STS
    await vf.write(VfMbx.PF_MSG, 0x5555)
    assert [await vf.read(VfMbx.PF_MSG + 4 * i) for i in range(16)] == reply
    pf_irqs = irq.count(0, vec)
    await vf.write(VfMbx.CTRL, MBX_ACK)
    await irq.wait_beyond(0, vec, pf_irqs)
    assert await pf.read(Pf.MBX_VFACK) == 1 << 1
    assert await pf.read(pf_mbx_reg(1, PfMbx.CTRL)) == MBX_OACK
    await pf.write(pf_mbx_reg(1, PfMbx.CTRL), MBX_OACK)
    assert await pf.read(Pf.MBX_VFACK) == 0
    # An acknowledge with nothing to acknowledge is refused and counted.
    await vf.write(VfMbx.CTRL, MBX_ACK)
    assert await pf.read(pf_mbx_reg(1, PfMbx.ERRS)) == 4

    # Masked VF interrupt: held, delivered once on unmask.
    await vf.write(VfMbx.IRQ, 1)
    vf_irqs = irq.count(1, vec)
    await pf.write(pf_mbx_reg(1, PfMbx.CTRL), MBX_REQ)
    await tb.cycles(200)
    assert irq.count(1, vec) == vf_irqs
    await vf.write(VfMbx.IRQ, 0)
    await irq.wait_beyond(1, vec, vf_irqs)
    await tb.cycles(50)
    assert irq.count(1, vec) == vf_irqs + 1
    # Masked PF interrupt likewise.
    await vf.write(VfMbx.CTRL, MBX_ACK)
    await pf.write(Pf.IRQ_CTRL, 1)
    await tb.cycles(10)
    pf_irqs = irq.count(0, vec)
    await vf.write(VfMbx.CTRL, MBX_REQ)
    await tb.cycles(200)
    assert irq.count(0, vec) == pf_irqs
    await pf.write(Pf.IRQ_CTRL, 0)
    await irq.wait_beyond(0, vec, pf_irqs)

    # Unmapped offsets of the VF's mailbox window read 0.
    for off in (0x0C, 0x3C, 0xC0, 0x100, 0xFFFC, 0x42):
        assert await vf.read(VfMbx.CTRL + off) == 0, hex(off)

    # A VF's own FLR clears its mailbox (both directions), sets RSTD, raises VFLR.
    pf_irqs = irq.count(0, vec)
    await vf.write(Func.FUNC_CTRL, 1)
    await irq.wait_beyond(0, vec, pf_irqs)
    assert await vf.read(VfMbx.CTRL) == MBX_RSTD
    assert await vf.read(VfMbx.VF_MSG) == 0
    assert await pf.read(pf_mbx_reg(1, PfMbx.PF_MSG)) == 0
    assert await pf.read(Pf.VFLR) == 1 << 1
    assert await pf.read(vf_admin_reg(1, VfAdmin.STATUS)) == VF_STATUS_ENABLED | VF_STATUS_VFLR
    await pf.write(Pf.VFLR, 1 << 1)
    assert await pf.read(Pf.VFLR) == 0
    # The PF's error counter survives the VF's reset.
    assert await pf.read(pf_mbx_reg(1, PfMbx.ERRS)) == 4


# --------------------------------------------------------------- mailbox policy
@cocotb.test(timeout_time=2, timeout_unit="ms")
async def mailbox_policy(dut) -> None:
    """Every outcome of the PF's mailbox service, checked against ixgbe's policy and
    against the switch registers it must (or must not) have written."""
    tb, irq = await make_tb(dut, seed=5)
    pf = tb.pf
    await pf.enable_sriov(tb.num_vf, apply_policy=True)
    svc = pf.start_mailbox(irq)
    vfd = IxgbeVf(tb.bar(1), tb.mem, irq)
    bar0 = tb.bar(0)

    # Before VF_RESET: NACK without CTS.
    r = await raw_request(vfd, MbxMessage(MsgType.API_NEGOTIATE, payload=[MboxApi.API_13]))
    assert r.pack()[0] == MsgType.API_NEGOTIATE | MSGTYPE_NACK, hex(r.pack()[0])
    # VF_RESET without an assigned MAC: NACK | CTS, no MAC.
    r = await raw_request(vfd, MbxMessage(MsgType.VF_RESET))
    assert r.pack()[0] == MsgType.VF_RESET | MSGTYPE_NACK | MSGTYPE_CTS
    assert r.payload[:2] == [0, 0]
    # With an admin MAC: ACK | CTS and the MAC in words 1..2 (memcpy order).
    await pf.set_vf_mac(0, "02:11:22:33:44:55")
    r = await raw_request(vfd, MbxMessage(MsgType.VF_RESET))
    assert r.pack()[0] == MsgType.VF_RESET | MSGTYPE_ACK | MSGTYPE_CTS
    assert r.payload[:3] == [0x33221102, 0x5544, 0]
    # API: 2.0 and unknown versions refused, 1.1 accepted.
    for api, ok in ((MboxApi.API_20, False), (99, False), (MboxApi.API_11, True)):
        r = await raw_request(vfd, MbxMessage(MsgType.API_NEGOTIATE, payload=[api]))
        assert (r.ack, r.nack, r.cts) == (ok, not ok, True), (api, r)
    # API 1.1: no xcast, no link state.
    for m in (
        MbxMessage(MsgType.UPDATE_XCAST_MODE, payload=[1]),
        MbxMessage(MsgType.GET_LINK_STATE),
    ):
        assert (await raw_request(vfd, m)).nack
    assert (await vfd.negotiate_api()) == MboxApi.API_13

    # SET_MAC_ADDR: invalid addresses refused; an untrusted VF cannot override the admin MAC.
    assert not await vfd.set_mac(parse_mac("02:99:99:99:99:99"))
    assert pf.vf_info(0).mac == "02:11:22:33:44:55"
    assert await bar0.read(pol(1, SMAC_BASE)) == 0x22334455
    assert await vfd.set_mac(parse_mac("02:11:22:33:44:55"))  # the same MAC is fine
    await pf.set_vf_trust(0, True)
    # Invalid addresses are refused even from a trusted VF.
    for bad in ("01:00:5e:00:00:01", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        r = await raw_request(
            vfd, MbxMessage(MsgType.SET_MAC_ADDR, payload=mac_to_words(parse_mac(bad)))
        )
        assert r.nack and r.cts, bad
        assert await bar0.read(pol(1, SMAC_BASE)) == 0x22334455, bad
    assert await vfd.set_mac(parse_mac("02:99:99:99:99:98"))
    assert pf.vf_info(0).mac == "02:99:99:99:99:98"
    assert await bar0.read(pol(1, SMAC_BASE)) == 0x99999998
    assert await bar0.read(pol(1, SMAC_BASE + 4)) == (1 << 31) | 0x0299
    await pf.set_vf_trust(0, False)
    # An admin MAC again (the VF resets on the PF's notice and takes it): the
    # untrusted VF cannot override it ...
    await pf.set_vf_mac(0, "02:11:22:33:44:55")
    await vfd.reset()
    assert vfd.mac == parse_mac("02:11:22:33:44:55")
    assert not await vfd.set_mac(parse_mac("02:99:99:99:99:97"))
    assert svc.policy.refused[-1] == (1, "untrusted VF may not override the administrator's MAC")
    # ... until `ip link set ... vf 0 mac 00:00:00:00:00:00` clears it (ixgbe): on
    # reset the VF gets no MAC, picks its own, and may set another.
    await pf.set_vf_mac(0, "00:00:00:00:00:00")
    assert pf.vf_info(0).mac == "00:00:00:00:00:00"
    await vfd.reset()
    assert pf.vf_info(0).mac == format_mac(vfd.mac) != "02:11:22:33:44:55"
    assert await vfd.set_mac(parse_mac("02:99:99:99:99:97"))
    assert (await vfd.negotiate_api()) == MboxApi.API_13  # a reset forgets the API
    assert pf.vf_info(0).mac == "02:99:99:99:99:97"
    assert await bar0.read(pol(1, SMAC_BASE)) == 0x99999997

    # UPDATE_XCAST_MODE: untrusted PROMISC/ALLMULTI clamped to MULTI; trusted gets them.
    for mode in (XcastMode.PROMISC, XcastMode.ALLMULTI):
        assert await vfd.set_xcast(mode) == XcastMode.MULTI
        ctrl = await bar0.read(pol(1, PORT_CTRL))
        assert ctrl & (CTRL_RX_PROMISC | CTRL_RX_ALLMULTI) == 0, hex(ctrl)
        assert ctrl & CTRL_RX_MCAST
    await pf.set_vf_trust(0, True)
    assert await vfd.set_xcast(XcastMode.PROMISC) == XcastMode.PROMISC
    assert await bar0.read(pol(1, PORT_CTRL)) & CTRL_RX_PROMISC
    # Losing trust takes the privilege away.
    await pf.set_vf_trust(0, False)
    assert await bar0.read(pol(1, PORT_CTRL)) & (CTRL_RX_PROMISC | CTRL_RX_ALLMULTI) == 0
    assert await vfd.set_xcast(XcastMode.NONE) == XcastMode.NONE
    bad_mode = await raw_request(vfd, MbxMessage(MsgType.UPDATE_XCAST_MODE, payload=[9]))
    assert bad_mode.nack and bad_mode.cts

    # SET_MULTICAST: the list lands in the switch; bad or oversized lists are refused.
    mcs = [parse_mac("01:00:5e:00:00:01"), parse_mac("33:33:00:00:00:02")]
    assert await vfd.set_multicast(mcs)
    assert await bar0.read(pol(1, MC_BASE)) == 0x5E000001
    assert await bar0.read(pol(1, MC_BASE + 4)) == (1 << 31) | 0x0100
    assert await bar0.read(pol(1, MC_BASE + 12)) == (1 << 31) | 0x3333
    assert not await vfd.set_multicast([parse_mac("02:00:00:00:00:09")])
    assert not await vfd.set_multicast([parse_mac(f"01:00:5e:00:00:{i:02x}") for i in range(5)])
    assert await bar0.read(pol(1, MC_BASE + 4)) == (1 << 31) | 0x0100  # unchanged

    # SET_VLAN: joins the filter list, at most NUM_VLAN; refused under a port VLAN.
    assert await vfd.set_vlan(100)
    assert await bar0.read(pol(1, VLAN_BASE)) == (1 << 31) | 100
    for v in range(201, 201 + NUM_VLAN - 1):
        assert await vfd.set_vlan(v)
    assert not await vfd.set_vlan(300)
    assert await vfd.set_vlan(100, add=False)
    assert await vfd.set_vlan(0, add=False)  # removing VLAN 0 is a no-op success
    await pf.set_vf_vlan(0, 42, qos=3)
    assert await bar0.read(pol(1, PORT_VLAN)) == (1 << 31) | (3 << 13) | 42
    assert await bar0.read(pol(1, VLAN_BASE + 4)) == 0  # guest VLANs dropped
    # Even after a proper reset (CTS), SET_VLAN is refused under the port VLAN.
    await vfd.reset()
    await vfd.negotiate_api()
    r = await raw_request(vfd, MbxMessage(MsgType.SET_VLAN, info=1, payload=[101]))
    assert r.nack and r.cts
    assert await bar0.read(pol(1, VLAN_BASE)) == 0
    await pf.set_vf_vlan(0, 0)
    # Port VLAN changes were announced (PF_CONTROL_MSG): the VF must reset first.
    r = await raw_request(vfd, MbxMessage(MsgType.SET_VLAN, info=1, payload=[5]))
    assert r.nack and not r.cts
    await vfd.reset()
    await vfd.negotiate_api()

    # GET_LINK_STATE follows the enforced link.
    assert await vfd.get_link_state() is True
    await pf.set_vf_link_state(0, "disable")
    # The PF told the VF (PF_CONTROL_MSG) and wants a reset first.
    r = await raw_request(vfd, MbxMessage(MsgType.GET_LINK_STATE))
    assert r.nack and not r.cts
    await vfd.reset()
    await vfd.negotiate_api()
    assert await vfd.get_link_state() is False
    await pf.set_vf_link_state(0, "auto")
    await vfd.reset()
    await vfd.negotiate_api()

    # Unknown request: NACK | CTS, counted; malformed does not stop the service.
    r = await raw_request(vfd, MbxMessage(0x77, payload=[1, 2, 3]))
    assert r.pack()[0] == 0x77 | MSGTYPE_NACK | MSGTYPE_CTS
    assert svc.vf_stats(1).unknown == 1
    await vfd.reset()
    await vfd.negotiate_api()
    assert await vfd.get_link_state() is True
    # VF 2 was never involved.
    assert svc.vf_stats(2).requests == 0
    assert await bar0.read(pol(2, SMAC_BASE + 4)) == 0
