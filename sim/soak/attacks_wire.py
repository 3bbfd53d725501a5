"""Attacks of the hostile VM on the wire: forged source MAC and VLAN, unicast to
another VM, broadcast and multicast floods, double VLAN tags (sim/soak/attacks.py)."""

from __future__ import annotations

from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

from sim.soak.attack_steps import BROADCAST, attack_frame, vf_stat
from sim.soak.inject import Injection
from sim.soak.model import Expect, InjectionRecord, rxq_drops
from sim.soak.world import EXT_MAC, HONEST, HOSTILE, SoakWorld, vm_mac


class ForgedSourceMac(Injection):
    """Frames claiming an honest VM's source MAC: dropped by anti-spoofing, counted."""

    name, category = "forged_src_mac", "attack"

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # the sender's link follows the uplink's: down, its frames are dropped as
        # DROP_LINK_DOWN before the checks this counts (ARCHITECTURE §3.2)
        return frozenset({target, "uplink"})

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

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # the sender's link follows the uplink's: down, its frames are dropped as
        # DROP_LINK_DOWN before the checks this counts (ARCHITECTURE §3.2)
        return frozenset({target, "uplink"})

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

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # exactly n at the outside host (the uplink must stay up), at most n at (or
        # exactly n to) honest VMs, whose RX drops its window tolerates
        return frozenset({target, "uplink", *HONEST})

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

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # exactly n at the outside host (the uplink must stay up), at most n at (or
        # exactly n to) honest VMs, whose RX drops its window tolerates
        return frozenset({target, "uplink", *HONEST})

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

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # exactly n at the outside host (the uplink must stay up), at most n at (or
        # exactly n to) honest VMs, whose RX drops its window tolerates
        return frozenset({target, "uplink", *HONEST})

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

    def claims(self, w: SoakWorld, target: str) -> frozenset[str]:
        # the sender's link follows the uplink's: down, its frames are dropped as
        # DROP_LINK_DOWN before the checks this counts (ARCHITECTURE §3.2)
        return frozenset({target, "uplink"})

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
