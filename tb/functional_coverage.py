"""Where a block environment writes its functional-coverage report under ``make coverage``.

sim/runner.py names one file per run in ``$NIC_FUNCTIONAL_COVERAGE`` when the
coverage switch is on (docs/COVERAGE.md); sim/coverage.py copies the files to
``reports/coverage/functional/``. Outside a coverage run nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path

FUNCTIONAL_COVERAGE_ENV = "NIC_FUNCTIONAL_COVERAGE"


def write_report(text: str) -> Path | None:
    """Write ``text`` to the run's functional-coverage file, if this run has one."""
    name = os.environ.get(FUNCTIONAL_COVERAGE_ENV)
    if not name:
        return None
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n")
    return path
