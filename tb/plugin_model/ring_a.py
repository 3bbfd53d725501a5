"""The plugin for this NIC's VF (ring format A): vmxnet3 shell rings served by a VF queue pair.

Models the IHV plugin a vendor would ship for the SR-IOV NIC in rtl/: it
translates the shell's vmxnet3 requests into format-A ring operations on the
VF (tb/ref/layouts.py, through tb/vf_driver's TxQueue/RxQueue on the VF's own
register space), and the VF's completions back into vmxnet3 completions.
All addresses it programs are guest-physical: the hypervisor's IOMMU domain
for the VF maps exactly the VM's memory, so the VF can reach nothing else.

TX copies each frame from the shell's buffers into the VF queue's buffers
(up to ``MAX_FRAME_BYTES``; a larger frame is dropped, counted, and still
completed to the shell so it gets its buffer back). RX frames land in the VF
queue's buffers and are copied into the shell's posted buffers.
"""

from __future__ import annotations

from collections import Counter, deque

from tb.host.mmio import FunctionBar
from tb.plugin_model.plugin import Plugin, PluginStateError, QuiesceResult, ReapResult
from tb.shell_model.device_rings import TxRequest, Vmxnet3DeviceRings
from tb.shell_model.rings import GuestMemoryLike, RingConf
from tb.vf_driver.queues import QueueError, RxQueue, TxFrame, TxQueue

MAX_FRAME_BYTES = 9216
RING_A_VENDOR_ID = 0x5A00  # the model NIC's identity: PF_ID block id (tb/ref/regmap.py)
RING_A_VF_DEVICE_ID = 0x5A01  # FUNC_ID block id, what every VF reports
RING_A_PLUGIN_ID = "sriovnic-vf-a"


class RingAPlugin(Plugin):
    """Serves one vmxnet3 queue pair with queue pair ``q`` of a ring-format-A VF."""

    def __init__(
        self, bar: FunctionBar, *, q: int = 0, size_log2: int = 8, rx_buf_len: int = 2048
    ) -> None:
        self.bar = bar
        self.q = q
        self.size_log2 = size_log2
        self.rx_buf_len = rx_buf_len
        self._dev: Vmxnet3DeviceRings | None = None
        self._txq: TxQueue | None = None
        self._rxq: RxQueue | None = None
        self._hw: deque[tuple[TxFrame, TxRequest]] = deque()  # on the VF ring, in order
        self._backlog: deque[TxRequest] = deque()  # fetched, waiting for VF ring room
        self._stopped = False
        self.stats: Counter[str] = Counter()

    async def init(self, mem: GuestMemoryLike, conf: RingConf) -> None:
        if self._dev is not None:
            raise PluginStateError("init called twice")
        txq = TxQueue(self.bar, mem, self.q, self.size_log2)  # type: ignore[arg-type]
        rxq = RxQueue(self.bar, mem, self.q, self.size_log2, self.rx_buf_len)  # type: ignore[arg-type]
        await txq.open()
        await rxq.open()
        self._txq, self._rxq = txq, rxq
        self._dev = Vmxnet3DeviceRings(mem, conf)

    async def tx(self, prod: int) -> int:
        dev, _, _ = self._live()
        self._backlog.extend(dev.fetch_tx(prod))
        return await self._push_tx()

    async def rx_refill(self, prod: int) -> int:
        dev, _, _ = self._live()
        return dev.take_rx_buffers()

    async def reap(self) -> ReapResult:
        dev, txq, rxq = self._live()
        tx_done = 0
        for frame in txq.reap():
            hw_frame, req = self._hw.popleft()
            if hw_frame is not frame:
                raise QueueError("VF TX completions out of order with the plugin's record")
            if frame.completion is not None and frame.completion.status:
                self.stats["tx_hw_errors"] += 1
            dev.complete_tx(req)
            tx_done += 1
        await self._push_tx()
        delivered = dropped = 0
        frames = rxq.reap()
        for f in frames:
            tci = f.completion.vlan_tci if f.completion.vlan_stripped else None
            if dev.deliver_rx(f.data, vlan_tci=tci, err=f.completion.status != 0):
                delivered += 1
            else:
                dropped += 1
        if frames:
            await rxq.refill()
        self.stats["tx_completed"] += tx_done
        self.stats["rx_delivered"] += delivered
        self.stats["rx_dropped_no_shell_buffer"] += dropped
        return ReapResult(tx_done, delivered, dropped)

    async def quiesce(self) -> QuiesceResult:
        _, txq, rxq = self._live()
        await txq.close()
        await rxq.close()
        self._stopped = True
        return QuiesceResult(len(self._hw), len(self._backlog))

    async def _push_tx(self) -> int:
        dev, txq, _ = self._live()
        posted = 0
        while self._backlog and txq.ring.free_slots() > 0:
            req = self._backlog[0]
            if req.length > MAX_FRAME_BYTES:
                self._backlog.popleft()
                self.stats["tx_dropped_oversize"] += 1
                dev.complete_tx(req)  # the shell gets its buffer back
                continue
            frame = txq.post(dev.read_frame(req), vlan_tci=req.vlan_tci)
            self._backlog.popleft()
            self._hw.append((frame, req))
            posted += 1
        if posted:
            await txq.ring_doorbell()
        self.stats["tx_posted"] += posted
        return posted

    def _live(self) -> tuple[Vmxnet3DeviceRings, TxQueue, RxQueue]:
        if self._dev is None or self._txq is None or self._rxq is None:
            raise PluginStateError("entry point called before init")
        if self._stopped:
            raise PluginStateError("entry point called after quiesce")
        return self._dev, self._txq, self._rxq
