"""nic_top benchmark: the whole NIC, VF TX, VF RX, VF to VF and every VF at once in both
directions, at every size of BENCH_SIZES, at the default build (NUM_VF 2, as
sim/run.py builds it) and at 8 VFs. Runs :mod:`sim.benches.nic_top_cocotb` (its
docstring gives the method) on nic_sim_top.
"""

from __future__ import annotations

from pathlib import Path

from sim.benches import BENCH_SIZES, BenchRecord, read_measurements
from sim.runner import nic_top, run

PATHS = ("vf_tx", "vf_rx", "vf_vf", "all")
BUILDS = (2, 8)  # NUM_VF: the default build and 8 VFs


def collect(
    work: Path,
    sizes: tuple[int, ...] = BENCH_SIZES,
    builds: tuple[int, ...] = BUILDS,
    paths: tuple[str, ...] = PATHS,
) -> list[BenchRecord]:
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise ValueError(f"nic_top bench: unknown paths {sorted(unknown)}; known: {PATHS}")
    if not builds or min(builds) < 2:
        raise ValueError(f"nic_top bench: builds {builds} need NUM_VF >= 2 each (VF to VF)")
    work.mkdir(parents=True, exist_ok=True)
    records: list[BenchRecord] = []
    for num_vf in builds:
        top = nic_top({"NUM_VF": num_vf}, host_bus="hdl")
        out = (work / f"nic_top_vf{num_vf}.json").resolve()
        out.unlink(missing_ok=True)
        env = {
            "BENCH_OUT": str(out),
            "BENCH_SIZES": ",".join(str(s) for s in sizes),
            # VF to VF and one VF's paths are the same at any VF count: measured once.
            "BENCH_PATHS": ",".join(paths if num_vf == builds[0] else ("all",)),
        }
        tests, fails = run(
            top,
            "sim.benches.nic_top_cocotb",
            run_name=f"nic_top-bench-vf{num_vf}",
            env=env,
            build_log=top.build_log,
        )
        if tests != 1 or fails:
            raise RuntimeError(f"nic_top bench (NUM_VF {num_vf}) failed ({fails} of {tests})")
        for row in read_measurements(out):
            row["queues"] = None
            rec = BenchRecord.from_row("nic_top", row)
            records.append(
                BenchRecord(
                    rec.block,
                    f"{rec.path} ({num_vf} VFs)" if rec.path.startswith("all") else rec.path,
                    rec.frame_size,
                    rec.frames,
                    rec.cycles,
                    rec.latency_cycles,
                    None,
                    {**rec.extra, "num_vf": num_vf},
                )
            )
    return records
