"""Per-VF statistics from the hardware counters, named like ``ethtool -S``.

Seen from the VF: what it transmits enters the switch at its port (the port's
RX counters), what it receives leaves the switch towards it (TX counters); what
its DMA engine dropped comes from the PF's per-VF statistics block (the VF's own
queue counters reset with its FLR, these do not). ``rx_dropped`` is what
``ip -s link`` shows for the VF: frames the switch sent it that never reached the
guest (no RX buffer, queue stopped, or cut off by a disable or FLR).
Every value is a register read; nothing is counted in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from tb.host.mmio import FunctionBar
from tb.ref.eswitch_model import Counter, counter_addr
from tb.ref.regmap import (
    Esw,
    PfMbx,
    VfAdmin,
    VfStats,
    pf_mbx_reg,
    vf_admin_reg,
    vf_stats_reg,
)

# ethtool name -> switch counter of the VF's port (32-bit unless listed in _WIDE).
VF_COUNTERS: dict[str, Counter] = {
    "tx_packets": Counter.RX_FRAMES,
    "tx_bytes": Counter.RX_BYTES_LO,
    "tx_dropped": Counter.RX_DROPS,
    "tx_dropped_spoof": Counter.DROP_SPOOF_MAC,
    "tx_dropped_spoof_vlan": Counter.DROP_SPOOF_VLAN,
    "tx_dropped_vlan_policy": Counter.DROP_VLAN_POLICY,
    "tx_dropped_link_down": Counter.DROP_LINK_DOWN,
    "tx_dropped_bad_len": Counter.DROP_BAD_LEN,
    "tx_dropped_too_big": Counter.DROP_TOO_BIG,
    "tx_dropped_no_route": Counter.DROP_NO_ROUTE,
    "rx_packets": Counter.TX_FRAMES,
    "rx_bytes": Counter.TX_BYTES_LO,
}
_WIDE = {"tx_bytes", "rx_bytes"}
# ethtool name -> the VF's engine statistic in the PF window
VF_ENGINE_COUNTERS: dict[str, VfStats] = {
    "rx_dropped_no_buffer": VfStats.RX_DROPS,
    "rx_dropped_abandoned": VfStats.RX_ABANDONED,
    "tx_dropped_abandoned": VfStats.TX_ABANDONED,
}


@dataclass(frozen=True)
class VfStatsReader:
    bar: FunctionBar

    async def read(self, vf: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, counter in VF_COUNTERS.items():
            addr = Esw.BASE + counter_addr(vf, counter)
            out[name] = await (self.bar.read64(addr) if name in _WIDE else self.bar.read(addr))
        for name, reg in VF_ENGINE_COUNTERS.items():
            out[name] = await self.bar.read(vf_stats_reg(vf, reg))
        out["rx_dropped"] = out["rx_dropped_no_buffer"] + out["rx_dropped_abandoned"]
        out["mbx_errors"] = await self.bar.read(pf_mbx_reg(vf, PfMbx.ERRS)) & 0xFFFF
        out["bad_register_accesses"] = await self.bar.read(vf_admin_reg(vf, VfAdmin.BAD_ACCESS))
        return out
