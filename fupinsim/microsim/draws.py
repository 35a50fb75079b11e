"""The counter-based generator of :mod:`fupinsim.rng`, compiled with numba for the kernel.

Same arithmetic as :func:`fupinsim.rng.counter_uniform` / :func:`fupinsim.rng.counter_normal`
(tests check they agree bit for bit): a draw is a pure function of ``(key, counter)``, so the
kernel can draw any household's numbers in any order, on any thread, in any chunk.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from fupinsim import rng

__all__ = ["JIT_OPTIONS", "household_key", "normal", "uniform"]

#: numba options of every kernel function: cached on disk; NumPy's error model (no Python
#: exception checks on division); floating-point contraction (FMA), approximate reciprocals and
#: library functions, no signed zeros — never reassociation or no-NaN assumptions, so sums stay
#: in the order written.
JIT_OPTIONS: dict[str, Any] = {
    "cache": True,
    "error_model": "numpy",
    "fastmath": {"contract", "arcp", "nsz", "afn"},
}
_JIT = JIT_OPTIONS

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GAMMA = np.uint64(rng.GAMMA)
_ONE = np.uint64(1)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_A, _B, _C, _D = rng.ACKLAM_A, rng.ACKLAM_B, rng.ACKLAM_C, rng.ACKLAM_D
_LOW = rng.ACKLAM_LOW


@njit(**_JIT, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser (wrapping uint64 arithmetic)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(**_JIT, inline="always")
def household_key(replication_key: np.uint64, household_id: np.int64) -> np.uint64:
    """Key of one household (or village id) within a (seed, stream, replication) key."""
    return mix64(replication_key ^ np.uint64(household_id))


@njit(**_JIT, inline="always")
def uniform(key: np.uint64, counter: np.int64) -> float:
    """Uniform on (0, 1) of draw ``counter`` of ``key``."""
    bits = mix64(key + (np.uint64(counter) + _ONE) * _GAMMA)
    return (float(bits >> _S11) + 0.5) * 1.1102230246251565e-16  # 2**-53


@njit(**_JIT, inline="always")
def _quantile(p: float) -> float:
    if p < _LOW or p > 1.0 - _LOW:
        tail = p if p < _LOW else 1.0 - p
        q = math.sqrt(-2.0 * math.log(tail))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
        return x if p < _LOW else -x
    q = p - 0.5
    r = q * q
    return (
        (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5])
        * q
        / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
    )


@njit(**_JIT, inline="always")
def normal(key: np.uint64, counter: np.int64) -> float:
    """Standard normal of draw ``counter`` of ``key`` (inverse CDF of its uniform)."""
    return _quantile(uniform(key, counter))


@njit(**_JIT)
def uniforms(key: np.uint64, counters: np.ndarray) -> np.ndarray:
    """Uniforms of many counters of one key (for tests and diagnostics)."""
    out = np.empty(counters.size)
    for i in range(counters.size):
        out[i] = uniform(key, counters[i])
    return out


@njit(**_JIT)
def normals(key: np.uint64, counters: np.ndarray) -> np.ndarray:
    """Normals of many counters of one key (for tests and diagnostics)."""
    out = np.empty(counters.size)
    for i in range(counters.size):
        out[i] = normal(key, counters[i])
    return out
