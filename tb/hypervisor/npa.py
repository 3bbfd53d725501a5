"""NPA on one host: VMs boot on the emulated vmxnet3 device, move to a VF plugin and back.

The hypervisor's side of the Network Plugin Architecture, on the simulated NIC:

- **boot**: a VM's memory, its emulated vmxnet3 device (tb/hypervisor/vmxnet3_device.py)
  whose backend is a port of the PF-port vswitch (tb/hypervisor/vswitch.py), the
  guest's vmxnet3 driver and NPA shell (tb/shell_model), brought up through trapped
  MMIO exactly as Linux's vmxnet3 driver does;
- **attach a VF** (:meth:`NpaHost.attach_vf`): the PF driver programs the VF first
  (MAC, anti-spoofing, port VLAN), the hypervisor gives the VF an IOMMU domain over
  the VM's memory, and the shell runs NPA's sequence: STOP_EMULATION, LOAD_PLUGIN
  (the hypervisor writes the image of the VF's vendor, found by the VF's
  ``FUNC_PCI_ID``, at the guest-physical address the shell put in confPA, and its
  length in confLen), the shell's loader (for that vendor and device) verifies it
  and calls ``init``, ACTIVATE_VF. A refused image, or a plugin that cannot start,
  leaves the VM on the emulated path, with the VF taken back;
- **detach** (:meth:`NpaHost.detach_vf`): the shell quiesces the plugin (no TX frame
  lost), the device resumes emulation, the VF is reset and released;
- **control trapped**: the device hands every MAC, RX-mode, multicast and VLAN
  request to :class:`ControlGate`, which decides it with the VM's security policy
  (ESXi's port-group settings: MAC address changes, promiscuous mode) and, if
  allowed, applies it to the switch through the PF driver (VF attached: the VF's
  ``ip link`` knobs; emulated: the vswitch and the PF's forwarding entries). Every
  decision is logged with its reason.

The VM record and the per-VM callbacks (policy gate, NPA hooks, vswitch backend)
are in tb/hypervisor/npa_vm.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import cocotb
from cocotb.task import Task
from cocotb.triggers import ClockCycles

from tb.host.interrupts import IrqMonitor
from tb.host.mmio import FunctionBar
from tb.hypervisor.hypervisor import Hypervisor
from tb.hypervisor.npa_vm import (
    ControlEvent,
    ControlGate,
    NpaHooks,
    NpaVm,
    PortBackend,
    SecurityPolicy,
)
from tb.hypervisor.vmxnet3_control import DeviceResult
from tb.hypervisor.vmxnet3_device import Vmxnet3Device
from tb.hypervisor.vswitch import Deliver, PfPortVswitch
from tb.pf_driver.driver import PfDriver
from tb.plugin_model.image import PluginImage, PluginImageError
from tb.plugin_model.loader import PluginFactory, PluginLoader
from tb.plugin_model.plugin import PluginInitError
from tb.ref.eswitch_model import MAX_FRAME_BYTES
from tb.ref.mailbox import XcastMode
from tb.ref.regmap import Esw, Func, PciIdentity, PortCounter, Queue, queue_reg
from tb.shell_model.npa_shell import NpaShell
from tb.shell_model.shell import Vmxnet3Shell
from tb.shell_model.vmxnet3_defs import Cmd, PluginConfDesc, RxMode
from tb.shell_model.vmxnet3_driver import DriverConfig, Vmxnet3Driver
from tb.shell_model.vmxnet3_shared import DriverShared

# A MAC change on a VF (NpaHost._retire_mac): how long the old MAC stays in effect.
MAC_GRACE_NS = 20_000  # peers act on the guest's gratuitous ARP well within this
MAC_TX_DRAIN_NS = 400_000  # bound on the TX ring passing the mark (a capped VF is slow)
MAC_POLL_NS = 1_000  # how often the hypervisor reads the ring's indices meanwhile
MAC_PIPE_NS = 2_000  # engine read to switch ingress: far above the TX FIFO's drain time
RX_PIPE_NS = 2_000  # switch egress to the VF's RX ring: far above the RX FIFO's drain time
# A VF's last TX frame, out of its engine, to the vswitch's delivery to another emulated VM
# (the switch, the PF's RX ring and its completion hold): far above that path's latency.
TX_PIPE_NS = 2_000


@dataclass(frozen=True)
class VendorPlugin:
    """What a NIC vendor ships for its VF: the signed image the hypervisor injects into a
    VM given such a VF, and the implementation the guest's loader knows by the image's
    plugin id."""

    identity: PciIdentity
    image: PluginImage
    factory: PluginFactory


@dataclass
class NpaHost:
    """One host: the NIC's PF driver, the hypervisor, the vswitch, and NPA VMs.

    ``vendors``: every vendor's plugin, by the identity (``FUNC_PCI_ID``) of the VF
    it drives. ``factories``: the implementations a guest's loader knows (every
    vendor's, and any a test adds).
    """

    hv: Hypervisor
    pf: PfDriver
    vswitch: PfPortVswitch
    irq: IrqMonitor
    bar: Callable[[int], FunctionBar]
    now_ns: Callable[[], int]
    vendors: tuple[VendorPlugin, ...]
    factories: dict[str, PluginFactory] = field(default_factory=dict)
    vms: dict[str, NpaVm] = field(default_factory=dict)
    control_log: list[ControlEvent] = field(default_factory=list)
    loaders: dict[str, PluginLoader] = field(default_factory=dict)
    vf_rx_drops: dict[str, int] = field(default_factory=dict)  # RXQ_DROPS of released VFs
    _pending: list[Task] = field(default_factory=list)
    _retiring: list[Task] = field(default_factory=list)
    # A plugin that raised: the VM taken back to the emulated path (NpaShell's fallback).
    plugin_faults: list[tuple[int, str, str]] = field(default_factory=list)  # (ns, VM, error)
    _fallbacks: list[Task] = field(default_factory=list)
    drops: dict[str, dict[str, int]] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("cocotb.npa.host"))
    # The NIC's clock: the hypervisor's timed waits end on its edges, where an MMIO
    # access may start (tb/host/mmio.py).
    clock: Any = None
    ns_per_cycle: int = 4

    def __post_init__(self) -> None:
        for v in self.vendors:
            self.factories.setdefault(v.image.plugin_id, v.factory)

    async def vf_identity(self, func: int) -> PciIdentity:
        """The PCI identity a function reports (``FUNC_PCI_ID``, ARCHITECTURE §3.1, §4b)."""
        return PciIdentity.from_pci_id(await self.bar(func).read(Func.FUNC_PCI_ID))

    def vendor_for(self, identity: PciIdentity) -> VendorPlugin:
        for v in self.vendors:
            if v.identity == identity:
                return v
        raise NpaCommandError(f"no vendor plugin for a VF {identity}")

    async def wait_ns(self, ns: int) -> None:
        if self.clock is None:
            raise RuntimeError("NpaHost needs the NIC's clock for timed waits")
        await ClockCycles(self.clock, max(1, ns // self.ns_per_cycle))

    def log_control(self, vm: str, op: str, detail: str, allowed: bool, reason: str) -> None:
        ev = ControlEvent(self.now_ns(), vm, op, detail, allowed, reason)
        self.control_log.append(ev)
        self.logger.info(
            "control %s %s %s: %s (%s)", vm, op, detail, "allowed" if allowed else "DENIED", reason
        )

    def stats_drop(self, vm: str, reason: str) -> None:
        per = self.drops.setdefault(vm, {})
        per[reason] = per.get(reason, 0) + 1

    def schedule(self, coro: Coroutine[Any, Any, None]) -> None:
        self._pending.append(cocotb.start_soon(coro))

    async def control_done(self) -> None:
        """Until every allowed control request is applied to the switch.

        A guest's trapped register write completes only once the hypervisor has
        handled it (its vCPU is held meanwhile); a model guest awaits this after
        a control operation to see the same ordering.
        """
        while self._pending:
            await self._pending.pop(0)

    # -- boot -----------------------------------------------------------------------------

    async def boot_vm(
        self,
        name: str,
        mac: str,
        mem_size: int,
        policy: SecurityPolicy | None = None,
        *,
        ring_size: int = 256,
        rx_buf_len: int = 1536,
        mtu: int = 1500,
    ) -> NpaVm:
        """Create the VM, its emulated NIC on a vswitch port, and bring the guest driver
        up with ``mtu`` (asked of the hypervisor at ACTIVATE_DEV)."""
        vm = self.hv.create_vm(name, mem_size)
        rings = Vmxnet3Shell(vm.memory, tx_size=ring_size, rx_size=ring_size, rx_buf_len=rx_buf_len)
        device = Vmxnet3Device(
            vm.memory,
            bytes.fromhex(mac.replace(":", "")),
            PortBackend(self, name),
            policy=ControlGate(self, name),
            hooks=NpaHooks(self, name),
            irq=lambda _vector: self.vms[name].shell.interrupt(),
        )
        shell = NpaShell(name, rings, device, self.now_ns, logger=self.logger.getChild(name))
        shell.on_plugin_fault = lambda exc: self._plugin_fault(name, exc)
        driver = Vmxnet3Driver(vm.memory, rings, device, DriverConfig(mtu=mtu))
        v = NpaVm(vm, mac.lower(), policy or SecurityPolicy(), device, driver, rings, shell)
        self.vms[name] = v
        driver.open()
        v.port = await self.vswitch.attach(
            name, mac, self._deliver(v), v.policy.port_vlan, v.max_frame
        )
        shell.start()
        return v

    # -- NPA switch-over ------------------------------------------------------------------

    async def attach_vf(self, name: str, vf: int, image: bytes | None = None) -> bool:
        """Give VM ``name`` VF ``vf`` and move its datapath to the plugin in ``image``
        (default: the image of the VF's vendor, by its ``FUNC_PCI_ID``).

        Returns False when the guest refused the image or its plugin could not start
        (the VM stays emulated and the VF is taken back); a refused image is counted
        by the shell's loader.
        Order: the VF's RX ring holds the VM's buffers before the switch's entry
        for the VM's MAC moves to the VF, and the VF sends only after the PF
        driver set its MAC and anti-spoofing, so no frame meets a VF that is
        not ready; frames that arrive for the VM between STOP_EMULATION and that
        move are dropped by the stopped device and counted (``rx_not_ready``).
        """
        v = self.vms[name]
        func = self.hv.assign_vf(name, vf)
        identity = await self.vf_identity(func)
        self.logger.info("%s: VF %d (function %d, %s) assigned", name, vf, func, identity)
        v.vf = vf
        v.vf_port_rx0 = await self._port_rx_frames(func)
        vf_bar = self.bar(func)
        try:
            v.pending_image = self.vendor_for(identity).image.pack() if image is None else image
            await self._guest_switch_to_plugin(v, vf_bar)
            self.logger.info("%s: on the plugin", name)
        except (PluginImageError, PluginInitError, NpaCommandError) as exc:
            self.logger.warning("%s: plugin refused, staying emulated: %s", name, exc)
            v.shell.note(f"plugin refused: {exc}")
            v.device.resume_emulation()
            await self.hv.release_vf(name, vf, self._flr)
            v.vf = None
            return False
        finally:
            v.pending_image = None
        return True

    def _plugin_fault(self, name: str, exc: BaseException) -> None:
        """The VM's plugin raised: take the VM back to the emulated path (the shell
        stopped calling the plugin; the detach quiesces it as any other)."""
        self.plugin_faults.append((self.now_ns(), name, f"{type(exc).__name__}: {exc}"))
        self.logger.warning("%s: plugin fault (%s): back to the emulated path", name, exc)
        self._fallbacks.append(cocotb.start_soon(self.detach_vf(name, f"plugin fault: {exc}")))

    async def fallbacks_done(self) -> None:
        """Until every fallback to the emulated path after a plugin fault has finished."""
        while self._fallbacks:
            await self._fallbacks.pop(0)

    async def _program_vf(self, v: NpaVm) -> None:
        """ACTIVATE_VF's hypervisor side: the PF driver points the VM's MAC at its VF."""
        assert v.vf is not None
        await self.pf.set_vf_spoofchk(v.vf, True)
        await self.pf.set_vf_max_frame(v.vf, v.max_frame)
        if v.policy.port_vlan:  # before the MAC: its forwarding entry is on that VLAN
            await self.pf.set_vf_vlan(v.vf, v.policy.port_vlan)
        await self.pf.set_vf_mac(v.vf, v.mac)  # re-points the switch entry to the VF
        await self.apply_rx_filters(v)  # what the guest asked of the emulated device
        if v.port is not None:
            self.vswitch.forget(v.mac)
            v.port = None

    async def _guest_switch_to_plugin(self, v: NpaVm, vf_bar: FunctionBar) -> None:
        """What the guest's shell does when the hypervisor announces a VF."""
        for cmd in (Cmd.STOP_EMULATION, Cmd.LOAD_PLUGIN):
            result = v.driver.command(cmd)
            if result != DeviceResult.OK:
                raise NpaCommandError(f"{Cmd(cmd).name} returned {result:#x}")
            if cmd == Cmd.STOP_EMULATION and v.port is not None:
                # The device sends nothing more; what it sent leaves the PF's queue before
                # the plugin opens the VF: none overtaken by a frame on the VF, and no
                # broadcast of the VM's own flooded back to it through its VF's port.
                waited = await self.vswitch.drain(v.port)
                if waited:
                    self.logger.info(
                        "%s: %d emulated TX frames left the PF's queue first", v.name, waited
                    )
        off = DriverShared.offset_of("dev_read.plugin_conf_desc")
        conf = PluginConfDesc.unpack(v.vm.memory.read(v.driver.shared_gpa + off, 16))
        # The guest's loader serves the vendor and device its VF reports.
        ident = PciIdentity.from_pci_id(await vf_bar.read(Func.FUNC_PCI_ID))
        loader = PluginLoader(ident.vendor_id, ident.device_id, self.factories)
        self.loaders[v.name] = loader

        async def activate_vf() -> None:
            result = v.driver.command(Cmd.ACTIVATE_VF)
            if result != DeviceResult.OK:
                raise NpaCommandError(f"ACTIVATE_VF returned {result:#x}")
            await self._program_vf(v)

        await v.shell.attach_plugin(
            loader,
            conf.conf_pa,
            conf.conf_len,
            v.vm.memory,
            vf_bar,
            self.irq,
            v.device.rings,
            before_switch=activate_vf,
        )

    async def detach_vf(self, name: str, reason: str = "detach") -> None:
        """Back to the emulated path (plugin quiesced, nothing lost), VF reset and released.

        The switch's entry for the VM's MAC moves back to the PF's port first, so
        frames for the VM meet the device (dropped and counted until it resumes,
        ``rx_not_ready``), never a VF whose ring is closing.
        """
        v = self.vms[name]
        if v.vf is None:
            raise NpaCommandError(f"{name} has no VF")
        vf = v.vf
        self.logger.info("%s: detach VF %d (%s): switch entry back to the PF", name, vf, reason)
        v.port = await self.vswitch.attach(
            v.name,
            v.mac,
            self._deliver(v),
            v.policy.port_vlan,
            v.max_frame,
            pipe=lambda: self.wait_ns(MAC_PIPE_NS),
        )
        # Frames the switch sent towards the VF before its entry moved land in the
        # plugin's buffers before its ring closes.
        await self.wait_ns(RX_PIPE_NS)
        func = self.hv.vf_function(vf)
        if v.shell.plugin is not None:
            result = await v.shell.detach_plugin(
                reason,
                resume=v.device.resume_emulation,
                after_quiesce=self._tx_pipe(v),
                stop_vf=lambda: self.pf.flr_vf(vf),  # if the plugin cannot quiesce
            )
            self.logger.info("%s: plugin quiesced: %s", name, result)
            await self._tx_fifo_drained(v, vf, result.tx_sent)
        v.device.resume_emulation()
        # Frames already past the switch towards the VF when its ring closed were
        # dropped by the VF (RXQ_DROPS); read before the FLR clears the counter.
        drops = await self.bar(func).read(queue_reg(0, Queue.RXQ_DROPS))
        self.vf_rx_drops[name] = self.vf_rx_drops.get(name, 0) + drops
        await self.pf.set_vf_mac(vf, "00:00:00:00:00:00")  # the VF's own entries go
        if v.policy.port_vlan:
            await self.pf.set_vf_vlan(vf, 0)  # the next VM's port group is its own
        await self.pf.set_vf_max_frame(vf, MAX_FRAME_BYTES)
        await self.hv.release_vf(v.name, vf, self._flr)
        self.logger.info("%s: VF %d reset and released", name, vf)
        v.vf = None

    async def _port_rx_frames(self, port: int) -> int:
        """``RX_FRAMES`` of a switch port: every frame it took from the port."""
        base = Esw.CNT_BASE + port * Esw.CNT_STRIDE
        return await self.bar(0).read(base + PortCounter.RX_FRAMES)

    async def _tx_fifo_drained(self, v: NpaVm, vf: int, sent: int) -> None:
        """Until the switch took every frame the plugin's VF sent, before its MAC goes.

        A TX completion is written once the frame is in the engine's TX FIFO, before
        the switch takes it (ARCHITECTURE §3.1, known limits); behind switch
        backpressure or the VF's rate cap, frames the plugin saw completed still wait
        there after the quiesce, and would meet a VF whose MAC (anti-spoofing) is gone.
        Bounded by ``MAC_TX_DRAIN_NS``; logged if the switch never counts them.
        """
        func = self.hv.vf_function(vf)
        waited = 0
        while True:
            got = (await self._port_rx_frames(func) - v.vf_port_rx0) & 0xFFFF_FFFF
            if got >= sent:
                return
            if waited >= MAC_TX_DRAIN_NS:
                self.logger.warning(
                    "%s: VF %d: the switch took %d of the %d frames it sent; releasing it",
                    v.name, vf, got, sent,
                )  # fmt: skip
                return
            await self.wait_ns(MAC_POLL_NS)
            waited += MAC_POLL_NS

    def _tx_pipe(self, v: NpaVm) -> Callable[[], Coroutine[Any, Any, None]]:
        """After the quiesce, before the device sends: with another emulated VM on this
        host, the VF's last frames for it are still on their way (the switch, the PF's
        RX ring); the vswitch would deliver the device's next ones to it in software
        at once, ahead of them. Wait ``TX_PIPE_NS`` for them then."""

        async def wait() -> None:
            if any(p.name != v.name for p in self.vswitch.ports.values()):
                await self.wait_ns(TX_PIPE_NS)

        return wait

    def _deliver(self, v: NpaVm) -> Deliver:
        """The vswitch port's delivery into the VM's device, with the drop reason."""
        c = v.device.counters

        def deliver(frame: bytes) -> str | None:
            before = (c.rx_not_ready, c.rx_filtered, c.rx.pkts_rx_out_of_buf)
            if v.device.receive(frame):
                return None
            after = (c.rx_not_ready, c.rx_filtered, c.rx.pkts_rx_out_of_buf)
            names = ("rx_not_ready", "rx_filtered", "rx_out_of_buf")
            return next((n for n, b, a in zip(names, before, after, strict=True) if a != b), "rx")

        return deliver

    async def _flr(self, func: int) -> None:
        await self.pf.reset_vf(func - 1)

    # -- control applied ------------------------------------------------------------------

    async def apply_mac(self, v: NpaVm, new: str) -> None:
        """An allowed MAC change reaches the switch only through the PF driver.

        On a VF it is made before it breaks: the new MAC is in effect when the
        trapped write returns, and the old one stays accepted (as a source, and
        forwarded to the VF) until :meth:`_retire_mac` finds nothing of the VM's
        sent with it still ahead of the switch.
        """
        old, v.mac = v.mac, new
        if v.vf is not None:
            await self.pf.change_vf_mac(v.vf, new)
            self._retiring.append(cocotb.start_soon(self._retire_mac(v, v.vf, old)))
        elif v.port is not None:
            await self.vswitch.move(old, new)

    async def _retire_mac(self, v: NpaVm, vf: int, old: str) -> None:
        """Retire ``old`` once peers learnt the new MAC and the VF's TX ring moved past
        everything queued with it.

        1. ``MAC_GRACE_NS``: the guest announced its new MAC (gratuitous ARP); a
           peer's frames sent before that still reach the VM (its stack drops them
           as addressed to another MAC, and counts them).
        2. The TX ring: the producer index read then marks the last frame the guest
           can have built with the old MAC; wait until the consumer passed it (the
           engine read it), at most ``MAC_TX_DRAIN_NS``.
        3. ``MAC_PIPE_NS`` more for a frame between the engine's read and the
           switch's anti-spoofing check.
        A VF released meanwhile lost its MACs with it: nothing to retire.
        """
        func = self.hv.vf_function(vf)
        bar = self.bar(func)
        await self.wait_ns(MAC_GRACE_NS)
        mark = await bar.read(queue_reg(0, Queue.TXQ_PROD))
        size = 1 << (await bar.read(queue_reg(0, Queue.TXQ_SIZE)) & 0x1F)
        waited = 0
        while v.vf == vf:
            cons = await bar.read(queue_reg(0, Queue.TXQ_CONS))
            prod = await bar.read(queue_reg(0, Queue.TXQ_PROD))
            if (cons - mark) % size <= (prod - mark) % size:
                break  # the consumer is at or past the mark
            if waited >= MAC_TX_DRAIN_NS:
                self.logger.warning(
                    "%s: VF %d TX ring did not pass index %d within %d ns (cons %d prod %d); "
                    "old MAC %s retired anyway, later frames from it are dropped as spoofed",
                    v.name,
                    vf,
                    mark,
                    MAC_TX_DRAIN_NS,
                    cons,
                    prod,
                    old,
                )
                break
            await self.wait_ns(MAC_POLL_NS)
            waited += MAC_POLL_NS
        await self.wait_ns(MAC_PIPE_NS)
        if v.vf == vf:
            await self.pf.retire_vf_mac(vf, old)
            self.log_control(v.name, "retire_mac", old, True, "its last frame is past the switch")

    async def apply_mtu(self, v: NpaVm, mtu: int) -> None:
        """An approved MTU: the VM's vswitch port or its VF's PORT_MAX_LEN follows it."""
        if v.port is not None:
            v.port.max_frame = v.max_frame
        if v.vf is not None:
            await self.pf.set_vf_max_frame(v.vf, v.max_frame)

    async def apply_rx_filters(self, v: NpaVm) -> None:
        """The RX mode, multicast list and VLAN filters the VM's device holds, onto its VF.

        vmxnet3's RX mode maps to ixgbe's xcast modes (PROMISC, ALL_MULTI, MCAST or
        BCAST: MULTI, else NONE). The VF is not trusted, so all-multicast and
        promiscuous are clamped to the multicast list the guest last gave (logged),
        as ixgbe clamps an untrusted VF's request.
        """
        if v.vf is None:
            return
        fl = v.device.filters
        mode = fl.rx_mode
        if mode & RxMode.PROMISC:
            want = XcastMode.PROMISC
        elif mode & RxMode.ALL_MULTI:
            want = XcastMode.ALLMULTI
        elif mode & (RxMode.MCAST | RxMode.BCAST):
            want = XcastMode.MULTI
        else:
            want = XcastMode.NONE
        # The list counts with MCAST; with more asked, it is what a clamp leaves.
        wide = RxMode.MCAST | RxMode.ALL_MULTI | RxMode.PROMISC
        mcs = fl.mac_filters if mode & wide else ()
        got = await self.pf.set_vf_rx_filters(v.vf, want, mcs, fl.vlans)
        if got != want:
            self.log_control(
                v.name, "rx_mode", str(mode), True,
                f"{want.name} clamped to {got.name} on the untrusted VF {v.vf}",
            )  # fmt: skip

    async def mac_changes_done(self) -> None:
        """Until every MAC change in progress has retired its old MAC."""
        while self._retiring:
            await self._retiring.pop(0)


class NpaCommandError(RuntimeError):
    """An NPA command the guest issued did not succeed."""
