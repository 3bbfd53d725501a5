"""The soak's five invariant monitors, each a small class that can fail.

1. :class:`HonestDelivery`: every frame an honest VM or the outside host sent to an
   honest VM (or an honest VM to the outside) arrives once, uncorrupted, in order,
   or is lost at a named point an injection's window allows, or within a counter
   (VF RX drops, link-down drops) that moved only in windows that allow it.
2. :class:`Isolation`: online, on every frame a VM's shell hands up and every frame
   on the outside wire: no other VM's unicast, no VLAN tag, no frame of a flow not
   addressed there, no forged source; attack frames counted by where they arrived.
3. :class:`Watchdog`: no guest TX path (plugin or emulated) and not the PF's queue
   holds work without a completion for more than ``STALL_BOUND_CYCLES``, unless an
   injection active then excuses that VM.
4. :class:`DropAccounting`: every expectation an injection left (counter deltas, where
   its frames may arrive) holds, and honest VFs' attack counters stay at zero.
5. :class:`Leaks`: after every VM is torn down, host memory, IOMMU domains, the
   switch's MAC table and each VM's own allocations are back where they started.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sim.soak.model import LINK_DOWN, FrameView, InjectionRecord, Violation, rxq_drops
from tb.shell_model.npa_shell import TX_UNCONFIRMED_AT_FAILED_QUIESCE

STALL_BOUND_CYCLES = 20_000  # 80 us: a full 256-frame ring of 1518 B drains in ~6,000
WINDOW_GRACE_NS = 4_000  # a named drop this long after a window still belongs to it
# Drop points whose frames may have arrived all the same (their fate is unknown).
MAYBE_LOST = frozenset({TX_UNCONFIRMED_AT_FAILED_QUIESCE})
HONEST_COUNTERS = (
    "tx_dropped_spoof",
    "tx_dropped_spoof_vlan",
    "bad_register_accesses",
    "mbx_errors",
)


def active_kind(records: list[InjectionRecord], t_ns: int) -> str:
    for r in records:
        if r.active(t_ns):
            return r.kind
    return "-"


@dataclass
class Isolation:
    """Online: who may receive what. ``macs``: VM name -> MAC; ``flow_dst``: flow id ->
    the receiver it is addressed to; ``outside_mac``: the outside host's."""

    macs: dict[str, str]
    flow_dst: dict[int, str]
    outside_mac: str
    records: list[InjectionRecord]
    name: str = "isolation"
    checked: int = 0
    found: list[Violation] = field(default_factory=list)
    arrivals: Counter[tuple[int, str]] = field(default_factory=Counter)
    _attack_seen: set[tuple[int, int, str]] = field(default_factory=set)

    def _fail(self, t_ns: int, detail: str) -> None:
        self.found.append(Violation(self.name, active_kind(self.records, t_ns), detail, t_ns))

    def observe(self, receiver: str, frame: bytes, t_ns: int) -> None:
        self.checked += 1
        v = FrameView.parse(frame)
        dst, src = v.dst.hex(":"), v.src.hex(":")
        vm_macs = set(self.macs.values())
        if (atk := v.attack()) is not None:
            self.arrivals[atk[0], receiver] += 1
            if (atk[0], atk[1], receiver) in self._attack_seen:
                self._fail(t_ns, f"{receiver} got attack frame {atk} twice")
            self._attack_seen.add((atk[0], atk[1], receiver))
        if v.tagged:
            self._fail(t_ns, f"{receiver} got a VLAN-tagged frame from {src} (no VM has a VLAN)")
        if receiver == "outside":
            if v.unicast and dst in vm_macs:
                self._fail(t_ns, f"a VM's unicast to {dst} left on the wire")
            if src not in vm_macs:
                self._fail(t_ns, f"a frame with source {src} (no VM's) left on the wire")
        else:
            if v.unicast and dst != self.macs[receiver]:
                self._fail(t_ns, f"{receiver} got unicast for {dst} (not its MAC)")
            if src not in vm_macs | {self.outside_mac} or src == self.macs[receiver]:
                self._fail(t_ns, f"{receiver} got a frame with source {src} ({v.describe()})")
        if v.udp_dport == 6000 and len(v.payload) >= 4:
            fid = int.from_bytes(v.payload[:4], "big")
            want = self.flow_dst.get(fid)
            if want is not None and want != receiver:
                self._fail(t_ns, f"{receiver} got a frame of flow {fid}, addressed to {want}")

    def violations(self) -> list[Violation]:
        return list(self.found)


@dataclass(frozen=True)
class FlowOutcome:
    """One judged flow's result, as its receiver counted it."""

    name: str
    flow_id: int
    src: str  # VM name or "outside"
    dst: str  # VM name or "outside"
    sent: int
    lost: int
    duplicated: int
    reordered: int
    corrupted: int


@dataclass
class HonestDelivery:
    """sent = delivered + losses each named at a drop point or held by a counter, and
    legitimate only in the window of an injection that allows that reason."""

    records: list[InjectionRecord]
    name: str = "honest_delivery"
    found: list[Violation] = field(default_factory=list)
    explained: Counter[str] = field(default_factory=Counter)  # by reason

    def _window(self, t_ns: int, reason: str, f: FlowOutcome) -> InjectionRecord | None:
        """The window that allows a frame of ``f`` named at ``reason`` at ``t_ns``: active
        then, allowing that reason, and acting on one end of the flow (a named drop
        point is a VM's: windows overlap, and a fault on one VM explains nothing of
        another's frames)."""
        for r in self.records:
            if (
                reason in r.tolerated
                and r.target in (f.src, f.dst)
                and r.active(t_ns, WINDOW_GRACE_NS)
            ):
                return r
        return None

    def check(
        self, flows: list[FlowOutcome], named: dict[int, list[tuple[int, str]]]
    ) -> list[Violation]:
        """``named``: per flow id, (time, reason) of each of its frames a drop point holds."""
        budget: Counter[str] = Counter()
        for r in self.records:
            for reason, n in r.counter_losses.items():
                budget[reason] += n
        for f in flows:
            if f.duplicated or f.reordered or f.corrupted:
                self.found.append(Violation(self.name, "-", (
                    f"{f.name}: {f.duplicated} duplicated, {f.reordered} reordered, "
                    f"{f.corrupted} corrupted")))  # fmt: skip
            drops = named.get(f.flow_id, [])
            # A frame named "maybe lost" (its fate unknown, e.g. TX frames a failed
            # quiesce held) may also have arrived: it explains at most one loss.
            maybe = sum(reason in MAYBE_LOST for _, reason in drops)
            for t, reason in drops:
                rec = self._window(t, reason, f)
                if rec is None:
                    self.found.append(Violation(self.name, active_kind(self.records, t), (
                        f"{f.name}: a frame dropped at '{reason}' outside any window that "
                        "allows it"), t))  # fmt: skip
                elif reason not in MAYBE_LOST:
                    self.explained[f"{reason} ({rec.kind})"] += 1
            rest = f.lost - (len(drops) - maybe)
            take = min(max(rest, 0), maybe)
            if take:
                self.explained["maybe lost: " + ", ".join(sorted(MAYBE_LOST))] += take
                rest -= take
            pools = [LINK_DOWN] + ([rxq_drops(f.dst)] if f.dst != "outside" else [])
            for pool in pools:
                take = min(rest, budget[pool])
                budget[pool] -= take
                rest -= take
                if take:
                    self.explained[pool] += take
            if rest > 0:
                self.found.append(
                    Violation(
                        self.name,
                        "-",
                        f"{f.name}: {rest} of {f.sent} frames lost at no named point",
                    )
                )
        return self.violations()

    def violations(self) -> list[Violation]:
        return list(self.found)


@dataclass
class Watchdog:
    """No queue holds work without progress for more than ``bound`` cycles."""

    records: list[InjectionRecord]
    bound: int = STALL_BOUND_CYCLES
    name: str = "watchdog"
    found: list[Violation] = field(default_factory=list)
    longest: dict[str, int] = field(default_factory=dict)  # longest wait with work, cycles
    _last: dict[str, tuple[int, int]] = field(default_factory=dict)  # progress, since cycle
    _reported: set[tuple[str, int]] = field(default_factory=set)

    def sample(
        self, queue: str, cycle: int, progress: int, busy: bool, t_ns: int, vm: str = ""
    ) -> None:
        """``progress``: completions so far; ``busy``: work is waiting for them."""
        last = self._last.get(queue)
        if last is None or last[0] != progress or not busy:
            self._last[queue] = (progress, cycle)
            return
        waited = cycle - last[1]
        self.longest[queue] = max(self.longest.get(queue, 0), waited)
        excused = any(vm in r.excused and r.active(t_ns, WINDOW_GRACE_NS) for r in self.records)
        if waited > self.bound and not excused and (queue, last[1]) not in self._reported:
            self._reported.add((queue, last[1]))
            self.found.append(Violation(self.name, active_kind(self.records, t_ns), (
                f"{queue}: work waiting, no completion for {waited} cycles "
                f"(bound {self.bound})"), t_ns))  # fmt: skip

    def violations(self) -> list[Violation]:
        return list(self.found)


@dataclass
class DropAccounting:
    """Every injection's expectations against what the counters and receivers saw."""

    records: list[InjectionRecord]
    name: str = "drop_accounting"
    found: list[Violation] = field(default_factory=list)

    def check(
        self, arrivals: Counter[tuple[int, str]], honest_counters: dict[str, int]
    ) -> list[Violation]:
        """``arrivals``: (attack id, receiver) -> frames; ``honest_counters``: each honest
        VF's attack counters (HONEST_COUNTERS) at the end, by ``vm.counter``."""
        for r in self.records:
            for e in r.expects:
                got = r.measured.get(e.counter)
                if got is None or not e.holds(got):
                    self.found.append(
                        Violation(
                            self.name, r.kind, f"{r.target}: want {e.text()}, got {got}", r.start_ns
                        )
                    )
            if r.attack_id is None:
                continue
            for (aid, receiver), n in arrivals.items():
                if aid != r.attack_id:
                    continue
                allowed = r.arrive_exact.get(receiver, r.arrive_max.get(receiver))
                if allowed is None:
                    self.found.append(
                        Violation(
                            self.name, r.kind, f"{n} attack frames reached {receiver}", r.start_ns
                        )
                    )
                elif n > allowed:
                    self.found.append(
                        Violation(
                            self.name,
                            r.kind,
                            f"{n} attack frames reached {receiver}, at most {allowed}",
                            r.start_ns,
                        )
                    )
            for receiver, n in r.arrive_exact.items():
                got = arrivals.get((r.attack_id, receiver), 0)
                if got != n:
                    self.found.append(
                        Violation(
                            self.name,
                            r.kind,
                            f"{receiver} got {got} of the {n} attack frames the policy allows",
                            r.start_ns,
                        )
                    )
        for name, n in sorted(honest_counters.items()):
            if n:
                self.found.append(
                    Violation(
                        self.name, "-", f"honest {name} = {n} (an honest VM attacked nothing)"
                    )
                )
        return self.violations()

    def violations(self) -> list[Violation]:
        return list(self.found)


@dataclass(frozen=True)
class LeakSnapshot:
    """What must balance: host memory regions, IOMMU domains of the VMs' functions, valid
    MAC-table entries, each VM's own allocations, live VF queues, vswitch ports."""

    host_regions: dict[int, int]
    vm_domains: frozenset[int]
    mapped_pages: int
    fdb_entries: int
    guest_regions: dict[str, dict[int, int]]
    live_queues: frozenset[str]
    vswitch_ports: int


@dataclass
class Leaks:
    name: str = "leaks"
    found: list[Violation] = field(default_factory=list)

    def check(self, before: LeakSnapshot, after: LeakSnapshot, where: str = "") -> list[Violation]:
        """``where``: the host the snapshots are of, named in each violation."""

        def fail(detail: str) -> None:
            self.found.append(Violation(self.name, "-", f"{where}: {detail}" if where else detail))

        extra = {a: n for a, n in after.host_regions.items() if before.host_regions.get(a) != n}
        if extra:
            fail(
                f"host memory: {len(extra)} regions ({sum(extra.values())} bytes) not freed "
                f"at {[hex(a) for a in sorted(extra)[:4]]}"
            )
        if after.vm_domains:
            fail(f"IOMMU domains left for destroyed VMs' functions {sorted(after.vm_domains)}")
        if after.mapped_pages != before.mapped_pages:
            fail(f"IOMMU: {after.mapped_pages} pages mapped, {before.mapped_pages} before")
        if after.fdb_entries != before.fdb_entries:
            fail(
                f"switch MAC table: {after.fdb_entries} valid entries, {before.fdb_entries} before"
            )
        for vm, regions in after.guest_regions.items():
            left = {
                a: n for a, n in regions.items() if before.guest_regions.get(vm, {}).get(a) != n
            }
            if left:
                fail(
                    f"{vm}: {len(left)} allocations ({sum(left.values())} bytes) "
                    "of its plugin not freed"
                )
        if after.live_queues:
            fail(f"VF queues still enabled: {sorted(after.live_queues)}")
        if after.vswitch_ports:
            fail(f"{after.vswitch_ports} vswitch ports left")
        return self.violations()

    def violations(self) -> list[Violation]:
        return list(self.found)
