"""Several hosts in one simulation (docs/MIGRATION.md): a view of each host's ports in a
multi-host top that NicTb drives unchanged, and the rack that joins the hosts' uplinks
and an outside host through a top-of-rack switch."""

from tb.datacenter.host_view import SHARED_PARAMETERS, HostPorts
from tb.datacenter.rack import (
    PORT_HOST_A,
    PORT_HOST_B,
    PORT_OUTSIDE,
    Rack,
    RackConfig,
)

__all__ = [
    "PORT_HOST_A",
    "PORT_HOST_B",
    "PORT_OUTSIDE",
    "SHARED_PARAMETERS",
    "HostPorts",
    "Rack",
    "RackConfig",
]
