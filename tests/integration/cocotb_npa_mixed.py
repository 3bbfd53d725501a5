"""NPA with both vendors' VFs on one NIC: VF1 ring format A, VF2 ring format B (UPT).

Runs on a 2-VF top built with ``VF_RING_FMT`` = 2. Two VMs boot on the emulated
vmxnet3 device; the hypervisor reads each VF's ``FUNC_PCI_ID`` and injects that
vendor's plugin, so vm1 (VF1) runs vendor A's ``RingAPlugin`` (its own format-A rings,
descriptors translated) and vm2 (VF2) vendor B's ``RingBPlugin`` (the VF serves the
shell's own vmxnet3 rings). UDP flows run between each VM and the outside host and
between the VMs, through every switch-over (attach, detach with frames queued both
ways, attach again); every flow is checked for loss, duplication, reordering and
corruption against payloads the receiver recomputes, and every frame not delivered
must be at a drop point that names it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import cocotb

from tb.datacenter.workload import Flow
from tb.env import NicTb, TbConfig
from tb.guest.flow_receiver import FlowReceiver
from tb.guest.flows import parse_flow
from tb.guest.stack import InterfaceConfig, NetStack, TxOutcome
from tb.hypervisor.npa import NpaHost
from tb.hypervisor.npa_vm import NpaVm
from tb.net.external_host import ExternalHost
from tb.plugin_model import RingAPlugin, RingBPlugin, ring_a_image
from tb.ref.regmap import RING_A_IDENTITY, RING_B_IDENTITY, Func, Queue, queue_reg
from tb.shell_model.npa_shell import ShellMode

EXT_MAC, EXT_IP = "02:00:00:00:ff:01", "10.0.0.254"
VMS = {  # name: (MAC, IP, VF)
    "vm1": ("02:00:00:00:01:01", "10.0.0.1", 0),
    "vm2": ("02:00:00:00:02:01", "10.0.0.2", 1),
}
SIZES = (64, 1518, 300, 1000, 128, 576)
VM_MEM = 8 << 20  # vendor A's plugin takes 2.4 MB of the VM at each attach (docs/NPA.md)
PACE = 120  # cycles between rounds (one frame of every flow per round)
PHASE = 24  # rounds per phase
BURST = 24  # frames queued at once each way right before a switch-over
QUIET = 20_000  # cycles without an arrival that end the wait for the rest
CAPPED_MBPS = 1_000  # VF2's max_tx_rate before the second detach: 0.5 bytes per cycle
CAPPED_CYCLES = 8_000  # how long it is held back


@dataclass
class Mixed:
    """Two VMs, the outside host and the six flows between them."""

    tb: NicTb
    host: NpaHost
    vms: dict[str, NpaVm]
    ext: ExternalHost
    flows: list[Flow] = field(default_factory=list)
    refused: list[bytes] = field(default_factory=list)  # frames a guest stack refused
    reasons: Counter[str] = field(default_factory=Counter)  # lost frames by drop point

    def send_round(self) -> None:
        for f in self.flows:
            out = f.sender.send_flow(f.flow, SIZES[(f.sent + f.flow.flow_id) % len(SIZES)])
            assert out is not TxOutcome.NO_ROUTE, f.name
            f.sent += 1

    async def rounds(self, n: int, pace: int = PACE) -> None:
        for _ in range(n):
            self.send_round()
            if pace:
                await self.tb.cycles(pace)

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """Per flow: frames sent and received so far."""
        return {f.name: (f.sent, f.rx.stats(f.flow.flow_id).received) for f in self.flows}

    def since(
        self, snap: dict[str, tuple[int, int]]
    ) -> tuple[Callable[..., int], Callable[..., int]]:
        """Frames sent and received since ``snap``, summed over the flows named."""
        now = self.snapshot()

        def sent(*names: str) -> int:
            return sum(now[n][0] - snap[n][0] for n in names)

        def got(*names: str) -> int:
            return sum(now[n][1] - snap[n][1] for n in names)

        return sent, got

    def received(self) -> int:
        return sum(f.rx.stats(f.flow.flow_id).received for f in self.flows)

    async def settle(self) -> None:
        """Until every frame arrived, or none arrived for QUIET cycles."""
        quiet, last = 0, self.received()
        while last < sum(f.sent for f in self.flows) and quiet < QUIET:
            await self.tb.cycles(500)
            now = self.received()
            quiet = 0 if now != last else quiet + 500
            last = now

    def check(self) -> dict[str, int]:
        """Every flow in order, intact, each loss at a drop point that names the frame;
        returns the losses per flow."""
        named: Counter[int] = Counter()
        self.reasons.clear()
        for where, reason, frame in self.host.vswitch.dropped:
            if (ids := parse_flow(frame)) is not None:
                named[ids[0]] += 1
                self.reasons[f"flow {ids[0]}: {where} {reason}"] += 1
        for frame in self.refused:
            if (ids := parse_flow(frame)) is not None:
                named[ids[0]] += 1
                self.reasons[f"flow {ids[0]}: guest stack refused"] += 1
        lost = {}
        for f in self.flows:
            f.rx.set_sent(f.flow.flow_id, f.sent)
            st = f.rx.stats(f.flow.flow_id)
            assert (st.duplicated, st.reordered, st.corrupted) == (0, 0, 0), (f.name, st)
            assert st.lost == named[f.flow.flow_id], (
                f"{f.name}: {st.lost} lost, {named[f.flow.flow_id]} at a named drop point; "
                f"missing {sorted(set(range(f.sent)) - st.seen)[:20]}"
            )
            lost[f.name] = st.lost
        return lost


async def bring_up(dut) -> Mixed:
    tb = NicTb(dut, TbConfig(seed=21, vm_vfs=(1, 2)))
    await tb.reset()
    await tb.pf.probe()
    await tb.pf.enable_sriov(tb.num_vf)
    host = await tb.npa_host()
    ext = ExternalHost(InterfaceConfig(EXT_MAC, EXT_IP), tb.wire_in.send_nowait, now=tb.now_ns)
    cocotb.start_soon(ext.pump(tb.wire_out))
    m = Mixed(tb, host, {}, ext)
    stacks: dict[str, NetStack] = {}
    sinks: dict[str, FlowReceiver] = {}
    for name, (mac, ip, _) in VMS.items():
        v = await host.boot_vm(name, mac, VM_MEM)
        stack = NetStack(InterfaceConfig(mac, ip), v.shell.xmit, now=tb.now_ns, name=name)
        sink = FlowReceiver()
        stack.bind_udp(6000, sink.deliver)

        def receive(frame: bytes, stack: NetStack = stack) -> None:
            before = stack.counters.foreign_total()
            stack.receive(frame)
            if stack.counters.foreign_total() != before:
                m.refused.append(frame)

        v.shell.receiver = receive
        m.vms[name], stacks[name], sinks[name] = v, stack, sink
    s1, s2 = stacks["vm1"], stacks["vm2"]
    ip1, ip2 = VMS["vm1"][1], VMS["vm2"][1]
    m.flows = [
        Flow("vm1 -> outside", s1.udp_flow(1, EXT_IP), s1, ext.sink),
        Flow("outside -> vm1", ext.source(2, ip1), ext, sinks["vm1"]),
        Flow("vm2 -> outside", s2.udp_flow(3, EXT_IP), s2, ext.sink),
        Flow("outside -> vm2", ext.source(4, ip2), ext, sinks["vm2"]),
        Flow("vm1 -> vm2", s1.udp_flow(5, ip2), s1, sinks["vm2"]),
        Flow("vm2 -> vm1", s2.udp_flow(6, ip1), s2, sinks["vm1"]),
    ]
    pings = [s1.ping(EXT_IP, 1), s2.ping(EXT_IP, 1), s1.ping(ip2, 1)]  # every ARP cache
    await tb.wait_until("pings", lambda: all(p.received == 1 for p in pings))
    return m


async def port_counts(tb: NicTb) -> dict[int, dict[str, int]]:
    """Switch counters of the PF's port (0) and both VFs' (1, 2)."""
    return {p: await tb.pf.port_stats(p) for p in range(3)}


def delta(a: dict[int, dict[str, int]], b: dict[int, dict[str, int]], port: int, k: str) -> int:
    return b[port][k] - a[port][k]


@cocotb.test()
async def npa_two_vendors(dut) -> None:
    """vm1 on vendor A's VF, vm2 on vendor B's, both ways, back to emulation and again."""
    assert int(dut.NUM_VF.value) == 2
    m = await bring_up(dut)
    tb, host = m.tb, m.host
    v1, v2 = m.vms["vm1"], m.vms["vm2"]
    assert await host.vf_identity(1) == RING_A_IDENTITY
    assert await host.vf_identity(2) == RING_B_IDENTITY

    # 1. Emulated: everything crosses the switch through the PF's port.
    before = await port_counts(tb)
    await m.rounds(PHASE)
    await m.settle()
    after = await port_counts(tb)
    # the frames to the outside via the PF's port (the vswitch delivers VM to VM itself)
    assert delta(before, after, 0, "rx_packets") >= 2 * PHASE
    assert delta(before, after, 1, "rx_packets") == delta(before, after, 2, "rx_packets") == 0

    for lap in range(2):  # attach, traffic, detach under load; then all of it again
        # 2. Each VM gets its vendor's plugin, chosen by the VF's FUNC_PCI_ID.
        await m.rounds(BURST // 4, pace=0)  # frames queued on the emulated path
        for name in VMS:
            assert await host.attach_vf(name, VMS[name][2]), f"{name}: plugin refused"
        assert isinstance(v1.shell.plugin, RingAPlugin), lap
        assert isinstance(v2.shell.plugin, RingBPlugin), lap
        assert [h.reason for h in v2.shell.history if h.mode is ShellMode.PLUGIN] == [
            "sriovnic-vf-b"
        ] * (lap + 1)
        await m.settle()  # what was queued on the emulated path arrives first

        # The plugin phase: nothing crosses the PF's port, vm2's frames cross VF2's.
        plugin_b = v2.shell.plugin
        b0 = dict(plugin_b.stats)
        emu_tx0 = v2.device.counters.tx.ucast_pkts_tx_ok
        before = await port_counts(tb)
        snap = m.snapshot()
        await m.rounds(PHASE)
        await m.settle()
        after = await port_counts(tb)
        sent, got = m.since(snap)

        to_vm2 = ("outside -> vm2", "vm1 -> vm2")
        assert got(*to_vm2) == sent(*to_vm2), "frames to vm2 lost on its VF"
        assert delta(before, after, 2, "rx_packets") == sent("vm2 -> outside", "vm2 -> vm1")
        assert delta(before, after, 2, "tx_packets") == got(*to_vm2)
        assert delta(before, after, 1, "rx_packets") == sent("vm1 -> outside", "vm1 -> vm2")
        assert delta(before, after, 0, "rx_packets") == delta(before, after, 0, "tx_packets") == 0
        assert v2.device.counters.tx.ucast_pkts_tx_ok == emu_tx0  # not the emulated path
        # The VF's own completions, seen by vendor B's plugin: one per frame each way.
        assert plugin_b.stats["tx_completed"] - b0.get("tx_completed", 0) == sent(
            "vm2 -> outside", "vm2 -> vm1"
        )
        assert plugin_b.stats["rx_delivered"] - b0.get("rx_delivered", 0) == got(*to_vm2)
        tb.dut._log.info(
            "lap %d on the VFs: vm2 (vendor B) sent %d, received %d through VF2",
            lap,
            delta(before, after, 2, "rx_packets"),
            delta(before, after, 2, "tx_packets"),
        )

        # 3. Back to emulation with frames queued both ways on both VMs.
        # RXQ_DROPS so far (broadcasts that met a VF before its plugin was up) and what
        # the released VFs' counters held: a detach must add nothing to them.
        drops0 = {}
        for n in VMS:
            now = await tb.bar(1 + VMS[n][2]).read(queue_reg(0, Queue.RXQ_DROPS))
            drops0[n] = host.vf_rx_drops.get(n, 0) + now
        if lap:  # VF2 held back by a rate cap: a backlog builds up in the shell's ring
            await tb.pf.set_vf_rate(VMS["vm2"][2], CAPPED_MBPS)
        await m.rounds(BURST * (1 + 2 * lap), pace=0)
        await tb.cycles(40)
        if lap:  # lifted: the backlog drains at line rate, still there at the quiesce
            await tb.cycles(CAPPED_CYCLES)
            await tb.pf.set_vf_rate(VMS["vm2"][2], 0)
        for name in ("vm2", "vm1"):
            await host.detach_vf(name, f"lap {lap}")
            assert m.vms[name].shell.mode is ShellMode.EMULATED
        if lap:
            assert plugin_b.stats["tx_drain_waits"] > 0, "the quiesce had nothing to drain"
        assert host.vf_rx_drops == drops0, "frames dropped by a VF's closing ring"
        assert plugin_b.stats["tx_taken_not_completed"] == 0
        assert plugin_b.stats["rx_taken_not_completed"] == 0
        assert v2.shell.stats["tx_lost_at_quiesce"] == 0
        emu_tx0 = v2.device.counters.tx.ucast_pkts_tx_ok
        await m.rounds(PHASE)
        await m.settle()
        assert v2.device.counters.tx.ucast_pkts_tx_ok > emu_tx0  # emulated again
        assert await tb.bar(2).read(Func.FUNC_STATUS) == 0

    # 4. A plugin for the wrong vendor is refused: vendor A's image on VF2.
    assert not await host.attach_vf("vm2", 1, ring_a_image().pack())
    assert host.loaders["vm2"].refusals == {"device_mismatch": 1}
    assert v2.shell.mode is ShellMode.EMULATED
    await m.rounds(PHASE // 2)
    await m.settle()

    lost = m.check()
    tb.dut._log.info("flows: %s; losses (all named): %s", {f.name: f.sent for f in m.flows}, lost)
    tb.dut._log.info("drop points: %s", dict(m.reasons))
    # Transmit side: nothing a VM sent to the outside was lost, in any mode.
    assert lost["vm1 -> outside"] == lost["vm2 -> outside"] == 0
    for v in m.vms.values():
        assert v.shell.stats["tx_dropped_qdisc"] == v.shell.stats["tx_lost_at_quiesce"] == 0
    assert not tb.iommu.faults and not tb.host_bus.errors
