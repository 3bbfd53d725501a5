"""What a mutant's pytest run says, shared by the mutation scripts (sim.mutate_*).

A mutant is killed only when pytest ran the selected tests and one of them failed:
exit status 1, or 2 when ``-x`` under xdist stopped the session at that failure
("Interrupted: stopping after 1 failures"), with failures in pytest's summary line.
Exit status 5 means the selection matched no test: a mutant "killed"
that way would be a check that cannot fail, so it stops the campaign with the
selection to mend. Any other status (interrupted, internal or usage error) stops it
too.
"""

from __future__ import annotations

import re
import subprocess

PYTEST_TESTS_FAILED = 1
PYTEST_INTERRUPTED = 2
PYTEST_NO_TESTS_COLLECTED = 5
SUMMARY_FAILED = re.compile(r"\b[1-9]\d* failed\b")


class MutationRunError(RuntimeError):
    """The tests of a mutant could not give a verdict."""


def killed_by(run: subprocess.CompletedProcess[str], selection: str) -> bool:
    """True when a selected test failed (the mutant is killed), False when all
    passed; raise when pytest gave no verdict."""
    if run.returncode == 0:
        return False
    out = run.stdout + run.stderr
    failed = SUMMARY_FAILED.search(out) is not None
    if run.returncode in (PYTEST_TESTS_FAILED, PYTEST_INTERRUPTED) and failed:
        return True
    if run.returncode == PYTEST_NO_TESTS_COLLECTED:
        raise MutationRunError(f"no test selected by {selection!r}: mend the mutant's tests")
    tail = "\n".join(out.splitlines()[-20:])
    raise MutationRunError(f"pytest exit status {run.returncode} for {selection!r}:\n{tail}")
