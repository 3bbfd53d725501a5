"""``ping`` as the guest stack runs it (tb/guest/stack.py): one session's requests and
the replies they got, with round-trip times in the stack's clock."""

from __future__ import annotations

from dataclasses import dataclass, field

PING_PAYLOAD_LEN = 56  # Linux ping's default
PING_PAYLOAD_FLOW = 0xFFFF_FFFF  # flow id under which echo payloads are derived


@dataclass
class PingReply:
    seq: int
    rtt: float
    ttl: int


@dataclass
class PingSession:
    """One ``ping`` run: requests sent by sequence number and the replies they got."""

    dst_ip: str
    ident: int
    payload_len: int = PING_PAYLOAD_LEN
    sent: int = 0
    send_times: dict[int, float] = field(default_factory=dict)
    replies: dict[int, PingReply] = field(default_factory=dict)  # the first reply per seq
    duplicates: int = 0
    corrupted: int = 0  # reply payload differs from what the request carried
    unexpected: int = 0  # reply to a sequence number never sent

    @property
    def received(self) -> int:
        return len(self.replies)

    @property
    def lost(self) -> int:
        return self.sent - self.received

    def rtts(self) -> list[float]:
        return [self.replies[s].rtt for s in sorted(self.replies)]

    def summary(self) -> str:
        rtts = self.rtts()
        line = (
            f"ping {self.dst_ip} id {self.ident}: {self.sent} sent, {self.received} received, "
            f"{self.lost} lost, {self.duplicates} duplicates"
        )
        if self.corrupted or self.unexpected:
            line += f", {self.corrupted} corrupted, {self.unexpected} unexpected"
        if rtts:
            line += f", rtt min/avg/max {min(rtts)}/{sum(rtts) / len(rtts):g}/{max(rtts)}"
        return line
