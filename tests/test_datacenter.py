"""tb/datacenter without a simulator: a host's view of a multi-host top maps the single-host
names NicTb uses onto the top's prefixed ones, and the rack refuses what it cannot build."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tb.datacenter import HostPorts, RackConfig
from tb.env import TbConfig
from tb.net.tor_switch import TorConfig


def fake_top() -> SimpleNamespace:
    """Some of two_host_top's names, each holding its own name."""
    names = (
        "NUM_VF",
        "A_VF_RING_FMT",
        "B_VF_RING_FMT",
        "A_UPLINK_IN_CH",
        "B_HOST_BUS_INST",
        "a_clk",
        "b_clk",
        "a_s_axil_awaddr",
        "b_uplink_in_rst",
        "a_m_axis_uplink_tdata",
        "_log",
    )
    return SimpleNamespace(**{n: n for n in names})


def test_host_ports_map_single_host_names() -> None:
    top = fake_top()
    a, b = HostPorts(top, "a"), HostPorts(top, "b")
    assert (a.clk, b.clk) == ("a_clk", "b_clk")
    assert a.s_axil_awaddr == "a_s_axil_awaddr"
    assert b.uplink_in_rst == "b_uplink_in_rst"
    assert a.m_axis_uplink_tdata == "a_m_axis_uplink_tdata"
    assert (a.VF_RING_FMT, b.VF_RING_FMT) == ("A_VF_RING_FMT", "B_VF_RING_FMT")
    assert a.UPLINK_IN_CH == "A_UPLINK_IN_CH" and b.HOST_BUS_INST == "B_HOST_BUS_INST"
    assert a.NUM_VF == b.NUM_VF == "NUM_VF"  # shared, not prefixed
    assert a._log == "_log"
    # hasattr answers as on a single-host top: host A has no HOST_BUS_INST here.
    assert not hasattr(a, "HOST_BUS_INST") and hasattr(b, "HOST_BUS_INST")
    assert not hasattr(a, "uplink_in_rst") and hasattr(b, "uplink_in_rst")


def test_host_ports_refuse_unknown_hosts() -> None:
    with pytest.raises(ValueError, match="no host 'c'"):
        HostPorts(fake_top(), "c")
    with pytest.raises(ValueError, match="lower-case"):
        HostPorts(fake_top(), "A")


def test_rack_config_is_checked() -> None:
    with pytest.raises(ValueError, match="3 ports"):
        RackConfig(tor=TorConfig(ports=4))
    with pytest.raises(ValueError, match="HDL host bus"):
        RackConfig(host_b=TbConfig(host_bus="python"))
    assert RackConfig().tor.names == ("host_a", "host_b", "outside")
