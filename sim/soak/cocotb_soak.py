"""The soak on the RTL (cocotb): world up, traffic and injections, monitors, teardown, report.

Configured by the environment ``python -m sim.soak`` sets: ``SOAK_REPORT`` (JSON out),
``SOAK_SEED``, ``SOAK_FRAMES``, ``SOAK_KINDS`` (comma list, default every kind),
``SOAK_REPEATS`` (injections per kind, default from FRAMES), ``SOAK_PROGRESS`` (a file
the runner polls for its progress bar) and ``SOAK_BREAK`` (a deliberately broken
configuration, to prove a monitor fires: isolation, delivery, watchdog, accounting,
leak, bus_drop, spike, rollback).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cocotb

from sim.soak.attacks import ATTACKS
from sim.soak.faults import FAULTS
from sim.soak.inject import Injection, Schedule
from sim.soak.monitors import (
    HONEST_COUNTERS,
    STALL_BOUND_CYCLES,
    DropAccounting,
    FlowOutcome,
    HonestDelivery,
    Isolation,
    Leaks,
    LeakSnapshot,
    Watchdog,
)
from sim.soak.report import SoakResult
from sim.soak.world import (
    EXT_MAC,
    HOME,
    HONEST,
    HOSTILE,
    SPARE_VF_B,
    VMS,
    FaultablePlugin,
    SoakWorld,
    vm_mac,
    vm_vf,
)
from tb.guest.flows import parse_flow
from tb.ref.regmap import Queue, RingCtrl, queue_reg

KINDS: dict[str, type[Injection]] = {k.name: k for k in (*ATTACKS, *FAULTS)}
BREAKS = (
    "isolation",
    "delivery",
    "watchdog",
    "accounting",
    "leak",
    "bus_drop",
    "spike",
    "rollback",
)
WATCH_STEP = 1_000  # cycles between two watchdog samples


def kinds_from_env() -> list[type[Injection]]:
    names = [n for n in os.environ.get("SOAK_KINDS", "").split(",") if n]
    unknown = [n for n in names if n not in KINDS]
    if unknown:
        raise ValueError(f"SOAK_KINDS: unknown {unknown}; known: {sorted(KINDS)}")
    return [KINDS[n] for n in names] if names else list(KINDS.values())


async def watch(w: SoakWorld, dog: Watchdog) -> None:
    """Sample every guest's TX path and each host's PF queue every WATCH_STEP cycles."""
    while True:
        await w.tb.cycles(WATCH_STEP)
        cycle, now = w.tb.cycle(), w.tb.now_ns()
        for name, g in w.guests.items():
            shell = g.v.shell
            dog.sample(
                f"{name} tx", cycle, shell.stats["tx_completed"], not shell.idle(), now, name
            )
        for h, host in w.hosts.items():
            vs = host.vswitch
            done = vs.stats["pf_tx_sent"] + vs.stats["pf_tx_errors"]
            dog.sample(f"host {h} pf tx (vswitch)", cycle, done, not vs.idle(), now, "pf")


async def apply_break(w: SoakWorld, what: str) -> None:
    """A deliberately broken configuration (tests/test_soak.py: each monitor must fire)."""
    pf = w.tb.pf
    if what == "isolation":  # vm1's MAC forwarded to the hostile VM's port
        await pf.add_fdb(vm_mac("vm1"), w.func(HOSTILE))
    elif what == "delivery":  # every 25th frame to vm2 vanishes in its receive path
        w.drop_every["vm2"] = 25
    elif what == "watchdog":  # vm1's VF TX queue disabled under its plugin: no completions
        await w.tb.bar(w.func("vm1")).write(queue_reg(0, Queue.TXQ_CTRL), 0)
    elif what == "accounting":  # anti-spoofing off on the hostile VF
        await pf.set_vf_spoofchk(vm_vf(HOSTILE), False)
    elif what == "bus_drop":  # host_bus_error on a TX buffer, its named drop point removed
        w.name_tx_bus_errors = False
        w.bus_error_sites = ("tx_data",)
        for name in HONEST:
            plugin = w.guests[name].v.shell.plugin
            if isinstance(plugin, FaultablePlugin):
                plugin.drop_point = None
    elif what == "spike":  # latency spikes beyond the watchdog's bound
        w.spike_cycles = (STALL_BOUND_CYCLES + 5_000, STALL_BOUND_CYCLES + 5_000)
    elif what == "rollback":  # an aborted migration's VM not given its VF back
        w.roll_back_to_vf = False
    elif what != "leak":
        raise ValueError(f"SOAK_BREAK={what!r}: one of {BREAKS}")


def outcomes(w: SoakWorld) -> list[FlowOutcome]:
    out = []
    for f in w.flows:
        if not f.judged:
            continue
        rx = w.receiver_of(f)
        rx.set_sent(f.flow.flow_id, f.sent)
        st = rx.stats(f.flow.flow_id)
        out.append(
            FlowOutcome(
                f.name,
                f.flow.flow_id,
                f.src,
                f.dst,
                f.sent,
                st.lost,
                st.duplicated,
                st.reordered,
                st.corrupted,
            )
        )
    return out


def named_drops(w: SoakWorld) -> dict[int, list[tuple[int, str]]]:
    """Per flow id, (time, reason) of each frame a drop point recorded: both vswitches
    (every drop, SoakWorld.vswitch_drops) and each guest's own points."""
    out: dict[int, list[tuple[int, str]]] = {}
    for fid, t, reason in w.vswitch_drops:
        out.setdefault(fid, []).append((t, reason))
    for g in w.guests.values():
        for t, reason, frame in g.refused:
            if (ids := parse_flow(frame)) is not None:
                out.setdefault(ids[0], []).append((t, reason))
    return out


async def honest_counters(w: SoakWorld) -> dict[str, int]:
    out = {}
    for vm in HONEST:
        st = await w.tb_of(vm).pf.vf_stats(vm_vf(vm))
        out.update({f"{vm}.{c}": st[c] for c in HONEST_COUNTERS})
    return out


def host_funcs(h: str) -> list[int]:
    """The VF functions of the host's VMs (and host B's spare VF, a migration's
    destination): none may keep an IOMMU domain or an enabled queue after teardown."""
    funcs = [1 + vm_vf(n) for n in VMS if HOME[n] == h]
    return funcs + ([1 + SPARE_VF_B] if h == "b" else [])


async def leak_snapshot(
    w: SoakWorld, h: str, guest_regions: dict[str, dict[int, int]]
) -> LeakSnapshot:
    tb, funcs = w.tbs[h], host_funcs(h)
    live = []
    for f in funcs:
        for q in range(2):
            for reg in (Queue.TXQ_CTRL, Queue.RXQ_CTRL):
                if await tb.bar(f).read(queue_reg(q, reg)) & RingCtrl.ENABLE.mask:
                    live.append(f"function {f} queue {q} {reg.name}")
    domains = [f for f in range(tb.num_func) if tb.iommu.has_domain(f)]
    return LeakSnapshot(
        host_regions=dict(tb.mem.allocator.allocated),
        vm_domains=frozenset(f for f in domains if f in funcs),
        mapped_pages=sum(tb.iommu.domain(f).mapped_pages for f in domains if f not in funcs),
        fdb_entries=await w.valid_fdb_entries(h),
        guest_regions={n: r for n, r in guest_regions.items() if HOME[n] == h},
        live_queues=frozenset(live),
        vswitch_ports=len(w.hosts[h].vswitch.ports),
    )


async def teardown(w: SoakWorld, leak: bool) -> dict[str, dict[int, int]]:
    """Every VM back to emulated, its vswitch port gone, destroyed (FLR before unmap).
    Returns each VM's own allocations after its VF was taken back."""
    regions = {}
    for name in VMS:
        h = w.home(name)
        host = w.hosts[h]
        v = host.vms[name]
        if v.vf is not None:
            await host.detach_vf(name, "teardown")
        regions[name] = dict(v.vm.memory.allocator.allocated)
        if leak and name == "vm2":
            continue  # the broken configuration: vm2 is never destroyed
        if v.port is not None:
            await host.vswitch.detach(v.mac)
            v.port = None
        await w.tbs[h].hv.destroy_vm(name, host._flr)
    return regions


@cocotb.test()
async def soak(dut) -> None:  # type: ignore[no-untyped-def]
    wall0 = time.monotonic()
    seed = int(os.environ.get("SOAK_SEED", "1"))
    frames = int(os.environ.get("SOAK_FRAMES", "2000"))
    report = Path(os.environ["SOAK_REPORT"])
    progress = Path(p) if (p := os.environ.get("SOAK_PROGRESS")) else None
    broken = os.environ.get("SOAK_BREAK", "")
    kinds = kinds_from_env()
    asked = int(os.environ.get("SOAK_REPEATS", "0"))
    repeats = asked or max(1, frames // 1500)

    w = SoakWorld(dut, seed, frames, progress)
    await w.start()
    cycle0 = w.tb.cycle()
    flow_dst = {f.flow.flow_id: f.dst for f in w.flows}
    iso = Isolation({n: vm_mac(n) for n in VMS}, flow_dst, EXT_MAC, w.records)
    w.observers.append(iso)
    dog = Watchdog(w.records)
    if broken:
        await apply_break(w, broken)
    watcher = cocotb.start_soon(watch(w, dog))
    schedule = Schedule(kinds, frames, seed, repeats)
    traffic = cocotb.start_soon(w.traffic())
    injections = cocotb.start_soon(schedule.run(w))
    await injections
    await traffic
    await w.drain()
    watcher.cancel()

    delivery = HonestDelivery(w.records)
    judged = outcomes(w)
    delivery.check(judged, named_drops(w))
    accounting = DropAccounting(w.records)
    accounting.check(iso.arrivals, await honest_counters(w))
    sent, delivered = w.sent_total, w.received()
    cycles = w.tb.cycle() - cycle0
    regions = await teardown(w, broken == "leak")
    leaks = Leaks()
    for h in w.tbs:
        before = LeakSnapshot(
            dict(w.mem_regions0[h]),
            frozenset(),
            0,
            w.valid_fdb0[h],
            {n: r for n, r in w.guest_regions0.items() if HOME[n] == h},
            frozenset(),
            0,
        )
        leaks.check(before, await leak_snapshot(w, h, regions), f"host {h}")

    monitors = (delivery, iso, dog, accounting, leaks)
    result = SoakResult.build(
        seed=seed,
        frames=frames,
        sent=sent,
        delivered=delivered,
        cycles=cycles,
        wall_seconds=time.monotonic() - wall0,
        records=w.records,
        kinds=[k.name for k in kinds],
        checks={
            "honest_delivery": sum(1 for f in w.flows if f.judged),
            "isolation": iso.checked,
            "watchdog": len(dog._last),
            "drop_accounting": sum(len(r.expects) for r in w.records),
            "leaks": 7 * len(w.tbs),
        },
        violations=[v for m in monitors for v in m.violations()],
        longest_wait=dict(dog.longest),
        broken=broken,
        explained_losses=dict(delivery.explained),
        judged_sent=sum(f.sent for f in judged),
        judged_lost=sum(f.lost for f in judged),
        repeats=asked,
    )
    result.save(report)
    assert not result.violations, "\n".join(v["detail"] for v in result.violations[:20])
