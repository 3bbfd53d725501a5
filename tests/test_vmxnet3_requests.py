"""vmxnet3 control requests through the policy (RX mode, filters, MAC, MTU) and
NPA commands through the hooks, in pure Python.

Frames are built with scapy and compared byte for byte; the rig (guest memory,
device, shell, driver) is tests/vmxnet3_rig.py.
"""

from __future__ import annotations

from dataclasses import replace

from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from tb.hypervisor.vmxnet3_control import (
    DeviceResult,
    MacAddressRequest,
    MacFiltersRequest,
    MtuRequest,
    RxModeRequest,
    VlanFiltersRequest,
)
from tb.shell_model.vmxnet3_defs import Cmd, PluginConfDesc, RxMode
from tests.vmxnet3_rig import MAC, PEER, RecordingHooks, make_rig, to_guest, udp_frame

# -- control requests go to the policy -------------------------------------------------------------


def test_rx_mode_request_goes_to_policy_and_denial_keeps_filters() -> None:
    rig = make_rig()
    rig.drv.open()  # MTU 1500 at ACTIVATE_DEV, then UCAST | BCAST, VLAN {0}
    assert rig.policy.seen[:3] == [
        MtuRequest(1500),
        RxModeRequest(RxMode.UCAST | RxMode.BCAST),
        VlanFiltersRequest(frozenset({0})),
    ]
    assert rig.drv.set_rx_mode(RxMode.UCAST | RxMode.PROMISC) == DeviceResult.DENIED
    assert rig.policy.seen[-1] == RxModeRequest(RxMode.UCAST | RxMode.PROMISC)
    assert rig.dev.control_log[-1].allowed is False
    assert rig.dev.counters.policy_denied == 1
    # not promiscuous: a frame for another MAC is dropped
    other = bytes(Ether(src=PEER.hex(":"), dst="00:50:56:00:00:99") / IP())
    assert not rig.dev.receive(other)
    assert rig.drv.set_rx_mode(RxMode.UCAST) == DeviceResult.OK
    assert rig.dev.control_log[-1].allowed is True
    bcast = bytes(Ether(src=PEER.hex(":"), dst="ff:ff:ff:ff:ff:ff") / IP())
    assert not rig.dev.receive(bcast)  # BCAST no longer in the mode
    assert rig.dev.counters.rx_filtered == 2


def test_mac_filter_request_carries_the_multicast_list() -> None:
    rig = make_rig()
    rig.drv.open()
    groups = [bytes.fromhex("01005e000001"), bytes.fromhex("01005e7f0102")]
    mcast = bytes(Ether(src=PEER.hex(":"), dst="01:00:5e:00:00:01") / IP())
    rig.drv.set_rx_mode(RxMode.UCAST | RxMode.MCAST)
    assert not rig.dev.receive(mcast)  # not in the (empty) table yet
    assert rig.drv.set_multicast(groups) == DeviceResult.OK
    assert rig.policy.seen[-1] == MacFiltersRequest(tuple(groups))
    assert rig.dev.receive(mcast)
    assert rig.shell.reap_rx()[0].data == mcast


def test_mac_filter_request_denied_is_not_applied() -> None:
    rig = make_rig(deny=(MacFiltersRequest,))
    rig.drv.open()
    rig.drv.set_rx_mode(RxMode.UCAST | RxMode.MCAST)
    assert rig.drv.set_multicast([bytes.fromhex("01005e000001")]) == DeviceResult.DENIED
    assert rig.dev.control_log[-1].allowed is False
    assert not rig.dev.receive(bytes(Ether(src=PEER.hex(":"), dst="01:00:5e:00:00:01") / IP()))


def test_vlan_filter_request_carries_the_vlan_set() -> None:
    rig = make_rig()
    rig.drv.open()
    assert rig.drv.set_vlans({0, 100, 4095}) == DeviceResult.OK
    assert rig.policy.seen[-1] == VlanFiltersRequest(frozenset({0, 100, 4095}))
    frame = to_guest(1)
    assert not rig.dev.receive(frame, vlan_tci=200)
    assert rig.dev.receive(frame, vlan_tci=0x6064)  # PCP 3, VID 100
    pkt = rig.shell.reap_rx()[0]
    assert (pkt.data, pkt.vlan_tci) == (frame, 0x6064)


def test_vlan_filter_request_denied_is_not_applied() -> None:
    rig = make_rig()
    rig.drv.open()  # VLAN filter {0}: untagged only
    rig.policy.deny = (VlanFiltersRequest,)
    assert rig.drv.set_vlans({0, 100}) == DeviceResult.DENIED
    assert rig.dev.control_log[-1].allowed is False
    assert not rig.dev.receive(to_guest(1), vlan_tci=100)
    assert rig.dev.receive(to_guest(1))


def test_mac_address_change_goes_to_policy() -> None:
    rig = make_rig()
    rig.drv.open()
    new = bytes.fromhex("02aabbccddee")
    rig.drv.set_mac(new)
    assert rig.policy.seen[-1] == MacAddressRequest(new)
    assert rig.drv.current_mac() == new and rig.dev.mac == new
    assert rig.drv.command(Cmd.GET_PERM_MAC_LO) == int.from_bytes(MAC[:4], "little")
    denied = make_rig(deny=(MacAddressRequest,))
    denied.drv.open()
    denied.drv.set_mac(new)
    assert denied.drv.current_mac() == MAC
    assert denied.dev.control_log[-1] == type(denied.dev.control_log[-1])(
        MacAddressRequest(new), False
    )


# -- NPA commands call the hooks -------------------------------------------------------------------


def test_npa_commands_call_the_hooks_and_return_their_result() -> None:
    hooks = RecordingHooks(result=0)
    rig = make_rig(hooks=hooks)
    rig.drv.open()
    rig.drv.write_plugin_image(b"\x7fPLUGIN" + bytes(100))
    assert rig.drv.command(Cmd.LOAD_PLUGIN) == 0
    name, conf = hooks.calls[-1]
    assert name == "load_plugin"
    assert conf == PluginConfDesc(1, 64 * 1024, rig.drv.plugin_gpa)
    assert isinstance(conf, PluginConfDesc)
    assert rig.mem.read(conf.conf_pa, 7) == b"\x7fPLUGIN"
    hooks.result = 0x1234
    assert rig.drv.command(Cmd.ACTIVATE_VF) == 0x1234
    assert hooks.calls[-1] == ("activate_vf", rig.dev)
    hooks.result = 0
    assert rig.drv.command(Cmd.STOP_EMULATION) == 0
    assert hooks.calls[-1] == ("stop_emulation", rig.dev)
    # the emulated data path let go of the rings: the plugin owns them now
    rig.drv.send(udp_frame(0))
    assert rig.backend.frames == []
    assert not rig.dev.receive(to_guest(0))


def test_npa_commands_without_hooks_and_unknown_commands() -> None:
    rig = make_rig()
    rig.drv.open()
    for cmd in (Cmd.STOP_EMULATION, Cmd.LOAD_PLUGIN, Cmd.ACTIVATE_VF, 0xCAFE00FF, 0xF00D00FF):
        assert rig.drv.command(cmd) == 0xFFFFFFFF
    assert rig.dev.counters.unknown_commands == 5
    rig.drv.send(udp_frame(0))  # still emulating
    assert len(rig.backend.frames) == 1


def test_mtu_request_at_activation_and_denial_keeps_the_approved_mtu() -> None:
    """ACTIVATE_DEV asks the policy about an MTU it has not approved; a denial is
    logged, the device still runs (the guest's rings are its own) and the approved
    MTU stays what it was; the same MTU again is not asked twice."""
    rig = make_rig()
    rig.drv.open()
    assert rig.dev.approved_mtu == 1500
    rig.policy.deny = (MtuRequest,)
    assert rig.drv.command(Cmd.QUIESCE_DEV) == DeviceResult.OK
    rig.drv.config = replace(rig.drv.config, mtu=9000)
    rig.drv.write_shared()
    rig.drv.activate()
    assert rig.policy.seen[-1] == MtuRequest(9000)
    assert rig.dev.control_log[-1].allowed is False
    assert rig.dev.approved_mtu == 1500 and rig.dev.active is not None
    asked = len(rig.policy.seen)
    assert rig.drv.command(Cmd.QUIESCE_DEV) == DeviceResult.OK
    rig.drv.config = replace(rig.drv.config, mtu=1500)
    rig.drv.write_shared()
    rig.drv.activate()
    assert len(rig.policy.seen) == asked  # 1500 is approved already
