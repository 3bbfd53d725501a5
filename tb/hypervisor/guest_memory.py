"""Guest-physical memory of one VM, as the guest (and its drivers) see it.

Models the guest's view of RAM: guest-physical addresses (GPA) ``[0, size)``
backed by one contiguous host-physical region that the hypervisor allocated.
A guest-side driver allocates and touches memory in GPAs; because the
hypervisor maps the same GPAs into the IOMMU domain of every VF it assigns to
the VM, a GPA is also the DMA address (IOVA) that guest drivers program into
device rings.
"""

from __future__ import annotations

from tb.host.memory import PAGE_SIZE, HostMemory, Region, RegionAllocator, WriteWatch


class GuestMemoryError(ValueError):
    """A guest-physical access or allocation outside the VM's memory."""


class GuestMemory:
    """Read, write, allocate and watch in guest-physical addresses of one VM.

    ``reserve_low`` bytes at GPA 0 are never allocated, so a descriptor that
    points at GPA 0 is always a visible bug (as in :class:`HostMemory`).
    Satisfies the ``DmaMemory`` protocol of :mod:`tb.vf_driver.queues`.
    """

    def __init__(
        self, host: HostMemory, host_base: int, size: int, *, reserve_low: int = PAGE_SIZE
    ) -> None:
        if size <= 0:
            raise GuestMemoryError(f"guest memory size must be positive, got {size}")
        if host_base < 0 or host_base + size > host.size:
            raise GuestMemoryError(
                f"host region [{host_base:#x}, {host_base + size:#x}) outside host memory"
            )
        self.host = host
        self.host_base = host_base
        self.size = size
        self.allocator = RegionAllocator(min(reserve_low, size), size)

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
        if gpa < 0 or length < 0 or gpa + length > self.size:
            raise GuestMemoryError(
                f"guest access [{gpa:#x}, {gpa + length:#x}) outside guest memory "
                f"[0, {self.size:#x})"
            )
        return self.host_base + gpa

    def read(self, gpa: int, length: int) -> bytes:
        return self.host.read(self.to_host(gpa, length), length)

    def write(self, gpa: int, data: bytes | bytearray | memoryview) -> None:
        self.host.write(self.to_host(gpa, len(data)), data)

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
