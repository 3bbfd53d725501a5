"""C++ behind the simulation-only host bus and stream ends, built into one shared library.

``host_mem.cpp`` (host memory, IOMMU mirror, watches for ``sim_host_bus.sv``) and
``stream.cpp`` (frame queues for ``sim_stream_source.sv``/``sim_stream_sink.sv``)
are compiled into ``build/simhost/libsimhost.so``. A model that uses those
modules links against it (:func:`link_args`: ``-L``,
``-l`` and an rpath), and ``tb/host/hdl_bus.py`` and ``tb/net/hdl_stream.py`` open the very
file the model loaded with ctypes (``tb/simlib.py``), so the DPI-C calls of the
HDL and the Python side share one instance of its state (memory pointer, IOMMU
mirror, watches, logs, frame queues).

The library is rebuilt when its source or flags change (a hash next to it); a
new build replaces the file atomically, so a simulation running with the old
one keeps its mapping.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from filelock import FileLock

from sim.toolchain import REPO_ROOT, verilator_root

HERE = Path(__file__).resolve().parent
SOURCES = (HERE / "host_mem.cpp", HERE / "stream.cpp")
LIB_DIR = REPO_ROOT / "build" / "simhost"
LIB_NAME = "libsimhost.so"
LIB = LIB_DIR / LIB_NAME


def _command(out: Path) -> list[str]:
    include = verilator_root() / "include" / "vltstd"  # svdpi.h
    return [
        os.environ.get("CXX", "g++"),
        "-std=c++20",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fPIC",
        "-shared",
        f"-Wl,-soname,{LIB_NAME}",
        f"-I{include}",
        "-o",
        str(out),
        *(str(src) for src in SOURCES),
    ]


def build_simhost() -> Path:
    """Build libsimhost.so if its sources or compile command changed; return its path."""
    LIB_DIR.mkdir(parents=True, exist_ok=True)
    stamp = LIB_DIR / "libsimhost.sha1"
    text = b"".join(src.read_bytes() for src in SOURCES)
    key = hashlib.sha1(text + " ".join(_command(LIB)).encode()).hexdigest()
    with FileLock(str(LIB_DIR / "build.lock")):
        if LIB.exists() and stamp.exists() and stamp.read_text() == key:
            return LIB
        tmp = LIB_DIR / f".{LIB_NAME}.{os.getpid()}"
        subprocess.run(_command(tmp), check=True)
        os.replace(tmp, LIB)
        stamp.write_text(key)
    return LIB


def link_args() -> tuple[str, ...]:
    """Verilator options that link a model against the library (found again at run time)."""
    return ("-LDFLAGS", f"-L{LIB_DIR} -Wl,-rpath,{LIB_DIR} -lsimhost")
