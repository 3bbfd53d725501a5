"""Two hosts in one simulation (sim/tops/two_host_top.sv, docs/MIGRATION.md): the smoke test.

Host A (vendor-A VFs, ring format A) and host B (vendor-B VFs, ring format B) each
come up on their own clock, host memory, IOMMU and HDL host bus instance: PF driver,
SR-IOV enabled, the NPA host. One VM per host boots on the emulated vmxnet3 device
and moves to its host's VF with that vendor's plugin. Pings and UDP flows run
between each VM and the outside host behind the top-of-rack switch; every flow is
checked frame by frame (sequence, duplicates, reordering, payload), the ToR must
have learned each VM's MAC on its host's port, and each host's switch counters must
show the VM's frames on its VF's port and none on the PF's.
"""

from __future__ import annotations

import cocotb

from tb.datacenter import PORT_HOST_A, PORT_HOST_B, PORT_OUTSIDE, Rack, RackConfig
from tb.datacenter.workload import Flow
from tb.env import NicTb, TbConfig
from tb.guest.flow_receiver import FlowReceiver
from tb.guest.stack import InterfaceConfig, NetStack, TxOutcome
from tb.hypervisor.npa import NpaHost
from tb.plugin_model import RingAPlugin, RingBPlugin
from tb.ref.regmap import RING_A_IDENTITY, RING_B_IDENTITY
from tb.shell_model.npa_shell import ShellMode

VM_MEM = 8 << 20  # vendor A's plugin takes 2.4 MB of the VM at its attach (docs/NPA.md)
VF = 0  # `ip link`'s vf 0: function 1, the only VF of each host
VMS = {  # host: (VM name, MAC, IP, plugin class, VF identity)
    "a": ("vm_a", "02:00:00:00:0a:01", "10.0.0.1", RingAPlugin, RING_A_IDENTITY),
    "b": ("vm_b", "02:00:00:00:0b:01", "10.0.0.2", RingBPlugin, RING_B_IDENTITY),
}
SIZES = (64, 1518, 300, 1000, 128, 576)
ROUNDS = 40  # one frame of every flow per round
PACE = 150  # cycles between rounds
QUIET = 20_000  # cycles without an arrival that end the wait for the rest


async def vm_on_vf(tb: NicTb, host: str) -> tuple[NpaHost, NetStack, FlowReceiver]:
    """Host ``host`` up (PF driver, SR-IOV, NPA), its VM booted and moved to its VF."""
    name, mac, ip, plugin, identity = VMS[host]
    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    npa = await tb.npa_host()
    assert await npa.vf_identity(1 + VF) == identity, f"host {host}: wrong VF flavour"
    v = await npa.boot_vm(name, mac, VM_MEM)
    stack = NetStack(InterfaceConfig(mac, ip), v.shell.xmit, now=tb.now_ns, name=name)
    sink = FlowReceiver()
    stack.bind_udp(6000, sink.deliver)
    v.shell.receiver = stack.receive
    assert await npa.attach_vf(name, VF), f"{name}: plugin refused"
    assert v.shell.mode is ShellMode.PLUGIN
    assert isinstance(v.shell.plugin, plugin), type(v.shell.plugin)
    return npa, stack, sink


@cocotb.test()
async def two_hosts_through_the_tor(dut) -> None:
    """Both hosts up, a VM per host on its vendor's VF, UDP and ping with the outside host."""
    assert int(dut.NUM_VF.value) == 1
    rack = Rack(
        dut,
        RackConfig(
            host_a=TbConfig(seed=31, vm_vfs=(1 + VF,)),
            host_b=TbConfig(seed=32, vm_vfs=(1 + VF,)),
        ),
    )
    # Each host has its own host bus state in C and its own uplink channels.
    assert rack.a.host_bus.instance != rack.b.host_bus.instance
    assert {rack.a.wire_in.channel, rack.a.wire_out.channel}.isdisjoint(
        {rack.b.wire_in.channel, rack.b.wire_out.channel}
    )
    assert rack.a.ring_fmt(1).name == "A" and rack.b.ring_fmt(1).name == "B"
    await rack.reset()
    npa_a, s_a, sink_a = await vm_on_vf(rack.a, "a")
    npa_b, s_b, sink_b = await vm_on_vf(rack.b, "b")
    ext = rack.outside
    ext_ip = rack.cfg.outside_ip

    # Pings both ways fill every ARP cache (and the ToR's table).
    pings = [s_a.ping(ext_ip, 2), s_b.ping(ext_ip, 2)]
    pings += [ext.ping(VMS["a"][2], 2), ext.ping(VMS["b"][2], 2)]
    await rack.hosts["a"].wait_until("pings", lambda: all(p.received == 2 for p in pings))
    now = rack.now_ns()
    assert rack.tor.lookup(VMS["a"][1], now) == PORT_HOST_A
    assert rack.tor.lookup(VMS["b"][1], now) == PORT_HOST_B
    assert rack.tor.lookup(rack.cfg.outside_mac, now) == PORT_OUTSIDE

    flows = [
        Flow("vm_a -> outside", s_a.udp_flow(1, ext_ip), s_a, ext.sink),
        Flow("outside -> vm_a", ext.source(2, VMS["a"][2]), ext, sink_a),
        Flow("vm_b -> outside", s_b.udp_flow(3, ext_ip), s_b, ext.sink),
        Flow("outside -> vm_b", ext.source(4, VMS["b"][2]), ext, sink_b),
    ]
    ports0 = {h: {p: await rack.hosts[h].pf.port_stats(p) for p in (0, 1)} for h in "ab"}
    tor0 = [(c.rx_frames, c.tx_frames) for c in rack.tor.counters]
    for r in range(ROUNDS):
        for f in flows:
            out = f.sender.send_flow(f.flow, SIZES[(r + f.flow.flow_id) % len(SIZES)])
            assert out is not TxOutcome.NO_ROUTE, f.name
            f.sent += 1
        await rack.cycles(PACE)
    total = sum(f.sent for f in flows)
    quiet, last = 0, -1
    while (got := sum(f.rx.stats(f.flow.flow_id).received for f in flows)) < total:
        quiet = quiet + 500 if got == last else 0
        assert quiet < QUIET, f"{total - got} frames never arrived"
        last = got
        await rack.cycles(500)

    for f in flows:  # every flow whole, in order, intact
        f.rx.set_sent(f.flow.flow_id, f.sent)
        st = f.rx.stats(f.flow.flow_id)
        assert (st.received, st.lost, st.duplicated, st.reordered, st.corrupted) == (
            ROUNDS,
            0,
            0,
            0,
            0,
        ), (f.name, st)

    # Each host's switch: the VM's frames crossed its VF's port (1), none the PF's (0).
    for h, (to_out, from_out) in {"a": (0, 1), "b": (2, 3)}.items():
        after = {p: await rack.hosts[h].pf.port_stats(p) for p in (0, 1)}
        vf_rx = after[1]["rx_packets"] - ports0[h][1]["rx_packets"]
        vf_tx = after[1]["tx_packets"] - ports0[h][1]["tx_packets"]
        assert (vf_rx, vf_tx) == (flows[to_out].sent, flows[from_out].sent), (h, vf_rx, vf_tx)
        pf_moved = [after[0][k] - ports0[h][0][k] for k in ("rx_packets", "tx_packets")]
        assert pf_moved == [0, 0], (h, pf_moved)
    # The ToR: host A's port took vm_a's frames and gave it the outside's, and so on.
    tor = [
        (c.rx_frames - r0, c.tx_frames - t0)
        for c, (r0, t0) in zip(rack.tor.counters, tor0, strict=True)
    ]
    assert tor[PORT_HOST_A] == (flows[0].sent, flows[1].sent), tor
    assert tor[PORT_HOST_B] == (flows[2].sent, flows[3].sent), tor
    assert tor[PORT_OUTSIDE] == (flows[1].sent + flows[3].sent, flows[0].sent + flows[2].sent)
    assert not any(c.drops for c in rack.tor.counters), rack.tor.summary()
    for tb in rack.hosts.values():
        assert not tb.iommu.faults and not tb.host_bus.errors
    for npa in (npa_a, npa_b):  # nothing dropped by either host's vswitch
        assert not npa.vswitch.dropped, npa.vswitch.dropped[:5]
    dut._log.info("ToR:\n%s", rack.tor.summary())
