"""cocotb tests of the embedded switch (``rtl/eswitch.sv``): registers and forwarding.

Register identity and read-back, unicast / broadcast / multicast delivery,
length checks and concurrent throughput, every output frame and counter checked
against tb/ref/eswitch_model through the harness of tb/eswitch/.
"""

from __future__ import annotations

import cocotb

from tb.eswitch.frames import ext_mac, mac_of, raw_frame, udp_frame
from tb.eswitch.harness import program_functions, setup
from tb.pf_driver.switch_regs import entry_writes
from tb.ref.eswitch_model import (
    ESW_CAPS,
    ESW_CTRL,
    ESW_CTRL_CLEAR_COUNTERS,
    ESW_ID,
    MACT_BASE,
    MACT_STRIDE,
    Counter,
    Delivery,
    TxMeta,
    counter_addr,
)
from tb.ref.regs import MacEntry


@cocotb.test()
async def test_registers(dut):
    """ESW_ID, ESW_CAPS, table read-back, unmapped reads are zero."""
    tb, model = await setup(dut)
    assert await tb.regs.read(ESW_ID) == model.esw_id()
    caps = await tb.regs.read(ESW_CAPS)
    assert caps & 0xFFFF == len(model.table)
    writes = entry_writes(len(model.table) - 1, "12:34:56:78:9a:bc", 0xABC, 2)
    await tb.regs.apply(writes)
    for addr, value in writes:
        assert await tb.regs.read(addr) == value, hex(addr)
    ctrl = MACT_BASE + MACT_STRIDE * (len(model.table) - 1) + MacEntry.CTRL
    await tb.regs.write(ctrl, 0)
    assert await tb.regs.read(ctrl) == 0
    for addr in (0x0010, 0x0100, 0x1FF0, 0x3FFC, counter_addr(tb.num_ports, Counter.RX_FRAMES)):
        assert await tb.regs.read(addr) == 0, hex(addr)


@cocotb.test()
async def test_unicast(dut):
    """Local delivery between functions, unknown to uplink, uplink hit / miss."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    exp: list[Delivery] = []
    seq = 0
    for src in range(tb.num_ports):
        for dst in range(tb.num_func):
            for vid in (None, 100, 5):
                seq += 1
                f = udp_frame(mac_of(dst), mac_of(src), seq, 60 + 37 * seq % 200, vid)
                tb.send(src, f)
                exp += model.ingress(src, f, TxMeta(src_func=src))
        seq += 1
        f = udp_frame(ext_mac(seq), mac_of(src), seq, 64)
        tb.send(src, f)
        exp += model.ingress(src, f)
    await tb.run_traffic()
    tb.check(exp)
    await tb.check_counters(model)
    dut._log.info("unicast: %d deliveries in %d cycles", len(exp), tb.cycles)


@cocotb.test()
async def test_broadcast(dut):
    """Broadcast and multicast are replicated to every other port."""
    tb, model = await setup(dut, out_ready_p=0.7)
    await program_functions(tb, model)
    exp: list[Delivery] = []
    for i in range(6):
        for src in range(tb.num_ports):
            dst = "ff:ff:ff:ff:ff:ff" if i % 2 == 0 else "01:00:5e:00:00:01"
            f = udp_frame(dst, mac_of(src), 100 * src + i, 64 + 150 * i)
            tb.send(src, f)
            exp += model.ingress(src, f)
    await tb.run_traffic()
    tb.check(exp)
    await tb.check_counters(model)


@cocotb.test()
async def test_length_checks(dut):
    """Runts and oversize frames are dropped and counted; limits are inclusive."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    exp: list[Delivery] = []
    sizes = [1, 13, 14, 15, 60, model.max_bytes, model.max_bytes + 1, model.max_bytes + 200]
    for i, n in enumerate(sizes):
        for src in (0, tb.num_func):
            f = raw_frame(mac_of(1) if src == tb.num_func else ext_mac(1), mac_of(src), i, n)
            tb.send(src, f)
            exp += model.ingress(src, f)
    await tb.run_traffic()
    tb.check(exp)
    await tb.check_counters(model)
    await tb.regs.write(ESW_CTRL, ESW_CTRL_CLEAR_COUNTERS)
    model.clear_counters()
    await tb.check_counters(model)


@cocotb.test()
async def test_throughput(dut):
    """Disjoint pairs run concurrently at one beat per cycle each."""
    tb, model = await setup(dut)
    await program_functions(tb, model)
    exp: list[Delivery] = []
    n = 40
    # port p -> port p+1 (mod functions), uplink -> function 0 ... disjoint outputs
    pairs = [(f, (f + 1) % tb.num_func) for f in range(tb.num_func)]
    for i in range(n):
        for src, dst in pairs:
            f = udp_frame(mac_of(dst), mac_of(src), i, 256)
            tb.send(src, f)
            exp += model.ingress(src, f)
    await tb.run_traffic(drain_cycles=8)
    tb.check(exp)
    beats = len(exp) * (256 // tb.keep_w)
    cycles = tb.cycles - 8
    rate = beats / cycles
    dut._log.info("throughput: %d beats over %d outputs in %d cycles", beats, len(pairs), cycles)
    # store-and-forward adds a fixed latency; steady state must be ~1 beat/cycle/output
    assert rate > 0.8 * len(pairs), f"aggregate {rate:.2f} beats/cycle for {len(pairs)} pairs"
