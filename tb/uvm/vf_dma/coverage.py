"""Functional coverage of the vf_dma pyuvm environment: bins over the random dimensions
(format B adds its own ``upt_*`` points), reported and checked complete."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyuvm import (
    ConfigDB,
    uvm_component,
)

from tb.ref.regmap import RingFmt
from tb.uvm.vf_dma.config import MAX_FRAME, VfDmaEnvConfig
from tb.uvm.vf_dma.items import TxFrameItemData
from tb.uvm.vf_dma.scoreboard import _Sub
from tb.vf_driver.queues import RxFrame, TxFrame
from tb.vf_driver.upt_queues import UptRxFrame, UptRxQueue

if TYPE_CHECKING:
    from tb.uvm.vf_dma.agents import HostBusAgent, TxStreamAgent
    from tb.uvm.vf_dma.driver import DriverModel


@dataclass
class CoverPoint:
    """Named bins; ``hit`` counts samples per bin; every bin is reachable unless ``optional``."""

    name: str
    bins: list[str]
    hit: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def sample(self, b: str) -> None:
        if b not in self.bins:
            raise KeyError(f"{self.name}: no bin {b!r}")
        self.hit[b] += 1

    @property
    def covered(self) -> int:
        return sum(1 for b in self.bins if self.hit[b])

    def holes(self) -> list[str]:
        return [b for b in self.bins if not self.hit[b]]


SIZE_BINS = [
    ("60", 60, 60),
    ("61-63", 61, 63),
    ("64", 64, 64),
    ("65-127", 65, 127),
    ("128-255", 128, 255),
    ("256-511", 256, 511),
    ("512-1023", 512, 1023),
    ("1024-1518", 1024, 1518),
    ("1519-4096", 1519, 4096),
    ("4097-9017", 4097, 9017),
    ("9018", 9018, 9018),
]
NBUF_BINS = [
    ("1", 1, 1),
    ("2", 2, 2),
    ("3-4", 3, 4),
    ("5-8", 5, 8),
    ("9-15", 9, 15),
    ("16", 16, 16),
]


# Format B: vmxnet3 descriptors per TX frame (MAX_TXD_PER_PKT = 16).
UPT_TXD_BINS = [("1", 1, 1), ("2-4", 2, 4), ("5-15", 5, 15), ("16", 16, 16)]


def _bin(table: list[tuple[str, int, int]], v: int) -> str:
    return next(name for name, lo, hi in table if lo <= v <= hi)


def upt_body_bins(cfg: VfDmaEnvConfig) -> list[tuple[str, int, int]]:
    """Ring-2 (body) buffers an RX frame of 61..MAX_FRAME bytes can take in format B:
    one bin each up to 4, the rest together."""
    most = -(-(MAX_FRAME - cfg.rx_head_len) // cfg.rx_buf_len)
    bins = [(str(n), n, n) for n in range(1, min(most, 4) + 1)]
    if most > 4:
        bins.append((f"5-{most}", 5, most))
    return bins


class VfDmaCoverage(uvm_component):
    """Functional coverage of the random dimensions (issue #3): printed and checked complete."""

    def build_phase(self) -> None:
        self.cfg: VfDmaEnvConfig = ConfigDB().get(self, "", "cfg")
        nq = self.cfg.num_queues
        # without RX_STEER.HASH every RX frame goes to queue 0: other RX queue bins are unreachable
        rxq = range(nq) if self.cfg.rx_hash else range(1)
        self.points = {
            "tx_size": CoverPoint("tx_size", [b for b, _, _ in SIZE_BINS]),
            "tx_bufs": CoverPoint("tx_bufs", [b for b, _, _ in NBUF_BINS]),
            "tx_buf_align": CoverPoint("tx_buf_align", ["0", "1-15", "16-31", "32-47", "48-63"]),
            "tx_vlan_ins": CoverPoint("tx_vlan_ins", ["no", "yes"]),
            "tx_queue": CoverPoint("tx_queue", [str(q) for q in range(nq)]),
            "rx_size": CoverPoint("rx_size", [b for b, _, _ in SIZE_BINS]),
            "rx_bufs_used": CoverPoint("rx_bufs_used", ["1", "2", "3-4", "5"]),
            "rx_queue": CoverPoint("rx_queue", [str(q) for q in rxq]),
            "rx_vlan_stripped": CoverPoint("rx_vlan_stripped", ["no", "yes"]),
            "tx_ring_wrap": CoverPoint("tx_ring_wrap", [f"q{q}" for q in range(nq)]),
            "rx_ring_wrap": CoverPoint("rx_ring_wrap", [f"q{q}" for q in rxq]),
            "tx_backpressure": CoverPoint("tx_backpressure", ["frame stalled"]),
            "host_reorder": CoverPoint("host_reorder", ["read returned ahead of older"]),
            "host_latency": CoverPoint("host_latency", ["30-69", "70-109", "110-150"]),
        }
        self.upt = self.cfg.ring_fmt == RingFmt.B
        if self.upt:
            self._build_upt_points(nq, rxq)
        self.tx_posted = _Sub("cov_tx", self, self._tx)
        self.rx_done = _Sub("cov_rx", self, self._rx)

    def _build_upt_points(self, nq: int, rxq: range) -> None:
        """Format B (§4b): descriptors per TX frame, every ring's gen wrap, both RX rings,
        the VLAN fields of the vmxnet3 descriptors and completions. A TX buffer of 16384
        bytes (``len`` 0) has no bin: with MAX_FRAME_BYTES 9018 such a frame is always
        ``ERR_DESC_LEN_MAX``, a case for a directed test, not for a clean random run."""
        self.body_bins = upt_body_bins(self.cfg)
        self.points |= {
            "upt_tx_descs": CoverPoint("upt_tx_descs", [b for b, _, _ in UPT_TXD_BINS]),
            "upt_tx_gen_wrap": CoverPoint(
                "upt_tx_gen_wrap",
                [f"q{q} {r}" for q in range(nq) for r in ("descriptors", "completions")],
            ),
            "upt_rx_gen_wrap": CoverPoint(
                "upt_rx_gen_wrap",
                [f"q{q} {r}" for q in rxq for r in ("ring 1", "ring 2", "completions")],
            ),
            "upt_rx_rings": CoverPoint("upt_rx_rings", ["ring 1 only", "ring 1 + ring 2"]),
            "upt_rx_body_bufs": CoverPoint("upt_rx_body_bufs", [b for b, _, _ in self.body_bins]),
            "upt_vlan": CoverPoint(
                "upt_vlan", ["TX ti on SOP", "RX ts, ring 1 only", "RX ts on every buffer"]
            ),
        }

    def _tx(self, t: tuple[TxFrameItemData, TxFrame]) -> None:
        d, _ = t
        p = self.points
        p["tx_size"].sample(_bin(SIZE_BINS, len(d.data)))
        p["tx_bufs"].sample(_bin(NBUF_BINS, len(d.split)))
        for off in d.offsets:
            p["tx_buf_align"].sample(
                "0"
                if off == 0
                else _bin(
                    [("1-15", 1, 15), ("16-31", 16, 31), ("32-47", 32, 47), ("48-63", 48, 63)], off
                )
            )
        p["tx_vlan_ins"].sample("yes" if d.vlan_tci is not None else "no")
        p["tx_queue"].sample(str(d.queue))
        if self.upt:
            p["upt_tx_descs"].sample(_bin(UPT_TXD_BINS, len(d.split)))
            if d.vlan_tci is not None:
                p["upt_vlan"].sample("TX ti on SOP")

    def _rx(self, t: tuple[int, RxFrame]) -> None:
        q, fr = t
        p = self.points
        p["rx_size"].sample(_bin(SIZE_BINS, len(fr.data)))
        n = fr.completion.num_bufs
        p["rx_bufs_used"].sample(str(n) if n <= 2 or n == 5 else "3-4")
        p["rx_queue"].sample(str(q))
        p["rx_vlan_stripped"].sample("yes" if fr.completion.vlan_stripped else "no")
        if self.upt:
            assert isinstance(fr, UptRxFrame)
            body = len(fr.upt_completions) - 1
            p["upt_rx_rings"].sample("ring 1 + ring 2" if body else "ring 1 only")
            if body:
                p["upt_rx_body_bufs"].sample(_bin(self.body_bins, body))
            if all(c.ts for c in fr.upt_completions):
                p["upt_vlan"].sample("RX ts on every buffer" if body else "RX ts, ring 1 only")

    def sample_run(self, driver: DriverModel, tx: TxStreamAgent, host: HostBusAgent) -> None:
        p = self.points
        rxq_bins = range(self.cfg.num_queues) if self.cfg.rx_hash else range(1)
        for q in range(self.cfg.num_queues):
            for _ in range(driver.tx_wraps[q]):
                p["tx_ring_wrap"].sample(f"q{q}")
            for _ in range(driver.rx_wraps[q] if q in rxq_bins else 0):
                p["rx_ring_wrap"].sample(f"q{q}")
        if self.upt:
            self._sample_upt_wraps(driver, rxq_bins)
        for _ in range(tx.stalled_frames):
            p["tx_backpressure"].sample("frame stalled")
        for _ in range(host.responder.reordered):
            p["host_reorder"].sample("read returned ahead of older")
        for lat in host.responder.latencies or []:
            p["host_latency"].sample("30-69" if lat < 70 else "70-109" if lat < 110 else "110-150")

    def _sample_upt_wraps(self, driver: DriverModel, rxq_bins: range) -> None:
        """Every lap past a ring's end flips its gen (descriptor rings: the driver's lap
        count; completion rings: the reapers' wrap counts)."""
        p = self.points
        for q in range(self.cfg.num_queues):
            txq = driver.txq[q]
            for _ in range(txq.ring.laps):
                p["upt_tx_gen_wrap"].sample(f"q{q} descriptors")
            for _ in range(driver.tx_wraps[q]):
                p["upt_tx_gen_wrap"].sample(f"q{q} completions")
            rxq = driver.rxq[q]
            if q not in rxq_bins:
                continue
            assert isinstance(rxq, UptRxQueue)
            for ring, n in (("ring 1", rxq.ring.laps), ("ring 2", rxq.ring2.laps)):
                for _ in range(n):
                    p["upt_rx_gen_wrap"].sample(f"q{q} {ring}")
            for _ in range(driver.rx_wraps[q]):
                p["upt_rx_gen_wrap"].sample(f"q{q} completions")

    def summary(self) -> str:
        lines = ["functional coverage (vf_dma random):"]
        for cp in self.points.values():
            hits = ", ".join(f"{b}:{cp.hit[b]}" for b in cp.bins)
            lines.append(f"  {cp.name:18s} {cp.covered}/{len(cp.bins)}  [{hits}]")
        total = sum(len(cp.bins) for cp in self.points.values())
        got = sum(cp.covered for cp in self.points.values())
        lines.append(f"  total {got}/{total} bins ({100.0 * got / total:.1f} %)")
        return "\n".join(lines)

    def holes(self) -> dict[str, list[str]]:
        return {n: cp.holes() for n, cp in self.points.items() if cp.holes()}
