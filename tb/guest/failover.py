"""The guest's failover device: one interface over a primary (a VF) and a standby (vmxnet3),
paired by MAC, as Linux's ``net_failover`` (drivers/net/net_failover.c) pairs a VF with
virtio-net (docs/MIGRATION.md §7).

Rules, as net_failover applies them:

- **enslaving** (``failover_slave_register`` / ``net_failover_slave_register``): a slave
  is taken only when its MAC is the failover device's (a VF with another MAC is not
  enslaved: :class:`ForeignMacError`); the standby is given at creation, at most one
  primary is registered at a time (:class:`PrimaryExistsError`). A slave being
  enslaved gets the failover device's MTU, RX mode, multicast list and VLAN filters;
  if it refuses one it is not enslaved.
- **TX** (``net_failover_start_xmit``): on the primary while it is registered,
  running and has carrier, else on the standby if that is running and has carrier,
  else dropped (``tx_no_slave``, recorded).
- **RX** (``net_failover_handle_frame``): a frame from the primary is delivered; a
  frame from the standby while a primary is registered is not (Linux returns
  ``RX_HANDLER_EXACT``: it reaches nobody above): recorded frame by frame as
  ``standby_rx_dropped``; a frame from a slave no longer enslaved is recorded as
  ``rx_not_enslaved``.
- **carrier** (``net_failover_lower_state_changed``): up while either slave is running
  with carrier; it never drops while one of them is.
- **configuration** (``net_failover_change_mtu``, ``_set_rx_mode``, ``_vlan_rx_add_vid``):
  propagated to both slaves, primary first; an MTU or VLAN a slave refuses is rolled
  back on the slaves that took it and the failover device keeps its old setting.

Pure Python: the slaves are anything with the :class:`Slave` methods (the simulated
ones are in tb/guest/failover_slaves.py), the guest stack sits on :meth:`xmit` and
:attr:`receiver` as on one interface.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

STANDBY_RX_DROPPED = "standby_rx_dropped"
TX_NO_SLAVE = "tx_no_slave"
RX_NOT_ENSLAVED = "rx_not_enslaved"
RX_NO_UPPER = "rx_no_upper"

Receive = Callable[[bytes], None]


class FailoverError(RuntimeError):
    """A request the failover device refuses."""


class ForeignMacError(FailoverError):
    """A slave whose MAC is not the failover device's."""


class PrimaryExistsError(FailoverError):
    """A second primary while one is registered."""


class NoPrimaryError(FailoverError):
    """Unregistering a primary that is not registered."""


class SlaveConfigError(FailoverError):
    """A slave refused a setting (MTU, VLAN, ...)."""


class Slave(Protocol):
    """What the failover device needs of a lower netdev."""

    name: str

    @property
    def mac(self) -> str: ...
    def is_running(self) -> bool: ...
    def has_carrier(self) -> bool: ...
    def xmit(self, frame: bytes) -> bool: ...
    def set_receiver(self, receive: Receive | None) -> None: ...
    def set_mtu(self, mtu: int) -> None: ...
    def set_rx_mode(self, promisc: bool, allmulti: bool) -> None: ...
    def set_multicast(self, macs: tuple[str, ...]) -> None: ...
    def add_vid(self, vid: int) -> None: ...
    def kill_vid(self, vid: int) -> None: ...


@dataclass(frozen=True)
class Drop:
    """A frame the failover device did not pass on, and why."""

    reason: str
    slave: str
    t: float
    frame: bytes


@dataclass
class RxConfig:
    """What the stack configured on the failover device and every slave gets."""

    mtu: int = 1500
    promisc: bool = False
    allmulti: bool = False
    mc: tuple[str, ...] = ()
    vids: set[int] = field(default_factory=set)


def norm_mac(mac: str) -> str:
    raw = bytes.fromhex(mac.replace(":", ""))
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return raw.hex(":")


def ready(slave: Slave | None) -> bool:
    """``net_failover_xmit_ready``: running and carrier."""
    return slave is not None and slave.is_running() and slave.has_carrier()


class FailoverDevice:
    """The failover netdev: a standby from the start, a primary registered by MAC."""

    def __init__(
        self,
        mac: str,
        standby: Slave,
        *,
        mtu: int = 1500,
        now: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.mac = norm_mac(mac)
        self.now = now
        self.config = RxConfig(mtu=mtu)
        self.receiver: Receive | None = None
        self.primary: Slave | None = None
        self.dropped: list[Drop] = []
        self.stats: Counter[str] = Counter()
        self.history: list[tuple[float, str]] = []
        self._check_mac(standby)
        self._enslave(standby)
        self.standby = standby

    # -- slaves ---------------------------------------------------------------------------

    def _check_mac(self, slave: Slave) -> None:
        if norm_mac(slave.mac) != self.mac:
            raise ForeignMacError(
                f"{slave.name}: MAC {slave.mac} is not the failover device's {self.mac}; "
                "not enslaved"
            )

    def _enslave(self, slave: Slave) -> None:
        """The failover device's settings onto a new slave, then its RX handler."""
        c = self.config
        slave.set_mtu(c.mtu)
        slave.set_rx_mode(c.promisc, c.allmulti)
        slave.set_multicast(c.mc)
        added: list[int] = []
        try:
            for vid in sorted(c.vids):
                slave.add_vid(vid)
                added.append(vid)
        except SlaveConfigError:
            for vid in added:
                slave.kill_vid(vid)
            raise
        slave.set_receiver(lambda frame: self._rx(slave, frame))

    def register(self, slave: Slave) -> None:
        """A VF appeared (NETDEV_REGISTER): enslave it as the primary if its MAC matches."""
        if slave is getattr(self, "standby", None):
            raise FailoverError(f"{slave.name} is the standby already")
        self._check_mac(slave)
        if self.primary is not None:
            raise PrimaryExistsError(
                f"{slave.name}: primary {self.primary.name} is registered already"
            )
        self._enslave(slave)
        self.primary = slave
        self.history.append((self.now(), f"registered {slave.name}"))

    def unregister(self, slave: Slave) -> None:
        """The primary went away (NETDEV_UNREGISTER): TX and RX are the standby's."""
        if self.primary is None:
            raise NoPrimaryError(f"{slave.name}: no primary is registered")
        if slave is not self.primary:
            raise NoPrimaryError(f"{slave.name} is not the primary ({self.primary.name} is)")
        slave.set_receiver(None)
        self.primary = None
        self.history.append((self.now(), f"unregistered {slave.name}"))

    @property
    def slaves(self) -> list[Slave]:
        """Primary first, as net_failover walks them."""
        return [s for s in (self.primary, self.standby) if s is not None]

    @property
    def carrier(self) -> bool:
        return any(ready(s) for s in self.slaves)

    # -- datapath -------------------------------------------------------------------------

    def xmit_slave(self) -> Slave | None:
        """Where the next frame goes: the primary if ready, else the standby if ready."""
        if ready(self.primary):
            return self.primary
        if ready(self.standby):
            return self.standby
        return None

    def xmit(self, frame: bytes) -> bool:
        """The stack sends ``frame``; False when no slave can take it (recorded)."""
        slave = self.xmit_slave()
        if slave is None:
            self._drop(TX_NO_SLAVE, "none", frame)
            return False
        self.stats[f"tx_{'primary' if slave is self.primary else 'standby'}"] += 1
        return slave.xmit(frame)

    def _rx(self, slave: Slave, frame: bytes) -> None:
        if slave is self.standby and self.primary is not None:
            self._drop(STANDBY_RX_DROPPED, slave.name, frame)
        elif slave is not self.standby and slave is not self.primary:
            self._drop(RX_NOT_ENSLAVED, slave.name, frame)
        elif self.receiver is None:
            self._drop(RX_NO_UPPER, slave.name, frame)
        else:
            self.stats[f"rx_{'primary' if slave is self.primary else 'standby'}"] += 1
            self.receiver(frame)

    def _drop(self, reason: str, slave: str, frame: bytes) -> None:
        self.stats[reason] += 1
        self.dropped.append(Drop(reason, slave, self.now(), bytes(frame)))

    def drops(self, reason: str) -> list[bytes]:
        return [d.frame for d in self.dropped if d.reason == reason]

    # -- configuration --------------------------------------------------------------------

    def _on_slaves(self, apply: Callable[[Slave], None], undo: Callable[[Slave], None]) -> None:
        """``apply`` on both slaves, primary first; if one refuses, ``undo`` on those that
        took it and the refusal raised."""
        done: list[Slave] = []
        try:
            for s in self.slaves:
                apply(s)
                done.append(s)
        except SlaveConfigError:
            for s in done:
                undo(s)
            raise

    def set_mtu(self, mtu: int) -> None:
        """Both slaves, primary first; a refusal rolls back the ones that took it."""
        if not 68 <= mtu <= 9000:
            raise ValueError(f"MTU {mtu} outside 68..9000")
        old = self.config.mtu
        self._on_slaves(lambda s: s.set_mtu(mtu), lambda s: s.set_mtu(old))
        self.config.mtu = mtu

    def set_rx_mode(self, *, promisc: bool = False, allmulti: bool = False) -> None:
        self.config.promisc, self.config.allmulti = promisc, allmulti
        for s in self.slaves:
            s.set_rx_mode(promisc, allmulti)

    def set_multicast(self, macs: tuple[str, ...]) -> None:
        table = tuple(norm_mac(m) for m in macs)
        bad = [m for m in table if not int(m[:2], 16) & 1]
        if bad:
            raise ValueError(f"not multicast addresses: {bad}")
        self.config.mc = table
        for s in self.slaves:
            s.set_multicast(table)

    def add_vid(self, vid: int) -> None:
        """A VLAN filter on both slaves; a refusal rolls it back on those that took it."""
        if not 0 <= vid <= 4094:
            raise ValueError(f"VLAN {vid} outside 0..4094")
        self._on_slaves(lambda s: s.add_vid(vid), lambda s: s.kill_vid(vid))
        self.config.vids.add(vid)

    def kill_vid(self, vid: int) -> None:
        if vid not in self.config.vids:
            raise FailoverError(f"VLAN {vid} is not filtered")
        for s in self.slaves:
            s.kill_vid(vid)
        self.config.vids.discard(vid)
