"""The counter-based generator of :mod:`fupinsim.rng`, compiled with numba for the kernel.

Same arithmetic as :func:`fupinsim.rng.counter_uniform` / :func:`fupinsim.rng.counter_normal`
(tests check they agree: uniforms bit for bit, normals — the ziggurat — to rounding): a draw is
a pure function of ``(key, counter)``, so the kernel can draw any household's numbers in any
order, on any thread, in any chunk.
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
_X = rng.ZIGGURAT_X
_F = rng.ZIGGURAT_F
_R = rng.ZIGGURAT_R
_S8, _255 = np.uint64(8), np.uint64(255)


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
def _bits(key: np.uint64, counter: np.int64) -> np.uint64:
    return mix64(key + (np.uint64(counter) + _ONE) * _GAMMA)


@njit(**_JIT, inline="always")
def _unit(bits: np.uint64) -> float:
    return (float(bits >> _S11) + 0.5) * 1.1102230246251565e-16  # 2**-53


@njit(**_JIT, inline="always")
def uniform(key: np.uint64, counter: np.int64) -> float:
    """Uniform on (0, 1) of draw ``counter`` of ``key``."""
    return _unit(_bits(key, counter))


@njit(**_JIT)
def _slow(b: np.uint64, layer: np.int64, x: float) -> float:
    """The ziggurat's rare steps (tail or wedge) from the word ``b`` that missed its rectangle
    (:func:`fupinsim.rng.ziggurat_normal`, same order of words)."""
    while True:
        b = mix64(b + _GAMMA)
        if layer == 0:
            while True:
                u1 = _unit(b)
                b = mix64(b + _GAMMA)
                t = -math.log(u1) / _R
                if -2.0 * math.log(_unit(b)) > t * t:
                    return _R + t
                b = mix64(b + _GAMMA)
        height = _F[layer] + _unit(b) * (_F[layer + 1] - _F[layer])
        if height < math.exp(-0.5 * x * x):
            return x
        b = mix64(b + _GAMMA)
        layer = np.int64(b & _255)
        x = float(b >> _S11) * 1.1102230246251565e-16 * _X[layer]
        if x < _X[layer + 1]:
            return x


@njit(**_JIT, inline="always")
def normal(key: np.uint64, counter: np.int64) -> float:
    """Standard normal of draw ``counter`` of ``key`` (ziggurat of its 64-bit word)."""
    b = _bits(key, counter)
    layer = np.int64(b & _255)
    x = float(b >> _S11) * 1.1102230246251565e-16 * _X[layer]
    if not x < _X[layer + 1]:
        x = _slow(b, layer, x)
    return -x if (b >> _S8) & _ONE else x


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
