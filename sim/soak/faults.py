"""Injected faults, one class per kind: what goes wrong, and what the monitors then allow."""

from __future__ import annotations

from sim.soak.inject import Injection
from sim.soak.model import LINK_DOWN, SWITCH_OVER_LOSSES, Expect, InjectionRecord, rxq_drops
from sim.soak.world import HONEST, HOSTILE, FaultablePlugin, SoakWorld, vm_vf
from tb.pf_driver.switch_regs import uplink_link_writes
from tb.ref.regmap import Esw
from tb.shell_model.npa_shell import ShellMode

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
        assert isinstance(plugin, FaultablePlugin), type(plugin).__name__
        faults0 = shell.stats["plugin_faults"]
        plugin.crash_next_tx = True
        w.guests[rec.target].stack.announce()  # a frame to send: the plugin's tx() is called
        await w.tb.wait_until(
            f"{rec.target}'s plugin fault noticed",
            lambda: shell.stats["plugin_faults"] > faults0,
            within=FALLBACK_CYCLES,
        )
        await w.host.fallbacks_done()
        rec.measured["fell_back"] = int(shell.mode is ShellMode.EMULATED and shell.plugin is None)
        await w.tb.cycles(self.rng.randint(500, 3_000))  # on the emulated path a while
        rec.measured["back_on_plugin"] = int(await w.attach(rec.target))
        rec.expects += [
            Expect(f"plugin_faults.{rec.target}", 1),
            Expect("fell_back", 1),
            Expect("back_on_plugin", 1),
        ]


FAULTS: tuple[type[Injection], ...] = (FlrHostileVf, UplinkFlap, PluginException)
