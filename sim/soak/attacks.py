"""Attacks of the hostile VM (vm4, the rogue plugin on VF 3), one class per kind.

Each says what it sent and what must follow: the switch, the IOMMU, the mailbox
or the loader drops, faults or refuses it and counts it under its reason
(``expects``), and its frames arrive only where the switch's policy allows
(``arrive_exact`` / ``arrive_max``; nowhere else, the accounting monitor checks).
"""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

from sim.soak.inject import Injection
from sim.soak.model import ATTACK_PORT, Expect, InjectionRecord, attack_payload, rxq_drops
from sim.soak.world import EXT_MAC, HONEST, HOSTILE, VM_MEM, SoakWorld, vm_mac, vm_vf
from tb.plugin_model.hostile import ROGUE_PLUGIN_ID
from tb.plugin_model.ring_a import ring_a_image
from tb.ref.eswitch_model import MAX_FRAME_BYTES  # nic_pkg's: longer is ERR_DESC_LEN_MAX
from tb.ref.mailbox import MSGTYPE_NACK, MsgType
from tb.ref.regmap import (
    FUNC_ID_QUEUES_SHIFT,
    FUNC_STATUS_ERROR,
    MBX_ACK,
    MBX_REQ,
    MBX_STS,
    QSTATUS_CODE_MASK,
    QSTATUS_ERROR,
    Func,
    QErr,
    Queue,
    VfMbx,
    queue_reg,
)
from tb.shell_model.npa_shell import PLUGIN_CALL_TIMEOUT_NS, ShellMode
from tb.vf_driver.rings import MAX_TX_BUFS, NS_PER_CYCLE  # vf_dma's MAX_TX_BUFS

BROADCAST = "ff:ff:ff:ff:ff:ff"
MBX_REPLY_CYCLES = 30_000  # bound on the PF driver's answer to one mailbox request
ERROR_IRQ_CYCLES = 20_000  # bound on a queue error's interrupt (sent unmoderated, §3.1)
ENGINE_SETTLE_CYCLES = 300  # after it: anything the bad descriptor could cause has happened
MAX_DESC_LEN = 0xFFFF  # a format-A descriptor's 16-bit length


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


class ForgedSourceMac(Injection):
    """Frames claiming an honest VM's source MAC: dropped by anti-spoofing, counted."""

    name, category = "forged_src_mac", "attack"

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"vf3.tx_dropped_spoof": await vf_stat(w, HOSTILE, "tx_dropped_spoof")}

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        n, victim = self.rng.randint(4, 12), self.rng.choice(HONEST)
        rec.attack_id = aid = w.next_attack_id()
        for k in range(n):
            await w.rogue().send_raw(attack_frame(vm_mac(victim), EXT_MAC, aid, k))
        rec.expects.append(Expect("vf3.tx_dropped_spoof", n))
        rec.notes.append(f"{n} frames with {victim}'s source MAC to the outside host")


class ForgedVlan(Injection):
    """Frames tagged with a VLAN the VF was never given: dropped, counted."""

    name, category = "forged_vlan", "attack"

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"vf3.tx_dropped_spoof_vlan": await vf_stat(w, HOSTILE, "tx_dropped_spoof_vlan")}

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        n, vid = self.rng.randint(4, 12), self.rng.randint(2, 4094)
        rec.attack_id = aid = w.next_attack_id()
        for k in range(n):
            frame = attack_frame(vm_mac(HOSTILE), EXT_MAC, aid, k)
            await w.rogue().send_raw(frame, vlan_tci=vid)
        rec.expects.append(Expect("vf3.tx_dropped_spoof_vlan", n))
        rec.notes.append(f"{n} frames tagged VLAN {vid}")


class UnicastToVm(Injection):
    """Unicast from the hostile VM's own MAC to an honest VM: the policy allows it, so
    each frame reaches that VM exactly once and nobody else."""

    name, category = "unicast_to_vm", "attack"

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {
            "vf3.tx_dropped_spoof": await vf_stat(w, HOSTILE, "tx_dropped_spoof"),
            "vf3.tx_dropped_no_route": await vf_stat(w, HOSTILE, "tx_dropped_no_route"),
        }

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        n, victim = self.rng.randint(4, 12), self.rng.choice(HONEST)
        rec.attack_id = aid = w.next_attack_id()
        for k in range(n):
            await w.rogue().send_raw(attack_frame(vm_mac(HOSTILE), vm_mac(victim), aid, k))
        rec.expects += [Expect("vf3.tx_dropped_spoof", 0), Expect("vf3.tx_dropped_no_route", 0)]
        rec.arrive_exact = {victim: n}
        rec.notes.append(f"{n} frames to {victim}")


class BroadcastFlood(Injection):
    """A burst of broadcasts: on the wire once each, to each honest VM at most once (an
    honest VF may run out of buffers under it: counted, and tolerated in the window)."""

    name, category = "broadcast_flood", "attack"

    def tolerated(self, w: SoakWorld, target: str) -> frozenset[str]:
        return frozenset(rxq_drops(v) for v in HONEST)

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        n = self.rng.randint(16, 48)
        rec.attack_id = aid = w.next_attack_id()
        for k in range(n):
            await w.rogue().send_raw(attack_frame(vm_mac(HOSTILE), BROADCAST, aid, k))
        rec.arrive_exact = {"outside": n}
        rec.arrive_max = {v: n for v in HONEST}
        rec.notes.append(f"{n} broadcasts")


class MulticastFlood(Injection):
    """A burst of multicast frames (one group address): on the wire once each (the uplink
    takes every multicast); at an honest VM only if its port's filter holds the address
    (``RX_MCAST`` and the address in its ``MC`` list, or effective all-multicast or
    promiscuous, read from the switch), at most once each; nowhere else. No drop at
    the hostile VF's port."""

    name, category = "multicast_flood", "attack"

    def tolerated(self, w: SoakWorld, target: str) -> frozenset[str]:
        return frozenset(rxq_drops(v) for v in HONEST)

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"vf3.tx_dropped": await vf_stat(w, HOSTILE, "tx_dropped")}

    def group(self, w: SoakWorld, subscribed: list[bytes]) -> bytes:
        rng = self.rng
        kind = rng.randrange(4 if subscribed else 3)
        if kind == 0:  # IPv4 multicast
            return bytes(
                [0x01, 0x00, 0x5E, rng.randrange(0x80), rng.randrange(256), rng.randrange(256)]
            )
        if kind == 1:  # IPv6 multicast
            return bytes([0x33, 0x33, *rng.randbytes(4)])
        if kind == 2:  # any group address (I/G bit set), not the broadcast
            while (mac := bytes([rng.randrange(256) | 1, *rng.randbytes(5)])) == b"\xff" * 6:
                pass
            return mac
        return rng.choice(subscribed)  # one an honest VM subscribed to

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        lists = {vm: await w.multicast_filter(vm) for vm in HONEST}
        group = self.group(w, sorted({m for ms, _ in lists.values() for m in ms}))
        n = self.rng.randint(16, 48)
        rec.attack_id = aid = w.next_attack_id()
        dst = group.hex(":")
        for k in range(n):
            await w.rogue().send_raw(attack_frame(vm_mac(HOSTILE), dst, aid, k))
        rec.arrive_exact = {"outside": n}
        rec.arrive_max = {vm: n for vm, (ms, every) in lists.items() if every or group in ms}
        rec.expects.append(Expect("vf3.tx_dropped", 0))
        members = ", ".join(sorted(rec.arrive_max)) or "no honest VM"
        rec.notes.append(f"{n} frames to {dst} ({members} subscribed)")


class DoubleVlan(Injection):
    """Frames with two VLAN tags (QinQ): an 802.1ad outer tag over an 802.1Q one, two
    stacked 802.1Q tags, or one 802.1Q tag in the frame plus a tag request by the insert
    offload. The switch's VLAN policy drops each (``DROP_VLAN_POLICY``, before the
    allowed-VLAN check): none arrives anywhere."""

    name, category = "double_vlan", "attack"

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {
            f"vf3.{c}": await vf_stat(w, HOSTILE, c)
            for c in ("tx_dropped_vlan_policy", "tx_dropped_spoof_vlan", "tx_dropped_spoof")
        }

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        rng = self.rng
        n, form = rng.randint(4, 12), rng.choice(["802.1ad", "stacked", "tag+offload"])
        outer, inner = rng.randint(1, 4094), rng.randint(1, 4094)
        dst = rng.choice([EXT_MAC, BROADCAST, *(vm_mac(v) for v in HONEST)])
        rec.attack_id = aid = w.next_attack_id()
        for k in range(n):
            plain = Ether(attack_frame(vm_mac(HOSTILE), dst, aid, k))
            body = plain.payload
            eth = Ether(src=plain.src, dst=plain.dst)
            offload = None
            if form == "802.1ad":
                frame = eth / Dot1AD(vlan=outer) / Dot1Q(vlan=inner) / body
            elif form == "stacked":
                frame = eth / Dot1Q(vlan=outer) / Dot1Q(vlan=inner) / body
            else:
                frame, offload = eth / Dot1Q(vlan=inner) / body, outer
            await w.rogue().send_raw(bytes(frame), vlan_tci=offload)
        rec.expects += [
            Expect("vf3.tx_dropped_vlan_policy", n),
            Expect("vf3.tx_dropped_spoof_vlan", 0),
            Expect("vf3.tx_dropped_spoof", 0),
        ]
        rec.notes.append(f"{n} frames to {dst}, {form}, VLANs {outer}/{inner}")


class DmaOutside(Injection):
    """A TX descriptor pointing outside the VM's memory: IOMMU fault, the VF's queue
    stops in its error state, the hypervisor takes the VM back to the emulated path
    (and, here, gives it its VF and rogue plugin again)."""

    name, category = "dma_outside", "attack"

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"iommu_faults.f4": len(w.tb.iommu.faults_of(w.func(target)))}

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        func = w.func(HOSTILE)
        faults0 = len(w.tb.iommu.faults_of(func))
        gpa = VM_MEM + 0x1000 * self.rng.randint(1, 256)
        await w.rogue().dma_outside(gpa)
        await w.tb.wait_until(
            "the IOMMU fault", lambda: len(w.tb.iommu.faults_of(func)) > faults0, within=50_000
        )
        status = await w.tb.bar(func).read(Func.FUNC_STATUS)
        rec.measured["func_status_error"] = int(bool(status & FUNC_STATUS_ERROR))
        rec.expects += [Expect("iommu_faults.f4", 1, exact=False), Expect("func_status_error", 1)]
        await take_back(w, rec, "VF error (IOMMU fault)")
        rec.notes.append(f"TX buffer at GPA {gpa:#x}")


class MalformedTx(Injection):
    """Base of the hostile plugin's malformed TX descriptors and doorbells (ARCHITECTURE
    §3.1, queue control and error state): the VF's engine refuses each, puts the queue
    in its error state with the documented code (``*Q_STATUS``: bit 31, code in [7:0]),
    sets ``FUNC_STATUS.ERROR``, sends exactly one message on the function's error vector
    (2·NUM_QUEUES+1), and reads no byte of a refused frame: its buffers lie outside the
    VM's memory, so a single read would be an IOMMU fault (none expected). Then the
    hypervisor takes the VM back and gives it the VF again, as for ``dma_outside``."""

    category = "attack"
    rx = False  # which queue the error is expected on (TX or RX of queue pair 0)

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"iommu_faults.f4": len(w.tb.iommu.faults_of(w.func(target)))}

    def outside(self, n: int) -> int:
        """A GPA beyond the VM's memory with ``n`` bytes after it unmapped too."""
        return VM_MEM + 0x1000 * self.rng.randint(1, 256) + self.rng.randrange(0, 64)

    async def malform(self, w: SoakWorld, rec: InjectionRecord) -> QErr:
        """Do the malformed thing; return the error code the documentation gives for it."""
        raise NotImplementedError

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        func = w.func(HOSTILE)
        bar, irq = w.tb.bar(func), w.host.irq
        queues = (await bar.read(Func.FUNC_ID) >> FUNC_ID_QUEUES_SHIFT) & 0xFF
        vector = 2 * queues + 1
        irq0 = irq.count(func, vector)
        code = await self.malform(w, rec)
        rec.measured["error_interrupt"] = int(
            await bounded(w, lambda: irq.count(func, vector) > irq0, ERROR_IRQ_CYCLES)
        )
        status = await bar.read(queue_reg(0, Queue.RXQ_STATUS if self.rx else Queue.TXQ_STATUS))
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
            Expect("iommu_faults.f4", 0),
        ]
        await take_back(w, rec, f"VF error ({code.name})")


class ProducerBeyondRing(MalformedTx):
    """A doorbell (``*Q_PROD``) at or beyond the ring's size: the write is ignored and the
    queue goes to error with ``ERR_PROD_RANGE``."""

    name = "producer_beyond_ring"

    async def malform(self, w: SoakWorld, rec: InjectionRecord) -> QErr:
        rogue = w.rogue()
        self.rx = self.rng.random() < 0.5
        reg = queue_reg(0, Queue.RXQ_PROD if self.rx else Queue.TXQ_PROD)
        size_reg = queue_reg(0, Queue.RXQ_SIZE if self.rx else Queue.TXQ_SIZE)
        size = 1 << (await rogue.read_own(size_reg) & 0x1F)
        bad = self.rng.choice([size, self.rng.randint(size, 0xFFFF)])
        await rogue.write_own(reg, bad)
        rec.measured["prod_ignored"] = int(await rogue.read_own(reg) != bad)
        rec.expects.append(Expect("prod_ignored", 1))
        rec.notes.append(f"{'RX' if self.rx else 'TX'}Q_PROD = {bad} on a ring of {size}")
        return QErr.PROD_RANGE


class BadLength(MalformedTx):
    """A TX frame with a zero-length buffer (``ERR_DESC_LEN_ZERO``) or longer than
    ``MAX_FRAME_BYTES`` (``ERR_DESC_LEN_MAX``), in 1 to 4 buffers."""

    name = "bad_length"

    async def malform(self, w: SoakWorld, rec: InjectionRecord) -> QErr:
        rng, nbufs = self.rng, self.rng.randint(1, 4)
        if rng.random() < 0.5:
            lens = [rng.randint(1, 1500) for _ in range(nbufs)]
            lens[rng.randrange(nbufs)] = 0
            code = QErr.DESC_LEN_ZERO
        else:
            low = -(-(MAX_FRAME_BYTES + 1) // nbufs)
            lens = [rng.randint(low, min(MAX_DESC_LEN, 2 * low)) for _ in range(nbufs)]
            code = QErr.DESC_LEN_MAX
        frags, addr = [], self.outside(sum(lens))
        for n in lens:
            frags.append((addr, n))
            addr += n
        await w.rogue().post_malformed(frags)
        rec.notes.append(f"TX frame of buffers {lens} ({sum(lens)} bytes) outside its memory")
        return code


class TooManyDescriptors(MalformedTx):
    """A TX frame of 17 to 24 buffers (more than ``MAX_TX_BUFS``, 16), short enough in
    total: ``ERR_TOO_MANY_BUFS``."""

    name = "too_many_descriptors"

    async def malform(self, w: SoakWorld, rec: InjectionRecord) -> QErr:
        lens = [self.rng.randint(1, 256) for _ in range(self.rng.randint(MAX_TX_BUFS + 1, 24))]
        frags, addr = [], self.outside(sum(lens))
        for n in lens:
            frags.append((addr, n))
            addr += n
        await w.rogue().post_malformed(frags)
        rec.notes.append(f"TX frame of {len(lens)} buffers ({sum(lens)} bytes)")
        return QErr.TOO_MANY_BUFS


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


class IrqMaskAbuse(Injection):
    """The hostile plugin writes its own queues' interrupt mask and moderation registers
    (``*Q_IRQ_CTRL``, ``*Q_IRQ_MOD``) with random values, 16 to 64 writes over a few
    thousand cycles: its own interrupts may stop or crawl (its queues excused), but no
    honest function's interrupt registers move and each honest VF keeps interrupting
    (its traffic: the delivery and watchdog monitors); then the hypervisor takes the VM
    back (the FLR resets the registers, §3.1) and gives it its VF again, and it receives
    again."""

    name, category = "irq_mask_abuse", "attack"

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        out = {}
        for vm in HONEST:
            func = w.func(vm)
            out[f"irqs.{vm}"] = w.host.irq.function_count(func)
            bar = w.tb.bar(func)
            regs = 0  # every interrupt register of the function, folded into one value
            for q in range(await queue_pairs(w, vm)):
                for reg in IRQ_REGS:
                    regs = regs * 0x1_0000_0001 + await bar.read(queue_reg(q, reg))
            out[f"irq_regs.{vm}"] = regs
        return out

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        rogue, rng = w.rogue(), self.rng
        queues = await queue_pairs(w, HOSTILE)
        n = rng.randint(16, 64)
        for _ in range(n):
            reg = queue_reg(rng.randrange(queues), rng.choice(IRQ_REGS))
            await rogue.write_own(reg, rng.getrandbits(32))
            await w.tb.cycles(rng.randint(0, 200))
        await take_back(w, rec, "interrupt registers abused")
        rec.measured["receives_again"] = int(await receives_again(w, HOSTILE))
        for vm in HONEST:
            rec.expects += [Expect(f"irqs.{vm}", 1, exact=False), Expect(f"irq_regs.{vm}", 0)]
        rec.expects.append(Expect("receives_again", 1))
        rec.notes.append(f"{n} writes to its {queues} queue pairs' interrupt registers")


class OwnRegisterWrites(Injection):
    """Random writes in the hostile VF's own register space outside what it owns: each
    counted by the NIC (VF_BAD_ACCESS, mailbox ERRS), no other VF's counters move."""

    name, category = "own_register_writes", "attack"

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        out = {}
        for vm in (*HONEST, HOSTILE):
            st = await w.tb.pf.vf_stats(vm_vf(vm))
            out[f"vf{vm_vf(vm)}.bad_register_accesses"] = st["bad_register_accesses"]
            out[f"vf{vm_vf(vm)}.mbx_errors"] = st["mbx_errors"]
        return out

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        rogue, rng = w.rogue(), self.rng
        bad = rng.randint(8, 32)
        for _ in range(bad):  # windows 2..15: nothing of the VF's is decoded there
            await rogue.write_own(
                (rng.randint(2, 15) << 16) | rng.randrange(0, 0x10000, 4), rng.getrandbits(32)
            )
        refused = [VfMbx.INFO, *(VfMbx.PF_MSG + 4 * i for i in range(16))]
        refused += [VfMbx.BASE + off for off in range(0xC, 0x40, 4)]
        mbx = rng.randint(4, 16)
        for _ in range(mbx):
            await rogue.write_own(rng.choice(refused), rng.getrandbits(32))
        for vm in HONEST:
            rec.expects += [
                Expect(f"vf{vm_vf(vm)}.bad_register_accesses", 0),
                Expect(f"vf{vm_vf(vm)}.mbx_errors", 0),
            ]
        rec.expects += [Expect("vf3.bad_register_accesses", bad), Expect("vf3.mbx_errors", mbx)]
        rec.notes.append(f"{bad} writes outside its windows, {mbx} refused mailbox writes")


class MailboxAbuse(Injection):
    """Malformed requests to the PF driver over the VF mailbox (an unknown type, another
    VM's MAC, a VLAN, an oversized multicast list), each answered NACK, then a flood of
    writes the mailbox hardware refuses and counts."""

    name, category = "mailbox_abuse", "attack"

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        mbx = w.tb.pf.mailbox
        assert mbx is not None
        st = mbx.vf_stats(w.func(HOSTILE))
        return {
            "mbx_requests": st.requests,
            "mbx_nacked": st.nacked,
            "vf3.mbx_errors": await vf_stat(w, HOSTILE, "mbx_errors"),
        }

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        rogue, rng = w.rogue(), self.rng
        victim = bytes.fromhex(vm_mac(rng.choice(HONEST)).replace(":", ""))
        mac_words = [
            int.from_bytes(victim[:4], "little"),
            int.from_bytes(victim[4:] + bytes(2), "little"),
        ]
        msgs = [
            [0x7F | rng.getrandbits(8) << 16, *(rng.getrandbits(32) for _ in range(15))],
            [MsgType.SET_MAC_ADDR, *mac_words],
            [MsgType.SET_VLAN | 1 << 16, rng.randint(1, 4094)],
            [MsgType.SET_MULTICAST | 30 << 16, *(rng.getrandbits(32) for _ in range(15))],
        ]
        nacks = 0
        for words in msgs:
            for i, word in enumerate(words):
                await rogue.write_own(VfMbx.VF_MSG + 4 * i, word)
            await rogue.write_own(VfMbx.CTRL, MBX_REQ)
            waited = 0
            while not await rogue.read_own(VfMbx.CTRL) & MBX_STS:
                if waited > MBX_REPLY_CYCLES:
                    rec.notes.append(f"no reply to request {words[0]:#x}")
                    break
                await w.tb.cycles(200)
                waited += 200
            nacks += bool(await rogue.read_own(VfMbx.PF_MSG) & MSGTYPE_NACK)
            await rogue.write_own(VfMbx.CTRL, MBX_ACK)
        flood = rng.randint(16, 64)
        for _ in range(flood):
            await rogue.write_own(VfMbx.PF_MSG + 4 * rng.randrange(16), rng.getrandbits(32))
        rec.measured["nack_replies"] = nacks
        rec.expects += [
            Expect("mbx_requests", len(msgs)),
            Expect("mbx_nacked", len(msgs)),
            Expect("nack_replies", len(msgs)),
            Expect("vf3.mbx_errors", flood),
        ]
        rec.notes.append(f"{len(msgs)} malformed requests, {flood} writes to PF_MSG")


HANG_NOTICE_CYCLES = PLUGIN_CALL_TIMEOUT_NS // NS_PER_CYCLE + 2_000  # the shell's timeout + margin


class PluginHang(Injection):
    """The rogue plugin's TX entry point never returns: the shell abandons the call after
    ``PLUGIN_CALL_TIMEOUT_NS`` (counted as a hang and a plugin fault), the hypervisor
    takes the VM back to the emulated path, where its frames go out again; nothing else
    waits on the hung call (the watchdog, other VMs not excused). Then the VM gets its
    VF and plugin again."""

    name, category = "plugin_hang", "attack"

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        stats = w.guests[target].v.shell.stats
        return {
            f"plugin_hangs.{target}": stats["plugin_hangs"],
            f"plugin_faults.{target}": stats["plugin_faults"],
        }

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        g = w.guests[HOSTILE]
        shell = g.v.shell
        hangs0 = shell.stats["plugin_hangs"]
        w.rogue().hang_next_tx = True
        g.stack.announce()  # a frame to send: the plugin's tx() is called
        rec.measured["noticed_in_bound"] = int(
            await bounded(w, lambda: shell.stats["plugin_hangs"] > hangs0, HANG_NOTICE_CYCLES)
        )
        await w.host.fallbacks_done()
        rec.measured["fell_back"] = int(shell.mode is ShellMode.EMULATED and shell.plugin is None)
        done0 = shell.stats["tx_completed"]
        rec.measured["sends_emulated"] = int(
            await bounded(
                w, lambda: shell.stats["tx_completed"] > done0 or w.traffic_done, RECOVERY_CYCLES
            )
        )
        rec.measured["back_on_plugin"] = int(await w.attach(HOSTILE))
        rec.expects += [
            Expect(f"plugin_hangs.{HOSTILE}", 1),
            Expect(f"plugin_faults.{HOSTILE}", 1),
            Expect("noticed_in_bound", 1),
            Expect("fell_back", 1),
            Expect("sends_emulated", 1),
            Expect("back_on_plugin", 1),
        ]
        rec.notes.append(f"tx() hung; the shell's bound {PLUGIN_CALL_TIMEOUT_NS} ns")


class CorruptedImage(Injection):
    """The plugin image corrupted in transit (one bit flipped anywhere): the shell's
    loader refuses it and counts it, the VM stays emulated; then a good image again."""

    name, category = "corrupted_image", "attack"

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        return {"loader_refusals.vm4": sum(n for (vm, _), n in w.refusals.items() if vm == HOSTILE)}

    async def inject(self, w: SoakWorld, rec: InjectionRecord) -> None:
        image = bytearray(ring_a_image(ROGUE_PLUGIN_ID).pack())
        pos, bit = self.rng.randrange(len(image)), self.rng.randrange(8)
        image[pos] ^= 1 << bit
        await w.host.detach_vf(HOSTILE, "guest reloads its plugin")
        refused = not await w.attach(HOSTILE, bytes(image))
        rec.measured["refused"] = int(refused and w.guests[HOSTILE].v.shell.plugin is None)
        rec.measured["back_on_plugin"] = int(await w.attach(HOSTILE))
        rec.expects += [
            Expect("loader_refusals.vm4", 1),
            Expect("refused", 1),
            Expect("back_on_plugin", 1),
        ]
        rec.notes.append(f"bit {bit} of byte {pos} of {len(image)} flipped")


ATTACKS: tuple[type[Injection], ...] = (
    ForgedSourceMac,
    ForgedVlan,
    UnicastToVm,
    BroadcastFlood,
    MulticastFlood,
    DoubleVlan,
    DmaOutside,
    ProducerBeyondRing,
    BadLength,
    TooManyDescriptors,
    IrqMaskAbuse,
    OwnRegisterWrites,
    MailboxAbuse,
    CorruptedImage,
    PluginHang,
)
