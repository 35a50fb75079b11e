"""Helpers that build the kernel's tables."""

from __future__ import annotations

import numpy as np
import pytest

from fupinsim.microsim.kernel import stable_scatter


@pytest.mark.parametrize("sort_parts", [True, False])
@pytest.mark.parametrize("n", [0, 1, 7, 5_000])
def test_stable_scatter_equals_gathers_by_a_stable_argsort(n: int, sort_parts: bool) -> None:
    gen = np.random.default_rng(n)
    households = max(n // 4, 1)
    sizes = np.array([n // 3, n // 2, n - n // 3 - n // 2], dtype=np.int64)
    pos = gen.integers(0, households, n)
    if sort_parts:  # the merge path (each part's positions increasing, with ties)
        for first, size in zip(np.r_[0, np.cumsum(sizes)[:-1]], sizes, strict=True):
            pos[first : first + size].sort()
    ptr = np.zeros(households + 1, dtype=np.int64)
    np.cumsum(np.bincount(pos, minlength=households), out=ptr[1:])
    floats = gen.random((2, n)).astype(np.float32)
    ints = gen.integers(0, 9, (1, n))
    part, f_out, i_out = stable_scatter(pos, ptr, sizes, floats, ints)
    order = np.argsort(pos, kind="stable")
    np.testing.assert_array_equal(part, np.repeat(np.arange(3), sizes)[order])
    np.testing.assert_array_equal(f_out, floats[:, order])
    np.testing.assert_array_equal(i_out, ints[:, order])
    assert f_out.dtype == np.float32
