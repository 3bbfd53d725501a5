"""Guest-physical memory of one VM, as the guest (and its drivers) see it.

Models the guest's view of RAM: guest-physical addresses (GPA) ``[0, size)``
backed by one contiguous host-physical region that the hypervisor allocated.
A guest-side driver allocates and touches memory in GPAs; because the
hypervisor maps the same GPAs into the IOMMU domain of every VF it assigns to
the VM, a GPA is also the DMA address (IOVA) that guest drivers program into
device rings.
"""

from __future__ import annotations

import numpy as np

from tb.host.memory import PAGE_SIZE, HostMemory, Region, RegionAllocator, WriteWatch


class GuestMemoryError(ValueError):
    """A guest-physical access or allocation outside the VM's memory."""


class GuestMemory:
    """Read, write, allocate and watch in guest-physical addresses of one VM.

    The memory is GPAs ``[gpa_base, gpa_base + size)``: 0 for a VM's RAM, higher for
    a device's view through an IOMMU that maps it elsewhere (IOVAs with high bits
    set). ``reserve_low`` bytes at its bottom are never allocated, so a descriptor
    that points there is always a visible bug (as in :class:`HostMemory`).
    Satisfies the ``DmaMemory`` protocol of :mod:`tb.vf_driver.queues`.
    """

    def __init__(
        self,
        host: HostMemory,
        host_base: int,
        size: int,
        *,
        reserve_low: int = PAGE_SIZE,
        gpa_base: int = 0,
    ) -> None:
        if size <= 0:
            raise GuestMemoryError(f"guest memory size must be positive, got {size}")
        if gpa_base < 0 or gpa_base + size > 1 << 64:
            raise GuestMemoryError(f"GPAs [{gpa_base:#x}, +{size:#x}) outside 64 bits")
        if host_base < 0 or host_base + size > host.size:
            raise GuestMemoryError(
                f"host region [{host_base:#x}, {host_base + size:#x}) outside host memory"
            )
        self.host = host
        self.host_base = host_base
        self.size = size
        self.gpa_base = gpa_base
        self.allocator = RegionAllocator(gpa_base + min(reserve_low, size), gpa_base + size)

    def rebind(self, host: HostMemory, host_base: int) -> None:
        """The VM's memory now lives at ``host_base`` of ``host`` (it migrated there; the
        caller copied the bytes). Every holder of this object follows; the allocator's
        state (the guest's own allocations) is part of the guest and stays. Write
        watches taken before stay on the old host's memory."""
        if host_base < 0 or host_base + self.size > host.size:
            raise GuestMemoryError(
                f"host region [{host_base:#x}, {host_base + self.size:#x}) outside host memory"
            )
        self.host = host
        self.host_base = host_base

    def to_host(self, gpa: int, length: int) -> int:
        """Host-physical address of ``[gpa, gpa + length)``; refuses anything outside the VM."""
        off = gpa - self.gpa_base
        if off < 0 or length < 0 or off + length > self.size:
            raise GuestMemoryError(
                f"guest access [{gpa:#x}, {gpa + length:#x}) outside guest memory "
                f"[{self.gpa_base:#x}, {self.gpa_base + self.size:#x})"
            )
        return self.host_base + off

    def read(self, gpa: int, length: int) -> bytes:
        return self.host.read(self.to_host(gpa, length), length)

    def write(self, gpa: int, data: bytes | bytearray | memoryview) -> None:
        self.host.write(self.to_host(gpa, len(data)), data)

    def write_each(self, gpas: np.ndarray, data: bytes) -> None:
        """:meth:`HostMemory.write_each` in GPAs: ``data`` at every one of ``gpas``."""
        if not len(gpas) or not data:
            return
        lo = int(gpas.min())
        base = self.to_host(lo, int(gpas.max()) - lo + len(data))
        self.host.write_each(gpas.astype(np.uint64) - np.uint64(lo) + np.uint64(base), data)

    def view(self, gpa: int, n: int) -> np.ndarray:
        """:meth:`HostMemory.view` of ``[gpa, gpa + n)``."""
        return self.host.view(self.to_host(gpa, n), n)

    def read_u32(self, gpa: int) -> int:
        return int.from_bytes(self.read(gpa, 4), "little")

    def write_u32(self, gpa: int, value: int) -> None:
        self.write(gpa, value.to_bytes(4, "little"))

    def alloc(self, size: int, align: int = 64) -> int:
        """Allocate ``size`` zeroed bytes of guest memory; returns the GPA."""
        gpa = self.allocator.alloc(size, align)
        self.host.fill(self.to_host(gpa, size), size, 0)
        return gpa

    def free(self, gpa: int) -> None:
        self.allocator.free(gpa)

    def owner(self, gpa: int) -> Region | None:
        """The live guest allocation containing ``gpa`` (in GPAs), if any."""
        return self.allocator.owner(gpa)

    def watch(self, lo: int, hi: int) -> WriteWatch:
        """Watch writes to GPAs ``[lo, hi)``; the watch's ``last`` region is host-physical."""
        base = self.to_host(lo, hi - lo)
        return self.host.watch(base, base + (hi - lo))
