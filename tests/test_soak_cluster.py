"""`make soak SEEDS=… SOAK_CLUSTER=addr` (docs/ROBUSTNESS.md): a campaign on a Dask
cluster. A local cluster (its scheduler and two worker processes) stands in for a
remote one: the seeds must run in the workers' processes, not here, and merge into
one report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sim.soak.campaign import SeedJob, campaign, main

distributed = pytest.importorskip("distributed")  # pinned in requirements.txt


def test_campaign_runs_its_seeds_on_a_dask_cluster(tmp_path: Path) -> None:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        workers = set(client.run(os.getpid).values())
        jobs = [SeedJob(seed, 200, tmp_path, "forged_src_mac", 1) for seed in (5, 6)]
        result = campaign(jobs, 1, cluster=cluster.scheduler_address, bar=False)
    assert [r.seed for r in result.results] == [5, 6] and not result.failed
    assert result.ok, result.table()
    for r in result.results:  # each seed simulated its traffic and its injection
        assert (
            r.sent >= 200
            and r.cycles > 0
            and [i["kind"] for i in r.injections] == ["forged_src_mac"]
        ), r
    ran = {int(r.ran_on.rsplit(":", 1)[1]) for r in result.results}
    assert ran <= workers and os.getpid() not in ran, (ran, workers)
    md = result.markdown()
    for r in result.results:
        assert f"| {r.seed} | 200 |" in md and r.ran_on in md


def test_an_unreachable_cluster_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("sim.soak.campaign.CLUSTER_TIMEOUT_S", 1)
    with pytest.raises(SystemExit, match="no Dask scheduler there"):
        main(["--seed", "1", "--frames", "10", "--out", str(tmp_path),
              "--cluster", "tcp://127.0.0.1:9"])  # fmt: skip
