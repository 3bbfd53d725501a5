"""Preload the switch's statistics counters near their top, so a test sees them wrap.

A 32-bit counter needs 2^32 events to reach its upper bits, a 64-bit byte counter
far more: no simulation gets there by traffic. This writes every counter register
of ``rtl/eswitch_counters.sv`` (VPI deposits; sim/verilator/eswitch.vlt makes them
writable) with a value a few events short of wrapping, and gives the reference
model the same values as offsets (:attr:`PortCounters.offset`). The test's own
counter checks then compare the wrapped values, the LO/HI pairs across the carry
into HI and the wrap of HI, against the model's independent arithmetic; a
CLEAR_COUNTERS afterwards must bring every bit back to 0.
"""

from __future__ import annotations

import random

from tb.eswitch.harness import TB
from tb.ref.eswitch_model import (
    DROP_COUNTER,
    ESW_CTRL,
    ESW_CTRL_CLEAR_COUNTERS,
    ESW_CTRL_UPLINK_LINK,
    Counter,
    EswitchModel,
)
from tb.sigio import pack_array

COUNT_W = 32
BYTES_W = 64
# A 32-bit counter starts 1..MAX_COUNT_GAP events short of 2^32, a byte counter
# 1..MAX_BYTE_GAP bytes short of 2^64 (a few frames' worth).
MAX_COUNT_GAP = 4
MAX_BYTE_GAP = 3000

# register array in eswitch_counters -> the counter it holds (one element per port)
COUNTS = {
    "rx_frames_reg": Counter.RX_FRAMES,
    "rx_drops_reg": Counter.RX_DROPS,
    "tx_frames_reg": Counter.TX_FRAMES,
    "no_buf_reg": Counter.DROP_NO_BUF,
}
BYTES = {"rx_bytes_reg": Counter.RX_BYTES_LO, "tx_bytes_reg": Counter.TX_BYTES_LO}
DROP_REASONS = 7  # drop_reg[p][7:1]: one counter per drop reason code 1..7


def _top(rng: random.Random, width: int, max_gap: int) -> int:
    return (1 << width) - rng.randint(1, max_gap)


def preload_counters(dut, model: EswitchModel, rng: random.Random) -> None:
    """Deposit near-top values into every counter of every port; the model follows."""
    cnt = dut.u_counters
    ports = model.num_ports
    for name, counter in COUNTS.items():
        values = [_top(rng, COUNT_W, MAX_COUNT_GAP) for _ in range(ports)]
        getattr(cnt, name).value = pack_array(values, COUNT_W)
        for p, v in enumerate(values):
            model.counters[p].offset[counter] = v
    for name, counter in BYTES.items():
        values = [_top(rng, BYTES_W, MAX_BYTE_GAP) for _ in range(ports)]
        getattr(cnt, name).value = pack_array(values, BYTES_W)
        for p, v in enumerate(values):
            model.counters[p].offset[counter] = v
    by_code = {int(reason): counter for reason, counter in DROP_COUNTER.items()}
    drops = []
    for p in range(ports):
        for code in range(1, DROP_REASONS + 1):  # drop_reg[p][code], code 1 lowest
            v = _top(rng, COUNT_W, MAX_COUNT_GAP)
            drops.append(v)
            model.counters[p].offset[by_code[code]] = v
    cnt.drop_reg.value = pack_array(drops, COUNT_W)


def wrapped(model: EswitchModel, port: int, counter: Counter) -> bool:
    """Whether the model's count of ``counter`` on ``port`` has passed its top."""
    c = model.counters[port]
    width = BYTES_W if counter in BYTES.values() else COUNT_W
    return c.count(counter) + c.offset.get(counter, 0) >= 1 << width


async def check_wrapped_and_clear(tb: TB, model: EswitchModel) -> None:
    """Every port's RX frame and byte counters went past their top (so the counter
    checks the traffic made compared wrapped values); then CLEAR_COUNTERS, with the
    uplink's link bit kept, reads back 0 from every counter."""
    for p in range(model.num_ports):
        for counter in (Counter.RX_FRAMES, Counter.RX_BYTES_LO):
            assert wrapped(model, p, counter), f"port {p} {counter.name} never wrapped"
    link = ESW_CTRL_UPLINK_LINK if model.uplink_link else 0
    await tb.program(model, [(ESW_CTRL, ESW_CTRL_CLEAR_COUNTERS | link)])
    assert not any(c.offset for c in model.counters), "the model kept its offsets"
    await tb.check_counters(model)
