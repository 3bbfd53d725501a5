"""Abort and roll back (docs/MIGRATION.md §10) on two_host_top under traffic.

``MIGRATION_ABORT`` = ``<mode>/<case>``: mode ``npa`` or ``failover``; case
``no_vf_free`` (host B's VF belongs to another VM), ``wrong_plugin`` (host B has no
plugin for its VF's vendor), ``link_precopy`` / ``link_stop_and_copy`` (the migration
link fails halfway through that modelled phase). Checked against what the rack saw:
the migration stopped for that reason; the VM never left host A (the ToR never moved
its MAC, no RARP, host B holds nothing of it) and its traffic crosses host A's VF
again on the plugin or primary it had; every frame either arrived or is lost under a
named reason (the ledger balanced), none after the roll back; the phases name the
roll back and, for a link fault, the modelled phase cut at the fault.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import cocotb

from tb.datacenter import PORT_HOST_A, Rack
from tb.datacenter.failover_run import run_failover
from tb.datacenter.migration_run import GuestSpec, RunParams, run_npa
from tb.hypervisor.migration import LinkFault
from tb.hypervisor.migration_model import PrecopyParams
from tb.plugin_model import RingAPlugin
from tb.shell_model.npa_shell import ShellMode

NAME, MAC = "vm1", "02:00:00:00:0a:01"
BASE = RunParams(GuestSpec(NAME, MAC, "10.0.0.1", 8 << 20, 0), rounds_after=24, seed=41)
CASES = {
    "no_vf_free": ("no_vf_free", replace(BASE, refusal="no_vf_free")),
    "wrong_plugin": ("plugin_refused", replace(BASE, refusal="wrong_plugin")),
    "link_precopy": ("link_lost", replace(BASE, link_fault=LinkFault("precopy"))),
    "link_stop_and_copy": ("link_lost", replace(BASE, link_fault=LinkFault("stop_and_copy"))),
}


@cocotb.test()
async def migration_abort(dut) -> None:
    """The migration named by MIGRATION_ABORT is refused or cut, and rolled back."""
    mode, case = os.environ["MIGRATION_ABORT"].split("/")
    reason, params = CASES[case]
    assert params.precopy == PrecopyParams()
    rack = Rack(dut, params.rack_config())
    run = await (run_npa if mode == "npa" else run_failover)(rack, params)
    result = run.migration
    names = [e.name for e in result.events]
    dut._log.info(
        "%s %s: events %s", mode, case, [(e.name, e.t_ns, e.detail) for e in result.events]
    )
    assert result.aborted == reason, (result.aborted, result.abort_detail)
    assert names[-2:] == ["aborted", "back_on_source_vf"] or (
        names[-3:] == ["aborted", "resumed_on_source", "back_on_source_vf"]
    ), names
    assert "resumed_on_destination" not in names and "copied" not in names
    assert ("resumed_on_source" in names) == (case == "link_stop_and_copy")
    admitted = "destination_admitted" in names
    assert admitted == case.startswith("link"), names
    # The modelled phases stop where the fault hit.
    phases = {ph.name: ph for ph in result.phases()}
    assert phases["roll_back"].kind == "simulated"
    plan = result.precopy
    if case == "link_precopy":
        assert plan is not None and phases["precopy"].duration_s == plan.precopy_s / 2
        assert "stop_and_copy" not in phases
    elif case == "link_stop_and_copy":
        assert plan is not None and phases["stop_and_copy"].duration_s == plan.downtime_s / 2
        assert phases["precopy"].duration_s == plan.precopy_s
    else:
        assert "precopy" not in phases and plan is None
    # The VM never left host A: the ToR kept its MAC there, host B never announced it.
    hosts = run.hosts
    assert NAME in hosts["a"].vms and NAME not in hosts["b"].vms
    assert rack.tor.lookup(MAC, rack.now_ns()) == PORT_HOST_A
    assert rack.tor.moves == [] and run.rarps == []
    assert [vm.name for vm in rack.b.hv.vms] == (["squatter"] if case == "no_vf_free" else [])
    assert rack.b.iommu.has_domain(1) == (case == "no_vf_free")
    v = hosts["a"].vms[NAME]
    if mode == "npa":
        assert v.shell.mode is ShellMode.PLUGIN and isinstance(v.shell.plugin, RingAPlugin)
    else:
        failover = run.extras["failover"]
        assert (
            failover.primary is not None
            and failover.primary is run.extras["migration"].back_life.primary
        )
    assert v.vf == 0 if mode == "npa" else 0 in v.vm.vfs
    # After the roll back every frame arrives, over host A's VF both ways.
    sent_after, got_after = run.after
    assert got_after == sent_after, "frames lost after the roll back"
    assert run.final_host == "a"
    assert run.dst_port_delta["port1"]["rx_packets"] == sent_after[0]
    assert run.dst_port_delta["port1"]["tx_packets"] == sent_after[1]
    assert run.dst_port_delta["port0"]["rx_packets"] == 0
    for tb in rack.hosts.values():
        assert not tb.iommu.faults and not tb.host_bus.errors
    lost = {a.name: a.lost for a in run.accounts}  # balanced, or finish() raised
    dut._log.info("%s %s: lost %s", mode, case, lost)
    if mode == "npa":
        assert lost["vm -> outside"] == {}, "NPA lost frames the VM sent"
    if case == "link_stop_and_copy":
        assert any(r.startswith("vm_paused") for r in lost["outside -> vm"]), lost
    for a in run.accounts:
        assert (a.duplicates, a.corrupted) == (0, 0), a
    report = json.loads(json.dumps(run.report()))
    assert report["abort"]["reason"] == reason and report["final_host"] == "a"
