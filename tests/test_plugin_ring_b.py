"""Vendor B's plugin (tb/plugin_model/ring_b.py) without a simulator.

Its VF is ``FakeUptDevice`` (tests/fake_upt_device.py): one format-B function
served by the rules of ARCHITECTURE §4b/§4c, whose DMA reaches the VM's memory in
guest-physical addresses (the VM's memory starts at a nonzero host address, so a
plugin that programmed anything but GPAs would fault). The emulated device's end of
the rings is ``Vmxnet3DeviceRings``, driven here as the device drives it. Frames go
emulated -> VF -> emulated -> VF over ring ends, and each hand-over is checked
against what the shell posted: nothing lost, sent twice or reordered.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import TypeVar

import pytest

from tb.host.memory import HostMemory
from tb.hypervisor.guest_memory import GuestMemory
from tb.plugin_model import (
    DeviceMismatchError,
    PluginInitError,
    PluginLoader,
    PluginStateError,
    RingAPlugin,
    RingBPlugin,
    ring_a_image,
    ring_b_image,
)
from tb.ref.regmap import (
    QCTRL_ENABLE,
    QCTRL_RESUME,
    RING_A_IDENTITY,
    RING_B_IDENTITY,
    Func,
    QErr,
    Queue,
    qstate,
    queue_reg,
    upt_reg,
)
from tb.shell_model import RxPacket, Vmxnet3DeviceRings, Vmxnet3Shell
from tb.shell_model.rings import DeviceState, RingPoint
from tb.shell_model.shell_services import ShellServices
from tb.shell_model.vmxnet3_defs import DESC_BYTES, Bar0, TxDesc
from tb.vf_driver.queues import QueueError
from tests.fake_upt_device import FakeUptDevice

T = TypeVar("T")
FUNC = 2
VM_HOST_BASE = 3 << 20  # GPA 0 of the VM is this host address
VM_BYTES = 4 << 20
RING = 64


def run(aw: Awaitable[T]) -> T:
    async def main() -> T:
        return await aw

    return asyncio.run(main())


@dataclass
class Rig:
    mem: GuestMemory
    shell: Vmxnet3Shell
    dev: Vmxnet3DeviceRings  # the emulated device's end of the shell's rings
    vf: FakeUptDevice

    def api(self) -> ShellServices:
        return ShellServices(self.dev, self.mem, self.vf)  # type: ignore[arg-type]

    def emulate_tx(self) -> list[bytes]:
        """What the emulated device does on TXPROD: send and complete every whole frame."""
        reqs = self.dev.fetch_tx(self.shell.tx_prod)
        for r in reqs:
            self.dev.complete_tx(r)
        return [self.dev.read_frame(r) for r in reqs]

    def deliver(self, frames: list[bytes]) -> None:
        """Frames into the VF, with a tag stripped on every other one."""
        for k, f in enumerate(frames):
            assert self.vf.deliver(0, f, 0x2007 if k % 2 else None), f"VF dropped frame {k}"


def rig(tx: int = RING, rx: int = RING, rx2: int | None = None) -> Rig:
    host = HostMemory(16 << 20)
    mem = GuestMemory(host, VM_HOST_BASE, VM_BYTES)
    shell = Vmxnet3Shell(mem, tx_size=tx, rx_size=rx, rx_buf_len=1536, rx2_size=rx2)
    vf = FakeUptDevice(mem, func=FUNC)  # type: ignore[arg-type]
    return Rig(mem, shell, Vmxnet3DeviceRings(mem, shell.conf), vf)


def frames_of(rng: random.Random, n: int) -> list[bytes]:
    return [rng.randbytes(rng.randint(60, 1500)) for _ in range(n)]


def warm_up(r: Rig, rng: random.Random, tx: int, rx: int) -> tuple[list[bytes], list[RxPacket]]:
    """Traffic on the emulated path first, so every ring stands somewhere mid-ring and the
    device holds buffers it took but did not use."""
    sent: list[bytes] = []
    for f in frames_of(rng, tx):
        r.shell.post_tx(f)
        sent += r.emulate_tx()
        r.shell.reap_tx()
    r.shell.post_rx()
    got: list[RxPacket] = []
    for f in frames_of(rng, rx):
        assert r.dev.deliver_rx(f)
        got += r.shell.reap_rx()
        r.shell.post_rx()
    r.dev.take_rx_buffers()
    assert r.dev.rx_buffers > 0
    return sent, got


def started(r: Rig) -> tuple[RingBPlugin, ShellServices]:
    plugin, api = RingBPlugin(), r.api()
    run(plugin.init(api))
    run(plugin.rx_refill(r.shell.rx_prod))  # the shell's first calls after init
    run(plugin.tx(r.shell.tx_prod))
    return plugin, api


def regs(vf: FakeUptDevice, reg: Queue) -> int:
    return vf.reg(0, reg)


def base(vf: FakeUptDevice, lo: Queue) -> int:
    return regs(vf, lo) | regs(vf, Queue(lo + 4)) << 32


# ------------------------------------------------------------------ image and loader


def test_vendor_b_image_loads_only_on_vendor_b_vf_and_vendor_a_only_on_its_own() -> None:
    img = ring_b_image()
    assert (img.vendor_id, img.device_id, img.plugin_id) == (0x5B00, 0x5B01, "sriovnic-vf-b")
    assert img.payload != ring_a_image().payload  # each vendor's own code, own CRC
    factories = {
        "sriovnic-vf-a": lambda image: RingAPlugin(),
        "sriovnic-vf-b": lambda image: RingBPlugin(),
    }
    on_b = PluginLoader(RING_B_IDENTITY.vendor_id, RING_B_IDENTITY.device_id, factories)
    on_a = PluginLoader(RING_A_IDENTITY.vendor_id, RING_A_IDENTITY.device_id, factories)
    assert isinstance(on_b.load(img.pack()).plugin, RingBPlugin)
    assert isinstance(on_a.load(ring_a_image().pack()).plugin, RingAPlugin)
    with pytest.raises(DeviceMismatchError, match="5b00:5b01, this VF is 5a00:5a01"):
        on_a.load(img.pack())
    with pytest.raises(DeviceMismatchError, match="5a00:5a01, this VF is 5b00:5b01"):
        on_b.load(ring_a_image().pack())
    assert on_a.refusals == on_b.refusals == {"device_mismatch": 1}


# ------------------------------------------------------------------ init


def test_init_points_the_vf_at_the_shells_rings_where_the_device_stopped() -> None:
    r = rig()
    warm_up(r, random.Random(1), tx=RING + 9, rx=RING + 5)
    expect = DeviceState(
        tx=RingPoint(9, 0),
        tx_comp=RingPoint(9, 0),
        rx=RingPoint(5, 0),  # the first buffer the device took and did not use
        rx_comp=RingPoint(RING + 5, 1),  # one completion ring for ring 1 + ring 2
        rx2=RingPoint(0, 1),
    )
    plugin, api = RingBPlugin(), r.api()
    run(plugin.init(api))
    c, vf = r.shell.conf, r.vf
    # The shell's own rings, in guest-physical addresses.
    assert base(vf, Queue.TXQ_BASE_LO) == c.tx_ring and base(vf, Queue.TXQ_CPL_BASE_LO) == c.tx_comp
    assert base(vf, Queue.RXQ_BASE_LO) == c.rx_ring and base(vf, Queue.RXQ_CPL_BASE_LO) == c.rx_comp
    assert base(vf, Queue.RX2_BASE_LO) == c.rx2_ring
    assert c.tx_ring < VM_BYTES  # a GPA, not the host address the VM's memory is at
    sizes = [regs(vf, q) for q in (Queue.TXQ_SIZE, Queue.RXQ_SIZE, Queue.RX2_SIZE)]
    assert sizes == [6, 6, 6] and regs(vf, Queue.RXQ_CPL_SIZE) == 7
    # §4c restore: the STATE registers, then ENABLE|RESUME, then the producers.
    w = [(a, v) for a, v in vf.writes if a >= Func.QUEUE_BASE]
    order = [a for a, _ in w]
    written = dict(w)
    states = {
        Queue.TXQ_STATE: expect.tx,
        Queue.TXQ_CPL_STATE: expect.tx_comp,
        Queue.RXQ_STATE: expect.rx,
        Queue.RXQ_CPL_STATE: expect.rx_comp,
        Queue.RX2_STATE: expect.rx2,
    }
    for reg, p in states.items():
        assert written[queue_reg(0, reg)] == qstate(p.index, p.gen), reg.name
    for ctrl, state, prod, value in (
        (Queue.TXQ_CTRL, Queue.TXQ_STATE, Bar0.TXPROD, expect.tx.index),
        (Queue.RXQ_CTRL, Queue.RXQ_STATE, Bar0.RXPROD, expect.rx.index),
        (Queue.RXQ_CTRL, Queue.RX2_STATE, Bar0.RXPROD2, expect.rx2.index),
    ):
        assert written[queue_reg(0, ctrl)] == QCTRL_ENABLE | QCTRL_RESUME
        at_ctrl = order.index(queue_reg(0, ctrl))
        assert order.index(queue_reg(0, state)) < at_ctrl
        # The producer through the UPT page, while the queue is still disabled (§4c: so
        # the enable never sees PROD 0 at a resumed index).
        prods = [(k, v) for k, (a, v) in enumerate(w) if a == upt_reg(prod, 0)]
        assert [v for _, v in prods] == [value]
        assert prods[0][0] < at_ctrl
    # The VF now reads the live state there; interrupts on through vmxnet3's IMR.
    assert run(vf.read(queue_reg(0, Queue.TXQ_STATE))) == qstate(9, 0)
    assert run(vf.read(queue_reg(0, Queue.RXQ_STATE))) == qstate(5, 0)
    assert {a: v for a, v in vf.writes if a in (upt_reg(Bar0.IMR, 0), upt_reg(Bar0.IMR, 1))} == {
        upt_reg(Bar0.IMR, 0): 0,
        upt_reg(Bar0.IMR, 1): 0,
    }
    assert api.irq_handler is not None
    assert r.dev.rx_buffers == 0  # the buffers it had taken are the VF's now


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("format_a_vf", "not a ring-format-B engine"),
        ("ring_not_pow2", "TX ring of 96 entries"),
        ("cpl_not_pow2", "RX completion ring of 96 entries"),
        ("no_ring2", "no RX ring 2"),
    ],
)
def test_init_refuses_a_vf_or_rings_it_cannot_serve_and_enables_nothing(
    kind: str, match: str
) -> None:
    shape = {"ring_not_pow2": {"tx": 96}, "cpl_not_pow2": {"rx2": 32}}.get(kind, {})
    r = rig(**shape)
    if kind == "format_a_vf":
        r.vf.pci_id = RING_A_IDENTITY.pci_id
    api = r.api()
    if kind == "no_ring2":
        api.rings.conf = replace(r.shell.conf, rx2_ring=0, rx2_size=0)
    with pytest.raises(PluginInitError, match=match):
        run(RingBPlugin().init(api))
    ctrls = {queue_reg(0, Queue.TXQ_CTRL), queue_reg(0, Queue.RXQ_CTRL)}
    assert not [a for a, _ in r.vf.writes if a in ctrls]
    assert api.irq_handler is None


# ------------------------------------------------------------------ the datapath


def test_doorbells_go_straight_to_the_upt_page_and_frames_cross_ring_ends() -> None:
    r = rig()
    rng = random.Random(2)
    warm_up(r, rng, tx=RING // 2 + 3, rx=RING // 2 + 1)
    plugin, api = started(r)
    sent: list[tuple[bytes, int | None]] = []
    got: list[tuple[bytes, int | None]] = []
    expect_rx: list[tuple[bytes, int | None]] = []
    for burst in range(24):  # more frames than both rings hold, both ways
        for f in frames_of(rng, rng.randint(1, 20)):
            tci = rng.choice([None, 0x0123])
            r.shell.post_tx(f, vlan_tci=tci)
            sent.append((f, tci))
        before = len(r.vf.writes)
        assert run(plugin.tx(r.shell.tx_prod)) > 0
        # One register write per doorbell, TXPROD on the UPT page.
        assert r.vf.writes[before:] == [(upt_reg(Bar0.TXPROD, 0), r.shell.tx_prod)]
        batch = frames_of(rng, rng.randint(1, 12))
        r.deliver(batch)
        expect_rx += [(f, 0x2007 if k % 2 else None) for k, f in enumerate(batch)]
        result = run(plugin.reap())
        assert (result.tx_completed, result.rx_delivered) == (
            len(r.shell.tx_in_flight),
            len(batch),
        ), burst
        r.shell.reap_tx()
        got += [(p.data, p.vlan_tci) for p in r.shell.reap_rx()]
        r.shell.post_rx()
        before = len(r.vf.writes)
        run(plugin.rx_refill(r.shell.rx_prod))
        assert r.vf.writes[before:] == [(upt_reg(Bar0.RXPROD, 0), r.shell.rx_prod)]
    assert [(d, t) for _, d, t in r.vf.sent] == sent  # what left the VF, in order
    assert got == expect_rx
    assert len(sent) > 2 * RING and len(got) > 2 * RING
    assert r.shell.tx_in_flight == ()
    # The device end follows the VF: the next owner would start after the last frame.
    st, vf_rx = r.dev.device_state(), r.vf.rx[0].ring
    assert vf_rx is not None
    assert st.tx == RingPoint(r.shell.tx_prod, r.shell.tx_gen)  # every frame sent
    assert st.rx == RingPoint(vf_rx.index, vf_rx.gen)  # the VF's next unused buffer
    assert api.calls["tx_frames"] == api.calls["rx_buffers"] == 0  # nothing translated


def test_quiesce_hands_back_exact_positions_and_the_emulated_device_goes_on() -> None:
    r = rig()
    rng = random.Random(3)
    warm_up(r, rng, tx=RING - 3, rx=RING - 7)
    r.vf.busy_reads = 5  # BUSY reads 1 for a while after each disable
    plugin, api = started(r)
    on_vf = frames_of(rng, 20)
    for f in on_vf:
        r.shell.post_tx(f)
    run(plugin.tx(r.shell.tx_prod))
    r.deliver(frames_of(rng, 6))
    run(plugin.reap())
    # The stack keeps sending while the hypervisor quiesces the plugin: those frames
    # stay on the shell's ring (no doorbell reaches the VF).
    later = frames_of(rng, 7)
    writes = len(r.vf.writes)
    for f in later:
        r.shell.post_tx(f)
    plugin._quiescing = True  # as quiesce() sets it first
    assert run(plugin.tx(r.shell.tx_prod)) == 0
    plugin._quiescing = False
    assert len(r.vf.writes) == writes
    result = run(plugin.quiesce())
    assert (result.tx_abandoned, result.tx_backlog) == (0, len(later))
    assert result.tx_sent == len(on_vf) == len(r.vf.sent)  # what the switch must count
    assert [d for _, d, _ in r.vf.sent] == on_vf
    assert [run(r.vf.read(queue_reg(0, c))) for c in (Queue.TXQ_CTRL, Queue.RXQ_CTRL)] == [0, 0]
    assert api.calls["set_device_state"] >= 2
    # The emulated device sends exactly the frames the VF did not, and completes them in
    # the next slots: the shell reaps every frame in order across the hand-over.
    assert r.emulate_tx() == later
    assert [t.data for t in r.shell.reap_tx()] == on_vf + later
    # RX: the buffers the VF did not use come back in order, the first one next.
    r.shell.reap_rx()
    first_unused = r.dev.device_state().rx.index
    assert first_unused == (RING - 7 + 6) % RING  # the 6 frames the VF took, no more
    bufs = r.dev.claim_rx_buffers()
    # every buffer still posted (the shell has not reposted the 6 the VF filled)
    assert [b.idx for b in bufs] == [(first_unused + k) % RING for k in range(RING - 1 - 6)]
    r.dev.return_rx_buffers(bufs)
    frame = rng.randbytes(800)
    assert r.dev.deliver_rx(frame)
    assert [p.data for p in r.shell.reap_rx()] == [frame]
    with pytest.raises(PluginStateError, match="after quiesce"):
        run(plugin.reap())
    with pytest.raises(PluginStateError, match="before init"):
        run(RingBPlugin().tx(0))


def test_switch_again_resumes_the_same_vf_where_the_emulated_device_left_off() -> None:
    r = rig()
    rng = random.Random(4)
    sent: list[bytes] = []
    out: list[bytes] = []
    got: list[bytes] = []
    expect: list[bytes] = []
    r.shell.post_rx()
    for lap in range(3):  # emulated, VF, emulated, VF, emulated, VF
        for f in frames_of(rng, 23):
            r.shell.post_tx(f)
            sent.append(f)
        out += r.emulate_tx()
        r.dev.take_rx_buffers()
        for f in frames_of(rng, 19):
            assert r.dev.deliver_rx(f)
            expect.append(f)
        got += [p.data for p in r.shell.reap_rx()]
        r.shell.reap_tx()
        r.shell.post_rx()
        r.dev.take_rx_buffers()
        plugin, _ = started(r)
        for f in frames_of(rng, 29):
            r.shell.post_tx(f)
            sent.append(f)
        run(plugin.tx(r.shell.tx_prod))
        batch = frames_of(rng, 17)
        for f in batch:
            assert r.vf.deliver(0, f)
            expect.append(f)
        run(plugin.reap())
        got += [p.data for p in r.shell.reap_rx()]
        r.shell.post_rx()
        run(plugin.rx_refill(r.shell.rx_prod))
        assert run(plugin.quiesce()).tx_backlog == 0, lap
        r.shell.reap_tx()
    out_vf = [d for _, d, _ in r.vf.sent]
    assert sorted(out + out_vf, key=sent.index) == sent and len(out + out_vf) == len(sent)
    assert got == expect and r.shell.tx_in_flight == ()


# ------------------------------------------------------------------ faults at quiesce


def test_a_tx_queue_in_error_hands_back_the_frames_it_never_sent() -> None:
    r = rig()
    rng = random.Random(5)
    warm_up(r, rng, tx=10, rx=3)
    plugin, _ = started(r)
    good = frames_of(rng, 4)
    for f in good:
        r.shell.post_tx(f)
    bad_at = r.shell.tx_prod
    bad = r.shell.post_tx(rng.randbytes(300))  # offloads this device does not do
    at = r.shell.conf.tx_ring + DESC_BYTES * bad_at
    r.mem.write(at, replace(TxDesc.unpack(r.mem.read(at, DESC_BYTES)), om=2).pack())
    after = frames_of(rng, 3)
    for f in after:
        r.shell.post_tx(f)
    run(plugin.tx(r.shell.tx_prod))
    assert r.vf.tx[0].error == QErr.DESC_TYPE
    result = run(plugin.quiesce())  # does not wait for completions that never come
    assert [d for _, d, _ in r.vf.sent] == good
    assert result.tx_backlog == 1 + len(after)
    assert result.tx_sent == len(good)
    assert plugin.stats["tx_error_at_quiesce"] == 1
    # The next owner starts at the refused frame: it sees the same descriptor.
    st = r.dev.device_state()
    assert st.tx.index == bad.sop_idx
    assert [t.data for t in r.shell.reap_tx()] == good


def test_rx_buffers_the_vf_took_for_a_frame_it_cut_short_go_back_to_the_ring() -> None:
    r = rig()
    rng = random.Random(6)
    warm_up(r, rng, tx=1, rx=2)
    plugin, _ = started(r)
    r.deliver(frames_of(rng, 3))
    run(plugin.reap())
    rx = r.vf.rx[0]
    assert rx.ring is not None
    taken = rx.ring.index
    rx.ring.advance()  # a frame started in the next buffer, then the queue was disabled
    run(plugin.quiesce())
    assert plugin.stats["rx_taken_not_completed"] == 1
    assert r.dev.device_state().rx.index == taken  # no hole in the shell's ring
    r.shell.reap_rx()
    assert r.dev.deliver_rx(b"x" * 100)
    assert [p.data for p in r.shell.reap_rx()] == [b"x" * 100]


@pytest.mark.parametrize("reg", [Queue.TXQ_CPL_STATE, Queue.RXQ_CPL_STATE])
def test_a_saved_completion_state_that_disagrees_with_memory_is_a_vf_fault(reg: Queue) -> None:
    r = rig()
    warm_up(r, random.Random(7), tx=2, rx=2)
    plugin, _ = started(r)
    queue = r.vf.tx[0] if reg == Queue.TXQ_CPL_STATE else r.vf.rx[0]
    assert queue.cpl is not None
    queue.cpl.advance()  # the engine claims a completion it never wrote
    with pytest.raises(QueueError, match=f"{reg.name} reads"):
        run(plugin.quiesce())
