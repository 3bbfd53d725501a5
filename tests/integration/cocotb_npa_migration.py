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

from fractions import Fraction

import cocotb

from tb.datacenter import PORT_HOST_A, PORT_HOST_B, PORT_OUTSIDE, Rack, RackConfig
from tb.datacenter.workload import TO_OUTSIDE, TO_VM, LossLedger, VmWorkload, run_with_traffic
from tb.env import TbConfig
from tb.guest.stack import InterfaceConfig, NetStack
from tb.hypervisor.migration import NpaMigration, rarp_frame
from tb.hypervisor.migration_model import PrecopyParams
from tb.plugin_model import RingAPlugin, RingBPlugin
from tb.ref.regmap import Esw, PortCounter
from tb.shell_model.npa_shell import ShellMode

VM_MEM = 8 << 20
VF = 0
NAME, MAC, IP = "vm1", "02:00:00:00:0a:01", "10.0.0.1"
BEFORE, AFTER = 30, 40  # rounds before the migration starts and after it ended
QUIET = 20_000
SAMPLE_NS = 20_000  # simulated traffic on the emulated path whose dirty pages are measured
UPLINK = 2  # the uplink's switch port on a 1-VF nic_top (PF 0, VF 1)


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
    mig = NpaMigration(NAME, npa["a"], npa["b"], VF, precopy=PrecopyParams(), sample_ns=SAMPLE_NS)
    work = VmWorkload(rack, stack, vm_paused=lambda: mig.paused)
    v.shell.receiver = work.receive
    assert await npa["a"].attach_vf(NAME, VF)
    assert isinstance(v.shell.plugin, RingAPlugin)
    await work.ping_both_ways()
    assert rack.tor.lookup(MAC, rack.now_ns()) == PORT_HOST_A
    flows = work.flows
    rarps: list[tuple[int, int, tuple[int, ...]]] = []  # (ingress port, ns, egress ports)

    def watch_rarp(port: int, frame: bytes, out, now: int) -> None:
        if frame == rarp_frame(MAC):
            rarps.append((port, now, out.ports))

    rack.observers.append(watch_rarp)
    no_route0 = await no_route_drops(rack, "a")
    await work.traffic(BEFORE)
    result = await run_with_traffic(work, mig.run())
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
    await work.settle(3_000)  # what was on its way during the migration lands
    b_ports0 = {p: await rack.b.pf.port_stats(p) for p in (0, 1)}
    snap = work.snapshot()
    await work.traffic(AFTER)
    await work.settle(QUIET)
    b_ports = {p: await rack.b.pf.port_stats(p) for p in (0, 1)}
    sent_after, got_after = work.since(snap)
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
    ledger = LossLedger()
    for h in ("a", "b"):
        ledger.add_vswitch(h, npa[h].vswitch.dropped)
    ledger.add_frames("guest stack refused", work.refused)
    # only the flow to the VM goes to host A's uplink
    ledger.add_count(TO_VM, "nic_no_route (host a)", await no_route_drops(rack, "a") - no_route0)
    dut._log.info("lost frames by drop point: %s", dict(ledger.named))
    accounts = ledger.balance(flows)  # raises unless every loss is named, count for count
    for acct in accounts:
        assert (acct.duplicates, acct.reordered, acct.corrupted) == (0, 0, 0), acct
    assert accounts[0].lost == {}, "NPA lost frames the VM sent"
    assert accounts[1].lost, "no frame met the pause: the check proves nothing"
    for tb in rack.hosts.values():
        assert not tb.iommu.faults and not tb.host_bus.errors
    # Guest-visible downtime per direction, simulated part: the longest gap between two
    # arrivals while the migration ran. No frame can arrive while the VM is paused.
    start, end = result.at("start"), result.at("plugin_on_destination")
    pause = result.at("resumed_on_destination") - result.at("paused")
    gaps = {f.flow_id: f.longest_gap_ns(start, end + 20_000) for f in flows}
    for fid, gap in gaps.items():
        assert gap >= pause, (fid, gap, pause)
    dut._log.info(
        "simulated downtime: vm -> outside %d ns, outside -> vm %d ns (paused %d ns); "
        "modelled stop-and-copy %.1f ms",
        gaps[TO_OUTSIDE], gaps[TO_VM], pause, float(plan.downtime_s) * 1e3,
    )  # fmt: skip
    dut._log.info("flows: %s", [(f.name, f.sent) for f in flows])
