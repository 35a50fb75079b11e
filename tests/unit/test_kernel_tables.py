"""Helpers that build the kernel's tables."""

from __future__ import annotations

import numpy as np
import pytest

from fupinsim.microsim.kernel import stable_order


@pytest.mark.parametrize("n", [0, 1, 7, 5_000])
def test_stable_order_is_a_stable_argsort_by_household(n: int) -> None:
    gen = np.random.default_rng(n)
    households = max(n // 4, 1)
    pos = gen.integers(0, households, n)
    ptr = np.zeros(households + 1, dtype=np.int64)
    np.cumsum(np.bincount(pos, minlength=households), out=ptr[1:])
    np.testing.assert_array_equal(stable_order(pos, ptr), np.argsort(pos, kind="stable"))
