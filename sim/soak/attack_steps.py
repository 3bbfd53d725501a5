"""Steps the soak's attacks share: the attack frame, bounded waits, taking the hostile
VM back to the emulated path and giving it its VF again, and whether a VM receives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from sim.soak.model import ATTACK_PORT, Expect, InjectionRecord, attack_payload
from sim.soak.world import HOSTILE, SoakWorld, vm_vf
from tb.ref.regmap import (
    FUNC_ID_QUEUES_SHIFT,
    FUNC_STATUS_ERROR,
    QSTATUS_CODE_MASK,
    QSTATUS_ERROR,
    Func,
    QErr,
    Queue,
    queue_reg,
)

BROADCAST = "ff:ff:ff:ff:ff:ff"


def attack_frame(src: str, dst: str, attack_id: int, index: int) -> bytes:
    pkt = (
        Ether(src=src, dst=dst)
        / IP(src="10.66.66.66", dst="10.0.0.254")
        / UDP(sport=ATTACK_PORT, dport=ATTACK_PORT)
        / Raw(attack_payload(attack_id, index))
    )
    return bytes(pkt)


async def vf_stat(w: SoakWorld, name: str, counter: str) -> int:
    return (await w.tb_of(name).pf.vf_stats(vm_vf(name)))[counter]


async def bounded(w: SoakWorld, done, within: int, step: int = 50) -> bool:  # type: ignore[no-untyped-def]
    """Clock-edge wait for ``done()``, at most ``within`` cycles: whether it came (a
    missing event is an expectation that fails, not a soak that stops)."""
    waited = 0
    while not done():
        if waited >= within:
            return False
        await w.tb.cycles(step)
        waited += step
    return True


async def take_back(w: SoakWorld, rec: InjectionRecord, why: str, name: str = HOSTILE) -> None:
    """The hypervisor takes the VM (the hostile one unless named) back to the emulated
    path (the VF reset and released) and gives it its VF and plugin again."""
    await w.host_of(name).detach_vf(name, why)
    rec.measured["back_on_plugin"] = int(await w.attach(name))
    rec.expects.append(Expect("back_on_plugin", 1))


ERROR_IRQ_CYCLES = 20_000  # bound on a queue error's interrupt (sent unmoderated, §3.1)
ENGINE_SETTLE_CYCLES = 300  # after it: anything the bad descriptor could cause has happened


async def queue_error(
    w: SoakWorld,
    rec: InjectionRecord,
    name: str,
    act: Callable[[], Awaitable[tuple[QErr, bool]]],
) -> None:
    """``act()`` makes one queue of the VM's VF fail and returns the error code the
    documentation gives and whether it is the RX queue (of queue pair 0). Then, as
    ARCHITECTURE §3.1 says: that queue in its error state with that code (``*Q_STATUS``:
    bit 31, code in [7:0]), ``FUNC_STATUS.ERROR``, exactly one message on the function's
    error vector (2·NUM_QUEUES+1) within ERROR_IRQ_CYCLES."""
    func = w.func(name)
    bar, irq = w.tb_of(name).bar(func), w.host_of(name).irq
    vector = 2 * await queue_pairs(w, name) + 1
    irq0 = irq.count(func, vector)
    code, rx = await act()
    rec.measured["error_interrupt"] = int(
        await bounded(w, lambda: irq.count(func, vector) > irq0, ERROR_IRQ_CYCLES)
    )
    status = await bar.read(queue_reg(0, Queue.RXQ_STATUS if rx else Queue.TXQ_STATUS))
    rec.measured["queue_error"] = int(bool(status & QSTATUS_ERROR))
    rec.measured["error_code"] = status & QSTATUS_CODE_MASK
    fstatus = await bar.read(Func.FUNC_STATUS)
    rec.measured["func_status_error"] = int(bool(fstatus & FUNC_STATUS_ERROR))
    await w.tb.cycles(ENGINE_SETTLE_CYCLES)
    rec.measured["error_interrupts"] = irq.count(func, vector) - irq0
    rec.expects += [
        Expect("error_interrupt", 1),
        Expect("queue_error", 1),
        Expect("error_code", int(code)),
        Expect("func_status_error", 1),
        Expect("error_interrupts", 1),
    ]


IRQ_REGS = (Queue.TXQ_IRQ_CTRL, Queue.TXQ_IRQ_MOD, Queue.RXQ_IRQ_CTRL, Queue.RXQ_IRQ_MOD)
RECOVERY_CYCLES = 40_000  # bound on a VM's first frame after it got its VF back


async def queue_pairs(w: SoakWorld, name: str) -> int:
    bar = w.tb_of(name).bar(w.func(name))
    return (await bar.read(Func.FUNC_ID) >> FUNC_ID_QUEUES_SHIFT) & 0xFF


async def receives_again(w: SoakWorld, name: str) -> bool:
    """Whether the VM receives a frame of the outside host's flow to it within
    RECOVERY_CYCLES (or the traffic ended first)."""
    flow = next(f for f in w.flows if f.src == "outside" and f.dst == name)
    sink = w.guests[name].sink

    def got() -> int:
        st = sink.flows.get(flow.flow.flow_id)
        return 0 if st is None else st.received

    before = got()
    return await bounded(w, lambda: got() > before or w.traffic_done, RECOVERY_CYCLES, 500)
