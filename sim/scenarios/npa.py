"""Scenario "npa" (the default of `make sim`): two VMs on the NPA stack, end to end on the RTL.

Two VMs boot on the emulated vmxnet3 device (their frames cross the real
switch through the PF's queue); ping and UDP flows run between each VM and the
outside host and between the two VMs, without pause, while the hypervisor:

1. attaches a VF to each VM and the shells switch to vendor A's plugin
   (passthrough: the VF DMAs straight into the guests' buffers);
   the administrator then caps vm1's VF with ``max_tx_rate`` below what vm1
   offers: the switch's shaper holds the VF back (its rate measured at the
   switch within 2%, nothing dropped, the guest's queue absorbs the backlog),
   and the cap is lifted;
2. traps one MAC change the VM's policy allows (vm1) and one it denies (vm2);
3. lets vm2's compromised guest load a rogue plugin that forges a source MAC,
   forges a VLAN tag and points a descriptor outside its memory: the switch
   drops, the IOMMU faults, every attack is counted, vm1 is untouched; the
   hypervisor sees the VF's error and takes vm2 back to the emulated device;
4. offers vm2 a plugin image with a bad checksum: the shell refuses it and vm2
   stays emulated.

With ``VF_FLAVOURS`` (``make sim VF_FLAVOURS=AB``: one letter per VF, A = ring
format A, B = ring format B / vmxnet3 in hardware, the top's ``VF_RING_FMT``) the
hypervisor picks each VM's plugin by its VF's ``FUNC_PCI_ID``: vm1 gets the
format-B VF and vendor B's plugin (the VF serves the shell's own rings), vm2 a
format-A VF and vendor A's (the rogue plugin is vendor A's, so the attacks stay
vm2's). After step 4 vm1 is taken back to the emulated device, is offered vendor
A's image (refused: wrong vendor for its VF), and moves to vendor B's plugin again.

Every flow's frames carry sequence numbers and payloads a receiver recomputes
(tb/guest/flows.py), so loss, duplication, reordering and corruption are
counted against an independent expectation; every frame not delivered must be
found at a drop point that names it. The report prints per-VM traffic, each
VM's datapath over simulated time, every policy and security event, and
reports/npa.png plots throughput per VM with the switch-overs marked.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cocotb
from cocotb.triggers import Event

from sim.progress import write_progress
from sim.scenarios.npa_report import (
    FlowSummary,
    ModeChange,
    NpaStory,
    PingSummary,
    SecurityEvent,
    ThroughputMeter,
    plot_story,
    render_story,
    save_story,
)
from sim.scenarios.report import conclude, gather, scenario_config, vf_ring_fmt
from tb.env import NicTb
from tb.guest.flow_receiver import FlowReceiver
from tb.guest.flows import UdpFlow, parse_flow
from tb.guest.ping import PingSession
from tb.guest.stack import InterfaceConfig, NetStack
from tb.hypervisor.npa import NpaHost
from tb.hypervisor.npa_vm import NpaVm, SecurityPolicy
from tb.hypervisor.vswitch import DROP_RECORD_LIMIT
from tb.net.external_host import ExternalHost
from tb.pf_driver.vf_state import CLOCK_HZ, RATE_BURST_BYTES
from tb.plugin_model.hostile import ROGUE_PLUGIN_ID, HostilePlugin
from tb.plugin_model.plugin import Plugin
from tb.plugin_model.ring_a import ring_a_image
from tb.plugin_model.ring_b import RingBPlugin
from tb.ref.regmap import FUNC_STATUS_ERROR, Func, Queue, queue_reg
from tb.ref.scoreboard import FrameScoreboard

EXT_MAC, EXT_IP = "02:00:00:00:ff:01", "10.0.0.254"
VM_MEM = 8 << 20
GUESTS = {
    # name: (MAC, IP, VF without VF_FLAVOURS, security policy)
    "vm1": ("02:00:00:00:01:01", "10.0.0.1", 0, SecurityPolicy(mac_changes=True)),
    "vm2": ("02:00:00:00:02:01", "10.0.0.2", 1, SecurityPolicy()),
}
NEW_MAC = {"vm1": "02:00:00:00:01:99", "vm2": "02:00:00:00:02:99"}
SIZES = (64, 1518, 300, 1000, 128, 576)
ROUND_CYCLES = 200  # one frame of every flow per round: ~13 Gb/s per flow on average
WINDOW_NS = 4_000  # throughput bins of the plot
PING_COUNT = 3
SHAPED_MBPS = 4_000  # vm1's VF cap in phase 2: 2 bytes/cycle, a third of what vm1 offers
SHAPED_ROUNDS = 100  # 20,000 cycles: the 18,036-byte bucket is spent after about 4,500
WAIT_CYCLES = 200_000  # bound on any wait in the story (watchdog, in simulated cycles)
DRAIN_CYCLES = 20_000  # after the last frame: far above any frame's latency through the NIC


def guest_vfs(flavours: str) -> dict[str, int]:
    """Which VF each VM gets. ``flavours``: one letter per VF (``VF_FLAVOURS``), empty for
    the default run. vm1 takes the format-B VF if there is one; vm2 needs a format-A VF,
    as the rogue plugin it loads is vendor A's."""
    if not flavours:
        return {name: g[2] for name, g in GUESTS.items()}
    if len(flavours) != len(GUESTS) or set(flavours) - {"A", "B"}:
        raise ValueError(f"VF_FLAVOURS={flavours!r}: one letter A or B for each of 2 VFs")
    if "A" not in flavours:
        raise ValueError(f"VF_FLAVOURS={flavours}: vm2's rogue-plugin story needs a format-A VF")
    vm1 = flavours.find("B") if "B" in flavours else 0
    return {"vm1": vm1, "vm2": 1 - vm1}


@dataclass
class Guest:
    """One VM as the scenario sees it: its NPA pieces, stack and flow sink."""

    name: str
    v: NpaVm
    stack: NetStack
    sink: FlowReceiver


@dataclass
class Flow:
    name: str
    flow: UdpFlow
    sender: NetStack
    src_vm: str | None
    dst_vm: str | None
    sent: int = 0


@dataclass
class Traffic:
    """Every UDP flow, one frame of each per round, until stopped."""

    tb: NicTb
    flows: list[Flow]
    rounds: int = 0
    running: bool = True
    phase: str = ""
    progress: Path | None = None  # sim/run.py's progress bar reads it (sim/progress.py)
    _tick: Event = field(default_factory=Event)

    def enter(self, phase: str) -> None:
        """The story's next phase: logged, and shown beside ``make sim``'s progress bar."""
        self.phase = phase
        self.tb.dut._log.info("%s", phase)
        self._report()

    def _report(self) -> None:
        if self.progress is not None:
            write_progress(self.progress, self.rounds, f"traffic rounds; {self.phase}")

    async def run(self) -> None:
        while self.running:
            for f in self.flows:
                f.sender.send_flow(f.flow, SIZES[(f.sent + f.flow.flow_id) % len(SIZES)])
                f.sent += 1
            self.rounds += 1
            if self.rounds % 50 == 0:
                self.tb.dut._log.info("traffic: %d rounds", self.rounds)
                self._report()
            self._tick.set()
            await self.tb.cycles(ROUND_CYCLES)

    async def more(self, rounds: int) -> None:
        """Wait until ``rounds`` more rounds were sent."""
        target = self.rounds + rounds
        while self.rounds < target:
            self._tick.clear()
            await self._tick.wait()


@cocotb.test()
async def run_scenario(dut) -> None:
    cfg = scenario_config()
    log = dut._log
    wall0 = time.monotonic()
    vfs = guest_vfs(cfg.vf_flavours)
    tbcfg = dataclasses.replace(cfg.tb, vm_vfs=tuple(1 + vf for vf in vfs.values()))
    tb = NicTb(dut, tbcfg)
    if tbcfg.pcap_dir is not None:
        tb.start_capture(tbcfg.pcap_dir)
    await tb.reset()
    cycle0 = tb.cycle()
    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    host = await tb.npa_host()
    host.factories[ROGUE_PLUGIN_ID] = lambda image: HostilePlugin()
    meter = ThroughputMeter(WINDOW_NS)
    story_events: list[SecurityEvent] = []

    ext = ExternalHost(InterfaceConfig(EXT_MAC, EXT_IP), tb.wire_in.send_nowait, now=tb.now_ns)
    stale_at_ext: list[bytes] = []  # unicast frames the outside host got for someone else

    async def outside_wire() -> None:
        while True:
            frame = bytes((await tb.wire_out.recv()).tdata)
            dst = frame[:6]
            if not dst[0] & 1 and dst.hex(":") != EXT_MAC:
                stale_at_ext.append(frame)
            ext.receive(frame)

    cocotb.start_soon(outside_wire())

    guests: dict[str, Guest] = {}
    refused_by_guest: list[tuple[str, str, bytes]] = []  # (VM, stack's reason, frame)
    for name, (mac, ip, _vf, policy) in GUESTS.items():
        v = await host.boot_vm(name, mac, VM_MEM, policy)
        stack = NetStack(InterfaceConfig(mac, ip), _metered(v, meter, tb), now=tb.now_ns, name=name)
        sink = FlowReceiver()
        stack.bind_udp(6000, sink.deliver)
        v.shell.receiver = _metered_rx(name, stack, meter, tb, refused_by_guest)
        guests[name] = Guest(name, v, stack, sink)

    # The flows: each VM to and from the outside host, and the two VMs to each other.
    g1, g2 = guests["vm1"], guests["vm2"]
    flows = [
        Flow("vm1 -> outside", g1.stack.udp_flow(1, EXT_IP), g1.stack, "vm1", None),
        Flow("outside -> vm1", ext.source(2, GUESTS["vm1"][1]), ext, None, "vm1"),
        Flow("vm2 -> outside", g2.stack.udp_flow(3, EXT_IP), g2.stack, "vm2", None),
        Flow("outside -> vm2", ext.source(4, GUESTS["vm2"][1]), ext, None, "vm2"),
        Flow("vm1 -> vm2", g1.stack.udp_flow(5, GUESTS["vm2"][1]), g1.stack, "vm1", "vm2"),
        Flow("vm2 -> vm1", g2.stack.udp_flow(6, GUESTS["vm1"][1]), g2.stack, "vm2", "vm1"),
    ]
    traffic = Traffic(tb, flows, progress=cfg.progress)
    pings: dict[str, list[tuple[str, PingSession]]] = {n: [] for n in guests}

    async def ping_round(label: str) -> None:
        for name, g in guests.items():
            peers = [("outside", EXT_IP)] + [(o, GUESTS[o][1]) for o in guests if o != name]
            for peer, ip in peers:
                pings[name].append((f"{peer} ({label})", g.stack.ping(ip, PING_COUNT)))

    phase = max(8, cfg.frames)
    cocotb.start_soon(traffic.run())
    # 1. Emulated.
    traffic.enter("phase 1: emulated")
    await ping_round("emulated")
    await traffic.more(phase)

    # 2. Passthrough: VFs attached, shells switched to their VF vendor's plugin (by the
    # VF's FUNC_PCI_ID: vendor A's unless VF_FLAVOURS gives a VM a format-B VF).
    traffic.enter("phase 2: attach VFs")
    plugins: list[tuple[str, Plugin]] = []  # (VM, plugin), every attach
    for name in GUESTS:
        assert await host.attach_vf(name, vfs[name]), f"{name}: plugin refused"
        plugins.append((name, _plugin(guests[name])))
    await ping_round("plugin")
    await traffic.more(phase)
    shaped = await shaped_phase(tb, traffic, vfs["vm1"])
    await traffic.more(phase)  # vm1's backlog drains at line rate

    traffic.enter("phase 3: MAC changes")
    spoof0 = {n: (await tb.pf.vf_stats(vf))["tx_dropped_spoof"] for n, vf in vfs.items()}
    # 3. Control trapped: vm1's policy accepts MAC changes, vm2's rejects them.
    for name, g in guests.items():
        g.v.driver.set_mac(bytes.fromhex(NEW_MAC[name].replace(":", "")))
        await host.control_done()  # the trapped write returns once it is applied
        now_mac = g.v.driver.current_mac()
        if now_mac.hex(":") != g.stack.mac:  # the guest sees what the device took
            g.stack.set_mac(now_mac.hex(":"))
            for f in flows:
                if f.src_vm == name:
                    f.flow.src_mac = g.stack.mac
    await traffic.more(phase)

    # The change is made before it breaks (NpaHost._retire_mac): frames vm1 queued
    # with its old source MAC still pass anti-spoofing, so the switch drops none.
    await host.mac_changes_done()
    spoofed_at_mac_change = {
        n: (await tb.pf.vf_stats(vf))["tx_dropped_spoof"] - spoof0[n] for n, vf in vfs.items()
    }
    traffic.enter("phase 4: rogue plugin")
    # 4. A compromised vm2 loads a rogue plugin (validly signed) and attacks from its VF.
    await host.detach_vf("vm2", "guest reloads its plugin")
    assert await host.attach_vf("vm2", vfs["vm2"], ring_a_image(ROGUE_PLUGIN_ID).pack())
    await traffic.more(phase // 2)
    rogue = g2.v.shell.plugin
    assert isinstance(rogue, HostilePlugin)
    f2 = tb.hv.vf_function(vfs["vm2"])
    before = await tb.pf.vf_stats(vfs["vm2"])
    await rogue.forge_source_mac(8, g1.stack.mac, EXT_MAC)
    await rogue.forge_vlan(8, 100, g2.stack.mac, EXT_MAC)
    await traffic.more(4)
    after = await tb.pf.vf_stats(vfs["vm2"])
    for attack, counter, what in (
        ("forged source MAC (vm1's)", "tx_dropped_spoof", "dropped by the switch (anti-spoof)"),
        ("forged VLAN tag 100", "tx_dropped_spoof_vlan", "dropped by the switch (VLAN anti-spoof)"),
    ):
        n = after[counter] - before[counter]
        story_events.append(SecurityEvent(tb.now_ns(), "vm2", attack, what, counter, n))
    faults0 = len(tb.iommu.faults_of(f2))
    await rogue.dma_outside(VM_MEM + 0x1000)
    await tb.wait_until("vm2's VF error", lambda: len(tb.iommu.faults_of(f2)) > faults0)
    status = await tb.bar(f2).read(Func.FUNC_STATUS)
    story_events.append(
        SecurityEvent(
            tb.now_ns(),
            "vm2",
            f"TX descriptor at GPA {VM_MEM + 0x1000:#x} (outside its {VM_MEM >> 20} MiB)",
            "IOMMU fault, read answered DECERR, the VF's TX queue stopped in its error state",
            f"IOMMU faults of function {f2}",
            len(tb.iommu.faults_of(f2)) - faults0,
        )
    )
    assert status & FUNC_STATUS_ERROR, hex(status)
    # The hypervisor sees the VF's error and takes vm2 back to the emulated path.
    await host.detach_vf("vm2", "VF TX queue error (IOMMU fault)")
    await traffic.more(phase)

    traffic.enter("phase 5: bad image")
    # 5. A plugin image with a bad checksum: refused, vm2 stays emulated.
    bad = bytearray(ring_a_image().pack())
    bad[-1] ^= 0xFF
    refused = not await host.attach_vf("vm2", vfs["vm2"], bytes(bad))
    loader = host.loaders["vm2"]
    story_events.append(
        SecurityEvent(
            tb.now_ns(),
            "vm2",
            "plugin image with a corrupted payload",
            "refused by the shell's loader, vm2 stays on the emulated path"
            if refused
            else "ACCEPTED",
            "loader refusals (payload_crc)",
            loader.refusals["payload_crc"],
        )
    )
    assert refused and g2.v.shell.plugin is None
    if "B" in cfg.vf_flavours:
        traffic.enter("phase 6: vm1 back to emulation, a wrong-vendor image, vendor B again")
        story_events.append(await vendor_b_round_trip(host, g1, vfs["vm1"], traffic, phase))
        plugins.append(("vm1", _plugin(g1)))
    await ping_round("end")
    await traffic.more(phase)
    traffic.running = False

    log.info("drain")
    # Drain: every flow's frames delivered or found at a drop point.
    for f in flows:
        rx = ext.sink if f.dst_vm is None else guests[f.dst_vm].sink
        rx.set_sent(f.flow.flow_id, f.sent)
    problems: list[str] = []

    def arrived() -> tuple[int, ...]:
        return tuple(
            (ext.sink if f.dst_vm is None else guests[f.dst_vm].sink).stats(f.flow.flow_id).received
            for f in flows
        )

    # Until every frame arrived, or nothing more arrives for DRAIN_CYCLES (the rest is
    # then lost, and the accounting below must find each loss at a named drop point).
    quiet, last = 0, arrived()
    while sum(last) < sum(f.sent for f in flows) and quiet < DRAIN_CYCLES:
        await tb.cycles(500)
        now = arrived()
        quiet = 0 if now != last else quiet + 500
        last = now
    try:
        await tb.wait_until(
            "ping replies",
            lambda: all(s.received == s.sent for p in pings.values() for _, s in p),
            within=DRAIN_CYCLES,
        )
    except AssertionError as exc:
        problems.append(str(exc))
    await tb.settle(500)

    story = NpaStory(meter, tb.now_ns())
    for name, g in guests.items():
        for m in g.v.shell.history[1:]:
            story.mode_changes.append(ModeChange(m.time_ns, name, m.mode.value, m.reason))
    story.policy_events = list(host.control_log)
    story.security_events = story_events
    named = frame_drops(host, refused_by_guest)
    report = await gather("npa", cfg, tb, FrameScoreboard(), cycle0)
    uplink = tb.pf.port_stats(tb.num_func)
    no_route = (await uplink)["rx_dropped_no_route"]
    # Every UDP frame not delivered must be held by a drop point that names it.
    unexplained: Counter[str] = Counter()
    stale = Counter(ids[0] for fr in stale_at_ext if (ids := parse_flow(fr)) is not None)
    for f in flows:
        rx = ext.sink if f.dst_vm is None else guests[f.dst_vm].sink
        st = rx.stats(f.flow.flow_id)
        key = f.src_vm or f.dst_vm or "outside"
        story.flows.setdefault(key, []).append(FlowSummary.from_stats(f.name, st, f.sent))
        at = named[f.flow.flow_id]
        if stale[f.flow.flow_id]:
            at["outside host: sent to a stale MAC"] += stale[f.flow.flow_id]
        if st.lost != sum(at.values()):
            unexplained[f.name] = st.lost - sum(at.values())
        if st.duplicated or st.reordered or st.corrupted:
            problems.append(
                f"{f.name}: duplicated {st.duplicated}, reordered {st.reordered}, "
                f"corrupted {st.corrupted}"
                + "".join(f"; seq {q} after {h}" for q, h in st.reorders)
            )
        for reason, n in at.items():
            report.drops.setdefault(f.name, {})[reason] = n
    # VFs still attached drop into RXQ_DROPS too; released ones were read at release.
    rxq_drops = dict(host.vf_rx_drops)
    for n, g in guests.items():
        if g.v.vf is not None:
            func = tb.hv.vf_function(g.v.vf)
            rxq_drops[n] = rxq_drops.get(n, 0) + await tb.bar(func).read(
                queue_reg(0, Queue.RXQ_DROPS)
            )
    counted = {
        **{
            f"vf {vfs[n]} tx_dropped_spoof at the MAC change": spoofed_at_mac_change[n]
            for n in guests
        },
        **{
            f"vf {vfs[n]} RXQ_DROPS (no buffer: floods before its plugin was up)": (
                rxq_drops.get(n, 0)
            )
            for n in guests
        },
        "uplink rx_dropped_no_route (a VM's old MAC)": no_route,
    }
    for name, n in counted.items():
        if n:
            report.drops.setdefault("hardware counters", {})[name] = n
    # The NIC's counters (broadcasts flooding a VF before its plugin posted buffers,
    # ARP) are reported beside; a UDP frame must be found frame by frame.
    for name, n in unexplained.items():
        problems.append(f"{name}: {n} UDP frames lost at no drop point that names them")
    notes_tail = [
        f"UDP frames lost at no named drop point: {sum(unexplained.values())}",
        shaped.line(),
    ]
    problems += shaped.problems()
    for name, n in spoofed_at_mac_change.items():
        if n:
            problems.append(f"{name}: {n} frames dropped as spoofed at its MAC change")
    for name, sessions in pings.items():
        story.pings[name] = [PingSummary.from_session(peer, s) for peer, s in sessions]
    for name, g in guests.items():
        qdisc = g.v.shell.stats["tx_dropped_qdisc"] + g.v.shell.stats["tx_lost_at_quiesce"]
        if qdisc:
            problems.append(f"{name}: {qdisc} frames lost in the guest on TX")
    report.vf_stats = {f"vf {vfs[n]} ({n})": await tb.pf.vf_stats(vfs[n]) for n in guests}
    if cfg.vf_flavours:
        notes_tail += await flavour_lines(tb, host, cfg.vf_flavours, vfs, plugins)
    report.notes = render_story(story).splitlines() + notes_tail
    report.notes += [f"  {p}" for p in problems]
    png = plot_story(story, cfg.report_path.with_suffix(".png"))
    save_story(story, cfg.report_path.with_name("npa_story.json"))
    report.notes.append(f"plot: {png}")
    report.mismatches += problems
    conclude(report, cfg, tb, wall0)


@dataclass(frozen=True)
class ShapedPhase:
    """What vm1's VF sent while the administrator capped it (switch counters)."""

    vf: int
    mbps: int
    cycles: int
    tx_bytes: int
    tx_dropped: int

    @property
    def bytes_per_cycle(self) -> float:
        return self.mbps * 1e6 / 8 / CLOCK_HZ

    def line(self) -> str:
        got = self.tx_bytes * 8 * CLOCK_HZ / self.cycles / 1e6
        return (
            f"vf {self.vf} shaped to max_tx_rate {self.mbps} Mbit/s for {self.cycles} cycles: "
            f"{self.tx_bytes} bytes ({got:.0f} Mbit/s with the {RATE_BURST_BYTES}-byte burst), "
            f"{self.tx_dropped} dropped"
        )

    def problems(self) -> list[str]:
        """The shaper holds the VF to its rate and drops nothing; vm1 offers three
        times the rate, so the VF is backlogged and must get at least 98% of it."""
        out = []
        rate = self.bytes_per_cycle * self.cycles
        if not 0.98 * rate <= self.tx_bytes <= rate + RATE_BURST_BYTES + 1518:
            out.append(f"shaped VF sent {self.tx_bytes} bytes, want {rate:.0f} (+ burst)")
        if self.tx_dropped:
            out.append(f"shaped VF: {self.tx_dropped} frames dropped by the switch")
        return out


async def shaped_phase(tb: NicTb, traffic: Traffic, vf: int) -> ShapedPhase:
    """``ip link set ... vf N max_tx_rate`` below the VM's offer for SHAPED_ROUNDS
    rounds of traffic, then lifted."""
    tb.dut._log.info("phase 2: vf %d shaped to %d Mbit/s", vf, SHAPED_MBPS)
    await tb.pf.set_vf_rate(vf, SHAPED_MBPS)
    before, c0 = await tb.pf.vf_stats(vf), tb.cycle()
    await traffic.more(SHAPED_ROUNDS)
    after, c1 = await tb.pf.vf_stats(vf), tb.cycle()
    await tb.pf.set_vf_rate(vf, 0)
    return ShapedPhase(
        vf,
        SHAPED_MBPS,
        c1 - c0,
        after["tx_bytes"] - before["tx_bytes"],
        after["tx_dropped"] - before["tx_dropped"],
    )


def _metered(v: NpaVm, meter: ThroughputMeter, tb: NicTb):
    def xmit(frame: bytes) -> None:
        meter.count(v.name, "tx", len(frame), tb.now_ns())
        v.shell.xmit(frame)

    return xmit


def _metered_rx(
    name: str,
    stack: NetStack,
    meter: ThroughputMeter,
    tb: NicTb,
    refused: list[tuple[str, str, bytes]],
):
    """The shell's receive hand-off: metered, and every frame the guest's stack
    refused recorded with its reason (a drop point that names the frame)."""
    foreign = stack.counters.foreign

    def receive(frame: bytes) -> None:
        meter.count(name, "rx", len(frame), tb.now_ns())
        before = dict(foreign)
        stack.receive(frame)
        if foreign != before and len(refused) < DROP_RECORD_LIMIT:
            reason = next(r for r, n in foreign.items() if n != before.get(r, 0))
            refused.append((name, reason.value, frame))

    return receive


def frame_drops(
    host: NpaHost, refused_by_guest: list[tuple[str, str, bytes]]
) -> defaultdict[int, Counter[str]]:
    """Per flow id, the drop points (by reason) that hold one of its frames."""
    out: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for vm, reason, frame in refused_by_guest:
        ids = parse_flow(frame)
        if ids is not None:
            out[ids[0]][f"{vm} stack {reason}"] += 1
    for where, reason, frame in host.vswitch.dropped:
        ids = parse_flow(frame)
        if ids is not None:
            out[ids[0]][f"{where} {reason}"] += 1
    return out


def _plugin(g: Guest) -> Plugin:
    plugin = g.v.shell.plugin
    assert plugin is not None, f"{g.name}: no plugin loaded"
    return plugin


async def vendor_b_round_trip(
    host: NpaHost, g: Guest, vf: int, traffic: Traffic, rounds: int
) -> SecurityEvent:
    """vm1 on vendor B's VF: back to the emulated device (the VF's queue state handed
    back), vendor A's image offered (refused: the VF is vendor B's), vendor B's plugin
    again (resumed where the emulated device stopped)."""
    await host.detach_vf(g.name, "vendor B round trip")
    await traffic.more(rounds)
    refused = not await host.attach_vf(g.name, vf, ring_a_image().pack())
    mismatches = host.loaders[g.name].refusals["device_mismatch"]
    assert refused and g.v.shell.plugin is None, f"{g.name}: vendor A's plugin taken"
    await traffic.more(rounds // 2)
    assert await host.attach_vf(g.name, vf), f"{g.name}: vendor B's plugin refused"
    await traffic.more(rounds)
    return SecurityEvent(
        host.now_ns(),
        g.name,
        "vendor A's plugin image on vendor B's VF",
        "refused by the shell's loader (not this VF's vendor), vm1 stays emulated",
        "loader refusals (device_mismatch)",
        mismatches,
    )


async def flavour_lines(
    tb: NicTb, host: NpaHost, flavours: str, vfs: dict[str, int], plugins: list[tuple[str, Plugin]]
) -> list[str]:
    """With VF_FLAVOURS: each VF's identity, each VM's plugins, and what crossed its VF
    (the switch's counters of its port; for vendor B, the completions the VF wrote into
    the shell's own rings)."""
    lines = [f"VF flavours {flavours} (VF_RING_FMT {vf_ring_fmt(flavours)}):"]
    for vf, fl in enumerate(flavours):
        ident = await host.vf_identity(1 + vf)
        lines.append(f"  vf {vf} (function {1 + vf}): {ident}, ring format {fl}")
    for name, vf in vfs.items():
        loaded = [type(p).__name__ for n, p in plugins if n == name]
        port = await tb.pf.port_stats(1 + vf)
        line = (
            f"  {name} on vf {vf}: {', '.join(loaded)}; through switch port vf{1 + vf}: "
            f"{port['rx_packets']} frames sent, {port['tx_packets']} received"
        )
        b = [p for n, p in plugins if n == name and isinstance(p, RingBPlugin)]
        if b:
            tx = sum(p.stats["tx_completed"] for p in b)
            rx = sum(p.stats["rx_delivered"] for p in b)
            line += f"; vendor B's VF completed {tx} TX and {rx} RX frames in the shell's rings"
        lines.append(line)
    return lines
