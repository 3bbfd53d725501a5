"""Attacks of the hostile VM (vm4, the rogue plugin on VF 3), one class per kind.

Each says what it sent and what must follow: the switch, the IOMMU, the mailbox
or the loader drops, faults or refuses it and counts it under its reason
(``expects``), and its frames arrive only where the switch's policy allows
(``arrive_exact`` / ``arrive_max``; nowhere else, the accounting monitor checks).
"""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from sim.soak.inject import Injection
from sim.soak.model import ATTACK_PORT, Expect, InjectionRecord, attack_payload, rxq_drops
from sim.soak.world import EXT_MAC, HONEST, HOSTILE, VM_MEM, SoakWorld, vm_mac, vm_vf
from tb.plugin_model.hostile import ROGUE_PLUGIN_ID
from tb.plugin_model.ring_a import ring_a_image
from tb.ref.mailbox import MSGTYPE_NACK, MsgType
from tb.ref.regmap import FUNC_STATUS_ERROR, MBX_ACK, MBX_REQ, MBX_STS, Func, VfMbx

BROADCAST = "ff:ff:ff:ff:ff:ff"
MBX_REPLY_CYCLES = 30_000  # bound on the PF driver's answer to one mailbox request


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
        await w.host.detach_vf(HOSTILE, "VF error (IOMMU fault)")
        rec.measured["back_on_plugin"] = int(await w.attach(HOSTILE))
        rec.expects += [
            Expect("iommu_faults.f4", 1, exact=False),
            Expect("func_status_error", 1),
            Expect("back_on_plugin", 1),
        ]
        rec.notes.append(f"TX buffer at GPA {gpa:#x}")


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
    DmaOutside,
    OwnRegisterWrites,
    MailboxAbuse,
    CorruptedImage,
)
