"""Sequence items of the vf_dma pyuvm environment: TX frames (bytes, buffer split, alignment,
VLAN insert) and RX frames (bytes, sideband), randomized over the dimensions that matter."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pyuvm import (
    uvm_sequence_item,
)

from tb.vf_driver.queues import MAX_TX_BUFS


@dataclass
class TxFrameItemData:
    queue: int
    data: bytes
    split: list[int]
    offsets: list[int]
    vlan_tci: int | None


class TxFrameItem(uvm_sequence_item):
    """One TX frame: bytes, its buffer split and the byte offset (alignment) of each buffer."""

    def __init__(self, name: str = "tx_frame") -> None:
        super().__init__(name)
        self.d = TxFrameItemData(0, b"", [], [], None)

    def randomize_with(self, rng: random.Random, num_queues: int, queue: int | None = None) -> None:
        size = random_frame_size(rng)
        nbufs = rng.choice([1, 1, 1, 2, 3, 4, rng.randint(1, MAX_TX_BUFS), MAX_TX_BUFS])
        nbufs = min(nbufs, size)
        cuts = sorted(rng.sample(range(1, size), nbufs - 1)) if nbufs > 1 else []
        edges = [0, *cuts, size]
        split = [edges[i + 1] - edges[i] for i in range(nbufs)]
        offsets = [rng.randrange(64) for _ in split]
        vlan = rng.randrange(1 << 16) if rng.random() < 0.3 else None
        q = rng.randrange(num_queues) if queue is None else queue
        self.d = TxFrameItemData(q, rng.randbytes(size), split, offsets, vlan)


@dataclass
class RxFrameItemData:
    data: bytes
    meta: int  # rx_meta_t {vlan_tci[15:0], vlan_stripped}


class RxFrameItem(uvm_sequence_item):
    def __init__(self, name: str = "rx_frame") -> None:
        super().__init__(name)
        self.d = RxFrameItemData(b"", 0)

    def randomize_with(self, rng: random.Random) -> None:
        size = random_frame_size(rng)
        # an IPv4/UDP header with random addresses and ports so RX_STEER.HASH spreads flows
        hdr = (
            rng.randbytes(12) + b"\x08\x00\x45\x00" + rng.randbytes(5) + b"\x11" + rng.randbytes(14)
        )
        data = (hdr + rng.randbytes(size))[:size]
        meta = ((rng.randrange(1 << 16) << 1) | 1) if rng.random() < 0.3 else 0
        self.d = RxFrameItemData(data, meta)


def random_frame_size(rng: random.Random) -> int:
    """60..9018 bytes, weighted towards the sizes that matter: minimum, MTU, beat edges, jumbo."""
    r = rng.random()
    if r < 0.08:
        return rng.choice([60, 63, 64, 65, 127, 128, 1514, 1518, 4096, 9017, 9018])
    if r < 0.40:
        return rng.randint(60, 256)
    if r < 0.75:
        return rng.randint(257, 1518)
    if r < 0.90:
        return rng.randint(1519, 4200)
    return rng.randint(4201, 9018)
