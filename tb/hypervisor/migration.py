"""Live migration of an NPA VM from one host to another (docs/MIGRATION.md §4).

:class:`NpaMigration` moves a VM between two :class:`~tb.hypervisor.npa.NpaHost`
of one simulation (``tb/datacenter``): it takes the VM back to the emulated path
on the source (the plugin quiesces, the VF is reset and released), pauses it,
copies its memory into the destination host's memory, rebinds its device,
shell and stack to the destination hypervisor, vswitch and interrupts, resumes
it there on the emulated path, announces its MAC with a RARP (the first round
of QEMU's announce schedule) so the top-of-rack switch relearns it, lets the
source forget it, and attaches a VF of the destination host with that host's
vendor plugin. Each step is a simulated switch-over point, recorded with its
simulated time (:class:`MigrationEvent`).

With ``precopy`` parameters, the memory copy is also modelled (docs/MIGRATION.md
§5, §6; tb/hypervisor/migration_model.py): on the emulated path the migration
watches ``sample_ns`` of simulated traffic, takes the pages it dirtied as the
datapath's writable working set, and plans the pre-copy rounds and the
stop-and-copy from them; :meth:`MigrationResult.phases` puts the modelled
durations beside the simulated ones. The real bytes still move in one bulk copy
at the pause, with no simulated time passing.

:class:`LiveMigration` holds the steps every mode shares once the VM is on its
emulated device at the source (pre-copy sample, pause, copy, rebind, resume,
announce, source teardown); :class:`NpaMigration` adds NPA's before (detach the
plugin's VF) and after (attach the destination's VF and plugin), and
tb/hypervisor/failover_migration.py's ``FailoverMigration`` failover mode's
(hot-unplug and hot-plug of the VF under the guest's failover device).

Abort and roll back (docs/MIGRATION.md §10): the destination admits the VM when
the copy starts (its VF is free, and for NPA it has a plugin for that VF, whose image
parses and names the VF's device); a refusal, or the migration link lost during the
pre-copy or the stop-and-copy (``LinkFault``), raises :class:`MigrationAborted`
inside the run, which then rolls back: the VM, paused or not, resumes on the source's
emulated device (its memory never left) and returns to the source VF it had (the
mode's ``_back_to_vf``). The result names the reason (``aborted``) and where it hit.

The announce follows QEMU's schedule (``AnnounceSchedule``, configurable): the first
RARP at the resume, the later rounds from a background task through the destination's
vswitch; with QEMU's default (50 ms and more) they fall after the end of a short
simulation and stay on the report's timeline (``announce_offsets_ns``), while
``announced_ns`` lists the rounds really sent.

Frames that reach the VM while it cannot take them are dropped at a named
point and recorded frame by frame in the source vswitch's ``dropped`` list:
``vm_paused`` (at the source during the pause) and ``vm_migrated`` (at the
source after the VM resumed on the destination, until the ToR moved and the
source's switch entry went); after that the source NIC drops them without a
route (its uplink port's ``DROP_NO_ROUTE``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from fractions import Fraction

import cocotb
from cocotb.task import Task

from tb.hypervisor.migration_model import DirtyPages, PrecopyParams, PrecopyPlan, plan_precopy
from tb.hypervisor.npa import NpaCommandError, NpaHost
from tb.hypervisor.npa_vm import ControlGate, NpaHooks, NpaVm, PortBackend
from tb.hypervisor.vswitch import VswitchPort
from tb.plugin_model.image import PluginImage, PluginImageError

# QEMU's announce parameters (qapi/net.json AnnounceParameters; net/announce.c).
ANNOUNCE_INITIAL_NS = 50_000_000
ANNOUNCE_ROUNDS = 5
ANNOUNCE_STEP_NS = 100_000_000
ANNOUNCE_MAX_NS = 550_000_000
ETH_P_RARP = 0x8035
RARP_REQUEST_REVERSE = 3
# After the first RARP leaves the destination, how long the source still takes frames
# for the VM (and records them) before its switch entry goes: the RARP's way through
# the destination's PF queue, switch, uplink and the ToR, and frames already on their
# way to the source's PF ring, take far less.
SOURCE_LINGER_NS = 8_000


@dataclass(frozen=True)
class AnnounceSchedule:
    """QEMU's self-announce: the first RARP at once, then after ``initial + (rounds -
    round - 1) * step`` (capped at ``max``) for the remaining rounds."""

    initial_ns: int = ANNOUNCE_INITIAL_NS
    rounds: int = ANNOUNCE_ROUNDS
    step_ns: int = ANNOUNCE_STEP_NS
    max_ns: int = ANNOUNCE_MAX_NS

    def __post_init__(self) -> None:
        if self.rounds < 1 or min(self.initial_ns, self.step_ns, self.max_ns) < 0:
            raise ValueError(f"announce schedule needs rounds >= 1 and times >= 0: {self}")

    def offsets_ns(self) -> list[int]:
        """When each round is sent, from the resume (QEMU: 0, 50, 200, 450, 800 ms)."""
        out, t = [0], 0
        for left in range(self.rounds - 1, 0, -1):  # QEMU's round counter after a send
            step = self.initial_ns + (self.rounds - left - 1) * self.step_ns
            t += min(step, self.max_ns) if step >= 0 else self.max_ns
            out.append(t)
        return out


def rarp_frame(mac: str) -> bytes:
    """The RARP request QEMU announces a migrated NIC with (net/announce.c
    ``announce_self_create``): broadcast, sender and target hardware address the NIC's,
    protocol addresses zero, padded to 60 bytes."""
    hw = bytes.fromhex(mac.replace(":", ""))
    if len(hw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    arp = (
        (1).to_bytes(2, "big")  # Ethernet
        + (0x0800).to_bytes(2, "big")  # IPv4
        + bytes((6, 4))
        + RARP_REQUEST_REVERSE.to_bytes(2, "big")
        + hw
        + bytes(4)
        + hw
        + bytes(4)
    )
    frame = b"\xff" * 6 + hw + ETH_P_RARP.to_bytes(2, "big") + arp
    return frame + bytes(60 - len(frame))


@dataclass(frozen=True)
class MigrationEvent:
    """A switch-over point of the migration, at its simulated time."""

    name: str
    t_ns: int
    detail: str = ""


@dataclass(frozen=True)
class Phase:
    """A phase of the migration: ``simulated`` (its duration is simulated time) or
    ``modelled`` (from the copy's plan; no simulated time passes), placed at the
    simulated time ``at_ns`` where it happens."""

    name: str
    kind: str
    at_ns: int
    duration_s: Fraction


# The simulated phases: (name, the event it starts at, the event it ends at).
Spans = tuple[tuple[str, str, str], ...]


def move_spans(emulated_on_source: str) -> Spans:
    """The simulated phases of LiveMigration's shared steps, the first from the event at
    which the VM is on its emulated device at the source."""
    return (
        ("precopy_sample", emulated_on_source, "precopy_sampled"),
        ("pause_to_resume", "paused", "resumed_on_destination"),
        ("announce_and_source_teardown", "resumed_on_destination", "source_forgot"),
    )


ROLL_BACK_SPAN = ("roll_back", "aborted", "back_on_source_vf")
ABORT_REASONS = ("no_vf_free", "plugin_refused", "link_lost")
LINK_FAULT_PHASES = ("precopy", "stop_and_copy")


class MigrationAborted(Exception):
    """The destination refused the VM or the migration link failed: roll back."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in ABORT_REASONS:
            raise ValueError(f"abort reason {reason!r}: one of {', '.join(ABORT_REASONS)}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class LinkFault:
    """The migration link fails ``progress`` of the way through a modelled phase."""

    during: str
    progress: Fraction = Fraction(1, 2)

    def __post_init__(self) -> None:
        if self.during not in LINK_FAULT_PHASES:
            raise ValueError(f"link fault during {self.during!r}: one of {LINK_FAULT_PHASES}")
        if not 0 <= self.progress < 1:
            raise ValueError(f"link fault progress must be in [0, 1), not {self.progress}")


SIMULATED_PHASES: Spans = (  # NPA's
    ("back_to_emulated", "start", "emulated_on_source"),
    *move_spans("emulated_on_source"),
    ("vf_attach", "source_forgot", "plugin_on_destination"),
)


@dataclass
class MigrationResult:
    vm: str
    events: list[MigrationEvent] = field(default_factory=list)
    bytes_copied: int = 0
    announce_offsets_ns: list[int] = field(default_factory=list)
    announced_ns: list[int] = field(default_factory=list)  # when each round was sent
    dst_vf: int | None = None
    plugin_attached: bool = False
    working_set_pages: int = 0  # pages the datapath dirtied in the sample window
    precopy: PrecopyPlan | None = None
    spans: Spans = SIMULATED_PHASES  # the mode's simulated phases
    modelled: list[Phase] = field(default_factory=list)  # the mode's own modelled phases
    aborted: str | None = None  # the reason (ABORT_REASONS) when rolled back
    abort_detail: str = ""
    link_fault: LinkFault | None = None  # the fault that hit, if the link failed

    def phases(self) -> list[Phase]:
        """Every phase in time order; modelled ones where they sit in simulated time."""
        t = {e.name: e.t_ns for e in self.events}
        out = [
            Phase(name, "simulated", t[a], Fraction(t[b] - t[a], 10**9))
            for name, a, b in (*self.spans, ROLL_BACK_SPAN)
            if a in t and b in t
        ]
        out += self.modelled
        fault = self.link_fault
        if self.precopy is not None and "precopy_sampled" in t:
            share = fault.progress if fault and fault.during == "precopy" else 1
            out.append(
                Phase("precopy", "modelled", t["precopy_sampled"], self.precopy.precopy_s * share)
            )
        if self.precopy is not None and "paused" in t:
            share = fault.progress if fault and fault.during == "stop_and_copy" else 1
            out.append(
                Phase("stop_and_copy", "modelled", t["paused"], self.precopy.downtime_s * share)
            )
        return sorted(out, key=lambda ph: (ph.at_ns, ph.kind == "simulated"))

    def at(self, name: str) -> int:
        """The simulated time of event ``name``."""
        for e in self.events:
            if e.name == name:
                return e.t_ns
        raise KeyError(f"{self.vm}: no migration event {name!r}")


@dataclass(frozen=True)
class MoveParams:
    """How the shared part of a migration runs: the announce schedule, the modelled
    copy (None: not modelled) and the simulated traffic sampled for its working set."""

    announce: AnnounceSchedule = field(default_factory=AnnounceSchedule)
    precopy: PrecopyParams | None = None
    sample_ns: int = 20_000
    link_fault: LinkFault | None = None  # the migration link fails (abort and roll back)

    def __post_init__(self) -> None:
        if self.sample_ns <= 0:
            raise ValueError(f"sample_ns must be positive, not {self.sample_ns}")
        if self.link_fault is not None and self.precopy is None:
            raise ValueError("a link fault needs the modelled copy (precopy parameters)")


class LiveMigration(ABC):
    """What every mode's migration of one VM from ``src`` to ``dst`` (onto VF ``dst_vf``
    there) shares, once the VM is on its emulated device at the source: the pre-copy
    sample (N4), the pause, the copy and the resume on the destination (N5, N6), the
    announce and the source's teardown (N7). ``paused`` is True while its vCPUs are
    stopped (a guest model must not run then). A mode adds what happens before and
    after (its ``run``)."""

    SPANS: Spans = SIMULATED_PHASES

    def __init__(
        self, name: str, src: NpaHost, dst: NpaHost, dst_vf: int, params: MoveParams | None = None
    ) -> None:
        if name not in src.vms:
            raise ValueError(f"VM {name!r} is not on the source host")
        if name in dst.vms:
            raise ValueError(f"VM {name!r} already on the destination host")
        if src is dst:
            raise ValueError("source and destination are the same host")
        self.name = name
        self.src = src
        self.dst = dst
        self.dst_vf = dst_vf
        p = params or MoveParams()
        self.announce = p.announce
        self.precopy = p.precopy
        self.sample_ns = p.sample_ns
        self.link_fault = p.link_fault
        self.paused = False
        self._announcer: Task[None] | None = None  # the later announce rounds
        self.result = MigrationResult(name, dst_vf=dst_vf, spans=self.SPANS)

    def _event(self, name: str, detail: str = "") -> None:
        self.result.events.append(MigrationEvent(name, self.src.now_ns(), detail))

    def _modelled(self, name: str, duration_s: Fraction) -> None:
        """A modelled phase of the mode, at the simulated time it sits at (now)."""
        self.result.modelled.append(Phase(name, "modelled", self.src.now_ns(), duration_s))

    async def _sample_precopy(self, v: NpaVm) -> None:
        """N4: the guest runs on its emulated device; its datapath dirties pages."""
        if self.precopy is None:
            return
        dirty = DirtyPages(v.vm.memory, self.precopy.page_bytes)
        await self.src.wait_ns(self.sample_ns)
        pages = dirty.mark()
        self.result.working_set_pages = pages
        wws = pages * self.precopy.page_bytes
        self.result.precopy = plan_precopy(replace(self.precopy, working_set_bytes=wws))
        self._event("precopy_sampled", f"{pages} pages dirtied in {self.sample_ns} ns")
        self._link_check("precopy")

    def _link_check(self, phase: str) -> None:
        """The injected link fault, if it hits during ``phase``."""
        fault = self.link_fault
        if fault is not None and fault.during == phase:
            self.result.link_fault = fault
            raise MigrationAborted(
                "link_lost", f"migration link lost {float(fault.progress):.0%} into {phase}"
            )

    async def _admit(self, v: NpaVm) -> None:
        """The destination admits the VM when the copy starts: its VF is there and free,
        and the mode's own checks pass (``_admit_mode``)."""
        dst, vf = self.dst, self.dst_vf
        if not 0 <= vf < dst.hv.sriov.num_vfs:
            raise MigrationAborted("no_vf_free", f"destination has no VF {vf} enabled")
        owner = dst.hv.owner_of(vf)
        if owner is not None:
            raise MigrationAborted("no_vf_free", f"destination's VF {vf} is assigned to {owner}")
        await self._admit_mode(v)
        self._event("destination_admitted", f"VF {vf}")

    async def _admit_mode(self, v: NpaVm) -> None:  # noqa: B027 (an optional hook)
        """A mode's own admission checks beyond a free VF: none by default (failover's
        guest binds its ordinary VF driver to any VF); NPA overrides it."""

    @abstractmethod
    async def _back_to_vf(self, v: NpaVm) -> None:
        """Roll back's last step: the VM returns to the source VF it had (each mode's own:
        NPA attaches it with its plugin, failover hot-plugs it as the primary)."""

    async def _move_or_roll_back(self, v: NpaVm) -> bool:
        """The shared steps from the VM on its emulated device at the source: admission,
        pre-copy, pause, copy, resume on the destination, announce. False when the
        migration was aborted and rolled back instead (the VM stays on the source)."""
        try:
            await self._admit(v)
            await self._sample_precopy(v)
            await self._move(v)
        except MigrationAborted as why:
            await self._roll_back(v, why)
            return False
        return True

    async def _roll_back(self, v: NpaVm, why: MigrationAborted) -> MigrationResult:
        """The VM stays on the source: resumed if it was paused (its memory never left),
        then back on the source's VF."""
        self.result.aborted, self.result.abort_detail = why.reason, why.detail
        self._event("aborted", str(why))
        if self.paused:
            assert v.port is not None
            v.port.deliver = self.src._deliver(v)
            v.device.resume_emulation()
            self.paused = False
            self._event("resumed_on_source")
        await self._back_to_vf(v)
        self._event("back_on_source_vf")
        return self.result

    async def _move(self, v: NpaVm) -> None:
        """N5 to N7: pause, copy, resume on the destination (emulated), announce, and the
        source forgets the VM."""
        src, dst, name = self.src, self.dst, self.name
        assert v.port is not None, f"{name}: emulated without a vswitch port"
        # N5: pause. The guest stops, its device takes nothing more (the source records
        # what arrives), and what it sent leaves the source's PF queue.
        self.paused = True
        v.device.emulating = False
        src_port = v.port
        src_port.deliver = lambda frame: "vm_paused"
        self._event("paused")
        await src.vswitch.drain(src_port)
        self._link_check("stop_and_copy")
        vm_dst = dst.hv.immigrate_vm(v.vm)  # the memory, copied; GuestMemory rebound
        self.result.bytes_copied = vm_dst.mem_size
        src.hv.emigrate_vm(name)
        self._rebind(v)
        self._event("copied", f"{vm_dst.mem_size} bytes")
        # N6: resume on the destination, emulated, on its vswitch.
        v.port = await dst.vswitch.attach(
            name, v.mac, dst._deliver(v), v.policy.port_vlan, v.max_frame
        )
        src_port.deliver = lambda frame: "vm_migrated"
        v.device.resume_emulation()
        self.paused = False
        self._event("resumed_on_destination")
        # N7: the first announce round now, the others on QEMU's schedule from here (on
        # the wire while the simulation runs that long; on the report's timeline anyway)
        self.result.announce_offsets_ns = self.announce.offsets_ns()
        dst.vswitch.transmit(v.port, rarp_frame(v.mac))
        self.result.announced_ns.append(dst.now_ns())
        self._event("announced", "RARP round 1")
        self._announcer = cocotb.start_soon(self._announce_later(v.port, v.mac))
        await dst.wait_ns(SOURCE_LINGER_NS)
        await src.vswitch.detach(v.mac)  # the source's switch entry goes
        self._event("source_forgot")

    async def _announce_later(self, port: VswitchPort, mac: str) -> None:
        """Rounds 2.. of the announce, each through the destination's vswitch (QEMU sends
        them on the NIC's backend, whichever datapath the guest is on by then)."""
        resumed = self.result.announced_ns[0]
        for offset in self.result.announce_offsets_ns[1:]:
            left = resumed + offset - self.dst.now_ns()
            if left > 0:
                await self.dst.wait_ns(left)
            self.dst.vswitch.transmit(port, rarp_frame(mac))
            self.result.announced_ns.append(self.dst.now_ns())

    def _rebind(self, v: NpaVm) -> None:
        """The VM's device and shell now belong to the destination host."""
        src, dst, name = self.src, self.dst, self.name
        v.vm = dst.hv.vm(name)
        dev = v.device
        dev.backend = PortBackend(dst, name)
        dev.policy = ControlGate(dst, name)
        dev.hooks = NpaHooks(dst, name)
        dev.irq = lambda _vector: dst.vms[name].shell.interrupt()
        dst.vms[name] = v
        del src.vms[name]
        src.loaders.pop(name, None)


class NpaMigration(LiveMigration):
    """One NPA VM's migration from ``src`` to ``dst``, onto VF ``dst_vf`` there with its
    vendor's plugin."""

    src_vf: int | None = None

    async def _admit_mode(self, v: NpaVm) -> None:
        """NPA: the destination has its vendor's plugin for the VF, and the image is
        sound and serves that device."""
        identity = await self.dst.vf_identity(self.dst.hv.vf_function(self.dst_vf))
        try:
            vendor = self.dst.vendor_for(identity)
            image = PluginImage.parse(vendor.image.pack())
        except (NpaCommandError, PluginImageError) as exc:
            raise MigrationAborted("plugin_refused", str(exc)) from exc
        if (image.vendor_id, image.device_id) != (identity.vendor_id, identity.device_id):
            raise MigrationAborted(
                "plugin_refused",
                f"plugin serves {image.vendor_id:04x}:{image.device_id:04x}, VF is {identity}",
            )

    async def _back_to_vf(self, v: NpaVm) -> None:
        if self.src_vf is None:
            return  # it came emulated and stays so
        if not await self.src.attach_vf(self.name, self.src_vf):
            raise RuntimeError(f"{self.name}: roll back: the source's plugin refused")

    async def run(self) -> MigrationResult:
        src, dst, name = self.src, self.dst, self.name
        v = src.vms[name]
        self.src_vf = v.vf
        self._event("start", f"on {'VF ' + str(v.vf) if v.vf is not None else 'emulated'}")
        if v.vf is not None:  # N2, N3: back to the emulated path, VF reset and released
            await src.detach_vf(name, "migration")
            self._event("emulated_on_source")
        if not await self._move_or_roll_back(v):
            return self.result
        # N8: a VF of the destination with its vendor's plugin.
        self.result.plugin_attached = await dst.attach_vf(name, self.dst_vf)
        self._event("plugin_on_destination" if self.result.plugin_attached else "plugin_refused")
        return self.result
