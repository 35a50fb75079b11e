"""Sets of ids in bounded memory (checking that ids are unique across a file read in chunks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["IdSet", "whole_ids"]


class IdSet:
    """A set of non-negative int64 ids in bounded memory, never a Python set.

    One bit per possible id (a numpy bitmap, 1/8 byte per id up to the largest) while the ids
    stay below :attr:`BITMAP_MAX_ID` (a 64 MiB bitmap); beyond, sorted numpy arrays of the ids
    (8 bytes each), merged into runs of doubling size so each id is merged O(log n) times.
    """

    BITMAP_MAX_ID = 2**29

    def __init__(self) -> None:
        self._bits = np.zeros(0, dtype=np.uint8)
        self._runs: list[np.ndarray] | None = None

    def seen_then_add(self, ids: np.ndarray) -> np.ndarray:
        """Mask of ``ids`` (distinct, >= 0) already in the set; then adds them all."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return np.zeros(0, dtype=bool)
        if self._runs is None and int(ids.max()) >= self.BITMAP_MAX_ID:
            bits = np.unpackbits(self._bits, bitorder="little")
            self._runs = [np.flatnonzero(bits).astype(np.int64)]
            self._bits = np.zeros(0, dtype=np.uint8)
        if self._runs is None:
            return self._bitmap(ids)
        return self._sorted(ids)

    def _bitmap(self, ids: np.ndarray) -> np.ndarray:
        need = int(ids.max()) // 8 + 1
        if need > len(self._bits):
            grown = np.zeros(max(need, 2 * len(self._bits)), dtype=np.uint8)
            grown[: len(self._bits)] = self._bits
            self._bits = grown
        byte = ids >> 3
        bit = (ids & 7).astype(np.uint8)
        seen = ((self._bits[byte] >> bit) & 1).astype(bool)
        np.bitwise_or.at(self._bits, byte, np.left_shift(np.uint8(1), bit))
        return seen

    def _sorted(self, ids: np.ndarray) -> np.ndarray:
        assert self._runs is not None
        seen = np.zeros(len(ids), dtype=bool)
        for run in self._runs:
            if len(run):
                pos = np.minimum(np.searchsorted(run, ids), len(run) - 1)
                seen |= run[pos] == ids
        self._runs.append(np.sort(ids[~seen]))
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = np.sort(np.concatenate([self._runs[-1], last]), kind="stable")
        return seen


def whole_ids(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(usable, ids): which cells hold an id >= 0 that int64 holds, and the ids (0 elsewhere)."""
    if pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:
        ids = values.to_numpy(dtype=np.int64)
        return ids >= 0, np.maximum(ids, 0)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        usable = (numbers >= 0) & (numbers < 2.0**63) & (numbers == np.floor(numbers))
    return usable, np.where(usable, numbers, 0).astype(np.int64)
