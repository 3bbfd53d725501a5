"""sim/runner.py's quiet builds (make bench): the output goes to a log, one line names
it, and a failed build prints the log's last lines and raises BuildFailed with its path.

The build fails at once on an option Verilator does not know: no compile is needed.
"""

from __future__ import annotations

import pytest

from sim.runner import VERILATOR_BUILD_ARGS, BuildFailed, SimTop, _build
from sim.toolchain import REPO_ROOT

BAD_OPTION = "--no-such-option-test-runner-build-log"


def test_failed_build_prints_the_log_tail(capsys: pytest.CaptureFixture[str]) -> None:
    top = SimTop("vf_dma", {"NUM_QUEUES": 1}, build_args=(*VERILATOR_BUILD_ARGS, BAD_OPTION))
    log = top.build_log
    log.unlink(missing_ok=True)  # as before a fresh process's first build
    for attempt in (1, 2):
        with pytest.raises(BuildFailed, match=str(log)):
            _build(top, log, announce=True)
        out, err = capsys.readouterr()
        # the line naming the log, the first time only; nothing of the build's own output
        announce = f"building vf_dma (NUM_QUEUES=1): log {log.relative_to(REPO_ROOT)}\n"
        assert out == (announce if attempt == 1 else "")
        assert "build of vf_dma (NUM_QUEUES=1) FAILED" in err
        assert f"Invalid option: {BAD_OPTION}" in err  # Verilator's error, from the log
    text = log.read_text()
    # this process's first build replaced the log, the second was appended
    assert text.count("=== ") == 2
    assert text.count(f"Invalid option: {BAD_OPTION}") == 2
    assert not log.with_name(log.name + ".part").exists()
