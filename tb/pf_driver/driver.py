"""PF driver model: owns the PF's register space, and through it the switch.

Only the PF may touch the switch and the SR-IOV control; a VF driver never
gets a handle on anything here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tb.host.mmio import FunctionBar
from tb.ref.regmap import (
    MACT_VALID,
    Esw,
    MacEntry,
    Pf,
    PortCounter,
    mac_words,
)


class PfDriverError(ValueError):
    """A request the PF driver refuses, with the reason."""


@dataclass
class PfDriver:
    bar: FunctionBar  # function 0
    total_vfs: int = 0
    num_vfs: int = 0
    mac_table_size: int = 64
    _mac_slots: dict[tuple[str, int], int] = field(default_factory=dict)

    async def probe(self) -> None:
        pf_id = await self.bar.read(Pf.PF_ID)
        if pf_id >> 16 != 0x5A00:
            raise PfDriverError(f"PF_ID {pf_id:#010x}: not this NIC")
        self.total_vfs = pf_id & 0xFF

    async def enable_sriov(self, num_vfs: int) -> None:
        if not 0 <= num_vfs <= self.total_vfs:
            raise PfDriverError(f"num_vfs {num_vfs} outside 0..{self.total_vfs} (TotalVFs)")
        await self.bar.write(Pf.NUM_VFS, num_vfs)
        readback = await self.bar.read(Pf.NUM_VFS)
        if readback != num_vfs:
            raise PfDriverError(f"NumVFs reads back {readback}, wrote {num_vfs}")
        self.num_vfs = num_vfs

    async def add_fdb(self, mac: str, port: int, vlan: int = 0) -> int:
        """Forward frames to ``mac`` (on ``vlan``) to switch port ``port``."""
        if not 0 <= vlan <= 4095:
            raise PfDriverError(f"VLAN {vlan} outside 0..4095")
        key = (mac.lower(), vlan)
        slot = self._mac_slots.get(key)
        if slot is None:
            used = set(self._mac_slots.values())
            free = [s for s in range(self.mac_table_size) if s not in used]
            if not free:
                raise PfDriverError("forwarding table full")
            slot = free[0]
        lo, hi = mac_words(mac)
        base = Esw.MACT_BASE + slot * Esw.MACT_STRIDE
        # Invalidate, write the key, then validate: never a half-written live entry.
        await self.bar.write(base + MacEntry.CTRL, 0)
        await self.bar.write(base + MacEntry.LO, lo)
        await self.bar.write(base + MacEntry.HI, hi)
        await self.bar.write(base + MacEntry.VLAN, vlan)
        await self.bar.write(base + MacEntry.CTRL, MACT_VALID | port)
        self._mac_slots[key] = slot
        return slot

    async def del_fdb(self, mac: str, vlan: int = 0) -> None:
        slot = self._mac_slots.pop((mac.lower(), vlan), None)
        if slot is None:
            raise PfDriverError(f"no forwarding entry for {mac} vlan {vlan}")
        await self.bar.write(Esw.MACT_BASE + slot * Esw.MACT_STRIDE + MacEntry.CTRL, 0)

    async def port_stats(self, port: int) -> dict[str, int]:
        """Switch counters of one port, named like ``ethtool -S``."""
        base = Esw.CNT_BASE + port * Esw.CNT_STRIDE
        return {
            "rx_packets": await self.bar.read(base + PortCounter.RX_FRAMES),
            "rx_bytes": await self.bar.read64(base + PortCounter.RX_BYTES_LO),
            "tx_packets": await self.bar.read(base + PortCounter.TX_FRAMES),
            "tx_bytes": await self.bar.read64(base + PortCounter.TX_BYTES_LO),
            "rx_dropped_no_route": await self.bar.read(base + PortCounter.DROP_NO_ROUTE),
        }
