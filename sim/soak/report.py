"""The soak's report: one JSON per seed, merged into a campaign table and reports/robustness.md."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sim.soak.model import InjectionRecord, Violation

MONITORS = ("honest_delivery", "isolation", "watchdog", "drop_accounting", "leaks")
NS_PER_CYCLE = 4


@dataclass
class SoakResult:
    """What one seed's soak did and found."""

    seed: int
    frames: int
    sent: int
    delivered: int
    cycles: int
    wall_seconds: float
    kinds: list[str]
    injections: list[dict[str, Any]]
    checks: dict[str, int]
    violations: list[dict[str, Any]]
    longest_wait: dict[str, int] = field(default_factory=dict)
    broken: str = ""
    # honest frames lost legitimately, by reason (and the injection whose window allowed it)
    explained_losses: dict[str, int] = field(default_factory=dict)
    judged_sent: int = 0
    judged_lost: int = 0
    ran_on: str = ""  # host:pid of the process that ran the seed (a campaign's worker)
    repeats: int = 0  # injections per kind (0: the default for FRAMES)

    def overlapping(self) -> int:
        """Pairs of injection windows open at the same time (an attack's and a fault's)."""
        spans = sorted((i["start_ns"], i["end_ns"]) for i in self.injections)
        return sum(
            1 for k, (_, end) in enumerate(spans) for start, _ in spans[k + 1 :] if start < end
        )

    @classmethod
    def build(
        cls,
        *,
        records: list[InjectionRecord],
        violations: list[Violation],
        **kw: Any,
    ) -> SoakResult:
        injections = []
        for r in records:
            d = asdict(r)
            d["tolerated"] = sorted(r.tolerated)
            d["excused"] = sorted(r.excused)
            d["expects"] = [e.text() for e in r.expects]
            injections.append(d)
        return cls(injections=injections, violations=[asdict(v) for v in violations], **kw)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> SoakResult:
        return cls(**json.loads(path.read_text()))

    def reproduce(self) -> str:
        extra = f" REPEATS={self.repeats}" if self.repeats else ""
        return f"make soak SEED={self.seed} FRAMES={self.frames}{extra}"


@dataclass
class Campaign:
    """Several seeds merged; ``failed``: seeds whose simulation left no report."""

    results: list[SoakResult]
    failed: list[tuple[int, int, str]] = field(default_factory=list)  # (seed, frames, why)
    wall_seconds: float = 0.0

    @property
    def violations(self) -> int:
        return sum(len(r.violations) for r in self.results)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.failed and bool(self.results)

    def per_kind(self) -> list[tuple[str, str, int, int]]:
        """(kind, category, injected, violations under it), every kind planned."""
        injected: Counter[str] = Counter()
        category: dict[str, str] = {}
        bad: Counter[str] = Counter()
        for r in self.results:
            for i in r.injections:
                injected[i["kind"]] += 1
                category[i["kind"]] = i["category"]
            for v in r.violations:
                bad[v["kind"]] += 1
            for k in r.kinds:
                injected.setdefault(k, 0)
        rows = [(k, category.get(k, "?"), n, bad[k]) for k, n in injected.items()]
        rows.sort(key=lambda x: (x[1], x[0]))
        if bad["-"]:
            rows.append(("(no injection active)", "-", 0, bad["-"]))
        return rows

    def per_monitor(self) -> list[tuple[str, int, int]]:
        checks: Counter[str] = Counter()
        bad: Counter[str] = Counter()
        for r in self.results:
            checks.update(r.checks)
            bad.update(v["monitor"] for v in r.violations)
        return [(m, checks[m], bad[m]) for m in MONITORS]

    def totals(self) -> dict[str, float]:
        rs = self.results
        return {
            "seeds": len(rs) + len(self.failed),
            "sent": sum(r.sent for r in rs),
            "delivered": sum(r.delivered for r in rs),
            "cycles": sum(r.cycles for r in rs),
            "sim_wall_seconds": round(sum(r.wall_seconds for r in rs), 1),
            "wall_seconds": round(self.wall_seconds, 1),
        }

    def table(self) -> str:
        lines = [f"{'kind':<24}{'category':<10}{'injected':>9}{'violations':>12}"]
        for kind, cat, n, bad in self.per_kind():
            lines.append(f"{kind:<24}{cat:<10}{n:>9}{bad:>12}")
        lines += ["", f"{'monitor':<24}{'checks':>10}{'violations':>12}"]
        for m, checks, bad in self.per_monitor():
            lines.append(f"{m:<24}{checks:>10}{bad:>12}")
        t = self.totals()
        us = t["cycles"] * NS_PER_CYCLE / 1000
        judged = sum(r.judged_sent for r in self.results)
        lost = sum(r.judged_lost for r in self.results)
        why: Counter[str] = Counter()
        for r in self.results:
            why.update(r.explained_losses)
        windows = sum(len(r.injections) for r in self.results)
        lines += [
            "",
            f"injection windows: {windows}, "
            f"{sum(r.overlapping() for r in self.results)} pairs of them open at once",
            f"honest frames (judged): {judged} sent, {lost} lost, each at a point its window "
            "allows: " + (", ".join(f"{k} {n}" for k, n in sorted(why.items())) or "none"),
            "",
            f"{t['seeds']} seed(s): frames sent {t['sent']}, delivered {t['delivered']} "
            f"(UDP flow frames of every VM and the outside host)",
            f"simulated {t['cycles']:,} cycles = {us:,.1f} us at 250 MHz; "
            f"wall {t['wall_seconds']} s (simulators {t['sim_wall_seconds']} s)",
        ]
        for r in self.results:
            for v in r.violations[:10]:
                lines.append(f"  seed {r.seed}: [{v['monitor']}] ({v['kind']}) {v['detail']}")
        for r in self.results:
            if r.violations:
                lines.append(f"FAILED seed {r.seed}: reproduce with `{r.reproduce()}`")
        for seed, frames, why in self.failed:
            lines.append(
                f"FAILED seed {seed} ({why}): "
                f"reproduce with `make soak SEED={seed} FRAMES={frames}`"
            )
        lines.append("soak " + ("PASSED" if self.ok else "FAILED"))
        return "\n".join(lines)

    def markdown(self) -> str:
        t = self.totals()
        overlapping = sum(r.overlapping() for r in self.results)
        out = [
            "# Robustness soak report",
            "",
            "Written by `make soak` (sim/soak, docs/ROBUSTNESS.md).",
            "",
            f"Seeds: {', '.join(str(r.seed) for r in self.results)}"
            + (f"; failed to run: {[s for s, _, _ in self.failed]}" if self.failed else ""),
            "",
            "| kind | category | injected | violations |",
            "|---|---|---:|---:|",
        ]
        out += [f"| {k} | {c} | {n} | {b} |" for k, c, n, b in self.per_kind()]
        out += ["", "| monitor | checks | violations |", "|---|---:|---:|"]
        out += [f"| {m} | {c} | {b} |" for m, c, b in self.per_monitor()]
        out += [
            "",
            "| seed | frames | sent | delivered | cycles | simulator s | violations | ran on |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in self.results:
            out.append(
                f"| {r.seed} | {r.frames} | {r.sent} | {r.delivered} | {r.cycles} | "
                f"{r.wall_seconds:.1f} | {len(r.violations)} | {r.ran_on} |"
            )
        out += [
            "",
            f"Total: {t['sent']} frames sent, {t['delivered']} delivered, {t['cycles']:,} cycles "
            f"simulated, campaign wall time {t['wall_seconds']} s; "
            f"{overlapping} pairs of injection windows open at once.",
            "",
        ]
        if self.violations or self.failed:
            out.append("## Violations")
            out.append("")
            for r in self.results:
                out += [
                    f"- seed {r.seed}: [{v['monitor']}] ({v['kind']}) {v['detail']}"
                    for v in r.violations
                ]
                if r.violations:
                    out.append(f"- reproduce: `{r.reproduce()}`")
            out += [
                f"- seed {s}: did not finish ({why}): `make soak SEED={s} FRAMES={f}`"
                for s, f, why in self.failed
            ]
        return "\n".join(out) + "\n"
