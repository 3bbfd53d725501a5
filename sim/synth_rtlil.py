"""RTLIL as sim/synth.py handles it: modules split out of a file, black boxes of
them, and identical instance bodies found (``dedupe``) so each is mapped once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class RtlilModule:
    """One module of an RTLIL file: its text and the submodule instances in it."""

    name: str
    attrs: list[str]  # attribute lines before ``module``
    body: list[str]  # lines after ``module`` up to its ``end``
    children: dict[str, int] = field(default_factory=dict)  # module name -> instances

    def text(self, blackbox: bool = False) -> str:
        """The module as RTLIL; as a black box only its ports (with their attributes)."""
        body = self.body
        if blackbox:
            body, pending = [], []
            for line in self.body:
                if line.startswith("  attribute "):
                    pending.append(line)
                    continue
                if line.startswith("  wire ") and PORT_RE.match(line):
                    body += [*pending, line]
                pending = []
            return "\n".join(
                [*self.attrs, "attribute \\blackbox 1", f"module \\{self.name}", *body, "end", ""]
            )
        return "\n".join([*self.attrs, f"module \\{self.name}", *body, "end", ""])


PORT_RE = re.compile(
    r"  wire (?:width \d+ )?(?:upto )?(?:offset -?\d+ )?(?:signed )?(?:input|output|inout) "
)
CELL_RE = re.compile(r"  cell \\?(\S+) ")
AUTO_NUM_RE = re.compile(r"(\$[A-Za-z_]\w*)?\$(\d+)")


def parse_rtlil(text: str) -> tuple[list[str], dict[str, RtlilModule]]:
    """Split an RTLIL file into its header lines and its modules (file order)."""
    header: list[str] = []
    modules: dict[str, RtlilModule] = {}
    attrs: list[str] = []
    current: RtlilModule | None = None
    for line in text.splitlines():
        if current is not None:
            if line == "end":
                modules[current.name] = current
                current = None
            else:
                current.body.append(line)
        elif line.startswith("module "):
            current = RtlilModule(line[len("module ") :].lstrip("\\"), attrs, [])
            attrs = []
        elif line.startswith("attribute "):
            attrs.append(line)
        elif line.strip():
            header.append(line)
    for mod in modules.values():
        for line in mod.body:
            m = CELL_RE.match(line)
            if m and m.group(1) in modules:
                mod.children[m.group(1)] = mod.children.get(m.group(1), 0) + 1
    return header, modules


def bottom_up(modules: Mapping[str, RtlilModule]) -> list[str]:
    """Module names, every module after all the modules it instantiates."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for child in modules[name].children:
            visit(child)
        order.append(name)

    for name in modules:
        visit(name)
    return order


def dedupe(modules: Mapping[str, RtlilModule]) -> dict[str, str]:
    """Map every module to the first module identical to it (itself if none is).

    ``read_slang --keep-hierarchy`` gives every instance its own module, so the
    five DMA engines of ``NUM_VF=4`` are five copies. Two modules are identical
    when their canonical text (``canonical_module``: what the mapping process
    reads) is, up to the module's own name: the same up to the names of
    identical submodules, Yosys' auto-numbered names (``$procmux$6352``:
    numbered through the whole design, so each copy has other numbers) and
    source locations. A module that differs in anything else (a parameter, a
    port width, a constant) stays its own and is mapped separately, as without
    reuse.
    """
    rep: dict[str, str] = {}
    first: dict[str, str] = {}  # canonical text -> representative
    for name in bottom_up(modules):
        mod = canonical_module(modules[name], rep)
        rep[name] = first.setdefault("\n".join([*mod.attrs, *mod.body]), name)
    return rep


# Top-level statements of a module body in write_rtlil's order (a wire is
# declared before a cell or connect names it), and where the declared name is.
SECTIONS = ("wire", "memory", "cell", "process", "connect")
DECLARED_AT = {"wire": -1, "memory": -1, "cell": 2, "process": 1}
SRC_ATTR = "attribute \\src "
RANK_DIGITS = 6  # zero-padded: string order of the names is their rank order


def canonical_module(mod: RtlilModule, rep: Mapping[str, str]) -> RtlilModule:
    """The module as a mapping process reads it, the same whatever its copy or source lines.

    Yosys visits cells and wires in an order that depends on their names: by
    their text (the ``sort`` pass at the end of ``synth_xilinx``'s prepare
    step) and by the order the names were first seen in the process (sets and
    sorted signal lists compare ``IdString`` indices), and another order makes
    other choices (which adders share a carry chain: up to 3 % of the DMA
    engine's carries). So the text carries nothing that differs between
    identical bodies or moves with an edit that changes no logic:

    - auto-numbered names (``$procmux$6352``, ``$17y``) renumbered per prefix
      by rank, zero-padded (``$procmux$000041``);
    - ``src`` attributes (file:line) dropped;
    - submodule instances point at the representative of their module (``rep``);
    - declarations sorted by name within each kind (wires, memories, cells),
      connections by their text.

    The interning order of the names is fixed separately (``name_order_module``).
    """
    numbers: dict[str, set[int]] = {}
    for line in mod.body:
        for prefix, n in AUTO_NUM_RE.findall(line):
            numbers.setdefault(prefix, set()).add(int(n))
    rank = {
        (p, str(n)): f"{i:0{RANK_DIGITS}d}"
        for p, ns in numbers.items()
        for i, n in enumerate(sorted(ns))
    }

    def renumber(m: re.Match[str]) -> str:
        return f"{m.group(1) or ''}${rank[(m.group(1) or '', m.group(2))]}"

    sections: dict[str, list[tuple[str, list[str]]]] = {s: [] for s in SECTIONS}
    item: list[str] = []
    pending: list[str] = []
    for line in mod.body:
        if line.startswith("    ") or line == "  end":
            item.append(AUTO_NUM_RE.sub(renumber, line))  # inside a cell, memory or process
            continue
        if line.startswith("  attribute "):
            if not line.startswith("  " + SRC_ATTR):
                pending.append(AUTO_NUM_RE.sub(renumber, line))
            continue
        cell = CELL_RE.match(line)
        if cell and cell.group(1) in rep:
            line = line.replace(cell.group(1), rep[cell.group(1)], 1)
        line = AUTO_NUM_RE.sub(renumber, line)
        words = line.split()
        if words[0] not in sections:
            raise ValueError(f"module {mod.name}: unexpected RTLIL statement {line!r}")
        key = words[DECLARED_AT[words[0]]] if words[0] in DECLARED_AT else line
        item = [*pending, line]
        sections[words[0]].append((key, item))
        pending = []
    body = [ln for s in SECTIONS for _, it in sorted(sections[s], key=lambda t: t[0]) for ln in it]
    attrs = [a for a in mod.attrs if not a.startswith(SRC_ATTR)]
    return RtlilModule(mod.name, attrs, body, dict(mod.children))


NAME_ORDER_MODULE = "synth_name_order"
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')


def name_order_module(text: str) -> str:
    """A black box declaring every identifier of ``text`` as a wire, in sorted order.

    Yosys compares names by the order they were first interned in the process
    (``IdString`` index), not by their text, so the same module read after
    other modules (which intern the names they share first: ``clk``, ``rst``,
    ``$000001``) sees its names in another order than read alone. Read first,
    this module interns every name of the part in string order, whatever else
    is in the part; as a black box it is kept to the end (``hierarchy`` removes
    unused modules but not black boxes), so none of these names is freed and
    its index given to another. It has no cells and is not in ``stat``.
    """
    names: set[str] = set()
    for line in text.splitlines():
        names.update(w for w in STRING_RE.sub(" ", line).split() if w[0] in "\\$")
    names.discard(f"\\{NAME_ORDER_MODULE}")
    wires = [f"  wire {n}" for n in sorted(names)]
    return "\n".join(["attribute \\blackbox 1", f"module \\{NAME_ORDER_MODULE}", *wires, "end", ""])
