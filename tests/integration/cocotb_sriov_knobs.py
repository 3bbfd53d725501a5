"""cocotb tests of the PF driver's ``ip link`` knobs on nic_top: kernel-style
validation and enforcement on traffic, ``max_tx_rate`` shaping end to end, and
a disabled VF.

Expectations come from the documented register layout (tb/ref/regmap.py,
docs/ARCHITECTURE.md), the ixgbe policy as the kernel implements it, and what
the test itself sent; never from the code under test reporting on itself.
"""

from __future__ import annotations

import errno

import cocotb
from cocotb.utils import get_time_from_sim_steps

from tb.guest.flows import UdpFlow
from tb.net.pcap import NS_PER_CYCLE
from tb.pf_driver.knobs import ETH_P_8021AD, VfConfigError
from tb.pf_driver.vf_state import rate_inc
from tb.ref.eswitch_model import (
    CTRL_LINK_SHIFT,
    CTRL_SPOOFCHK,
    CTRL_TRUST,
    CTRL_VLAN_FILTER,
    PORT_CTRL,
    RATE_INC,
)
from tb.ref.regmap import (
    ABSENT_READ,
    MBX_REQ,
    MBX_RSTD,
    Func,
    Pf,
    PfMbx,
    Queue,
    VfAdmin,
    VfMbx,
    pf_mbx_reg,
    queue_reg,
    vf_admin_reg,
)
from tests.integration.sriov_harness import EXT_MAC, make_tb, pol, vf_mac


# ------------------------------------------------------------------- PF knobs
@cocotb.test(timeout_time=2, timeout_unit="ms")
async def pf_knobs(dut) -> None:
    """Kernel-style validation of every knob, then the knobs enforced on traffic."""
    tb, _irq = await make_tb(dut, seed=6)
    pf = tb.pf
    await pf.enable_sriov(tb.num_vf, apply_policy=True)
    bad = [
        (pf.set_vf_mac(tb.num_vf, "02:00:00:00:00:01"), errno.EINVAL),
        (pf.set_vf_mac(-1, "02:00:00:00:00:01"), errno.EINVAL),
        (pf.set_vf_mac(0, "01:00:00:00:00:01"), errno.EINVAL),
        (pf.set_vf_mac(0, "02:00:00:00:01"), errno.EINVAL),
        (pf.set_vf_vlan(0, 4096), errno.EINVAL),
        (pf.set_vf_vlan(0, 10, qos=8), errno.EINVAL),
        (pf.set_vf_vlan(0, 10, proto=ETH_P_8021AD), errno.EPROTONOSUPPORT),
        (pf.set_vf_vlan(0, 10, proto=0x0800), errno.EPROTONOSUPPORT),
        (pf.set_vf_vlan(5, 10), errno.EINVAL),
        (pf.set_vf_rate(0, 10), errno.EINVAL),
        (pf.set_vf_rate(0, 100_001), errno.EINVAL),
        (pf.set_vf_rate(0, 1000, min_tx_rate=100), errno.EINVAL),
        (pf.set_vf_link_state(0, "up"), errno.EINVAL),
        (pf.set_vf_spoofchk(9, True), errno.EINVAL),
        (pf.set_vf_trust(tb.num_vf, True), errno.EINVAL),
    ]
    writes = tb.mmio.writes
    for coro, err in bad:
        try:
            await coro
        except VfConfigError as e:
            assert e.errno == err, (e, err)
        else:
            raise AssertionError(f"{coro} accepted")
    assert tb.mmio.writes == writes, "a refused knob wrote a register"

    await pf.set_vf_mac(0, vf_mac(1))
    await pf.set_vf_spoofchk(0, True)
    await pf.set_vf_rate(0, 5000)
    info = pf.vf_info(0)
    assert info.line() == (
        f"vf 0     link/ether {vf_mac(1)} brd ff:ff:ff:ff:ff:ff, max_tx_rate 5000Mbps, "
        "spoof checking on, link-state auto, trust off"
    )
    # 5000 Mbit/s at 250 MHz = 2.5 bytes/cycle = 163840/65536.
    assert rate_inc(5000) == 163840
    assert await tb.bar(0).read(pol(1, RATE_INC)) == (1 << 31) | 163840
    ctrl = await tb.bar(0).read(pol(1, PORT_CTRL))
    assert ctrl & (CTRL_SPOOFCHK | CTRL_VLAN_FILTER) == CTRL_SPOOFCHK | CTRL_VLAN_FILTER
    assert ctrl & CTRL_TRUST == 0
    await pf.set_vf_rate(0, 0)

    # Traffic: a good frame leaves, a spoofed one is dropped and counted.
    txq, _ = tb.queues(1, size_log2=5)
    await txq.open()
    good = UdpFlow(1, vf_mac(1), EXT_MAC, "10.0.0.1", "10.0.0.9", rng=tb.rng).frame(128)
    spoof = UdpFlow(2, "02:66:66:66:66:66", EXT_MAC, "10.0.0.6", "10.0.0.9", rng=tb.rng).frame(128)
    for fr in (spoof, good, spoof):
        txq.post(fr)
    await txq.ring_doorbell()
    got = bytes((await tb.wire_out.recv()).tdata)
    assert got == good
    await tb.settle(300)
    assert tb.wire_out.count() == 0
    st = await pf.vf_stats(0)
    assert st["tx_packets"] == 3 and st["tx_dropped_spoof"] == 2 and st["tx_dropped"] == 2
    assert st["tx_bytes"] == 3 * 128
    # spoofchk off: the same frame passes.
    await pf.set_vf_spoofchk(0, False)
    txq.post(spoof)
    await txq.ring_doorbell()
    assert bytes((await tb.wire_out.recv()).tdata) == spoof
    # Port VLAN with QoS: the frame leaves tagged {PCP, VID}.
    await pf.set_vf_vlan(0, 100, qos=5)
    assert (
        pf.vf_info(0)
        .line()
        .startswith(f"vf 0     link/ether {vf_mac(1)} brd ff:ff:ff:ff:ff:ff, vlan 100, qos 5, ")
    )
    txq.post(good)
    await txq.ring_doorbell()
    tagged = bytes((await tb.wire_out.recv()).tdata)
    assert tagged[:12] == good[:12] and tagged[12:16] == bytes([0x81, 0x00, 0xA0, 100])
    assert tagged[16:] == good[12:]
    await pf.set_vf_vlan(0, 0)
    # Link state disable: dropped as link down.
    await pf.set_vf_link_state(0, "disable")
    assert (await tb.bar(0).read(pol(1, PORT_CTRL)) >> CTRL_LINK_SHIFT) & 3 == 2
    txq.post(good)
    await txq.ring_doorbell()
    await tb.settle(300)
    assert tb.wire_out.count() == 0
    assert (await pf.vf_stats(0))["tx_dropped_link_down"] == 1
    # VF 2's counters saw none of this.
    st2 = await pf.vf_stats(1)
    assert st2["tx_packets"] == 0 and st2["tx_dropped"] == 0


SHAPED_MBPS = 10_000  # 5 bytes per cycle at 250 MHz


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def shaped_vf(dut) -> None:
    """``max_tx_rate`` shapes end to end on the RTL: VF 0 at 10 Gbit/s posts 96
    frames of 1518 bytes at once, far over its rate and its 18,036-byte burst.
    Every frame leaves on the wire, byte-exact and in order, none is dropped, and
    after the burst they leave at the configured rate within 2 %; VF 1 sending to
    the PF meanwhile is as fast as alone, less the bus share of VF 0's rate."""
    tb, _irq = await make_tb(dut, seed=12)
    pf = tb.pf
    await pf.enable_sriov(tb.num_vf)
    await pf.set_vf_rate(0, SHAPED_MBPS)
    await pf.add_fdb(vf_mac(0), port=0)
    n, size = 96, 1518
    txq1, _ = tb.queues(1, size_log2=7)
    txq2, _ = tb.queues(2, size_log2=8)  # both runs' frames
    _, rxq0 = tb.queues(0, size_log2=8)
    for q in (txq1, txq2, rxq0):
        await q.open()
    shaped = UdpFlow(1, vf_mac(1), EXT_MAC, "10.0.0.1", "10.0.0.9", rng=tb.rng)
    free = UdpFlow(2, vf_mac(2), vf_mac(0), "10.0.0.2", "10.0.0.10", rng=tb.rng)
    frames1 = [shaped.frame(size) for _ in range(n)]
    frames2 = [free.frame(size) for _ in range(n)]

    async def free_run() -> int:
        """VF 1's frames to the PF; cycles until the PF has them all."""
        t = tb.cycle()
        for b in frames2:
            txq2.post(b)
        await txq2.ring_doorbell()
        got = []
        while len(got) < n:
            got += await rxq0.wait_reaped()
        assert [g.data for g in got] == frames2
        return tb.cycle() - t

    alone = await free_run()  # VF 1 with the host bus to itself
    for a in frames1:
        txq1.post(a)
    t0 = tb.cycle()
    await txq1.ring_doorbell()
    # VF 0 first fills its TX FIFO (512 beats) and spends its burst at full speed,
    # sharing the bus fairly; then it is held to its rate, and VF 1 runs beside it.
    await tb.cycles(3000)
    free_cycles = await free_run()
    out = [await tb.wire_out.recv() for _ in range(n)]
    assert [bytes(o.tdata) for o in out] == frames1, "shaped VF: frames lost, changed or reordered"
    # After the burst (18,036 bytes: 12 frames) the rate is the configured one.
    # the sink stamps frames in simulator steps
    ends = [int(get_time_from_sim_steps(o.sim_time_end, "ns")) // NS_PER_CYCLE for o in out]
    k0 = 20
    rate = (n - 1 - k0) * size / (ends[-1] - ends[k0])
    want = SHAPED_MBPS * 1e6 / 8 / 250e6
    shaped_cycles = ends[-1] - t0
    dut._log.info(
        "shaped VF: %d frames in %d cycles, %.3f B/cycle after the burst (want %.3f); "
        "free VF: %d frames in %d cycles (%d with the bus to itself)",
        n,
        shaped_cycles,
        rate,
        want,
        n,
        free_cycles,
        alone,
    )
    assert abs(rate - want) <= 0.02 * want, (rate, want)
    st = await pf.vf_stats(0)
    assert st["tx_packets"] == n and st["tx_dropped"] == 0, st
    assert st["tx_dropped_abandoned"] == 0, st
    # VF 1 is not held back by VF 0's shaper: beside a shaped VF it loses at most
    # the host-bus share VF 0's frames take at their rate (5 of 64 bytes per cycle).
    assert free_cycles <= alone * tb.data_bytes / (tb.data_bytes - want), (free_cycles, alone)
    await pf.set_vf_rate(0, 0)


# ---------------------------------------------------------------- disabled VF
@cocotb.test(timeout_time=2, timeout_unit="ms")
async def disabled_vf(dut) -> None:
    """A disabled VF reads all ones, ignores writes and moves no data."""
    tb, irq = await make_tb(dut, seed=8)
    await tb.pf.enable_sriov(tb.num_vf)
    txq, _ = tb.queues(2, size_log2=5)
    await txq.open()
    await tb.pf.enable_sriov(1)  # VF 2 disabled with its queue enabled
    flow = UdpFlow(1, vf_mac(2), EXT_MAC, "10.0.0.2", "10.0.0.9", rng=tb.rng)
    for _ in range(4):
        txq.post(flow.frame(256))
    stats_before = tb.host_bus.stats.per_func[2].read_bursts
    irq_before = sum(irq.count(2, v) for v in range(8))
    await txq.ring_doorbell()  # ignored
    for addr in (Func.FUNC_ID, queue_reg(0, Queue.TXQ_PROD), VfMbx.CTRL, VfMbx.INFO, 0x20000):
        assert await tb.bar(2).read(addr) == ABSENT_READ, hex(addr)
    await tb.bar(2).write(VfMbx.VF_MSG, 0x1234)
    await tb.bar(2).write(VfMbx.CTRL, MBX_REQ)
    await tb.settle(2000)
    assert tb.host_bus.stats.per_func[2].read_bursts == stats_before
    assert tb.wire_out.count() == 0
    assert sum(irq.count(2, v) for v in range(8)) == irq_before
    assert await tb.bar(0).read(Pf.MBX_VFREQ) == 0
    assert await tb.bar(0).read(pf_mbx_reg(2, PfMbx.VF_MSG)) == 0
    assert await tb.bar(0).read(vf_admin_reg(2, VfAdmin.STATUS)) == 0
    # PF FLR of a disabled VF is refused by the driver (index out of range).
    try:
        await tb.pf.reset_vf(1)
    except VfConfigError as e:
        assert e.errno == errno.EINVAL
    else:
        raise AssertionError("reset of a disabled VF accepted")
    # Re-enabled, the VF comes back reset: the queue is off and nothing was sent.
    await tb.pf.enable_sriov(2)
    assert await tb.bar(2).read(queue_reg(0, Queue.TXQ_CTRL)) == 0
    assert await tb.bar(2).read(queue_reg(0, Queue.TXQ_PROD)) == 0
    assert await tb.bar(2).read(VfMbx.CTRL) == MBX_RSTD
    await tb.settle(500)
    assert tb.host_bus.stats.per_func[2].read_bursts == stats_before
    assert tb.wire_out.count() == 0
