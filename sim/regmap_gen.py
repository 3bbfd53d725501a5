"""Generate the register map from its one description, ``rtl/regs/*.rdl`` (SystemRDL).

Outputs, each marked as generated:

- ``rtl/nic_regs_pkg.sv``: offsets, array strides and counts, field positions and
  reset values, as ``localparam``s the RTL decodes with;
- ``tb/ref/regs.py``: the Python register model (offsets as ``IntEnum``s, fields as
  :class:`Field`) the drivers, tests and reference models use;
- the register tables of ``docs/ARCHITECTURE.md`` (between ``<!-- regmap:NAME -->``
  and ``<!-- /regmap:NAME -->``).

``python -m sim.regmap_gen`` rewrites them; ``--check`` only reports which are stale
(``tests/test_regmap.py`` runs it). The RDL is compiled by systemrdl-compiler; this
script is only the exporter.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from systemrdl import RDLCompiler
from systemrdl.node import AddressableNode, AddrmapNode, FieldNode, RegNode, RootNode
from systemrdl.rdltypes import AccessType, OnWriteType

REPO_ROOT = Path(__file__).resolve().parents[1]
RDL_DIR = REPO_ROOT / "rtl" / "regs"
# Compilation order: the project's properties, types before their users, the spaces last.
RDL_FILES = ("props.rdl", "func.rdl", "eswitch.rdl", "pf_ctrl.rdl", "mailbox.rdl", "nic.rdl")
TOPS = ("pf_space", "vf_space")
SV_OUT = REPO_ROOT / "rtl" / "nic_regs_pkg.sv"
PY_OUT = REPO_ROOT / "tb" / "ref" / "regs.py"
DOC_OUT = REPO_ROOT / "docs" / "ARCHITECTURE.md"

# SystemVerilog: one prefix per block (addrmap type); the offsets of a block are
# relative to its window, those inside an array element relative to the element.
SV_BLOCKS = {
    "func_space": "FUNC",
    "eswitch_window": "ESW",
    "pf_ctrl_window": "PFC",
    "vf_mailbox": "VMBX",
    "pf_mailbox": "PMBX",
}
OFFSET_BITS = 16  # a window is 64 KiB (nic_top decodes address bits [19:16])
SPACE_BITS = 20


@dataclass(frozen=True)
class PyClass:
    """One ``IntEnum`` of the Python model: the children of ``path``, at offsets
    relative to it or (``absolute``) from the top of its space; ``extra`` are
    further nodes listed as members of their own (their base and stride)."""

    name: str
    path: str
    absolute: bool = False
    extra: tuple[str, ...] = ()
    doc: str = ""


PY_CLASSES = (
    PyClass("PfSpace", "pf_space", doc="Windows of the PF's register space (§3.3)."),
    PyClass("VfSpace", "vf_space", doc="Windows of a VF's register space (§3.3)."),
    PyClass("Func", "pf_space.FUNC", doc="Function space (every function), window 0 (§3.1)."),
    PyClass(
        "Queue", "pf_space.FUNC.QUEUE", doc="Registers of queue pair q, relative to its block."
    ),
    PyClass(
        "Upt", "pf_space.FUNC.UPT", doc="Format B's UPT page, relative to Func.UPT_BASE (§4b)."
    ),
    PyClass("EswWindow", "pf_space.ESW", doc="Switch registers, relative to the window (§3.2)."),
    PyClass("Esw", "pf_space.ESW", absolute=True, doc="Switch registers, PF addresses."),
    PyClass("MacEntry", "pf_space.ESW.MACT", doc="MAC table entry e, relative to it."),
    PyClass("PortPolicyReg", "pf_space.ESW.PORT", doc="Policy of port p, relative to it."),
    PyClass("MacPair", "pf_space.ESW.PORT.SMAC", doc="An address list entry (SMAC, MC)."),
    PyClass("PortCounter", "pf_space.ESW.CNT", doc="Counters of port p, relative to them."),
    PyClass(
        "Pf",
        "pf_space.PF",
        absolute=True,
        extra=("pf_space.MBX",),
        doc="PF control window and the PF's mailbox window, PF addresses (§3.4, §3.5).",
    ),
    PyClass("VfAdmin", "pf_space.PF.VF_ADMIN", doc="Admin block of VF n, relative to it."),
    PyClass("VfStats", "pf_space.PF.VF_STATS", doc="Engine statistics of VF n, relative to them."),
    PyClass("PfMbx", "pf_space.MBX", doc="PF side of VF n's mailbox, relative to it."),
    PyClass(
        "VfMbx", "vf_space.MBX", absolute=True, doc="The VF's side of its mailbox, VF addresses."
    ),
)

# Docs: one table per block or array element, in this order.
DOC_TABLES = (
    ("func", "pf_space.FUNC"),
    ("queue", "pf_space.FUNC.QUEUE"),
    ("upt", "pf_space.FUNC.UPT"),
    ("esw", "pf_space.ESW"),
    ("mact", "pf_space.ESW.MACT"),
    ("port", "pf_space.ESW.PORT"),
    ("cnt", "pf_space.ESW.CNT"),
    ("pf", "pf_space.PF"),
    ("vf_admin", "pf_space.PF.VF_ADMIN"),
    ("vf_stats", "pf_space.PF.VF_STATS"),
    ("vf_mbx", "vf_space.MBX"),
    ("pf_mbx", "pf_space.MBX"),
)


def compile_rdl() -> dict[str, AddrmapNode]:
    rdlc = RDLCompiler()
    for name in RDL_FILES:
        rdlc.compile_file(str(RDL_DIR / name))
    tops: dict[str, AddrmapNode] = {}
    for top in TOPS:
        root: RootNode = rdlc.elaborate(top_def_name=top, inst_name=top)
        tops[top] = root.top
    return tops


def find(tops: dict[str, AddrmapNode], path: str) -> AddressableNode:
    first, *rest = path.split(".")
    node: AddressableNode = tops[first]
    for name in rest:
        child = node.get_child_by_name(name)
        if not isinstance(child, AddressableNode):
            raise KeyError(f"{path}: no {name}")
        node = child
    return node


def base_of(node: AddressableNode) -> int:
    """Offset of element 0 of ``node`` inside its parent."""
    return node.raw_address_offset


def abs_base(node: AddressableNode) -> int:
    """Address of element 0 of ``node`` from the top of its space."""
    addr = 0
    n: AddressableNode | None = node
    while isinstance(n, AddressableNode) and not isinstance(n.parent, RootNode):
        addr += n.raw_address_offset
        n = n.parent  # type: ignore[assignment]
    return addr


def elem_bytes(node: AddressableNode) -> int:
    """A non-array block's decode window: a whole window for a block of a space, else
    its extent rounded up to a power of two."""
    if isinstance(node.parent, AddrmapNode) and node.parent.inst_name in TOPS:
        return 1 << OFFSET_BITS
    size = node.size
    return 1 << (size - 1).bit_length()


def reset_value(reg: RegNode) -> int | None:
    """The register's reset value, or None when a field has none (hardware constant)."""
    value = 0
    for f in reg.fields():
        r = f.get_property("reset")
        if r is None:
            return None
        value |= int(r) << f.lsb
    return value


def field_access(f: FieldNode) -> str:
    sw = f.get_property("sw")
    if sw == AccessType.r:
        return "RO"
    if sw == AccessType.w:
        return "WO"
    if f.get_property("onwrite") == OnWriteType.woclr:
        return "W1C"
    return "RW"


def reg_access(reg: RegNode) -> str:
    kinds = sorted({field_access(f) for f in reg.fields()})
    return "/".join(kinds)


def type_of(reg: RegNode) -> str:
    """The register's RDL type (before a ``->desc`` override renamed it)."""
    return reg.orig_type_name or reg.type_name or reg.inst_name


def whole_word(reg: RegNode) -> bool:
    """One field over the whole register: no field class needed."""
    fields = list(reg.fields())
    return len(fields) == 1 and fields[0].width == reg.get_property("regwidth")


def camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.lower().split("_"))


def members(node: AddressableNode) -> Iterator[AddressableNode]:
    for child in node.children():
        if isinstance(child, AddressableNode):
            yield child


# ------------------------------------------------------------------ SystemVerilog
def sv_hex(bits: int, value: int) -> str:
    digits = (bits + 3) // 4
    return f"{bits}'h{value:0{digits}X}"


def sv_name(prefix: str, inst: str) -> str:
    """``prefix`` + ``inst``, without repeating a word they share (ESW + ESW_ID is
    ESW_ID, ESW_PORT + PORT_CTRL is ESW_PORT_CTRL)."""
    head, _, last = prefix.rpartition("_")
    if inst.startswith(prefix + "_") or inst == prefix:
        return inst
    if inst.startswith(last + "_"):
        return f"{head}_{inst}" if head else inst
    return f"{prefix}_{inst}"


def sv_lines_for(prefix: str, node: AddressableNode, out: list[str]) -> None:
    """Constants of ``node``'s children: registers, fields, and nested arrays."""
    for child in members(node):
        name = sv_name(prefix, child.inst_name)
        off = base_of(child)
        out.append(f"  localparam logic [{OFFSET_BITS - 1}:0] {name} = {sv_hex(OFFSET_BITS, off)};")
        if child.is_array:
            out.append(f"  localparam int unsigned {name}_STRIDE = {child.array_stride};")
            out.append(f"  localparam int unsigned {name}_COUNT = {child.array_dimensions[0]};")
        if isinstance(child, RegNode):
            rv = reset_value(child)
            if rv is not None and (rv or not whole_word(child)):
                out.append(f"  localparam logic [31:0] {name}_RESET = {sv_hex(32, rv)};")
            if not whole_word(child):
                defined = sum(((1 << f.width) - 1) << f.lsb for f in child.fields())
                # the bits its fields define: a block storing the register keeps only these
                out.append(f"  localparam logic [31:0] {name}_FIELDS = {sv_hex(32, defined)};")
                for f in child.fields():
                    fname = f"{name}_{f.inst_name}"
                    out.append(f"  localparam int unsigned {fname}_LSB = {f.lsb};")
                    if f.width > 1:
                        out.append(f"  localparam int unsigned {fname}_W = {f.width};")
                    r = f.get_property("reset")
                    if rv is None and r is not None:  # a constant field of a register with inputs
                        value = sv_hex(f.width, int(r))
                        out.append(f"  localparam logic [{f.width - 1}:0] {fname}_RESET = {value};")
        else:
            if not child.is_array:
                out.append(f"  localparam int unsigned {name}_BYTES = {elem_bytes(child)};")
            sv_lines_for(name, child, out)


def render_sv(tops: dict[str, AddrmapNode]) -> str:
    out = [
        "// GENERATED by sim/regmap_gen.py from rtl/regs/*.rdl: do not edit; run",
        "// `python -m sim.regmap_gen` (tests/test_regmap.py fails while this is stale).",
        "//",
        "// Register map of the NIC (docs/ARCHITECTURE.md §3): offsets inside a block's",
        "// window (inside an array element for the element's registers), array strides",
        "// and counts, field positions (_LSB, _W) and reset values.",
        "",
        "`resetall",
        "`timescale 1ns / 1ps",
        "`default_nettype none",
        "",
        "package nic_regs_pkg;",
        "",
        "  // The map lists every register; each block decodes only its own.",
        "  /* verilator lint_off UNUSEDPARAM */",
        "",
    ]
    for top in TOPS:
        out.append(f"  // ---- {top}: windows")
        for child in members(tops[top]):
            name = f"{top.upper()}_{child.inst_name}"
            value = sv_hex(SPACE_BITS, base_of(child))
            out.append(f"  localparam logic [{SPACE_BITS - 1}:0] {name} = {value};")
            if child.is_array:
                out.append(f"  localparam int unsigned {name}_STRIDE = {child.array_stride};")
        out.append("")
    done: set[str] = set()
    for top in TOPS:
        for child in members(tops[top]):
            block = child.type_name
            if block in done:
                continue
            done.add(block)
            prefix = SV_BLOCKS[block]
            out.append(f"  // ---- {block} ({child.get_property('name')})")
            sv_lines_for(prefix, child, out)
            out.append("")
    out += ["  /* verilator lint_on UNUSEDPARAM */", "", "endpackage", "", "`resetall", ""]
    return "\n".join(out)


# ------------------------------------------------------------------------ Python
def field_class_names(tops: dict[str, AddrmapNode]) -> dict[tuple[str, str], str]:
    """(python class, register) -> name of its field class: the RDL type's name, or
    for an anonymous register whose name several layouts share, class + name."""
    layouts: dict[str, set[tuple]] = {}
    regs: list[tuple[str, RegNode]] = []
    for pc in PY_CLASSES:
        for child in members(find(tops, pc.path)):
            if isinstance(child, RegNode) and not whole_word(child):
                regs.append((pc.name, child))
                layout = tuple((f.inst_name, f.lsb, f.width) for f in child.fields())
                layouts.setdefault(camel(type_of(child)), set()).add(layout)
    names = {}
    for cls, reg in regs:
        base = camel(type_of(reg))
        anonymous = type_of(reg) == reg.inst_name
        generic = anonymous and "_" not in reg.inst_name  # STATUS, CTRL, HI: say whose
        unique = len(layouts[base]) == 1
        names[(cls, reg.inst_name)] = base if unique and not generic else cls + camel(reg.inst_name)
    return names


def py_members(pc: PyClass, tops: dict[str, AddrmapNode]) -> list[tuple[str, int, bool]]:
    """(name, value, is_member) of the class; strides, counts and sizes are plain ints."""
    node = find(tops, pc.path)
    origin = abs_base(node) if pc.absolute else 0
    rows: list[tuple[str, int, bool]] = []
    if pc.absolute and node.parent is not None and not isinstance(node.parent, RootNode):
        rows.append(("BASE", abs_base(node), False))

    def add(child: AddressableNode) -> None:
        off = origin + base_of(child) if child.parent is node else abs_base(child)
        if isinstance(child, RegNode):
            rows.append((child.inst_name, off, True))
            if child.is_array:
                rows.append((f"{child.inst_name}_STRIDE", child.array_stride, False))
                rows.append((f"{child.inst_name}_COUNT", child.array_dimensions[0], False))
            return
        rows.append((f"{child.inst_name}_BASE", off, True))
        if child.is_array:
            rows.append((f"{child.inst_name}_STRIDE", child.array_stride, False))
            rows.append((f"{child.inst_name}_COUNT", child.array_dimensions[0], False))
        else:
            rows.append((f"{child.inst_name}_BYTES", elem_bytes(child), False))

    for child in members(node):
        add(child)
    for extra in pc.extra:
        add(find(tops, extra))
    return rows


def render_py(tops: dict[str, AddrmapNode]) -> str:
    out = [
        '"""GENERATED by sim/regmap_gen.py from rtl/regs/*.rdl: do not edit.',
        "",
        "The NIC's register model (docs/ARCHITECTURE.md §3): offsets per block as",
        "``IntEnum`` members (array strides, counts and block sizes as plain ints),",
        "and each register's fields. ``tb/ref/regmap.py`` adds the helpers.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from enum import IntEnum, nonmember",
        "from typing import NamedTuple",
        "",
        "",
        "class Field(NamedTuple):",
        '    """A register field: ``width`` bits from bit ``lsb``."""',
        "",
        "    lsb: int",
        "    width: int",
        "    reset: int | None = None  # None: no reset value (a hardware constant or input)",
        "",
        "    @property",
        "    def mask(self) -> int:",
        "        return ((1 << self.width) - 1) << self.lsb",
        "",
        "    def encode(self, value: int) -> int:",
        '        """``value`` in place; a value that does not fit is refused."""',
        "        if not 0 <= value < 1 << self.width:",
        '            raise ValueError(f"{value:#x} does not fit a {self.width}-bit field")',
        "        return value << self.lsb",
        "",
        "    def decode(self, word: int) -> int:",
        "        return (word >> self.lsb) & ((1 << self.width) - 1)",
        "",
    ]
    for pc in PY_CLASSES:
        out += ["", f"class {pc.name}(IntEnum):", f'    """{pc.doc}"""', ""]
        for name, value, member in py_members(pc, tops):
            out.append(
                f"    {name} = {value:#x}" if member else f"    {name} = nonmember({value:#x})"
            )
        out.append("")
    fnames = field_class_names(tops)
    done: set[str] = set()
    resets: list[tuple[str, int]] = []
    for pc in PY_CLASSES:
        for child in members(find(tops, pc.path)):
            if not isinstance(child, RegNode) or whole_word(child):
                continue
            cname = fnames[(pc.name, child.inst_name)]
            if cname in done:
                continue
            done.add(cname)
            rv = reset_value(child)
            if rv is not None and rv:
                resets.append((cname, rv))
            out += [
                "",
                f"class {cname}:",
                f'    """Fields of {child.inst_name} ({pc.name})."""',
                "",
            ]
            for f in child.fields():
                r = f.get_property("reset")
                rs = "" if r is None else f", {int(r):#x}"
                out.append(f"    {f.inst_name} = Field({f.lsb}, {f.width}{rs})")
            out.append("")
    out += ["", "# Registers whose reset value is not 0, by field class."]
    out.append("RESET = {")
    for cname, rv in resets:
        out.append(f'    "{cname}": {rv:#x},')
    out.append("}")
    out.append("")
    return "\n".join(out)


# -------------------------------------------------------------------------- docs
def bits(f: FieldNode) -> str:
    return f"bit {f.lsb}" if f.width == 1 else f"`[{f.msb}:{f.lsb}]`"


def meaning(reg: RegNode) -> str:
    fields = list(reg.fields())
    desc = reg.get_property("desc")
    parts = [desc] if desc else []
    mixed = len({field_access(f) for f in fields}) > 1
    for f in fields:
        if len(fields) == 1 and f.lsb == 0 and f.width == reg.get_property("regwidth") and desc:
            break
        acc = f" ({field_access(f)})" if mixed else ""
        parts.append(f"{bits(f)} `{f.inst_name}`{acc}: {f.get_property('desc')}")
    return "; ".join(parts).replace("|", "\\|")


def offset_text(child: AddressableNode) -> str:
    off = f"0x{base_of(child):04X}"
    if child.is_array:
        return f"{off} + 0x{child.array_stride:X}·i"
    return off


def render_table(node: AddressableNode) -> str:
    rows = ["| offset | name | access | reset | meaning |", "|---|---|---|---|---|"]
    for child in members(node):
        name = f"`{child.inst_name}`" + (
            f" *i* (i < {child.array_dimensions[0]})" if child.is_array else ""
        )
        if isinstance(child, RegNode):
            rv = reset_value(child)
            reset = "—" if rv is None else f"0x{rv:X}"
            cells = (offset_text(child), name, reg_access(child), reset, meaning(child))
            rows.append("| " + " | ".join(cells) + " |")
        else:
            desc = child.get_property("desc") or child.get_property("name") or child.type_name
            table = child.orig_type_name or child.type_name
            rows.append(f"| {offset_text(child)} | {name} | | | {desc} (`{table}`, below) |")
    return "\n".join(rows)


def render_docs(tops: dict[str, AddrmapNode], text: str) -> str:
    for key, path in DOC_TABLES:
        node = find(tops, path)
        begin, end = f"<!-- regmap:{key} -->", f"<!-- /regmap:{key} -->"
        if begin not in text or end not in text:
            raise SystemExit(f"{DOC_OUT}: markers {begin} ... {end} missing")
        note = "<!-- generated by sim/regmap_gen.py from rtl/regs/*.rdl -->"
        table = f"{begin}\n{note}\n{render_table(node)}\n{end}"
        text = re.sub(
            re.escape(begin) + r".*?" + re.escape(end), lambda _m, t=table: t, text, flags=re.S
        )
    return text


def ruff_format(text: str) -> str:
    """The Python model as the project's formatter writes it (``make lint`` checks it)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(PY_OUT), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    return done.stdout


def outputs() -> dict[Path, str]:
    tops = compile_rdl()
    return {
        SV_OUT: render_sv(tops),
        PY_OUT: ruff_format(render_py(tops)),
        DOC_OUT: render_docs(tops, DOC_OUT.read_text()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report stale outputs, write nothing")
    args = ap.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text)
            print(f"regmap_gen: wrote {path.relative_to(REPO_ROOT)}")
    if args.check and stale:
        names = ", ".join(str(p.relative_to(REPO_ROOT)) for p in stale)
        print(f"regmap_gen: stale: {names}; run `python -m sim.regmap_gen`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
