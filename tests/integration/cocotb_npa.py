"""cocotb tests of the NPA stack on the RTL (issue 9): VMs confined by the IOMMU on the real bus.

A VF the hypervisor assigns to a VM DMAs in guest-physical addresses through
the IOMMU domain the hypervisor built (GPA [0, size) -> the VM's host region);
the PF and the other VF keep host identity domains.
"""

from __future__ import annotations

import cocotb
from scapy.layers.l2 import Dot1Q, Ether

from tb.env import NicTb, TbConfig
from tb.guest.flow_receiver import FlowReceiver
from tb.guest.flows import UdpFlow, parse_flow
from tb.guest.stack import InterfaceConfig, NetStack, TxOutcome
from tb.host.axi import AxiResp
from tb.host.iommu import FaultKind
from tb.hypervisor.npa import NpaHost
from tb.hypervisor.npa_vm import NpaVm, SecurityPolicy
from tb.net.external_host import ExternalHost
from tb.plugin_model.ring_a import ring_a_image
from tb.ref.eswitch_model import MAX_FRAME_BYTES, NUM_MC, POL_BASE, POL_STRIDE, PORT_MAX_LEN
from tb.ref.layouts import TxDesc
from tb.ref.regmap import FUNC_STATUS_ERROR, Esw, Func, QErr, Queue, queue_reg
from tb.shell_model.npa_shell import ShellMode
from tb.shell_model.vmxnet3_defs import RxMode
from tb.vf_driver.queues import TxQueue

EXT_MAC = "02:00:00:00:ff:01"
VM_MEM = 1 << 20
Q_ERROR = 1 << 31


def vf_mac(f: int) -> str:
    return f"02:00:00:00:00:{f:02x}"


async def recv_frames(tb: NicTb, n: int, within: int = 50_000) -> list[bytes]:
    """The next ``n`` uplink frames, or an error naming how many came within ``within`` cycles.

    Waits on clock edges rather than with_timeout (cocotb 2.1's timeout wrappers
    are not cancel-safe around the sink's queue).
    """
    got: list[bytes] = []
    waited = 0
    while len(got) < n:
        while not tb.wire_out.empty() and len(got) < n:
            got.append(bytes(tb.wire_out.recv_nowait().tdata))
        if len(got) == n:
            break
        if waited >= within:
            raise AssertionError(f"uplink: {len(got)} of {n} frames within {within} cycles")
        await tb.cycles(100)
        waited += 100
    return got


@cocotb.test()
async def vm_dma_confined(dut) -> None:
    """A VM's VF reaching outside its memory faults (logged, queue in error); others keep going."""
    tb = NicTb(dut, TbConfig(seed=11, read_latency=40, vm_vfs=(1,)))
    await tb.reset()
    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    # The PF driver programs the VF's MAC (and anti-spoof) before it is assigned.
    await tb.pf.set_vf_mac(0, vf_mac(1))  # VF 0 is function 1
    await tb.pf.set_vf_spoofchk(0, True)
    # Before assignment VF1 has no domain at all.
    assert not tb.iommu.has_domain(1) and tb.iommu.has_domain(0) and tb.iommu.has_domain(2)
    vm = tb.hv.create_vm("vm1", VM_MEM)
    assert tb.hv.assign_vf("vm1", 0) == 1
    assert vm.host_base != 0  # GPAs differ from host addresses: translation is exercised

    # The guest's driver works in GPAs: ring and buffers in the VM's memory.
    vm_tx = TxQueue(tb.bar(1), vm.memory, 0, 5)
    await vm_tx.open()
    assert vm_tx.ring.desc_base < VM_MEM
    vm_flow = UdpFlow(1, vf_mac(1), EXT_MAC, "10.0.1.1", "10.0.0.254", rng=tb.rng)
    good = vm_flow.frame(300)
    vm_tx.post(good)
    await vm_tx.ring_doorbell()
    assert await recv_frames(tb, 1) == [good]
    assert not tb.iommu.faults and not tb.host_bus.errors

    # VF2 (host identity domain) starts a stream that must survive VF1's fault.
    other_tx, _ = tb.queues(2, size_log2=6)
    await other_tx.open()
    other_flow = UdpFlow(2, vf_mac(2), EXT_MAC, "10.0.2.1", "10.0.0.254", rng=tb.rng)
    before = [other_flow.frame(s) for s in (64, 512, 1518)]
    for fr in before:
        other_tx.post(fr)

    # The guest posts a buffer just past the end of its memory.
    bad = VM_MEM + 0x40
    vm_tx.post_raw(TxDesc(bad, 128))
    await vm_tx.ring_doorbell()
    await other_tx.ring_doorbell()
    got = await recv_frames(tb, len(before))

    # The fault is logged by the IOMMU and the bus responder: function, address, read.
    faults = tb.iommu.faults_of(1)
    assert len(faults) >= 1, tb.iommu.faults
    f0 = faults[0]
    assert (f0.func, f0.iova, f0.write, f0.kind) == (1, bad, False, FaultKind.UNMAPPED), f0
    assert tb.iommu.faults_of(0) == [] and tb.iommu.faults_of(2) == []
    errs = [e for e in tb.host_bus.errors if e.func == 1]
    assert errs and all(not e.write for e in errs), tb.host_bus.errors
    assert errs[0].addr == bad and errs[0].resp == AxiResp.DECERR, errs[0]
    assert all(e.func == 1 for e in tb.host_bus.errors)

    # VF1's TX queue is in its error state with ERR_BUS_READ (ARCHITECTURE.md §3.1).
    for _ in range(100):
        status = await tb.bar(1).read(queue_reg(0, Queue.TXQ_STATUS))
        if status & Q_ERROR:
            break
        await tb.cycles(20)
    assert status & Q_ERROR and status & 0xFF == QErr.BUS_READ, hex(status)
    assert await tb.bar(1).read(Func.FUNC_STATUS) & FUNC_STATUS_ERROR
    # No other queue is in error.
    assert await tb.bar(2).read(queue_reg(0, Queue.TXQ_STATUS)) & Q_ERROR == 0
    assert await tb.bar(0).read(Func.FUNC_STATUS) & FUNC_STATUS_ERROR == 0
    # The faulting frame was never sent: the uplink saw only VF2's frames, intact.
    after = [other_flow.frame(s) for s in (60, 1000, 1514)]
    for fr in after:
        other_tx.post(fr)
    await other_tx.ring_doorbell()
    got += await recv_frames(tb, len(after))
    assert got == before + after
    for n, fr in enumerate(got):
        assert Ether(fr).src == vf_mac(2)
        assert parse_flow(fr) == (2, n), parse_flow(fr)
    done = []
    while len(done) < len(before) + len(after):
        done += await other_tx.wait_reaped()
    assert all(tx.completion.status == 0 for tx in done)
    await tb.settle(200)
    assert tb.wire_out.empty()


# ----------------------------------------------------------- NPA datapath switch
VM1_MAC, VM1_IP = "02:00:00:00:01:01", "10.0.0.1"
EXT_IP = "10.0.0.254"


async def npa_nic(dut, cfg: TbConfig) -> tuple[NicTb, NpaHost]:
    """nic_top with SR-IOV on and the hypervisor's NPA side up."""
    tb = NicTb(dut, cfg)
    await tb.reset()
    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    return tb, await tb.npa_host()


def guest_stack(tb: NicTb, vm: NpaVm) -> tuple[NetStack, FlowReceiver]:
    """vm1's network stack on its shell, with a flow receiver on UDP port 6000."""
    stack = NetStack(InterfaceConfig(VM1_MAC, VM1_IP), vm.shell.xmit, now=tb.now_ns, name="vm1")
    vm.shell.receiver = stack.receive
    sink = FlowReceiver()
    stack.bind_udp(6000, sink.deliver)
    return stack, sink


def outside_host(tb: NicTb, *, pump: bool = True) -> ExternalHost:
    """The external host on the uplink (fed from the wire unless ``pump`` is False)."""
    ext = ExternalHost(InterfaceConfig(EXT_MAC, EXT_IP), tb.wire_in.send_nowait, now=tb.now_ns)
    if pump:
        cocotb.start_soon(ext.pump(tb.wire_out))
    return ext


async def udp_both_ways(
    tb: NicTb, stack: NetStack, sink: FlowReceiver, ext: ExternalHost, ids: tuple[int, int], n: int
) -> None:
    """``n`` frames VM -> outside (flow ids[0]) and outside -> VM (ids[1]), paced, all arrive."""
    out_flow = stack.udp_flow(ids[0], EXT_IP)
    ext.source(ids[1], VM1_IP)
    sizes = (64, 1518, 300, 1000, 128)
    for k in range(n):
        assert stack.send_flow(out_flow, sizes[k % len(sizes)]) is not TxOutcome.NO_ROUTE
        ext.send(ids[1], sizes[(k + 2) % len(sizes)])
        await tb.cycles(40)
    ext.sink.set_sent(ids[0], n)
    sink.set_sent(ids[1], n)
    await tb.wait_until(f"flow {ids[0]} out", lambda: ext.sink.stats(ids[0]).received == n)
    await tb.wait_until(f"flow {ids[1]} in", lambda: sink.stats(ids[1]).received == n)
    for rx, fid in ((ext.sink, ids[0]), (sink, ids[1])):
        st = rx.stats(fid)
        assert (st.lost, st.duplicated, st.reordered, st.corrupted) == (0, 0, 0, 0), st


@cocotb.test()
async def npa_boot_emulated_plugin_and_back(dut) -> None:
    """A VM boots on emulated vmxnet3 (frames via the PF's queue), moves to the VF plugin, back."""
    tb, host = await npa_nic(dut, TbConfig(seed=5, vm_vfs=(1,)))
    vm = await host.boot_vm("vm1", VM1_MAC, 4 << 20)
    stack, sink = guest_stack(tb, vm)
    ext = outside_host(tb)

    # Emulated: ARP + ping + UDP through the PF's queue and the real switch.
    ping = stack.ping(EXT_IP, count=3)
    await tb.wait_until("ping over emulated vmxnet3", lambda: ping.received == 3)
    await udp_both_ways(tb, stack, sink, ext, (1, 2), 20)
    pf_port = await tb.pf.port_stats(0)
    assert pf_port["rx_packets"] >= 24 and pf_port["tx_packets"] >= 24, pf_port
    assert (await tb.pf.vf_stats(0))["tx_packets"] == 0

    # The hypervisor attaches VF 0 and injects vendor A's plugin: passthrough.
    assert await host.attach_vf("vm1", 0, ring_a_image().pack())
    assert vm.shell.mode is ShellMode.PLUGIN
    pf_before = await tb.pf.port_stats(0)
    await udp_both_ways(tb, stack, sink, ext, (3, 4), 20)
    vf = await tb.pf.vf_stats(0)
    assert vf["tx_packets"] == 20 and vf["rx_packets"] >= 20, vf
    assert (await tb.pf.port_stats(0))["rx_packets"] == pf_before["rx_packets"]  # not via the PF
    ping = stack.ping(EXT_IP, count=2)
    await tb.wait_until("ping over the VF", lambda: ping.received == 2)

    vf_sent = (await tb.pf.vf_stats(0))["tx_packets"]
    assert vf_sent == 22  # the UDP frames and the two echo requests

    # Back to emulated on demand: nothing lost, traffic via the PF again.
    await host.detach_vf("vm1", "test")
    assert vm.shell.mode is ShellMode.EMULATED
    assert vm.shell.stats["tx_lost_at_quiesce"] == 0
    await udp_both_ways(tb, stack, sink, ext, (5, 6), 20)
    assert (await tb.pf.vf_stats(0))["tx_packets"] == vf_sent
    assert not tb.iommu.faults and not tb.host_bus.errors


# --------------------------------------------------- switch-overs under traffic
VM1_NEW_MAC = "02:00:00:00:01:99"
BURST = 24  # frames queued at once each way
ATTACH_BACKLOG = 96  # 1518 B frames on the emulated path when the VF is attached


async def both_ways_burst(
    tb: NicTb, stack: NetStack, ext: ExternalHost, out_flow: UdpFlow, in_id: int, n: int
) -> None:
    """``n`` frames each way at once (the guest's queue and the wire fill up)."""
    sizes = (64, 1518, 300, 1000, 128)
    for k in range(n):
        assert stack.send_flow(out_flow, sizes[k % len(sizes)]) is not TxOutcome.NO_ROUTE
        ext.send(in_id, sizes[(k + 3) % len(sizes)])


@cocotb.test()
async def npa_switch_overs_under_traffic(dut) -> None:
    """Attach, an allowed MAC change and detach, each while frames are queued both ways.

    - Attach: the frames the VM queued on the emulated path are still in the PF's
      queue when the shell moves to the plugin; they leave first (the hypervisor
      drains the vswitch port), so the outside host sees the flow in order.
    - MAC change (policy allows it): made before it breaks, so frames queued with
      the old source MAC pass anti-spoofing (``tx_dropped_spoof`` stays 0), and
      frames sent to the old MAC still reach the VM (its stack refuses them by name).
    - Detach: frames on their way to the VF land before its ring closes
      (``RXQ_DROPS`` 0); frames after the switch entry moved meet the stopped or
      resumed device, each dropped frame named.
    TX loses nothing, nothing is reordered, and every RX frame not delivered is
    found at a drop point that names it.
    """
    tb, host = await npa_nic(dut, TbConfig(seed=7, vm_vfs=(1,)))
    vm = await host.boot_vm("vm1", VM1_MAC, 4 << 20, SecurityPolicy(mac_changes=True))
    stack, sink = guest_stack(tb, vm)
    refused: list[bytes] = []

    def receive(frame: bytes) -> None:
        before = sum(stack.counters.foreign.values())
        stack.receive(frame)
        if sum(stack.counters.foreign.values()) != before:
            refused.append(frame)

    vm.shell.receiver = receive
    ext = outside_host(tb)
    ping = stack.ping(EXT_IP, count=1)  # both ARP caches filled
    await tb.wait_until("ping over emulated vmxnet3", lambda: ping.received == 1)
    out_flow = stack.udp_flow(1, EXT_IP)
    ext.source(2, VM1_IP)
    sent = 0  # frames of each flow (out_sent: of flow 1, which also has the backlog)

    await both_ways_burst(tb, stack, ext, out_flow, 2, BURST)
    sent += BURST
    out_sent = sent
    for _ in range(ATTACH_BACKLOG):  # about 2,300 cycles of the PF's TX at line rate
        stack.send_flow(out_flow, 1518)
        out_sent += 1
    await tb.cycles(60)
    assert host.vswitch.ports[VM1_MAC].tx_outstanding > ATTACH_BACKLOG // 2, "no backlog"
    assert await host.attach_vf("vm1", 0, ring_a_image().pack())
    await both_ways_burst(tb, stack, ext, out_flow, 2, BURST)
    sent += BURST
    out_sent += BURST
    await tb.cycles(2_000)

    await both_ways_burst(tb, stack, ext, out_flow, 2, BURST)
    sent += BURST
    out_sent += BURST
    spoof0 = (await tb.pf.vf_stats(0))["tx_dropped_spoof"]
    vm.driver.set_mac(bytes.fromhex(VM1_NEW_MAC.replace(":", "")))
    await host.control_done()
    assert vm.driver.current_mac().hex(":") == VM1_NEW_MAC
    stack.set_mac(VM1_NEW_MAC)  # announces it by gratuitous ARP
    out_flow.src_mac = VM1_NEW_MAC
    await both_ways_burst(tb, stack, ext, out_flow, 2, BURST)
    sent += BURST
    out_sent += BURST
    await host.mac_changes_done()
    assert (await tb.pf.vf_stats(0))["tx_dropped_spoof"] == spoof0, "old-MAC frames dropped"
    assert any(e.op == "retire_mac" for e in host.control_log), host.control_log

    await both_ways_burst(tb, stack, ext, out_flow, 2, BURST)
    sent += BURST
    out_sent += BURST
    await tb.cycles(30)  # frames on their way to the VF
    # (broadcasts that met the VF before its plugin was up are in RXQ_DROPS already)
    drops0 = await tb.bar(1).read(queue_reg(0, Queue.RXQ_DROPS))
    await host.detach_vf("vm1", "test")
    assert host.vf_rx_drops["vm1"] == drops0, "frames dropped by the VF's closing ring"
    await both_ways_burst(tb, stack, ext, out_flow, 2, BURST)
    sent += BURST
    out_sent += BURST

    ext.sink.set_sent(1, out_sent)
    sink.set_sent(2, sent)
    await tb.wait_until("flow 1 out", lambda: ext.sink.stats(1).received == out_sent)
    out = ext.sink.stats(1)
    assert (out.lost, out.duplicated, out.reordered, out.corrupted) == (0, 0, 0, 0), out
    await tb.cycles(5_000)
    inn = sink.stats(2)
    assert (inn.duplicated, inn.reordered, inn.corrupted) == (0, 0, 0), inn
    named = sum(1 for _, _, fr in host.vswitch.dropped if (i := parse_flow(fr)) and i[0] == 2)
    named += sum(1 for fr in refused if (i := parse_flow(fr)) and i[0] == 2)
    missing = sorted(set(range(sent)) - inn.seen)
    assert inn.lost == named, f"{inn.lost} lost, {named} named; missing {missing}"
    assert (await tb.pf.port_stats(tb.num_func))["rx_dropped_no_route"] == 0
    assert vm.shell.stats["tx_dropped_qdisc"] == vm.shell.stats["tx_lost_at_quiesce"] == 0


# ------------------------------------------------------------ RX filters trapped
GROUPS = [bytes([0x01, 0x00, 0x5E, 0x00, 0x00, g]) for g in range(1, NUM_MC + 2)]


def mcast_frame(group: bytes, k: int) -> bytes:
    return bytes(Ether(dst=group.hex(":"), src=EXT_MAC, type=0x88B5) / (bytes([k]) * 60))


@cocotb.test()
async def npa_rx_filters_trapped(dut) -> None:
    """The guest's multicast list and RX mode reach the switch only through the hypervisor.

    Emulated, the device filters; on the VF, the hypervisor programmed the VF's
    filters from what the device holds, so the guest receives the groups it joined
    and no others, before and after the switch-over; a list longer than a VF's
    filter is denied and changes nothing; all-multicast is clamped on the
    untrusted VF, and the clamp is logged.
    """
    tb, host = await npa_nic(dut, TbConfig(seed=9, vm_vfs=(1,)))
    vm = await host.boot_vm("vm1", VM1_MAC, 4 << 20)
    got: list[bytes] = []
    vm.shell.receiver = lambda frame: got.append(frame[:6]) if frame[0] & 1 else None

    async def offered(groups: list[bytes]) -> list[bytes]:
        """Each group's frame once from the outside; which of them the guest received."""
        got.clear()
        for k, g in enumerate(groups):
            tb.wire_in.send_nowait(mcast_frame(g, k))
        await tb.cycles(3_000)
        return sorted(set(got))

    g1, g2, g3 = GROUPS[:3]
    assert vm.driver.set_multicast([g1]) == 0
    assert vm.driver.set_rx_mode(RxMode.UCAST | RxMode.BCAST | RxMode.MCAST) == 0
    await host.control_done()
    assert await offered([g1, g2]) == [g1], "emulated: the device's filter"
    filtered0 = vm.device.counters.rx_filtered

    assert await host.attach_vf("vm1", 0, ring_a_image().pack())
    assert vm.shell.mode is ShellMode.PLUGIN
    assert await offered([g1, g2]) == [g1], "VF: the switch's filter, from the device's"
    assert vm.device.counters.rx_filtered == filtered0  # not via the emulated device

    assert vm.driver.set_multicast([g1, g2]) == 0
    await host.control_done()
    assert await offered([g1, g2, g3]) == [g1, g2], "joined g2 while on the VF"

    assert vm.driver.set_multicast(GROUPS) != 0  # one more than a VF's filter holds
    await host.control_done()
    denied = [e for e in host.control_log if e.op == "multicast" and not e.allowed]
    assert denied and f"the {NUM_MC} a VF" in denied[-1].reason, host.control_log
    assert await offered([g1, g2, g3]) == [g1, g2], "a denied request changed the filter"

    assert vm.driver.set_rx_mode(RxMode.UCAST | RxMode.BCAST | RxMode.ALL_MULTI) == 0
    await host.control_done()
    clamp = [e for e in host.control_log if "clamped" in e.reason]
    assert clamp and "ALLMULTI clamped to MULTI" in clamp[-1].reason, host.control_log
    assert await offered([g1, g2, g3]) == [g1, g2], "untrusted VF: list only"


# ------------------------------------------------------- port VLAN on both paths
PORT_VLAN = 100


@cocotb.test()
async def npa_port_vlan(dut) -> None:
    """A VM on a port group with VLAN 100: tagged on the wire, untagged in the guest,
    emulated (the vswitch tags through the PF's queue) and on its VF (the VF's port
    VLAN); an untagged frame for it finds no route; a frame the guest tags itself is
    refused on both paths and counted."""
    tb, host = await npa_nic(dut, TbConfig(seed=13, vm_vfs=(1,)))
    vm = await host.boot_vm("vm1", VM1_MAC, 4 << 20, SecurityPolicy(port_vlan=PORT_VLAN))
    stack, sink = guest_stack(tb, vm)
    wire = InterfaceConfig(EXT_MAC, EXT_IP, vlan=PORT_VLAN)
    ext = ExternalHost(wire, tb.wire_in.send_nowait, now=tb.now_ns)
    tags: list[int | None] = []

    async def outside() -> None:
        while True:
            frame = bytes((await tb.wire_out.recv()).tdata)
            tags.append(Ether(frame).vlan if Ether(frame).type == 0x8100 else None)
            ext.receive(frame)

    cocotb.start_soon(outside())
    guest_tagged = Ether(dst=EXT_MAC, src=VM1_MAC) / Dot1Q(vlan=7) / (b"x" * 60)
    uplink = tb.num_func

    async def both_paths(ids: tuple[int, int]) -> None:
        ping = stack.ping(EXT_IP, count=2)
        await tb.wait_until("ping on the port VLAN", lambda: ping.received == 2)
        await udp_both_ways(tb, stack, sink, ext, ids, 10)
        assert tags and set(tags) == {PORT_VLAN}, set(tags)  # every frame out is tagged
        tags.clear()
        no_route0 = (await tb.pf.port_stats(uplink))["rx_dropped_no_route"]
        tb.wire_in.send_nowait(bytes(Ether(dst=VM1_MAC, src=EXT_MAC) / (b"u" * 60)))
        await tb.cycles(2_000)
        assert (await tb.pf.port_stats(uplink))["rx_dropped_no_route"] == no_route0 + 1
        vm.shell.xmit(bytes(guest_tagged))  # the guest tags a frame itself
        await tb.cycles(2_000)
        assert not tags, "a guest-tagged frame left the host"

    await both_paths((1, 2))
    assert host.vswitch.ports[VM1_MAC].stats["tx_dropped_vlan_policy"] == 1
    assert await host.attach_vf("vm1", 0, ring_a_image().pack())
    spoof0 = await tb.pf.vf_stats(0)
    await both_paths((3, 4))
    vf = await tb.pf.vf_stats(0)
    assert vf["tx_packets"] >= 12, vf  # the VF carried them, not the PF
    grown = {k: vf[k] - spoof0.get(k, 0) for k in vf if k.startswith("tx_dropped")}
    assert grown.pop("tx_dropped") == 1 and sum(grown.values()) == 1, (grown, vf)
    await host.detach_vf("vm1", "test")
    await both_paths((5, 6))


# ------------------------------------------------------------------ MTU trapped
MAX_MTU = 4000  # the port group's MTU in this test


@cocotb.test()
async def npa_mtu_trapped(dut) -> None:
    """The MTU a guest activates its device with is asked of the hypervisor: one at or
    below the port group's is approved and what passes follows it (the vswitch port
    while emulated, the VF's PORT_MAX_LEN once attached); one above is denied and
    changes nothing. A frame above the approved MTU is dropped and named: by the
    vswitch while emulated, by the switch (TOO_BIG) on the VF."""
    tb, host = await npa_nic(dut, TbConfig(seed=17, vm_vfs=(1, 2)))
    pol = SecurityPolicy(max_mtu=MAX_MTU)
    vm = await host.boot_vm("vm1", VM1_MAC, 4 << 20, pol, mtu=3000)
    big = await host.boot_vm("vm2", "02:00:00:00:02:01", 4 << 20, pol, mtu=9000)
    await host.control_done()
    mtu_events = {(e.vm, e.detail): e for e in host.control_log if e.op == "mtu"}
    assert mtu_events[("vm1", "3000")].allowed, mtu_events
    denied = mtu_events[("vm2", "9000")]
    assert not denied.allowed and f"MTU {MAX_MTU}" in denied.reason, denied
    assert (vm.max_frame, big.max_frame) == (3018, MAX_MTU + 18)  # MTU + 14 + 4

    stack, sink = guest_stack(tb, vm)
    ext = outside_host(tb)
    ping = stack.ping(EXT_IP, count=1)
    await tb.wait_until("ping", lambda: ping.received == 1)
    out_flow, in_id = stack.udp_flow(1, EXT_IP), 2
    ext.source(in_id, VM1_IP)
    uplink = tb.num_func

    async def sizes_through(rnd: int) -> None:
        """3018 (the approved limit) passes both ways, 3019 from outside does not."""
        first_seq = 3 * rnd  # of the inbound flow; the outbound one sends 2 per round
        for size in (2500, 3018):
            stack.send_flow(out_flow, size)
            ext.send(in_id, size)
        ext.send(in_id, 3019)
        await tb.cycles(4_000)
        got = sorted(sink.stats(in_id).seen - set(range(first_seq)))
        assert got == [first_seq, first_seq + 1], got  # the third one was too big
        assert ext.sink.stats(1).received == 2 * rnd + 2

    await sizes_through(0)
    dropped = [(w, r) for w, r, fr in host.vswitch.dropped if parse_flow(fr) == (in_id, 2)]
    assert dropped == [("vm1 device", "frame_too_big")], host.vswitch.dropped

    assert await host.attach_vf("vm1", 0, ring_a_image().pack())
    reg = Esw.BASE + POL_BASE + POL_STRIDE * 1 + PORT_MAX_LEN  # VF 0 is switch port 1
    assert await tb.bar(0).read(reg) == 3018
    too_big0 = (await tb.pf.port_stats(uplink))["rx_dropped_too_big"]
    await sizes_through(1)
    assert (await tb.pf.port_stats(uplink))["rx_dropped_too_big"] == too_big0 + 1
    await host.detach_vf("vm1", "test")
    assert await tb.bar(0).read(reg) == MAX_FRAME_BYTES  # released with the switch's own
