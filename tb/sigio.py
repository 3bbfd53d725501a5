"""Fast reads and writes of signal values for the models' per-beat paths.

cocotb 2.1's ``handle.value`` builds a Logic/LogicArray object on every read
(about 1 us for one bit, far more for a 512-bit beat), and ``handle.value = v``
checks the range of ``v`` (computing ``2**width`` and asking the simulator
whether the signal is signed) before formatting it. The bus models read and
write a few signals per beat, so they go through the GPI handle underneath, as
``handle.value`` itself does, with the same value and the same write
scheduling. Verilator is two-state: there is no X to lose. Without those
internals (another cocotb) both fall back to the public API.

:func:`pack_array` builds the value of a packed array from its elements, for a
deposit into an array register (``reg.value = pack_array(values, width)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

try:  # cocotb 2.1 internals; see the module docstring
    from cocotb.handle import _GPISetAction, _schedule_write
except ImportError:  # pragma: no cover - other cocotb versions
    _GPISetAction = None  # type: ignore[assignment,misc]
    _schedule_write = None  # type: ignore[assignment]


def int_reader(handle: Any) -> Callable[[], int]:
    """A function returning ``handle``'s current value as an unsigned int, made for speed."""
    raw = getattr(handle, "_handle", None)
    if raw is None or not hasattr(raw, "get_signal_val_binstr"):
        return lambda: handle.value.to_unsigned()
    width = len(handle)
    if width < 32:
        return raw.get_signal_val_long  # type: ignore[no-any-return]
    get_binstr = raw.get_signal_val_binstr
    return lambda: int(get_binstr(), 2)


def int_writer(handle: Any) -> Callable[[int], None]:
    """A function that does ``handle.value = v`` for an unsigned int ``v`` that fits, faster.

    The write is scheduled exactly as cocotb schedules a plain ``handle.value =``
    (a deposit applied in the ReadWrite phase, or at once if already there).
    The range check is left out: callers pass values of the signal's width.
    """
    raw = getattr(handle, "_handle", None)
    if _schedule_write is None or raw is None or not hasattr(raw, "set_signal_val_binstr"):

        def fallback(v: int) -> None:
            handle.value = v

        return fallback
    width = len(handle)
    deposit = _GPISetAction.DEPOSIT
    if width <= 32:
        set_int = raw.set_signal_val_int
        return lambda v: _schedule_write(handle, set_int, deposit, v)
    set_binstr = raw.set_signal_val_binstr
    fmt = f"0{width}b"
    return lambda v: _schedule_write(handle, set_binstr, deposit, format(v, fmt))


def pack_array(values: Iterable[int], width: int) -> int:
    """The value of a packed array of ``width``-bit elements: element ``i`` of ``values``
    at bits ``[i*width +: width]``, element 0 in the lowest bits.

    Raises ValueError if ``width`` is not positive or an element is negative or does
    not fit in ``width`` bits (a deposit would otherwise spill it into its neighbour).
    """
    if width < 1:
        raise ValueError(f"element width {width}: must be at least 1 bit")
    top = 1 << width
    packed = 0
    for i, v in enumerate(values):
        if not 0 <= v < top:
            raise ValueError(f"element {i} = {v:#x} does not fit in {width} unsigned bits")
        packed |= v << (i * width)
    return packed
