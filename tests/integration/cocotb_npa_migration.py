"""NPA live migration of a VM from host A (vendor-A VF) to host B (vendor-B VF) under traffic.

On sim/tops/two_host_top.sv (docs/MIGRATION.md §4): the VM runs vendor A's plugin on
host A's VF while UDP flows run both ways with the outside host behind the
top-of-rack switch. tb/hypervisor/migration.py takes it back to the emulated path,
releases the VF, pauses it, copies its memory to host B, resumes it there on the
emulated path, announces its MAC (RARP), lets host A forget it and attaches host
B's VF with vendor B's plugin; the flows never stop (the VM's own sending pauses
with its vCPUs). Checked: no frame the VM sent is lost, duplicated or reordered;
every frame lost on the way to the VM is at a named drop point (host A's vswitch,
host B's vswitch, host A's NIC without a route), count for count; the ToR moved
the VM's MAC to host B's port; afterwards the VM's traffic crosses host B's VF
(host B's switch counters) with vendor B's plugin, and host A holds nothing of it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import cocotb

from tb.datacenter import PORT_HOST_A, PORT_HOST_B, PORT_OUTSIDE, Rack, RackConfig
from tb.env import TbConfig
from tb.guest.flow_receiver import FlowReceiver
from tb.guest.flows import UdpFlow, parse_flow
from tb.guest.stack import InterfaceConfig, NetStack, TxOutcome, UdpDatagram, UdpHandler
from tb.hypervisor.migration import NpaMigration, rarp_frame
from tb.hypervisor.migration_model import PrecopyParams
from tb.plugin_model import RingAPlugin, RingBPlugin
from tb.ref.regmap import Esw, PortCounter
from tb.shell_model.npa_shell import ShellMode

VM_MEM = 8 << 20
VF = 0
NAME, MAC, IP = "vm1", "02:00:00:00:0a:01", "10.0.0.1"
SIZES = (64, 1518, 300, 1000, 128, 576)
PACE = 150  # cycles between rounds
BEFORE, AFTER = 30, 40  # rounds before the migration starts and after it ended
QUIET = 20_000
SAMPLE_NS = 20_000  # simulated traffic on the emulated path whose dirty pages are measured
UPLINK = 2  # the uplink's switch port on a 1-VF nic_top (PF 0, VF 1)


@dataclass
class Flow:
    name: str
    flow: UdpFlow
    sender: NetStack
    rx: FlowReceiver
    from_vm: bool
    sent: int = 0


async def settle(flows: list[Flow], rack: Rack, quiet_cycles: int) -> None:
    """Until every frame sent arrived, or none arrived for ``quiet_cycles``."""
    total = sum(f.sent for f in flows)
    quiet, last = 0, -1
    while (got := sum(f.rx.stats(f.flow.flow_id).received for f in flows)) < total:
        quiet = quiet + 500 if got == last else 0
        if quiet >= quiet_cycles:
            return  # the rest is lost; the accounting must name every one
        last = got
        await rack.cycles(500)


async def no_route_drops(rack: Rack, host: str) -> int:
    """DROP_NO_ROUTE of a host's uplink port: frames from the wire with nowhere to go."""
    base = Esw.CNT_BASE + UPLINK * Esw.CNT_STRIDE
    return await rack.hosts[host].bar(0).read(base + PortCounter.DROP_NO_ROUTE)


@cocotb.test()
async def npa_migration_a_to_b(dut) -> None:
    """A VM on vendor A's VF of host A migrates to vendor B's VF of host B under traffic."""
    assert int(dut.NUM_VF.value) == 1
    rack = Rack(
        dut,
        RackConfig(
            host_a=TbConfig(seed=41, vm_vfs=(1 + VF,)),
            host_b=TbConfig(seed=42, vm_vfs=(1 + VF,)),
        ),
    )
    await rack.reset()
    npa = {}
    for h, tb in rack.hosts.items():
        await tb.pf.probe()
        await tb.pf.enable_sriov(tb.num_vf)
        npa[h] = await tb.npa_host()
    v = await npa["a"].boot_vm(NAME, MAC, VM_MEM)
    stack = NetStack(InterfaceConfig(MAC, IP), v.shell.xmit, now=rack.now_ns, name=NAME)
    sink = FlowReceiver()
    arrivals: dict[int, list[int]] = {1: [], 2: []}  # flow id: arrival times (ns)

    def timed(receiver: FlowReceiver, flow_id: int) -> UdpHandler:
        def deliver(dgram: UdpDatagram) -> None:
            arrivals[flow_id].append(rack.now_ns())
            receiver.deliver(dgram)

        return deliver

    stack.bind_udp(6000, timed(sink, 2))
    refused: list[bytes] = []

    def receive(frame: bytes) -> None:
        before = stack.counters.foreign_total()
        stack.receive(frame)
        if stack.counters.foreign_total() != before:
            refused.append(frame)

    v.shell.receiver = receive
    assert await npa["a"].attach_vf(NAME, VF)
    assert isinstance(v.shell.plugin, RingAPlugin)
    ext, ext_ip = rack.outside, rack.cfg.outside_ip
    ext.unbind_udp(6000)  # the outside host's flow sink, timed
    ext.bind_udp(6000, timed(ext.sink, 1))
    pings = [stack.ping(ext_ip, 1), ext.ping(IP, 1)]
    await rack.a.wait_until("pings", lambda: all(p.received == 1 for p in pings))
    assert rack.tor.lookup(MAC, rack.now_ns()) == PORT_HOST_A

    flows = [
        Flow("vm -> outside", stack.udp_flow(1, ext_ip), stack, ext.sink, True),
        Flow("outside -> vm", ext.source(2, IP), ext, sink, False),
    ]
    rarps: list[tuple[int, int, tuple[int, ...]]] = []  # (ingress port, ns, egress ports)

    def watch_rarp(port: int, frame: bytes, out, now: int) -> None:
        if frame == rarp_frame(MAC):
            rarps.append((port, now, out.ports))

    rack.observers.append(watch_rarp)
    mig = NpaMigration(NAME, npa["a"], npa["b"], VF, precopy=PrecopyParams(), sample_ns=SAMPLE_NS)
    rounds = 0

    async def traffic(n: int) -> None:
        nonlocal rounds
        for _ in range(n):
            for f in flows:
                if f.from_vm and mig.paused:
                    continue  # the guest's vCPUs are stopped
                out = f.sender.send_flow(f.flow, SIZES[(rounds + f.flow.flow_id) % len(SIZES)])
                assert out is not TxOutcome.NO_ROUTE, f.name
                f.sent += 1
            rounds += 1
            await rack.cycles(PACE)

    no_route0 = await no_route_drops(rack, "a")
    await traffic(BEFORE)
    running = cocotb.start_soon(mig.run())
    while not running.done():
        await traffic(1)
    result = running.result()
    dut._log.info("migration events: %s", [(e.name, e.t_ns) for e in result.events])
    assert result.plugin_attached
    assert [e.name for e in result.events] == [
        "start",
        "emulated_on_source",
        "precopy_sampled",
        "paused",
        "copied",
        "resumed_on_destination",
        "announced",
        "source_forgot",
        "plugin_on_destination",
    ]
    assert result.announce_offsets_ns == [0, 50_000_000, 200_000_000, 450_000_000, 800_000_000]
    # The modelled copy (defaults: 2 GiB, 100 MB/s, 10 Gbit/s, 300 ms): round 0 sends
    # 2 GiB in 1.717986918 s, in which 100 MB/s dirty 41,944 pages (171,802,624 bytes),
    # plus the working set the RX traffic rewrote in the sample: under 375 MB, so the
    # stop-and-copy follows with that and the 1 MiB device state.
    wws = result.working_set_pages * 4096
    assert 0 < result.working_set_pages <= VM_MEM // 4096
    plan = result.precopy
    assert plan is not None and plan.converged and len(plan.rounds) == 1
    assert (plan.rounds[0].bytes_sent, plan.rounds[0].dirtied_bytes) == (2 << 30, 171_802_624 + wws)
    assert plan.downtime_s == Fraction(171_802_624 + wws + (1 << 20), 1_250_000_000)
    phases = result.phases()
    assert [(ph.name, ph.kind) for ph in phases] == [
        ("back_to_emulated", "simulated"),
        ("precopy_sample", "simulated"),
        ("precopy", "modelled"),
        ("stop_and_copy", "modelled"),
        ("pause_to_resume", "simulated"),
        ("announce_and_source_teardown", "simulated"),
        ("vf_attach", "simulated"),
    ]
    assert phases[1].duration_s >= Fraction(SAMPLE_NS, 10**9)
    dut._log.info(
        "phases: %s; working set %d pages",
        [(ph.name, ph.kind, float(ph.duration_s)) for ph in phases],
        result.working_set_pages,
    )
    # After the migration: vm's frames cross host B's VF, none host B's PF port.
    await settle(flows, rack, 3_000)  # what was on its way during the migration lands
    b_ports0 = {p: await rack.b.pf.port_stats(p) for p in (0, 1)}
    snap = [(f.sent, f.rx.stats(f.flow.flow_id).received) for f in flows]
    await traffic(AFTER)
    await settle(flows, rack, QUIET)
    b_ports = {p: await rack.b.pf.port_stats(p) for p in (0, 1)}
    sent_after = [f.sent - s for f, (s, _) in zip(flows, snap, strict=True)]
    got_after = [
        f.rx.stats(f.flow.flow_id).received - r for f, (_, r) in zip(flows, snap, strict=True)
    ]
    assert got_after == sent_after, "frames lost after the migration ended"
    assert b_ports[1]["rx_packets"] - b_ports0[1]["rx_packets"] == sent_after[0]
    assert b_ports[1]["tx_packets"] - b_ports0[1]["tx_packets"] == sent_after[1]
    assert b_ports[0]["rx_packets"] == b_ports0[0]["rx_packets"]

    # The guest sees one interface, now on vendor B's plugin, on host B.
    assert v.shell.mode is ShellMode.PLUGIN and isinstance(v.shell.plugin, RingBPlugin)
    assert NAME in npa["b"].vms and NAME not in npa["a"].vms
    assert [vm.name for vm in rack.a.hv.vms] == [] and rack.a.iommu.has_domain(1 + VF) is False
    assert rack.b.iommu.has_domain(1 + VF)
    # The ToR moved the VM's MAC to host B's port, on host B's RARP.
    assert rack.tor.lookup(MAC, rack.now_ns()) == PORT_HOST_B
    assert [(m.mac, m.old_port, m.new_port) for m in rack.tor.moves] == [
        (MAC, PORT_HOST_A, PORT_HOST_B)
    ]
    # One RARP, from host B's port, flooded to host A and the outside; it moved the entry
    # (the VM itself sent nothing from host B before it).
    assert [(p, out) for p, _, out in rarps] == [(PORT_HOST_B, (PORT_HOST_A, PORT_OUTSIDE))]
    assert rack.tor.moves[0].time == rarps[0][1] >= result.at("announced")

    # Loss accounting: sent = delivered + lost at named points.
    named: Counter[tuple[int, str]] = Counter()
    for h in ("a", "b"):
        for where, reason, frame in npa[h].vswitch.dropped:
            if (ids := parse_flow(frame)) is not None:
                named[ids[0], f"host {h} {where}: {reason}"] += 1
    for frame in refused:
        if (ids := parse_flow(frame)) is not None:
            named[ids[0], "guest stack refused"] += 1
    no_route = await no_route_drops(rack, "a") - no_route0
    if no_route:
        named[2, "host a NIC: no route"] += no_route  # only the flow to the VM goes there
    dut._log.info("lost frames by drop point: %s", dict(named))
    for f in flows:
        f.rx.set_sent(f.flow.flow_id, f.sent)
        st = f.rx.stats(f.flow.flow_id)
        assert (st.duplicated, st.reordered, st.corrupted) == (0, 0, 0), (f.name, st)
        lost_named = sum(n for (fid, _), n in named.items() if fid == f.flow.flow_id)
        assert st.lost == lost_named, (f.name, st.lost, lost_named, dict(named))
    assert flows[0].rx.stats(1).lost == 0, "NPA lost frames the VM sent"
    assert flows[1].rx.stats(2).lost > 0, "no frame met the pause: the check proves nothing"
    for tb in rack.hosts.values():
        assert not tb.iommu.faults and not tb.host_bus.errors
    # Guest-visible downtime per direction, simulated part: the longest gap between two
    # arrivals while the migration ran. No frame can arrive while the VM is paused.
    start, end = result.at("start"), result.at("plugin_on_destination")
    pause = result.at("resumed_on_destination") - result.at("paused")
    gaps = {}
    for fid, times in arrivals.items():
        inside = [t for t in times if start <= t <= end + 20_000]
        gaps[fid] = max(b - a for a, b in pairwise(inside))
        assert gaps[fid] >= pause, (fid, gaps[fid], pause)
    dut._log.info(
        "simulated downtime: vm -> outside %d ns, outside -> vm %d ns (paused %d ns); "
        "modelled stop-and-copy %.1f ms",
        gaps[1], gaps[2], pause, float(plan.downtime_s) * 1e3,
    )  # fmt: skip
    dut._log.info("flows: %s", [(f.name, f.sent) for f in flows])
