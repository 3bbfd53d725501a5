"""Frames from the wire into one VF's RX ring: none may vanish without a count.

The outside host sends 1518-byte frames back to back on the 512-bit uplink,
one beat per cycle: 1.28x the frame rate of 100 GbE at 250 MHz. The RX engine
nearly keeps up with that (24 data beats and a quarter completion beat per
24-cycle frame: its 32 KiB FIFO would take ~2,000 frames to fill), so in the
overload test the host's write path is slow as well (each write answered 100
cycles after its last beat, at most 4 in flight: ~39 cycles a frame), and the
store-and-forward FIFO overflows now and then. Every frame must then be either delivered byte-exact
and in order, or counted in the queue's ``RXQ_DROPS`` register: delivered +
dropped == sent, exactly. Nothing is left waiting: the test ends when the
counts add up, and the ring watchdog names the queue if they never do.
"""

from __future__ import annotations

import cocotb

from tb.env import NicTb, TbConfig
from tb.guest.flows import UdpFlow
from tb.ref.regmap import Pf, Queue, VfStats, queue_reg, vf_stats_reg
from tb.vf_driver.queues import QueueStall, RxFrame, RxQueue

EXT_MAC = "02:00:00:00:ff:01"
VF_MAC = "02:00:00:00:00:01"
FRAMES = 300
POLL_CYCLES = 1000  # how often the test reads the drop counter while it waits


async def vf1_receiving(
    dut, seed: int, slow_writes: bool = False
) -> tuple[NicTb, RxQueue, UdpFlow]:
    """VF1 up with an open RX ring, its MAC in the switch, a flow from the outside host;
    ``slow_writes``: the host answers a write after 100 cycles, at most 4 in flight."""
    cfg = TbConfig(seed=seed)
    if slow_writes:
        cfg = TbConfig(seed=seed, write_latency=100, max_outstanding_writes=4)
    tb = NicTb(dut, cfg)
    await tb.reset()
    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    _, rxq = tb.queues(1)
    await rxq.open()
    await tb.pf.add_fdb(VF_MAC, port=1)
    return tb, rxq, UdpFlow(seed, EXT_MAC, VF_MAC, "10.0.0.254", "10.0.0.1", rng=tb.rng)


@cocotb.test()
async def rx_overload_every_frame_accounted(dut) -> None:
    tb, rxq, flow = await vf1_receiving(dut, seed=5, slow_writes=True)
    tb.wire_in.pacing = None  # back to back: faster than any Ethernet link
    deadline = tb.cycle() + 100 * POLL_CYCLES
    frames = [flow.frame(1518) for _ in range(FRAMES)]
    for fr in frames:
        await tb.wire_in.send(fr)
    got: list[RxFrame] = []
    drops_reg = queue_reg(0, Queue.RXQ_DROPS)
    drops = 0
    # A polling receiver (as NAPI polls): reap, refill, read the drop counter.
    # 255 posted buffers outlast a poll period at any frame rate.
    while len(got) + drops < FRAMES:
        assert tb.cycle() < deadline, f"{len(got)} delivered + {drops} dropped of {FRAMES}"
        await tb.cycles(POLL_CYCLES)
        got += rxq.reap()
        await rxq.refill()
        drops = await tb.bar(1).read(drops_reg)
    assert len(got) + drops == FRAMES, f"{len(got)} delivered + {drops} dropped != {FRAMES}"
    assert drops > 0, "the over-rate burst was expected to overflow the RX FIFO"
    # The PF sees the same drops in its per-VF statistics (ethtool -S / ip -s link),
    # and keeps them across the VF's FLR, which clears the VF's own counter.
    lost = FRAMES - len(got)
    st = await tb.pf.vf_stats(0)
    assert st["rx_dropped_no_buffer"] == lost and st["rx_dropped"] == lost, st
    assert st["rx_dropped_abandoned"] == 0 and st["tx_dropped_abandoned"] == 0, st
    # Read-only, and decoded for VFs 1..NUM_VF only (the PF and absent VFs read 0).
    pf_bar = tb.bar(0)
    await pf_bar.write(vf_stats_reg(1, VfStats.RX_DROPS), 0xFFFF_FFFF)
    assert await pf_bar.read(vf_stats_reg(1, VfStats.RX_DROPS)) == lost
    for absent in (0, tb.num_vf + 1):
        assert await pf_bar.read(vf_stats_reg(absent, VfStats.RX_DROPS)) == 0
    # While a VF's statistics are not 0, every unmapped word of the PF window reads 0
    # (a decode that leaks the statistics block elsewhere shows here): the rest of
    # page 0 after CAPS and the bitmaps, the word after each statistics block, and
    # pages 3 and up, at the offsets whose VF field ([11:4]) names a present VF.
    unmapped = [off for off in range(Pf.CAPS + 4, Pf.MBX_VFREQ, 4)]
    unmapped += [Pf.MBX_VFREQ + 0x40, Pf.VFLR + 0xC0, Pf.VFLR + 0x100]
    unmapped += [vf_stats_reg(n, VfStats.TX_ABANDONED) + 4 for n in range(tb.num_vf + 1)]
    unmapped += [Pf.BASE + page * 0x1000 + 0x10 * n for page in (3, 7, 15) for n in (1, 2)]
    for addr in unmapped:
        assert await pf_bar.read(addr) == 0, f"unmapped PF-window word {addr:#x} reads non-zero"
    await tb.pf.reset_vf(0)
    assert await tb.bar(1).read(drops_reg) == 0
    assert (await tb.pf.vf_stats(0))["rx_dropped"] == lost
    # A VF's statistics live as long as the VF: disabling SR-IOV clears them.
    await tb.pf.enable_sriov(0)
    await tb.pf.enable_sriov(tb.num_vf)
    assert (await tb.pf.vf_stats(0))["rx_dropped"] == 0
    # What was delivered is what was sent, in order, with gaps only where frames dropped.
    it = iter(frames)
    for fr in got:
        assert fr.completion.status == 0
        assert any(fr.data == want for want in it), "a delivered frame is not one that was sent"
    dut._log.info("%d delivered, %d dropped and counted", len(got), drops)


@cocotb.test()
async def rx_line_rate_1518_no_drop(dut) -> None:
    """At 100 GbE's frame rate a 256-entry ring with prompt refill loses nothing."""
    frames_n = 1000
    tb, rxq, flow = await vf1_receiving(dut, seed=7)
    frames = [flow.frame(1518) for _ in range(frames_n)]
    t0 = tb.cycle()
    for fr in frames:
        await tb.wire_in.send(fr)
    got: list[RxFrame] = []
    while len(got) < frames_n:
        got += await rxq.wait_reaped()
    elapsed = tb.cycle() - t0
    assert [g.data for g in got] == frames
    assert await tb.bar(1).read(queue_reg(0, Queue.RXQ_DROPS)) == 0
    # The source kept to the link: N frames take at least N-1 frame times.
    per_frame = (1518 + 20) * 8 / 400  # bits per frame / bits per cycle at 100G, 250 MHz
    assert elapsed >= (frames_n - 1) * per_frame, elapsed
    dut._log.info("%d frames in %d cycles (%.2f per frame)", frames_n, elapsed, elapsed / frames_n)


@cocotb.test()
async def rx_wait_watchdog_names_the_queue(dut) -> None:
    """A driver waiting for a frame that never comes fails with the queue and its indices."""
    tb, rxq, _ = await vf1_receiving(dut, seed=6)
    rxq.ring.stall_cycles = 2000
    t0 = tb.cycle()
    try:
        await rxq.wait_reaped()
    except QueueStall as stall:
        msg = str(stall)
    else:
        raise AssertionError("wait_reaped returned without a frame")
    waited = tb.cycle() - t0
    assert 2000 <= waited <= 4000, waited
    assert "function 1 RX queue 0" in msg and "prod=255 clean=0 cpl_idx=0" in msg, msg
