"""Failover mode's live migration (docs/MIGRATION.md §7): the guest's failover device
(tb/guest/failover.py) pairs the ordinary VF driver (primary) with its vmxnet3 device
(standby) by MAC; the hypervisor hot-unplugs the VF, migrates the VM on the standby
and hot-plugs a VF of the destination.

- F1 (simulated): steady state on the source's VF (:func:`assign_vf`, :func:`probe_primary`).
- F2 (modelled): the hot-unplug request; the guest takes ``hot_unplug_s`` to act.
- F3 (simulated, :func:`unplug_primary`): the guest removes the VF driver (TX to the
  standby, rings emptied) and the primary is unregistered; the hypervisor points the
  MAC's switch entry at the PF's port (the standby's vswitch) and releases the VF
  (FLR, unmap).
- F4 (as NPA's, ``LiveMigration``): pre-copy, stop-and-copy, resume on the
  destination, announce, the source forgets the VM.
- F5 (modelled ``hot_plug_s``, then simulated): the destination assigns a VF with the
  VM's MAC, the guest's VF driver probes over the mailbox, the failover device
  registers it as primary.

What the VF took with it is named frame by frame where the frames are known and
counted where only the NIC's counters know them (:class:`UnplugRecord`):

- ``vf_tx_ring_at_unplug``: frames the stack gave the VF driver that the switch never
  took from the VF (its switch port's ``RX_FRAMES`` tells how many of the driver's
  pending frames the engine still sent after the last completion it wrote);
- ``vf_rx_ring_at_unplug``: frames the NIC wrote into the VF's RX ring that the
  driver had not handed up when it was removed (Linux frees them);
- ``vf_rx_at_unplug``: frames the switch sent to the VF after its RX queue was
  disabled, before the switch entry moved (``TX_FRAMES`` of the VF's switch port
  against what the driver received; cross-checked with the VF's ``RXQ_DROPS``);
- ``vf_rx_before_open``: on the destination, frames the switch sent to the new VF
  once its MAC was set (the entry moves to it then, as ``ip link set vf N mac``
  does) and before the driver's RX ring was up (:meth:`VfLife.rx_lost`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from tb.guest.failover import FailoverDevice
from tb.guest.failover_slaves import VfPrimary
from tb.hypervisor.migration import (
    LiveMigration,
    MigrationResult,
    MoveParams,
    Spans,
    move_spans,
)
from tb.hypervisor.npa import MAC_PIPE_NS, RX_PIPE_NS, NpaHost
from tb.hypervisor.npa_vm import NpaVm
from tb.hypervisor.vswitch import PF_PORT
from tb.ref.eswitch_model import MAX_FRAME_BYTES
from tb.ref.regmap import Queue, queue_reg
from tb.vf_driver.ixgbevf import IxgbeVf

# docs/MIGRATION.md §5: unplug without the attention button's 5 s wait (ACPI) 1-2 s,
# with it (native pciehp) 6-7 s; hot-plug 1 s (project assumption).
HOT_UNPLUG_ACPI_S = Fraction(3, 2)
HOT_UNPLUG_PCIEHP_S = Fraction(13, 2)
HOT_PLUG_S = Fraction(1)

FAILOVER_PHASES: Spans = (
    ("unplug", "start", "vf_released"),
    *move_spans("vf_released"),
    ("vf_probe_and_register", "source_forgot", "primary_registered"),
)


class FailoverMigrationError(RuntimeError):
    """The failover migration cannot go on (the unplug or plug met something wrong)."""


@dataclass(frozen=True)
class HotplugParams:
    """The modelled hot-plug phases (docs/MIGRATION.md §5)."""

    hot_unplug_s: Fraction = HOT_UNPLUG_ACPI_S
    hot_plug_s: Fraction = HOT_PLUG_S

    def __post_init__(self) -> None:
        if self.hot_unplug_s <= 0 or self.hot_plug_s <= 0:
            raise ValueError(f"hot-plug times must be positive: {self}")

    @classmethod
    def native_pciehp(cls) -> HotplugParams:
        """Native PCIe hot-plug: the attention button's 5 s abort window first."""
        return cls(hot_unplug_s=HOT_UNPLUG_PCIEHP_S)


@dataclass
class VfLife:
    """One VF's time as the VM's primary on one host, with its switch port's counters
    when it was assigned (before its MAC was set)."""

    host: NpaHost
    vf: int
    func: int
    tx0: int  # TX_FRAMES of the VF's switch port: frames the switch sent to it
    rx0: int  # RX_FRAMES: frames the switch took from it
    primary: VfPrimary | None = None

    async def counters(self) -> tuple[int, int]:
        """(frames the switch sent to the VF, frames it took from it) since assigned."""
        st = await self.host.pf.port_stats(self.func)
        return (st["tx_packets"] - self.tx0) & 0xFFFF_FFFF, (st["rx_packets"] - self.rx0) & (
            0xFFFF_FFFF
        )

    async def rx_lost(self) -> int:
        """Frames the switch sent to the VF that its driver did not receive (call when
        nothing is on its way: the VF's RX ring open before then, or the run settled)."""
        if self.primary is None:
            raise FailoverMigrationError(f"VF {self.vf}: no driver probed on it")
        sent, _ = await self.counters()
        lost = sent - self.primary.rx_frames
        if lost < 0:
            raise FailoverMigrationError(
                f"VF {self.vf}: driver received {self.primary.rx_frames}, switch sent {sent}"
            )
        return lost


@dataclass
class UnplugRecord:
    """What the hot-unplug of the source's VF cost (F3)."""

    tx_lost: list[bytes] = field(default_factory=list)  # vf_tx_ring_at_unplug
    tx_pending: int = 0  # frames the driver still held; the engine sent the first ones
    rx_unreaped: list[bytes] = field(default_factory=list)  # vf_rx_ring_at_unplug
    rx_dropped: int = 0  # vf_rx_at_unplug: sent to the VF after its RX queue stopped
    rxq_drops: int = 0  # the VF's RXQ_DROPS before the FLR (the same frames, by the NIC)


async def assign_vf(host: NpaHost, v: NpaVm, vf: int) -> VfLife:
    """The hypervisor gives VM ``v`` VF ``vf`` (IOMMU domain over its memory) and sets
    it up for the VM: anti-spoofing, the VM's max frame, its MAC (the switch entry for
    the MAC moves to the VF now)."""
    func = host.hv.assign_vf(v.name, vf)
    st = await host.pf.port_stats(func)
    life = VfLife(host, vf, func, st["tx_packets"], st["rx_packets"])
    await host.pf.set_vf_spoofchk(vf, True)
    await host.pf.set_vf_max_frame(vf, v.max_frame)
    await host.pf.set_vf_mac(vf, v.mac)
    return life


async def probe_primary(life: VfLife, v: NpaVm, failover: FailoverDevice) -> VfPrimary:
    """The guest's VF driver probes the new VF over the mailbox and opens it; the
    failover device registers it as primary (refused with another MAC: the VF stays
    the guest's, not enslaved) and its settings go over the mailbox."""
    host = life.host
    primary = VfPrimary(
        IxgbeVf(host.bar(life.func), v.vm.memory, host.irq), name=f"{v.name} VF {life.vf}"
    )
    await primary.open()
    life.primary = primary
    failover.register(primary)
    await primary.settled()
    return primary


async def unplug_primary(life: VfLife, v: NpaVm, failover: FailoverDevice) -> UnplugRecord:
    """F3: the guest removes the VF driver and the failover device unregisters it; the
    hypervisor points the VM's MAC at the PF's port and releases the VF."""
    host, primary = life.host, life.primary
    if primary is None or failover.primary is not primary:
        raise FailoverMigrationError(f"{v.name}: VF {life.vf} is not the registered primary")
    gone = await primary.remove()
    failover.unregister(primary)
    await host.pf.add_fdb(v.mac, PF_PORT, v.policy.port_vlan)  # the standby's vswitch
    # frames past the switch towards the VF land (or are dropped) and what the engine
    # read before the queue stopped leaves its TX FIFO
    await host.wait_ns(max(RX_PIPE_NS, MAC_PIPE_NS))
    sent, took = await life.counters()
    extra = took - gone.tx_completed  # pending frames the engine still sent
    if not 0 <= extra <= len(gone.tx_pending):
        raise FailoverMigrationError(
            f"VF {life.vf}: switch took {took} frames, driver completed {gone.tx_completed} "
            f"with {len(gone.tx_pending)} pending"
        )
    rec = UnplugRecord(gone.tx_pending[extra:], len(gone.tx_pending), gone.rx_unreaped)
    rec.rx_dropped = sent - primary.rx_frames - len(gone.rx_unreaped)
    rec.rxq_drops = await host.bar(life.func).read(queue_reg(0, Queue.RXQ_DROPS))
    await host.pf.set_vf_mac(life.vf, "00:00:00:00:00:00")
    await host.pf.set_vf_max_frame(life.vf, MAX_FRAME_BYTES)

    async def flr(func: int) -> None:
        await host.pf.reset_vf(func - 1)

    await host.hv.release_vf(v.name, life.vf, flr)
    return rec


@dataclass(frozen=True)
class FailoverPlan:
    """What failover mode brings to a migration: the guest's failover device, the VF
    its primary runs on at the source, the destination's VF and the hot-plug times."""

    failover: FailoverDevice
    src_life: VfLife
    dst_vf: int
    hotplug: HotplugParams = field(default_factory=HotplugParams)


class FailoverMigration(LiveMigration):
    """One failover VM's migration from the host its primary's VF is on to ``dst``."""

    SPANS = FAILOVER_PHASES

    def __init__(self, plan: FailoverPlan, dst: NpaHost, params: MoveParams | None = None) -> None:
        life = plan.src_life
        if life.primary is None or plan.failover.primary is not life.primary:
            raise FailoverMigrationError(f"VF {life.vf} is not the failover device's primary")
        name = next((n for n, v in life.host.vms.items() if life.vf in v.vm.vfs), None)
        if name is None:
            raise FailoverMigrationError(f"VF {life.vf} is assigned to no VM of the source")
        super().__init__(name, life.host, dst, plan.dst_vf, params)
        self.failover = plan.failover
        self.src_life = life
        self.hotplug = plan.hotplug
        self.unplug = UnplugRecord()
        self.dst_life: VfLife | None = None
        self.back_life: VfLife | None = None  # the source VF plugged again on roll back

    @property
    def final_life(self) -> VfLife | None:
        """The VF the VM's primary ended on: the destination's, or the source's again."""
        return self.back_life if self.result.aborted else self.dst_life

    async def _back_to_vf(self, v: NpaVm) -> None:
        """Roll back: the source's VF is hot-plugged again and becomes the primary."""
        self._modelled("hot_plug_request", self.hotplug.hot_plug_s)
        self.back_life = await assign_vf(self.src, v, self.src_life.vf)
        await probe_primary(self.back_life, v, self.failover)

    async def run(self) -> MigrationResult:
        v = self.src.vms[self.name]
        self._event("start", f"on VF {self.src_life.vf}")
        # F2: the attention button / ACPI eject request; the guest acts after hot_unplug_s.
        self._modelled("hot_unplug_request", self.hotplug.hot_unplug_s)
        # F3: the guest completes the unplug; the hypervisor releases the VF.
        self.unplug = await unplug_primary(self.src_life, v, self.failover)
        self._event("vf_released", f"{len(self.unplug.tx_lost)} TX frames lost in its ring")
        # F4: as NPA's, on the standby.
        if not await self._move_or_roll_back(v):
            return self.result
        # F5: a VF of the destination is plugged, probed and registered as primary.
        self._modelled("hot_plug_request", self.hotplug.hot_plug_s)
        self.dst_life = await assign_vf(self.dst, v, self.dst_vf)
        self._event("vf_assigned", f"VF {self.dst_vf}")
        await probe_primary(self.dst_life, v, self.failover)
        self._event("primary_registered")
        return self.result
