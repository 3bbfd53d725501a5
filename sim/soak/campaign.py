"""`make soak`: one seed or a campaign of seeds, a progress bar, the merged report.

python -m sim.soak [--seed N | --seeds 1-8] [--frames M] [--jobs J] [--cluster ADDR]

Seeds run in parallel in a process pool on this machine (``--jobs``). With
``--cluster ADDR`` the same per-seed function goes to a running Dask cluster
(``dask.distributed``: ``Client(ADDR).get_executor()``); its workers share this
checkout's file system (the simulator is built here first, the reports come back
through ``--out``), and each seed's report says which host and process ran it.
Exit code 1 on any violation or a seed that did not finish; each failing seed
prints the one command that reproduces it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sim.progress import progress_bar
from sim.runner import REPO_ROOT, SimTop, _build, run, two_host_top
from sim.soak.report import Campaign, SoakResult

# Each host of two_host_top: 4 VFs of 2 queue pairs (host A's format A, host B's format B).
SOAK_PARAMS = {"NUM_VF": 4, "NUM_QUEUES": 2}
MODULE = "sim.soak.cocotb_soak"
REPORTS = REPO_ROOT / "reports"
CLUSTER_TIMEOUT_S = 10  # to reach a Dask scheduler


def soak_top() -> SimTop:
    return two_host_top(SOAK_PARAMS)


@dataclass(frozen=True)
class SeedJob:
    seed: int
    frames: int
    out: Path
    kinds: str = ""  # comma list, "" = every kind
    repeats: int = 0  # injections per kind, 0 = from frames
    broken: str = ""  # SOAK_BREAK

    @property
    def report(self) -> Path:
        return self.out / "soak" / f"seed-{self.seed}.json"

    @property
    def progress(self) -> Path:
        return self.out / "soak" / f"seed-{self.seed}.progress"

    @property
    def log(self) -> Path:
        return self.out / "soak" / f"seed-{self.seed}.log"


def run_seed(job: SeedJob) -> SoakResult | None:
    """One seed's soak on the RTL; None if the simulation left no report."""
    job.report.unlink(missing_ok=True)
    job.report.parent.mkdir(parents=True, exist_ok=True)
    env = {
        "SOAK_REPORT": str(job.report),
        "SOAK_SEED": str(job.seed),
        "SOAK_FRAMES": str(job.frames),
        "SOAK_PROGRESS": str(job.progress),
        "SOAK_KINDS": job.kinds,
        "SOAK_REPEATS": str(job.repeats),
        "SOAK_BREAK": job.broken,
    }
    name = f"soak-seed{job.seed}" + (f"-{job.broken}" if job.broken else "")
    # cocotb's runner exits on a failed test under pytest: the report says what failed
    with contextlib.suppress(SystemExit):
        run(soak_top(), MODULE, run_name=name, env=env, seed=job.seed, log_file=job.log)
    if not job.report.exists():
        return None
    result = SoakResult.load(job.report)
    result.ran_on = f"{socket.gethostname()}:{os.getpid()}"
    return result


@contextlib.contextmanager
def executor(jobs: int, cluster: str | None) -> Iterator[Executor]:
    """A process pool here, or an executor on a running Dask cluster (its client closed
    when the campaign ends)."""
    if cluster is None:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            yield pool
        return
    from distributed import Client

    try:
        client = Client(cluster, timeout=CLUSTER_TIMEOUT_S)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--cluster {cluster}: no Dask scheduler there ({exc})") from exc
    with client, client.get_executor(pure=False) as pool:
        yield pool


def campaign(
    jobs: list[SeedJob], workers: int, cluster: str | None = None, bar: bool = True
) -> Campaign:
    """Every seed's soak (the simulator built once first), a bar of frames sent over all
    seeds on stderr while they run (with one seed, its injections beside it)."""
    t0 = time.monotonic()
    (out := jobs[0].out / "soak").mkdir(parents=True, exist_ok=True)
    results: list[SoakResult] = []
    failed: list[tuple[int, int, str]] = []
    with executor(workers, cluster) as pool:  # a cluster is reached before the build
        _build(soak_top(), out / "build.log")  # once, before the workers share it
        ticker = (
            progress_bar([j.progress for j in jobs], sum(j.frames for j in jobs), "frame", "soak")
            if bar
            else contextlib.nullcontext()
        )
        with ticker:
            futures: list[tuple[SeedJob, Future]] = [(j, pool.submit(run_seed, j)) for j in jobs]
            for j, fut in futures:
                try:
                    res = fut.result()
                except Exception as exc:  # a crashed worker is a failed seed, not a crash here
                    failed.append((j.seed, j.frames, f"{type(exc).__name__}: {exc}"))
                    continue
                if res is None:
                    failed.append((j.seed, j.frames, f"no report; log {j.log}"))
                else:
                    results.append(res)
    return Campaign(sorted(results, key=lambda r: r.seed), failed, time.monotonic() - t0)


def parse_seeds(text: str) -> list[int]:
    """``1-8`` or ``1,3,5`` or ``2``; a reversed or empty range is an error, not no seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        first, last = int(lo), int(hi or lo)
        if last < first:
            raise argparse.ArgumentTypeError(f"seed range {part!r} runs backwards")
        seeds += range(first, last + 1)
    return seeds


def kind_list(text: str) -> str:
    """An argparse type: a comma list of attack and fault kinds, each one that exists
    (refused here, before anything is built, rather than inside the simulation)."""
    from sim.soak.cocotb_soak import KINDS

    unknown = [k for k in text.split(",") if k and k not in KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kind {unknown}; known: {', '.join(KINDS)}")
    return text


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer no smaller than ``minimum``."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seeds", type=parse_seeds, help="a campaign: 1-8, or 1,3,5")
    ap.add_argument(
        "--frames",
        type=at_least(1),
        default=2000,
        help="random traffic frames per seed (sending goes on until the last injection's "
        "window has closed, so more may be sent)",
    )
    ap.add_argument("--jobs", type=at_least(1), default=2, help="seeds at once on this machine")
    ap.add_argument("--cluster", help="a Dask scheduler address (dask.distributed)")
    ap.add_argument(
        "--kinds", type=kind_list, default="", help="comma list of kinds (default: all)"
    )
    ap.add_argument(
        "--repeats", type=at_least(0), default=0, help="injections per kind (default: frames/1500)"
    )
    ap.add_argument("--out", type=Path, default=REPORTS)
    args = ap.parse_args(argv)
    seeds = args.seeds or [args.seed]
    jobs = [SeedJob(s, args.frames, args.out, args.kinds, args.repeats) for s in seeds]
    print(
        f"soak: seeds {seeds}, {args.frames} frames each; logs in {args.out / 'soak'}", flush=True
    )
    result = campaign(jobs, args.jobs, args.cluster)
    print(result.table())
    md = args.out / "robustness.md"
    md.write_text(result.markdown())
    print(f"report: {md}")
    return 0 if result.ok else 1
