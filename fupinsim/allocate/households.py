"""One household, one plan (plan §3): give the LP's quotas to specific households.

The LP decides how many households *of each type* get each package from each start year
(possibly fractional). :func:`assign_households` turns that into whole households:

1. **Round** (:func:`round_quotas`): per type, the number of supported households is the
   rounded sum of its quotas; each quota is floored and the missing units go to the largest
   remainders (largest-remainder method), so type totals are kept and no quota moves by a
   whole household or more.
2. **Assign**, best predicted gain first: within a type, options (package, start year) are
   served tightest first (fewest eligible households to spare), then by their mean predicted
   gain; each takes, among the eligible households still without a package, those with the
   highest predicted gain from *it* (ties: lower ``household_id``). A household is eligible
   for an option when the gains table has a prediction for it. Without predicted gains,
   everyone is eligible and households are taken in ``household_id`` order.

Loops run over types and packages only; households are handled as arrays.

Output (the microsimulation's plan input, with the contract's extra columns): ``household_id,
type_id, package_id, start_year, cost_fiscal_yuan, cost_credit_yuan, cost_household_yuan``
(yuan per household over the package's life), ``predicted_gain``, ``expected_exit_year``
(first year in which the type's yield with this package reaches 0.5; NA if never in the yield
years; a type-level expectation until the microsimulation replaces it), and ``helper_id`` when
the households table has it. The expected income path per household comes from simulating
the plan (``fupinsim.microsim``), not from here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from fupinsim.allocate.burden import base_package
from fupinsim.allocate.inputs import PreparedInputs
from fupinsim.errors import InputError, Problem

__all__ = [
    "BURDEN_PLAN_COLUMNS",
    "PLAN_COLUMNS",
    "QuotaWarning",
    "assign_households",
    "expected_exit_years",
    "plan_burden",
    "round_quotas",
    "timing_notes",
]

PLAN_COLUMNS: tuple[str, ...] = (
    "household_id",
    "type_id",
    "package_id",
    "start_year",
    "cost_fiscal_yuan",
    "cost_credit_yuan",
    "cost_household_yuan",
    "predicted_gain",
    "expected_exit_year",
)
_KEYS = ["type_id", "package_id", "start_year"]
#: Household-money columns :func:`plan_burden` adds to a plan (yuan; share of a year's income).
BURDEN_PLAN_COLUMNS: tuple[str, ...] = (
    "option_id",
    "household_income_yuan",
    "own_cash_yuan",
    "credit_yuan",
    "pools_topup_yuan",
    "term_income_yuan",
    "own_cash_share_of_income",
)


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
    households: pd.DataFrame, gains: pd.DataFrame | None, options: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted gain per household (rows, in ``households`` order) and option (columns).

    Returns the matrix and, for each row of ``options``, its column. Without ``gains`` every
    gain is 0; with them, a household without a gain for an option is not eligible for it
    (``-inf``).
    """
    by_start = gains is not None and "start_year" in gains.columns
    keys = ["package_id", "start_year"] if by_start else ["package_id"]
    columns = options[keys].drop_duplicates().reset_index(drop=True)
    position = columns.reset_index().merge(options[keys], on=keys, how="right")["index"]
    if gains is None:
        return np.zeros((len(households), len(columns))), position.to_numpy(dtype=np.int64)
    value = _gain_column(gains)
    wide = gains.pivot_table(index="household_id", columns=keys, values=value, aggfunc="mean")
    target = pd.MultiIndex.from_frame(columns) if by_start else pd.Index(columns["package_id"])
    wide = wide.reindex(index=households["household_id"], columns=target)
    matrix = wide.to_numpy(dtype=np.float64, na_value=-np.inf)
    return matrix, position.to_numpy(dtype=np.int64)


def _gain_column(gains: pd.DataFrame) -> str:
    for name in ("predicted_gain_yuan", "gain"):
        if name in gains.columns:
            return name
    raise InputError.single(
        "gains",
        sorted(gains.columns),
        "must have household_id, package_id, [start_year,] and predicted_gain_yuan or gain",
    )


class QuotaWarning(UserWarning):
    """Some quota could not be given: too few eligible households were left in the type."""


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
        ``household_id, package_id, [start_year,]`` and ``predicted_gain_yuan`` (yuan per
        year) or ``gain`` (rise in the probability of exit): the predicted gain of each
        household from each package (per start year when given). A household without a row
        for an option is not eligible for it. Optional: without gains every household is
        eligible and households are taken in ``household_id`` order.
    data:
        Prepared allocation inputs, for per-household costs and expected exit years
        (without it those columns are NaN / NA).

    Returns
    -------
    DataFrame
        One row per supported household, columns :data:`PLAN_COLUMNS` (+ ``helper_id``),
        sorted by ``household_id``. Households without a row get no new support.
        ``predicted_gain`` is in the unit of the gains given.

    Raises
    ------
    InputError
        Duplicate household ids, missing columns, or a type whose rounded quota exceeds its
        households in the table.

    Warns
    -----
    QuotaWarning
        When an option has fewer eligible households left than its quota (the rest of the
        quota stays unassigned). Options with the least room are served first to avoid it.
    """
    _check_tables(quotas, households)
    whole = round_quotas(quotas)
    order = households.sort_values(["type_id", "household_id"], kind="stable")
    order = order.reset_index(drop=True)
    gain, column_of_option = _gain_matrix(order, gains, whole)
    _check_type_sizes(order, whole)
    rows, opts, unfilled = _pick_households(order, whole, gain, column_of_option)
    if unfilled:
        warnings.warn(
            f"{unfilled} supported households of the quotas could not be assigned: too few "
            "eligible households were left in their types",
            QuotaWarning,
            stacklevel=2,
        )
    plan = order.iloc[rows].reset_index(drop=True)
    picked_options = whole.loc[opts].reset_index(drop=True)
    plan["package_id"] = picked_options["package_id"].to_numpy()
    plan["start_year"] = picked_options["start_year"].to_numpy().astype(np.int64)
    predicted = gain[rows, column_of_option[opts]] if len(rows) else np.empty(0)
    plan["predicted_gain"] = predicted if gains is not None else np.nan
    return _with_costs(plan, data)


def _check_tables(quotas: pd.DataFrame, households: pd.DataFrame) -> None:
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


def _check_type_sizes(order: pd.DataFrame, whole: pd.DataFrame) -> None:
    """Every type has at least as many households as its rounded quotas add up to."""
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


def _pick_households(
    order: pd.DataFrame, whole: pd.DataFrame, gain: np.ndarray, column_of_option: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows of ``order`` given an option, the option (row of ``whole``) and the unfilled count.

    Within a type, the tightest option first (least room for choice), then the highest mean
    gain; each takes the free eligible households with the highest gain from it.
    """
    # Households of a type are one contiguous block of `order`: [first, stop).
    type_ids = order["type_id"].astype(str).tolist()
    block_of: dict[str, tuple[int, int]] = {}
    for position, type_id in enumerate(type_ids):
        begin, _ = block_of.get(type_id, (position, position))
        block_of[type_id] = (begin, position + 1)

    chosen_rows: list[np.ndarray] = []
    chosen_option: list[np.ndarray] = []
    unfilled = 0
    for group_key, group in whole.groupby("type_id", sort=False):
        first, stop = block_of[str(group_key)]
        cols = column_of_option[group.index.to_numpy()]
        block = gain[first:stop][:, cols]
        eligible = np.isfinite(block)
        quota = group["households"].to_numpy(dtype=np.int64)
        room = eligible.sum(axis=0) - quota
        mean_gain = np.where(eligible, block, 0.0).sum(axis=0) / np.maximum(eligible.sum(0), 1)
        free = np.ones(stop - first, dtype=np.bool_)
        for i in np.lexsort((-mean_gain, room)):
            open_ = free & eligible[:, i]
            take = min(int(quota[i]), int(open_.sum()))
            unfilled += int(quota[i]) - take
            score = np.where(open_, block[:, i], -np.inf)
            # Stable sort on −score: highest gain first, then lower household_id.
            picked = np.argsort(-score, kind="stable")[:take]
            free[picked] = False
            chosen_rows.append(picked + first)
            chosen_option.append(np.full(take, group.index[i]))
    rows = np.concatenate(chosen_rows) if chosen_rows else np.empty(0, dtype=np.int64)
    opts = np.concatenate(chosen_option) if chosen_option else np.empty(0, dtype=np.int64)
    return rows, opts, unfilled


def _with_costs(plan: pd.DataFrame, data: PreparedInputs | None) -> pd.DataFrame:
    """Per-household costs and expected exit year from the prepared inputs (NaN/NA without)."""
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


def plan_burden(plan: pd.DataFrame, burden: pd.DataFrame) -> pd.DataFrame:
    """Each household's own money, credit and the pools' top-up; catalogue package ids.

    Parameters
    ----------
    plan:
        :func:`assign_households` output; ``package_id`` may be a topped-up option
        (``<package>_topup``).
    burden:
        :attr:`fupinsim.allocate.yields.ExitYields.burden` (per household and option).

    Returns
    -------
    DataFrame
        The plan with ``package_id`` the catalogue package (what the microsimulation runs),
        ``option_id`` the LP's option, :data:`BURDEN_PLAN_COLUMNS`, and ``cost_household_yuan``
        / ``cost_credit_yuan`` replaced by the household's own cash and credit (yuan).
        ``own_cash_share_of_income`` is own cash / yearly income (NaN at income ≤ 0).
    """
    keys = ["household_id", "package_id", "start_year"]
    values = [c for c in BURDEN_PLAN_COLUMNS if c in burden.columns]
    out = plan.merge(burden[[*keys, *values]], on=keys, how="left", validate="one_to_one")
    out["option_id"] = out["package_id"]
    out["package_id"] = [base_package(str(p)) for p in out["package_id"]]
    known = out["own_cash_yuan"].notna()
    out.loc[known, "cost_household_yuan"] = out.loc[known, "own_cash_yuan"]
    out.loc[known, "cost_credit_yuan"] = out.loc[known, "credit_yuan"]
    income = out["household_income_yuan"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(
            income > 0, out["own_cash_yuan"].to_numpy(dtype=np.float64) / income, np.nan
        )
    out["own_cash_share_of_income"] = share
    return out


def timing_notes(plan: pd.DataFrame) -> pd.DataFrame:
    """Explain support that starts after the household's expected exit year.

    Adds ``support_note``: empty when support starts by the expected exit year; otherwise
    why the LP still chose it. ``expected_exit_year`` is the first year the type's yield with
    the option reaches 0.5, and before the start year that yield is the baseline's: such a
    household is expected to exit without new support, and the option's gain is the rise in
    its probability of having exited (and of not returning) by the later target years, at the
    cost shown.
    """
    out = plan.copy()
    exit_year = out["expected_exit_year"].astype("Float64")
    late = (exit_year < out["start_year"]).fillna(False).to_numpy(dtype=bool)
    notes = np.full(len(out), "", dtype=object)
    notes[late] = [
        f"expected to exit by {int(y)} without new support; support from {int(s)} secures the "
        f"exit for the later targets (gain {g:.2f} in P(exited by the last target year))"
        for y, s, g in zip(
            exit_year[late], out["start_year"][late], out["predicted_gain"][late], strict=True
        )
    ]
    out["support_note"] = notes
    return out
