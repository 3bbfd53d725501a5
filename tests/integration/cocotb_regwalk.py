"""The register walk on nic_top: the two register tests of UVM's register layer
(``uvm_reg_hw_reset_seq`` and ``uvm_reg_bit_bash_seq``), driven from the register
map's one description, ``rtl/regs/*.rdl``, compiled here by systemrdl-compiler.

Every register of the PF's space and of each VF's space that the build has (queues
below ``NUM_QUEUES``, switch ports and MAC table entries the switch reports, VFs
1..``NUM_VF``) is read after reset and written and read back:

- **reset**: each software-owned field (``hw = r``) reads its RDL reset value.
- **bit bash**: each plain storage field (``sw = rw``, ``hw = r``, no ``side_effect``,
  no ``singlepulse`` or ``onwrite``) takes all ones, all zeros and two alternating
  patterns, read back exactly; read-only fields keep their value through every write.
- **no aliasing**: every such register written with its own value (a hash of its
  address), then all read back: a decode that lands a write elsewhere shows.

Fields that only the hardware drives, or whose write does something (doorbells,
queue enable, NumVFs: ``side_effect`` in the RDL), are read, not bashed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import cocotb
from systemrdl.node import AddressableNode, AddrmapNode, FieldNode, RegNode
from systemrdl.rdltypes import AccessType

from sim.regmap_gen import compile_rdl
from tb.env import NicTb, TbConfig
from tb.host.mmio import FunctionBar
from tb.ref.regs import Esw, EswCaps, EswId, EswLists, Pf

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

    def __init__(self, bar: FunctionBar, regs: list[Reg], who: str, fmt: str) -> None:
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
        return bashed

    async def aliasing(self) -> None:
        regs = [r for r in self.regs if r.bashable()]
        for reg in regs:
            await self.bar.write(reg.addr, word(reg.addr) & reg.bashable())
        for reg in regs:
            got = await self.bar.read(reg.addr)
            want = 0 if self.absent(reg) else word(reg.addr)
            self.check(reg, got, want, reg.bashable(), "after writing every register")


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def register_walk(dut) -> None:
    """Reset values, bit bash and aliasing over the PF's and every VF's register space."""
    tb = NicTb(dut, TbConfig(seed=3))
    await tb.reset()
    pf = tb.bar(0)
    ident, caps, lists = [await pf.read(r) for r in (Esw.ESW_ID, Esw.ESW_CAPS, Esw.ESW_LISTS)]
    ports = EswId.PORTS.decode(ident)
    # The capability registers against the build (PF, VFs and the uplink are ports).
    assert ports == tb.num_vf + 2, (ports, tb.num_vf)
    assert EswCaps.MAC_ENTRIES.decode(caps) == int(dut.MAC_TABLE_SIZE.value)
    build = Build(
        num_vf=tb.num_vf,
        num_queues=int(dut.NUM_QUEUES.value),
        ports=ports,
        mac_entries=EswCaps.MAC_ENTRIES.decode(caps),
        lists={
            "SMAC": EswLists.SMACS.decode(lists),
            "VLAN_LIST": EswLists.VLANS.decode(lists),
            "MC": EswLists.MCS.decode(lists),
        },
    )
    tops: dict[str, AddrmapNode] = compile_rdl()
    pf_regs = list(registers(tops["pf_space"], build, 0, ""))
    vf_regs = list(registers(tops["vf_space"], build, 0, ""))
    walkers = [Walker(pf, pf_regs, "PF", tb.ring_fmt(0).name)]
    await walkers[0].reset()
    # The VFs exist once NumVFs says so (the write this walk leaves alone elsewhere).
    await pf.write(Pf.NUM_VFS, tb.num_vf)
    for f in range(1, tb.num_func):
        w = Walker(tb.bar(f), vf_regs, f"VF {f}", tb.ring_fmt(f).name)
        await w.reset()
        walkers.append(w)
    bashed = [await w.bash() for w in walkers]
    for w in walkers:
        await w.aliasing()
    errors = [e for w in walkers for e in w.errors]
    dut._log.info(
        "register walk: %d PF and %d VF registers, %s bashed per function, %d errors",
        len(pf_regs), len(vf_regs), bashed, len(errors),
    )  # fmt: skip
    assert not errors, "\n".join(errors[:40]) + f"\n({len(errors)} in all)"
    # Counted by hand from docs/ARCHITECTURE.md §3.1: a queue pair's plain RW registers
    # (bases, completion bases, sizes, interrupt mask and moderation, both directions,
    # ring 2's base and size, the completion ring size: 18), RX_STEER, the mailbox's IRQ.
    assert bashed[1:] == [18 * build.num_queues + 2] * tb.num_vf, bashed
    assert bashed[0] > bashed[1] + 300, bashed  # and the PF: the switch, its own control
