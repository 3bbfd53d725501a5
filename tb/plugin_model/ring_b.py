"""Vendor B's plugin: a VF that serves the shell's own vmxnet3 rings (ring format B, UPT).

Models the IHV plugin for this NIC's format-B VF (ARCHITECTURE §4b): the VF's
DMA engine reads vmxnet3 descriptors and writes vmxnet3 completions itself, as
VMware's Uniform Pass-Through VFs did, so the plugin translates nothing. It
points queue pair ``q`` of its VF at the shell's rings (TX, TX completion, RX
ring 1, RX ring 2, RX completion; guest-physical addresses, which the VF's
IOMMU domain maps onto the VM) and starts each ring where the emulated device
stopped (the §4c queue state: ``*_STATE``, the producers, then ``CTRL`` =
``ENABLE`` | ``RESUME``).
From then on:

- ``tx(prod)``: one write of ``TXPROD`` on the VF's UPT page;
- ``rx_refill(prod)``: one write of ``RXPROD``;
- ``reap()``: reads the completions the VF wrote into the shell's completion
  rings, only to learn how far it got, and tells the shell
  (``set_device_state``); the shell's own completion processing hands the
  frames to the stack;
- ``quiesce()``: no more doorbells, every frame given to the VF completed, the
  queues disabled and idle, their ``*_STATE`` read back and handed to the shell,
  so the emulated device (or the next plugin) resumes exactly there: no TX frame
  lost or sent twice, unused receive buffers back in order; it reports the frames
  the VF sent, which the hypervisor waits to see counted by the switch.

The register programming is :mod:`tb.vf_driver.upt_queues`' (identity check,
geometry, §4c restore and save), on the shell's rings instead of rings of its
own. It reaches nothing but the Shell API (tb/plugin_model/shell_api.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tb.plugin_model.image import PluginImage, vendor_image
from tb.plugin_model.plugin import (
    Plugin,
    PluginInitError,
    PluginStateError,
    QuiesceResult,
    ReapResult,
)
from tb.plugin_model.shell_api import DmaMemory, ShellApi
from tb.ref.regmap import (
    QSTATUS_CODE_MASK,
    QSTATUS_ERROR,
    RING_B_IDENTITY,
    RX_CPL_LOG2_MAX,
    QErr,
    upt_reg,
)
from tb.shell_model.rings import (
    DeviceState,
    RingConf,
    RingCursor,
    RingPoint,
    written_completions,
)
from tb.shell_model.vmxnet3_defs import DESC_BYTES, Bar0, RxCompDesc, TxCompDesc, TxDesc
from tb.vf_driver.queues import (
    RING_LOG2_MAX,
    RING_LOG2_MIN,
    QueueError,
    QueueStall,
    QueueState,
    RingPosition,
)
from tb.vf_driver.upt_queues import UptRxQueue, UptTxQueue, check_identity

RING_B_VENDOR_ID = RING_B_IDENTITY.vendor_id
RING_B_VF_DEVICE_ID = RING_B_IDENTITY.device_id
RING_B_PLUGIN_ID = "sriovnic-vf-b"


def ring_b_image(plugin_id: str = RING_B_PLUGIN_ID, abi_minor: int | None = None) -> PluginImage:
    """The image vendor B ships for its VF: ids, the five entry points, a payload."""
    return vendor_image(RING_B_VENDOR_ID, RING_B_VF_DEVICE_ID, plugin_id, 11, abi_minor)


def _log2_size(size: int, what: str, lo: int, hi: int) -> int:
    log2 = size.bit_length() - 1
    if size <= 0 or size & (size - 1) or not lo <= log2 <= hi:
        raise PluginInitError(
            f"{what} of {size} entries: a format-B VF takes powers of two 2**{lo}..2**{hi}"
        )
    return log2


@dataclass(frozen=True)
class RingBGeometry:
    """The shell's rings as a format-B queue pair takes them (§4b): every ring a power of
    two, the TX completion ring as long as the TX ring, RX ring 2 present, and the RX
    completion ring holding a completion for every buffer of both RX rings."""

    tx_log2: int
    rx_log2: int
    rx2_log2: int
    cpl_log2: int

    @classmethod
    def of(cls, conf: RingConf) -> RingBGeometry:
        ring = (RING_LOG2_MIN, RING_LOG2_MAX)
        tx = _log2_size(conf.tx_size, "TX ring", *ring)
        if conf.tx_comp_size != conf.tx_size:
            raise PluginInitError(
                f"TX completion ring of {conf.tx_comp_size} entries: the VF writes one of "
                f"{conf.tx_size}, the TX ring's size"
            )
        rx = _log2_size(conf.rx_size, "RX ring 1", *ring)
        if not conf.rx2_size:
            raise PluginInitError("the shell published no RX ring 2: the VF needs one")
        rx2 = _log2_size(conf.rx2_size, "RX ring 2", *ring)
        cpl = _log2_size(conf.rx_comp_size, "RX completion ring", RING_LOG2_MIN, RX_CPL_LOG2_MAX)
        if conf.rx_comp_size < conf.rx_size + conf.rx2_size:
            raise PluginInitError(
                f"RX completion ring of {conf.rx_comp_size} entries cannot take one for each "
                f"of the {conf.rx_size} + {conf.rx2_size} buffers of both RX rings"
            )
        return cls(tx, rx, rx2, cpl)


class HwProgress:
    """How far the VF got on the shell's rings, read from the completions it wrote there.

    Each TX completion names the EOP descriptor of a frame: the VF's next descriptor
    is the one after it. Each RX completion names a buffer of ring 1 (``rqID`` = q)
    or ring 2 (``rqID`` = q + the VF's queue pairs): the next buffer not used on that
    ring is the one after it. Nothing is translated; the shell reaps its own rings.
    """

    def __init__(self, mem: DmaMemory, conf: RingConf, q: int, num_queues: int) -> None:
        self.mem = mem
        self.conf = conf
        self.q = q
        self.num_queues = num_queues
        self.state: DeviceState | None = None
        self._tx_comp = RingCursor(conf.tx_comp, conf.tx_comp_size)
        self._rx_comp = RingCursor(conf.rx_comp, conf.rx_comp_size)

    def start(self, state: DeviceState) -> None:
        """The VF starts at ``state`` (the emulated device's positions)."""
        self.state = state
        self._tx_comp.move_to(state.tx_comp)
        self._rx_comp.move_to(state.rx_comp)

    def scan(self) -> tuple[int, int]:
        """Read the completions written since the last scan; returns (TX frames, RX frames)."""
        st = self.state
        if st is None:
            raise PluginStateError("progress scanned before the VF started")
        tx = st.tx
        txs = written_completions(self.mem, self._tx_comp)
        for raw in txs:
            tx = tx.after(TxCompDesc.unpack(raw).txd_idx, self.conf.tx_size)
        rx, rx2, frames = st.rx, st.rx2, 0
        for raw in written_completions(self.mem, self._rx_comp):
            cpl = RxCompDesc.unpack(raw)
            if cpl.rq_id == self.q:
                rx = rx.after(cpl.rxd_idx, self.conf.rx_size)
            elif cpl.rq_id == self.q + self.num_queues:
                rx2 = rx2.after(cpl.rxd_idx, self.conf.rx2_size)
            else:
                raise QueueError(f"RX completion for rqID {cpl.rq_id}, queue pair {self.q}")
            frames += cpl.eop
        self.state = DeviceState(tx, self._tx_comp.point, rx, self._rx_comp.point, rx2)
        return len(txs), frames


def _same(saved: RingPosition, seen: RingPoint, reg: str) -> None:
    if (saved.index, saved.gen) != (seen.index, seen.gen):
        raise QueueError(f"{reg} reads {saved}, the VF's completions in memory end at {seen}")


def _ahead(saved: RingPosition, seen: RingPoint, size: int, ring: str) -> int:
    """How many entries the saved position is past ``seen`` (less than a lap); a saved
    position behind it is refused."""
    dist = (saved.index - seen.index) % size
    if dist == 0 and saved.gen == seen.gen:
        return 0
    if dist == 0 or saved.gen != seen.gen ^ int(saved.index < seen.index):
        raise QueueError(f"{ring} state {saved} is behind its last completion (next {seen})")
    return dist


class RingBPlugin(Plugin):
    """Hands one vmxnet3 queue pair of the shell to queue pair ``q`` of a format-B VF."""

    def __init__(self, *, q: int = 0) -> None:
        self.q = q
        self._api: ShellApi | None = None
        self._txq: UptTxQueue | None = None
        self._rxq: UptRxQueue | None = None
        self._progress: HwProgress | None = None
        self._tx_prod = 0  # what TXPROD holds
        self._rx_prod = 0  # what RXPROD holds
        self._tx_latest = 0  # the shell's latest TX producer (kept while quiescing)
        self._stopped = False
        self._quiescing = False
        self.stats: Counter[str] = Counter()

    # -- init --------------------------------------------------------------------------

    async def init(self, api: ShellApi) -> None:
        """Point the VF's queue pair at the shell's rings and resume them (§4c)."""
        if self._api is not None:
            raise PluginStateError("init called twice")
        conf = api.ring_conf
        geo = RingBGeometry.of(conf)
        if conf.rx_qid != self.q:
            raise PluginInitError(
                f"the shell's RX queue is {conf.rx_qid}: the VF's queue pair {self.q} "
                f"writes completions for rqID {self.q}"
            )
        try:
            num_queues = await check_identity(api.vf)  # type: ignore[arg-type]
        except QueueError as exc:
            raise PluginInitError(str(exc)) from None
        if self.q >= num_queues:
            raise PluginInitError(f"the VF has {num_queues} queue pairs, no queue pair {self.q}")
        bar, mem = api.vf, api.dma
        txq = UptTxQueue(bar, mem, self.q, geo.tx_log2)  # type: ignore[arg-type]
        rxq = UptRxQueue(
            bar,  # type: ignore[arg-type]
            mem,  # type: ignore[arg-type]
            self.q,
            geo.rx_log2,
            ring2_log2=geo.rx2_log2,
            cpl_log2=geo.cpl_log2,
            num_queues=num_queues,
        )
        # The shell's rings, in guest-physical addresses: the VF's IOMMU domain maps them.
        txq.ring.desc_base, txq.ring.cpl_base = conf.tx_ring, conf.tx_comp
        rxq.ring.desc_base, rxq.ring.cpl_base = conf.rx_ring, conf.rx_comp
        rxq.ring2.desc_base = conf.rx2_ring
        start = api.device_state()
        progress = HwProgress(mem, conf, self.q, num_queues)
        progress.start(start)
        tx_state, rx_state = self._queue_state(start, rx=False), self._queue_state(start, rx=True)
        # §4c: the producers go in before ENABLE | RESUME (a queue enabled at a resumed
        # index with PROD 0 would fetch what the shell never handed over)
        await txq.restore_state(tx_state)
        await rxq.restore_state(rx_state)
        for vector in (2 * self.q, 2 * self.q + 1):  # vmxnet3's IMR: 0 = interrupt on
            await bar.write(upt_reg(Bar0.IMR, vector), 0)
        # A quiesce sleeps on writes to the shell's TX completion ring.
        tx_cpl_end = conf.tx_comp + conf.tx_comp_size * DESC_BYTES
        txq.ring.cpl_watch = mem.watch(conf.tx_comp, tx_cpl_end)
        self._txq, self._rxq, self._progress, self._api = txq, rxq, progress, api
        self._tx_prod = self._tx_latest = start.tx.index
        self._rx_prod = start.rx.index
        api.register_irq(self._interrupt)
        api.log(
            f"ring-B plugin up on function {bar.func} queue {self.q}: TX from descriptor "
            f"{start.tx.index} (gen {start.tx.gen}), RX from buffer {start.rx.index} "
            f"(gen {start.rx.gen})"
        )

    @staticmethod
    def _queue_state(st: DeviceState, *, rx: bool) -> QueueState:
        """The §4c state to restore: the device end's positions, and a producer equal to
        the next descriptor (nothing handed over yet: the shell's doorbells follow)."""

        def pos(p: RingPoint) -> RingPosition:
            return RingPosition(p.index, p.gen)

        if not rx:
            return QueueState(st.tx.index, pos(st.tx), pos(st.tx_comp))
        return QueueState(st.rx.index, pos(st.rx), pos(st.rx_comp), st.rx2.index, pos(st.rx2))

    # -- doorbells ---------------------------------------------------------------------

    async def tx(self, prod: int) -> int:
        """TXPROD: the VF takes the descriptors up to ``prod`` itself; returns how many
        descriptors this doorbell handed over."""
        api, txq, _ = self._live()
        self._tx_latest = prod
        if self._quiescing:  # new frames stay on the shell's ring for the next owner
            return 0
        n = (prod - self._tx_prod) & txq.ring.mask
        if n:
            self._tx_prod = prod  # before the write: a quiesce meanwhile drains up to it
            await api.vf.write(txq.ring.doorbell_addr(), prod)
            self.stats["tx_doorbells"] += 1
        return n

    async def rx_refill(self, prod: int) -> int:
        """RXPROD: the VF takes the buffers up to ``prod``; returns how many were new."""
        api, _, rxq = self._live()
        if self._quiescing:  # new buffers stay on the shell's ring for the next owner
            return 0
        n = (prod - self._rx_prod) & rxq.ring.mask
        if n:
            self._rx_prod = prod
            await api.vf.write(rxq.ring.doorbell_addr(), prod)
            self.stats["rx_doorbells"] += 1
        return n

    # -- completions -------------------------------------------------------------------

    async def reap(self) -> ReapResult:
        """Tell the shell how far the VF got (its completions are already in the shell's
        rings): TX frames and RX frames completed since the last reap."""
        self._live()
        return self._advance()

    def _advance(self) -> ReapResult:
        api, progress = self._api, self._progress
        assert api is not None and progress is not None
        tx, rx = progress.scan()
        if tx or rx:
            assert progress.state is not None
            api.set_device_state(progress.state)
        self.stats["tx_completed"] += tx
        self.stats["rx_delivered"] += rx
        return ReapResult(tx, rx, 0)

    async def _interrupt(self) -> None:
        if not (self._stopped or self._quiescing):
            await self.reap()

    # -- quiesce -----------------------------------------------------------------------

    async def quiesce(self) -> QuiesceResult:
        """Stop the VF with nothing lost or sent twice and hand the rings back.

        No more doorbells; every frame up to the last TXPROD completed (CONS = PROD,
        not BUSY); both queues disabled and idle; their ``*_STATE`` read and checked
        against the completions in memory, and the positions handed to the shell. A
        frame the VF took but never completed (its queue stopped in error, or the VF
        stopped answering) was not sent: the next owner sends it.
        """
        api, txq, rxq = self._live()
        self._quiescing = True
        await self._drain_tx(txq)
        # A frame whose buffer read failed has a completion but was not sent (§4b).
        read_failed = (await txq.status()) & (QSTATUS_ERROR | QSTATUS_CODE_MASK)
        tx_state = await self._save(txq, "TX")
        rx_state = await self._save(rxq, "RX")
        self._advance()  # completions written until the queues went idle
        back = self._reconcile(tx_state, rx_state)
        api.set_device_state(back)
        await txq.close()  # already disabled; ends the completion watch and its watchdog
        self._stopped = True
        backlog = self._frames_between(back.tx, self._tx_latest)
        api.log(
            f"ring-B plugin quiesced: TX resumes at descriptor {back.tx.index} "
            f"({backlog} frames not sent), RX at buffer {back.rx.index}"
        )
        sent = self.stats["tx_completed"] - int(read_failed == QSTATUS_ERROR | QErr.BUS_READ)
        return QuiesceResult(0, backlog, sent)

    async def _drain_tx(self, txq: UptTxQueue) -> None:
        """Until the VF completed every frame up to the last TXPROD, then not BUSY.

        Sleeps on writes to the shell's TX completion ring. Stops early when the queue
        is in its error state (it takes nothing more) or when the ring's watchdog finds
        no completion for ``stall_cycles`` (the VF stopped answering).
        """
        api, progress = self._api, self._progress
        assert api is not None and progress is not None
        while True:
            self._advance()
            assert progress.state is not None
            left = (self._tx_prod - progress.state.tx.index) & txq.ring.mask
            if not left:
                break
            status = await txq.status()
            if status & QSTATUS_ERROR:
                api.log(f"quiesce: TX queue in error (TXQ_STATUS {status:#010x})")
                self.stats["tx_error_at_quiesce"] += 1
                break
            self.stats["tx_drain_waits"] += 1
            try:
                await txq.ring.wait_completion_write(f"{left} TX descriptors to drain")
            except QueueStall as stall:
                api.log(f"quiesce: {stall}")
                self.stats["tx_drain_stalled"] += 1
                return
        try:
            await txq.ring.wait_idle()
        except QueueStall as stall:
            api.log(f"quiesce: {stall}")
            self.stats["queue_not_idle"] += 1

    async def _save(self, queue: UptTxQueue | UptRxQueue, what: str) -> QueueState | None:
        """§4c save (disable, wait not BUSY, read ``*_STATE``); None if BUSY never fell."""
        try:
            return await queue.save_state()
        except QueueStall as stall:
            assert self._api is not None
            self._api.log(f"quiesce: {what} queue did not go idle: {stall}")
            self.stats["queue_not_idle"] += 1
            return None

    def _reconcile(self, tx: QueueState | None, rx: QueueState | None) -> DeviceState:
        """Where the next owner resumes: after the last completion on every ring.

        Once the VF drained, its saved ``*_STATE`` says exactly that. Where a saved
        descriptor position is ahead, the VF took descriptors it never completed (a TX
        frame not sent: its queue stopped in error; RX buffers of a frame the disable
        cut short): they go back to the ring, counted. A completion state that differs
        from the completions in memory, or a position behind them, is a VF fault.
        """
        got = self._progress.state if self._progress else None
        assert got is not None
        conf = self.conf
        if tx is not None:
            _same(tx.cpl, got.tx_comp, "TXQ_CPL_STATE")
            self.stats["tx_taken_not_completed"] += _ahead(tx.desc, got.tx, conf.tx_size, "TX")
        if rx is not None:
            _same(rx.cpl, got.rx_comp, "RXQ_CPL_STATE")
            self.stats["rx_taken_not_completed"] += _ahead(rx.desc, got.rx, conf.rx_size, "RX")
            if rx.desc2 is not None:
                self.stats["rx_taken_not_completed"] += _ahead(
                    rx.desc2, got.rx2, conf.rx2_size, "RX2"
                )
        return got

    @property
    def conf(self) -> RingConf:
        if self._api is None:
            raise PluginStateError("no rings before init")
        return self._api.ring_conf

    def _frames_between(self, start: RingPoint, prod: int) -> int:
        """Whole frames on the shell's TX ring from ``start`` up to ``prod``."""
        api = self._api
        assert api is not None
        conf = api.ring_conf
        cur = RingCursor(conf.tx_ring, conf.tx_size, start.index, start.gen)
        frames = 0
        while cur.index != prod:
            frames += TxDesc.unpack(api.dma.read(cur.addr(), DESC_BYTES)).eop
            cur.advance()
        return frames

    # -- state -------------------------------------------------------------------------

    def _live(self) -> tuple[ShellApi, UptTxQueue, UptRxQueue]:
        if self._api is None or self._txq is None or self._rxq is None:
            raise PluginStateError("entry point called before init")
        if self._stopped:
            raise PluginStateError("entry point called after quiesce")
        return self._api, self._txq, self._rxq


__all__ = [
    "RING_B_PLUGIN_ID",
    "RING_B_VENDOR_ID",
    "RING_B_VF_DEVICE_ID",
    "HwProgress",
    "RingBGeometry",
    "RingBPlugin",
    "ring_b_image",
]
