"""The VF side of the mailbox (window 1 of the VF's own space), as ixgbevf's
``write_posted``/``read_posted`` use it: write the words, ring REQ, sleep until
the PF's acknowledge interrupt; sleep until the PF's message interrupt, read the
words, ACK them. Only the VF's own register space is touched."""

from __future__ import annotations

from dataclasses import dataclass

from cocotb.triggers import SimTimeoutError, with_timeout

from tb.host.interrupts import IrqMonitor
from tb.host.mmio import FunctionBar
from tb.net.pcap import NS_PER_CYCLE
from tb.ref.mailbox import MbxMessage
from tb.ref.regmap import MBX_ACK, MBX_OACK, MBX_REQ, MBX_RSTD, MBX_STS, MBX_WORDS, VfMbx


class MailboxTimeout(TimeoutError):
    """The PF did not answer within the driver's timeout."""


@dataclass
class VfMailboxPort:
    bar: FunctionBar
    irq: IrqMonitor
    vector: int
    timeout_cycles: int = 20_000

    @property
    def func(self) -> int:
        return self.bar.func

    async def ctrl(self) -> int:
        return await self.bar.read(VfMbx.CTRL)

    async def _wait_for(self, bit: int, what: str) -> int:
        """Sleep on the mailbox interrupt until ``bit`` of CTRL is set."""
        while True:
            seen = self.irq.count(self.func, self.vector)
            ctrl = await self.ctrl()
            if ctrl & bit:
                return ctrl
            try:
                await with_timeout(
                    self.irq.wait_beyond(self.func, self.vector, seen),
                    self.timeout_cycles * NS_PER_CYCLE,
                    "ns",
                )
            except SimTimeoutError:
                raise MailboxTimeout(
                    f"VF {self.func}: no {what} from the PF (CTRL {ctrl:#x})"
                ) from None

    async def send(self, msg: MbxMessage) -> None:
        """Write a request and wait for the PF's acknowledge (PFACK)."""
        if await self.ctrl() & MBX_REQ:
            raise MailboxTimeout(f"VF {self.func}: previous request still unacknowledged")
        for i, w in enumerate(msg.pack()):
            await self.bar.write(VfMbx.VF_MSG + 4 * i, w)
        await self.bar.write(VfMbx.CTRL, MBX_REQ)
        await self._wait_for(MBX_OACK, "acknowledge")
        await self.bar.write(VfMbx.CTRL, MBX_OACK)  # W1C

    async def receive(self) -> MbxMessage:
        """Wait for the PF's message, read it and acknowledge it."""
        await self._wait_for(MBX_STS, "message")
        words = [await self.bar.read(VfMbx.PF_MSG + 4 * i) for i in range(MBX_WORDS)]
        await self.bar.write(VfMbx.CTRL, MBX_ACK)
        return MbxMessage.unpack(words)

    async def pending(self) -> bool:
        return bool(await self.ctrl() & MBX_STS)

    async def reset_done(self) -> bool:
        """RSTD: the function was reset since the driver last cleared it (then cleared)."""
        if await self.ctrl() & MBX_RSTD:
            await self.bar.write(VfMbx.CTRL, MBX_RSTD)
            return True
        return False
