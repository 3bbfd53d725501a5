"""Scenario "basic": the foundation slice, end to end through the RTL.

VF1 and VF2 each send UDP frames to an outside host (TX ring -> vf_dma ->
eswitch -> uplink); the outside host sends frames to each VF's MAC (uplink ->
eswitch MAC lookup -> vf_dma -> RX buffer + completion); VF1 sends frames to
VF2, which the switch must keep local. Every frame is checked byte for byte.
"""

from __future__ import annotations

import time

import cocotb
from cocotb.triggers import Combine

from sim.scenarios.report import conclude, gather, report_progress, scenario_config
from tb.env import NicTb
from tb.guest.flows import UdpFlow
from tb.ref.regmap import Queue, queue_reg
from tb.ref.scoreboard import FrameScoreboard
from tb.vf_driver.queues import QueueStall

OUTSIDE_MAC = "02:00:00:00:ff:01"
OUTSIDE_IP = "10.0.0.254"
QUIET_CYCLES = 5_000  # a receiver rechecks the drop counter after this long without a frame
QUIET_LIMIT = 20  # quiet spells in a row before the receiver gives up (QueueStall)


def vf_mac(func: int) -> str:
    return f"02:00:00:00:00:{func:02x}"


@cocotb.test()
async def run_scenario(dut) -> None:
    cfg = scenario_config()
    wall0 = time.monotonic()
    tb = NicTb(dut, cfg.tb)
    if cfg.tb.pcap_dir is not None:
        tb.start_capture(cfg.tb.pcap_dir)
    await tb.reset()
    cycle0 = tb.cycle()

    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    vfs = [1, 2]
    queues = {}
    for f in vfs:
        txq, rxq = tb.queues(f)
        await txq.open()
        await rxq.open()
        queues[f] = (txq, rxq)
        await tb.pf.add_fdb(vf_mac(f), port=f)

    sb = FrameScoreboard()
    n = cfg.frames
    sizes = [64, 128, 256, 512, 1024, 1518, 60, 1000]
    rng = tb.rng

    # TX: each VF to the outside host; VF1 also to VF2 (local switching).
    to_out = {
        f: UdpFlow(f, vf_mac(f), OUTSIDE_MAC, f"10.0.0.{f}", OUTSIDE_IP, rng=rng) for f in vfs
    }
    vf1_to_vf2 = UdpFlow(12, vf_mac(1), vf_mac(2), "10.0.0.1", "10.0.0.2", rng=rng)
    from_out = {
        f: UdpFlow(100 + f, OUTSIDE_MAC, vf_mac(f), OUTSIDE_IP, f"10.0.0.{f}", rng=rng) for f in vfs
    }

    async def vf_sender(f: int) -> None:
        txq, _ = queues[f]
        for k in range(n):
            if f == vfs[0]:
                report_progress(cfg, k)
            size = sizes[k % len(sizes)]
            if f == 1 and k % 4 == 3:
                frame = vf1_to_vf2.frame(size)
                sb.expect("vf2", frame, source="vf1")
            else:
                frame = to_out[f].frame(size)
                sb.expect("uplink", frame, source=f"vf{f}")
            # Any byte alignment, up to three buffers per frame.
            nbufs = 1 + (k % 3)
            cuts = sorted(rng.sample(range(1, size), nbufs - 1))
            split = [b - a for a, b in zip([0, *cuts], [*cuts, size], strict=True)]
            offsets = [rng.randrange(64) for _ in split]
            while txq.ring.free_slots() < len(split):
                await txq.wait_reaped()
            txq.post(frame, split=split, offsets=offsets)
            await txq.ring_doorbell()
        while txq.in_flight:
            for done in await txq.wait_reaped():
                assert done.completion is not None and done.completion.status == 0, done

    async def outside_sender() -> None:
        for k in range(n):
            for f in vfs:
                frame = from_out[f].frame(sizes[(k + f) % len(sizes)])
                sb.expect(f"vf{f}", frame, source="uplink")
                await tb.wire_in.send(frame)

    expected_rx = {1: n, 2: n + n // 4}

    async def rx_dropped(f: int) -> int:
        """Frames the VF's RX queue dropped and counted (no buffer, or RX FIFO full)."""
        return await tb.bar(f).read(queue_reg(0, Queue.RXQ_DROPS))

    async def vf_receiver(f: int) -> None:
        _, rxq = queues[f]
        got = 0
        # A quiet ring is normal once the rest of the frames were dropped and
        # counted; it stops being normal after QUIET_LIMIT quiet spells in a row.
        rxq.ring.stall_cycles = QUIET_CYCLES
        quiet = 0
        while got < expected_rx[f] - await rx_dropped(f):
            try:
                frames = await rxq.wait_reaped()
            except QueueStall:
                quiet += 1
                if quiet == QUIET_LIMIT:
                    raise
                continue
            quiet = 0
            for fr in frames:
                assert fr.completion.status == 0, fr.completion
                sb.observe(f"vf{f}", fr.data)
                got += 1
        sb.counted_drops(f"vf{f}", "RXQ_DROPS", await rx_dropped(f))

    async def wire_receiver() -> None:
        want = sum(n - (n // 4 if f == 1 else 0) for f in vfs)
        for _ in range(want):
            frame = await tb.wire_out.recv()
            sb.observe("uplink", bytes(frame.tdata))

    tasks = [cocotb.start_soon(vf_sender(f)) for f in vfs]
    tasks += [cocotb.start_soon(vf_receiver(f)) for f in vfs]
    tasks += [cocotb.start_soon(outside_sender()), cocotb.start_soon(wire_receiver())]
    await Combine(*tasks)
    await tb.settle(200)

    report = await gather("basic", cfg, tb, sb, cycle0)
    conclude(report, cfg, tb, wall0)
