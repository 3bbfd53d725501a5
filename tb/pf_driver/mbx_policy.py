"""The PF's answer to each VF mailbox request, with ixgbe's policy.

Pure logic (no register access): given the VF's state and its request, decide
the reply and the new state. Follows ixgbe_rcv_msg_from_vf() and its helpers in
drivers/net/ethernet/intel/ixgbe/ixgbe_sriov.c:

- before the VF's VF_RESET (``clear_to_send`` false) every other request is NACKed;
- SET_MAC_ADDR: invalid (multicast, zero) refused; an untrusted VF may not
  override a MAC the administrator set;
- SET_VLAN: refused while a port VLAN is set; removing VLAN 0 is a no-op;
- UPDATE_XCAST_MODE (API >= 1.2, PROMISC >= 1.3): an untrusted VF asking for more
  than MULTI gets MULTI, and the reply says which mode is in effect;
- GET_LINK_STATE (API >= 1.2): the VF's link as the switch enforces it;
- API_NEGOTIATE: 1.0, 1.1, 1.2 and 1.3 are accepted;
- anything else is NACKed and counted as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tb.pf_driver.vf_state import VfState
from tb.ref.eswitch_model import NUM_MC, NUM_VLAN
from tb.ref.mailbox import (
    MC_MAX_IN_MSG,
    MC_TYPE_WORD,
    PERMADDR_MSG_LEN,
    VLAN_VID_MASK,
    MboxApi,
    MbxMessage,
    MsgType,
    XcastMode,
    is_multicast,
    is_valid_ether_addr,
    mac_to_words,
    words_to_bytes,
    words_to_mac,
)

SUPPORTED_APIS = (MboxApi.API_10, MboxApi.API_11, MboxApi.API_12, MboxApi.API_13)
API_ORDER = {  # version order of the enum values
    MboxApi.API_10: 10,
    MboxApi.API_20: 20,
    MboxApi.API_11: 11,
    MboxApi.API_12: 12,
    MboxApi.API_13: 13,
    MboxApi.API_14: 14,
    MboxApi.API_15: 15,
}
MC_FILTER_TYPE = 0  # IXGBE_VF_MC_TYPE_WORD value: exact-address filter on this NIC


@dataclass
class Decision:
    """The reply to send, whether the hardware policy must be rewritten, and why."""

    reply: MbxMessage
    apply: bool = False
    reason: str = "ok"
    unknown: bool = False


@dataclass
class MailboxPolicy:
    """Decides replies; ``link_up`` is the VF's effective link when asked."""

    refused: list[tuple[int, str]] = field(default_factory=list)

    def handle(self, vf: int, st: VfState, msg: MbxMessage, link_up: bool) -> Decision:
        if msg.msg_type == MsgType.VF_RESET:
            return self._reset(st)
        if not st.guest.clear_to_send:
            return self._nack(vf, msg, "request before VF_RESET")
        handler = {
            MsgType.SET_MAC_ADDR: self._set_mac,
            MsgType.SET_MULTICAST: self._set_multicast,
            MsgType.SET_VLAN: self._set_vlan,
            MsgType.UPDATE_XCAST_MODE: self._xcast,
            MsgType.API_NEGOTIATE: self._api,
        }.get(msg.msg_type)
        if msg.msg_type == MsgType.GET_LINK_STATE:
            d = self._link_state(st, msg, link_up)
        elif handler is None:
            d = self._refuse(msg, f"unknown request {msg.msg_type:#x}")
            d.unknown = True
        else:
            d = handler(st, msg)
        if d.reply.nack:
            self.refused.append((vf, d.reason))
        d.reply.cts = True
        return d

    # ---------------------------------------------------------------- helpers
    def _nack(self, vf: int, msg: MbxMessage, reason: str) -> Decision:
        self.refused.append((vf, reason))
        reply = MbxMessage(msg.msg_type, nack=True)
        return Decision(reply, reason=reason)

    @staticmethod
    def _ok(msg: MbxMessage, payload: list[int] | None = None, apply: bool = False) -> Decision:
        return Decision(MbxMessage(msg.msg_type, ack=True, payload=payload or []), apply=apply)

    @staticmethod
    def _refuse(msg: MbxMessage, reason: str) -> Decision:
        return Decision(MbxMessage(msg.msg_type, nack=True), reason=reason)

    @staticmethod
    def _api_at_least(st: VfState, api: MboxApi) -> bool:
        return API_ORDER[st.guest.api] >= API_ORDER[api]

    # --------------------------------------------------------------- requests
    @staticmethod
    def _reset(st: VfState) -> Decision:
        st.reset_guest()
        st.guest.clear_to_send = True
        mac = st.mac
        payload = [*mac_to_words(mac), MC_FILTER_TYPE]
        assert len(payload) == PERMADDR_MSG_LEN - 1 and MC_TYPE_WORD == 3
        valid = is_valid_ether_addr(mac)
        reply = MbxMessage(MsgType.VF_RESET, ack=valid, nack=not valid, cts=True, payload=payload)
        return Decision(reply, apply=True, reason="ok" if valid else "no MAC address assigned")

    def _set_mac(self, st: VfState, msg: MbxMessage) -> Decision:
        mac = words_to_mac(msg.payload[:2])
        if not is_valid_ether_addr(mac):
            return self._refuse(msg, "invalid MAC address")
        if st.admin.pf_set_mac and not st.admin.trust and mac != st.admin.mac:
            return self._refuse(msg, "untrusted VF may not override the administrator's MAC")
        st.guest.mac = mac
        if st.admin.pf_set_mac and st.admin.trust:
            st.admin.mac = mac  # a trusted VF's change replaces the admin MAC (ixgbe)
        return self._ok(msg, mac_to_words(mac), apply=True)

    def _set_multicast(self, st: VfState, msg: MbxMessage) -> Decision:
        n = msg.info
        if n > MC_MAX_IN_MSG:
            return self._refuse(msg, f"{n} multicast addresses do not fit a message")
        if n > NUM_MC:
            return self._refuse(msg, f"{n} multicast addresses exceed the {NUM_MC}-entry filter")
        raw = words_to_bytes(msg.payload, 6 * n) if n else b""
        addrs = [raw[6 * i : 6 * i + 6] for i in range(n)]
        if any(not is_multicast(a) for a in addrs):
            return self._refuse(msg, "a multicast list entry is not a multicast address")
        st.guest.mcs = addrs
        return self._ok(msg, apply=True)

    def _set_vlan(self, st: VfState, msg: MbxMessage) -> Decision:
        if st.admin.pvid:
            return self._refuse(msg, "SET_VLAN refused: a port VLAN is set")
        add = bool(msg.info)
        vid = (msg.payload[0] if msg.payload else 0) & VLAN_VID_MASK
        if vid == 0:
            return self._ok(msg)  # VLAN 0 is always a member; removing it is a no-op
        vlans = st.guest.vlans
        if add and vid not in vlans:
            if len(vlans) >= NUM_VLAN:
                return self._refuse(msg, f"VLAN filter full ({NUM_VLAN} entries)")
            vlans.append(vid)
        elif not add and vid in vlans:
            vlans.remove(vid)
        return self._ok(msg, apply=True)

    def _xcast(self, st: VfState, msg: MbxMessage) -> Decision:
        mode = msg.payload[0] if msg.payload else -1
        if not self._api_at_least(st, MboxApi.API_12):
            return self._refuse(msg, "UPDATE_XCAST_MODE needs API 1.2")
        if mode not in tuple(XcastMode):
            return self._refuse(msg, f"xcast mode {mode} unknown")
        if mode == XcastMode.PROMISC and not self._api_at_least(st, MboxApi.API_13):
            return self._refuse(msg, "PROMISC needs API 1.3")
        if mode > XcastMode.MULTI and not st.admin.trust:
            mode = XcastMode.MULTI  # clamped: untrusted VFs get no more than MULTI
        st.guest.xcast = XcastMode(mode)
        return self._ok(msg, [int(mode)], apply=True)

    def _link_state(self, st: VfState, msg: MbxMessage, link_up: bool) -> Decision:
        if not self._api_at_least(st, MboxApi.API_12):
            return self._refuse(msg, "GET_LINK_STATE needs API 1.2")
        return self._ok(msg, [int(link_up)])

    def _api(self, st: VfState, msg: MbxMessage) -> Decision:
        api = msg.payload[0] if msg.payload else -1
        if api not in tuple(int(a) for a in SUPPORTED_APIS):
            return self._refuse(msg, f"mailbox API {api} not supported")
        st.guest.api = MboxApi(api)
        return self._ok(msg, [api])
