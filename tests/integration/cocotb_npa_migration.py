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

import json
from dataclasses import replace
from fractions import Fraction

import cocotb

from tb.datacenter import PORT_HOST_A, PORT_HOST_B, PORT_OUTSIDE, Rack
from tb.datacenter.migration_run import GuestSpec, RunParams, run_npa
from tb.hypervisor.migration import AnnounceSchedule
from tb.plugin_model import RingBPlugin
from tb.shell_model.npa_shell import ShellMode
from tests.integration.migration_checks import (
    SHARED_EVENTS,
    SHARED_PHASES,
    check_hosts_and_gaps,
    check_losses_placed,
    check_on_destination_vf,
    check_pings_and_carrier,
    check_tor_moved,
)

VF = 0
NAME, MAC = "vm1", "02:00:00:00:0a:01"
PARAMS = RunParams(GuestSpec(NAME, MAC, "10.0.0.1", 8 << 20, VF), seed=41)


@cocotb.test()
async def npa_migration_a_to_b(dut) -> None:
    """A VM on vendor A's VF of host A migrates to vendor B's VF of host B under traffic."""
    assert int(dut.NUM_VF.value) == 1
    rack = Rack(dut, PARAMS.rack_config())
    run = await run_npa(rack, PARAMS)
    result, npa = run.migration, run.hosts
    v = npa["b"].vms[NAME]
    dut._log.info("migration events: %s", [(e.name, e.t_ns) for e in result.events])
    assert result.plugin_attached
    assert [e.name for e in result.events] == [
        "start",
        "emulated_on_source",
        *SHARED_EVENTS,
        "plugin_on_destination",
    ]
    assert result.announce_offsets_ns == [0, 50_000_000, 200_000_000, 450_000_000, 800_000_000]
    # The modelled copy (defaults: 2 GiB, 100 MB/s, 10 Gbit/s, 300 ms): round 0 sends
    # 2 GiB in 1.717986918 s, in which 100 MB/s dirty 41,944 pages (171,802,624 bytes),
    # plus the working set the RX traffic rewrote in the sample: under 375 MB, so the
    # stop-and-copy follows with that and the 1 MiB device state.
    wws = result.working_set_pages * 4096
    assert 0 < result.working_set_pages <= PARAMS.guest.mem_bytes // 4096
    plan = result.precopy
    assert plan is not None and plan.converged and len(plan.rounds) == 1
    assert (plan.rounds[0].bytes_sent, plan.rounds[0].dirtied_bytes) == (2 << 30, 171_802_624 + wws)
    assert plan.downtime_s == Fraction(171_802_624 + wws + (1 << 20), 1_250_000_000)
    phases = result.phases()
    assert [(ph.name, ph.kind) for ph in phases] == [
        ("back_to_emulated", "simulated"),
        *SHARED_PHASES,
        ("vf_attach", "simulated"),
    ]
    assert phases[1].duration_s >= Fraction(PARAMS.sample_ns, 10**9)
    dut._log.info(
        "phases: %s; working set %d pages",
        [(ph.name, ph.kind, float(ph.duration_s)) for ph in phases],
        result.working_set_pages,
    )
    # After the migration: vm's frames cross host B's VF, none host B's PF port.
    check_on_destination_vf(run)

    # The guest sees one interface, now on vendor B's plugin, on host B.
    assert v.shell.mode is ShellMode.PLUGIN and isinstance(v.shell.plugin, RingBPlugin)
    assert NAME in npa["b"].vms and NAME not in npa["a"].vms
    assert [vm.name for vm in rack.a.hv.vms] == [] and rack.a.iommu.has_domain(1 + VF) is False
    assert rack.b.iommu.has_domain(1 + VF)
    check_tor_moved(run, MAC)
    check_losses_placed(run)
    check_pings_and_carrier(run)

    # Loss accounting: run_npa balanced sent = delivered + lost at named points, for
    # the UDP flows and the ping frames alike.
    accounts = run.accounts
    dut._log.info("lost frames by drop point: %s", dict(run.ledger.lost))
    for acct in accounts:
        assert (acct.duplicates, acct.reordered, acct.corrupted) == (0, 0, 0), acct
    assert [a.lost for a in accounts if not a.to_vm] == [{}, {}], "NPA lost frames the VM sent"
    assert accounts[1].lost, "no frame met the pause: the check proves nothing"
    # Guest-visible downtime per direction, simulated part: the longest gap between two
    # arrivals while the migration ran.
    gaps, pause = check_hosts_and_gaps(run)
    dut._log.info(
        "simulated downtime: vm -> outside %d ns, outside -> vm %d ns (paused %d ns); "
        "modelled stop-and-copy %.1f ms",
        *gaps.values(), pause, float(plan.downtime_s) * 1e3,
    )  # fmt: skip
    dut._log.info("flows: %s", [(a.name, a.sent) for a in accounts])
    report = json.loads(json.dumps(run.report()))  # what the scenario writes, JSON-clean
    rx_lost = sum(a.lost_total for a in accounts if a.to_vm)
    assert (report["tx_lost"], report["rx_lost"]) == (0, rx_lost)
    assert report["pings"]["outside -> vm"]["sent"] == run.work.pings.from_ext.sent
    assert report["downtime"]["outside -> vm"]["simulated_ms"] == gaps["outside -> vm"] / 1e6


# A short announce schedule (the mechanism is QEMU's; the times fit a short run):
# rounds at 0, 4, 10, 18 and 28 µs after the resume.
SHORT_ANNOUNCE = AnnounceSchedule(initial_ns=4_000, rounds=5, step_ns=2_000, max_ns=20_000)
RARP_PATH_NS = 3_000  # vswitch -> PF queue -> switch -> uplink -> ToR, at most


@cocotb.test()
async def npa_migration_announce_rounds(dut) -> None:
    """Every round of a configured announce schedule goes on the wire from host B's port,
    on time; the ToR moves the VM's MAC once, on the first."""
    params = replace(PARAMS, announce=SHORT_ANNOUNCE, rounds_after=40)
    rack = Rack(dut, params.rack_config())
    run = await run_npa(rack, params)
    result = run.migration
    assert SHORT_ANNOUNCE.offsets_ns() == [0, 4_000, 10_000, 18_000, 28_000]
    resumed = result.at("resumed_on_destination")
    assert len(result.announced_ns) == SHORT_ANNOUNCE.rounds, result.announced_ns
    for sent, offset in zip(result.announced_ns, SHORT_ANNOUNCE.offsets_ns(), strict=True):
        assert resumed + offset <= sent <= resumed + offset + 8, (sent, offset)
    assert [p for p, _, _ in run.rarps] == [PORT_HOST_B] * SHORT_ANNOUNCE.rounds
    for (_, seen, out), sent in zip(run.rarps, result.announced_ns, strict=True):
        assert sent <= seen <= sent + RARP_PATH_NS, (sent, seen)
        assert out == (PORT_HOST_A, PORT_OUTSIDE)
    assert [(m.old_port, m.new_port) for m in rack.tor.moves] == [(PORT_HOST_A, PORT_HOST_B)]
    assert run.report()["announce"]["sent_ns"] == result.announced_ns
    dut._log.info("announce rounds sent %s, at the ToR %s", result.announced_ns, run.rarps)
