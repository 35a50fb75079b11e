"""Dealing the cadre pairing's flows out to households and cadres (plan §16).

The flow LP of :mod:`fupinsim.allocate.pairing` says how many households of each village each
cadre group serves; this module deals them out deterministically and vectorised: in each
village by household id over its arcs (:func:`arc_pieces`); in each group, over its cadres so
that each cadre's households are in one village when the group has enough cadres
(``ceil(flow / capacity)`` per village, more while every cadre must reach its minimum), else in
contiguous blocks of the group's village-ordered households (:func:`deal_households`). Counts
are households; no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupinsim.errors import SolverError

__all__ = ["arc_pieces", "deal_households"]


def _northwest(
    supply_keys: np.ndarray, supply: np.ndarray, demand_keys: np.ndarray, demand: np.ndarray
) -> pd.DataFrame:
    """Match two equal-total sequences in order (north-west corner rule): rows (s, d, flow)."""
    cs, cd = np.cumsum(supply), np.cumsum(demand)
    cuts = np.union1d(cs, cd)
    starts = np.concatenate([[0], cuts[:-1]])
    flow = cuts - starts
    si = np.searchsorted(cs, starts, side="right")
    di = np.searchsorted(cd, starts, side="right")
    keep = flow > 0
    return pd.DataFrame(
        {"s": supply_keys[si[keep]], "d": demand_keys[di[keep]], "flow": flow[keep]}
    )


def arc_pieces(
    villages: pd.DataFrame,
    direct: pd.DataFrame,
    imports: pd.DataFrame,
    into: pd.DataFrame,
    unpaired: np.ndarray,
) -> pd.DataFrame:
    """(g, v, flow) arcs that carry households, imports matched to villages in order.

    ``villages`` are the network's villages (``county_id`` by position ``v``); ``direct`` the
    group-to-village arcs with flow, ``imports`` the group-to-county arcs, ``into`` the flows
    (households) from each county's import node into its villages, ``unpaired`` the households
    of each village left unpaired; g = -1 for unpaired households. Sorted by village, then
    group (unpaired last).
    """
    parts = [direct[["g", "v", "flow"]]]
    vil = villages
    for county, arcs in imports.groupby("county", sort=True):
        supply = arcs.sort_values("g")
        demand = into[vil["county_id"].to_numpy()[into["v"].to_numpy()] == county]
        demand = demand[demand["flow"] > 0].sort_values("v")
        matched = _northwest(
            supply["g"].to_numpy(),
            supply["flow"].to_numpy(),
            demand["v"].to_numpy(),
            demand["flow"].to_numpy(),
        )
        parts.append(matched.rename(columns={"s": "g", "d": "v"}))
    lost = np.flatnonzero(unpaired)
    parts.append(pd.DataFrame({"g": -1, "v": lost, "flow": unpaired[lost]}))
    pieces = pd.concat(parts, ignore_index=True).astype(np.int64)
    pieces = pieces.groupby(["v", "g"])["flow"].sum().reset_index()
    last = np.where(pieces["g"] < 0, np.iinfo(np.int64).max, pieces["g"])
    return pieces.iloc[np.lexsort((last, pieces["v"].to_numpy()))].reset_index(drop=True)


def _cadres_per_piece(pieces: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Add ``k`` (cadres), ``offset`` (first cadre within its group), ``pure`` (village-pure
    dealing) and ``group_rank0`` (households of the group in earlier pieces) to paired pieces,
    sorted by group then village."""
    p = pieces[pieces["g"] >= 0].sort_values(["g", "v"], kind="stable").reset_index()
    g = p["g"].to_numpy()
    lo, hi, n = (groups[c].to_numpy(np.int64)[g] for c in ("lo", "hi", "n"))
    f = p["flow"].to_numpy(np.int64)
    kmin = -(-f // hi)
    kmax = np.where(lo > 0, f // np.maximum(lo, 1), f)
    total_kmin = pd.Series(kmin).groupby(g).transform("sum").to_numpy()
    total_kmax = pd.Series(kmax).groupby(g).transform("sum").to_numpy()
    total_f = pd.Series(f).groupby(g).transform("sum").to_numpy()
    used_pure = np.where(lo > 0, n, total_kmin)
    pure = (total_kmin <= n) & ((lo == 0) | (n <= total_kmax))
    room = kmax - kmin
    room_before = pd.Series(room).groupby(g).cumsum().to_numpy() - room
    extra = np.clip(used_pure - total_kmin - room_before, 0, room)
    k_pure = kmin + extra
    k_contig = np.clip(np.where(lo > 0, n, -(-total_f // hi)), 1, np.minimum(n, total_f))
    p["pure"] = pure
    p["k"] = np.where(pure, k_pure, k_contig)
    p["offset"] = np.where(pure, pd.Series(k_pure).groupby(g).cumsum().to_numpy() - k_pure, 0)
    p["group_rank0"] = pd.Series(f).groupby(g).cumsum().to_numpy() - f
    p["group_flow"] = total_f
    return p.set_index("index")


def deal_households(
    hh: pd.DataFrame, pieces: pd.DataFrame, groups: pd.DataFrame, cadres: pd.DataFrame
) -> np.ndarray:
    """Row of ``cadres`` for each household of ``hh`` (sorted by village, id); -1 unpaired."""
    flow = pieces["flow"].to_numpy()
    piece = np.repeat(np.arange(len(pieces)), flow)
    if piece.size != len(hh):
        raise SolverError("cadre pairing: flows do not add up to the registered households")
    rank = np.arange(len(hh)) - np.repeat(np.cumsum(flow) - flow, flow)
    info = _cadres_per_piece(pieces, groups)
    paired = pieces["g"].to_numpy()[piece] >= 0
    pi = piece[paired]
    r = rank[paired]
    row = info.loc[pi]
    k, f, off = row["k"].to_numpy(), row["flow"].to_numpy(), row["offset"].to_numpy()
    rg, fg = row["group_rank0"].to_numpy() + r, row["group_flow"].to_numpy()
    local = np.where(row["pure"].to_numpy(), off + (r * k) // f, (rg * k) // fg)
    ordered = cadres.sort_values(["group", "cadre_id"], kind="stable")
    start = ordered.groupby("group", sort=True).cumcount().to_numpy()
    first = np.flatnonzero(start == 0)
    positions = ordered.index.to_numpy()
    out = np.full(len(hh), -1, dtype=np.int64)
    out[paired] = positions[first[row["g"].to_numpy()] + local]
    return out
