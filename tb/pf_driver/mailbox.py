"""The PF side of the VF mailboxes: register transport and the service task.

Transport (per VF, PF window 0x30000 + 0x100 n): read the VF's 16 words,
acknowledge (ACK), write a reply and ring the doorbell (REQ). The service waits
for the PF's mailbox interrupt, then handles VF-initiated FLRs first (the VFLR
bitmap) and requests second (the VFREQ bitmap), so a VF that resets itself and
then sends VF_RESET is seen in that order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import cocotb
from cocotb.task import Task

from tb.host.interrupts import IrqMonitor
from tb.host.mmio import FunctionBar
from tb.pf_driver.mbx_policy import MailboxPolicy
from tb.pf_driver.vf_state import VfState
from tb.ref.mailbox import MbxMessage
from tb.ref.regmap import MBX_ACK, MBX_REQ, MBX_STS, MBX_WORDS, Pf, PfMbx, pf_mbx_reg


@dataclass(frozen=True)
class PfMailboxPort:
    """Register access to the PF side of VF ``vf``'s mailbox."""

    bar: FunctionBar
    vf: int

    def reg(self, off: int) -> int:
        return pf_mbx_reg(self.vf, off)

    async def ctrl(self) -> int:
        return await self.bar.read(self.reg(PfMbx.CTRL))

    async def receive(self) -> MbxMessage | None:
        """The VF's pending request, acknowledged; None when none is pending."""
        if not await self.ctrl() & MBX_STS:
            return None
        words = [await self.bar.read(self.reg(PfMbx.VF_MSG + 4 * i)) for i in range(MBX_WORDS)]
        await self.bar.write(self.reg(PfMbx.CTRL), MBX_ACK)
        return MbxMessage.unpack(words)

    async def send(self, msg: MbxMessage) -> None:
        words = msg.pack()
        for i, w in enumerate(words):
            await self.bar.write(self.reg(PfMbx.PF_MSG + 4 * i), w)
        await self.bar.write(self.reg(PfMbx.CTRL), MBX_REQ)

    async def errors(self) -> int:
        return await self.bar.read(self.reg(PfMbx.ERRS)) & 0xFFFF


@dataclass
class ServiceStats:
    requests: int = 0
    acked: int = 0
    nacked: int = 0
    unknown: int = 0
    vflr_events: int = 0


@dataclass
class MailboxService:
    """Answers VF requests as they arrive (an async task, started with ``start()``)."""

    bar: FunctionBar
    irq: IrqMonitor
    vector: int
    num_vf: int
    states: dict[int, VfState]
    # Rewrites VF n's switch policy after its state changed.
    apply: Callable[[int], Awaitable[None]]
    # Effective link of VF n as the switch enforces it.
    link_up: Callable[[int], Awaitable[bool]]
    policy: MailboxPolicy = field(default_factory=MailboxPolicy)
    stats: dict[int, ServiceStats] = field(default_factory=dict)
    log: list[tuple[int, MbxMessage, MbxMessage]] = field(default_factory=list)
    _task: Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def vf_stats(self, vf: int) -> ServiceStats:
        return self.stats.setdefault(vf, ServiceStats())

    async def _bitmap(self, base: int) -> int:
        words = (self.num_vf + 1 + 31) // 32
        value = 0
        for w in range(words):
            value |= await self.bar.read(base + 4 * w) << (32 * w)
        return value

    async def reset_event(self, vf: int) -> None:
        """The VF was reset (FLR): forget its requests until it sends VF_RESET."""
        st = self.states[vf]
        st.reset_guest()
        await self.apply(vf)

    async def _run(self) -> None:
        seen = 0
        while True:
            seen = self.irq.count(0, self.vector)
            await self.service_once()
            await self.irq.wait_beyond(0, self.vector, seen)

    async def service_once(self) -> None:
        """One pass: every pending VFLR event, then every pending request."""
        req = await self._bitmap(Pf.MBX_VFREQ)
        vflr = await self._bitmap(Pf.VFLR)
        for vf in range(1, self.num_vf + 1):
            if vflr >> vf & 1 and vf in self.states:
                await self.bar.write(Pf.VFLR + 4 * (vf // 32), 1 << (vf % 32))
                await self.reset_event(vf)
                self.vf_stats(vf).vflr_events += 1
        for vf in range(1, self.num_vf + 1):
            if req >> vf & 1 and vf in self.states:
                await self.handle(vf)

    async def handle(self, vf: int) -> None:
        port = PfMailboxPort(self.bar, vf)
        msg = await port.receive()
        if msg is None:
            return  # the request vanished: the VF was reset in between
        st = self.states[vf]
        stats = self.vf_stats(vf)
        stats.requests += 1
        decision = self.policy.handle(vf, st, msg, await self.link_up(vf))
        if decision.apply:
            await self.apply(vf)
        stats.unknown += decision.unknown
        if decision.reply.nack:
            stats.nacked += 1
        else:
            stats.acked += 1
        self.log.append((vf, msg, decision.reply))
        await port.send(decision.reply)
