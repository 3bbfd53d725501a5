"""The host bus in HDL: Python's side of ``sim/tops/sim_host_bus.sv`` (no Python per beat).

:class:`HdlHostBus` replaces :class:`~tb.host.dma_responder.AxiDmaResponder` where
the model contains ``sim_host_bus`` (``sim/tops/nic_sim_top.sv``): the SV module
moves every beat between the bus and host memory through DPI-C calls into
``sim/dpi/host_mem.cpp``, which reads and writes :class:`HostMemory`'s numpy buffer
in place and translates through a C mirror of the :class:`Iommu`'s domains.
This class keeps that state in step and turns what the C side logs into what
the Python responder produces:

* the IOMMU domains and the write watches are mirrored on every change
  (observers on :class:`Iommu` and :class:`HostMemory`);
* a refused burst is logged in C; the SV module counts it on ``<prefix>_event``,
  and one wake-up here re-runs the translation in Python (which records the
  IOMMU fault and gives the same reason text) and appends the :class:`BusError`;
* a bus write touching a watched range is logged the same way; the wake-up
  calls :meth:`HostMemory.notify`, so ``await watch.wait()`` works unchanged;
* AXI rule violations are logged too and raised here (``strict``);
* run-time faults, as on AxiDmaResponder (:meth:`HdlHostBus.inject_error`,
  :meth:`HdlHostBus.set_extra_latency`), are set in C: an injected error is
  answered SLVERR by the C side and logged as such; the wake-up appends a
  :class:`BusError` with reason ``"injected"`` (not re-run through the IOMMU: no
  fault record); the extra latency is read by the SV module once per burst (a
  read at its AR handshake, a write at its last W beat) and added to that
  burst's latency, so a spike delays exactly the bursts accepted while it is
  set, in order.

Bursts that hit no watch and no error cost Python nothing. Supported timing is
the responder's default behaviour: in-order reads, no latency jitter,
``ready_probability`` 1.0 (tests/test_hdl_bus.py compares the two cycle by
cycle). The C state is one per ``sim_host_bus`` instance (its ``INSTANCE``
parameter, :class:`HdlHostBus`'s ``instance``; a model with two hosts has two,
``sim/tops/two_host_top.sv``): a new :class:`HdlHostBus` takes over the state of
its instance from the previous one (each cocotb test builds its own testbench).

Memory timing differs in one detail: the HDL reads a burst's data (and writes a
burst's data) while the model evaluates the clock edge, before any Python
coroutine woken by that edge runs; the Python responder does it in its own
edge callback, in whatever order cocotb runs callbacks. Drivers post
descriptors before ringing a doorbell, so no driver here can tell.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.task import Task
from cocotb.triggers import RisingEdge

from tb.host.axi import AxiProtocolError, AxiResp
from tb.host.dma_path import (
    ANY_ADDRESS,
    INJECTED,
    BurstRefused,
    BusError,
    DmaPath,
    DmaResponderConfig,
    FunctionStats,
)
from tb.host.iommu import Iommu, IommuDomain, Perm
from tb.host.memory import HostMemory, WriteWatch
from tb.simlib import loaded_library_path

MAX_FUNCS = 256  # a*user is the 8-bit function number


class ErrorRecord(ctypes.Structure):
    """host_mem.cpp's ErrorRecord."""

    _fields_ = [
        ("func", ctypes.c_int32),
        ("write", ctypes.c_int32),
        ("axi_id", ctypes.c_int32),
        ("resp", ctypes.c_int32),
        ("injected", ctypes.c_int32),
        ("pad", ctypes.c_int32),
        ("addr", ctypes.c_uint64),
        ("lo", ctypes.c_uint64),
        ("len", ctypes.c_uint64),
    ]


class CStats(ctypes.Structure):
    """host_mem.cpp's Stats: FunctionStats' fields in the same order."""

    _fields_ = [(name, ctypes.c_uint64) for name in FunctionStats.__dataclass_fields__]


class SimHostLib:
    """ctypes binding of host_mem.cpp's ``simhost_*`` functions."""

    def __init__(self, path: Path) -> None:
        lib = ctypes.CDLL(str(path))
        u64, i32, i64 = ctypes.c_uint64, ctypes.c_int32, ctypes.c_int64
        sig: dict[str, tuple[list[Any], Any]] = {
            "simhost_set_memory": ([ctypes.c_void_p, u64], None),
            "simhost_set_config": ([i32, i32, i32, i32], None),
            "simhost_clear": ([], None),
            "simhost_domain_create": ([i32, i32, i32, u64], None),
            "simhost_domain_remove": ([i32], None),
            "simhost_domain_map": ([i32, u64, u64, u64, i32], None),
            "simhost_domain_unmap": ([i32, u64, u64], None),
            "simhost_domain_clear": ([i32], None),
            "simhost_domain_pages": ([i32], u64),
            "simhost_watch_add": ([i64, u64, u64], None),
            "simhost_watch_remove": ([i64], None),
            "simhost_next_error": ([ctypes.POINTER(ErrorRecord)], i32),
            "simhost_next_hit": ([ctypes.POINTER(u64), ctypes.POINTER(u64)], i32),
            "simhost_next_violation": ([ctypes.c_char_p, i32], i32),
            "simhost_stat_funcs": ([ctypes.POINTER(i32), i32], i32),
            "simhost_stats_of": ([i32, ctypes.POINTER(CStats)], None),
            "simhost_inject_error": ([i32, i32, u64, u64, u64], None),
            "simhost_injections_left": ([], u64),
            "simhost_clear_injections": ([], None),
            "simhost_set_extra_latency": ([i32, i32], None),
        }
        for name, (args, res) in sig.items():
            fn = getattr(lib, name)
            fn.argtypes = [i32, *args]  # every call names its instance first
            fn.restype = res
        self.lib = lib
        # Per instance: the bus whose state the library holds, and the buffer C reads
        # and writes: held here, not only by the bus, so that it outlives a testbench
        # the next cocotb test drops while bursts are in flight.
        self.owners: dict[int, HdlHostBus] = {}
        self._memory: dict[int, np.ndarray] = {}
        atexit.register(self.release_memory)

    def bound(self, instance: int) -> InstanceLib:
        """The library's calls for one instance (``instance`` passed first)."""
        return InstanceLib(self.lib, instance)

    def set_memory(self, instance: int, array: np.ndarray) -> None:
        self._memory[instance] = array
        self.lib.simhost_set_memory(instance, array.ctypes.data, array.size)

    def release_memory(self) -> None:
        """Python is going away; the model may still evaluate edges (cocotb's clock runs
        until the simulator finishes): from now on every access is refused."""
        for instance in list(self._memory):
            self.lib.simhost_set_memory(instance, None, 0)
        self._memory.clear()


class InstanceLib:
    """host_mem.cpp's ``simhost_*`` calls bound to one host bus instance."""

    def __init__(self, lib: Any, instance: int) -> None:
        if not 0 <= instance < 2**31:
            raise ValueError(f"host bus instance {instance}: must be a non-negative int32")
        self._lib = lib
        self.instance = instance

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("simhost_"):
            raise AttributeError(name)
        fn = partial(getattr(self._lib, name), self.instance)
        setattr(self, name, fn)  # bound once
        return fn


@cache
def simhost() -> SimHostLib:
    """The binding of the library the model loaded (one per process)."""
    return SimHostLib(loaded_library_path())


class LivePerFunc(Mapping[int, FunctionStats]):
    """Per-function statistics read from the C side at every lookup.

    Tests keep ``stats.per_func`` and index it again later (fairness windows), as
    they may with AxiDmaResponder's live defaultdict; so this is a view, not a copy.
    A function without traffic reads as zeros.
    """

    def __init__(self, bus: HdlHostBus) -> None:
        self._bus = bus

    def _funcs(self) -> list[int]:
        lib = self._bus._lib
        funcs = (ctypes.c_int32 * MAX_FUNCS)()
        n = lib.simhost_stat_funcs(funcs, MAX_FUNCS) if lib is not None else 0
        return list(funcs[: min(n, MAX_FUNCS)])

    def __getitem__(self, func: int) -> FunctionStats:
        lib = self._bus._lib
        c = CStats()
        if lib is not None:
            lib.simhost_stats_of(func, ctypes.byref(c))
        return FunctionStats(*(getattr(c, name) for name in FunctionStats.__dataclass_fields__))

    def __iter__(self) -> Iterator[int]:
        return iter(self._funcs())

    def __len__(self) -> int:
        return len(self._funcs())


@dataclass
class HdlBusStats:
    """ResponderStats' surface: ``per_func`` (live), ``total()``, ``edges`` (0: no Python
    edges) and ``wakeups`` (event wake-ups)."""

    per_func: LivePerFunc
    bus: HdlHostBus
    edges: int = 0

    @property
    def wakeups(self) -> int:
        return self.bus.wakeups

    def total(self) -> FunctionStats:
        out = FunctionStats()
        for s in self.per_func.values():
            out += s
        return out


class CMirror:
    """Keeps the C side's IOMMU domains and watched ranges equal to Python's."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.enabled = True

    # IommuObserver
    def domain_created(self, dom: IommuDomain) -> None:
        if self.enabled:
            limit = dom.limit if dom.limit is not None else 0
            self.lib.simhost_domain_create(
                dom.func, int(dom.passthrough), int(dom.limit is not None), limit
            )

    def domain_removed(self, func: int) -> None:
        if self.enabled:
            self.lib.simhost_domain_remove(func)

    def pages_mapped(self, func: int, vpn: int, ppn: int, pages: int, perm: Perm) -> None:
        if self.enabled:
            self.lib.simhost_domain_map(func, vpn, ppn, pages, int(perm))

    def pages_unmapped(self, func: int, vpn: int, pages: int) -> None:
        if self.enabled:
            self.lib.simhost_domain_unmap(func, vpn, pages)

    def domain_cleared(self, func: int) -> None:
        if self.enabled:
            self.lib.simhost_domain_clear(func)

    # WatchObserver
    def watch_added(self, w: WriteWatch) -> None:
        if self.enabled:
            self.lib.simhost_watch_add(id(w), w.lo, w.hi)

    def watch_removed(self, w: WriteWatch) -> None:
        if self.enabled:
            self.lib.simhost_watch_remove(id(w))


class HdlHostBus:
    """Python's side of sim_host_bus: configuration, mirrors, logs; same surface as
    AxiDmaResponder where tb/ and tests/ use it (``stats``, ``errors``, ``idle``,
    ``reset()``, ``stop()``, ``config``, ``protocol_violations``).

    ``prefix`` names the module's signals: ``<prefix>_rst`` (driven here),
    ``<prefix>_event`` and ``<prefix>_idle``; ``instance`` is the module's
    ``INSTANCE`` parameter (which host's state in C).
    """

    def __init__(
        self,
        dut: Any,
        prefix: str,
        clock: Any,
        memory: HostMemory,
        iommu: Iommu,
        config: DmaResponderConfig | None = None,
        *,
        instance: int = 0,
    ) -> None:
        cfg = config or DmaResponderConfig()
        if cfg.read_latency_jitter or cfg.out_of_order or cfg.ready_probability != 1.0:
            raise ValueError(
                "the HDL host bus models in-order reads without jitter, readies always high: "
                f"{cfg} needs AxiDmaResponder"
            )
        self.config = cfg
        self.clock = clock
        self.memory = memory
        self.iommu = iommu
        self.path = DmaPath(memory, iommu)
        self.prefix = prefix
        self.log = logging.getLogger(f"cocotb.host.{prefix}")
        self._rst = getattr(dut, f"{prefix}_rst")
        self._event = getattr(dut, f"{prefix}_event")
        self._idle = getattr(dut, f"{prefix}_idle")
        self._errors: list[BusError] = []
        self.protocol_violations: list[str] = []
        self.wakeups = 0
        self._t0 = 0
        self._period = 0
        binding = simhost()
        self.instance = instance
        lib = binding.bound(instance)
        if (previous := binding.owners.get(instance)) is not None:
            previous._detach()
        binding.owners[instance] = self
        self._lib: Any = lib
        lib.simhost_clear()
        binding.set_memory(instance, memory.array)
        lib.simhost_set_config(
            cfg.read_latency,
            cfg.write_latency,
            cfg.max_outstanding_reads,
            cfg.max_outstanding_writes,
        )
        self._stats = HdlBusStats(LivePerFunc(self), self)
        self._mirror = CMirror(lib)
        iommu.add_observer(self._mirror)
        memory.add_watch_observer(self._mirror)
        self._rst.value = 1  # latches the configuration at the first edge
        self._task: Task[None] = cocotb.start_soon(self._run())
        self._reset_task: Task[None] | None = None

    # -- public ---------------------------------------------------------------------------

    @property
    def errors(self) -> list[BusError]:
        """Bursts answered with an error response, oldest first."""
        self._drain()
        return self._errors

    @property
    def stats(self) -> HdlBusStats:
        """Per-function traffic as the C side counts it, read live."""
        return self._stats

    @property
    def idle(self) -> bool:
        """Nothing accepted and not yet answered.

        An HDL output: read right after a rising edge, cocotb on Verilator shows its
        value from before that edge (one edge later than AxiDmaResponder.idle).
        """
        return bool(self._idle.value)

    def reset(self) -> None:
        """Drop every burst in flight: the module is held in reset for the next edge."""
        self._rst.value = 1
        if self._reset_task is not None:
            self._reset_task.cancel()
        self._reset_task = cocotb.start_soon(self._release_reset())

    def stop(self) -> None:
        """Stop serving: the module stays in reset (readies low) until reset()."""
        self._rst.value = 1
        if self._reset_task is not None:
            self._reset_task.cancel()

    def inject_error(
        self, func: int, *, write: bool = False, count: int = 1, span: tuple[int, int] = ANY_ADDRESS
    ) -> None:
        """Answer the next ``count`` read (or write) bursts of ``func`` whose covered range
        meets ``span`` ([lo, hi)) with SLVERR."""
        lo, hi = span
        self._lib.simhost_inject_error(func, int(write), count, lo, min(hi, (1 << 64) - 1))

    @property
    def injections_left(self) -> int:
        """Injected errors not yet used."""
        return int(self._lib.simhost_injections_left())

    def clear_injections(self) -> None:
        self._lib.simhost_clear_injections()

    def set_extra_latency(self, read: int = 0, write: int = 0) -> None:
        """Extra cycles for the bursts accepted from now on (0, 0: none)."""
        self._lib.simhost_set_extra_latency(read, write)

    # -- internals ------------------------------------------------------------------------

    async def _release_reset(self) -> None:
        await RisingEdge(self.clock)
        self._rst.value = 0

    async def _run(self) -> None:
        edge = RisingEdge(self.clock)
        await edge
        t0 = get_sim_time()
        self._rst.value = 0  # out of reset from the next edge, as the responder's readies
        await edge
        self._period = get_sim_time() - t0
        self._t0 = t0
        change = self._event.value_change
        while True:
            await change
            self.wakeups += 1
            self._drain()

    def _cycle(self) -> int:
        if not self._period:
            return 0
        return (get_sim_time() - self._t0 + self._period // 2) // self._period

    def _drain(self) -> None:
        lib = self._lib
        if lib is None:
            return
        rec = ErrorRecord()
        while lib.simhost_next_error(ctypes.byref(rec)):
            self._error(rec)
        lo, hi = ctypes.c_uint64(), ctypes.c_uint64()
        while lib.simhost_next_hit(ctypes.byref(lo), ctypes.byref(hi)):
            self.memory.notify(lo.value, hi.value)
        buf = ctypes.create_string_buffer(512)
        while lib.simhost_next_violation(buf, len(buf)):
            self._violation(buf.value.decode())

    def _error(self, rec: ErrorRecord) -> None:
        """An injected error as it is; a refusal re-run through the translation in Python
        (which logs the IOMMU fault and names the reason)."""
        write = bool(rec.write)
        if rec.injected:
            resp = AxiResp(rec.resp)
            self._log_error(BusError(self._cycle(), rec.func, write, rec.axi_id, rec.addr,
                                     rec.len, resp, INJECTED))  # fmt: skip
            return
        try:
            self.path._segments(rec.func, rec.lo, rec.len, write)
        except BurstRefused as err:
            if int(err.resp) != rec.resp:
                raise AssertionError(
                    f"{self.prefix}: C answered {AxiResp(rec.resp).name}, Python "
                    f"{err.resp.name} for {err.reason}"
                ) from None
            self._log_error(BusError(self._cycle(), rec.func, write, rec.axi_id, rec.addr,
                                     rec.len, err.resp, err.reason))  # fmt: skip
            return
        raise AssertionError(
            f"{self.prefix}: the C IOMMU mirror refused func {rec.func} "
            f"{'write' if write else 'read'} {rec.lo:#x}+{rec.len}, which Python allows"
        )

    def _log_error(self, e: BusError) -> None:
        self._errors.append(e)
        self.log.info(
            "%s burst answered %s: %s", "write" if e.write else "read", e.resp.name, e.reason
        )

    def _violation(self, msg: str) -> None:
        self.protocol_violations.append(msg)
        if self.config.strict:
            raise AxiProtocolError(f"{self.prefix}: {msg}")
        self.log.warning("AXI protocol violation: %s", msg)

    def _detach(self) -> None:
        """Another HdlHostBus took the C state over: stop mirroring and collecting."""
        self._mirror.enabled = False
        self.iommu.remove_observer(self._mirror)
        self.memory.remove_watch_observer(self._mirror)
        if not self._task.done():
            self._task.cancel()
        self._lib = None
