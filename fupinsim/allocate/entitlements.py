"""Entitlements and guarantees on top of each household's package (plan §7-9, §14).

The engine adds the catalogue's add-on entries (:meth:`Catalogue.add_on_entries`: guarantees
such as house rebuilding or safe water, and entitlements such as education aid by students'
stage, the poor's health cover, medical and temporary assistance) to every supported
household eligible for them; the allocation costs them with the package on the pools
(:func:`fupinsim.allocate.yields.household_cost_profile`). This module lists them in the
household plans and measures how far they reach.

``add_ons`` (column of the household plans)
    The add-on entry ids a household gets with its package, ``;``-separated, in catalogue order
    (empty when none).
``entitlement_reach`` (one row per add-on entry)
    ``entry_id, kind, quantity_column, eligible_households, reached_households,
    eligible_units, reached_units, reach_share``: registered households eligible for the entry,
    those of them with a package (so with the add-on), and the same in the entry's units
    (students for education aid, people for health cover; households otherwise);
    ``reach_share`` = reached / eligible units (NaN when nobody is eligible).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from fupinsim.microsim.catalogue import Catalogue

__all__ = [
    "ADD_ON_SEPARATOR",
    "REACH_COLUMNS",
    "add_on_fiscal_cost",
    "entitlement_reach",
    "plan_add_ons",
]

logger = logging.getLogger(__name__)

#: Separator of the entry ids in the household plans' ``add_ons`` column.
ADD_ON_SEPARATOR = ";"
REACH_COLUMNS = (
    "entry_id",
    "kind",
    "quantity_column",
    "eligible_households",
    "reached_households",
    "eligible_units",
    "reached_units",
    "reach_share",
)


def _in_order(registered: pd.DataFrame, household_id: np.ndarray) -> pd.DataFrame:
    """Rows of ``registered`` for the given households, in that order."""
    return registered.set_index("household_id").loc[household_id].reset_index()


def plan_add_ons(
    plan: pd.DataFrame, registered: pd.DataFrame, catalogue: Catalogue
) -> pd.DataFrame:
    """The household plans with the add-ons each household gets (column ``add_ons``).

    ``registered`` holds the registry's columns of at least the plan's households (the
    catalogue's eligibility reads them).
    """
    out = plan.copy()
    ids = out["household_id"].to_numpy(dtype=np.int64)
    if not len(out):
        out["add_ons"] = pd.Series(dtype=str)
        return out
    needs = catalogue.add_on_needs(_in_order(registered, ids))
    labels = np.full(len(out), "", dtype=object)
    for entry_id in needs.columns:
        has = needs[entry_id].to_numpy(dtype=bool)
        joined = np.where(labels == "", entry_id, labels + ADD_ON_SEPARATOR + entry_id)
        labels = np.where(has, joined, labels)
    out["add_ons"] = labels.astype(str)
    return out


def entitlement_reach(
    plan: pd.DataFrame, registered: pd.DataFrame, catalogue: Catalogue
) -> pd.DataFrame:
    """How far each add-on reaches: eligible registered households and units, and those with a
    package (see the module docstring for the columns)."""
    needs = catalogue.add_on_needs(registered)
    supported = registered["household_id"].isin(plan["household_id"]).to_numpy()
    rows = []
    for entry in catalogue.add_on_entries():
        eligible = needs[entry.id].to_numpy(dtype=bool)
        units = entry.quantity(registered) * eligible
        reached_units = float(units[supported].sum())
        rows.append(
            {
                "entry_id": entry.id,
                "kind": "guarantee" if entry.kind == "guarantee" else "entitlement",
                "quantity_column": entry.quantity_column or "",
                "eligible_households": int(eligible.sum()),
                "reached_households": int((eligible & supported).sum()),
                "eligible_units": float(units.sum()),
                "reached_units": reached_units,
                "reach_share": reached_units / float(units.sum()) if units.sum() > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(REACH_COLUMNS))


def add_on_fiscal_cost(
    plan: pd.DataFrame, registered: pd.DataFrame, catalogue: Catalogue, last_year: int
) -> dict[str, float]:
    """Fiscal yuan of each add-on entry for the plan's households, from their start years to
    ``last_year`` (one-off cost in the start year, recurrent cost each year of the lifetime):
    the part of the pools' spending that pays guarantees and entitlements."""
    if not len(plan):
        return {e.id: 0.0 for e in catalogue.add_on_entries()}
    ids = plan["household_id"].to_numpy(dtype=np.int64)
    table = _in_order(registered, ids)
    needs = catalogue.add_on_needs(table)
    years = last_year - plan["start_year"].to_numpy(dtype=np.int64) + 1
    out: dict[str, float] = {}
    for entry in catalogue.add_on_entries():
        units = entry.quantity(table) * needs[entry.id].to_numpy(dtype=bool)
        active = np.clip(np.minimum(years, entry.lifetime_years), 0, None)
        cost = units * (entry.cost_fiscal_yuan + entry.recurrent_fiscal_yuan * active)
        out[entry.id] = float(cost[years > 0].sum())
    return out
