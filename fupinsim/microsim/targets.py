"""The plan's exit targets for a registry: how many households must have exited by when.

Target groups are counties, with Yumen and Guazhou split into immigrant and old villages
(plan §2). ``target_exits`` is the cumulative number of the group's registered households that
must have exited by the end of the year: the schedule's share of the group's registered
households, rounded up (at least the share), so the plan's percentages come out exactly when
they give whole households.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fupinsim import data

__all__ = ["exit_targets", "exit_targets_from_counts", "target_group"]


def target_group(county_id: np.ndarray, is_immigrant: np.ndarray) -> np.ndarray:
    """The target group ('all', 'immigrant' or 'old') of each household."""
    split = {
        c
        for c, v in data.exit_schedule()[["county", "villages"]].itertuples(index=False)
        if v != "all"
    }
    county = np.asarray(county_id).astype(str)
    is_split = np.isin(county, list(split))
    return np.where(is_split, np.where(is_immigrant, "immigrant", "old"), "all")


def exit_targets(households: pd.DataFrame, as_whole_allowance: float = 0.0) -> pd.DataFrame:
    """Cumulative exit targets per group and year for the registered households given.

    Columns: ``county_id, villages, year, target_share, n_registered, target_exits,
    required_exits``. ``target_exits`` is the plan's number; ``required_exits`` is what counts
    as meeting it: the same, except where the plan says the group exits as a whole (share 1),
    where ``floor(as_whole_allowance × n_registered)`` households may remain (the 3% rule).
    Every group has a row for each year from the schedule's first to its last year; a group's
    share holds after its last entry.
    """
    registered = households["is_registered"].to_numpy(dtype=bool)
    county = pd.Categorical(households["county_id"], categories=list(data.COUNTY_IDS))
    codes = (
        np.asarray(county.codes)[registered] * 2
        + households["is_immigrant"].to_numpy(dtype=bool)[registered]
    )
    n = np.bincount(codes, minlength=2 * len(data.COUNTY_IDS))
    county_of = np.repeat(np.array(data.COUNTY_IDS), 2)
    immigrant = np.tile([False, True], len(data.COUNTY_IDS))
    groups = pd.DataFrame(
        {
            "county_id": county_of,
            "villages": target_group(county_of, immigrant),
            "n_registered": n,
        }
    )
    summed = groups.groupby(["county_id", "villages"], sort=False)["n_registered"].sum()
    counts = summed[summed > 0].reset_index()
    return exit_targets_from_counts(counts, as_whole_allowance)


def exit_targets_from_counts(counts: pd.DataFrame, as_whole_allowance: float = 0.0) -> pd.DataFrame:
    """:func:`exit_targets` from registered households per group (``county_id, villages,
    n_registered``), for registries too large to hold in memory."""
    schedule = data.exit_schedule()
    years = range(int(schedule["year"].min()), int(schedule["year"].max()) + 1)
    rows = []
    for county, villages, n in counts.itertuples(index=False):
        entries = schedule[(schedule["county"] == county) & (schedule["villages"] == villages)]
        share = 0.0
        for year in years:
            listed = entries.loc[entries["year"] == year, "share"]
            if not listed.empty:
                share = float(listed.iloc[0])
            target = math.ceil(share * n - 1e-9)
            allowance = math.floor(as_whole_allowance * n + 1e-9) if share >= 1.0 else 0
            rows.append((county, villages, year, share, int(n), target, target - allowance))
    frame = pd.DataFrame(
        rows,
        columns=[
            "county_id",
            "villages",
            "year",
            "target_share",
            "n_registered",
            "target_exits",
            "required_exits",
        ],
    )
    order = {c: i for i, c in enumerate(data.COUNTY_IDS)}
    frame["_order"] = frame["county_id"].map(order)
    return (
        frame.sort_values(["_order", "villages", "year"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
