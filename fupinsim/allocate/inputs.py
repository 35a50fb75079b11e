"""Inputs of the allocation: the tables it takes, checked and brought into shape.

:class:`AllocationInputs` holds plain tables (all money in yuan); :func:`prepare_inputs` checks
them and returns :class:`PreparedInputs`, which :func:`~fupinsim.allocate.model.build_model`,
the results and the factor baseline share.

``yields``
    ``type_id, county_id, villages, n_households, package_id, start_year, year, exit_prob``:
    the expected share (0-1) of the type's households that have exited by the end of ``year``
    if they get ``package_id`` from ``start_year``. Package ``"none"`` (no new support; its
    ``start_year`` is ignored) gives the baseline exits; households left without a package keep
    the baseline yields, so they still count toward the targets. ``villages`` is the target
    group the type belongs to: ``all``, or ``immigrant`` / ``old`` in Yumen and Guazhou. Extra
    type columns (``is_immigrant``, ``labour_class``, ``income_band``) are carried along.
    An optional ``n_eligible`` column (households of the type the package fits) bounds how
    many of the type may get that package; without it, all may.
``package_costs`` (optional; if omitted, the cost columns are taken from ``yields``)
    ``[type_id,] package_id, start_year, [spend_year,] cost_fiscal_yuan, cost_credit_yuan,
    cost_household_yuan`` in yuan **per household**. Without ``type_id`` a row applies to every
    type. Without ``spend_year`` the whole cost falls in the start year; with it, each row is
    the part paid in that year (a package may have several rows; rows for the same year add).
``funding``
    ``pool, [source,] year, amount_yuan``: money arriving in a pool in a year (the table of
    :func:`fupinsim.funding.build_funding`). A county pool pays only for its county's
    households; the ``city`` pool pays for any.
``targets``
    ``county_id, villages, year, target_exits``: cumulative households of the group that must
    have exited by the end of ``year``.
``capacity_use`` and ``capacity`` (optional)
    ``package_id, resource, units_per_household`` and ``resource, year, units`` (city-wide per
    year). A package uses its units in its start year. The resource ``credit_yuan`` is built
    in: when ``capacity`` lists it and ``capacity_use`` does not, each household uses its
    package's ``cost_credit_yuan`` in the spend year. A resource without capacity rows is
    unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from fupinsim.allocate.checks import bad_ids, bad_range, missing_columns
from fupinsim.allocate.goal_inputs import GOAL_COLUMNS, GOAL_NAMES, check_goals, empty_goals
from fupinsim.errors import InputError, Problem

__all__ = [
    "CITY_POOL",
    "CREDIT_RESOURCE",
    "GOAL_COLUMNS",
    "GOAL_NAMES",
    "PACKAGE_NONE",
    "TYPE_ATTRIBUTES",
    "VILLAGES",
    "AllocationInputs",
    "PreparedInputs",
    "baseline_exits",
    "empty_goals",
    "option_gains",
    "prepare_inputs",
]

#: The package id of "no new support" (baseline yields).
PACKAGE_NONE = "none"
#: The municipal pool's id (kept equal to :data:`fupinsim.funding.CITY_POOL`).
CITY_POOL = "city"
#: Built-in resource: credit volume in yuan, used through the packages' ``cost_credit_yuan``.
CREDIT_RESOURCE = "credit_yuan"
VILLAGES = ("all", "immigrant", "old")

_TYPE_COLUMNS = ("type_id", "county_id", "villages", "n_households")
_YIELD_COLUMNS = (*_TYPE_COLUMNS, "package_id", "start_year", "year", "exit_prob")
_COST_VALUES = ("cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan")
_COST_COLUMNS = ("package_id", "start_year", *_COST_VALUES)
_TARGET_COLUMNS = ("county_id", "villages", "year", "target_exits")
_FUNDING_COLUMNS = ("pool", "year", "amount_yuan")
_CAPACITY_USE_COLUMNS = ("package_id", "resource", "units_per_household")
_CAPACITY_COLUMNS = ("resource", "year", "units")
#: Optional type attributes passed through to the results.
TYPE_ATTRIBUTES = ("is_immigrant", "labour_class", "income_band")


@dataclass(frozen=True)
class AllocationInputs:
    """What the allocation needs, as plain tables (see the module docstring for columns).

    Attributes
    ----------
    yields:
        Exit yields per type, package, start year and year (shares 0-1), baseline ``none``
        included.
    funding:
        Money arriving per pool and year (yuan); a ``source`` column is allowed and summed.
    targets:
        Cumulative exit targets per county, villages group and year (households).
    package_costs:
        Per-household costs by payer (yuan); ``None`` takes them from ``yields``.
    capacity_use:
        Units of each resource one household's package uses (in its start year).
    capacity:
        City-wide units of each resource per year.
    goals:
        The plan's goals beyond exit counts (:data:`GOAL_COLUMNS`, from
        :func:`fupinsim.allocate.goals.plan_goal_table`); ``None``: exit targets only. The
        option's ``income_gain_yuan`` (yields column, yuan per household in the goal year)
        and the type's ``poor_village_people`` (people per household in poor villages) steer
        them; absent columns count as 0.
    """

    yields: pd.DataFrame
    funding: pd.DataFrame
    targets: pd.DataFrame
    package_costs: pd.DataFrame | None = None
    capacity_use: pd.DataFrame | None = None
    capacity: pd.DataFrame | None = None
    goals: pd.DataFrame | None = None


@dataclass(frozen=True)
class PreparedInputs:
    """Validated, normalised inputs (what :func:`build_model` and the results use).

    Attributes
    ----------
    types:
        One row per type: ``type_id, county_id, villages, n_households`` (+ attributes).
    options:
        One row per (type, package ≠ none, start year): ``type_id, package_id, start_year,
        n_eligible, county_id, villages`` and total per-household costs ``cost_*_yuan``.
    spend:
        Fiscal and credit cost per household by spend year: ``type_id, package_id,
        start_year, spend_year, cost_fiscal_yuan, cost_credit_yuan``.
    yields:
        ``type_id, package_id, start_year, year, exit_prob`` for packages, and the baseline
        with ``package_id == "none"`` and ``start_year == 0``.
    baseline:
        ``type_id, year, exit_prob`` of the ``none`` package.
    targets:
        ``county_id, villages, year, target_exits`` (float).
    money:
        ``pool, year, amount_yuan`` for every pool (``city`` and each county with types) and
        funding year.
    years:
        Funding (spending) years, ascending.
    capacity:
        ``resource, year, units``; ``capacity_use``: ``package_id, resource,
        units_per_household``.
    """

    types: pd.DataFrame
    options: pd.DataFrame
    spend: pd.DataFrame
    yields: pd.DataFrame
    baseline: pd.DataFrame
    targets: pd.DataFrame
    money: pd.DataFrame
    years: tuple[int, ...]
    capacity: pd.DataFrame
    capacity_use: pd.DataFrame
    goals: pd.DataFrame = field(default_factory=empty_goals)

    @property
    def counties(self) -> list[str]:
        """County ids that have household types, in order of first appearance."""
        return list(dict.fromkeys(self.types["county_id"]))

    @property
    def final_year(self) -> int:
        """The last target year (``max_exits`` counts exits by the end of it)."""
        return int(self.targets["year"].max())


# ----------------------------------------------------------------------------------------------
# Validation


def _costs_from_yields(yields: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    missing = [c for c in _COST_VALUES if c not in yields.columns]
    if missing:
        return pd.DataFrame(), [
            Problem(
                "package_costs",
                None,
                "must be given, or yields must carry the columns " + ", ".join(_COST_VALUES),
            )
        ]
    keys = ["type_id", "package_id", "start_year"]
    extra = ["spend_year"] if "spend_year" in yields.columns else []
    rows = yields.loc[yields["package_id"] != PACKAGE_NONE, keys + extra + list(_COST_VALUES)]
    costs = rows.drop_duplicates()
    if costs.duplicated(keys + extra).any():
        return costs, [
            Problem(
                "yields, cost columns",
                None,
                "must be the same in every year row of a type, package and start year",
            )
        ]
    return costs, []


Checked = tuple[pd.DataFrame, list[Problem]]
_KEYS = ["type_id", "package_id", "start_year"]


def _check_columns(inputs: AllocationInputs) -> None:
    """Every table has its columns (raises at once: nothing else can be checked without them)."""
    problems: list[Problem] = []
    problems += missing_columns(inputs.yields, "yields", _YIELD_COLUMNS)
    problems += missing_columns(inputs.targets, "targets", _TARGET_COLUMNS)
    problems += missing_columns(inputs.funding, "funding", _FUNDING_COLUMNS)
    if inputs.package_costs is not None:
        problems += missing_columns(inputs.package_costs, "package_costs", _COST_COLUMNS)
    if inputs.capacity_use is not None and inputs.capacity is None:
        problems.append(
            Problem("capacity", None, "must be given when capacity_use is given (or drop both)")
        )
    if inputs.capacity_use is not None:
        problems += missing_columns(inputs.capacity_use, "capacity_use", _CAPACITY_USE_COLUMNS)
    if inputs.capacity is not None:
        problems += missing_columns(inputs.capacity, "capacity", _CAPACITY_COLUMNS)
    if problems:
        raise InputError(problems, summary="allocation inputs: columns missing")


def _check_values(inputs: AllocationInputs) -> list[Problem]:
    """Ids that can be PuLP names, shares in 0-1, non-negative amounts, known village groups."""
    y = inputs.yields
    problems: list[Problem] = []
    problems += bad_ids(y["type_id"], "yields, column type_id")
    problems += bad_ids(y["package_id"], "yields, column package_id")
    problems += bad_ids(y["county_id"], "yields, column county_id")
    problems += bad_ids(inputs.funding["pool"], "funding, column pool")
    if (y["county_id"] == CITY_POOL).any():
        problems.append(
            Problem("yields, column county_id", CITY_POOL, "'city' is the city pool, not a county")
        )
    problems += bad_range(y["exit_prob"], "yields, column exit_prob", 0.0, 1.0)
    problems += bad_range(y["n_households"], "yields, column n_households", 0.0)
    problems += bad_range(inputs.targets["target_exits"], "targets, column target_exits", 0.0)
    problems += bad_range(inputs.funding["amount_yuan"], "funding, column amount_yuan", 0.0)
    bad_villages = sorted(set(y["villages"]) - set(VILLAGES))
    if bad_villages:
        problems.append(
            Problem("yields, column villages", bad_villages, f"must be one of {VILLAGES}")
        )
    return problems


def _types_table(yields: pd.DataFrame) -> Checked:
    """One row per type: ``type_id, county_id, villages, n_households`` (+ attributes)."""
    attributes = [c for c in (*TYPE_ATTRIBUTES, "poor_village_people") if c in yields.columns]
    types = yields[list(_TYPE_COLUMNS) + attributes].drop_duplicates()
    doubled = types["type_id"][types["type_id"].duplicated()].unique().tolist()
    if not doubled:
        return types, []
    return types, [
        Problem(
            "yields, column type_id",
            doubled[:5],
            "each type must have one county_id, villages and n_households in every row",
        )
    ]


def _costs_table(inputs: AllocationInputs) -> Checked:
    """Per-household costs by payer (given, or taken from ``yields``), before their checks."""
    if inputs.package_costs is None:
        return _costs_from_yields(inputs.yields)
    return inputs.package_costs.copy(), []


def _check_costs(costs: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    for column in _COST_VALUES:
        problems += bad_range(costs[column], f"package_costs, column {column}", 0.0)
    problems += bad_ids(costs["package_id"], "package_costs, column package_id")
    if (costs["package_id"] == PACKAGE_NONE).any():
        problems.append(
            Problem(
                "package_costs, column package_id",
                PACKAGE_NONE,
                "'none' is no new support and has no cost; remove its rows",
            )
        )
    return problems


def _yield_tables(
    yields: pd.DataFrame, types: pd.DataFrame, target_years: list[int]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[Problem]]:
    """Package yields, baseline (``none``) yields and the options, each checked.

    Returns ``(package_yields, baseline, options, problems)``: ``options`` is one row per
    (type, package, start year), with ``n_eligible`` when the yields give it.
    """
    problems: list[Problem] = []
    yy = yields[["type_id", "package_id", "start_year", "year", "exit_prob"]].copy()
    if "income_gain_yuan" in yields.columns:
        yy["income_gain_yuan"] = pd.to_numeric(yields["income_gain_yuan"], errors="coerce")
    if "n_eligible" in yields.columns:
        yy["n_eligible"] = pd.to_numeric(yields["n_eligible"], errors="coerce")
        offered = yy.loc[yy["package_id"] != PACKAGE_NONE, "n_eligible"]
        problems += bad_range(offered, "yields, column n_eligible", 0.0)
    yy["year"] = yy["year"].astype("int64")
    yy["exit_prob"] = yy["exit_prob"].astype("float64")
    is_none = yy["package_id"] == PACKAGE_NONE
    baseline = yy.loc[is_none, ["type_id", "year", "exit_prob"]]
    if baseline.duplicated(["type_id", "year"]).any():
        problems.append(
            Problem("yields", None, "package 'none' must have one row per type and year")
        )
    package_yields = yy.loc[~is_none].copy()
    package_yields["start_year"] = package_yields["start_year"].astype("int64")
    if package_yields.duplicated([*_KEYS, "year"]).any():
        problems.append(
            Problem("yields", None, "must have one row per type, package, start year and year")
        )
    problems += _missing_baseline(baseline, types, target_years)
    options = package_yields[_KEYS].drop_duplicates().reset_index(drop=True)
    if "n_eligible" in package_yields.columns:
        eligible = package_yields.groupby(_KEYS)["n_eligible"].max().reset_index()
        options = options.merge(eligible, on=_KEYS, how="left")
    if "income_gain_yuan" in package_yields.columns:
        gain = package_yields.groupby(_KEYS)["income_gain_yuan"].max().reset_index()
        options = options.merge(gain, on=_KEYS, how="left")
    counted = (
        package_yields[package_yields["year"].isin(target_years)]
        .groupby(_KEYS)["year"]
        .nunique()
        .reindex(pd.MultiIndex.from_frame(options), fill_value=0)
    )
    if (counted.to_numpy() < len(target_years)).any():
        short = counted[counted < len(target_years)].index[:3].tolist()
        problems.append(
            Problem(
                "yields",
                short,
                f"every package option needs a row for each target year {target_years}",
            )
        )
    return package_yields, baseline, options, problems


def _missing_baseline(
    baseline: pd.DataFrame, types: pd.DataFrame, target_years: list[int]
) -> list[Problem]:
    needed_years = pd.DataFrame({"year": target_years})
    have_base = baseline.merge(needed_years, on="year")
    missing_base = set(types["type_id"]) - set(
        have_base.groupby("type_id")["year"].nunique().loc[lambda s: s == len(target_years)].index
    )
    if not missing_base:
        return []
    return [
        Problem(
            "yields",
            sorted(missing_base)[:5],
            f"every type needs 'none' (baseline) rows for each target year {target_years}",
        )
    ]


def _spend_table(costs: pd.DataFrame, options: pd.DataFrame) -> Checked:
    """Costs per option and spend year (broadcast over types when costs have no type_id)."""
    costs = costs.copy()
    costs["start_year"] = costs["start_year"].astype("int64")
    if "spend_year" not in costs.columns:
        costs["spend_year"] = costs["start_year"]
    costs["spend_year"] = costs["spend_year"].astype("int64")
    if "type_id" in costs.columns:
        spend = options.merge(costs, on=_KEYS, how="left")
    else:
        spend = options.merge(costs, on=["package_id", "start_year"], how="left")
    no_cost = spend[spend["cost_fiscal_yuan"].isna()]
    if not len(no_cost):
        return spend, []
    return spend, [
        Problem(
            "package_costs",
            no_cost[_KEYS].head(3).to_dict("records"),
            "must give the costs of every package option that has yields",
        )
    ]


def _money_table(
    funding: pd.DataFrame, types: pd.DataFrame, spend: pd.DataFrame
) -> tuple[pd.DataFrame, tuple[int, ...], list[Problem]]:
    """Money per pool and funding year (every pool and year, 0 where none arrives)."""
    problems: list[Problem] = []
    money = (
        funding.groupby(["pool", "year"])["amount_yuan"]
        .sum()
        .reset_index()
        .astype({"year": "int64", "amount_yuan": "float64"})
    )
    years = tuple(sorted(int(v) for v in money["year"].unique()))
    county_ids = list(dict.fromkeys(types["county_id"]))
    pools = [CITY_POOL, *county_ids]
    unknown_pools = sorted(set(money["pool"]) - set(pools))
    if unknown_pools:
        problems.append(
            Problem(
                "funding, column pool",
                unknown_pools,
                f"must be 'city' or a county with households ({', '.join(county_ids)})",
            )
        )
    full = pd.MultiIndex.from_product([pools, list(years)], names=["pool", "year"])
    money = (
        money.set_index(["pool", "year"])
        .reindex(full, fill_value=0.0)
        .reset_index()[["pool", "year", "amount_yuan"]]
    )
    outside = sorted(set(spend["spend_year"].dropna().astype(int)) - set(years))
    if outside:
        problems.append(
            Problem(
                "package_costs, column spend_year",
                outside,
                f"must be a funding year ({', '.join(map(str, years))}): money is spent only then",
                fix="Spread costs over funding years or extend funding.last_year.",
            )
        )
    return money, years, problems


def _targets_table(targets: pd.DataFrame, types: pd.DataFrame) -> Checked:
    """Targets as floats; every group must have types, one row per group and year."""
    problems: list[Problem] = []
    targets = targets[list(_TARGET_COLUMNS)].copy()
    targets["year"] = targets["year"].astype("int64")
    targets["target_exits"] = targets["target_exits"].astype("float64")
    groups = set(zip(types["county_id"], types["villages"], strict=True))
    orphan = sorted(
        {(c, v) for c, v in zip(targets["county_id"], targets["villages"], strict=True)} - groups
    )
    if orphan:
        problems.append(
            Problem(
                "targets",
                orphan[:5],
                "every target group (county_id, villages) must have household types in yields",
            )
        )
    if targets.duplicated(["county_id", "villages", "year"]).any():
        problems.append(Problem("targets", None, "one row per county_id, villages and year"))
    return targets, problems


def _capacity_tables(
    inputs: AllocationInputs,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Problem]]:
    """``capacity`` and ``capacity_use`` (empty tables when not given), checked."""
    problems: list[Problem] = []
    if inputs.capacity is not None:
        capacity = inputs.capacity[list(_CAPACITY_COLUMNS)].astype({"year": "int64"})
        capacity = capacity.astype({"units": "float64"})
        problems += bad_range(capacity["units"], "capacity, column units", 0.0)
        problems += bad_ids(capacity["resource"], "capacity, column resource")
    else:
        capacity = pd.DataFrame({"resource": [], "year": [], "units": []})
    if inputs.capacity_use is not None:
        use = inputs.capacity_use[list(_CAPACITY_USE_COLUMNS)].astype(
            {"units_per_household": "float64"}
        )
        problems += bad_range(use["units_per_household"], "capacity_use, units_per_household", 0)
        problems += bad_ids(use["resource"], "capacity_use, column resource")
    else:
        use = pd.DataFrame({"package_id": [], "resource": [], "units_per_household": []})
    return capacity, use, problems


def _options_table(options: pd.DataFrame, types: pd.DataFrame, spend: pd.DataFrame) -> pd.DataFrame:
    """Options with their group, eligible households and total per-household costs."""
    totals = spend.groupby(_KEYS, as_index=False)[list(_COST_VALUES)].sum()
    table = options.merge(
        types[["type_id", "county_id", "villages", "n_households"]], on="type_id", how="left"
    ).merge(totals, on=_KEYS, how="left")
    # Households of the type a package fits: all of them unless yields say otherwise.
    if "n_eligible" not in table.columns:
        table["n_eligible"] = table["n_households"]
    table["n_eligible"] = table[["n_eligible", "n_households"]].min(axis=1)
    return table.drop(columns="n_households")


def prepare_inputs(inputs: AllocationInputs) -> PreparedInputs:
    """Check the input tables and bring them into the shapes the LP needs.

    One function per input table (types, costs, yields, spend, money, targets, capacity)
    checks and shapes it; every problem found is reported together.

    Raises
    ------
    InputError
        With every problem found: missing columns, ids that cannot be PuLP names, shares out of
        0-1, negative costs or households, a type in two groups, packages without costs or
        without yields in a target year, targets for a group without types, or costs falling
        in a year without funding.
    """
    _check_columns(inputs)
    problems = _check_values(inputs)
    types, type_problems = _types_table(inputs.yields)
    costs, cost_problems = _costs_table(inputs)
    problems += type_problems + cost_problems
    if problems:
        raise InputError(problems, summary="allocation inputs are not usable")
    problems += _check_costs(costs)
    types = types.astype({"n_households": "float64"}).reset_index(drop=True)
    target_years = sorted(int(v) for v in inputs.targets["year"].unique())
    package_yields, baseline, options, yield_problems = _yield_tables(
        inputs.yields, types, target_years
    )
    spend, spend_problems = _spend_table(costs, options)
    money, years, money_problems = _money_table(inputs.funding, types, spend)
    targets, target_problems = _targets_table(inputs.targets, types)
    capacity, use, capacity_problems = _capacity_tables(inputs)
    goals, goal_problems = check_goals(inputs.goals, types)
    problems += (
        yield_problems
        + spend_problems
        + money_problems
        + target_problems
        + capacity_problems
        + goal_problems
    )
    if problems:
        raise InputError(problems, summary="allocation inputs are not usable")
    return PreparedInputs(
        types=types,
        options=_options_table(options, types, spend),
        spend=spend[[*_KEYS, "spend_year", "cost_fiscal_yuan", "cost_credit_yuan"]].reset_index(
            drop=True
        ),
        yields=package_yields.reset_index(drop=True),
        baseline=baseline.reset_index(drop=True),
        targets=targets.reset_index(drop=True),
        money=money,
        years=years,
        capacity=capacity.reset_index(drop=True),
        capacity_use=use.reset_index(drop=True),
        goals=goals,
    )


def option_gains(data: PreparedInputs, years: list[int]) -> pd.DataFrame:
    """Exit yield of each option minus the type's baseline, for the given years.

    Returns
    -------
    DataFrame
        ``type_id, package_id, start_year, year, gain`` (share of the type's households).
    """
    rows = data.yields[data.yields["year"].isin(years)]
    merged = rows.merge(
        data.baseline.rename(columns={"exit_prob": "base"}), on=["type_id", "year"], how="left"
    )
    merged["gain"] = merged["exit_prob"] - merged["base"]
    return merged[["type_id", "package_id", "start_year", "year", "gain"]]


def baseline_exits(data: PreparedInputs) -> pd.DataFrame:
    """Exits per target group and year if no household got a package.

    Returns
    -------
    DataFrame
        ``county_id, villages, year, baseline_exits`` (households).
    """
    base = data.baseline.merge(data.types, on="type_id")
    base["baseline_exits"] = base["exit_prob"] * base["n_households"]
    return base.groupby(["county_id", "villages", "year"])["baseline_exits"].sum().reset_index()
