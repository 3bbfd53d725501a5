"""Resource counts of a synthesized nic_top (sim/synth.py): Xilinx cell types by
resource class, per module from Yosys' ``stat -json``, summed per module (every
instance, own cells) and per subtree under the top.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field

TOP = "nic_top"  # the synthesized top: every count is under it

# Xilinx primitive classes, by cell-type prefix (7-series and UltraScale names).
# INV is a LUT1 in the device (Vivado reports it as one).
LUT_CELLS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV")
FF_PREFIXES = ("FD",)
LATCH_PREFIXES = ("LD",)
BRAM36_CELLS = ("RAMB36E1", "RAMB36E2")
BRAM18_CELLS = ("RAMB18E1", "RAMB18E2")
URAM_CELLS = ("URAM288", "URAM288_BASE")
LUTRAM_PREFIXES = ("RAM16", "RAM32", "RAM64", "RAM128", "RAM256", "RAM512")
SRL_PREFIXES = ("SRL16", "SRLC16", "SRLC32")
DSP_PREFIXES = ("DSP48",)
CARRY_PREFIXES = ("CARRY",)
MUXF_PREFIXES = ("MUXF",)


@dataclass
class Resources:
    """Mapped-cell counts of one module or subtree, by Xilinx resource class."""

    lut: int = 0
    ff: int = 0
    bram36: int = 0
    bram18: int = 0
    uram: int = 0
    lutram: int = 0
    srl: int = 0
    dsp: int = 0
    carry: int = 0
    muxf: int = 0
    latch: int = 0
    other: int = 0

    @property
    def bram36_eq(self) -> float:
        """Block RAM in RAMB36 tiles: a RAMB18 is half a tile."""
        return self.bram36 + self.bram18 / 2

    def add(self, other: Resources, times: int = 1) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + times * value)


@dataclass
class ModuleStat:
    """One Yosys module: its own primitives and the submodule instances in it."""

    name: str
    own: Resources
    children: dict[str, int] = field(default_factory=dict)  # module name -> instances

    @property
    def base(self) -> str:
        """Source module name: read_slang names instance bodies ``module$path``."""
        return self.name.split("$", 1)[0]


def classify(cell_type: str) -> str:
    """Resource class of a mapped Xilinx cell type (a field of Resources)."""
    if cell_type in LUT_CELLS:
        return "lut"
    if cell_type in BRAM36_CELLS:
        return "bram36"
    if cell_type in BRAM18_CELLS:
        return "bram18"
    if cell_type in URAM_CELLS:
        return "uram"
    prefixed = (
        (FF_PREFIXES, "ff"),
        (LATCH_PREFIXES, "latch"),
        (LUTRAM_PREFIXES, "lutram"),
        (SRL_PREFIXES, "srl"),
        (DSP_PREFIXES, "dsp"),
        (CARRY_PREFIXES, "carry"),
        (MUXF_PREFIXES, "muxf"),
    )
    for prefixes, kind in prefixed:
        if cell_type.startswith(prefixes):
            return kind
    return "other"


def parse_stat(stat: Mapping[str, object], boxes: Collection[str] = ()) -> dict[str, ModuleStat]:
    """Modules of ``stat -json``: own primitives by class, submodule instances.

    ``boxes``: modules that are black boxes here (mapped in another process):
    their instances are submodules too, not cells of the device.
    """
    raw_modules = stat["modules"]
    assert isinstance(raw_modules, dict)
    names = {n.lstrip("\\") for n in raw_modules} | set(boxes)
    modules: dict[str, ModuleStat] = {}
    for raw_name, entry in raw_modules.items():
        name = raw_name.lstrip("\\")
        mod = ModuleStat(name, Resources())
        for cell_type, count in entry.get("num_cells_by_type", {}).items():
            ctype = cell_type.lstrip("\\")
            if ctype in names:
                mod.children[ctype] = mod.children.get(ctype, 0) + int(count)
            else:
                kind = classify(ctype)
                setattr(mod.own, kind, getattr(mod.own, kind) + int(count))
        modules[name] = mod
    return modules


def subtree(modules: Mapping[str, ModuleStat], name: str) -> Resources:
    """Resources of a module and everything instantiated below it."""
    total = Resources()
    total.add(modules[name].own)
    for child, count in modules[name].children.items():
        total.add(subtree(modules, child), count)
    return total


def instance_counts(modules: Mapping[str, ModuleStat], top: str) -> dict[str, int]:
    """How often each module is instantiated under the top (the top once)."""
    counts: dict[str, int] = {}

    def walk(name: str, times: int) -> None:
        counts[name] = counts.get(name, 0) + times
        for child, n in modules[name].children.items():
            walk(child, times * n)

    walk(top, 1)
    return counts


def per_source_module(modules: Mapping[str, ModuleStat]) -> dict[str, tuple[int, Resources]]:
    """Per RTL module: instances under the top and their own primitives summed."""
    counts = instance_counts(modules, TOP)
    table: dict[str, tuple[int, Resources]] = {}
    for name, times in counts.items():
        base = modules[name].base
        inst, res = table.get(base, (0, Resources()))
        res.add(modules[name].own, times)
        table[base] = (inst + times, res)
    return table


def top_subtrees(modules: Mapping[str, ModuleStat]) -> dict[str, Resources]:
    """Each instance directly under the top, with everything below it."""
    rows: dict[str, Resources] = {}
    for child in sorted(modules[TOP].children):
        path = child.split("$", 1)[1] if "$" in child else child
        rows[path.removeprefix(f"{TOP}.")] = subtree(modules, child)
    rows[f"{TOP} (glue)"] = modules[TOP].own
    return rows
