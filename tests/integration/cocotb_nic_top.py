"""cocotb tests of the integrated NIC: register routing, SR-IOV enable, the TX/RX slice."""

from __future__ import annotations

import cocotb

from tb.env import NicTb, TbConfig
from tb.guest.flows import UdpFlow, parse_flow
from tb.ref.layouts import RxCompletion
from tb.ref.regmap import ABSENT_READ, FUNC_ID_MAGIC, Func, Pf, Queue, queue_reg

EXT_MAC = "02:00:00:00:ff:01"


def vf_mac(f: int) -> str:
    return f"02:00:00:00:00:{f:02x}"


async def make_tb(dut, seed: int = 1) -> NicTb:
    tb = NicTb(dut, TbConfig(seed=seed, read_latency=40))
    await tb.reset()
    await tb.pf.probe()
    return tb


@cocotb.test()
async def register_routing(dut) -> None:
    """Each function reads its own identity; disabled and absent functions read all ones."""
    tb = await make_tb(dut)
    assert tb.pf.total_vfs == tb.num_vf
    pf_id = await tb.bar(0).read(Func.FUNC_ID)
    assert pf_id == (FUNC_ID_MAGIC << 16) | (int(dut.NUM_QUEUES.value) << 8) | 0, hex(pf_id)
    # Before SR-IOV enable, every VF is absent.
    for f in range(1, tb.num_func):
        assert await tb.bar(f).read(Func.FUNC_ID) == ABSENT_READ
    await tb.pf.enable_sriov(1)
    vf1 = await tb.bar(1).read(Func.FUNC_ID)
    assert vf1 & 0xFF == 1 and vf1 >> 16 == FUNC_ID_MAGIC, hex(vf1)
    if tb.num_vf >= 2:
        assert await tb.bar(2).read(Func.FUNC_ID) == ABSENT_READ
    # A function number beyond the last VF does not exist.
    assert await tb.bar(tb.num_func).read(Func.FUNC_ID) == ABSENT_READ
    # A VF cannot reach the switch or the PF window: they are not in its space.
    assert await tb.bar(1).read(Pf.PF_ID) == 0
    # NumVFs above TotalVFs is refused by the hardware.
    await tb.bar(0).write(Pf.NUM_VFS, tb.num_vf + 1)
    assert await tb.bar(0).read(Pf.NUM_VFS) == 1
    # Queue registers are per function: a write to VF1's ring base leaves the PF's alone.
    reg = queue_reg(0, Queue.TXQ_BASE_LO)
    await tb.bar(1).write(reg, 0x1234_5640)
    assert await tb.bar(1).read(reg) == 0x1234_5640
    assert await tb.bar(0).read(reg) == 0


@cocotb.test()
async def tx_to_uplink(dut) -> None:
    """Frames on a VF's TX ring leave on the uplink unchanged, with a good completion each."""
    tb = await make_tb(dut, seed=2)
    await tb.pf.enable_sriov(tb.num_vf)
    txq, _ = tb.queues(1)
    await txq.open()
    flow = UdpFlow(1, vf_mac(1), EXT_MAC, "10.0.0.1", "10.0.0.254", rng=tb.rng)
    sent = []
    for size in (60, 64, 65, 127, 300, 1514, 1518):
        frame = flow.frame(size)
        txq.post(frame, offsets=[tb.rng.randrange(64)])
        sent.append(frame)
    await txq.ring_doorbell()
    for want in sent:
        got = bytes((await tb.wire_out.recv()).tdata)
        assert got == want, f"uplink frame differs: {len(got)} vs {len(want)} bytes"
    done = []
    while len(done) < len(sent):
        done += await txq.wait_reaped()
    for tx in done:
        assert tx.completion is not None
        assert tx.completion.status == 0
        assert tx.completion.desc_idx == tx.last_slot
        assert tx.completion.length == len(tx.data)
    stats = await tb.pf.port_stats(1)
    assert stats["rx_packets"] == len(sent)
    assert stats["rx_bytes"] == sum(map(len, sent))


@cocotb.test()
async def rx_from_uplink(dut) -> None:
    """Frames from the wire reach the VF that owns the destination MAC, spanning buffers."""
    tb = await make_tb(dut, seed=3)
    await tb.pf.enable_sriov(tb.num_vf)
    rx = {}
    for f in (1, 2):
        _, rxq = tb.queues(f)
        rxq.buf_len = 512  # small buffers: a 1518-byte frame spans three
        await rxq.open()
        rx[f] = rxq
        await tb.pf.add_fdb(vf_mac(f), port=f)
    flows = {f: UdpFlow(f, EXT_MAC, vf_mac(f), "10.0.0.254", f"10.0.0.{f}", rng=tb.rng) for f in rx}
    expect: dict[int, list[bytes]] = {1: [], 2: []}
    for size in (60, 511, 512, 513, 1518, 200):
        for f in (1, 2):
            frame = flows[f].frame(size)
            expect[f].append(frame)
            await tb.wire_in.send(frame)
    # A frame for nobody is dropped, not delivered.
    await tb.wire_in.send(UdpFlow(9, EXT_MAC, "02:00:00:00:00:77", "1.1.1.1", "2.2.2.2").frame(64))
    for f in (1, 2):
        got = []
        while len(got) < len(expect[f]):
            got += await rx[f].wait_reaped()
        for want, fr in zip(expect[f], got, strict=True):
            assert fr.data == want
            c: RxCompletion = fr.completion
            assert c.status == 0 and c.length == len(want)
            assert c.num_bufs == -(-len(want) // 512)
            assert parse_flow(fr.data) is not None
    await tb.settle(100)
    assert (await tb.pf.port_stats(tb.num_func))["rx_dropped_no_route"] == 1
    assert not rx[1].reap() and not rx[2].reap()


@cocotb.test()
async def vf_to_vf_stays_local(dut) -> None:
    """A frame from VF1 to VF2's MAC is switched inside the NIC and never reaches the wire."""
    tb = await make_tb(dut, seed=4)
    await tb.pf.enable_sriov(tb.num_vf)
    txq, _ = tb.queues(1)
    _, rxq = tb.queues(2)
    await txq.open()
    await rxq.open()
    await tb.pf.add_fdb(vf_mac(2), port=2)
    flow = UdpFlow(3, vf_mac(1), vf_mac(2), "10.0.0.1", "10.0.0.2", rng=tb.rng)
    frames = [flow.frame(s) for s in (64, 700, 1518)]
    for fr in frames:
        txq.post(fr, split=[20, len(fr) - 20], offsets=[5, 33])
    await txq.ring_doorbell()
    got = []
    while len(got) < len(frames):
        got += await rxq.wait_reaped()
    assert [g.data for g in got] == frames
    await tb.settle(200)
    assert tb.wire_out.count() == 0
    assert (await tb.pf.port_stats(tb.num_func))["tx_packets"] == 0
