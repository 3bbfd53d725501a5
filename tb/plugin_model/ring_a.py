"""The plugin for this NIC's VF (ring format A): vmxnet3 shell rings served by a VF queue pair.

Models the IHV plugin a vendor would ship for the SR-IOV NIC in rtl/: it
translates the shell's vmxnet3 requests into format-A ring operations on the
VF (tb/ref/layouts.py, through tb/vf_driver's TxQueue/RxQueue on the VF's own
register space), and the VF's completions back into vmxnet3 completions. It
reaches nothing but the Shell API (tb/plugin_model/shell_api.py).

No frame is copied: a TX descriptor points the VF at the buffers the guest
stack gave the shell, and the receive buffers the stack posted go on the VF's
RX ring, so the VF writes received frames straight into them. All addresses
are guest-physical: the hypervisor's IOMMU domain for the VF maps exactly the
VM's memory, so the VF can reach nothing else.

Limits the VF imposes and the plugin enforces, each counted in ``stats``: a TX
frame longer than ``MAX_FRAME_BYTES`` or with more than ``MAX_TX_BUFS``
buffers is completed to the shell unsent (``tx_dropped_oversize``,
``tx_dropped_too_many_bufs``); a receive buffer must start on a 64-byte
boundary and is used up to a multiple of 64 bytes (RX descriptor rules,
ARCHITECTURE §4); one that does not is returned to the stack at once as an
errored completion (``rx_buffer_unaligned``).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import replace
from functools import partial

from tb.plugin_model.image import PluginImage, vendor_image
from tb.plugin_model.plugin import Plugin, PluginStateError, QuiesceResult, ReapResult
from tb.plugin_model.shell_api import ShellApi
from tb.ref.regmap import QSTATUS_ERROR, RING_A_IDENTITY
from tb.shell_model.device_rings import RxBuffer, TxRequest
from tb.vf_driver.queues import MAX_TX_BUFS, QueueError, QueueStall, RxQueue, TxFrame, TxQueue

MAX_FRAME_BYTES = 9216
RX_ALIGN = 64
RING_A_VENDOR_ID = RING_A_IDENTITY.vendor_id  # the model NIC's identity (FUNC_PCI_ID)
RING_A_VF_DEVICE_ID = RING_A_IDENTITY.device_id  # what every format-A VF reports
RING_A_PLUGIN_ID = "sriovnic-vf-a"


def ring_a_image(plugin_id: str = RING_A_PLUGIN_ID, abi_minor: int | None = None) -> PluginImage:
    """The image vendor A ships for this VF: ids, the five entry points, a payload."""
    return vendor_image(RING_A_VENDOR_ID, RING_A_VF_DEVICE_ID, plugin_id, 7, abi_minor)


class RingAPlugin(Plugin):
    """Serves one vmxnet3 queue pair with queue pair ``q`` of a ring-format-A VF."""

    OWN_TX_BUFFERS = False  # every frame it sends is the guest's, in the guest's buffers

    def __init__(self, *, q: int = 0, size_log2: int = 8) -> None:
        self.q = q
        self.size_log2 = size_log2
        self._api: ShellApi | None = None
        self._txq: TxQueue | None = None
        self._rxq: RxQueue | None = None
        # On the VF ring, in order; no request: a frame the plugin made itself.
        self._hw: deque[tuple[TxFrame, TxRequest | None]] = deque()
        self._backlog: deque[TxRequest] = deque()  # fetched, waiting for VF ring room
        self._rx_posted: deque[RxBuffer] = deque()  # on the VF RX ring, in order
        self._rx_waiting: deque[RxBuffer] = deque()  # claimed, waiting for VF ring room
        self._stopped = False
        self._quiescing = False
        self.stats: Counter[str] = Counter()

    async def init(self, api: ShellApi) -> None:
        if self._api is not None:
            raise PluginStateError("init called twice")
        # the shell's buffers go on the ring as they are: no buffer areas of its own
        # unless the plugin sends frames it made itself (OWN_TX_BUFFERS)
        txq = TxQueue(api.vf, api.dma, self.q, self.size_log2, own_buffers=self.OWN_TX_BUFFERS)  # type: ignore[arg-type]
        rxq = RxQueue(api.vf, api.dma, self.q, self.size_log2)  # type: ignore[arg-type]
        await txq.open()
        await rxq.open(post=0)  # the stack's buffers go on the ring, not the plugin's
        self._txq, self._rxq, self._api = txq, rxq, api
        api.register_irq(self._interrupt)
        api.log(f"ring-A plugin up on function {api.vf.func} queue {self.q}")

    async def tx(self, prod: int) -> int:
        api, _, _ = self._live()
        if self._quiescing:  # new frames stay on the shell's ring for the next owner
            return 0
        self._backlog.extend(api.tx_frames(prod))
        return await self._push_tx()

    async def rx_refill(self, prod: int) -> int:
        api, _, _ = self._live()
        if self._quiescing:  # new buffers stay on the shell's ring for the next owner
            return 0
        taken = 0
        for buf in api.rx_buffers():
            usable = buf.length - buf.length % RX_ALIGN
            if buf.gpa % RX_ALIGN or usable == 0:
                self.stats["rx_buffer_unaligned"] += 1
                api.rx_complete([buf], 0, vlan_tci=None, err=True)
                continue
            self._rx_waiting.append(replace(buf, length=usable))
            taken += 1
        await self._push_rx()
        return taken

    async def reap(self) -> ReapResult:
        _, txq, _ = self._live()
        tx_done = self._complete_tx(txq.reap())
        await self._push_tx()
        delivered = self._deliver_rx()
        await self._push_rx()
        return ReapResult(tx_done, delivered, 0)

    def _deliver_rx(self) -> int:
        """Hand the frames the VF completed into the shell's buffers to the shell."""
        api, _, rxq = self._live()
        delivered = 0
        for f in rxq.reap(gather=False):
            bufs = [self._rx_posted.popleft() for _ in f.bufs]
            if [b.gpa for b in bufs] != [addr for addr, _ in f.bufs]:
                raise QueueError("VF RX completion names buffers the plugin did not post there")
            tci = f.completion.vlan_tci if f.completion.vlan_stripped else None
            api.rx_complete(bufs, f.completion.length, vlan_tci=tci, err=f.completion.status != 0)
            delivered += 1
        self.stats["rx_delivered"] += delivered
        return delivered

    def _complete_tx(self, frames: list[TxFrame]) -> int:
        api, _, _ = self._live()
        for frame in frames:
            hw_frame, req = self._hw.popleft()
            if hw_frame is not frame:
                raise QueueError("VF TX completions out of order with the plugin's record")
            if frame.completion is not None and frame.completion.status:
                self.stats["tx_hw_errors"] += 1
            else:
                self.stats["tx_sent"] += 1
            if req is not None:
                api.tx_complete(req)
        self.stats["tx_completed"] += len(frames)
        return len(frames)

    async def quiesce(self) -> QuiesceResult:
        """Stop the VF with nothing lost: in-flight TX drained, the rest handed back."""
        api, txq, rxq = self._live()
        self._quiescing = True  # the interrupt handler stands back from here on
        self._complete_tx(txq.reap())
        failed = bool(await txq.ring.status() & QSTATUS_ERROR)
        while self._hw and not failed:
            self._complete_tx(txq.reap())
            if not self._hw:
                break
            try:
                await txq.ring.wait_completion_write(f"{len(self._hw)} frames to drain")
            except QueueStall as stall:  # the VF stopped completing: its frames are lost
                api.log(f"quiesce: {stall}")
                break
        # Disabled, drained (not BUSY), rings given back. Frames the VF received until its
        # RX queue went idle (after the switch stopped sending it any) reach the shell.
        for close in (txq.close, partial(rxq.close, drained=self._deliver_rx)):
            try:
                await close()
            except QueueStall as stall:  # its DMA never drained: its memory stays allocated
                api.log(f"quiesce: {stall}")
                self.stats["queue_not_idle"] += 1
        self._stopped = True
        # A queue in its error state sent nothing after the frame it stopped on:
        # those frames are unsent, like the backlog, and go back to the shell.
        unsent = [req for _, req in self._hw if req is not None] if failed else []
        abandoned = 0 if failed else sum(req is not None for _, req in self._hw)
        backlog = len(self._backlog) + len(unsent)
        first = unsent[0] if unsent else (self._backlog[0] if self._backlog else None)
        if first is not None:
            api.tx_unfetch(first)
        if failed:
            api.log(f"quiesce: TX queue in error, {len(unsent)} frames handed back unsent")
        else:
            # Never completed by a VF that stopped answering: lost, but the stack
            # gets its buffers back so the ring stays in order for the next owner.
            for _, req in self._hw:
                if req is not None:
                    api.tx_complete(req)
        self._hw.clear()
        # Receive buffers the VF did not fill go back to the stack's ring, in order.
        api.rx_return([*self._rx_posted, *self._rx_waiting])
        self._backlog.clear()
        self._rx_posted.clear()
        self._rx_waiting.clear()
        if abandoned:
            api.log(f"quiesce: {abandoned} TX frames never completed by the VF")
        return QuiesceResult(abandoned, backlog, self.stats["tx_sent"])

    async def _interrupt(self) -> None:
        if not (self._stopped or self._quiescing):
            await self.reap()

    async def _push_tx(self) -> int:
        api, txq, _ = self._live()
        posted = 0
        while self._backlog and not self._quiescing:
            req = self._backlog[0]
            if req.length > MAX_FRAME_BYTES or len(req.frags) > MAX_TX_BUFS:
                self._backlog.popleft()
                big = req.length > MAX_FRAME_BYTES
                self.stats["tx_dropped_oversize" if big else "tx_dropped_too_many_bufs"] += 1
                api.tx_complete(req)  # the shell gets its buffers back
                continue
            if txq.ring.free_slots() < len(req.frags):
                break
            frame = txq.post_buffers(list(req.frags), vlan_tci=req.vlan_tci)
            self._backlog.popleft()
            self._hw.append((frame, req))
            posted += 1
        if posted:
            await txq.ring_doorbell()
        self.stats["tx_posted"] += posted
        return posted

    async def _push_rx(self) -> None:
        _, _, rxq = self._live()
        n = rxq.post_buffers([(b.gpa, b.length) for b in self._rx_waiting])
        for _ in range(n):
            buf = self._rx_waiting.popleft()
            self._rx_posted.append(buf)
        if n:
            await rxq.ring_doorbell()

    def _live(self) -> tuple[ShellApi, TxQueue, RxQueue]:
        if self._api is None or self._txq is None or self._rxq is None:
            raise PluginStateError("entry point called before init")
        if self._stopped:
            raise PluginStateError("entry point called after quiesce")
        return self._api, self._txq, self._rxq
