"""The PF driver's switch-policy encoder against the reference model's decoder.

The two are written separately (tb/pf_driver/switch_regs.py encodes field by
field, EswitchModel.reg_write decodes); both take offsets and fields from the one
register map. A policy encoded and decoded comes back whole, so a knob the
encoder puts in the wrong field, or forgets, shows here without the RTL.
"""

from __future__ import annotations

import random

import pytest

from tb.pf_driver.switch_regs import (
    entry_writes,
    max_len_writes,
    policy_writes,
    port_ctrl,
    uplink_link_writes,
)
from tb.ref.eswitch_model import (
    LINK_MODES,
    NUM_MC,
    NUM_SMAC,
    NUM_VLAN,
    EswitchModel,
    PortPolicy,
)
from tb.ref.regs import EswWindow, PortPolicyReg


def random_policy(rng: random.Random) -> PortPolicy:
    def mac() -> bytes:
        return bytes([rng.randrange(256) & 0xFE] + [rng.randrange(256) for _ in range(5)])

    pvid = rng.choice([None, rng.randrange(1, 4095)])
    return PortPolicy(
        spoofchk=rng.random() < 0.5,
        trust=rng.random() < 0.5,
        link=rng.choice(["auto", "enable", "disable"]),
        vlan_filter=rng.random() < 0.5,
        vlan_strip=rng.random() < 0.5,
        rx_ucast=rng.random() < 0.5,
        rx_mcast=rng.random() < 0.5,
        rx_bcast=rng.random() < 0.5,
        rx_allmulti=rng.random() < 0.5,
        rx_promisc=rng.random() < 0.5,
        pvid=pvid,
        pcp=rng.randrange(8) if pvid is not None else 0,
        rate_enable=rng.random() < 0.5,
        rate_inc=rng.randrange(1 << 24),
        rate_burst=rng.randrange(1 << 24),
        max_len=rng.randrange(60, 9019),
        smacs=[mac() for _ in range(rng.randrange(NUM_SMAC + 1))],
        vlans=[rng.randrange(4096) for _ in range(rng.randrange(NUM_VLAN + 1))],
        mcs=[b"\x01" + mac()[1:] for _ in range(rng.randrange(NUM_MC + 1))],
    )


def test_policy_round_trip() -> None:
    """500 random policies, each programmed over the previous one on a random port."""
    rng = random.Random(1)
    model = EswitchModel(num_func=4)
    for i in range(500):
        port = rng.randrange(model.num_ports)
        pol = random_policy(rng)
        model.apply_writes(policy_writes(port, pol))
        assert model.policy[port] == pol, f"policy {i} on port {port}"


def test_every_ctrl_knob_has_its_own_bit() -> None:
    """Each boolean knob sets exactly one PORT_CTRL bit, a different one per knob."""
    seen = 0
    for knob in (
        "spoofchk", "trust", "vlan_filter", "vlan_strip", "rx_ucast", "rx_mcast",
        "rx_bcast", "rx_allmulti", "rx_promisc",
    ):  # fmt: skip
        off = PortPolicy(rx_ucast=False, rx_bcast=False, rx_allmulti=False)
        bit = port_ctrl(PortPolicy(**{**off.__dict__, knob: True})) ^ port_ctrl(off)
        assert bin(bit).count("1") == 1 and not bit & seen, knob
        seen |= bit
    for mode in ("auto", "enable", "disable"):
        assert LINK_MODES[(port_ctrl(PortPolicy(link=mode)) >> 2) & 3] == mode


def test_list_slot_rewrite_replaces_the_list() -> None:
    """Programming a shorter list invalidates the slots it no longer uses."""
    model = EswitchModel(num_func=2)
    long = PortPolicy(smacs=[bytes([2, 0, 0, 0, 0, i]) for i in range(NUM_SMAC)], vlans=[1, 2, 3])
    model.apply_writes(policy_writes(1, long))
    short = PortPolicy(smacs=[bytes([2, 0, 0, 0, 0, 9])], vlans=[7])
    model.apply_writes(policy_writes(1, short))
    assert model.policy[1].smacs == short.smacs and model.policy[1].vlans == [7]


def test_entry_and_uplink_round_trip() -> None:
    model = EswitchModel(num_func=3, mac_table_size=16)
    model.apply_writes(entry_writes(5, "12:34:56:78:9a:bc", 0xABC, 2))
    e = model.table[5]
    assert (e.mac.hex(), e.vid, e.port, e.valid) == ("123456789abc", 0xABC, 2, True)
    assert model.lookup(bytes.fromhex("123456789abc"), 0xABC) == 2
    model.apply_writes(entry_writes(5, "12:34:56:78:9a:bc", 0xABC, 2, valid=False))
    assert model.lookup(bytes.fromhex("123456789abc"), 0xABC) is None
    model.apply_writes(uplink_link_writes(False))
    assert not model.uplink_link and not model.link_up(1)
    model.apply_writes(max_len_writes(3, 1000))
    assert model.policy[3].max_len == 1000


def test_encoder_refuses_values_its_fields_cannot_hold() -> None:
    with pytest.raises(ValueError, match="12-bit"):
        policy_writes(1, PortPolicy(pvid=4096))
    with pytest.raises(ValueError, match="24-bit"):
        policy_writes(1, PortPolicy(rate_inc=1 << 24))


def test_writes_stay_inside_the_port_block() -> None:
    for port in (0, 5):
        base = EswWindow.PORT_BASE + EswWindow.PORT_STRIDE * port
        offs = [off for off, _ in policy_writes(port, PortPolicy())]
        assert all(base <= off < base + EswWindow.PORT_STRIDE for off in offs)
        assert len(set(offs)) == len(offs)
        assert base + PortPolicyReg.PORT_STATUS not in offs  # read only
