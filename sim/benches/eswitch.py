"""eswitch benchmark: builds the default switch, runs sim/benches/eswitch_cocotb.py.

Paths (docs/ARCHITECTURE.md §3.2, "Bench and verification"):

- single paths ``vf_to_uplink``, ``uplink_to_vf``, ``vf_to_vf``, ``pf_to_vf`` and,
  with a port VLAN on the VF, ``vf_to_uplink_vlan_insert`` / ``uplink_to_vf_vlan_strip``:
  one source driving back to back, destination never backpressured;
- ``disjoint_pairs``: every port sends to the next one at once (a permutation);
  the record is the slowest pair, ``extra.pair_cycles`` has every pair's span;
- ``all_to_uplink``: every function sends to the uplink at once; ``frames`` are the
  uplink's, ``extra.shares`` each source's share while all were backlogged and
  ``extra.max_share_error`` the largest |share - fair| / fair;
- ``shaper_<rate>mbps``: VF1 shaped to ``max_tx_rate`` (converted as the PF driver
  does) sends 64-byte frames back to back to the uplink; ``extra`` has the measured
  rate, its long-run error and the extremes over every window (100,000 cycles, or
  100 frames' worth where that is longer: 11 Mbit/s carries 550 bytes per 100,000
  cycles), with zero drops checked.
"""

from __future__ import annotations

from pathlib import Path

from sim.benches import BenchRecord, read_measurements
from sim.runner import SimTop, run

TOP = SimTop("eswitch", {})  # the default build, shared with the block tests
EXTRA_KEYS = ("src", "dst", "latency_min", "out_bytes", "pairs", "sources", "share_window_frames")


def record(row: dict) -> BenchRecord:
    extra: dict[str, float | int | str] = {k: row[k] for k in EXTRA_KEYS if k in row}
    if "pair_cycles" in row:
        extra["pair_cycles"] = ",".join(str(c) for c in row["pair_cycles"])
    if "shares" in row:
        fair = 1.0 / len(row["shares"])
        for src, share in row["shares"].items():
            extra[f"share_src{src}"] = share
        extra["max_share_error"] = max(abs(v - fair) / fair for v in row["shares"].values())
    return BenchRecord.from_row("eswitch", row, extra)


def collect(work: Path) -> list[BenchRecord]:
    records = []
    for test in ("bench_eswitch", "bench_shaper"):
        out = work / f"{test}.json"
        out.unlink(missing_ok=True)
        tests, failures = run(
            TOP,
            "sim.benches.eswitch_cocotb",
            test,
            env={"ESW_BENCH_OUT": str(out)},
            build_log=TOP.build_log,
        )
        if tests != 1 or failures:
            raise RuntimeError(f"eswitch {test} failed ({failures} of {tests} tests)")
        rows = read_measurements(out)
        records += [record(r) if test == "bench_eswitch" else shaper_record(r) for r in rows]
    return records


def shaper_record(row: dict) -> BenchRecord:
    """A shaper row keeps its accuracy figures (``extra``); its latency is not measured."""
    return BenchRecord.from_row("eswitch", row)
