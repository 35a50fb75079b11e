"""Named random streams derived from one scenario seed.

Every random draw in fupinsim comes from a generator built by :func:`generator` from
``(seed, stream name, *keys)`` with :class:`numpy.random.SeedSequence`. The keys are things
like a household block, a replication, a county or a year, never the position of a chunk or a
worker, so that

* a run gives the same numbers whatever the chunk size or the number of worker processes, and
* two scenarios with the same seed and registry draw the same shocks household by household
  (common random numbers: differences between them are policy, not noise).

Stream names map to integers with a stable hash (CRC-32), never Python's salted ``hash()``.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["STREAMS", "generator", "seed_sequence", "stream_id"]

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
