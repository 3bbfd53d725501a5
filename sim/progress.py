"""A progress bar on stderr for simulations running in other processes.

Each simulation writes a small progress file (``write_progress``: a count and a
note, e.g. "1450 injections 12/30"), at most every few hundred frames; the runner
polls the files once a second from a thread and draws one tqdm bar over their sum
(``progress_bar``). No Python runs per clock cycle for it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

POLL_S = 1.0


def write_progress(path: Path, count: int, note: str = "") -> None:
    """The simulation's side: how far it got (``count``) and what it is doing (``note``)."""
    path.write_text(f"{count} {note}".rstrip() + "\n")


def read_progress(path: Path) -> tuple[int, str]:
    """(count, note) of a progress file; (0, "") while it is missing or half written."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        count, _, note = path.read_text().strip().partition(" ")
        return int(count), note
    return 0, ""


@contextlib.contextmanager
def progress_bar(files: Sequence[Path], total: int | None, unit: str, desc: str) -> Iterator[None]:
    """One bar on stderr while the block runs: the sum of ``files``' counts against
    ``total`` (None: a count and a rate only), the note of a single file beside it.
    """
    for f in files:
        f.unlink(missing_ok=True)
    stop = threading.Event()

    def draw() -> None:
        with tqdm(total=total, unit=unit, file=sys.stderr, mininterval=POLL_S, desc=desc) as bar:
            while True:
                stopped = stop.wait(POLL_S)
                seen = [read_progress(f) for f in files]
                bar.update(max(0, sum(n for n, _ in seen) - bar.n))
                if len(seen) == 1 and seen[0][1]:
                    bar.set_postfix_str(seen[0][1], refresh=False)
                if stopped:
                    break

    ticker = threading.Thread(target=draw, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
