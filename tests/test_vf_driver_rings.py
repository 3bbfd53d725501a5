"""The VF driver's ring access in batches (tb/vf_driver/queues.py ``_Ring``), without a
simulator: descriptors written in runs land in the slots one-at-a-time writes would
fill, and a completion reap in runs takes exactly the entries the device owns no
longer, across the ring's end and the phase flip. Expectations come from the
documented layouts (tb/ref/layouts.py, docs/ARCHITECTURE.md §4), slot by slot."""

from __future__ import annotations

import pytest

from tb.host.memory import HostMemory
from tb.ref.layouts import ENTRY_BYTES, RxDesc, TxCompletion, TxDesc
from tb.vf_driver.queues import CPL_READ_RUN, _Ring

SIZE_LOG2 = 8  # 256 entries: more than two CPL_READ_RUNs, so a lap takes several runs


def ring() -> _Ring:
    mem = HostMemory(1 << 20)
    r = _Ring(bar=None, mem=mem, base_reg=0, size_log2=SIZE_LOG2)  # type: ignore[arg-type]
    r.desc_base = mem.alloc(r.size * ENTRY_BYTES)
    r.cpl_base = mem.alloc(r.size * ENTRY_BYTES)
    return r


def slot(r: _Ring, base: int, k: int) -> bytes:
    return r.mem.read(base + k * ENTRY_BYTES, ENTRY_BYTES)


def test_ring_holds_more_entries_than_one_read_run() -> None:
    assert ring().size > 2 * CPL_READ_RUN


@pytest.mark.parametrize("start", [0, 5, 125, 127])
def test_put_descs_fills_consecutive_slots_across_the_end(start: int) -> None:
    r = ring()
    r.prod = r.clean = start
    descs = [TxDesc(0x1000 * (k + 1), 60 + k, sof=k == 0, eof=k == 4).pack() for k in range(5)]
    r.put_descs(descs)
    for k, raw in enumerate(descs):
        assert slot(r, r.desc_base, (start + k) % r.size) == raw
    assert r.prod == (start + 5) % r.size
    # Nothing outside the five slots was touched.
    written = {(start + k) % r.size for k in range(5)}
    for k in set(range(r.size)) - written:
        assert slot(r, r.desc_base, k) == bytes(ENTRY_BYTES)


def test_encode_is_the_documented_layout() -> None:
    tx = TxDesc(0x1234_5678_9ABC, 1518, sof=True, eof=False, vlan_ins=True, vlan_tci=0x0123)
    assert TxDesc.unpack(TxDesc.encode(0x1234_5678_9ABC, 1518, True, False, True, 0x0123)) == tx
    assert RxDesc.unpack(RxDesc.encode(0x4000, 2048)) == RxDesc(0x4000, 2048)


def write_completions(r: _Ring, first: int, count: int, gen: int) -> list[bytes]:
    """The device's side: ``count`` TX completions from slot ``first`` with ``gen``."""
    out = []
    for k in range(count):
        idx = (first + k) % r.size
        raw = TxCompletion(idx, 64 + k, 0, gen).pack()
        r.mem.write(r.cpl_base + idx * ENTRY_BYTES, raw)
        out.append(raw)
    return out


def test_completions_take_only_owned_entries() -> None:
    r = ring()
    assert r.completions() == []  # a zeroed ring: gen 0, the driver's phase is 1
    written = write_completions(r, 0, 3, gen=1)
    assert r.completions() == written
    assert (r.cpl_idx, r.phase) == (3, 1)
    assert r.completions() == []


def test_completions_across_runs_the_end_and_the_phase_flip() -> None:
    r = ring()
    lap1 = write_completions(r, 0, r.size, gen=1)  # the device's whole first lap, gen 1
    r.cpl_idx = r.size - 70  # the driver has reaped all but the last 70 of it
    lap2 = write_completions(r, 0, 10, gen=0)  # the second lap over reaped slots, gen 0
    got = r.completions()  # runs of 64 and 6 to the end, then 10 after the flip
    assert got == lap1[-70:] + lap2
    assert (r.cpl_idx, r.phase) == (10, 0)
    # Entry 10 still holds the first lap's gen 1: the device has not written it again.
    assert r.completions() == []


def test_completions_stop_at_the_first_entry_the_device_still_owns() -> None:
    r = ring()
    first = write_completions(r, 0, CPL_READ_RUN + 7, gen=1)
    write_completions(r, CPL_READ_RUN + 8, 4, gen=1)  # a hole at CPL_READ_RUN + 7
    assert r.completions() == first
    assert r.cpl_idx == CPL_READ_RUN + 7
