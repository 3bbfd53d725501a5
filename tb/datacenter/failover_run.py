"""Failover mode's migration run on the rack (docs/MIGRATION.md §7), in the same shape as
NPA's (:func:`tb.datacenter.migration_run.run_npa`): the same parameters, workload and
loss ledger, a :class:`~tb.datacenter.migration_run.ModeRun` with the same report.

The VM boots on host A with its vmxnet3 device (the standby: the emulated device on
the host's vswitch, its shell never given a plugin) under the guest's failover
device; host A assigns it a VF with its MAC, the guest's ordinary VF driver probes it
over the mailbox and the failover device registers it as primary. Then the
workload, and :class:`~tb.hypervisor.failover_migration.FailoverMigration` while it
runs. Besides the drop points both modes share, the ledger gets failover's own:
``vf_tx_ring_at_unplug``, ``vf_rx_ring_at_unplug`` and ``standby_rx_dropped`` (frame
by frame), ``vf_rx_at_unplug`` and ``vf_rx_before_open`` (counted by the NIC; only the
flow to the VM reaches a VF then), ``tx_no_slave``, ``rx_not_enslaved`` and
``vf_rx_no_upper`` (frame by frame).
"""

from __future__ import annotations

from tb.datacenter.migration_run import (
    MOVE_PATHS,
    ModeRun,
    RunParams,
    bring_up,
    finish,
    migrate_under_traffic,
)
from tb.datacenter.rack import Rack
from tb.datacenter.workload import TO_VM_STREAMS, VmWorkload
from tb.guest.failover import (
    RX_NO_UPPER,
    RX_NOT_ENSLAVED,
    STANDBY_RX_DROPPED,
    TX_NO_SLAVE,
    FailoverDevice,
)
from tb.guest.failover_slaves import VmxnetStandby
from tb.guest.stack import InterfaceConfig, NetStack
from tb.hypervisor.failover_migration import (
    FailoverMigration,
    FailoverPlan,
    assign_vf,
    probe_primary,
)

VF_TX_RING_AT_UNPLUG = "vf_tx_ring_at_unplug"
VF_RX_RING_AT_UNPLUG = "vf_rx_ring_at_unplug"
VF_RX_AT_UNPLUG = "vf_rx_at_unplug"
VF_RX_BEFORE_OPEN = "vf_rx_before_open"
VF_RX_NO_UPPER = "vf_rx_no_upper"  # the VF driver reaped it with nothing above it

FAILOVER_PATHS = {
    **MOVE_PATHS,
    "hot_unplug_request": "passthrough",
    "unplug": "passthrough",
    "hot_plug_request": "emulated",
    "vf_probe_and_register": "emulated",
}


async def run_failover(rack: Rack, p: RunParams) -> ModeRun:
    """Failover migration A -> B (docs/MIGRATION.md §7) under the workload."""
    g = p.guest
    hosts = await bring_up(rack, mailbox=True)
    v = await hosts["a"].boot_vm(g.name, g.mac, g.mem_bytes)
    failover = FailoverDevice(g.mac, VmxnetStandby(v), now=rack.now_ns)
    stack = NetStack(InterfaceConfig(g.mac, g.ip), failover.xmit, now=rack.now_ns, name=g.name)
    life = await assign_vf(hosts["a"], v, g.vf)
    await probe_primary(life, v, failover)
    plan = FailoverPlan(failover, life, g.vf, p.hotplug)
    mig = FailoverMigration(plan, hosts["b"], p.move_params())
    work = VmWorkload(rack, stack, vm_paused=lambda: mig.paused, carrier=lambda: failover.carrier)
    failover.receiver = work.receive
    await work.ping_both_ways()
    run = ModeRun(
        "failover", rack, hosts, mig.result, work, work.ledger(), path_of_phase=FAILOVER_PATHS
    )
    run.last_event = "primary_registered"
    run.extras.update(failover=failover, migration=mig, src_vf=life)
    no_route0 = await migrate_under_traffic(run, p, mig.run())

    async def failover_losses() -> None:
        ledger, rec, final = run.ledger, mig.unplug, mig.final_life
        if final is None:
            raise RuntimeError(f"{g.name}: no VF was plugged again")
        unplugged = mig.result.at("vf_released")  # lost with the driver's removal
        ledger.add_frames(VF_TX_RING_AT_UNPLUG, rec.tx_lost, [unplugged] * len(rec.tx_lost))
        ledger.add_frames(VF_RX_RING_AT_UNPLUG, rec.rx_unreaped, [unplugged] * len(rec.rx_unreaped))
        ledger.add_count(f"{VF_RX_AT_UNPLUG} (host a)", rec.rx_dropped, TO_VM_STREAMS, unplugged)
        where = "host a" if mig.result.aborted else "host b"
        plugged = mig.result.at("back_on_source_vf" if mig.result.aborted else "vf_assigned")
        lost = await final.rx_lost()
        ledger.add_count(f"{VF_RX_BEFORE_OPEN} ({where})", lost, TO_VM_STREAMS, plugged)
        for life in (mig.src_life, final):
            assert life.primary is not None
            ledger.add_frames(VF_RX_NO_UPPER, life.primary.rx_no_upper)
        for reason in (STANDBY_RX_DROPPED, TX_NO_SLAVE, RX_NOT_ENSLAVED, RX_NO_UPPER):
            drops = [d for d in failover.dropped if d.reason == reason]
            ledger.add_frames(reason, [d.frame for d in drops], [int(d.t) for d in drops])

    return await finish(run, no_route0, p, failover_losses)
