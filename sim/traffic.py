"""Saturating traffic on NicTb, shared by the speed harness and the nic_top bench.

A driver at line rate keeps its TX ring full: it posts frames in batches (one
doorbell per batch, Linux's ``xmit_more``) and reaps completions as they come.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from cocotb.triggers import Event

from tb.vf_driver.queues import IrqModeration, QueueError, TxQueue

if TYPE_CHECKING:
    from tb.env import NicTb

EXT_MAC = "02:00:00:00:ff:01"  # the outside host behind the uplink
TX_BATCH = 64  # frames posted per TX doorbell write (NAPI's default budget)
# *Q_IRQ_MOD of a ring reaped on interrupts: 32 entries or 128 cycles.
TX_MODERATION = IrqModeration(min_interval=128, count_thresh=32)


def vf_mac(f: int) -> str:
    return f"02:00:00:00:00:{f:02x}"


async def keep_tx_ring_full(txq: TxQueue, frame: bytes, frames: int, batch: int = TX_BATCH) -> None:
    """Send ``frames`` copies of ``frame`` on ``txq`` as fast as its ring allows; return
    when all have completed. After a doorbell it posts again once ``batch`` slots
    (or what is left to send) are free."""
    posted = 0
    while posted < frames or txq.in_flight:
        # One slot more than the ring's own empty one stays free (as before batching).
        posted += txq.post_copies(frame, min(frames - posted, txq.ring.free_slots() - 1))
        await txq.ring_doorbell()
        check_tx_status(await txq.wait_reaped_array())
        while txq.in_flight and txq.ring.free_slots() <= min(batch, frames - posted):
            check_tx_status(await txq.wait_reaped_array())


def check_tx_status(cpls: np.ndarray) -> None:
    """A saturating sender expects every frame sent: a completion with an error fails it."""
    bad = np.flatnonzero(cpls["status"])
    if len(bad):
        cpl = cpls[bad[0]]
        raise QueueError(
            f"TX completion for descriptor {int(cpl['desc_idx'])} has status "
            f"{int(cpl['status']):#x} ({len(bad)} of {len(cpls)} in the batch)"
        )


async def bring_up(tb: NicTb) -> NicTb:
    """Reset the NIC, probe the PF and enable every VF."""
    await tb.reset()
    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    return tb


async def until_quiet(tb: NicTb, seen: Callable[[], int], done: Event, quiet_cycles: int) -> None:
    """Until ``done`` is set and ``seen()`` (frames received) stayed the same for
    ``quiet_cycles``: the receiving side of a sender that has finished."""
    await done.wait()
    last = -1
    while (now := seen()) != last:
        last = now
        await tb.cycles(quiet_cycles)
