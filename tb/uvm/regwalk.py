"""UVM's register-layer tests, driven from the register map's one description.

``uvm_reg_hw_reset_seq`` and ``uvm_reg_bit_bash_seq`` over the registers that
``rtl/regs/*.rdl`` describes (compiled by systemrdl-compiler, sim/regmap_gen.py):

- **reset**: each software-owned field (``hw = r``) reads its RDL reset value.
- **bit bash**: each plain storage field (``sw = rw``, ``hw = r``, no ``side_effect``,
  no ``singlepulse`` or ``onwrite``) takes all ones, all zeros and two alternating
  patterns, read back exactly; read-only fields keep their value through every write.
- **no aliasing**: every such register written with its own value (a hash of its
  address), then all read back: a decode that lands a write elsewhere shows.

Fields that only the hardware drives, or whose write does something (doorbells,
queue enable, NumVFs: ``side_effect`` in the RDL), are read, not bashed. The walk
takes any register port with ``read(addr)`` and ``write(addr, value)``: a function's
BAR on nic_top (tests/integration/cocotb_regwalk.py), the switch's own register port
in its block builds (tests/cocotb_eswitch_regwalk.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from systemrdl.node import AddressableNode, FieldNode, RegNode
from systemrdl.rdltypes import AccessType


class RegisterPort(Protocol):
    async def read(self, addr: int) -> int: ...
    async def write(self, addr: int, value: int) -> None: ...


PATTERNS = (0xFFFFFFFF, 0x00000000, 0x55555555, 0xAAAAAAAA)


@dataclass(frozen=True)
class Reg:
    """A register instance: where it is and what the RDL says of each field."""

    path: str
    addr: int
    fields: tuple[FieldNode, ...]
    ring_format: str | None  # the only ring format whose functions have it (RDL)

    def bashable(self) -> int:
        """Mask of the plain storage fields (0: the register is not bashed)."""
        if any(f.get_property("side_effect") for f in self.fields):
            return 0
        mask = 0
        for f in self.fields:
            plain = (
                f.get_property("sw") == AccessType.rw
                and f.get_property("hw") in (AccessType.r, AccessType.na)
                and not f.get_property("singlepulse")
                and f.get_property("onwrite") is None
            )
            mask |= ((1 << f.width) - 1) << f.lsb if plain else 0
        return mask

    def reset(self) -> tuple[int, int]:
        """(mask, value) of the software-owned fields with a reset value."""
        mask = value = 0
        for f in self.fields:
            r = f.get_property("reset")
            if r is not None and f.get_property("hw") in (AccessType.r, AccessType.na):
                mask |= ((1 << f.width) - 1) << f.lsb
                value |= int(r) << f.lsb
        return mask, value

    def reserved(self) -> int:
        """Mask of the bits no field defines."""
        defined = 0
        for f in self.fields:
            defined |= ((1 << f.width) - 1) << f.lsb
        return ~defined & 0xFFFF_FFFF

    def read_only(self) -> int:
        """Mask of the fields software cannot write."""
        mask = 0
        for f in self.fields:
            if f.get_property("sw") in (AccessType.r, AccessType.na):
                mask |= ((1 << f.width) - 1) << f.lsb
        return mask


@dataclass(frozen=True)
class Build:
    """What the build has, from its parameters and the switch's capability registers."""

    num_vf: int
    num_queues: int
    ports: int
    mac_entries: int
    lists: dict[str, int]  # SMAC, VLAN_LIST, MC: entries per port

    def count(self, node: AddressableNode) -> range:
        """The elements of array ``node`` the build has."""
        name, n = node.inst_name, node.array_dimensions[0]
        bounds = {
            "QUEUE": range(self.num_queues),
            "MACT": range(self.mac_entries),
            "PORT": range(self.ports),
            "CNT": range(self.ports),
            "VF_ADMIN": range(1, self.num_vf + 1),
            "VF_STATS": range(1, self.num_vf + 1),
            "MBX": range(1, self.num_vf + 1),
            **{k: range(v) for k, v in self.lists.items()},
        }
        got = bounds.get(name, range(n))
        assert got.stop <= n, f"{name}: the build has {got.stop}, the map {n}"
        return got


def registers(
    node: AddressableNode, build: Build, base: int, path: str, fmt: str | None = None
) -> Iterator[Reg]:
    """Every register below ``node`` the build has, at its address from ``base``."""
    for child in node.children():
        if not isinstance(child, AddressableNode):
            continue
        only = child.get_property("ring_format", default=None) or fmt
        indices = build.count(child) if child.is_array else [None]
        for i in indices:
            at = base + child.raw_address_offset + (i or 0) * (child.array_stride or 0)
            name = f"{path}.{child.inst_name}" + ("" if i is None else f"[{i}]")
            if isinstance(child, RegNode):
                yield Reg(name.lstrip("."), at, tuple(child.fields()), only)
            else:
                yield from registers(child, build, at, name, only)


def word(addr: int) -> int:
    """A value of the register's own, for the aliasing pass."""
    return int.from_bytes(hashlib.sha256(addr.to_bytes(4, "little")).digest()[:4], "little")


class Walker:
    """The walk over one function's space; ``fmt``: its DMA engine's ring format."""

    def __init__(self, bar: RegisterPort, regs: list[Reg], who: str, fmt: str) -> None:
        self.bar, self.regs, self.who, self.fmt = bar, regs, who, fmt
        self.errors: list[str] = []

    def absent(self, reg: Reg) -> bool:
        """The function's engine has no such register: it reads 0, ignores writes."""
        return reg.ring_format not in (None, self.fmt)

    def check(self, reg: Reg, got: int, want: int, mask: int, what: str) -> None:
        if (got ^ want) & mask:
            self.errors.append(
                f"{self.who} {reg.path} @{reg.addr:#07x} {what}: read {got:#010x}, "
                f"want {want & mask:#010x} in {mask:#010x}"
            )

    async def reset(self) -> None:
        for reg in self.regs:
            mask, value = reg.reset()
            if mask:
                self.check(reg, await self.bar.read(reg.addr), value, mask, "after reset")

    async def bash(self) -> int:
        bashed = 0
        for reg in self.regs:
            mask = reg.bashable()
            if not mask:
                continue
            bashed += 1
            before = await self.bar.read(reg.addr)
            ro = reg.read_only()
            for pattern in PATTERNS:
                await self.bar.write(reg.addr, pattern & mask)
                got = await self.bar.read(reg.addr)
                want = 0 if self.absent(reg) else pattern
                self.check(reg, got, want, mask, f"after writing {pattern & mask:#010x}")
                self.check(reg, got, before, ro, "read-only bits after a write")
            # bits no field defines read 0 whatever is written there (and the plain
            # fields with them: no other field of the register is written)
            await self.bar.write(reg.addr, mask | reg.reserved())
            got = await self.bar.read(reg.addr)
            self.check(reg, got, 0, reg.reserved(), "bits no field defines")
        return bashed

    async def aliasing(self) -> None:
        regs = [r for r in self.regs if r.bashable()]
        for reg in regs:
            await self.bar.write(reg.addr, word(reg.addr) & reg.bashable())
        for reg in regs:
            got = await self.bar.read(reg.addr)
            want = 0 if self.absent(reg) else word(reg.addr)
            self.check(reg, got, want, reg.bashable(), "after writing every register")
