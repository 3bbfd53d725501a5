"""Scenario "migrate" (`make sim SCENARIO=migrate`): one VM migrates from host A to host B
under traffic, in one mode per simulation (docs/MIGRATION.md).

This module is the simulator's side: it runs one mode (``MIGRATE_MODE``: ``npa`` or
``failover``) on ``sim/tops/two_host_top.sv`` with the parameters the runner passed
down and writes that mode's report (``ModeRun.report()``) to ``SCENARIO_REPORT``.
:mod:`sim.scenarios.migrate_report` runs both modes on the same build, seed and
workload, prints them side by side, and writes reports/migration.json, .png and the
sweep.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cocotb

from tb.datacenter import Rack
from tb.datacenter.failover_run import run_failover
from tb.datacenter.migration_run import REFUSALS, ModeRun, RunParams, run_npa
from tb.hypervisor.failover_migration import HotplugParams
from tb.hypervisor.migration import LinkFault
from tb.hypervisor.migration_model import PrecopyParams

MODES = ("npa", "failover")
# --abort: host B refuses the VM, or the migration link fails halfway through a phase
ABORTS = ("no_vf_free", "wrong_plugin", "link_precopy", "link_stop_and_copy")


@dataclass(frozen=True)
class MigrateOptions:
    """The scenario options (docs/MIGRATION.md §5), as the runner passes them."""

    mode: str = "npa"
    seed: int = 1
    frames: int = 32  # rounds of traffic before and after the migration (one frame/flow)
    vm_memory_bytes: int = 2 << 30
    dirty_rate_bytes_per_s: int = 100_000_000
    link_bandwidth_bps: int = 10_000_000_000
    hot_unplug_s: Fraction = Fraction(3, 2)
    hot_plug_s: Fraction = Fraction(1)
    abort: str = ""  # "" = the migration completes; else one of ABORTS

    def __post_init__(self) -> None:
        if self.abort and self.abort not in ABORTS:
            raise ValueError(f"abort {self.abort!r}: one of {', '.join(ABORTS)}")
        if self.mode not in MODES:
            raise ValueError(f"migration mode {self.mode!r}: one of {', '.join(MODES)}")
        if self.frames < 1:
            raise ValueError(f"frames must be positive, not {self.frames}")
        if min(self.hot_unplug_s, self.hot_plug_s) <= 0:
            raise ValueError(f"hot-plug delays must be positive: {self}")

    def env(self) -> dict[str, str]:
        return {
            "MIGRATE_MODE": self.mode,
            "SCENARIO_SEED": str(self.seed),
            "SCENARIO_FRAMES": str(self.frames),
            "MIGRATE_VM_MEMORY": str(self.vm_memory_bytes),
            "MIGRATE_DIRTY_RATE": str(self.dirty_rate_bytes_per_s),
            "MIGRATE_LINK_BPS": str(self.link_bandwidth_bps),
            "MIGRATE_HOT_UNPLUG_S": str(self.hot_unplug_s),
            "MIGRATE_HOT_PLUG_S": str(self.hot_plug_s),
            "MIGRATE_ABORT": self.abort,
        }

    @classmethod
    def from_env(cls, env: dict[str, str]) -> MigrateOptions:
        d = cls()
        return cls(
            mode=env.get("MIGRATE_MODE", d.mode),
            seed=int(env.get("SCENARIO_SEED", d.seed)),
            frames=int(env.get("SCENARIO_FRAMES", d.frames)),
            vm_memory_bytes=int(env.get("MIGRATE_VM_MEMORY", d.vm_memory_bytes)),
            dirty_rate_bytes_per_s=int(env.get("MIGRATE_DIRTY_RATE", d.dirty_rate_bytes_per_s)),
            link_bandwidth_bps=int(env.get("MIGRATE_LINK_BPS", d.link_bandwidth_bps)),
            hot_unplug_s=Fraction(env.get("MIGRATE_HOT_UNPLUG_S", str(d.hot_unplug_s))),
            hot_plug_s=Fraction(env.get("MIGRATE_HOT_PLUG_S", str(d.hot_plug_s))),
            abort=env.get("MIGRATE_ABORT", d.abort),
        )

    def run_params(self) -> RunParams:
        precopy = PrecopyParams(
            vm_memory_bytes=self.vm_memory_bytes,
            dirty_rate_bytes_per_s=self.dirty_rate_bytes_per_s,
            link_bandwidth_bps=self.link_bandwidth_bps,
        )
        rounds = max(8, self.frames)
        return RunParams(
            precopy=precopy,
            hotplug=HotplugParams(self.hot_unplug_s, self.hot_plug_s),
            rounds_before=rounds,
            rounds_after=rounds,
            seed=40 + self.seed,
            refusal=self.abort if self.abort in REFUSALS else None,
            link_fault=LinkFault(self.abort.removeprefix("link_"))
            if self.abort.startswith("link_")
            else None,
        )


async def run_mode(rack: Rack, opts: MigrateOptions) -> ModeRun:
    run = run_npa if opts.mode == "npa" else run_failover
    return await run(rack, opts.run_params())


@cocotb.test()
async def migrate_one_mode(dut) -> None:
    """One mode of the migration scenario; its report goes to SCENARIO_REPORT."""
    report = os.environ.get("SCENARIO_REPORT")
    if not report:
        raise RuntimeError("SCENARIO_REPORT is not set: run scenarios through `make sim`")
    opts = MigrateOptions.from_env(dict(os.environ))
    rack = Rack(dut, opts.run_params().rack_config())
    run = await run_mode(rack, opts)
    out = run.report()
    for tb in rack.hosts.values():
        out.setdefault("host_faults", []).extend(
            [str(f) for f in tb.iommu.faults] + [str(e) for e in tb.host_bus.errors]
        )
    Path(report).write_text(json.dumps(out, indent=1))
    dut._log.info("%s: %s", opts.mode, {k: out[k] for k in ("tx_lost", "rx_lost", "downtime")})
