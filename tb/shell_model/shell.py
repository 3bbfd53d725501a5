"""The guest's vmxnet3 shell: the driver side of the paravirtual TX/RX rings.

Models what the guest's vmxnet3 driver (the NPA "Shell") does with its
rings, whichever backend serves them: it allocates the TX, TX-completion, RX
ring 1, RX ring 2 and RX-completion rings in guest-physical memory, posts
frames and receive buffers with the generation handling of Linux's vmxnet3
driver, and reaps completions.

RX rings as Linux's vmxnet3 lays them out: ring 1 for head buffers, ring 2 for
body buffers, one completion ring of ring 1 + ring 2 entries. The shell posts
its buffers in ring 1 only, one per frame of up to ``rx_buf_len`` bytes (the
emulated device serves ring 1 alone, and spans a longer frame over several
ring-1 buffers); ring 2 stays empty, published so that a device serving
vmxnet3's rings in hardware (a format-B VF, docs/NPA.md) gets the geometry it
requires. Receive buffers are 64-byte aligned and a multiple of 64 bytes long,
as such a device writes whole 64-byte beats (ARCHITECTURE §4b).

On TX the SOP descriptor is first written with the inverted generation and
flipped last, so a backend never sees half a frame. A
completion is the driver's when its gen equals the ring's expected gen;
anything else (a stale entry from the previous lap) is left alone.

Doorbells are not rung here: :attr:`Vmxnet3Shell.tx_prod` and
:attr:`Vmxnet3Shell.rx_prod` are the values for BAR0 TXPROD/RXPROD, which the
mode that owns the shell (emulated or plugin) delivers to its backend.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import NoReturn

from tb.shell_model.rings import GuestMemoryLike, RingConf, RingCursor
from tb.shell_model.vmxnet3_defs import (
    DESC_BYTES,
    MAX_RX_BUF_SIZE,
    MAX_TX_BUF_SIZE,
    MAX_TXD_PER_PKT,
    MIN_T0_BUF_SIZE,
    RING_BA_ALIGN,
    RingKind,
    RxCompDesc,
    RxDesc,
    TxCompDesc,
    TxDesc,
    Vmxnet3FormatError,
    check_ring,
    desc_gen,
)

RX_BUF_ALIGN = 64  # receive buffers: start and length on 64-byte boundaries (§4b)


class ShellError(RuntimeError):
    """Base of the shell's refusals."""

    reason = "error"


class RingFullError(ShellError):
    reason = "ring_full"


class FrameSizeError(ShellError):
    reason = "frame_size"


class CompletionOrderError(ShellError):
    """A completion names a descriptor other than the one the shell expects next."""

    reason = "completion_order"


class CompletionFormatError(ShellError):
    """A completion entry that does not decode (wrong type, bad field)."""

    reason = "completion_format"


@dataclass
class TxPending:
    """A frame on the TX ring: its descriptors, its buffer, and whether it completed."""

    data: bytes
    sop_idx: int
    eop_idx: int
    ndesc: int
    buf_gpa: int
    vlan_tci: int | None = None
    done: bool = False


@dataclass
class RxPacket:
    """A frame the backend delivered: bytes gathered from SOP..EOP buffers."""

    data: bytes
    vlan_tci: int | None
    err: bool
    nbufs: int


@dataclass
class _RxPartial:
    data: bytearray = field(default_factory=bytearray)
    nbufs: int = 0
    err: bool = False
    vlan_tci: int | None = None


class Vmxnet3Shell:
    """Owns one queue pair of vmxnet3 rings in guest memory; posts and reaps."""

    def __init__(
        self,
        mem: GuestMemoryLike,
        *,
        tx_size: int = 256,
        rx_size: int = 256,
        rx_buf_len: int = 2048,
        rx_qid: int = 0,
        rx2_size: int | None = None,
    ) -> None:
        if not MIN_T0_BUF_SIZE <= rx_buf_len <= MAX_RX_BUF_SIZE or rx_buf_len % RX_BUF_ALIGN:
            raise FrameSizeError(
                f"RX buffer length {rx_buf_len} is not a multiple of {RX_BUF_ALIGN} in "
                f"{MIN_T0_BUF_SIZE}..{MAX_RX_BUF_SIZE}"
            )
        size2 = rx_size if rx2_size is None else rx2_size  # Linux: ring 2 as big as ring 1
        check_ring(RingKind.RX2, size2)
        self.mem = mem
        self.rx_buf_len = rx_buf_len
        ring = RING_BA_ALIGN
        comp_size = rx_size + size2  # every posted buffer of both rings gets one completion
        self.conf = RingConf(
            tx_ring=mem.alloc(tx_size * DESC_BYTES, ring),
            tx_size=tx_size,
            tx_comp=mem.alloc(tx_size * DESC_BYTES, ring),
            tx_comp_size=tx_size,
            rx_ring=mem.alloc(rx_size * DESC_BYTES, ring),
            rx_size=rx_size,
            rx_comp=mem.alloc(comp_size * DESC_BYTES, ring),
            rx_comp_size=comp_size,
            rx_qid=rx_qid,
            rx2_ring=mem.alloc(size2 * DESC_BYTES, ring),
            rx2_size=size2,
        )
        c = self.conf
        self._tx = RingCursor(c.tx_ring, c.tx_size)  # next2fill and its gen
        self._tx_clean = 0  # next2comp
        self._tx_comp = RingCursor(c.tx_comp, c.tx_comp_size)
        self._rx = RingCursor(c.rx_ring, c.rx_size)
        self._rx_clean = 0
        self._rx_comp = RingCursor(c.rx_comp, c.rx_comp_size)
        self._rx_bufs = [mem.alloc(rx_buf_len, RX_BUF_ALIGN) for _ in range(c.rx_size)]
        self._rx_partial: _RxPartial | None = None
        self._tx_pending: list[TxPending] = []
        self._tx_done: list[TxPending] = []
        self._rx_done: list[RxPacket] = []
        self.errors: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()

    # -- TX --------------------------------------------------------------------------------

    @property
    def tx_prod(self) -> int:
        """Value for BAR0 TXPROD: the next descriptor slot the shell will fill."""
        return self._tx.index

    @property
    def tx_gen(self) -> int:
        return self._tx.gen

    def tx_free(self) -> int:
        """Free TX descriptors (one slot stays empty, as in the Linux driver)."""
        return (self._tx_clean - self._tx.index - 1) % self._tx.size

    @property
    def tx_in_flight(self) -> tuple[TxPending, ...]:
        return tuple(self._tx_pending)

    def post_tx(self, frame: bytes, *, vlan_tci: int | None = None) -> TxPending:
        """Copy ``frame`` to a guest buffer and describe it in <=16 KiB descriptors."""
        nbytes = len(frame)
        ndesc = -(-nbytes // MAX_TX_BUF_SIZE)
        if nbytes == 0 or ndesc > MAX_TXD_PER_PKT:
            self._refuse(
                FrameSizeError(
                    f"frame of {nbytes} bytes needs {ndesc} descriptors "
                    f"(1..{MAX_TXD_PER_PKT} of up to {MAX_TX_BUF_SIZE} bytes)"
                )
            )
        if vlan_tci is not None and not 0 <= vlan_tci <= 0xFFFF:
            self._refuse(FrameSizeError(f"VLAN TCI {vlan_tci:#x} does not fit 16 bits"))
        if ndesc > self.tx_free():
            self._refuse(RingFullError(f"TX ring has {self.tx_free()} free, need {ndesc}"))
        buf = self.mem.alloc(nbytes, 64)
        self.mem.write(buf, frame)
        sop_idx = self._tx.index
        sop_gen = self._tx.gen
        sop: TxDesc | None = None
        for i in range(ndesc):
            off = i * MAX_TX_BUF_SIZE
            last = i == ndesc - 1
            desc = TxDesc(
                addr=buf + off,
                length=min(MAX_TX_BUF_SIZE, nbytes - off),
                gen=self._tx.gen,
                eop=last,
                cq=last,
                ti=i == 0 and vlan_tci is not None,
                tci=(vlan_tci or 0) if i == 0 else 0,
            )
            if i == 0:
                sop = desc
                # Not yet the device's: written with the inverted gen, flipped last.
                desc = replace(desc, gen=sop_gen ^ 1)
            self.mem.write(self._tx.addr(), desc.pack())
            eop_idx = self._tx.index
            self._tx.advance()
        assert sop is not None
        self.mem.write(self._tx.addr(sop_idx), sop.pack())
        pending = TxPending(frame, sop_idx, eop_idx, ndesc, buf, vlan_tci)
        self._tx_pending.append(pending)
        self.stats["tx_posted"] += 1
        return pending

    def reap_tx(self) -> list[TxPending]:
        """Frames the backend completed, oldest first; their buffers are freed."""
        done = self._tx_done  # survives a refusal: the next call returns them
        while (raw := self._next_completion(self._tx_comp)) is not None:
            try:
                cpl = TxCompDesc.unpack(raw)
            except Vmxnet3FormatError as exc:
                self._refuse(
                    CompletionFormatError(f"TX completion slot {self._tx_comp.index}: {exc}")
                )
            if not self._tx_pending or cpl.txd_idx != self._tx_pending[0].eop_idx:
                want = self._tx_pending[0].eop_idx if self._tx_pending else None
                self._refuse(
                    CompletionOrderError(
                        f"TX completion names descriptor {cpl.txd_idx}, expected EOP {want}"
                    )
                )
            self._tx_comp.advance()
            tx = self._tx_pending.pop(0)
            tx.done = True
            self._tx_clean = (tx.eop_idx + 1) % self._tx.size
            self.mem.free(tx.buf_gpa)
            self.stats["tx_completed"] += 1
            done.append(tx)
        self._tx_done = []
        return done

    # -- RX --------------------------------------------------------------------------------

    @property
    def rx_prod(self) -> int:
        """Value for BAR0 RXPROD: the next RX descriptor slot the shell will fill."""
        return self._rx.index

    def rx_free(self) -> int:
        return (self._rx_clean - self._rx.index - 1) % self._rx.size

    def post_rx(self, count: int | None = None) -> int:
        """Post up to ``count`` receive buffers (default: every free slot); returns how many."""
        n = self.rx_free() if count is None else min(count, self.rx_free())
        for _ in range(n):
            slot = self._rx.index
            desc = RxDesc(self._rx_bufs[slot], self.rx_buf_len, self._rx.gen)
            self.mem.write(self._rx.addr(), desc.pack())
            self._rx.advance()
        self.stats["rx_posted"] += n
        return n

    def reap_rx(self) -> list[RxPacket]:
        """Complete frames the backend delivered (one completion per buffer, SOP..EOP)."""
        packets = self._rx_done  # survives a refusal: the next call returns them
        while (raw := self._next_completion(self._rx_comp)) is not None:
            try:
                cpl = RxCompDesc.unpack(raw)
            except Vmxnet3FormatError as exc:
                self._refuse(
                    CompletionFormatError(f"RX completion slot {self._rx_comp.index}: {exc}")
                )
            if cpl.rq_id != self.conf.rx_qid or cpl.rxd_idx != self._rx_clean:
                self._refuse(
                    CompletionOrderError(
                        f"RX completion for ring {cpl.rq_id} descriptor {cpl.rxd_idx}, "
                        f"expected ring {self.conf.rx_qid} descriptor {self._rx_clean}"
                    )
                )
            if cpl.length > self.rx_buf_len:
                self._refuse(
                    CompletionFormatError(
                        f"RX completion length {cpl.length} exceeds the "
                        f"{self.rx_buf_len}-byte buffer"
                    )
                )
            if cpl.sop != (self._rx_partial is None):
                self._refuse(
                    CompletionOrderError(
                        f"RX completion at descriptor {cpl.rxd_idx}: SOP={cpl.sop} "
                        f"{'inside' if self._rx_partial else 'outside'} a frame"
                    )
                )
            self._rx_comp.advance()
            part = self._rx_partial or _RxPartial(vlan_tci=cpl.tci if cpl.ts else None)
            part.data += self.mem.read(self._rx_bufs[cpl.rxd_idx], cpl.length)
            part.nbufs += 1
            part.err |= cpl.err
            self._rx_clean = (self._rx_clean + 1) % self._rx.size
            if cpl.eop:
                self._rx_partial = None
                self.stats["rx_errors" if part.err else "rx_packets"] += 1
                packets.append(RxPacket(bytes(part.data), part.vlan_tci, part.err, part.nbufs))
            else:
                self._rx_partial = part
        self._rx_done = []
        return packets

    # -- common ----------------------------------------------------------------------------

    def _next_completion(self, ring: RingCursor) -> bytes | None:
        """The raw entry at the ring's index if its gen says the backend wrote it this lap."""
        raw = self.mem.read(ring.addr(), DESC_BYTES)
        if desc_gen(raw, 3) != ring.gen:
            return None
        return raw

    def _refuse(self, error: ShellError) -> NoReturn:
        self.errors[error.reason] += 1
        raise error
