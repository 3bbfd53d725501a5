"""The queue drivers' ``close()`` (tb/vf_driver/queue_base.py), without a simulator: the
queue is disabled, ``*Q_STATUS.BUSY`` is read until it clears (bounded, a clear error
when it does not), and only then do the rings and the queue's own buffers go back to the
allocator they came from, byte for byte. Format B on the fake engine of
tests/test_vf_driver_upt.py; format A on a function whose registers read 0 (not BUSY).
On the RTL, with frames in flight: tests/cocotb_vf_dma_close.py."""

from __future__ import annotations

import pytest

from tb.host.memory import HostMemory
from tb.ref.regmap import ABSENT_READ, QSTATUS_BUSY, Queue, queue_reg
from tb.vf_driver.queues import QueueStall, RxQueue, TxQueue
from tests.test_vf_driver_upt import FakeUptDevice, device, open_rx, open_tx, run


def balance(mem: HostMemory) -> tuple[int, dict[int, int]]:
    return mem.allocator.free_bytes, mem.allocator.allocated


def status_log(dev: FakeUptDevice, log: list[int]) -> None:
    """Record every value ``dev`` answers a status read with."""
    read = dev.read_now

    def spy(addr: int) -> int:
        v = read(addr)
        if (addr - queue_reg(0, Queue.TXQ_BASE_LO)) % 0x100 in (Queue.TXQ_STATUS, Queue.RXQ_STATUS):
            log.append(v)
        return v

    dev.read_now = spy  # type: ignore[method-assign]


def traffic(dev: FakeUptDevice, n: int = 40) -> tuple:
    """Both queues of pair 0 open, ``n`` frames each way (every ring wraps), one TX frame
    left in flight."""
    txq, rxq = open_tx(dev), open_rx(dev, buf_len=512, head_len=256)
    for k in range(n):
        txq.post(bytes([k]) * 700, split=[300, 400])
        run(txq.ring_doorbell())
        txq.reap()
        assert dev.deliver(0, bytes([k]) * 1500)
        rxq.reap()
        run(rxq.refill())
    dev.auto_tx = False
    txq.post(b"\x55" * 90)
    run(txq.ring_doorbell())
    assert txq.in_flight == 1
    return txq, rxq


def test_close_gives_every_byte_back_format_b() -> None:
    dev = device()
    before = balance(dev.mem)
    txq, rxq = traffic(dev)
    assert balance(dev.mem)[0] < before[0]
    run(txq.close())
    run(rxq.close())
    assert balance(dev.mem) == before
    assert txq.in_flight == 0 and txq.ring.cpl_watch is None
    # closed twice: nothing left to give back, nothing given back twice
    run(txq.close())
    run(rxq.close())
    assert balance(dev.mem) == before


def test_close_waits_for_busy_before_freeing() -> None:
    """The disable first, then status reads while BUSY is set; the memory goes back only
    after the read that finds BUSY clear."""
    dev = device()
    before = balance(dev.mem)
    txq, rxq = traffic(dev)
    dev.busy_reads = 5
    log: list[int] = []
    status_log(dev, log)
    n_writes = len(dev.writes)
    run(txq.close())
    assert dev.writes[n_writes] == (queue_reg(0, Queue.TXQ_CTRL), 0)
    assert [bool(v & QSTATUS_BUSY) for v in log] == [True] * 5 + [False]
    log.clear()
    run(rxq.close())
    assert [bool(v & QSTATUS_BUSY) for v in log] == [True] * 5 + [False]
    assert balance(dev.mem) == before


def test_close_gives_up_naming_the_queue_and_keeps_the_memory() -> None:
    dev = device()
    txq, rxq = traffic(dev)
    dev.busy_reads = 1000
    held = balance(dev.mem)
    with pytest.raises(QueueStall, match=r"TX queue 0: BUSY still set after 10 status reads"):
        run(txq.close(polls=10))
    with pytest.raises(QueueStall, match=r"RX queue 0: BUSY still set after 10 status reads"):
        run(rxq.close(polls=10))
    assert balance(dev.mem) == held  # DMA may still be outstanding: nothing freed


def test_close_of_a_function_that_is_gone_keeps_the_memory() -> None:
    """A disabled VF reads all ones: BUSY cannot be told, so close neither waits nor frees."""
    dev = device()
    txq, _ = traffic(dev)

    async def absent() -> int:
        return ABSENT_READ

    txq.ring.status = absent  # type: ignore[method-assign]
    held = balance(dev.mem)
    run(txq.close())
    assert balance(dev.mem) == held


class IdleBar:
    """A format-A function whose registers read 0: never BUSY."""

    func = 1

    def __init__(self) -> None:
        self.writes: list[tuple[int, int]] = []

    async def read(self, addr: int) -> int:
        return 0

    async def write(self, addr: int, value: int) -> None:
        self.writes.append((addr, value))


@pytest.mark.parametrize("own_buffers", [True, False])
def test_close_gives_every_byte_back_format_a(own_buffers: bool) -> None:
    mem = HostMemory(1 << 24)
    bar = IdleBar()
    before = balance(mem)
    txq = TxQueue(bar, mem, 1, 6, own_buffers=own_buffers)  # type: ignore[arg-type]
    rxq = RxQueue(bar, mem, 1, 6, 1024)  # type: ignore[arg-type]
    run(txq.open())
    run(rxq.open())
    mine = [(mem.alloc(256, 64), 256) for _ in range(3)]  # the caller's: stay allocated
    if own_buffers:
        txq.post(b"\x01" * 100)
    else:
        txq.post_buffers(mine[:1])
    rxq.post_buffers(mine[1:])
    run(txq.close())
    run(rxq.close())
    assert bar.writes[-1] == (queue_reg(1, Queue.RXQ_CTRL), 0)
    assert mem.allocator.allocated == {a: n for a, n in mine}
    for a, _ in mine:
        mem.free(a)
    assert balance(mem) == before
    # reopened after close: rings and buffers again, given back again
    run(rxq.open())
    run(rxq.close())
    assert balance(mem) == before


def test_close_leaves_rings_the_driver_did_not_allocate() -> None:
    """Rings handed over by their owner (a guest's own vmxnet3 rings, as the ring-B
    plugin adopts them) are the owner's to free, not the driver's."""
    mem = HostMemory(1 << 22)
    txq = TxQueue(IdleBar(), mem, 0, 5, own_buffers=False)  # type: ignore[arg-type]
    theirs = (mem.alloc(32 * 16, 64), mem.alloc(32 * 16, 64))
    txq.ring.desc_base, txq.ring.cpl_base = theirs
    run(txq.close())
    assert sorted(mem.allocator.allocated) == sorted(theirs)
    assert (txq.ring.desc_base, txq.ring.cpl_base) == theirs
