"""One household, one plan (plan §3): give the LP's quotas to specific households.

The LP decides how many households *of each type* get each package from each start year
(possibly fractional). :func:`assign_households` turns that into whole households:

1. **Round** (:func:`round_quotas`): per type, the number of supported households is the
   rounded sum of its quotas; each quota is floored and the missing units go to the largest
   remainders (largest-remainder method), so type totals are kept and no quota moves by a
   whole household or more.
2. **Assign**, best predicted gain first: within a type, packages are served in order of their
   mean predicted gain over the type's households (highest first); each takes, among the
   households still without a package, those with the highest predicted gain from *it* (ties:
   lower ``household_id``). Without predicted gains, households are taken in ``household_id``
   order.

Loops run over types and packages only; households are handled as arrays.

Output (the microsimulation's plan input, with the contract's extra columns): ``household_id,
type_id, package_id, start_year, cost_fiscal_yuan, cost_credit_yuan, cost_household_yuan``
(yuan per household over the package's life), ``predicted_gain_yuan``, ``expected_exit_year``
(first year in which the type's yield with this package reaches 0.5; NA if never in the yield
years; a type-level expectation until the microsimulation replaces it), and ``helper_id`` when
the households table has it. The expected income path per household comes from simulating
the plan (``fupinsim.microsim``), not from here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupinsim.allocate.inputs import PreparedInputs
from fupinsim.errors import InputError, Problem

__all__ = ["PLAN_COLUMNS", "assign_households", "expected_exit_years", "round_quotas"]

PLAN_COLUMNS: tuple[str, ...] = (
    "household_id",
    "type_id",
    "package_id",
    "start_year",
    "cost_fiscal_yuan",
    "cost_credit_yuan",
    "cost_household_yuan",
    "predicted_gain_yuan",
    "expected_exit_year",
)
_KEYS = ["type_id", "package_id", "start_year"]


def round_quotas(quotas: pd.DataFrame) -> pd.DataFrame:
    """Whole-household quotas that keep each type's (rounded) total.

    Parameters
    ----------
    quotas:
        ``type_id, package_id, start_year, households`` (households ≥ 0, may be fractional).

    Returns
    -------
    DataFrame
        The same rows with integer ``households`` (int64); rows rounded to 0 are dropped.

    Examples
    --------
    >>> q = pd.DataFrame({"type_id": ["t"] * 3, "package_id": ["a", "b", "c"],
    ...                   "start_year": [2015] * 3, "households": [1.6, 1.7, 0.7]})
    >>> round_quotas(q)["households"].tolist()
    [1, 2, 1]
    """
    table = quotas[[*_KEYS, "households"]].copy().reset_index(drop=True)
    amount = table["households"].to_numpy(dtype=np.float64)
    floors = np.floor(amount + 1e-9)
    table["floor"] = floors
    table["remainder"] = amount - floors
    by_type = table.groupby("type_id", sort=False)
    total = np.rint(by_type["households"].transform("sum").to_numpy())
    extra = total - by_type["floor"].transform("sum").to_numpy()
    # Rank remainders within the type (largest first; ties by row order) and give out `extra`.
    table["rank"] = by_type["remainder"].rank(method="first", ascending=False).to_numpy()
    table["households"] = (floors + (table["rank"].to_numpy() <= extra)).astype(np.int64)
    table = table[table["households"] > 0]
    return table[[*_KEYS, "households"]].reset_index(drop=True)


def expected_exit_years(data: PreparedInputs, threshold: float = 0.5) -> pd.DataFrame:
    """First year in which an option's exit yield reaches ``threshold``.

    Returns
    -------
    DataFrame
        ``type_id, package_id, start_year, expected_exit_year`` (Int64, NA if never).
    """
    rows = data.yields[data.yields["exit_prob"] >= threshold]
    first = rows.groupby(_KEYS)["year"].min().rename("expected_exit_year").reset_index()
    return first.astype({"expected_exit_year": "Int64"})


def _gain_matrix(
    households: pd.DataFrame, gains: pd.DataFrame | None, packages: list[str]
) -> np.ndarray:
    """Predicted gain (yuan) per household (rows, in ``households`` order) and package."""
    if gains is None:
        return np.zeros((len(households), len(packages)))
    wide = gains.pivot_table(
        index="household_id", columns="package_id", values="predicted_gain_yuan", aggfunc="mean"
    )
    wide = wide.reindex(index=households["household_id"], columns=packages)
    # A household without a prediction for a package comes last for it.
    return wide.to_numpy(dtype=np.float64, na_value=-np.inf)


def assign_households(
    quotas: pd.DataFrame,
    households: pd.DataFrame,
    gains: pd.DataFrame | None = None,
    data: PreparedInputs | None = None,
) -> pd.DataFrame:
    """Give each type's quotas to its households, best predicted gain first.

    Parameters
    ----------
    quotas:
        ``type_id, package_id, start_year, households`` (e.g. ``AllocationResult.quotas``).
    households:
        ``household_id, type_id`` (+ ``helper_id``, passed through): the registered households
        and the type each belongs to.
    gains:
        ``household_id, package_id, predicted_gain_yuan`` (yuan per year once the package is
        running); optional.
    data:
        Prepared allocation inputs, for per-household costs and expected exit years
        (without it those columns are NaN / NA).

    Returns
    -------
    DataFrame
        One row per supported household, columns :data:`PLAN_COLUMNS` (+ ``helper_id``),
        sorted by ``household_id``. Households without a row get no new support.

    Raises
    ------
    InputError
        Duplicate household ids, missing columns, or a type whose rounded quota exceeds its
        households in the table.
    """
    for name, frame, required in (
        ("quotas", quotas, [*_KEYS, "households"]),
        ("households", households, ["household_id", "type_id"]),
    ):
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise InputError.single(name, sorted(frame.columns), f"must have columns {missing}")
    if households["household_id"].duplicated().any():
        dup = households.loc[households["household_id"].duplicated(), "household_id"]
        raise InputError.single("households, column household_id", dup.head(3).tolist(), "unique")

    whole = round_quotas(quotas)
    order = households.sort_values(["type_id", "household_id"], kind="stable")
    order = order.reset_index(drop=True)
    packages = sorted(whole["package_id"].unique())
    column_of: dict[str, int] = {str(p): i for i, p in enumerate(packages)}
    gain = _gain_matrix(order, gains, packages)
    # Households of a type are one contiguous block of `order`: [first, stop).
    type_ids = order["type_id"].astype(str).tolist()
    block_of: dict[str, tuple[int, int]] = {}
    for position, type_id in enumerate(type_ids):
        begin, _ = block_of.get(type_id, (position, position))
        block_of[type_id] = (begin, position + 1)

    available = order.groupby("type_id").size()
    wanted = whole.groupby("type_id")["households"].sum()
    over = wanted[wanted > available.reindex(wanted.index, fill_value=0)]
    if len(over):
        raise InputError(
            [
                Problem(
                    f"households of type {t}",
                    int(available.get(t, 0)),
                    f"must be at least the type's quota of {int(n)} supported households",
                    fix="Build the yields' types from the same registry.",
                )
                for t, n in over.items()
            ]
        )

    chosen_rows: list[np.ndarray] = []
    chosen_option: list[np.ndarray] = []
    options = whole.reset_index(drop=True)
    for group_key, group in options.groupby("type_id", sort=False):
        first, stop = block_of[str(group_key)]
        block = gain[first:stop]
        free = np.ones(stop - first, dtype=np.bool_)
        columns: list[int] = [column_of[str(p)] for p in group["package_id"]]
        known = np.isfinite(block)
        counts = known.sum(axis=0)
        totals = np.where(known, block, 0.0).sum(axis=0)
        mean_gain = np.where(counts > 0, totals / np.maximum(counts, 1), -np.inf)
        # Packages with the highest mean gain pick first; ties keep the quota order.
        sequence = sorted(range(len(group)), key=lambda i: -mean_gain[columns[i]])
        for i in sequence:
            k = int(group["households"].iloc[i])
            score = np.where(free, block[:, columns[i]], -np.inf)
            # Stable sort on −score: highest gain first, then lower household_id.
            picked = np.argsort(-score, kind="stable")[:k]
            free[picked] = False
            chosen_rows.append(picked + first)
            chosen_option.append(np.full(k, group.index[i]))
    rows = np.concatenate(chosen_rows) if chosen_rows else np.empty(0, dtype=np.int64)
    opts = np.concatenate(chosen_option) if chosen_option else np.empty(0, dtype=np.int64)

    plan = order.iloc[rows].reset_index(drop=True)
    picked_options = options.iloc[opts].reset_index(drop=True)
    plan["package_id"] = picked_options["package_id"].to_numpy()
    plan["start_year"] = picked_options["start_year"].to_numpy().astype(np.int64)
    cols = np.array([column_of[p] for p in plan["package_id"]], dtype=np.int64)
    predicted = gain[rows, cols] if len(rows) else np.empty(0)
    plan["predicted_gain_yuan"] = np.where(np.isfinite(predicted), predicted, np.nan)
    if gains is None:
        plan["predicted_gain_yuan"] = np.nan

    if data is not None:
        cost_columns = ["cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan"]
        costs = data.options[[*_KEYS, *cost_columns]]
        plan = plan.merge(costs, on=_KEYS, how="left")
        plan = plan.merge(expected_exit_years(data), on=_KEYS, how="left")
    else:
        for column in ("cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan"):
            plan[column] = np.nan
        plan["expected_exit_year"] = pd.array([pd.NA] * len(plan), dtype="Int64")
    extra = ["helper_id"] if "helper_id" in plan.columns else []
    plan = plan[[*PLAN_COLUMNS, *extra]].sort_values("household_id", ignore_index=True)
    return plan
