"""A host on the outside network, behind the NIC's uplink.

It is the guest's stack (:class:`tb.guest.stack.NetStack`) with the uplink's
wire as its transmit: it answers ARP and ping the same way, and adds a flow
sink (a :class:`FlowReceiver` bound to a UDP port) and flows it sources. No
cocotb import: :meth:`ExternalHost.pump` awaits any object with an async
``recv()`` (``NicTb.wire_out``: an ``HdlStreamSink`` or ``FastStreamSink``),
and the transmit is e.g. ``NicTb.wire_in.send_nowait``.
"""

from __future__ import annotations

from typing import Protocol

from tb.guest.flow_receiver import FlowReceiver
from tb.guest.flows import UdpFlow
from tb.guest.stack import (
    Clock,
    InterfaceConfig,
    NetStack,
    Transmit,
    TxOutcome,
    zero_clock,
)

SINK_PORT = 6000  # UdpFlow's default destination port


class FrameSource(Protocol):
    """Where frames out of the NIC's uplink come from (both uplink sinks have this)."""

    async def recv(self) -> object: ...


class ExternalHost(NetStack):
    """A NetStack on the uplink that also sinks (``sink``) and sources UDP flows."""

    def __init__(
        self,
        config: InterfaceConfig,
        uplink: Transmit,
        *,
        now: Clock = zero_clock,
        name: str = "outside",
        payload_seed: int | None = 0,
        sink_port: int = SINK_PORT,
    ) -> None:
        super().__init__(config, uplink, now=now, name=name)
        self.payload_seed = payload_seed
        self.sink = FlowReceiver(payload_seed)
        self.bind_udp(sink_port, self.sink.deliver)
        self.sources: dict[int, UdpFlow] = {}

    def source(self, flow_id: int, dst_ip: str, *, dport: int = SINK_PORT) -> UdpFlow:
        """A flow from this host to ``dst_ip`` (payloads seeded like the sink expects)."""
        flow = self.udp_flow(flow_id, dst_ip, dport=dport, payload_seed=self.payload_seed)
        self.sources[flow_id] = flow
        return flow

    def send(self, flow_id: int, size: int) -> TxOutcome:
        """The next frame of source flow ``flow_id``."""
        return self.send_flow(self.sources[flow_id], size)

    async def pump(self, wire: FrameSource, frames: int | None = None) -> None:
        """Feed frames from ``wire`` to :meth:`receive`: ``frames`` of them, or forever."""
        n = 0
        while frames is None or n < frames:
            frame = await wire.recv()
            self.receive(bytes(getattr(frame, "tdata", frame)))  # type: ignore[arg-type]
            n += 1

    def summary(self) -> str:
        lines = [super().summary()]
        lines += ["  sink " + line for line in self.sink.summary().splitlines()]
        return "\n".join(lines)
