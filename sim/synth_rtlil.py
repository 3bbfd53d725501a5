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
    when their text is, up to the names of identical submodules and Yosys'
    auto-numbered names (``$procmux$6352``: numbered through the whole design,
    so each copy has other numbers, and ``write_rtlil`` sorts by name). A
    module that differs in anything else (a parameter, a port width, a constant)
    stays its own and is mapped separately, as without reuse.
    """
    rep: dict[str, str] = {}
    first: dict[str, str] = {}  # canonical text -> representative
    for name in bottom_up(modules):
        rep[name] = first.setdefault(canonical(modules[name], rep), name)
    return rep


def canonical(mod: RtlilModule, rep: Mapping[str, str]) -> str:
    """A module's text with auto numbers by rank and declarations sorted."""
    # Numbered per prefix: $procmux$N from the design-wide counter, $N from the frontend's.
    numbers: dict[str, set[int]] = {}
    for line in mod.body:
        for prefix, n in AUTO_NUM_RE.findall(line):
            numbers.setdefault(prefix, set()).add(int(n))
    rank = {(p, str(n)): str(i) for p, ns in numbers.items() for i, n in enumerate(sorted(ns))}

    def renumber(m: re.Match[str]) -> str:
        return f"{m.group(1) or ''}${rank[(m.group(1) or '', m.group(2))]}"

    items: list[str] = []
    pending: list[str] = []
    for line in mod.body:
        cell = CELL_RE.match(line)
        if cell and cell.group(1) in rep:
            line = line.replace(cell.group(1), "<" + rep[cell.group(1)] + ">", 1)
        line = AUTO_NUM_RE.sub(renumber, line)
        if line.startswith("    ") or line == "  end":
            items[-1] += "\n" + line  # inside a cell, memory or switch
        elif line.startswith("  attribute "):
            pending.append(line)
        else:
            items.append("\n".join([*pending, line]))
            pending = []
    return "\n".join([*mod.attrs, *sorted(items)])
