"""Named random streams derived from one scenario seed.

Every random draw in fupinsim comes from a generator built by :func:`generator` from
``(seed, stream name, *keys)`` with :class:`numpy.random.SeedSequence`. The keys are things
like a household block, a replication, a county or a year, never the position of a chunk or a
worker, so that

* a run gives the same numbers whatever the chunk size or the number of worker processes, and
* two scenarios with the same seed and registry draw the same shocks household by household
  (common random numbers: differences between them are policy, not noise).

Stream names map to integers with a stable hash (CRC-32), never Python's salted ``hash()``.

The microsimulation's draws come instead from a **counter-based** generator, so that any single
draw can be recomputed alone: :func:`counter_key` chains the SplitMix64 finaliser
(:func:`mix64`, Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators",
the generator behind Java's ``SplittableRandom``; it passes BigCrush) over
``(seed, stream, replication, household id)``, and draw ``c`` of that key is
``mix64(key + (c + 1) × γ)`` — the SplitMix64 sequence started at the key. The counter ``c``
encodes the year and the draw within the year (:func:`year_counter`). Uniforms take the top 53
bits; normals come from the same 64-bit word by Marsaglia & Tsang's ziggurat
(:func:`ziggurat_normal`: a table look-up and one comparison for ≈ 99 % of words; the rest
draw further words from that one, so a normal still depends only on its key and counter).
:func:`inverse_normal_cdf` (Acklam's approximation) is kept for quantiles.
:func:`counter_uniform` and :func:`counter_normal` are the NumPy
reference implementations; :mod:`fupinsim.microsim.draws` compiles the same arithmetic with
numba for the engine.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

__all__ = [
    "GAMMA",
    "STREAMS",
    "counter_key",
    "counter_normal",
    "counter_uniform",
    "generator",
    "mix64",
    "next_bits",
    "replication_keys",
    "seed_sequence",
    "stream_id",
    "sub_keys",
    "year_counter",
    "ziggurat_normal",
]

#: The streams in use, with what they drive. A new stream needs only a new name.
STREAMS: dict[str, str] = {
    "registry": "synthetic households and villages",
    "identification": "measured income, application and review",
    "income": "idiosyncratic income shocks",
    "illness": "illness events and their costs",
    "systemic": "county-year drought and livestock-price shocks",
    "intervention": "household-specific intervention effects and failures",
    "verification": "officials' income checks for exit decisions",
    "cadres": "synthetic cadre roster (plan §16 pairing)",
    "uncertainty": "draws of the uncertain assumptions (fupinsim.uncertainty)",
}


def stream_id(name: str) -> int:
    """Stable 32-bit id of a stream name.

    >>> stream_id("illness") == stream_id("illness")
    True
    """
    if name not in STREAMS:
        raise KeyError(f"unknown random stream {name!r}; known streams: {', '.join(STREAMS)}")
    return zlib.crc32(name.encode("ascii"))


def seed_sequence(seed: int, stream: str, *keys: int) -> np.random.SeedSequence:
    """The seed sequence of one stream at the given keys (block, replication, …)."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}")
    return np.random.SeedSequence(entropy=seed, spawn_key=(stream_id(stream), *map(int, keys)))


def generator(seed: int, stream: str, *keys: int) -> np.random.Generator:
    """A PCG64 generator for one stream at the given keys."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, stream, *keys)))


_MASK = (1 << 64) - 1
#: SplitMix64's increment (the odd integer closest to 2⁶⁴ / golden ratio).
GAMMA = 0x9E3779B97F4A7C15
#: Draws per (key, year): counters ``year × DRAWS_PER_YEAR + k``, ``0 <= k < DRAWS_PER_YEAR``.
DRAWS_PER_YEAR = 16
_U64 = np.uint64


def mix64(z: Any) -> Any:
    """SplitMix64's finaliser (variant 13), on Python ints or uint64 arrays (wrapping).

    >>> hex(mix64(1))
    '0x5692161d100b05e5'
    """
    if isinstance(z, int):
        z &= _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)
    z = np.asarray(z, dtype=_U64)
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def counter_key(seed: int, stream: str, *keys: int) -> int:
    """The 64-bit key of ``(seed, stream, *keys)`` for the counter-based generator.

    Keys are non-negative integers such as a replication and a household id; each is mixed in
    with one SplitMix64 round, so keys differing in any position give unrelated sequences.
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}")
    h = int(mix64((seed + GAMMA) & _MASK))
    h = int(mix64(h ^ stream_id(stream)))
    for key in keys:
        if key < 0:
            raise ValueError(f"counter keys must be >= 0; got {key}")
        h = int(mix64(h ^ (int(key) & _MASK)))
    return h


def year_counter(year: int, k: int) -> int:
    """The counter of draw ``k`` (0 … 15) of a calendar year."""
    return int(year) * DRAWS_PER_YEAR + int(k)


def replication_keys(seed: int, stream: str, replications: np.ndarray | range) -> np.ndarray:
    """``counter_key(seed, stream, r)`` for many replications ``r`` at once (uint64)."""
    reps = np.asarray(replications, dtype=_U64)
    return mix64(_U64(counter_key(seed, stream)) ^ reps)


def sub_keys(keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Keys one level down (``counter_key(..., id)``), broadcasting ``keys`` against ``ids``."""
    return mix64(np.asarray(keys, dtype=_U64) ^ np.asarray(ids, dtype=_U64))


def _bits(key: np.ndarray | int, counters: np.ndarray) -> np.ndarray:
    c = np.asarray(counters, dtype=_U64)
    k = np.asarray(key, dtype=_U64)
    return mix64(k + (c + _U64(1)) * _U64(GAMMA))


def counter_uniform(key: np.ndarray | int, counters: np.ndarray | int) -> np.ndarray:
    """Uniforms on (0, 1) of the given counters of ``key`` (top 53 bits, centred).

    ``key`` may be an array of keys; keys and counters broadcast against each other.
    """
    bits = _bits(key, np.atleast_1d(counters))
    return ((bits >> _U64(11)).astype(np.float64) + 0.5) * 2.0**-53


# Acklam's inverse normal CDF coefficients (central region and tails).
ACKLAM_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687,
            138.3577518672690, -30.66479806614716, 2.506628277459239)  # fmt: skip
ACKLAM_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866,
            66.80131188771972, -13.28068155288572)  # fmt: skip
ACKLAM_C = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838,
            -2.549732539343734, 4.374664141464968, 2.938163982698783)  # fmt: skip
ACKLAM_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996,
            3.754408661907416)  # fmt: skip
ACKLAM_LOW = 0.02425


def inverse_normal_cdf(p: np.ndarray) -> np.ndarray:
    """Acklam's approximation of the standard normal quantile (relative error < 1.2e-9)."""
    p = np.asarray(p, dtype=np.float64)
    a, b, c, d = ACKLAM_A, ACKLAM_B, ACKLAM_C, ACKLAM_D
    out = np.empty_like(p)
    low = p < ACKLAM_LOW
    high = p > 1.0 - ACKLAM_LOW
    mid = ~(low | high)
    q = p[mid] - 0.5
    r = q * q
    out[mid] = (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    )
    for mask, sign in ((low, 1.0), (high, -1.0)):
        tail = np.where(sign > 0, p[mask], 1.0 - p[mask])
        q = np.sqrt(-2.0 * np.log(tail))
        out[mask] = (
            sign
            * (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
        )
    return out


#: Layers of the normal ziggurat (Marsaglia & Tsang 2000, "The ziggurat method for generating
#: random variables", J. Stat. Softw. 5(8)): 256 layers of equal area ``ZIGGURAT_V`` under the
#: half density f(x) = exp(−x²/2), the base layer ending in the tail beyond ``ZIGGURAT_R``.
ZIGGURAT_LAYERS = 256
ZIGGURAT_R = 3.6541528853610088
ZIGGURAT_V = 0.00492867323399


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray]:
    """Right edges ``x[0..256]`` of the layers (decreasing; ``x[0]`` the base layer's width
    V / f(R), ``x[1]`` = R, ``x[256]`` = 0) and ``f(x)`` at them."""
    r, v = ZIGGURAT_R, ZIGGURAT_V
    x = np.zeros(ZIGGURAT_LAYERS + 1)
    x[0] = v / np.exp(-0.5 * r * r)
    x[1] = r
    for i in range(1, ZIGGURAT_LAYERS - 1):
        x[i + 1] = np.sqrt(-2.0 * np.log(v / x[i] + np.exp(-0.5 * x[i] * x[i])))
    return x, np.exp(-0.5 * x * x)


ZIGGURAT_X, ZIGGURAT_F = _ziggurat_tables()


def next_bits(bits: Any) -> Any:
    """The next 64 bits after ``bits`` of a ziggurat draw that needs more (``mix64(bits + γ)``)."""
    return mix64(np.asarray(bits, dtype=_U64) + _U64(GAMMA))


def _unit(bits: np.ndarray) -> np.ndarray:
    return ((bits >> _U64(11)).astype(np.float64) + 0.5) * 2.0**-53


def ziggurat_normal(bits: np.ndarray) -> np.ndarray:
    """Standard normals from 64-bit words by the ziggurat (the reference of the kernel's).

    Per word ``b``: layer ``b & 255``, sign bit 8, and ``x = u × X[layer]`` with ``u`` the top
    53 bits on [0, 1). Inside the layer's rectangle (≈ 99 % of words) ``x`` is the draw;
    otherwise ``b`` moves on (:func:`next_bits`) and the base layer draws from the tail
    (Marsaglia 1964: ``R + t``, ``t = −log(u1)/R`` accepted if ``−2 log(u2) > t²``) and the
    other layers accept ``x`` if a uniform height under the layer is below f(x), else start
    again from the next word. The NumPy version runs the same steps on the words still drawing.
    """
    x_edge, f_edge = ZIGGURAT_X, ZIGGURAT_F
    b = np.array(bits, dtype=_U64).ravel()
    sign = np.where((b >> _U64(8)) & _U64(1), -1.0, 1.0)
    out = np.empty(b.size)
    todo = np.arange(b.size)
    while todo.size:
        w = b[todo]
        layer = (w & _U64(255)).astype(np.intp)
        x = (w >> _U64(11)).astype(np.float64) * 2.0**-53 * x_edge[layer]
        fast = x < x_edge[layer + 1]
        out[todo[fast]] = x[fast]
        slow, w, layer, x = todo[~fast], next_bits(w[~fast]), layer[~fast], x[~fast]
        tail = layer == 0
        out[slow[tail]] = _tail(w[tail])
        wedge, w, layer, x = slow[~tail], w[~tail], layer[~tail], x[~tail]
        height = f_edge[layer] + _unit(w) * (f_edge[layer + 1] - f_edge[layer])
        ok = height < np.exp(-0.5 * x * x)
        out[wedge[ok]] = x[ok]
        b[wedge[~ok]] = next_bits(w[~ok])
        todo = wedge[~ok]
    return (sign * out).reshape(np.shape(bits))


def _tail(w: np.ndarray) -> np.ndarray:
    """Draws beyond ``ZIGGURAT_R`` from the words ``w`` (each tried until accepted)."""
    out = np.empty(w.size)
    todo = np.arange(w.size)
    while todo.size:
        u1 = _unit(w)
        w2 = next_bits(w)
        u2 = _unit(w2)
        t = -np.log(u1) / ZIGGURAT_R
        ok = -2.0 * np.log(u2) > t * t
        out[todo[ok]] = ZIGGURAT_R + t[ok]
        todo, w = todo[~ok], next_bits(w2[~ok])
    return out


def counter_normal(key: np.ndarray | int, counters: np.ndarray | int) -> np.ndarray:
    """Standard normals of the given counters of ``key`` (:func:`ziggurat_normal` of the
    counters' 64-bit words, the words :func:`counter_uniform` takes its uniforms from)."""
    return ziggurat_normal(_bits(key, np.atleast_1d(counters)))
