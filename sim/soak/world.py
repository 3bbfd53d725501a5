"""The soak's rack: two hosts, five honest NPA VMs, one hostile VM, the outside host.

The rack is tb/datacenter's (``two_host_top``: two NICs, a top-of-rack switch between
their uplinks and the outside host). Host A's VMs are on vendor A's plugin on
format-A VFs (vm1..vm3 on VFs 0..2 with :class:`FaultablePlugin`, vendor A's plugin
with fault-injection hooks; vm4 on VF 3 with the rogue plugin); host B's on vendor
B's plugin on format-B VFs (vm5, vm6 on VFs 0, 1 with :class:`FaultableRingB`), its
VF 2 kept free as a migration's destination. Flows run between each VM and the
outside host, around host A's honest VMs, within host B and across the two hosts;
the hostile VM has its own flows (not judged). Every frame a VM's shell hands up and
every frame the ToR hands the outside host passes the isolation monitor first.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cocotb.triggers import Event

from sim.progress import write_progress
from sim.soak.model import TX_BUS_ERROR, FrameView, InjectionRecord
from tb.datacenter import PORT_OUTSIDE, Rack, RackConfig
from tb.env import NicTb, TbConfig
from tb.guest.flow_receiver import FlowReceiver
from tb.guest.flows import HEADER, UdpFlow, parse_flow
from tb.guest.stack import InterfaceConfig, NetStack
from tb.hypervisor.migration import LiveMigration
from tb.hypervisor.npa import NpaHost
from tb.hypervisor.npa_vm import NpaVm, SecurityPolicy
from tb.net.external_host import ExternalHost
from tb.net.tor_switch import Forwarding
from tb.pf_driver.switch_regs import port_base
from tb.plugin_model.hostile import ROGUE_PLUGIN_ID, HostilePlugin
from tb.plugin_model.plugin import Plugin, QuiesceResult
from tb.plugin_model.ring_a import RING_A_PLUGIN_ID, RingAPlugin, ring_a_image
from tb.plugin_model.ring_b import RING_B_PLUGIN_ID, RingBPlugin
from tb.ref.regmap import Esw, MacEntry, MacEntryCtrl, PortCounter
from tb.ref.regs import MacHiValid, MacPair, PortCtrl, PortPolicyReg, PortStatus
from tb.vf_driver.queues import RxQueue, TxFrame, TxQueue

EXT_MAC, EXT_IP = "02:00:00:00:ff:01", "10.0.0.254"
VM_MEM = 8 << 20
HONEST_A = ("vm1", "vm2", "vm3")  # host A, vendor A's plugin
HONEST_B = ("vm5", "vm6")  # host B, vendor B's plugin
HONEST = (*HONEST_A, *HONEST_B)
HOSTILE = "vm4"  # host A
VMS = (*HONEST_A, HOSTILE, *HONEST_B)
HOME = {**{vm: "a" for vm in (*HONEST_A, HOSTILE)}, **{vm: "b" for vm in HONEST_B}}
VF_OF = {"vm1": 0, "vm2": 1, "vm3": 2, "vm4": 3, "vm5": 0, "vm6": 1}  # on its home host
SPARE_VF_B = 2  # host B's VF no VM holds: a migration's destination
# Frames between VMs, beside each VM's two flows with the outside host.
PEER_FLOWS = (
    ("vm1", "vm2"),
    ("vm2", "vm3"),
    ("vm3", "vm1"),
    ("vm4", "vm1"),
    ("vm1", "vm5"),  # across the ToR
    ("vm5", "vm2"),
    ("vm6", "vm3"),
    ("vm5", "vm6"),  # within host B, format-B VF to format-B VF
)
FLOW_PORT = 6000
SIZES = (64, 128, 300, 576, 1000, 1518)
GAP_CYCLES = (10, 70)  # uniform gap between two frames of the whole workload
WARMUP_CYCLES = 4_000
HOSTILE_STALL_CYCLES = 20_000  # the rogue plugin gives up on a dead VF sooner


def vm_mac(name: str) -> str:
    return f"02:00:00:00:0{name[-1]}:01"


def vm_ip(name: str) -> str:
    return f"10.0.0.{name[-1]}"


def vm_vf(name: str) -> int:
    """The VM's VF on its home host."""
    return VF_OF[name]


class FaultHooks(Plugin):
    """Fault-injection hooks for any vendor's plugin (a mixin before its class):
    ``crash_next_tx`` makes the next TX entry point raise once (a vendor bug the shell
    must survive); ``crash_quiesce`` makes the next ``quiesce()`` raise ("raise") or
    never return ("hang"), once."""

    crash_next_tx = False
    crash_quiesce: str | None = None

    async def tx(self, prod: int) -> int:
        if self.crash_next_tx:
            self.crash_next_tx = False
            raise RuntimeError(f"injected fault: {type(self).__name__} raised in tx()")
        return await super().tx(prod)  # type: ignore[safe-super]

    async def quiesce(self) -> QuiesceResult:
        mode, self.crash_quiesce = self.crash_quiesce, None
        if mode == "raise":
            raise RuntimeError(f"injected fault: {type(self).__name__} raised in quiesce()")
        if mode == "hang":
            await Event().wait()  # never set: the shell's time bound ends the call
        return await super().quiesce()  # type: ignore[safe-super]


class FaultablePlugin(FaultHooks, RingAPlugin):
    """Vendor A's plugin with the fault hooks and two more: ``arm_next_tx``, if set, is
    called once with the buffer range ([lo, hi)) of the next frame it puts on the VF
    ring (the soak arms a host-bus error there); ``drop_point`` is the named drop point
    of the frames the VF completed with an error (``tx_hw_errors``): it gets each such
    frame's bytes (the soak's delivery monitor reads them, TX_BUS_ERROR)."""

    arm_next_tx: Callable[[tuple[int, int]], None] | None = None
    drop_point: Callable[[bytes], None] | None = None

    def vf_queues(self) -> tuple[TxQueue, RxQueue]:
        """Its VF's TX and RX queue (the soak arms host-bus errors on their rings)."""
        _, txq, rxq = self._live()
        return txq, rxq

    async def _push_tx(self) -> int:
        if self.arm_next_tx is not None and self._backlog and not self._quiescing:
            gpa, n = self._backlog[0].frags[0]
            self.arm_next_tx((gpa, gpa + n))
            self.arm_next_tx = None
        return await super()._push_tx()

    def _complete_tx(self, frames: list[TxFrame]) -> int:
        api = self._api
        for (_, req), frame in zip(self._hw, frames, strict=False):
            failed = frame.completion is not None and frame.completion.status
            if failed and req is not None and self.drop_point is not None and api is not None:
                self.drop_point(b"".join(api.dma.read(gpa, n) for gpa, n in req.frags))
        return super()._complete_tx(frames)


class FaultableRingB(FaultHooks, RingBPlugin):
    """Vendor B's plugin with the fault hooks (host B's honest VMs)."""


class SoakRoguePlugin(HostilePlugin):
    """The rogue plugin, giving up on a VF that stopped answering after
    HOSTILE_STALL_CYCLES instead of the drivers' default."""

    async def init(self, api) -> None:  # type: ignore[no-untyped-def]
        await super().init(api)
        _, txq, rxq = self._live()
        txq.ring.stall_cycles = rxq.ring.stall_cycles = HOSTILE_STALL_CYCLES


@dataclass
class SoakFlow:
    name: str
    flow: UdpFlow
    sender: NetStack
    src: str  # VM name or "outside"
    dst: str
    sent: int = 0

    @property
    def judged(self) -> bool:
        """Honest delivery judges frames between honest VMs and the outside host."""
        return HOSTILE not in (self.src, self.dst)


@dataclass
class Guest:
    name: str
    v: NpaVm
    stack: NetStack
    sink: FlowReceiver
    # named drops: its stack's refusals, its plugin's TX bus errors: (ns, reason, frame)
    refused: list[tuple[int, str, bytes]] = field(default_factory=list)


class SoakWorld:
    """Everything the injections act on and the monitors read. ``tb`` and ``host`` are
    host A's (the hostile VM's, the uplink that flaps, the bus that errs and spikes);
    ``tbs`` and ``hosts`` both hosts' by "a" and "b"."""

    def __init__(self, dut, seed: int, frames: int, progress: Path | None) -> None:  # type: ignore[no-untyped-def]
        on_a = tuple(1 + vm_vf(n) for n in VMS if HOME[n] == "a")
        on_b = (*(1 + vm_vf(n) for n in VMS if HOME[n] == "b"), 1 + SPARE_VF_B)
        self.rack = Rack(
            dut,
            RackConfig(
                host_a=TbConfig(seed=seed, vm_vfs=on_a),
                host_b=TbConfig(seed=seed + 1, vm_vfs=on_b),
                outside_mac=EXT_MAC,
                outside_ip=EXT_IP,
            ),
        )
        self.tbs: dict[str, NicTb] = dict(self.rack.hosts)
        self.tb = self.rack.a
        self.rng = random.Random(seed)
        self.seed = seed
        self.frames = frames
        self.progress = progress
        self.hosts: dict[str, NpaHost] = {}
        self.host: NpaHost
        self.ext: ExternalHost = self.rack.outside
        self.guests: dict[str, Guest] = {}
        self.flows: list[SoakFlow] = []
        self.records: list[InjectionRecord] = []
        self.refusals: Counter[tuple[str, str]] = Counter()  # (VM, loader reason)
        self.observers: list = []  # isolation monitor(s): .observe(receiver, frame, ns)
        self.traffic_done = False
        self.injections_done = False
        self.planned_injections = 0  # the schedule's
        # (flow id, ns, reason) of every flow frame a vswitch dropped at a named point
        # (its own record list stops at DROP_RECORD_LIMIT; a long soak drops more)
        self.vswitch_drops: list[tuple[int, int, str]] = []
        self.sent_total = 0
        self.attack_serial = 0
        self.mem_regions0: dict[str, dict[int, int]] = {}  # per host
        self.valid_fdb0: dict[str, int] = {}  # per host
        self.guest_regions0: dict[str, dict[int, int]] = {}
        # SOAK_BREAK=delivery: every n-th frame to the VM lost silently in its receive path
        self.drop_every: dict[str, int] = {}
        # SOAK_BREAK=bus_drop: the plugins' named drop point of TX bus errors removed (and
        # every host_bus_error on a TX buffer read); =spike: spikes beyond the watchdog's bound
        self.name_tx_bus_errors = True
        self.bus_error_sites: tuple[str, ...] = ()  # () = every site (faults.BUS_ERROR_SITES)
        self.spike_cycles: tuple[int, int] | None = None  # None = faults.SPIKE_READ_CYCLES
        # SOAK_BREAK=rollback: an aborted migration leaves the VM on the emulated device
        self.roll_back_to_vf = True
        self._rx_count: Counter[str] = Counter()
        # Migrations under way, by VM: a paused VM's stack sends nothing (its vCPUs stopped).
        self.migrations: dict[str, LiveMigration] = {}

    # -- set-up ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.rack.reset()  # both hosts, and the ToR moving frames
        for h, tb in self.tbs.items():
            await tb.pf.probe()
            await tb.pf.enable_sriov(tb.num_vf)
            host = await tb.npa_host()
            host.factories[ROGUE_PLUGIN_ID] = lambda image: SoakRoguePlugin()
            host.factories[RING_A_PLUGIN_ID] = lambda image: FaultablePlugin()
            host.factories[RING_B_PLUGIN_ID] = lambda image: FaultableRingB()
            tb.pf.start_mailbox(host.irq)
            self.hosts[h] = host
            host.vswitch.drop_observers.append(self._vswitch_drop)
            self.mem_regions0[h] = dict(tb.mem.allocator.allocated)
            self.valid_fdb0[h] = await self.valid_fdb_entries(h)
        self.host = self.hosts["a"]
        self.rack.observers.append(self._to_outside)
        for name in VMS:
            host, tb = self.hosts[HOME[name]], self.tbs[HOME[name]]
            v = await host.boot_vm(name, vm_mac(name), VM_MEM, SecurityPolicy())
            stack = NetStack(
                InterfaceConfig(vm_mac(name), vm_ip(name)), v.shell.xmit, now=tb.now_ns, name=name
            )
            sink = FlowReceiver()
            stack.bind_udp(FLOW_PORT, sink.deliver)
            g = Guest(name, v, stack, sink)
            v.shell.receiver = self._receiver(g)
            v.shell.drop_point = self._shell_drop(g)
            self.guests[name] = g
        self.guest_regions0 = {
            n: dict(g.v.vm.memory.allocator.allocated) for n, g in self.guests.items()
        }
        for name in VMS:
            assert await self.attach(name), f"{name}: plugin refused at start"
        self._make_flows()
        # ARP both ways before the judged traffic starts.
        for g in self.guests.values():
            g.stack.resolve(EXT_IP)
            for o in HONEST:
                if o != g.name:
                    g.stack.resolve(vm_ip(o))
        await self.tb.cycles(WARMUP_CYCLES)

    def _make_flows(self) -> None:
        ext, fid = self.ext, 1
        for name in VMS:
            g = self.guests[name]
            self.flows.append(
                SoakFlow(
                    f"{name} -> outside", g.stack.udp_flow(fid, EXT_IP), g.stack, name, "outside"
                )
            )
            self.flows.append(
                SoakFlow(
                    f"outside -> {name}", ext.source(fid + 1, vm_ip(name)), ext, "outside", name
                )
            )
            fid += 2
        for src, dst in PEER_FLOWS:
            g = self.guests[src]
            self.flows.append(
                SoakFlow(f"{src} -> {dst}", g.stack.udp_flow(fid, vm_ip(dst)), g.stack, src, dst)
            )
            fid += 1

    def _receiver(self, g: Guest):  # type: ignore[no-untyped-def]
        foreign = g.stack.counters.foreign

        def receive(frame: bytes) -> None:
            now = self.tb.now_ns()
            if g.name in self.drop_every:
                self._rx_count[g.name] += 1
                if self._rx_count[g.name] % self.drop_every[g.name] == 0:
                    return
            for obs in self.observers:
                obs.observe(g.name, frame, now)
            before = dict(foreign)
            g.stack.receive(frame)
            if foreign != before:
                reason = next(r for r, n in foreign.items() if n != before.get(r, 0))
                g.refused.append((now, f"{g.name} stack {reason.value}", frame))

        return receive

    def _vswitch_drop(self, now: int, where: str, reason: str, frame: bytes) -> None:
        if (ids := parse_flow(frame)) is not None:
            self.vswitch_drops.append((ids[0], now, reason))

    def _to_outside(self, port: int, frame: bytes, out: Forwarding, now: int) -> None:
        """The ToR's observer: a frame it hands the outside host (the rack delivers it)."""
        if PORT_OUTSIDE in out.ports:
            for obs in self.observers:
                obs.observe("outside", frame, now)

    # -- NPA helpers ----------------------------------------------------------------------

    def home(self, name: str) -> str:
        """The host ("a" or "b") the VM runs on now."""
        return next(h for h, host in self.hosts.items() if name in host.vms)

    def host_of(self, name: str) -> NpaHost:
        return self.hosts[self.home(name)]

    def tb_of(self, name: str) -> NicTb:
        return self.tbs[self.home(name)]

    async def attach(self, name: str, image: bytes | None = None) -> bool:
        """Attach the VM's VF with ``image`` (default: the rogue plugin for the hostile VM,
        its host's vendor's for the others); loader refusals are counted here."""
        if image is None and name == HOSTILE:
            image = ring_a_image(ROGUE_PLUGIN_ID).pack()
        host = self.host_of(name)
        ok = await host.attach_vf(name, vm_vf(name), image)
        for reason, n in host.loaders[name].refusals.items():
            self.refusals[name, reason] += n
        if ok:
            self.bind_plugin(name)
        return ok

    def bind_plugin(self, name: str) -> None:
        """The soak's hooks on the VM's plugin (after every attach, the hypervisor's own
        included): vendor A's plugin names the TX frames its VF failed."""
        plugin = self.guests[name].v.shell.plugin
        if isinstance(plugin, FaultablePlugin) and self.name_tx_bus_errors:
            plugin.drop_point = self._tx_bus_error(self.guests[name])

    def _shell_drop(self, g: Guest) -> Callable[[str, bytes], None]:
        """The shell's named drop points (a failed quiesce's TX frames)."""

        def drop(reason: str, frame: bytes) -> None:
            g.refused.append((self.tb.now_ns(), reason, frame))

        return drop

    def _tx_bus_error(self, g: Guest) -> Callable[[bytes], None]:
        def drop(frame: bytes) -> None:
            g.refused.append((self.tb.now_ns(), TX_BUS_ERROR, frame))

        return drop

    def rogue(self) -> HostilePlugin:
        plugin = self.guests[HOSTILE].v.shell.plugin
        assert isinstance(plugin, HostilePlugin), f"{HOSTILE} runs {type(plugin).__name__}"
        return plugin

    def func(self, name: str) -> int:
        """The VM's VF's PCI function on its home host."""
        return 1 + vm_vf(name)

    def next_attack_id(self) -> int:
        self.attack_serial += 1
        return self.attack_serial

    # -- traffic --------------------------------------------------------------------------

    async def traffic(self) -> None:
        """Random frames on random flows, a random gap between them: FRAMES of them, and
        more until the last injection's window closed (``injections_done``)."""
        rng = random.Random(self.seed * 7919 + 1)
        while self.sent_total < self.frames or not self.injections_done:
            f, size = rng.choice(self.flows), rng.choice(SIZES)
            mig = self.migrations.get(f.src)
            if mig is None or not mig.paused:
                f.sender.send_flow(f.flow, size)
                f.sent += 1
                self.sent_total += 1
            if self.progress is not None and self.sent_total % 50 == 0:
                done = sum(r.end_ns >= 0 for r in self.records)
                note = f"injections {done}/{self.planned_injections}"
                write_progress(self.progress, min(self.sent_total, self.frames), note)
            await self.tb.cycles(rng.randint(*GAP_CYCLES))
        self.traffic_done = True

    def receiver_of(self, f: SoakFlow) -> FlowReceiver:
        return self.ext.sink if f.dst == "outside" else self.guests[f.dst].sink

    def received(self) -> int:
        return sum(
            self.receiver_of(f).flows[f.flow.flow_id].received
            for f in self.flows
            if f.flow.flow_id in self.receiver_of(f).flows
        )

    async def drain(self, quiet_cycles: int = 20_000) -> None:
        """Until every frame arrived, or nothing more arrived for ``quiet_cycles``."""
        quiet, last = 0, self.received()
        while last < self.sent_total and quiet < quiet_cycles:
            await self.tb.cycles(500)
            now = self.received()
            quiet = 0 if now != last else quiet + 500
            last = now
        await self.tb.cycles(2_000)

    # -- counters -------------------------------------------------------------------------

    async def link_down_drops(self) -> int:
        """Host A's DROP_LINK_DOWN, over its switch's ports (its uplink is the one that
        flaps)."""
        bar = self.tb.bar(0)
        total = 0
        for port in range(self.tb.num_func + 1):
            total += await bar.read(
                Esw.CNT_BASE + port * Esw.CNT_STRIDE + PortCounter.DROP_LINK_DOWN
            )
        return total

    async def rx_drops(self, name: str) -> int:
        st = await self.tb_of(name).pf.vf_stats(vm_vf(name))
        return st["rx_dropped"]

    async def multicast_filter(self, name: str) -> tuple[list[bytes], bool]:
        """The VM's VF port's multicast filter, read from the switch (ARCHITECTURE §3.2):
        the addresses it receives (``RX_MCAST`` and its valid ``MC`` entries), and
        whether it receives every multicast (effective all-multicast or promiscuous)."""
        bar, base = self.tb_of(name).bar(0), Esw.BASE + port_base(self.func(name))
        ctrl = await bar.read(base + PortPolicyReg.PORT_CTRL)
        status = await bar.read(base + PortPolicyReg.PORT_STATUS)
        every = bool(status & (PortStatus.PROMISC.mask | PortStatus.ALLMULTI.mask))
        macs: list[bytes] = []
        if ctrl & PortCtrl.RX_MCAST.mask:
            for i in range(PortPolicyReg.MC_COUNT):
                entry = base + PortPolicyReg.MC_BASE + PortPolicyReg.MC_STRIDE * i
                lo, hi = await bar.read(entry + MacPair.LO), await bar.read(entry + MacPair.HI)
                if hi & MacHiValid.VALID.mask:
                    top = MacHiValid.MAC.decode(hi)
                    macs.append(top.to_bytes(2, "big") + lo.to_bytes(4, "big"))
        return macs, every

    async def valid_fdb_entries(self, host: str) -> int:
        """Valid entries of the host's switch's MAC table, read from the hardware."""
        tb = self.tbs[host]
        bar, n, valid = tb.bar(0), 0, MacEntryCtrl.VALID.mask
        for slot in range(tb.pf.mac_table_size):
            n += bool(
                await bar.read(Esw.MACT_BASE + slot * Esw.MACT_STRIDE + MacEntry.CTRL) & valid
            )
        return n


def flow_id_of(view: FrameView) -> int | None:
    if view.udp_dport != FLOW_PORT or len(view.payload) < HEADER.size:
        return None
    return HEADER.unpack_from(view.payload)[0]
