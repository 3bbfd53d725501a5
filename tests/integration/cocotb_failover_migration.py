"""Failover-mode live migration of a VM from host A's VF to host B's VF under traffic.

On sim/tops/two_host_top.sv (docs/MIGRATION.md §7), with the NPA test's parameters
and seed: the guest's failover device pairs the ordinary VF driver (primary) with
its vmxnet3 device (standby). tb/hypervisor/failover_migration.py hot-unplugs the
VF (modelled request, simulated removal and release), migrates the VM on the
standby as NPA does, and hot-plugs a VF of host B that the guest's driver probes
over the mailbox and the failover device registers. Checked: every lost frame is
at a named drop point, failover's own ones under their reasons (the two NIC
counters that see the unplug's RX loss agree); afterwards the VM's traffic crosses
host B's VF through the primary and none host B's PF; the ToR moved the VM's MAC to
host B; the events and phases (modelled hot-plug ones included) are in order; both
directions' gaps are measured; no IOMMU fault or host-bus error; the report is
JSON-clean.
"""

from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction

import cocotb
from scapy.layers.l2 import ARP, Ether

from tb.datacenter import Rack
from tb.datacenter.failover_run import run_failover
from tb.datacenter.migration_run import GuestSpec, RunParams
from tb.guest.failover import STANDBY_RX_DROPPED, FailoverDevice
from tb.guest.failover_slaves import VfPrimary
from tb.hypervisor.failover_migration import HOT_PLUG_S, HOT_UNPLUG_ACPI_S, FailoverMigration
from tests.integration import migration_checks as checks

VF = 0
NAME, MAC, IP = "vm1", "02:00:00:00:0a:01", "10.0.0.1"
PARAMS = RunParams(GuestSpec(NAME, MAC, IP, 8 << 20, VF), seed=41)  # the NPA test's
KNOWN_RX_REASONS = {
    "vm_paused (host a)",
    "vm_migrated (host a)",
    "no_such_vm (host a)",
    "rx_not_ready (host a)",
    "rx_not_ready (host b)",
    "nic_no_route (host a)",
    "vf_rx_ring_at_unplug",
    "vf_rx_at_unplug (host a)",
    "vf_rx_before_open (host b)",
    STANDBY_RX_DROPPED,
}


@cocotb.test()
async def failover_migration_a_to_b(dut) -> None:
    """A VM on host A's VF (primary) under its failover device migrates to host B's VF."""
    assert int(dut.NUM_VF.value) == 1
    rack = Rack(dut, PARAMS.rack_config())
    run = await run_failover(rack, PARAMS)
    result = run.migration
    failover: FailoverDevice = run.extras["failover"]
    mig: FailoverMigration = run.extras["migration"]
    dut._log.info("migration events: %s", [(e.name, e.t_ns) for e in result.events])
    assert [e.name for e in result.events] == [
        "start",
        "vf_released",
        *checks.SHARED_EVENTS,
        "vf_assigned",
        "primary_registered",
    ]
    phases = result.phases()
    assert [(ph.name, ph.kind) for ph in phases] == [
        ("hot_unplug_request", "modelled"),
        ("unplug", "simulated"),
        *checks.SHARED_PHASES,
        ("hot_plug_request", "modelled"),
        ("vf_probe_and_register", "simulated"),
    ]
    durations = {ph.name: ph.duration_s for ph in phases}
    assert durations["hot_unplug_request"] == Fraction(3, 2) == HOT_UNPLUG_ACPI_S
    assert durations["hot_plug_request"] == Fraction(1) == HOT_PLUG_S
    assert phases[0].at_ns == result.at("start")
    assert phases[7].at_ns == result.at("source_forgot")
    dut._log.info("phases: %s", [(ph.name, ph.kind, float(ph.duration_s)) for ph in phases])

    # After the migration: the VM's frames cross host B's VF through the primary.
    primary = failover.primary
    assert isinstance(primary, VfPrimary) and mig.dst_life is not None
    assert primary is mig.dst_life.primary and primary.mac == MAC
    assert primary.driver.bar.func == 1 + VF and primary.running
    checks.check_on_destination_vf(run)
    assert NAME in run.hosts["b"].vms and NAME not in run.hosts["a"].vms
    assert [vm.name for vm in rack.a.hv.vms] == [] and rack.a.iommu.has_domain(1 + VF) is False
    assert rack.b.iommu.has_domain(1 + VF)
    checks.check_tor_moved(run, MAC)
    checks.check_losses_placed(run)
    checks.check_pings_and_carrier(run)

    # The failover device: registered on A, unregistered at the unplug, registered on B.
    assert [what.split()[0] for _, what in failover.history] == [
        "registered",
        "unregistered",
        "registered",
    ]
    (t_reg_a, _), (t_unreg_a, _), (t_reg_b, _) = failover.history
    assert result.at("start") <= t_unreg_a <= result.at("vf_released")
    assert result.at("vf_assigned") <= t_reg_b <= result.at("primary_registered")
    # Standby RX dropped only while a primary was registered; among it the outside
    # host's ARP request for the VM (a broadcast: the eswitch floods it to the PF too).
    dropped = [d for d in failover.dropped if d.reason == STANDBY_RX_DROPPED]
    assert dropped, "no standby frame met the registered primary: the rule is untested"
    assert all(t_reg_a <= d.t <= t_unreg_a or d.t >= t_reg_b for d in dropped)
    arps = [Ether(d.frame) for d in dropped if ARP in Ether(d.frame)]
    assert any(a[ARP].op == 1 and a[ARP].pdst == IP and a.src == rack.outside.mac for a in arps)

    # Loss accounting: run_failover balanced sent = delivered + lost at named points.
    accounts = run.accounts
    dut._log.info("lost frames by drop point: %s", dict(run.ledger.lost))
    rec = mig.unplug
    # Two NIC counters see the frames sent to the VF after its RX queue stopped.
    assert rec.rx_dropped == rec.rxq_drops, (rec.rx_dropped, rec.rxq_drops)
    # TX: only what the VF's TX ring held when it was unplugged (UDP and ICMP alike)
    tx_lost = Counter[str]()
    for a in accounts:
        if not a.to_vm:
            tx_lost.update(a.lost)
    assert tx_lost == Counter({"vf_tx_ring_at_unplug": len(rec.tx_lost)}), tx_lost
    rx_lost = Counter[str]()
    for a in accounts:
        if a.to_vm:
            assert set(a.lost) <= KNOWN_RX_REASONS, a.lost
            rx_lost.update(a.lost)
    assert accounts[1].lost, "no frame met the migration: the check proves nothing"
    tracked = sum(1 for d in dropped if run.work.classify(d.frame) is not None)
    assert rx_lost[STANDBY_RX_DROPPED] == tracked
    assert rx_lost["vf_rx_at_unplug (host a)"] == rec.rx_dropped
    assert rx_lost["vf_rx_ring_at_unplug"] == len(rec.rx_unreaped)
    for acct in accounts:
        assert (acct.duplicates, acct.corrupted) == (0, 0), acct
    # Guest-visible downtime per direction, simulated part.
    gaps, pause = checks.check_hosts_and_gaps(run)
    report = json.loads(json.dumps(run.report()))
    assert report["mode"] == "failover"
    assert report["downtime"]["outside -> vm"]["simulated_ms"] == gaps["outside -> vm"] / 1e6
    assert (report["tx_lost"], report["rx_lost"]) == (tx_lost.total(), rx_lost.total())
    dut._log.info(
        "FAILOVER FIGURES: gaps vm -> outside %d ns, outside -> vm %d ns (paused %d ns); "
        "modelled stop-and-copy %.1f ms, hot-unplug %.1f s, hot-plug %.1f s; "
        "downtime %s; lost %s; reordered %s; unplug: %d TX pending, %d lost, "
        "%d RX unreaped, %d RX dropped (RXQ_DROPS %d); path time %s",
        *gaps.values(), pause,
        report["downtime"]["vm -> outside"]["modelled_ms"],
        float(HOT_UNPLUG_ACPI_S), float(HOT_PLUG_S),
        report["downtime"], {a.name: a.lost for a in accounts},
        [a.reordered for a in accounts],
        rec.tx_pending, len(rec.tx_lost), len(rec.rx_unreaped), rec.rx_dropped, rec.rxq_drops,
        report["path_time_s"],
    )  # fmt: skip
