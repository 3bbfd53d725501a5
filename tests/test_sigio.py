"""tb/sigio.py's :func:`pack_array`: element order and the range check."""

from __future__ import annotations

import pytest

from tb.sigio import pack_array


def test_element_zero_in_the_lowest_bits() -> None:
    assert pack_array([0x1, 0x2, 0x3], 8) == 0x03_02_01
    assert pack_array([0xAAAA, 0, 0x5555], 16) == 0x5555_0000_AAAA
    # each element at bits [i*width +: width], read back the way the RTL slices it
    values = [0xFFFF_FFFF, 0, 0x1234_5678, 1]
    packed = pack_array(values, 32)
    assert [(packed >> (32 * i)) & 0xFFFF_FFFF for i in range(4)] == values
    assert packed.bit_length() <= 4 * 32


def test_empty_and_single() -> None:
    assert pack_array([], 32) == 0
    assert pack_array([(1 << 64) - 1], 64) == (1 << 64) - 1
    assert pack_array(iter([1, 1]), 1) == 0b11  # any iterable


@pytest.mark.parametrize(
    ("values", "width"),
    [
        ([1 << 32], 32),  # one past the top
        ([0, 0x100], 8),  # would spill into a third element
        ([-1], 32),
        ([0, -5, 0], 8),
    ],
)
def test_out_of_range_raises(values: list[int], width: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        pack_array(values, width)


@pytest.mark.parametrize("width", [0, -8])
def test_width_must_be_positive(width: int) -> None:
    with pytest.raises(ValueError, match="width"):
        pack_array([0], width)
