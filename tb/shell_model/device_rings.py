"""The device end of the shell's vmxnet3 rings: what any backend does to serve them.

Models the device side of the paravirtual data path, shared by the two
backends the design has: the hypervisor's emulated vmxnet3 device and an NPA
plugin driving a VF. It fetches TX frames up to the shell's TXPROD (checking
each descriptor's gen bit, so a descriptor the shell has not handed over is
refused), writes TX completions, takes posted RX buffers whose gen says they
are the device's, and delivers received frames into them with one RX
completion per buffer (SOP on the first, EOP on the last).

When a backend that serves the rings itself takes them over (a format-B VF,
whose hardware reads the descriptors and writes the completions),
:meth:`Vmxnet3DeviceRings.device_state` says where the device end stands and
:meth:`Vmxnet3DeviceRings.set_device_state` moves it to where that backend got,
so the next owner resumes exactly there. Ring 2 is not served here (the shell
posts nothing there); its cursor only carries a position from one owner to the
next.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import NoReturn

from tb.shell_model.rings import (
    DeviceState,
    GuestMemoryLike,
    RingConf,
    RingCursor,
    RingPoint,
    written_completions,
)
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    MAX_TXD_PER_PKT,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
    Vmxnet3FormatError,
    desc_gen,
)


class DeviceRingError(RuntimeError):
    """Base of what the device side refuses in the shell's rings."""

    reason = "error"


class DescriptorOwnershipError(DeviceRingError):
    """A descriptor below TXPROD still carries the previous lap's gen."""

    reason = "not_owned"


class MissingEopError(DeviceRingError):
    """A frame spans more descriptors than allowed, or TXPROD cuts it before its EOP."""

    reason = "no_eop"


class DoorbellError(DeviceRingError):
    reason = "bad_doorbell"


class BadDescriptorError(DeviceRingError):
    """A posted descriptor that does not decode (e.g. an RX buffer of length 0)."""

    reason = "bad_descriptor"


@dataclass(frozen=True)
class TxRequest:
    """One frame the shell asked to send: its buffers in guest-physical addresses."""

    frags: tuple[tuple[int, int], ...]  # (gpa, length)
    sop_idx: int
    eop_idx: int
    vlan_tci: int | None

    @property
    def length(self) -> int:
        return sum(n for _, n in self.frags)


@dataclass(frozen=True)
class RxBuffer:
    """One receive buffer the shell posted."""

    idx: int
    gpa: int
    length: int


class Vmxnet3DeviceRings:
    """Device-side cursors over one queue pair of shell rings."""

    def __init__(self, mem: GuestMemoryLike, conf: RingConf) -> None:
        self.mem = mem
        self.conf = conf
        self._tx = RingCursor(conf.tx_ring, conf.tx_size)
        self._tx_comp = RingCursor(conf.tx_comp, conf.tx_comp_size)
        self._rx = RingCursor(conf.rx_ring, conf.rx_size)
        self._rx_comp = RingCursor(conf.rx_comp, conf.rx_comp_size)
        self._rx2 = RingCursor(conf.rx2_ring, conf.rx2_size)
        self._rx_avail: deque[RxBuffer] = deque()
        self._tx_fetched: list[TxRequest] = []
        # What a backend took and has not finished, for :meth:`reclaim`: TX frames
        # fetched and neither completed nor given back (by SOP index, in fetch order),
        # RX buffers claimed and neither filled nor given back (by index, in ring order).
        self._tx_held: dict[int, TxRequest] = {}
        self._rx_held: dict[int, RxBuffer] = {}
        self.errors: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()

    # -- TX --------------------------------------------------------------------------------

    @property
    def tx_next(self) -> int:
        """The next TX descriptor the device will read; ``fetch_tx(tx_next)`` after a refusal
        returns the whole frames fetched before the refused descriptor."""
        return self._tx.index

    def fetch_tx(self, prod: int) -> list[TxRequest]:
        """Whole frames in descriptors ``[next, prod)``; a partial frame at the end waits."""
        if not 0 <= prod < self._tx.size:
            self._refuse(DoorbellError(f"TXPROD {prod} outside ring of {self._tx.size}"))
        frames = self._tx_fetched  # survives a refusal: the next call returns them
        scan = RingCursor(self._tx.base, self._tx.size, self._tx.index, self._tx.gen)
        frags: list[tuple[int, int]] = []
        sop: TxDesc | None = None
        sop_idx = scan.index
        while scan.index != prod:
            desc = TxDesc.unpack(self.mem.read(scan.addr(), DESC_BYTES))
            if desc.gen != scan.gen:
                self._refuse(
                    DescriptorOwnershipError(
                        f"TX descriptor {scan.index} has gen {desc.gen}, device expects "
                        f"{scan.gen}: below TXPROD {prod} but not handed over"
                    )
                )
            if sop is None:
                sop, sop_idx = desc, scan.index
            frags.append((desc.addr, desc.length))
            if len(frags) > MAX_TXD_PER_PKT:
                self._refuse(
                    MissingEopError(
                        f"frame at descriptor {sop_idx} has no EOP within {MAX_TXD_PER_PKT}"
                    )
                )
            eop_idx = scan.index
            scan.advance()
            if desc.eop:
                frames.append(
                    TxRequest(tuple(frags), sop_idx, eop_idx, sop.tci if sop.ti else None)
                )
                self._tx.index, self._tx.gen = scan.index, scan.gen
                frags, sop = [], None
        self._tx_fetched = []
        self.stats["tx_fetched"] += len(frames)
        self._tx_held.update((f.sop_idx, f) for f in frames)
        return frames

    def unfetch_tx(self, req: TxRequest) -> None:
        """Give back ``req`` and every frame fetched after it: the next fetch starts at its SOP.

        For a device handing the rings to another (plugin quiesced, back to the
        emulated device): frames it fetched but never sent are sent by the next
        owner, not lost.
        """
        # A fetched frame holds at least one slot and the ring never all of
        # them, so its SOP differs from the cursor; past the cursor = last lap.
        if req.sop_idx > self._tx.index:
            self._tx.gen ^= 1
        self._tx.index = req.sop_idx
        self._tx_fetched = []
        held = list(self._tx_held)
        for sop in held[held.index(req.sop_idx) :] if req.sop_idx in self._tx_held else ():
            del self._tx_held[sop]
        self.stats["tx_unfetched"] += 1

    def read_frame(self, req: TxRequest) -> bytes:
        return b"".join(self.mem.read(gpa, n) for gpa, n in req.frags)

    def complete_tx(self, req: TxRequest) -> None:
        """Write the TX completion for ``req`` (its EOP index) with the completion ring's gen."""
        cpl = TxCompDesc(txd_idx=req.eop_idx, gen=self._tx_comp.gen)
        self.mem.write(self._tx_comp.addr(), cpl.pack())
        self._tx_comp.advance()
        self._tx_held.pop(req.sop_idx, None)
        self.stats["tx_completed"] += 1

    # -- RX --------------------------------------------------------------------------------

    def take_rx_buffers(self) -> int:
        """Collect every posted buffer whose gen says it is the device's; returns the count."""
        n = 0
        while len(self._rx_avail) < self._rx.size - 1:
            raw = self.mem.read(self._rx.addr(), DESC_BYTES)
            if desc_gen(raw, 2) != self._rx.gen:
                break
            try:
                desc = RxDesc.unpack(raw)
            except Vmxnet3FormatError as exc:
                self._refuse(BadDescriptorError(f"RX descriptor {self._rx.index}: {exc}"))
            self._rx_avail.append(RxBuffer(self._rx.index, desc.addr, desc.length))
            self._rx.advance()
            n += 1
        return n

    @property
    def rx_buffers(self) -> int:
        return len(self._rx_avail)

    def claim_rx_buffers(self) -> list[RxBuffer]:
        """Every posted buffer, handed to a device that fills them in place (oldest first).

        The caller owns them until it returns each through :meth:`complete_rx`.
        """
        self.take_rx_buffers()
        bufs = list(self._rx_avail)
        self._rx_avail.clear()
        self._rx_held.update((b.idx, b) for b in bufs)
        return bufs

    def return_rx_buffers(self, bufs: list[RxBuffer]) -> None:
        """Put claimed, unfilled buffers back in front, oldest first, for the next owner."""
        for b in bufs:
            self._rx_held.pop(b.idx, None)
        self._rx_avail.extendleft(reversed(bufs))

    def deliver_rx(self, frame: bytes, *, vlan_tci: int | None = None, err: bool = False) -> bool:
        """Write ``frame`` across posted buffers with one completion each; False = no room."""
        self.take_rx_buffers()
        need: list[RxBuffer] = []
        left = len(frame)
        for buf in self._rx_avail:
            if left <= 0:
                break
            need.append(buf)
            left -= buf.length
        if left > 0 or not frame:
            self.stats["rx_no_buffer"] += 1
            return False
        pos = 0
        for buf in need:
            self._rx_avail.popleft()
            chunk = frame[pos : pos + buf.length]
            self.mem.write(buf.gpa, chunk)
            pos += len(chunk)
        self.complete_rx(need, len(frame), vlan_tci=vlan_tci, err=err)
        return True

    def complete_rx(
        self,
        bufs: list[RxBuffer],
        length: int,
        *,
        vlan_tci: int | None = None,
        err: bool = False,
    ) -> None:
        """Write the completions of a frame of ``length`` bytes that fills ``bufs`` in order."""
        left = length
        for k, buf in enumerate(bufs):
            self._rx_held.pop(buf.idx, None)
            chunk = min(left, buf.length)
            left -= chunk
            cpl = RxCompDesc(
                rxd_idx=buf.idx,
                length=chunk,
                gen=self._rx_comp.gen,
                sop=k == 0,
                eop=k == len(bufs) - 1,
                rq_id=self.conf.rx_qid,
                err=err,
                ts=vlan_tci is not None,
                tci=vlan_tci or 0,
            )
            self.mem.write(self._rx_comp.addr(), cpl.pack())
            self._rx_comp.advance()
        self.stats["rx_delivered"] += 1

    # -- hand-over to and from a backend serving the rings itself ---------------------------

    def device_state(self) -> DeviceState:
        """Where the device end stands, for a backend that takes the rings over.

        Buffers taken but not used go back to the ring (the position is the first
        of them) and half-fetched TX frames are forgotten: the next owner reads
        those descriptors again.
        """
        if self._rx_avail:
            first = self._rx_avail[0]
            # Taken buffers never hold the whole ring: past the cursor = last lap.
            gen = self._rx.gen ^ int(first.idx > self._rx.index)
            self._rx.move_to(RingPoint(first.idx, gen))
            self._rx_avail.clear()
        self._tx_fetched = []
        tx, rx = (self._tx.point, self._tx_comp.point), (self._rx.point, self._rx_comp.point)
        return DeviceState(*tx, *rx, self._rx2.point)

    def set_device_state(self, state: DeviceState) -> None:
        """The backend serving the rings got to ``state``: the device end stands there."""
        self._tx.move_to(state.tx)
        self._tx_comp.move_to(state.tx_comp)
        self._rx.move_to(state.rx)
        self._rx_comp.move_to(state.rx_comp)
        if self._rx2.size:
            self._rx2.move_to(state.rx2)
        self._rx_avail.clear()
        self._tx_fetched = []
        self._tx_held.clear()
        self._rx_held.clear()
        self.stats["state_updates"] += 1

    def reclaim(self, vf_tx_prod: int | None = None) -> list[TxRequest]:
        """Take back what a backend held when it stopped without handing the rings back.

        For a backend whose quiesce failed and whose VF was then reset, so that it
        writes nothing more. TX frames it fetched and never completed are completed
        here, unsent: whether its VF sent them before the reset is unknown, so they
        are not sent again (the guest frees them as after a vmxnet3 device reset; the
        caller counts them). Receive buffers it claimed and never filled go back in
        front of the available ones, in ring order, for the next owner.

        ``vf_tx_prod``: the backend's VF served these rings itself (ring format B) and
        may have read TX descriptors up to that TXPROD. The device end first moves over
        the completions that VF wrote here (:meth:`catch_up`: those frames it sent,
        those buffers it filled); the frames from there up to ``vf_tx_prod`` are then
        completed unsent like the fetched ones above. Returns the TX frames completed
        unsent.
        """
        lost = list(self._tx_held.values())
        for req in lost:
            self.complete_tx(req)
        if vf_tx_prod is not None:
            self.catch_up()
            unconfirmed = self.fetch_tx(vf_tx_prod)
            for req in unconfirmed:
                self.complete_tx(req)
            lost += unconfirmed
        bufs = list(self._rx_held.values())
        self._rx_held.clear()
        self._rx_avail.extendleft(reversed(bufs))
        self._tx_fetched = []
        self.stats["tx_reclaimed"] += len(lost)
        self.stats["rx_reclaimed"] += len(bufs)
        return lost

    def catch_up(self) -> None:
        """Move the device end over the completions a VF serving these rings wrote since
        it last said where it got (:meth:`set_device_state`): each TX completion names
        the EOP of a frame it sent, each RX completion a buffer it used (ring 1 for this
        queue's ``rx_qid``, ring 2 for any other: the shell posts on those two only)."""
        tx = self._tx.point
        for raw in written_completions(self.mem, self._tx_comp):
            tx = tx.after(TxCompDesc.unpack(raw).txd_idx, self._tx.size)
        rx, rx2 = self._rx.point, self._rx2.point
        for raw in written_completions(self.mem, self._rx_comp):
            cpl = RxCompDesc.unpack(raw)
            if cpl.rq_id == self.conf.rx_qid:
                rx = rx.after(cpl.rxd_idx, self._rx.size)
            elif self._rx2.size:
                rx2 = rx2.after(cpl.rxd_idx, self._rx2.size)
        self._tx.move_to(tx)
        self._rx.move_to(rx)
        if self._rx2.size:
            self._rx2.move_to(rx2)
        self._rx_avail.clear()
        self.stats["caught_up"] += 1

    def _refuse(self, error: DeviceRingError) -> NoReturn:
        self.errors[error.reason] += 1
        raise error
