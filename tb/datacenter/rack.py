"""A rack: two hosts of ``sim/tops/two_host_top.sv``, a top-of-rack switch and an outside host.

:class:`Rack` builds one :class:`~tb.env.NicTb` per host on its
:class:`~tb.datacenter.host_view.HostPorts` (its own clock, reset, host memory and
IOMMU in its own host bus instance, PF driver, hypervisor, interrupts, ``bar(func)``,
``npa_host()``), a :class:`~tb.net.tor_switch.TorSwitch` with host A's uplink on
port 0, host B's on port 1 and the outside host on port 2, and an
:class:`~tb.net.external_host.ExternalHost` behind port 2 (docs/MIGRATION.md §2).

The ToR moves frames in Python, event-driven: a coroutine per host sleeps until
that host's uplink sink has completed frames (one wake-up per batch, never per
clock), hands each to the switch and sends it on at once to the ports the switch
names: into the other host's uplink source (paced at the wire rate there, as the
single-host outside network is) or to the outside host's stack. The outside
host's transmit goes through the switch the same way, from port 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cocotb
from cocotb.task import Task
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_time

from tb.datacenter.host_view import HostPorts
from tb.env import NicTb, TbConfig
from tb.guest.stack import InterfaceConfig
from tb.net.external_host import ExternalHost
from tb.net.hdl_stream import HdlStreamSink, HdlStreamSource
from tb.net.tor_switch import Forwarding, TorConfig, TorSwitch

PORT_HOST_A, PORT_HOST_B, PORT_OUTSIDE = 0, 1, 2
HOSTS = ("a", "b")  # the prefixes of two_host_top's hosts, in ToR port order


def default_tor() -> TorConfig:
    return TorConfig(ports=3, names=("host_a", "host_b", "outside"))


@dataclass(frozen=True)
class RackConfig:
    """Each host's testbench configuration, the ToR's, and the outside host's address."""

    host_a: TbConfig = field(default_factory=lambda: TbConfig(seed=1))
    host_b: TbConfig = field(default_factory=lambda: TbConfig(seed=2))
    tor: TorConfig = field(default_factory=default_tor)
    outside_mac: str = "02:00:00:00:ff:01"
    outside_ip: str = "10.0.0.254"

    def __post_init__(self) -> None:
        if self.tor.ports != 3:
            raise ValueError(
                f"the rack's ToR has 3 ports (host A, host B, outside), not {self.tor.ports}"
            )
        if "python" in (self.host_a.host_bus, self.host_b.host_bus):
            raise ValueError(
                "two_host_top's hosts have the HDL host bus only (host_bus 'hdl' or 'auto')"
            )


class Rack:
    """Two hosts, the ToR between their uplinks and the outside host."""

    def __init__(self, dut: Any, cfg: RackConfig | None = None) -> None:
        self.dut = dut
        self.cfg = cfg or RackConfig()
        self.hosts: dict[str, NicTb] = {
            "a": NicTb(HostPorts(dut, "a"), self.cfg.host_a),
            "b": NicTb(HostPorts(dut, "b"), self.cfg.host_b),
        }
        for name, tb in self.hosts.items():
            if not isinstance(tb.wire_in, HdlStreamSource) or not isinstance(
                tb.wire_out, HdlStreamSink
            ):
                raise TypeError(f"host {name}: the rack needs the HDL uplink stream ends")
        self.tor = TorSwitch(self.cfg.tor)
        self.outside = ExternalHost(
            InterfaceConfig(self.cfg.outside_mac, self.cfg.outside_ip),
            lambda frame: self.forward(PORT_OUTSIDE, frame),
            now=self.now_ns,
        )
        self._deliver = [
            self.hosts["a"].wire_in.send_nowait,
            self.hosts["b"].wire_in.send_nowait,
            self.outside.receive,
        ]
        self._pumps: list[Task[None]] = []
        # Called with (ingress port, frame, what the ToR did, time in ns) for every frame.
        self.observers: list[Callable[[int, bytes, Forwarding, int], None]] = []

    @property
    def a(self) -> NicTb:
        return self.hosts["a"]

    @property
    def b(self) -> NicTb:
        return self.hosts["b"]

    @staticmethod
    def now_ns() -> int:
        return int(get_sim_time("ns"))

    async def reset(self) -> None:
        """Reset both hosts (each its own reset) and start moving frames between them."""
        for tb in self.hosts.values():
            tb.dut.rst.value = 1
        await ClockCycles(self.a.dut.clk, 8)
        for tb in self.hosts.values():
            tb.dut.rst.value = 0
        await ClockCycles(self.a.dut.clk, 4)
        self.start()

    def start(self) -> None:
        """Start the ToR's pumps from both uplinks (idempotent)."""
        if self._pumps:
            return
        for port, name in enumerate(HOSTS):
            self._pumps.append(cocotb.start_soon(self._pump(port, self.hosts[name].wire_out)))

    def stop(self) -> None:
        for task in self._pumps:
            task.cancel()
        self._pumps.clear()

    async def cycles(self, n: int) -> None:
        await ClockCycles(self.a.dut.clk, n)

    def forward(self, port: int, frame: bytes) -> Forwarding:
        """A frame arrived at the ToR on ``port``: switch it and deliver it."""
        data = bytes(frame)
        now = self.now_ns()
        out = self.tor.receive(port, data, now)
        for observe in self.observers:
            observe(port, data, out, now)
        for p in out.ports:
            self._deliver[p](data)
        return out

    async def _pump(self, port: int, sink: HdlStreamSink) -> None:
        """Frames out of a host's uplink into the ToR: one wake-up per batch of frames."""
        while True:
            await sink.wait()
            for _ in range(sink.count()):
                self.forward(port, bytes(sink.recv_nowait().tdata))
