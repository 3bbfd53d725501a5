"""Steps the soak's attacks share: the attack frame, bounded waits, taking the hostile
VM back to the emulated path and giving it its VF again, and whether a VM receives."""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from sim.soak.model import ATTACK_PORT, Expect, InjectionRecord, attack_payload
from sim.soak.world import HOSTILE, SoakWorld, vm_vf
from tb.ref.regmap import (
    FUNC_ID_QUEUES_SHIFT,
    Func,
    Queue,
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
    return (await w.tb.pf.vf_stats(vm_vf(name)))[counter]


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


async def take_back(w: SoakWorld, rec: InjectionRecord, why: str) -> None:
    """The hypervisor takes the hostile VM back to the emulated path (the VF reset and
    released) and gives it its VF and rogue plugin again."""
    await w.host.detach_vf(HOSTILE, why)
    rec.measured["back_on_plugin"] = int(await w.attach(HOSTILE))
    rec.expects.append(Expect("back_on_plugin", 1))


IRQ_REGS = (Queue.TXQ_IRQ_CTRL, Queue.TXQ_IRQ_MOD, Queue.RXQ_IRQ_CTRL, Queue.RXQ_IRQ_MOD)
RECOVERY_CYCLES = 40_000  # bound on a VM's first frame after it got its VF back


async def queue_pairs(w: SoakWorld, name: str) -> int:
    return (await w.tb.bar(w.func(name)).read(Func.FUNC_ID) >> FUNC_ID_QUEUES_SHIFT) & 0xFF


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
