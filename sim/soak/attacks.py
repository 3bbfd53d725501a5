"""Attacks of the hostile VM (vm4, the rogue plugin on VF 3), one class per kind.

Each says what it sent and what must follow: the switch, the IOMMU, the mailbox
or the loader drops, faults or refuses it and counts it under its reason
(``expects``), and its frames arrive only where the switch's policy allows
(``arrive_exact`` / ``arrive_max``; nowhere else, the accounting monitor checks).

Here: the register, interrupt, mailbox and plugin attacks, and :data:`ATTACKS`, every
kind; the wire's in :mod:`sim.soak.attacks_wire`, the DMA engine's in
:mod:`sim.soak.attacks_dma`, their shared steps in :mod:`sim.soak.attack_steps`.
"""

from __future__ import annotations

from sim.soak.attack_steps import (
    IRQ_REGS,
    RECOVERY_CYCLES,
    bounded,
    queue_pairs,
    receives_again,
    take_back,
    vf_stat,
)
from sim.soak.attacks_dma import BadLength, DmaOutside, ProducerBeyondRing, TooManyDescriptors
from sim.soak.attacks_wire import (
    BroadcastFlood,
    DoubleVlan,
    ForgedSourceMac,
    ForgedVlan,
    MulticastFlood,
    UnicastToVm,
)
from sim.soak.inject import Injection
from sim.soak.model import Expect, InjectionRecord
from sim.soak.world import HONEST, HONEST_A, HOSTILE, SoakWorld, vm_mac, vm_vf
from tb.plugin_model.hostile import ROGUE_PLUGIN_ID
from tb.plugin_model.ring_a import ring_a_image
from tb.ref.mailbox import MSGTYPE_NACK, MsgType
from tb.ref.regmap import (
    MBX_ACK,
    MBX_REQ,
    MBX_STS,
    VfMbx,
    queue_reg,
)
from tb.shell_model.npa_shell import PLUGIN_CALL_TIMEOUT_NS, ShellMode
from tb.vf_driver.rings import NS_PER_CYCLE  # vf_dma's MAX_TX_BUFS

MBX_REPLY_CYCLES = 30_000  # bound on the PF driver's answer to one mailbox request


class IrqMaskAbuse(Injection):
    """The hostile plugin writes its own queues' interrupt mask and moderation registers
    (``*Q_IRQ_CTRL``, ``*Q_IRQ_MOD``) with random values, 16 to 64 writes over a few
    thousand cycles: its own interrupts may stop or crawl (its queues excused), but no
    honest function's interrupt registers move and each honest VF keeps interrupting
    (its traffic: the delivery and watchdog monitors); then the hypervisor takes the VM
    back (the FLR resets the registers, §3.1) and gives it its VF again, and it receives
    again."""

    name, category = "irq_mask_abuse", "attack"

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # every honest function of host A keeps its interrupt registers and interrupts
        return frozenset({target, *HONEST_A})

    def excused(self, target: str) -> frozenset[str]:
        return frozenset({target})

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        out = {}
        for vm in HONEST_A:
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
        for vm in HONEST_A:
            rec.expects += [Expect(f"irqs.{vm}", 1, exact=False), Expect(f"irq_regs.{vm}", 0)]
        rec.expects.append(Expect("receives_again", 1))
        rec.notes.append(f"{n} writes to its {queues} queue pairs' interrupt registers")


class OwnRegisterWrites(Injection):
    """Random writes in the hostile VF's own register space outside what it owns: each
    counted by the NIC (VF_BAD_ACCESS, mailbox ERRS), no other VF's counters move."""

    name, category = "own_register_writes", "attack"

    async def counters(self, w: SoakWorld, target: str) -> dict[str, int]:
        out = {}
        for vm in (*HONEST_A, HOSTILE):
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
        for vm in HONEST_A:
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
