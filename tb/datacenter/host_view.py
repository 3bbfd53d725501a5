"""One host's ports in a top that holds several hosts (``sim/tops/two_host_top.sv``).

The top re-exports each host's ``nic_sim_top`` ports under a prefix (``a_clk``,
``a_s_axil_awaddr``, ``a_uplink_in_rst``, ...) and its per-host parameters under
an upper-case one (``A_VF_RING_FMT``, ``A_UPLINK_IN_CH``, ``A_HOST_BUS_INST``, ...);
the parameters both hosts share (``NUM_VF``, ...) keep their names. A
:class:`HostPorts` maps the single-host names back, so :class:`tb.env.NicTb` and
every model that takes a DUT handle (MMIO, interrupts, the HDL host bus and
stream ends) drive one host unchanged: ``HostPorts(dut, "a").s_axil_awaddr`` is
``dut.a_s_axil_awaddr``, ``HostPorts(dut, "a").VF_RING_FMT`` is
``dut.A_VF_RING_FMT``. A name the top does not have raises AttributeError, so
``hasattr`` answers as it would on a single-host top.
"""

from __future__ import annotations

from typing import Any

# Parameters of two_host_top that both hosts share (not prefixed).
SHARED_PARAMETERS = frozenset(
    {"NUM_VF", "NUM_QUEUES", "DATA_W", "ADDR_W", "DMA_ID_W", "MAC_TABLE_SIZE"}
)


class HostPorts:
    """The ports and parameters of host ``prefix`` ("a", "b") of a multi-host top."""

    def __init__(self, dut: Any, prefix: str) -> None:
        if not prefix.isidentifier() or not prefix.islower():
            raise ValueError(f"host prefix {prefix!r}: a lower-case identifier such as 'a'")
        if not hasattr(dut, f"{prefix}_clk"):
            raise ValueError(f"the top has no host {prefix!r} (no {prefix}_clk port)")
        self._dut = dut
        self._prefix = prefix

    @property
    def prefix(self) -> str:
        return self._prefix

    def top_name(self, name: str) -> str:
        """The top-level name of this host's ``name``."""
        if name in SHARED_PARAMETERS:
            return name
        if name.isupper():
            return f"{self._prefix.upper()}_{name}"
        return f"{self._prefix}_{name}"

    def __getattr__(self, name: str) -> Any:
        if name in ("_dut", "_prefix"):  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        if name.startswith("_"):  # cocotb's own (_log, _name, ...): the top's
            return getattr(self._dut, name)
        return getattr(self._dut, self.top_name(name))

    def __repr__(self) -> str:
        return f"HostPorts({self._prefix!r})"
