"""The simulation-only C library (``libsimhost.so``) the model has loaded, for ctypes.

``sim/dpi`` builds the host bus and the stream ends into one library; the
Verilator model links it, and Python must open that very file so both sides
share one instance of its state (tb/host/hdl_bus.py, tb/net/hdl_stream.py).
"""

from __future__ import annotations

from pathlib import Path

LIB_NAME = "libsimhost.so"


def loaded_library_path() -> Path:
    """The libsimhost.so this process has mapped (the model links it), from /proc/self/maps.

    Opening any other copy would give Python a second, unrelated instance of the
    state; so the model must already have loaded it.
    """
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split(maxsplit=5)[-1].strip()
            if path.endswith("/" + LIB_NAME):
                return Path(path)
    raise RuntimeError(
        f"{LIB_NAME} is not loaded: the model was not built with the HDL host bus "
        "(sim/runner.py: nic_sim_top(), SimTop(simhost=True))"
    )
