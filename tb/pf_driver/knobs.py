"""Validation of ``ip link set DEV vf N ...`` knobs, as rtnetlink and ixgbe do it.

Each check raises :class:`VfConfigError` carrying the errno the kernel returns
(``EINVAL``, ``EPROTONOSUPPORT``) and a message naming the offending value.
References: net/core/rtnetlink.c ``do_setvlan``/``do_setvfinfo`` and
drivers/net/ethernet/intel/ixgbe/ixgbe_sriov.c ``ixgbe_ndo_set_vf_*``.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from tb.ref.mailbox import MailboxFormatError, format_mac, is_multicast, parse_mac

ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
LINK_SPEED_MBPS = 100_000  # the uplink: 100 Gb/s
MIN_TX_RATE_MBPS = 11  # ixgbe refuses max_tx_rate <= 10
LINK_STATES = ("auto", "enable", "disable")


class VfConfigError(ValueError):
    """A knob refused as the kernel refuses it; ``errno`` is the kernel's error."""

    def __init__(self, err: int, message: str) -> None:
        super().__init__(f"{errno.errorcode[err]}: {message}")
        self.errno = err


@dataclass(frozen=True)
class KnobValidator:
    """Checks for one PF with ``num_vfs`` VFs enabled."""

    num_vfs: int

    def vf(self, vf: int) -> int:
        """VF index as ``ip link`` numbers it (0-based); returns the function number."""
        if not 0 <= vf < self.num_vfs:
            raise VfConfigError(errno.EINVAL, f"vf {vf} out of range 0..{self.num_vfs - 1}")
        return vf + 1

    @staticmethod
    def mac(text: str, *, allow_zero: bool = False) -> bytes:
        """A unicast MAC; the all-zero one only where ``allow_zero`` (it means "clear")."""
        try:
            mac = parse_mac(text)
        except MailboxFormatError as e:
            raise VfConfigError(errno.EINVAL, str(e)) from None
        if is_multicast(mac):
            raise VfConfigError(errno.EINVAL, f"{format_mac(mac)} is a multicast address")
        if mac == bytes(6) and not allow_zero:
            raise VfConfigError(errno.EINVAL, "00:00:00:00:00:00 is not a valid address")
        return mac

    @staticmethod
    def vlan(vlan: int, qos: int, proto: int) -> None:
        if not 0 <= vlan <= 4095:
            raise VfConfigError(errno.EINVAL, f"vlan {vlan} outside 0..4095")
        if not 0 <= qos <= 7:
            raise VfConfigError(errno.EINVAL, f"qos {qos} outside 0..7")
        if proto not in (ETH_P_8021Q, ETH_P_8021AD):
            raise VfConfigError(errno.EPROTONOSUPPORT, f"vlan protocol {proto:#06x} unknown")
        if proto != ETH_P_8021Q:
            # rtnetlink accepts 802.1ad; ixgbe supports 802.1Q port VLANs only.
            raise VfConfigError(errno.EPROTONOSUPPORT, "only 802.1Q port VLANs are supported")

    @staticmethod
    def tx_rate(min_tx_rate: int, max_tx_rate: int) -> None:
        if min_tx_rate < 0 or max_tx_rate < 0:
            raise VfConfigError(errno.EINVAL, "rates are not negative")
        if max_tx_rate and min_tx_rate > max_tx_rate:
            raise VfConfigError(errno.EINVAL, f"min_tx_rate {min_tx_rate} > max {max_tx_rate}")
        if min_tx_rate:
            raise VfConfigError(errno.EINVAL, "min_tx_rate is not supported")
        if max_tx_rate and not MIN_TX_RATE_MBPS <= max_tx_rate <= LINK_SPEED_MBPS:
            raise VfConfigError(
                errno.EINVAL,
                f"max_tx_rate {max_tx_rate} Mbit/s outside {MIN_TX_RATE_MBPS}..{LINK_SPEED_MBPS}",
            )

    @staticmethod
    def link_state(state: str) -> str:
        if state not in LINK_STATES:
            raise VfConfigError(errno.EINVAL, f"link state {state!r} not one of {LINK_STATES}")
        return state
