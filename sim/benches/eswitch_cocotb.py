"""Cycle-counted benchmark of the embedded switch (``make bench``, sim/benches/eswitch.py).

Every measured frame is also checked against tb/ref/eswitch_model, so a bench run
that loses or corrupts frames fails instead of reporting a rate. Times are clock
edges recorded by the all-ports BFM of tb/eswitch/harness.py at each handshake:

- throughput of a path: frames / (last beat out - first beat out + 1) at the
  destination, sources driving back to back with no output backpressure;
- latency: first beat in to first beat out of the same frame, mean over frames.

Raw rows go to the JSON file named by ``ESW_BENCH_OUT``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cocotb

from sim.benches import BENCH_SIZES, CLOCK_HZ, line_rate_frames_per_cycle, write_measurements
from tb.eswitch.frames import ext_mac, mac_of, udp_frame
from tb.eswitch.harness import TB, program_functions, setup
from tb.eswitch.saturation import SHAPER_WINDOW, shaped_run
from tb.pf_driver.switch_regs import policy_writes
from tb.pf_driver.vf_state import rate_inc
from tb.ref.eswitch_model import Delivery, EswitchModel, PortPolicy

# Bytes sent per source and measurement: long enough that pipeline fill is a small
# part of the span at every size, and at least MIN_FRAMES frames per source.
BYTES_PER_SOURCE = 24_000
MIN_FRAMES = 40


def frames_for(size: int) -> int:
    return max(MIN_FRAMES, BYTES_PER_SOURCE // size)


@dataclass(frozen=True)
class Flow:
    src: int
    dst_port: int
    dst_mac: str
    vid: int | None = None  # 802.1Q tag on the frames as sent

    def frame(self, tb: TB, seq: int, size: int) -> bytes:
        """Frame ``seq`` of this flow; the sequence field carries ``1000 * src + seq``."""
        smac = mac_of(self.src) if self.src < tb.num_func else ext_mac(seq & 0xFFF)
        return udp_frame(self.dst_mac, smac, SRC_TAG * self.src + seq, size, self.vid, pcp=5)


SRC_TAG = 1000  # sequence numbers of source p are SRC_TAG * p + i, i < SRC_TAG


def parse_src(frame: bytes) -> int:
    """Source port of a bench frame, from its sequence number (after the UDP header)."""
    off = 46 if frame[12:14] == b"\x81\x00" else 42
    return int.from_bytes(frame[off : off + 4], "big") // SRC_TAG


async def measure(tb: TB, model: EswitchModel, flows: list[Flow], size: int, n: int) -> list[dict]:
    """Send ``n`` frames per flow at once; per flow: span at its output and latency."""
    assert n < SRC_TAG
    tb.clear_received()
    exp: list[Delivery] = []
    for seq in range(n):
        for flow in flows:
            fr = flow.frame(tb, seq, size)
            tb.send(flow.src, fr)
            exp += model.ingress(flow.src, fr)
    await tb.run_traffic(drain_cycles=16, max_cycles=400_000)
    tb.check(exp)
    rows = []
    for flow in flows:
        outs = [
            (t, fr)
            for t, (fr, _) in zip(
                tb.out_times[flow.dst_port], tb.received[flow.dst_port], strict=True
            )
            if parse_src(fr) == flow.src
        ]
        assert len(outs) == n, f"flow {flow}: {len(outs)} of {n} frames out"
        lat = [o[0][0] - i[0] for o, i in zip(outs, tb.in_times[flow.src], strict=True)]
        rows.append(
            {
                "src": flow.src,
                "dst": flow.dst_port,
                "frames": n,
                "cycles": outs[-1][0][1] - outs[0][0][0] + 1,
                "latency_cycles": sum(lat) / len(lat),
                "latency_min": min(lat),
                "out_bytes": len(outs[0][1]),
            }
        )
    return rows


def shares(tb: TB, out_port: int, sources: list[int]) -> tuple[dict[int, float], int]:
    """Per-source share of the frames ``out_port`` sent while every source still had
    frames waiting: up to the last frame of the first source to finish."""
    order = [parse_src(fr) for fr, _ in tb.received[out_port]]
    last = {s: max(i for i, o in enumerate(order) if o == s) for s in sources}
    window = order[: min(last.values()) + 1]
    return {s: window.count(s) / len(window) for s in sources}, len(window)


async def run_size(tb: TB, model: EswitchModel, size: int) -> list[dict]:
    """Every bench path at one frame size (the switch programmed by program_functions)."""
    up = tb.num_func
    vf1, vf2 = 1, 2 % tb.num_func
    ext = ext_mac(0xFFE)  # not in the table: unknown unicast from a function -> uplink
    singles = {
        "vf_to_uplink": Flow(vf1, up, ext),
        "uplink_to_vf": Flow(up, vf1, mac_of(vf1)),
        "vf_to_vf": Flow(vf1, vf2, mac_of(vf2)),
        "pf_to_vf": Flow(0, vf1, mac_of(vf1)),
    }
    # with a port VLAN on VF1: tag inserted towards the uplink, stripped towards VF1
    vlan_paths = {
        "vf_to_uplink_vlan_insert": Flow(vf1, up, ext),
        "uplink_to_vf_vlan_strip": Flow(up, vf1, mac_of(vf1), vid=100),
    }
    # a permutation: every input and every output carries exactly one flow
    disjoint = [
        Flow(p, (p + 1) % tb.num_ports, ext if p + 1 == up else mac_of((p + 1) % tb.num_ports))
        for p in range(tb.num_ports)
    ]
    all_up = [Flow(p, up, ext) for p in range(tb.num_func)]
    rows: list[dict] = []
    n = frames_for(size)
    for path, flow in singles.items():
        (r,) = await measure(tb, model, [flow], size, n)
        rows.append({"path": path, "frame_size": size, **r})
    await tb.program(model, policy_writes(vf1, PortPolicy(pvid=100, pcp=5)))
    for path, flow in vlan_paths.items():
        (r,) = await measure(tb, model, [flow], size, n)
        rows.append({"path": path, "frame_size": size, **r})
    await tb.program(model, policy_writes(vf1, PortPolicy()))

    pair_rows = await measure(tb, model, disjoint, size, n)
    worst = max(pair_rows, key=lambda r: r["cycles"])
    rows.append(
        {
            "path": "disjoint_pairs",
            "frame_size": size,
            **worst,
            "pairs": len(pair_rows),
            "pair_cycles": [r["cycles"] for r in pair_rows],
        }
    )

    src_rows = await measure(tb, model, all_up, size, n)
    got, window = shares(tb, up, [f.src for f in all_up])
    o = tb.out_times[up]
    rows.append(
        {
            "path": "all_to_uplink",
            "frame_size": size,
            "src": -1,
            "dst": up,
            "frames": len(o),
            "cycles": o[-1][1] - o[0][0] + 1,
            "latency_cycles": sum(r["latency_cycles"] for r in src_rows) / len(src_rows),
            "latency_min": min(r["latency_min"] for r in src_rows),
            "out_bytes": size,
            "sources": len(all_up),
            "share_window_frames": window,
            "shares": {str(s): v for s, v in got.items()},
        }
    )
    return rows


@cocotb.test()
async def bench_eswitch(dut):
    """Single paths, disjoint pairs at once, all functions to the uplink; every size."""
    out = Path(os.environ["ESW_BENCH_OUT"])
    tb, model = await setup(dut)
    await program_functions(tb, model)
    rows: list[dict] = []
    for size in BENCH_SIZES:
        rows += await run_size(tb, model, size)
        dut._log.info("size %d done at %d cycles", size, tb.cycles)
    write_measurements(out, rows)


# `ip link set ... max_tx_rate` figures of the shaper bench (Mbit/s), and the frames
# a window must hold so that one frame more or less stays within 1% (at 11 Mbit/s
# a 100,000-cycle window holds 550 bytes: less than nine 64-byte frames)
SHAPER_RATES_MBPS = (11, 1_000, 10_000, 50_000)
SHAPER_WINDOW_FRAMES = 100
SHAPER_WINDOWS = 3


async def shaper_rows(tb: TB, model: EswitchModel) -> list[dict]:
    """One shaped function saturating the uplink at each rate, converted by the PF
    driver as ``max_tx_rate``; windows of SHAPER_WINDOW cycles or of
    SHAPER_WINDOW_FRAMES frames' worth, whichever is longer."""
    rows = []
    for mbps in SHAPER_RATES_MBPS:
        inc = rate_inc(mbps)
        size = min(64, tb.keep_w)
        window = max(SHAPER_WINDOW, round(SHAPER_WINDOW_FRAMES * size * 65536 / inc))
        r = await shaped_run(tb, model, inc, SHAPER_WINDOWS, others=False, window=window)
        lo, hi = r.window_error
        rows.append(
            {
                "path": f"shaper_{mbps}mbps",
                "frame_size": size,
                "frames": r.frames,
                "cycles": r.cycles,
                "latency_cycles": 0.0,
                "extra": {
                    "max_tx_rate_mbps": mbps,
                    "rate_inc": inc,
                    "measured_mbps": r.frames * size * 8 * CLOCK_HZ / r.cycles / 1e6,
                    "rate_error": r.rate_error,
                    "window_cycles": window,
                    "window_error_min": lo,
                    "window_error_max": hi,
                    "drops": 0,
                },
            }
        )
        tb.dut._log.info(
            "shaper %d Mbit/s: %d frames in %d cycles, long run %+.3f%%, per %d-cycle "
            "window %+.3f%% .. %+.3f%%",
            mbps,
            r.frames,
            r.cycles,
            100 * r.rate_error,
            window,
            100 * lo,
            100 * hi,
        )
    return rows


@cocotb.test()
async def bench_shaper(dut):
    """TX shaper accuracy at 11 Mbit/s, 1, 10 and 50 Gbit/s (issue #16)."""
    out = Path(os.environ["ESW_BENCH_OUT"])
    tb, model = await setup(dut)
    await program_functions(tb, model)
    write_measurements(out, await shaper_rows(tb, model))


@cocotb.test()
async def test_line_rate(dut):
    """The acceptance of issue #4 in CI, at two sizes: every path's output is gapless
    (one beat per cycle: span == frames x beats), which is line rate from 256 bytes up;
    disjoint pairs all at once; each source's share of a contended uplink within 5%."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    for size in (256, 1518, 64):
        for r in await run_size(tb, model, size):
            beats = -(-r["out_bytes"] // tb.keep_w)
            dut._log.info(
                "%s %d B: %d frames in %d cycles", r["path"], size, r["frames"], r["cycles"]
            )
            assert r["cycles"] == r["frames"] * beats, f"{r['path']} {size} B: gaps at the output"
            ratio = r["frames"] / r["cycles"] / line_rate_frames_per_cycle(size)
            if size >= 256 and tb.keep_w >= 64:
                assert ratio >= 1.0, f"{r['path']} {size} B: line-rate ratio {ratio:.3f}"
            if "shares" in r:
                fair = 1 / r["sources"]
                for src, share in r["shares"].items():
                    err = abs(share - fair) / fair
                    assert err <= 0.05, f"{size} B: source {src} share {share:.3f}, fair {fair:.3f}"
