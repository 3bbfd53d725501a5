"""The soak's migration fault: an honest VM's live migration from host A to host B,
aborted halfway and rolled back (docs/MIGRATION.md §10), under the soak's traffic."""

from __future__ import annotations

from fractions import Fraction

from sim.soak.attack_steps import receives_again
from sim.soak.inject import Injection
from sim.soak.model import SWITCH_OVER_LOSSES, Expect, InjectionRecord, rxq_drops
from sim.soak.world import HONEST_A, HONEST_B, SPARE_VF_B, FaultablePlugin, SoakWorld, vm_mac, vm_vf
from tb.datacenter import PORT_HOST_A
from tb.hypervisor.migration import (
    LinkFault,
    MoveParams,
    NpaMigration,
    rarp_frame,
)
from tb.hypervisor.migration_model import PrecopyParams
from tb.hypervisor.npa_vm import NpaVm
from tb.net.tor_switch import Forwarding
from tb.shell_model.npa_shell import ShellMode

# What cuts the migration, and the reason the result must name (ABORT_REASONS): the
# migration link lost part-way through the modelled pre-copy or stop-and-copy (host B
# admitted the VM, then the copy failed), or host B's VF already assigned.
ABORT_CASES = {
    "link_precopy": "link_lost",
    "link_stop_and_copy": "link_lost",
    "no_vf_free": "no_vf_free",
}
# Frames for the VM while it is paused, named at host A's vswitch (tb/hypervisor/migration.py).
VM_PAUSED = "vm_paused"


class StaysEmulated(NpaMigration):
    """SOAK_BREAK=rollback: a roll back that leaves the VM on the emulated device."""

    async def _back_to_vf(self, v: NpaVm) -> None:
        return None


class MigrationAbort(Injection):
    """One of host A's honest VMs (vendor A's plugin) is live-migrated to host B (vendor
    B's VF) and the migration is cut: the link lost during the pre-copy or the
    stop-and-copy, or host B's VF taken. The VM must end where it started: the result
    names the reason; the VM is on host A, on its own VF with vendor A's plugin again,
    and receives; host B holds nothing of it (no VM, no IOMMU domain on its spare VF);
    the ToR never moved its MAC and no RARP was sent. Its frames are lost only at
    switch-over points (detach, the pause: ``vm_paused``) or in its VF's RX drops."""

    name, category = "migration_abort", "fault"

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # host B's VMs: their VFs stay assigned (no_vf_free draws one of them)
        return frozenset({target, *HONEST_B})

    def target(self, w: SoakWorld) -> str:
        return self.rng.choice(HONEST_A)

    def tolerated(self, w: SoakWorld, target: str) -> frozenset[str]:
        return SWITCH_OVER_LOSSES | {rxq_drops(target), VM_PAUSED}

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"tor_moves": len(w.rack.tor.moves)}

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        name, rng = rec.target, self.rng
        case = rng.choice(sorted(ABORT_CASES))
        src, dst, tb_b = w.hosts["a"], w.hosts["b"], w.tbs["b"]
        mac = vm_mac(name)
        on_b0 = sorted(vm.name for vm in tb_b.hv.vms)
        fault = None
        if case.startswith("link_"):
            fault = LinkFault(case.removeprefix("link_"), Fraction(rng.randint(1, 9), 10))
        dst_vf = vm_vf(rng.choice(HONEST_B)) if case == "no_vf_free" else SPARE_VF_B
        rarp, rarps = rarp_frame(mac), []

        def watch(port: int, frame: bytes, out: Forwarding, now: int) -> None:
            if frame == rarp:
                rarps.append(port)

        kind = NpaMigration if w.roll_back_to_vf else StaysEmulated
        mig = kind(name, src, dst, dst_vf, MoveParams(precopy=PrecopyParams(), link_fault=fault))
        w.rack.observers.append(watch)
        w.migrations[name] = mig
        try:
            result = await mig.run()
        finally:
            w.rack.observers.remove(watch)
            del w.migrations[name]
        w.bind_plugin(name)  # the roll back attached vendor A's plugin again
        v = src.vms.get(name)
        shell = w.guests[name].v.shell
        rec.measured["aborted_as_drawn"] = int(result.aborted == ABORT_CASES[case])
        rec.measured["on_host_a"] = int(v is not None and name not in dst.vms)
        rec.measured["back_on_plugin"] = int(
            v is not None
            and v.vf == vm_vf(name)
            and shell.mode is ShellMode.PLUGIN
            and isinstance(shell.plugin, FaultablePlugin)
        )
        rec.measured["tor_on_host_a"] = int(w.rack.tor.lookup(mac, w.rack.now_ns()) == PORT_HOST_A)
        rec.measured["rarps"] = len(rarps)
        rec.measured["host_b_unchanged"] = int(
            sorted(vm.name for vm in tb_b.hv.vms) == on_b0
            and not tb_b.iommu.has_domain(1 + SPARE_VF_B)
        )
        rec.measured["receives_again"] = int(await receives_again(w, name))
        rec.expects += [
            Expect("aborted_as_drawn", 1),
            Expect("on_host_a", 1),
            Expect("back_on_plugin", 1),
            Expect("tor_on_host_a", 1),
            Expect("tor_moves", 0),
            Expect("rarps", 0),
            Expect("host_b_unchanged", 1),
            Expect("receives_again", 1),
        ]
        events = " → ".join(e.name for e in result.events)
        rec.notes.append(f"{case} to host B's VF {dst_vf}: {result.abort_detail}; {events}")
