"""The receiving end of :class:`tb.guest.flows.UdpFlow`: per-flow loss, duplication,
reordering and corruption, from datagrams a stack delivers or from raw frames."""

from __future__ import annotations

from dataclasses import dataclass, field

from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether

from tb.guest.flows import HEADER, flow_payload
from tb.guest.stack import UdpDatagram

REORDER_RECORD_LIMIT = 8  # reordered frames a FlowStats names (the count is always exact)


@dataclass
class FlowStats:
    """What arrived of one flow (by flow id). ``lost`` counts gaps below the highest
    sequence seen, or below ``sent`` once the sender's count is known (tail loss)."""

    flow_id: int
    received: int = 0  # every frame of the flow, duplicates and corrupted ones included
    duplicated: int = 0
    reordered: int = 0  # arrived after a higher sequence number
    corrupted: int = 0  # payload differs from flow_payload() of its (flow id, seq)
    bytes: int = 0
    highest: int = -1
    seen: set[int] = field(default_factory=set)
    sent: int | None = None
    # (seq, highest seen before it) of the first REORDER_RECORD_LIMIT reordered frames
    reorders: list[tuple[int, int]] = field(default_factory=list)

    @property
    def lost(self) -> int:
        span = self.sent if self.sent is not None else self.highest + 1
        return span - len({s for s in self.seen if s < span})

    def summary(self) -> str:
        return (
            f"flow {self.flow_id}: {self.received} received, {self.lost} lost, "
            f"{self.duplicated} duplicated, {self.reordered} reordered, "
            f"{self.corrupted} corrupted"
        )


class FlowReceiver:
    """Counts UdpFlow frames per flow: loss, duplication, reordering, corruption.

    With ``payload_seed`` (the senders' ``UdpFlow.payload_seed``) each payload
    is recomputed with :func:`flow_payload` and compared. A frame whose body
    differs in more than half its bytes does not belong to the (flow id, seq)
    its header names, so the header itself was hit: it is counted as
    ``unattributed`` and its sequence number is not trusted (the frame it was
    shows as lost). A few differing bytes are a corrupted frame of that flow.
    With ``payload_seed`` None payloads are not checked.
    """

    def __init__(self, payload_seed: int | None = 0) -> None:
        self.payload_seed = payload_seed
        self.flows: dict[int, FlowStats] = {}
        self.malformed = 0  # shorter than a flow header
        self.unattributed = 0

    def deliver(self, dgram: UdpDatagram) -> None:
        """A :data:`UdpHandler`: bind it with ``NetStack.bind_udp(port, receiver.deliver)``."""
        self.receive_payload(dgram.payload)

    def receive_frame(self, frame: bytes) -> None:
        """An Ethernet frame from anywhere (e.g. a sink), parsed with scapy."""
        pkt = Ether(frame)
        if UDP not in pkt:
            self.malformed += 1
            return
        self.receive_payload(bytes(pkt[UDP].payload))

    def receive_payload(self, payload: bytes) -> None:
        if len(payload) < HEADER.size:
            self.malformed += 1
            return
        flow_id, seq = HEADER.unpack_from(payload)
        corrupted = False
        if self.payload_seed is not None:
            body = payload[HEADER.size :]
            want = flow_payload(self.payload_seed, flow_id, seq, len(body))
            diff = sum(a != b for a, b in zip(body, want, strict=True))
            if diff * 2 > len(body):
                self.unattributed += 1
                return
            corrupted = diff > 0
        st = self.flows.get(flow_id)
        if st is None:
            st = self.flows[flow_id] = FlowStats(flow_id)
        st.received += 1
        st.bytes += len(payload)
        st.corrupted += corrupted
        if seq in st.seen:
            st.duplicated += 1
            return
        st.seen.add(seq)
        if seq < st.highest:
            st.reordered += 1
            if len(st.reorders) < REORDER_RECORD_LIMIT:
                st.reorders.append((seq, st.highest))
        else:
            st.highest = seq

    def set_sent(self, flow_id: int, sent: int) -> None:
        """The sender says it sent ``sent`` frames (seq 0..sent-1): tail loss counts too."""
        st = self.flows.get(flow_id)
        if st is None:
            st = self.flows[flow_id] = FlowStats(flow_id)
        st.sent = sent

    def stats(self, flow_id: int) -> FlowStats:
        return self.flows[flow_id]

    def summary(self) -> str:
        lines = [self.flows[f].summary() for f in sorted(self.flows)]
        if self.malformed or self.unattributed:
            lines.append(f"{self.malformed} malformed, {self.unattributed} unattributed")
        return "\n".join(lines)
