"""IOMMU model: one translation domain per PCIe function, with a fault log.

A domain maps 4 KiB IOVA pages to host physical pages with read/write
permission (what VT-d second-level tables do for an assigned VF). The PF's
domain can be a passthrough (identity) domain. Every DMA request carries its
function number (``a*user`` on the bus); :meth:`Iommu.translate` turns
``(func, iova, length, write)`` into physical segments or raises
:class:`IommuFault`, and records the fault in :attr:`Iommu.faults`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntFlag
from typing import Protocol

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = PAGE_SIZE - 1


class Perm(IntFlag):
    """Access rights of a mapping."""

    NONE = 0
    R = 1
    W = 2
    RW = 3


class FaultKind(Enum):
    """Why a translation failed: the bus answers DECERR for the first two, SLVERR for the last."""

    NO_DOMAIN = "no_domain"  # the function has no domain (not assigned / not enabled)
    UNMAPPED = "unmapped"  # an IOVA page of the access has no mapping
    PERMISSION = "permission"  # mapped, but without the right to read or write


@dataclass(frozen=True)
class FaultRecord:
    """One logged translation fault."""

    func: int
    iova: int  # first faulting address (page-aligned within the access, or the access start)
    length: int  # length of the whole access
    write: bool
    kind: FaultKind

    def __str__(self) -> str:
        rw = "write" if self.write else "read"
        where = f"iova {self.iova:#x}+{self.length}"
        return f"IOMMU fault: func {self.func} {rw} {where} {self.kind.value}"


class IommuFault(Exception):
    """A DMA access the IOMMU refused; ``record`` says which and why."""

    def __init__(self, record: FaultRecord) -> None:
        super().__init__(str(record))
        self.record = record


class IommuObserver(Protocol):
    """Told of every change of an :class:`Iommu`'s domains (a mirror outside Python:
    tb/host/hdl_bus.py keeps the C translation of the HDL host bus in step)."""

    def domain_created(self, dom: IommuDomain) -> None: ...

    def domain_removed(self, func: int) -> None: ...

    def pages_mapped(self, func: int, vpn: int, ppn: int, pages: int, perm: Perm) -> None: ...

    def pages_unmapped(self, func: int, vpn: int, pages: int) -> None: ...

    def domain_cleared(self, func: int) -> None: ...


class IommuDomain:
    """The IOVA -> PA page table of one function, or an identity (passthrough) domain.

    ``limit`` bounds a passthrough domain: IOVAs at or above it fault as unmapped.
    """

    def __init__(self, func: int, *, passthrough: bool = False, limit: int | None = None) -> None:
        self.func = func
        self.passthrough = passthrough
        self.limit = limit
        self._pages: dict[int, tuple[int, Perm]] = {}  # IOVA page number -> (PA page number, perm)
        # The owning Iommu's observers (shared list); empty for a domain on its own.
        self._observers: list[IommuObserver] = []

    @property
    def mapped_pages(self) -> int:
        return len(self._pages)

    def map(self, iova: int, pa: int, size: int, perm: Perm = Perm.RW) -> None:
        """Map ``size`` bytes (whole pages) at ``iova`` to ``pa``; remapping a page replaces it."""
        if self.passthrough:
            raise ValueError(f"function {self.func}: a passthrough domain has no page table")
        if (iova | pa | size) & PAGE_MASK or size <= 0:
            raise ValueError(
                f"function {self.func}: map iova {iova:#x} -> pa {pa:#x} size {size:#x} "
                "must be whole 4 KiB pages"
            )
        for i in range(size >> PAGE_SHIFT):
            self._pages[(iova >> PAGE_SHIFT) + i] = ((pa >> PAGE_SHIFT) + i, Perm(perm))
        for obs in self._observers:
            obs.pages_mapped(self.func, iova >> PAGE_SHIFT, pa >> PAGE_SHIFT, size >> PAGE_SHIFT,
                             Perm(perm))  # fmt: skip

    def unmap(self, iova: int, size: int) -> None:
        """Remove the mappings of the pages in ``[iova, iova + size)`` (missing pages are fine)."""
        first = iova >> PAGE_SHIFT
        last = (iova + size - 1) >> PAGE_SHIFT
        for vpn in range(first, last + 1):
            self._pages.pop(vpn, None)
        for obs in self._observers:
            obs.pages_unmapped(self.func, first, last + 1 - first)

    def clear(self) -> None:
        self._pages.clear()
        for obs in self._observers:
            obs.domain_cleared(self.func)

    def lookup(self, iova: int) -> tuple[int, Perm] | None:
        """PA and permission of the byte at ``iova``, or None if unmapped."""
        if self.passthrough:
            if self.limit is not None and iova >= self.limit:
                return None
            return iova, Perm.RW
        entry = self._pages.get(iova >> PAGE_SHIFT)
        if entry is None:
            return None
        ppn, perm = entry
        return (ppn << PAGE_SHIFT) | (iova & PAGE_MASK), perm

    def translate(self, iova: int, length: int, write: bool) -> list[tuple[int, int]]:
        """Physical segments ``[(pa, len), ...]`` of the access, contiguous pages merged.

        Raises :class:`IommuFault` (without logging it; :class:`Iommu` logs).
        """
        if length <= 0:
            return []
        need = Perm.W if write else Perm.R
        if self.passthrough:
            if self.limit is not None and iova + length > self.limit:
                bad = max(iova, self.limit)
                raise IommuFault(FaultRecord(self.func, bad, length, write, FaultKind.UNMAPPED))
            return [(iova, length)]
        segs: list[tuple[int, int]] = []
        addr = iova
        end = iova + length
        pages = self._pages
        while addr < end:
            chunk = min(end, (addr | PAGE_MASK) + 1) - addr
            entry = pages.get(addr >> PAGE_SHIFT)
            if entry is None:
                raise IommuFault(FaultRecord(self.func, addr, length, write, FaultKind.UNMAPPED))
            ppn, perm = entry
            if not perm & need:
                raise IommuFault(FaultRecord(self.func, addr, length, write, FaultKind.PERMISSION))
            pa = (ppn << PAGE_SHIFT) | (addr & PAGE_MASK)
            if segs and segs[-1][0] + segs[-1][1] == pa:
                segs[-1] = (segs[-1][0], segs[-1][1] + chunk)
            else:
                segs.append((pa, chunk))
            addr += chunk
        return segs


class Iommu:
    """Domains by function number, translation, and the log of every fault."""

    def __init__(self) -> None:
        self._domains: dict[int, IommuDomain] = {}
        self.faults: list[FaultRecord] = []
        self._observers: list[IommuObserver] = []

    def add_observer(self, obs: IommuObserver) -> None:
        """Tell ``obs`` of every later change, after replaying the domains there are now."""
        for func, dom in self._domains.items():
            obs.domain_created(dom)
            for vpn, (ppn, perm) in dom._pages.items():
                obs.pages_mapped(func, vpn, ppn, 1, perm)
        self._observers.append(obs)

    def remove_observer(self, obs: IommuObserver) -> None:
        if obs in self._observers:
            self._observers.remove(obs)

    def create_domain(
        self, func: int, *, passthrough: bool = False, limit: int | None = None
    ) -> IommuDomain:
        if func in self._domains:
            raise ValueError(f"function {func} already has an IOMMU domain")
        dom = IommuDomain(func, passthrough=passthrough, limit=limit)
        dom._observers = self._observers
        self._domains[func] = dom
        for obs in self._observers:
            obs.domain_created(dom)
        return dom

    def remove_domain(self, func: int) -> None:
        if self._domains.pop(func, None) is None:
            raise ValueError(f"function {func} has no IOMMU domain")
        for obs in self._observers:
            obs.domain_removed(func)

    def domain(self, func: int) -> IommuDomain:
        dom = self._domains.get(func)
        if dom is None:
            raise KeyError(f"function {func} has no IOMMU domain")
        return dom

    def has_domain(self, func: int) -> bool:
        return func in self._domains

    def map(self, func: int, iova: int, pa: int, size: int, perm: Perm = Perm.RW) -> None:
        self.domain(func).map(iova, pa, size, perm)

    def unmap(self, func: int, iova: int, size: int) -> None:
        self.domain(func).unmap(iova, size)

    def translate(self, func: int, iova: int, length: int, write: bool) -> list[tuple[int, int]]:
        """Physical segments of a DMA access by ``func``, or :class:`IommuFault` (logged)."""
        dom = self._domains.get(func)
        try:
            if dom is None:
                raise IommuFault(FaultRecord(func, iova, length, write, FaultKind.NO_DOMAIN))
            return dom.translate(iova, length, write)
        except IommuFault as fault:
            self.faults.append(fault.record)
            raise

    def faults_of(self, func: int) -> list[FaultRecord]:
        return [f for f in self.faults if f.func == func]
