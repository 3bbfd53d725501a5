"""What the PF driver knows about one VF: the administrator's settings and the
VF's own requests, and how they become the switch port's policy registers."""

from __future__ import annotations

from dataclasses import dataclass, field

from tb.ref.eswitch_model import (
    MAX_FRAME_BYTES,
    NUM_MC,
    NUM_SMAC,
    NUM_VLAN,
    PortPolicy,
)
from tb.ref.eswitch_shaper import RATE_FRAC_BITS
from tb.ref.mailbox import MboxApi, XcastMode

# Token-bucket scale: RATE_INC counts 1/65536 byte per cycle at 250 MHz (a step of
# about 30.5 kbit/s, so 11 Mbit/s is converted within 0.3%).
CLOCK_HZ = 250_000_000
RATE_BURST_BYTES = 2 * 9018  # two jumbo frames


def rate_inc(max_tx_rate_mbps: int) -> int:
    """Tokens per cycle (1/65536 byte) for a rate in Mbit/s, at least 1."""
    return max(1, round(max_tx_rate_mbps * 1_000_000 / 8 / CLOCK_HZ * (1 << RATE_FRAC_BITS)))


@dataclass
class VfAdminConfig:
    """``ip link set DEV vf N ...``: survives the VF's resets."""

    mac: bytes = bytes(6)  # admin MAC (pf_set_mac when nonzero)
    spoofchk: bool = True  # ixgbe's default
    trust: bool = False
    link_state: str = "auto"
    pvid: int = 0  # 0: no port VLAN
    qos: int = 0
    max_tx_rate: int = 0  # Mbit/s, 0 = unlimited
    # the longest frame the VF sends or receives (PORT_MAX_LEN, no tag counted); the
    # VM's MTU as its hypervisor approved it (ixgbe's per-VF max frame, LPE)
    max_frame: int = MAX_FRAME_BYTES
    # Earlier admin MACs still accepted while a MAC change completes (make before
    # break: frames the VM queued with its old address still pass anti-spoofing and
    # frames sent to it still reach the VF) until the hypervisor retires them.
    retiring: list[bytes] = field(default_factory=list)

    @property
    def pf_set_mac(self) -> bool:
        return self.mac != bytes(6)


@dataclass
class VfGuest:
    """What the VF asked for over the mailbox; cleared by a VF reset."""

    mac: bytes = bytes(6)
    vlans: list[int] = field(default_factory=list)
    mcs: list[bytes] = field(default_factory=list)
    xcast: XcastMode = XcastMode.MULTI
    api: MboxApi = MboxApi.API_10
    clear_to_send: bool = False


@dataclass
class VfState:
    admin: VfAdminConfig = field(default_factory=VfAdminConfig)
    guest: VfGuest = field(default_factory=VfGuest)

    @property
    def mac(self) -> bytes:
        """The VF's MAC address in effect: the admin's when set, else the VF's own."""
        return self.admin.mac if self.admin.pf_set_mac else self.guest.mac

    def reset_guest(self) -> None:
        """ixgbe_vf_reset_event: forget the VF's requests (its own MAC is kept)."""
        self.guest = VfGuest(mac=self.guest.mac)

    def policy(self) -> PortPolicy:
        """The switch port policy that enforces this state."""
        a, g = self.admin, self.guest
        x = g.xcast
        return PortPolicy(
            spoofchk=a.spoofchk,
            trust=a.trust,
            link=a.link_state,
            # ixgbe's spoofchk covers MAC and VLAN anti-spoofing.
            vlan_filter=a.spoofchk,
            rx_ucast=True,
            rx_mcast=x >= XcastMode.MULTI,
            rx_bcast=x >= XcastMode.MULTI,
            rx_allmulti=x >= XcastMode.ALLMULTI,
            rx_promisc=x >= XcastMode.PROMISC,
            pvid=a.pvid or None,
            pcp=a.qos,
            rate_enable=a.max_tx_rate > 0,
            rate_inc=rate_inc(a.max_tx_rate) if a.max_tx_rate else 0,
            rate_burst=RATE_BURST_BYTES if a.max_tx_rate else 0,
            max_len=a.max_frame,
            smacs=self.macs()[:NUM_SMAC],
            vlans=[] if a.pvid else list(g.vlans[:NUM_VLAN]),
            mcs=list(g.mcs[:NUM_MC]),
        )

    def macs(self) -> list[bytes]:
        """Every MAC the VF may send from and receives on: retiring ones, then its own.

        Retiring MACs first: at a change the old MAC keeps its anti-spoofing slot
        and the new one takes the next, so neither is missing while the slots are
        rewritten one by one.
        """
        mac = self.mac
        own = [mac] if mac != bytes(6) else []
        return [m for m in self.admin.retiring if m != mac] + own

    def fdb_vlans(self) -> list[int]:
        """VLANs on which frames to the VF's MAC are forwarded to it."""
        if self.admin.pvid:
            return [self.admin.pvid]
        return [0, *self.guest.vlans]
