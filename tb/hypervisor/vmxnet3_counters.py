"""What the emulated vmxnet3 device counts: the UPT1 statistics GET_STATS publishes,
and the device's own event counters."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeVar

from tb.hypervisor.vmxnet3_control import BROADCAST
from tb.shell_model.vmxnet3_defs import ETH_ALEN
from tb.shell_model.vmxnet3_shared import Upt1RxStats, Upt1TxStats

UptStats = TypeVar("UptStats", Upt1TxStats, Upt1RxStats)


def bump_stats(stats: UptStats, **add: int) -> UptStats:
    """``stats`` with the named UPT1 counters increased (the stats records are frozen)."""
    return replace(stats, **{k: getattr(stats, k) + n for k, n in add.items()})


def count_frame(stats: UptStats, direction: str, frame: bytes) -> UptStats:
    """One good frame of ``direction`` ("tx"/"rx"): its cast kind's packet and byte counters."""
    kind = cast_kind(frame)
    return bump_stats(
        stats, **{f"{kind}_pkts_{direction}_ok": 1, f"{kind}_bytes_{direction}_ok": len(frame)}
    )


@dataclass
class DeviceCounters:
    """Everything the device counts; ``tx``/``rx`` are what GET_STATS publishes."""

    tx: Upt1TxStats = field(default_factory=Upt1TxStats)
    rx: Upt1RxStats = field(default_factory=Upt1RxStats)
    commands: int = 0
    unknown_commands: int = 0
    ignored_commands: int = 0  # known vmxnet3 commands the model does not act on
    refused_selections: int = 0  # VRRS/UVRS writes of an unsupported value
    bad_register_accesses: int = 0  # unaligned, out of range or unused offsets
    doorbells_ignored: int = 0  # while inactive, quiesced, stopped or not emulating
    rx_not_ready: int = 0  # receive() while the RX queue cannot take frames
    rx_filtered: int = 0  # dropped by the (policy-approved) RX filters
    policy_denied: int = 0
    irqs: int = 0
    irqs_masked: int = 0  # held pending by IMR or intrCtrl DISABLE_ALL
    queue_stops: int = 0


def cast_kind(frame: bytes) -> str:
    dst = frame[:ETH_ALEN]
    if dst == BROADCAST:
        return "bcast"
    return "mcast" if dst and dst[0] & 1 else "ucast"
