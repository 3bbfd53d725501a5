"""Injected faults, one class per kind: what goes wrong, and what the monitors then allow."""

from __future__ import annotations

from sim.soak.attack_steps import bounded, queue_error, take_back
from sim.soak.faults_migration import MigrationAbort
from sim.soak.inject import Injection
from sim.soak.model import (
    LINK_DOWN,
    SWITCH_OVER_LOSSES,
    TX_BUS_ERROR,
    Expect,
    InjectionRecord,
    rxq_drops,
)
from sim.soak.monitors import STALL_BOUND_CYCLES
from sim.soak.world import HONEST, HONEST_A, HOSTILE, FaultablePlugin, FaultHooks, SoakWorld, vm_vf
from tb.host.dma_path import INJECTED
from tb.pf_driver.switch_regs import uplink_link_writes
from tb.ref.layouts import ENTRY_BYTES
from tb.ref.regmap import QSTATUS_ERROR, Esw, QErr, Queue, queue_reg
from tb.shell_model.npa_shell import TX_DROPPED_QDISC, TX_UNCONFIRMED_AT_FAILED_QUIESCE, ShellMode

RECOVERY_CYCLES = 40_000  # bound on a VM's first frame after it got its VF back
FALLBACK_CYCLES = 50_000  # bound on a plugin fault being noticed (its next TX call)


class FlrHostileVf(Injection):
    """The PF resets the hostile VM's VF in the middle of its traffic; the hypervisor
    takes the VM back to the emulated path and gives it the VF again, and the VM's
    frames flow again."""

    name, category = "flr_hostile_vf", "fault"

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        await w.tb.pf.reset_vf(vm_vf(HOSTILE))
        await w.tb.cycles(self.rng.randint(200, 2_000))
        await w.host.detach_vf(HOSTILE, "VF reset by the PF")
        rec.measured["back_on_plugin"] = int(await w.attach(HOSTILE))
        flow = next(f for f in w.flows if f.src == "outside" and f.dst == HOSTILE)
        sink = w.guests[HOSTILE].sink

        def got() -> int:
            st = sink.flows.get(flow.flow.flow_id)
            return 0 if st is None else st.received

        before, waited = got(), 0
        while got() == before and waited < RECOVERY_CYCLES and not w.traffic_done:
            await w.tb.cycles(500)
            waited += 500
        rec.measured["recovered"] = int(got() > before or w.traffic_done)
        rec.expects += [Expect("back_on_plugin", 1), Expect("recovered", 1)]


class UplinkFlap(Injection):
    """The uplink's link goes down and comes back (ESW_CTRL.UPLINK_LINK): frames meeting
    it are dropped and counted as DROP_LINK_DOWN, legitimately, in the window only."""

    name, category = "uplink_flap", "fault"

    def target(self, w: SoakWorld) -> str:
        return "uplink"

    def tolerated(self, w: SoakWorld, target: str) -> frozenset[str]:
        return frozenset({LINK_DOWN})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"link_down_drops": await w.link_down_drops()}

    async def _link(self, w: SoakWorld, up: bool) -> None:
        for off, value in uplink_link_writes(up):
            await w.tb.bar(0).write(Esw.BASE + off, value)

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        down = self.rng.randint(1_000, 5_000)
        await self._link(w, False)
        await w.tb.cycles(down)
        await self._link(w, True)
        rec.expects.append(Expect("link_down_drops", 1, exact=False))
        rec.notes.append(f"down for {down} cycles")


class PluginException(Injection):
    """An honest VM's plugin raises in its TX entry point: the shell stops calling it and
    the hypervisor takes the VM back to the emulated path, losing nothing but what a
    switch-over may (named); then the VM gets its plugin again."""

    name, category = "plugin_exception", "fault"

    def target(self, w: SoakWorld) -> str:
        return self.rng.choice(HONEST)

    def tolerated(self, w: SoakWorld, target: str) -> frozenset[str]:
        return SWITCH_OVER_LOSSES | {rxq_drops(target)}

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {f"plugin_faults.{target}": w.guests[target].v.shell.stats["plugin_faults"]}

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        shell = w.guests[rec.target].v.shell
        plugin = shell.plugin
        assert isinstance(plugin, FaultHooks), type(plugin).__name__
        faults0 = shell.stats["plugin_faults"]
        plugin.crash_next_tx = True
        w.guests[rec.target].stack.announce()  # a frame to send: the plugin's tx() is called
        await w.tb.wait_until(
            f"{rec.target}'s plugin fault noticed",
            lambda: shell.stats["plugin_faults"] > faults0,
            within=FALLBACK_CYCLES,
        )
        await w.host_of(rec.target).fallbacks_done()
        rec.measured["fell_back"] = int(shell.mode is ShellMode.EMULATED and shell.plugin is None)
        await w.tb.cycles(self.rng.randint(500, 3_000))  # on the emulated path a while
        rec.measured["back_on_plugin"] = int(await w.attach(rec.target))
        rec.expects += [
            Expect(f"plugin_faults.{rec.target}", 1),
            Expect("fell_back", 1),
            Expect("back_on_plugin", 1),
        ]


class QuiesceFault(Injection):
    """An honest VM's plugin raises in its TX entry point and then, asked to quiesce
    by the fallback, raises again or never returns (the shell gives up after
    ``PLUGIN_QUIESCE_TIMEOUT_NS``). The shell has the VF reset and takes the rings
    back (tb/shell_model/npa_shell.py): the TX frames the plugin held are completed
    unsent, each counted and named at TX_UNCONFIRMED_AT_FAILED_QUIESCE; the VM runs emulated,
    then gets its plugin again."""

    name, category = "quiesce_fault", "fault"

    def target(self, w: SoakWorld) -> str:
        return self.rng.choice(HONEST)

    def tolerated(self, w: SoakWorld, target: str) -> frozenset[str]:
        return SWITCH_OVER_LOSSES | {
            rxq_drops(target),
            TX_UNCONFIRMED_AT_FAILED_QUIESCE,
            TX_DROPPED_QDISC,
        }

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        stats = w.guests[target].v.shell.stats
        return {
            f"{key}.{target}": stats[key]
            for key in ("plugin_faults", "quiesce_failures", "plugin_hangs")
        }

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        g = w.guests[rec.target]
        shell = g.v.shell
        plugin = shell.plugin
        assert isinstance(plugin, FaultHooks), type(plugin).__name__
        mode = self.rng.choice(("raise", "hang"))
        faults0, lost0 = shell.stats["plugin_faults"], shell.stats[TX_UNCONFIRMED_AT_FAILED_QUIESCE]
        named0 = sum(reason == TX_UNCONFIRMED_AT_FAILED_QUIESCE for _, reason, _ in g.refused)
        plugin.crash_next_tx, plugin.crash_quiesce = True, mode
        g.stack.announce()  # a frame to send: the plugin's tx() is called
        await w.tb.wait_until(
            f"{rec.target}'s plugin fault noticed",
            lambda: shell.stats["plugin_faults"] > faults0,
            within=FALLBACK_CYCLES,
        )
        await w.host_of(rec.target).fallbacks_done()  # the failed quiesce included
        rec.measured["fell_back"] = int(shell.mode is ShellMode.EMULATED and shell.plugin is None)
        lost = shell.stats[TX_UNCONFIRMED_AT_FAILED_QUIESCE] - lost0
        named = (
            sum(reason == TX_UNCONFIRMED_AT_FAILED_QUIESCE for _, reason, _ in g.refused) - named0
        )
        rec.measured["lost_not_named"] = lost - named
        await w.tb.cycles(self.rng.randint(500, 3_000))  # on the emulated path a while
        rec.measured["back_on_plugin"] = int(await w.attach(rec.target))
        rec.expects += [
            Expect(f"plugin_faults.{rec.target}", 1),
            Expect(f"quiesce_failures.{rec.target}", 1),
            Expect(f"plugin_hangs.{rec.target}", int(mode == "hang")),
            Expect("fell_back", 1),
            Expect("lost_not_named", 0),
            Expect("back_on_plugin", 1),
        ]
        rec.notes.append(f"quiesce {mode}: {lost} TX frames completed unsent")


# Where host_bus_error answers one read burst of the VM's VF with SLVERR: the next TX
# frame's buffer (the frame is not sent, its completion carries ERR_BUS_READ), or a
# descriptor fetch of its TX or RX ring (the queue stops in error with ERR_BUS_READ; the
# entries of a later fetch of that ring already in flight are dropped, as
# rtl/vf_dma_desc_fetch.sv drops every beat of a queue in error).
BUS_ERROR_SITES = ("tx_data", "tx_ring", "rx_ring")
BUS_ERROR_HIT_CYCLES = 20_000  # bound on the armed burst coming (the VM sends or refills)


class HostBusError(Injection):
    """The host bus answers one of an honest VF's DMA read bursts with SLVERR (an injected
    error, tb/host/hdl_bus.py): ARCHITECTURE §3.1, that queue in error with
    ``ERR_BUS_READ``, ``FUNC_STATUS.ERROR``, one error interrupt; a TX frame whose
    buffer read failed is not sent and is completed with the error: vendor A's plugin
    counts it (``tx_hw_errors``) and names it (TX_BUS_ERROR). Then the hypervisor takes
    the VM back and gives it its VF again, as for the hostile VM's DMA errors; frames
    the queue had not started go out on the emulated device."""

    name, category = "host_bus_error", "fault"

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        return frozenset({target, "host bus"})

    def target(self, w: SoakWorld) -> str:
        return self.rng.choice(HONEST_A)

    def tolerated(self, w: SoakWorld, target: str) -> frozenset[str]:
        return SWITCH_OVER_LOSSES | {rxq_drops(target), TX_BUS_ERROR}

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        func, bus = w.func(target), w.tb.host_bus
        return {
            f"iommu_faults.f{func}": len(w.tb.iommu.faults_of(func)),
            "injected_bus_errors": sum(e.func == func and e.reason == INJECTED for e in bus.errors),
        }

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        name, func, bus = rec.target, w.func(rec.target), w.tb.host_bus
        plugin = w.guests[name].v.shell.plugin
        assert isinstance(plugin, FaultablePlugin), type(plugin).__name__
        site = self.rng.choice(w.bus_error_sites or BUS_ERROR_SITES)
        rx = site == "rx_ring"
        txq, rxq = plugin.vf_queues()
        hw_errors0 = plugin.stats["tx_hw_errors"]
        named0 = self.named(w, name)

        def arm(span: tuple[int, int]) -> None:
            bus.inject_error(func, span=span)

        async def act() -> tuple[QErr, bool]:
            if site == "tx_data":
                plugin.arm_next_tx = arm
            else:
                ring = (rxq if rx else txq).ring
                arm((ring.desc_base, ring.desc_base + ring.size * ENTRY_BYTES))
            hit = await bounded(
                w,
                lambda: plugin.arm_next_tx is None and not bus.injections_left,
                BUS_ERROR_HIT_CYCLES,
            )
            rec.measured["bus_error_hit"] = int(hit)
            plugin.arm_next_tx = None
            bus.clear_injections()
            return QErr.BUS_READ, rx

        await queue_error(w, rec, name, act)
        other = await w.tb.bar(func).read(
            queue_reg(0, Queue.TXQ_STATUS if rx else Queue.RXQ_STATUS)
        )
        rec.measured["other_queue_error"] = int(bool(other & QSTATUS_ERROR))
        await take_back(w, rec, f"VF error (BUS_READ, {site})", name)
        lost = int(site == "tx_data")  # the one frame whose buffer read failed
        rec.measured["tx_hw_errors"] = plugin.stats["tx_hw_errors"] - hw_errors0
        rec.measured["tx_bus_error_named"] = self.named(w, name) - named0
        rec.expects += [
            Expect("bus_error_hit", 1),
            Expect("other_queue_error", 0),
            Expect("injected_bus_errors", 1),
            Expect(f"iommu_faults.f{func}", 0),
            Expect("tx_hw_errors", lost),
            Expect("tx_bus_error_named", lost),
        ]
        rec.notes.append(f"read error on {site} of function {func}")

    @staticmethod
    def named(w: SoakWorld, name: str) -> int:
        return sum(reason == TX_BUS_ERROR for _, reason, _ in w.guests[name].refused)


# latency_spike: every host-bus read accepted in the window takes SPIKE_READ_CYCLES more,
# every write SPIKE_WRITE_CYCLES more. Tolerance: a queue then waits at most the spike
# plus one read latency, the frames in flight and the watchdog's 1,000-cycle sampling
# (~2,000 cycles; measured: a 7,167-cycle spike, 9,000) for a completion, so the
# longest spike stays below half the watchdog's bound (STALL_BOUND_CYCLES, not excused
# here): no frame may be lost or corrupted, no VF may drop a received frame.
SPIKE_READ_CYCLES = (2_000, 8_000)
SPIKE_WRITE_CYCLES = (500, 2_000)
SPIKE_WINDOW_CYCLES = (1_000, 4_000)
assert SPIKE_READ_CYCLES[1] + 2_000 <= STALL_BOUND_CYCLES // 2


class LatencySpike(Injection):
    """The host bus answers late for a while (tb/host/hdl_bus.py's extra latency): every
    burst accepted in the window is delayed by thousands of cycles, in order. Nothing
    may be lost, corrupted or reordered, and no queue may wait beyond the watchdog's
    bound: the spike is inside its tolerance (above)."""

    name, category = "latency_spike", "fault"

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # host A's bus: no honest VF of host A may drop a frame, the hostile VM's bounded
        # waits (error interrupts, IOMMU faults) are not stretched by it
        return frozenset({target, HOSTILE, *HONEST_A})

    def target(self, w: SoakWorld) -> str:
        return "host bus"

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        out = {f"rx_dropped.{vm}": await w.rx_drops(vm) for vm in HONEST_A}
        out["read_bursts"] = w.tb.host_bus.stats.total().read_bursts
        return out

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        rng, bus = self.rng, w.tb.host_bus
        extra = rng.randint(*(w.spike_cycles or SPIKE_READ_CYCLES))
        wextra = rng.randint(*SPIKE_WRITE_CYCLES)
        window = rng.randint(*SPIKE_WINDOW_CYCLES)
        bus.set_extra_latency(extra, wextra)
        await w.tb.cycles(window)
        bus.set_extra_latency()
        await w.tb.cycles(max(extra, wextra))  # the last delayed burst answered
        rec.expects += [Expect(f"rx_dropped.{vm}", 0) for vm in HONEST_A]
        rec.expects.append(Expect("read_bursts", 1, exact=False))
        rec.notes.append(f"+{extra} read / +{wextra} write cycles for {window} cycles")


FAULTS: tuple[type[Injection], ...] = (
    FlrHostileVf,
    UplinkFlap,
    PluginException,
    QuiesceFault,
    HostBusError,
    LatencySpike,
    MigrationAbort,
)
