"""PF driver model: owns the PF's register space, and through it the switch.

Only the PF may touch the switch and the SR-IOV control; a VF driver never
gets a handle on anything here. The ``set_vf_*`` methods are the knobs of
``ip link set DEV vf N ...`` (VF index N is 0-based, function N+1), validated
as the kernel validates them (:mod:`tb.pf_driver.knobs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tb.host.interrupts import IrqMonitor
from tb.host.mmio import FunctionBar
from tb.pf_driver.knobs import ETH_P_8021Q, KnobValidator, VfConfigError
from tb.pf_driver.mailbox import MailboxService, PfMailboxPort
from tb.pf_driver.stats import VfStatsReader
from tb.pf_driver.switch_regs import entry_writes, policy_writes, port_base
from tb.pf_driver.vf_state import VfAdminConfig, VfGuest, VfState
from tb.ref.eswitch_model import MAX_FRAME_BYTES, NUM_MC, NUM_SMAC, NUM_VLAN
from tb.ref.mailbox import MbxMessage, MsgType, XcastMode, format_mac, is_multicast
from tb.ref.regmap import (
    PF_ID_MAGIC,
    VF_ADMIN_FLR,
    Esw,
    MacEntry,
    Pf,
    PortCounter,
    VfAdmin,
    vf_admin_reg,
)
from tb.ref.regs import PfCaps, PfId, PortPolicyReg, PortStatus

__all__ = ["PfDriver", "PfDriverError", "VfConfigError", "VfInfo"]


class PfDriverError(ValueError):
    """A request the PF driver refuses, with the reason."""


@dataclass(frozen=True)
class VfInfo:
    """One VF as ``ip link show DEV`` lists it."""

    vf: int
    mac: str
    vlan: int
    qos: int
    spoofchk: bool
    link_state: str
    trust: bool
    max_tx_rate: int

    def line(self) -> str:
        parts = [f"vf {self.vf}     link/ether {self.mac} brd ff:ff:ff:ff:ff:ff"]
        if self.vlan:
            parts.append(f"vlan {self.vlan}" + (f", qos {self.qos}" if self.qos else ""))
        if self.max_tx_rate:
            parts.append(f"max_tx_rate {self.max_tx_rate}Mbps")
        parts.append(f"spoof checking {'on' if self.spoofchk else 'off'}")
        parts.append(f"link-state {self.link_state}")
        parts.append(f"trust {'on' if self.trust else 'off'}")
        return ", ".join(parts)


@dataclass
class PfDriver:
    bar: FunctionBar  # function 0
    total_vfs: int = 0
    num_vfs: int = 0
    mac_table_size: int = 64
    mbx_vector: int = 0
    _mac_slots: dict[tuple[str, int], int] = field(default_factory=dict)
    vfs: dict[int, VfState] = field(default_factory=dict)  # by function number
    _vf_fdb: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    mailbox: MailboxService | None = None

    async def probe(self) -> None:
        pf_id = await self.bar.read(Pf.PF_ID)
        if PfId.BLOCK_ID.decode(pf_id) != PF_ID_MAGIC:
            raise PfDriverError(f"PF_ID {pf_id:#010x}: not this NIC")
        self.total_vfs = PfId.TOTAL_VFS.decode(pf_id)
        self.mbx_vector = PfCaps.MBX_VECTOR.decode(await self.bar.read(Pf.CAPS))

    async def enable_sriov(self, num_vfs: int, *, apply_policy: bool = False) -> None:
        """Set NumVFs. With ``apply_policy`` every VF's switch port gets ixgbe's
        defaults (spoof checking on, no MAC until one is assigned); without it
        the driver's view starts from the switch's reset policy."""
        if not 0 <= num_vfs <= self.total_vfs:
            raise PfDriverError(f"num_vfs {num_vfs} outside 0..{self.total_vfs} (TotalVFs)")
        await self.bar.write(Pf.NUM_VFS, num_vfs)
        readback = await self.bar.read(Pf.NUM_VFS)
        if readback != num_vfs:
            raise PfDriverError(f"NumVFs reads back {readback}, wrote {num_vfs}")
        self.num_vfs = num_vfs
        for f in list(self.vfs):
            if f > num_vfs:
                await self._clear_fdb(f)
                del self.vfs[f]
        for f in range(1, num_vfs + 1):
            if f not in self.vfs:
                if apply_policy:
                    self.vfs[f] = VfState()
                    await self.apply_vf(f)
                else:  # the switch's reset policy: no spoof checking, all-multicast
                    self.vfs[f] = VfState(
                        VfAdminConfig(spoofchk=False), VfGuest(xcast=XcastMode.ALLMULTI)
                    )

    # -------------------------------------------------------------- VF knobs
    def _knobs(self) -> KnobValidator:
        return KnobValidator(self.num_vfs)

    async def set_vf_mac(self, vf: int, mac: str) -> None:
        """``ip link set DEV vf N mac MAC``; 00:00:00:00:00:00 clears the admin MAC.

        As ixgbe does since Linux 5.x: a zero MAC drops the administratively set
        address and the VF's current one, so the VF may choose its own again over
        the mailbox (policy permitting).
        """
        f = self._knobs().vf(vf)
        new = KnobValidator.mac(mac, allow_zero=True)
        self.vfs[f].admin.mac = new
        if new == bytes(6):
            self.vfs[f].guest.mac = new
            self.vfs[f].admin.retiring = []
        await self.apply_vf(f)
        await self._notify_vf(f)

    async def change_vf_mac(self, vf: int, mac: str) -> str:
        """A MAC change made before it breaks: the VF's current MAC stays accepted as
        a source and keeps its forwarding entry beside ``mac`` until
        :meth:`retire_vf_mac`, so frames already queued with it are not dropped as
        spoofed. Returns the old MAC. At most NUM_SMAC - 1 may be retiring at once.
        """
        f = self._knobs().vf(vf)
        new = KnobValidator.mac(mac)
        st = self.vfs[f]
        old = st.mac
        if old not in (bytes(6), new) and old not in st.admin.retiring:
            if len(st.macs()) >= NUM_SMAC:
                raise PfDriverError(
                    f"vf {vf}: {len(st.admin.retiring)} MACs already retiring, "
                    f"no anti-spoofing entry left for {format_mac(old)}"
                )
            st.admin.retiring.append(old)
        st.admin.mac = new
        await self.apply_vf(f)
        await self._notify_vf(f)
        return format_mac(old)

    async def retire_vf_mac(self, vf: int, mac: str) -> None:
        """The end of :meth:`change_vf_mac`: ``mac`` is no longer the VF's."""
        f = self._knobs().vf(vf)
        old = KnobValidator.mac(mac)
        st = self.vfs[f]
        if old not in st.admin.retiring:
            raise PfDriverError(f"vf {vf}: {format_mac(old)} is not retiring")
        st.admin.retiring.remove(old)
        await self.apply_vf(f)

    async def set_vf_rx_filters(
        self, vf: int, xcast: XcastMode, mcs: Sequence[bytes], vlans: Iterable[int]
    ) -> XcastMode:
        """The RX filters of VF ``vf`` set for the VM that owns it, by its hypervisor.

        What ixgbe applies when a VF asks over the mailbox (UPDATE_XCAST_MODE,
        SET_MULTICAST, SET_VLAN), with the same limits; the VM's own driver runs on
        the emulated device, so its hypervisor asks instead. As for a VF, more than
        multicast is clamped to MULTI unless the VF is trusted. Returns the mode set.
        """
        f = self._knobs().vf(vf)
        st = self.vfs[f]
        if len(mcs) > NUM_MC:
            raise PfDriverError(f"{len(mcs)} multicast addresses exceed the {NUM_MC}-entry filter")
        if any(not is_multicast(m) for m in mcs):
            raise PfDriverError("a multicast list entry is not a multicast address")
        vids = sorted({v for v in vlans if v})
        if vids and st.admin.pvid:
            raise PfDriverError("VLAN filters refused: a port VLAN is set")
        if len(vids) > NUM_VLAN:
            raise PfDriverError(f"{len(vids)} VLANs exceed the {NUM_VLAN}-entry filter")
        if xcast > XcastMode.MULTI and not st.admin.trust:
            xcast = XcastMode.MULTI
        st.guest.xcast, st.guest.mcs, st.guest.vlans = xcast, list(mcs), vids
        await self.apply_vf(f)
        return xcast

    async def set_vf_max_frame(self, vf: int, max_frame: int) -> None:
        """The longest frame VF ``vf`` may send or receive (bytes, no FCS, no tag):
        PORT_MAX_LEN of its switch port. What ixgbe sets per VF for LPE; here the
        VM's hypervisor sets it from the MTU it approved."""
        f = self._knobs().vf(vf)
        if not 60 <= max_frame <= MAX_FRAME_BYTES:
            raise PfDriverError(f"max frame {max_frame} outside 60..{MAX_FRAME_BYTES}")
        self.vfs[f].admin.max_frame = max_frame
        await self.apply_vf(f)

    async def set_vf_vlan(self, vf: int, vlan: int, qos: int = 0, proto: int = ETH_P_8021Q) -> None:
        """``ip link set DEV vf N vlan VLAN [qos QOS] [proto 802.1Q]``; vlan 0 clears it."""
        f = self._knobs().vf(vf)
        KnobValidator.vlan(vlan, qos, proto)
        st = self.vfs[f]
        st.admin.pvid, st.admin.qos = (vlan, qos) if vlan or qos else (0, 0)
        if vlan:
            st.guest.vlans = []  # ixgbe drops the VF's own VLANs under a port VLAN
        await self.apply_vf(f)
        await self._notify_vf(f)

    async def set_vf_spoofchk(self, vf: int, on: bool) -> None:
        f = self._knobs().vf(vf)
        self.vfs[f].admin.spoofchk = on
        await self.apply_vf(f)

    async def set_vf_trust(self, vf: int, on: bool) -> None:
        f = self._knobs().vf(vf)
        st = self.vfs[f]
        st.admin.trust = on
        if not on and st.guest.xcast > XcastMode.MULTI:
            st.guest.xcast = XcastMode.MULTI  # privileges go with the trust
        await self.apply_vf(f)

    async def set_vf_link_state(self, vf: int, state: str) -> None:
        """``ip link set DEV vf N state auto|enable|disable``."""
        f = self._knobs().vf(vf)
        self.vfs[f].admin.link_state = KnobValidator.link_state(state)
        await self.apply_vf(f)
        await self._notify_vf(f)

    async def set_vf_rate(self, vf: int, max_tx_rate: int, min_tx_rate: int = 0) -> None:
        """``ip link set DEV vf N max_tx_rate RATE`` (Mbit/s, 0 = unlimited)."""
        f = self._knobs().vf(vf)
        KnobValidator.tx_rate(min_tx_rate, max_tx_rate)
        self.vfs[f].admin.max_tx_rate = max_tx_rate
        await self.apply_vf(f)

    def vf_info(self, vf: int) -> VfInfo:
        f = self._knobs().vf(vf)
        st = self.vfs[f]
        a = st.admin
        return VfInfo(
            vf,
            format_mac(st.mac),
            a.pvid,
            a.qos,
            a.spoofchk,
            a.link_state,
            a.trust,
            a.max_tx_rate,
        )

    async def vf_stats(self, vf: int) -> dict[str, int]:
        """Per-VF counters named like ``ethtool -S`` (all read from the hardware)."""
        return await VfStatsReader(self.bar).read(self._knobs().vf(vf))

    async def reset_vf(self, vf: int) -> None:
        """Function-level reset of a VF from the PF (its DMA engine and mailbox), then
        its guest-chosen settings dropped and its policy applied again."""
        f = await self.flr_vf(vf)
        self.vfs[f].reset_guest()
        await self.apply_vf(f)
        await self._notify_vf(f)

    async def flr_vf(self, vf: int) -> int:
        """Only the function-level reset of a VF: its DMA engine stops at once; its switch
        port, MAC entries and the driver's view stay as they are (for a hypervisor that
        must stop a VF's DMA before it can tidy up). Returns the VF's function number."""
        f = self._knobs().vf(vf)
        await self.bar.write(vf_admin_reg(f, VfAdmin.CTRL), VF_ADMIN_FLR)
        return f

    async def _notify_vf(self, f: int) -> None:
        """Tell a VF whose driver talks to us that its configuration changed (ixgbe's
        IXGBE_PF_CONTROL_MSG); the VF driver answers with a reset."""
        if self.mailbox is not None and self.vfs[f].guest.clear_to_send:
            await PfMailboxPort(self.bar, f).send(MbxMessage(MsgType.PF_CONTROL_MSG, cts=True))
            self.vfs[f].guest.clear_to_send = False

    # ------------------------------------------------------- policy to switch
    async def apply_vf(self, f: int) -> None:
        """Write VF ``f``'s switch policy and forwarding entries from its state."""
        st = self.vfs[f]
        for off, value in policy_writes(f, st.policy()):
            await self.bar.write(Esw.BASE + off, value)
        # Entries that stay are not touched, new ones are added before old ones go:
        # a frame to a MAC the VF keeps never meets a missing entry.
        want = [(format_mac(m), v) for m in st.macs() for v in st.fdb_vlans()]
        have = self._vf_fdb.pop(f, [])
        for mac, v in want:
            if (mac, v) not in have or (mac, v) not in self._mac_slots:
                await self.add_fdb(mac, f, v)
        for mac, v in have:
            if (mac, v) not in want and (mac, v) in self._mac_slots:
                await self.del_fdb(mac, v)
        if want:
            self._vf_fdb[f] = want

    async def _clear_fdb(self, f: int) -> None:
        for mac, v in self._vf_fdb.pop(f, []):
            if (mac, v) in self._mac_slots:
                await self.del_fdb(mac, v)

    async def vf_link_up(self, f: int) -> bool:
        status = await self.bar.read(Esw.BASE + port_base(f) + PortPolicyReg.PORT_STATUS)
        return bool(PortStatus.LINK.decode(status))

    # ---------------------------------------------------------------- mailbox
    def start_mailbox(self, irq: IrqMonitor) -> MailboxService:
        """Start answering VF mailbox requests (after ``enable_sriov``)."""
        if self.mailbox is None:
            self.mailbox = MailboxService(
                self.bar,
                irq,
                self.mbx_vector,
                self.total_vfs,
                self.vfs,
                self.apply_vf,
                self.vf_link_up,
            )
            self.mailbox.start()
        return self.mailbox

    async def add_fdb(self, mac: str, port: int, vlan: int = 0) -> int:
        """Forward frames to ``mac`` (on ``vlan``) to switch port ``port``."""
        if not 0 <= vlan <= 4095:
            raise PfDriverError(f"VLAN {vlan} outside 0..4095")
        key = (mac.lower(), vlan)
        slot = self._mac_slots.get(key)
        if slot is None:
            used = set(self._mac_slots.values())
            free = [s for s in range(self.mac_table_size) if s not in used]
            if not free:
                raise PfDriverError("forwarding table full")
            slot = free[0]
        *key_writes, ctrl = entry_writes(slot, mac, vlan, port)
        if key in self._mac_slots:
            # Re-pointing a live entry (same key): one write, no moment without it.
            await self.bar.write(Esw.BASE + ctrl[0], ctrl[1])
        else:
            # Invalidate, write the key, then validate: never a half-written live entry.
            await self.bar.write(Esw.BASE + ctrl[0], 0)
            for off, value in key_writes:
                await self.bar.write(Esw.BASE + off, value)
            await self.bar.write(Esw.BASE + ctrl[0], ctrl[1])
        self._mac_slots[key] = slot
        # The entry belongs to ``port`` now: a VF it named no longer owns it, so
        # clearing that VF's entries later must not remove it.
        for f, entries in self._vf_fdb.items():
            if f != port and key in entries:
                entries.remove(key)
        return slot

    async def del_fdb(self, mac: str, vlan: int = 0) -> None:
        slot = self._mac_slots.pop((mac.lower(), vlan), None)
        if slot is None:
            raise PfDriverError(f"no forwarding entry for {mac} vlan {vlan}")
        await self.bar.write(Esw.MACT_BASE + slot * Esw.MACT_STRIDE + MacEntry.CTRL, 0)

    async def port_stats(self, port: int) -> dict[str, int]:
        """Switch counters of one port, named like ``ethtool -S``."""
        base = Esw.CNT_BASE + port * Esw.CNT_STRIDE
        return {
            "rx_packets": await self.bar.read(base + PortCounter.RX_FRAMES),
            "rx_bytes": await self.bar.read64(base + PortCounter.RX_BYTES_LO),
            "tx_packets": await self.bar.read(base + PortCounter.TX_FRAMES),
            "tx_bytes": await self.bar.read64(base + PortCounter.TX_BYTES_LO),
            "rx_dropped_no_route": await self.bar.read(base + PortCounter.DROP_NO_ROUTE),
            "rx_dropped_too_big": await self.bar.read(base + PortCounter.DROP_TOO_BIG),
        }
