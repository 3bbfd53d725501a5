"""A rogue plugin: vendor A's plugin in a compromised guest that also attacks from its VF.

It serves the shell like :class:`RingAPlugin` (the guest's own traffic keeps
flowing) and, on demand, does what NPA's critics asked about: sends frames with
a source MAC that is not its own, with an 802.1Q tag it was never given, and
points a TX descriptor outside its VM's memory. None of it goes through the
Shell API's checks (a plugin owns its VF's registers and rings); the protection
has to come from the switch hardware and the IOMMU, and each attack is expected
to be dropped or faulted there and counted.

For soak campaigns (sim/soak) it also sends any frame it builds (``send_raw``),
writes its own VF's registers (``write_own``: the register space is the plugin's,
whatever it writes there), posts TX frames the VF's engine must refuse
(``post_malformed``: zero or oversized lengths, too many buffers), and can be told
to raise from its next TX entry point (``crash_next_tx``) or never to return from it
(``hang_next_tx``), vendor bugs the shell must survive.
"""

from __future__ import annotations

from cocotb.triggers import Event
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tb.plugin_model.ring_a import RingAPlugin

ROGUE_PLUGIN_ID = "vf-a-rogue"


class PluginCrash(RuntimeError):
    """The fault a test injects into a plugin's entry point."""


class HostilePlugin(RingAPlugin):
    """RingAPlugin plus attacks sent on the plugin's own VF TX ring."""

    OWN_TX_BUFFERS = True  # the attack frames are its own, copied into its TX areas
    crash_next_tx = False  # set: the next tx() raises PluginCrash (once)
    hang_next_tx = False  # set: the next tx() never returns (once)

    async def tx(self, prod: int) -> int:
        if self.crash_next_tx:
            self.crash_next_tx = False
            self.stats["crashed"] += 1
            raise PluginCrash("injected fault in the plugin's TX entry point")
        if self.hang_next_tx:
            self.hang_next_tx = False
            self.stats["hung"] += 1
            await Event().wait()  # nobody sets it: the call never returns
        return await super().tx(prod)

    async def send_raw(self, frame: bytes, vlan_tci: int | None = None) -> None:
        """Send ``frame`` as it is from the plugin's VF (no check of any kind)."""
        await self._inject(frame, vlan_tci)
        self.stats["attack_raw"] += 1

    async def write_own(self, addr: int, value: int) -> None:
        """Write ``value`` at ``addr`` of the plugin's own VF register space."""
        api, _, _ = self._live()
        await api.vf.write(addr, value)
        self.stats["attack_reg_writes"] += 1

    async def read_own(self, addr: int) -> int:
        api, _, _ = self._live()
        return await api.vf.read(addr)

    def _attack_frame(self, src: str, dst: str, tag: int) -> bytes:
        pkt = (
            Ether(src=src, dst=dst)
            / IP(src="10.66.66.66", dst="10.0.0.254")
            / UDP(sport=666, dport=666)
            / Raw(tag.to_bytes(4, "big") * 16)
        )
        return bytes(pkt)

    async def forge_source_mac(self, n: int, forged: str, dst: str) -> None:
        """``n`` frames claiming source ``forged`` (e.g. another VM's MAC)."""
        for k in range(n):
            await self._inject(self._attack_frame(forged, dst, k), None)
        self.stats["attack_forged_mac"] += n

    async def forge_vlan(self, n: int, vid: int, src: str, dst: str) -> None:
        """``n`` frames tagged with VLAN ``vid`` by the VF's insert offload."""
        for k in range(n):
            await self._inject(self._attack_frame(src, dst, k), vid)
        self.stats["attack_forged_vlan"] += n

    async def dma_outside(self, gpa: int, length: int = 256) -> None:
        """A TX descriptor whose buffer is at ``gpa``, outside the VM's memory."""
        _, txq, _ = self._live()
        self._hw.append((txq.post_buffers([(gpa, length)]), None))
        await txq.ring_doorbell()
        self.stats["attack_dma_outside"] += 1

    async def post_malformed(self, frags: list[tuple[int, int]]) -> None:
        """One TX frame of the buffers ``(address, length)`` exactly as given: no check of
        length or buffer count (the ring is the plugin's to write; the VF's engine has to
        refuse what breaks its rules, ARCHITECTURE §3.1)."""
        _, txq, _ = self._live()
        while txq.ring.free_slots() < len(frags):
            await self.reap()
            await txq.ring.wait_completion_write("room for a malformed frame")
        # past TxQueue.post_buffers' own limit checks, straight onto the ring
        self._hw.append((txq._post_frags(b"", list(frags), None), None))
        await txq.ring_doorbell()
        self.stats["attack_malformed_tx"] += 1

    async def _inject(self, frame: bytes, vlan_tci: int | None) -> None:
        _, txq, _ = self._live()
        while txq.ring.free_slots() == 0:
            await self.reap()
            await txq.ring.wait_completion_write("room for an attack frame")
        self._hw.append((txq.post(frame, vlan_tci=vlan_tci), None))
        await txq.ring_doorbell()
