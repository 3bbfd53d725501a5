"""An ixgbevf-like VF driver: brings a VF up with only its own register space and
the mailbox, then sends and receives frames through its rings.

It binds to both VF flavours of the NIC (its id table: FUNC_ID's device id
0x5A01, ring format A, and 0x5B01, vendor B's ring format B, whose rings are
vmxnet3's): the control path (FLR, mailbox) is the same, the queues are those
of the VF's ring format (``tb/vf_driver/flavour.py``).

Bring-up follows ixgbevf_probe/ixgbevf_open: function reset (FUNC_CTRL.FLR,
as ixgbevf writes VFCTRL.RST), VF_RESET over the mailbox (the reply carries
the permanent MAC, or a NACK when none is assigned, and the driver then picks
a random locally administered one and asks for it), API negotiation from the
newest version down, link state, multicast list and receive mode, queues.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tb.host.interrupts import IrqMonitor
from tb.host.mmio import FunctionBar
from tb.ref.mailbox import (
    MC_MAX_IN_MSG,
    MboxApi,
    MbxMessage,
    MsgType,
    XcastMode,
    bytes_to_words,
    format_mac,
    mac_to_words,
    words_to_mac,
)
from tb.ref.regmap import FUNC_CTRL_FLR, Func, RingFmt, VfMbx
from tb.vf_driver.flavour import UnknownDeviceError, queue_pair, ring_fmt_of
from tb.vf_driver.mailbox import VfMailboxPort
from tb.vf_driver.queues import DmaMemory, RxFrame, RxQueue, TxQueue
from tb.vf_driver.upt_queues import UptRxQueue, UptTxQueue

API_PREFERENCE = (MboxApi.API_13, MboxApi.API_12, MboxApi.API_11, MboxApi.API_10)


class VfDriverError(RuntimeError):
    """The PF refused something the driver cannot do without."""


@dataclass
class MbxReply:
    """A PF reply: ``ok`` is ACK, ``payload`` words 1..15."""

    ok: bool
    cts: bool
    payload: list[int]


@dataclass
class IxgbeVf:
    bar: FunctionBar
    mem: DmaMemory
    irq: IrqMonitor
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    mac: bytes = bytes(6)
    api: MboxApi | None = None
    link_up: bool = False
    tx: TxQueue | UptTxQueue | None = None
    rx: RxQueue | UptRxQueue | None = None
    mbx: VfMailboxPort | None = None
    ring_fmt: RingFmt | None = None  # the VF's, from its device id at the first access

    async def _port(self) -> VfMailboxPort:
        if self.mbx is None:
            func_id = await self.bar.read(Func.FUNC_ID)
            if func_id & 0xFF != self.bar.func:
                raise VfDriverError(f"FUNC_ID {func_id:#010x}: not this VF")
            try:
                self.ring_fmt = ring_fmt_of(func_id >> 16)
            except UnknownDeviceError as exc:
                raise VfDriverError(f"FUNC_ID {func_id:#010x}: {exc}") from None
            vector = (await self.bar.read(VfMbx.INFO) >> 8) & 0xFF
            self.mbx = VfMailboxPort(self.bar, self.irq, vector)
        return self.mbx

    async def request(self, msg: MbxMessage) -> MbxReply:
        """One request/reply exchange; stray PF control messages are skipped."""
        port = await self._port()
        await port.send(msg)
        while True:
            reply = await port.receive()
            if reply.msg_type == msg.msg_type:
                if not (reply.ack or reply.nack):
                    raise VfDriverError(f"reply {reply} carries neither ACK nor NACK")
                return MbxReply(reply.ack, reply.cts, reply.payload)

    # ----------------------------------------------------------------- bring-up
    async def reset(self) -> None:
        """ixgbevf_reset_hw_vf: reset the function, then VF_RESET over the mailbox."""
        port = await self._port()
        await self.bar.write(Func.FUNC_CTRL, FUNC_CTRL_FLR)
        await port.reset_done()
        self.api = None
        reply = await self.request(MbxMessage(MsgType.VF_RESET))
        if reply.ok:
            self.mac = words_to_mac(reply.payload[:2])
        else:
            # No MAC assigned: pick a random locally administered unicast address.
            b = bytearray(self.rng.randbytes(6))
            b[0] = (b[0] & 0xFE) | 0x02
            self.mac = bytes(b)
            if not await self.set_mac(self.mac):
                raise VfDriverError(f"PF refused the random MAC {format_mac(self.mac)}")

    async def negotiate_api(self) -> MboxApi:
        for api in API_PREFERENCE:
            reply = await self.request(MbxMessage(MsgType.API_NEGOTIATE, payload=[api]))
            if reply.ok:
                self.api = api
                return api
        raise VfDriverError("the PF accepts no mailbox API version")

    async def get_link_state(self) -> bool:
        reply = await self.request(MbxMessage(MsgType.GET_LINK_STATE))
        if not reply.ok:
            raise VfDriverError("GET_LINK_STATE refused")
        self.link_up = bool(reply.payload[0])
        return self.link_up

    async def set_mac(self, mac: bytes) -> bool:
        reply = await self.request(MbxMessage(MsgType.SET_MAC_ADDR, payload=mac_to_words(mac)))
        if reply.ok:
            self.mac = mac
        return reply.ok

    async def set_multicast(self, addrs: list[bytes]) -> bool:
        if len(addrs) > MC_MAX_IN_MSG:
            raise VfDriverError(f"{len(addrs)} addresses do not fit one message")
        payload = bytes_to_words(b"".join(addrs)) if addrs else []
        msg = MbxMessage(MsgType.SET_MULTICAST, info=len(addrs), payload=payload)
        return (await self.request(msg)).ok

    async def set_vlan(self, vid: int, add: bool = True) -> bool:
        msg = MbxMessage(MsgType.SET_VLAN, info=int(add), payload=[vid])
        return (await self.request(msg)).ok

    async def set_xcast(self, mode: XcastMode) -> XcastMode | None:
        """Returns the mode in effect (the PF may clamp it), None when refused."""
        reply = await self.request(MbxMessage(MsgType.UPDATE_XCAST_MODE, payload=[mode]))
        return XcastMode(reply.payload[0]) if reply.ok else None

    async def up(self, mc: list[bytes] | None = None, ring_log2: int = 6) -> None:
        """Probe and open: reset, API, link, multicast, receive mode, queues."""
        await self.reset()
        await self.negotiate_api()
        await self.get_link_state()
        if mc and not await self.set_multicast(mc):
            await self.set_xcast(XcastMode.ALLMULTI)
        assert self.ring_fmt is not None  # known since the mailbox port was opened
        self.tx, self.rx = queue_pair(self.bar, self.mem, 0, ring_log2, self.ring_fmt)
        await self.tx.open()
        await self.rx.open()

    # ---------------------------------------------------------------- datapath
    async def send(self, frames: list[bytes]) -> None:
        if self.tx is None:
            raise VfDriverError("interface is down")
        for fr in frames:
            self.tx.post(fr)
        await self.tx.ring_doorbell()

    async def wait_sent(self, n: int) -> int:
        """Wait for ``n`` TX completions; returns how many were good."""
        if self.tx is None:
            raise VfDriverError("interface is down")
        good = 0
        done = 0
        while done < n:
            for t in await self.tx.wait_reaped():
                done += 1
                good += t.completion is not None and t.completion.status == 0
        return good

    async def receive(self, n: int) -> list[RxFrame]:
        if self.rx is None:
            raise VfDriverError("interface is down")
        got: list[RxFrame] = []
        while len(got) < n:
            got += await self.rx.wait_reaped()
        return got
