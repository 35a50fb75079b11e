"""Read a solved allocation model into the tables a planner uses.

Stage 3 of three. :func:`extract_results` works from the solution copied into the
:class:`~fupinsim.allocate.solve.SolveResult`, so it can re-solve the same problem for the
shortfall diagnostics without losing the plan.

Tables (money in yuan, households as LP quantities, i.e. possibly fractional)
------------------------------------------------------------------------------
``quotas``
    ``type_id, county_id, villages, package_id, start_year, households, fiscal_yuan,
    credit_yuan, household_yuan, pool_city_yuan, pool_county_yuan``: the plan per household
    type (input of :func:`fupinsim.allocate.assign_households`).
``allocation``
    The same summed over types: ``county_id, villages, year`` (start year), ``package_id,
    households, fiscal_yuan, credit_yuan, household_yuan, pool_city_yuan, pool_county_yuan``.
    The LP decides which pool pays per county and spend year; that split is shared out over
    the county's packages in proportion to their fiscal cost in the year.
``spending``
    ``pool, county_id, year, amount_yuan``: fiscal yuan each pool pays for each county.
``shortfall``
    One row per target: ``county_id, villages, year, target_exits, projected_exits,
    missing_exits, met, extra_yuan_to_close, extra_money_years, binding_resource, message``.
    ``projected_exits`` are the expected exits of the plan (yields × households, baseline
    included). For a missed target, ``extra_yuan_to_close`` is the least extra money in the
    county's own pool, in the years up to the target year, with which the re-optimised plan
    meets the target without missing any other target by more than now (an LP with the extra
    money as variables). If no amount of money helps, it is NaN and ``binding_resource`` names
    what binds: capacities (found by freeing them, with money unlimited) or ``exit_yield``
    (even unlimited money and capacity leave the group short).
``marginal_cost``
    ``county_id, villages, year, yuan_per_extra_exit, note``. ``min_cost``: the dual of the
    target row, the increase in least cost if the target asked for one more exit (≥ 0; 0 when
    the target is met anyway). A missed target is priced at the penalty, so it shows NaN with a
    note pointing to the shortfall table. ``max_exits`` does not price targets: NaN with a note
    (see ``money_value``).
``money_value``
    ``pool, year, objective_gain_per_extra_yuan, exits_per_extra_yuan, yuan_per_extra_exit``
    from the budget rows' duals (sign-corrected, ≥ 0). ``max_exits``: extra exits (by the last
    target year) per extra yuan arriving in the pool in that year, and its inverse.
    ``min_cost``: only the gain in objective (yuan of cost plus penalty) per extra yuan.
``unused_money``
    ``pool, year, amount_yuan``: money not spent by the end of the year (carried forward when
    carry-over is on, otherwise lapsed).
``goal_shortfall``
    One row per plan goal in the LP (:mod:`~fupinsim.allocate.goals`): ``goal, county_id,
    villages, year, unit, required, baseline, projected, short, met, dual, message``.
    ``immigrant_income``: yuan per person (required mean, baseline mean, the plan's expected
    mean, yuan per person short); ``village_exit``: people of poor households allowed to remain
    in the group's poor villages, remaining without and with the plan, people above the
    threshold. ``dual`` (``min_cost``): yuan of least cost per yuan-per-person more income
    asked, or per person fewer allowed to remain. ``message`` says it in planner terms.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pulp

from fupinsim.allocate.burden import base_package
from fupinsim.allocate.inputs import CITY_POOL, PreparedInputs, baseline_exits, option_gains
from fupinsim.allocate.model import AllocationModel
from fupinsim.allocate.resolve import HighsResolver
from fupinsim.allocate.solve import (
    SolveResult,
    SolveSettings,
    SolveStatus,
    solve_problem,
)

__all__ = [
    "MET_TOLERANCE",
    "AllocationResult",
    "ShortfallDiagnosis",
    "close_shortfall",
    "diagnostics_resolver",
    "extract_results",
    "group_name",
    "project_exits",
    "quota_costs",
    "target_table",
]

#: Missing exits below this (households) count as met: LP round-off, not a shortfall.
MET_TOLERANCE = 1e-6
_VILLAGE_WORDS = {"all": "", "immigrant": "immigrant villages", "old": "old villages"}


@dataclass(frozen=True)
class AllocationResult:
    """Everything the allocation produced (tables described in the module docstring).

    Attributes
    ----------
    objective:
        ``"min_cost"`` or ``"max_exits"``.
    solve:
        The main solve (status, solver, objective, seconds, gap).
    quotas, allocation, spending, shortfall, marginal_cost, money_value, unused_money,
    goal_shortfall:
        The tables.
    summary:
        Totals: fiscal, credit and household yuan, exits by the last target year, missing
        exits, targets missed, unused yuan, solver facts.
    """

    objective: str
    solve: SolveResult
    quotas: pd.DataFrame
    allocation: pd.DataFrame
    spending: pd.DataFrame
    shortfall: pd.DataFrame
    marginal_cost: pd.DataFrame
    money_value: pd.DataFrame
    unused_money: pd.DataFrame
    summary: Mapping[str, Any] = field(default_factory=dict)
    goal_shortfall: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by their output names (file stems of the pipeline)."""
        return {
            "allocation": self.allocation,
            "allocation_quotas": self.quotas,
            "spending": self.spending,
            "shortfall": self.shortfall,
            "marginal_cost": self.marginal_cost,
            "money_value": self.money_value,
            "unused_money": self.unused_money,
            "goal_shortfall": self.goal_shortfall,
        }


# ----------------------------------------------------------------------------------------------
# Plans as tables (shared with the factor baseline)


def quota_costs(data: PreparedInputs, quotas: pd.DataFrame) -> pd.DataFrame:
    """Add total costs by payer to quotas.

    Parameters
    ----------
    data:
        Prepared inputs.
    quotas:
        ``type_id, package_id, start_year, households``.

    Returns
    -------
    DataFrame
        ``quotas`` with ``county_id, villages, fiscal_yuan, credit_yuan, household_yuan``
        (households × per-household cost over the package's life).
    """
    keys = ["type_id", "package_id", "start_year"]
    merged = quotas[[*keys, "households"]].merge(data.options, on=keys, how="left")
    for payer in ("fiscal", "credit", "household"):
        merged[f"{payer}_yuan"] = merged["households"] * merged[f"cost_{payer}_yuan"]
    columns = [
        "type_id",
        "county_id",
        "villages",
        "package_id",
        "start_year",
        "households",
        "fiscal_yuan",
        "credit_yuan",
        "household_yuan",
    ]
    return merged[columns]


def project_exits(
    data: PreparedInputs, quotas: pd.DataFrame, years: list[int] | None = None
) -> pd.DataFrame:
    """Expected cumulative exits per target group and year under a plan.

    Parameters
    ----------
    data:
        Prepared inputs (types, yields, baseline).
    quotas:
        ``type_id, package_id, start_year, households`` (households may be fractional).
    years:
        Years to project; default the target years.

    Returns
    -------
    DataFrame
        ``county_id, villages, year, projected_exits`` (households): the baseline exits of
        every household plus households × (yield − baseline yield) of the plan.
    """
    years = years or sorted(int(y) for y in data.targets["year"].unique())
    base = baseline_exits(data)
    base = base[base["year"].isin(years)]
    gains = option_gains(data, years)
    keys = ["type_id", "package_id", "start_year"]
    plan = quotas[[*keys, "households"]].merge(gains, on=keys, how="inner")
    plan = plan.merge(data.types[["type_id", "county_id", "villages"]], on="type_id")
    plan["extra"] = plan["households"] * plan["gain"]
    extra = plan.groupby(["county_id", "villages", "year"], as_index=False)["extra"].sum()
    out = base.merge(extra, on=["county_id", "villages", "year"], how="left")
    out["projected_exits"] = out["baseline_exits"] + out["extra"].fillna(0.0)
    return out[["county_id", "villages", "year", "projected_exits"]].reset_index(drop=True)


def target_table(data: PreparedInputs, quotas: pd.DataFrame) -> pd.DataFrame:
    """Targets against a plan's expected exits.

    Parameters
    ----------
    data:
        Prepared inputs.
    quotas:
        ``type_id, package_id, start_year, households``.

    Returns
    -------
    DataFrame
        ``county_id, villages, year, target_exits, projected_exits, missing_exits, met``
        (households; missing below :data:`MET_TOLERANCE` counts as met).
    """
    table = data.targets.merge(
        project_exits(data, quotas), on=["county_id", "villages", "year"], how="left"
    )
    missing = (table["target_exits"] - table["projected_exits"]).clip(lower=0.0)
    table["missing_exits"] = missing.where(missing > MET_TOLERANCE, 0.0)
    table["met"] = table["missing_exits"] == 0.0
    return table.sort_values(["county_id", "villages", "year"], ignore_index=True)


def _pool_split(data: PreparedInputs, quotas: pd.DataFrame, pay: pd.DataFrame) -> pd.DataFrame:
    """City and county yuan per quota row, from the LP's pay split per county and spend year."""
    keys = ["type_id", "package_id", "start_year"]
    share = pay.pivot_table(
        index=["county_id", "year"], columns="source_pool", values="amount_yuan", aggfunc="sum"
    ).fillna(0.0)
    city = share.get("city", pd.Series(0.0, index=share.index))
    own = share.get("county", pd.Series(0.0, index=share.index))
    total = city + own
    city_share = (city / total.where(total > 0)).fillna(0.0).rename("city_share").reset_index()
    spend = data.spend.merge(quotas[[*keys, "households"]], on=keys, how="inner")
    spend = spend.merge(data.types[["type_id", "county_id"]], on="type_id")
    spend = spend.merge(
        city_share.rename(columns={"year": "spend_year"}),
        on=["county_id", "spend_year"],
        how="left",
    )
    spend["fiscal"] = spend["households"] * spend["cost_fiscal_yuan"]
    spend["pool_city_yuan"] = spend["fiscal"] * spend["city_share"].fillna(0.0)
    spend["pool_county_yuan"] = spend["fiscal"] - spend["pool_city_yuan"]
    return spend.groupby(keys, as_index=False)[["pool_city_yuan", "pool_county_yuan"]].sum()


def _allocation_table(quotas: pd.DataFrame) -> pd.DataFrame:
    values = [
        "households",
        "fiscal_yuan",
        "credit_yuan",
        "household_yuan",
        "pool_city_yuan",
        "pool_county_yuan",
    ]
    # Catalogue package ids; ``option_id`` keeps the LP's option (``<package>_topup``: the
    # pools pay what the households cannot bear).
    frame = quotas.rename(columns={"start_year": "year"})
    frame = frame.assign(
        option_id=frame["package_id"],
        package_id=[base_package(str(p)) for p in frame["package_id"]],
    )
    keys = ["county_id", "villages", "year", "package_id", "option_id"]
    table = frame.groupby(keys, as_index=False)[values].sum()
    return table.sort_values(keys, ignore_index=True)


# ----------------------------------------------------------------------------------------------
# Words for planners


def _county_name(county_id: str) -> str:
    """Short planner name of a county: ``guazhou`` → "Guazhou"."""
    return county_id.replace("_", " ").title()


def group_name(county_id: str, villages: str) -> str:
    """ "Guazhou County immigrant villages", "Dunhuang City"."""
    words = _VILLAGE_WORDS.get(villages, villages)
    return f"{_county_name(county_id)} {words}".strip()


def _money(amount: float) -> str:
    if amount >= 1e6:
        return f"{amount / 1e6:,.1f} million yuan"
    return f"{amount:,.0f} yuan"


def _years_phrase(years: list[int]) -> str:
    if not years:
        return ""
    if len(years) == 1:
        return f"in {years[0]}"
    if years == list(range(years[0], years[-1] + 1)):
        return f"in {years[0]}-{years[-1]}"
    return "in " + ", ".join(map(str, years[:-1])) + f" and {years[-1]}"


def _households(n: float) -> str:
    return "less than one household" if n < 0.5 else f"{n:,.0f} households"


# ----------------------------------------------------------------------------------------------
# Shortfall diagnostics


@dataclass(frozen=True)
class ShortfallDiagnosis:
    """How a missed target could be closed.

    Attributes
    ----------
    extra_yuan:
        Least extra money in the county's pool that closes it (NaN if money cannot).
    years:
        Years in which that money is needed (as late as possible).
    binding_resource:
        ``"money"``, capacity names (``"labour_transfer"``), or ``"exit_yield"``.
    capacity_needed:
        ``(resource, year) → extra units`` when a capacity binds.
    """

    extra_yuan: float
    years: tuple[int, ...]
    binding_resource: str
    capacity_needed: Mapping[tuple[str, int], float]


@contextmanager
def scratch_model(model: AllocationModel) -> Iterator[None]:
    """Restore every bound and the objective that a diagnostic changes."""
    touched = [
        *model.extra_money.values(),
        *model.extra_capacity.values(),
        *model.shortfall.values(),
    ]
    bounds = [(var, var.lowBound, var.upBound) for var in touched]
    try:
        yield
    finally:
        for var, low, up in bounds:
            var.lowBound, var.upBound = low, up
        model.problem.setObjective(model.objective_expression)


def diagnostics_resolver(
    model: AllocationModel, settings: SolveSettings | None = None
) -> HighsResolver | None:
    """The model's LP loaded once into HiGHS for the shortfall re-solves (``None``: use PuLP).

    ``None`` when the settings name CBC or highspy is missing: :func:`close_shortfall` then
    re-solves through PuLP with the chosen solver, as before.
    """
    settings = settings or SolveSettings()
    if settings.solver != "highs":
        return None
    try:
        return HighsResolver(model.problem, settings)
    except RuntimeError:
        return None


def diagnostic_solve(
    model: AllocationModel,
    objective: pulp.LpAffineExpression,
    settings: SolveSettings | None,
    resolver: HighsResolver | None,
) -> dict[str, float] | None:
    """Solve the model with ``objective`` and its current bounds: the values, or ``None``.

    Through ``resolver`` (one HiGHS model, only the diagnostics' columns and the costs
    changed, solved cold) when given; through PuLP when not, or when HiGHS stops at a limit or
    fails (PuLP's path checks such points and falls back to the other solver).
    """
    if resolver is not None:
        touched = [
            *model.extra_money.values(),
            *model.extra_capacity.values(),
            *model.shortfall.values(),
        ]
        status, values = resolver.solve(
            {var.name: (var.lowBound, var.upBound) for var in touched},
            {var.name: coef for var, coef in objective.items()},
        )
        if status is SolveStatus.OPTIMAL:
            return values
        if status in (SolveStatus.INFEASIBLE, SolveStatus.UNBOUNDED):
            return None
    model.problem.setObjective(objective)
    result = solve_problem(model.problem, settings, check=False)
    return dict(result.values) if result.status.is_ok else None


def close_shortfall(
    model: AllocationModel,
    key: tuple[str, str, int],
    missing: Mapping[tuple[str, str, int], float],
    settings: SolveSettings | None = None,
    resolver: HighsResolver | None = None,
) -> ShortfallDiagnosis:
    """Find the extra money (or the capacity) that would close one missed target.

    Parameters
    ----------
    model:
        The solved model (its bounds and objective are restored afterwards).
    key:
        ``(county_id, villages, year)`` of the missed target.
    missing:
        Missing exits of every target in the plan; no other target may miss by more.
    settings:
        Solver settings for the re-solves.
    resolver:
        The model loaded into HiGHS once (:func:`diagnostics_resolver`), for many diagnostics
        in a row; without it each re-solve goes through PuLP (same answers, slower).

    Returns
    -------
    ShortfallDiagnosis
        First: minimise extra money in the county's pool (years up to the target year, a
        tiny preference for later years) with this target forced to be met. If that is
        infeasible: money unlimited, minimise extra capacity relative to each capacity; the
        capacities that must grow bind. If that is infeasible too: ``exit_yield``.
    """
    county, _villages, year = key
    with scratch_model(model):
        for other, short in model.shortfall.items():
            short.upBound = 0.0 if other == key else float(missing.get(other, 0.0)) + 1e-6
        money_vars = [
            (y, var) for (pool, y), var in model.extra_money.items() if pool == county and y <= year
        ]
        for _y, var in money_vars:
            var.upBound = None
        # 1e-6 per year earlier: ties go to later years; amounts are unchanged.
        money_objective = pulp.LpAffineExpression(
            [(var, 1.0 + 1e-6 * (year - y)) for y, var in money_vars]
        )
        if money_vars:
            values = diagnostic_solve(model, money_objective, settings, resolver)
            if values is not None:
                amounts = {y: values[var.name] for y, var in money_vars}
                years = tuple(y for y, a in amounts.items() if a > 1e-6)
                return ShortfallDiagnosis(sum(amounts.values()), years, "money", {})

        caps = list(model.extra_capacity.items())
        for var in [var for _, var in caps]:
            var.upBound = None
        units = dict(
            zip(
                zip(model.data.capacity["resource"], model.data.capacity["year"], strict=True),
                model.data.capacity["units"],
                strict=True,
            )
        )
        capacity_objective = pulp.LpAffineExpression(
            [(var, 1.0 / max(1.0, float(units.get(k, 1.0)))) for k, var in caps]
        )
        if caps:
            values = diagnostic_solve(model, capacity_objective, settings, resolver)
            if values is not None:
                needed = {k: values[var.name] for k, var in caps}
                needed = {k: v for k, v in needed.items() if v > 1e-6}
                names = ", ".join(dict.fromkeys(r for r, _ in needed)) or "exit_yield"
                return ShortfallDiagnosis(math.nan, (), names, needed)
        return ShortfallDiagnosis(math.nan, (), "exit_yield", {})


def _message(
    county: str,
    villages: str,
    year: int,
    missing: float,
    diagnosis: ShortfallDiagnosis | None,
) -> str:
    who = group_name(county, villages)
    plural = villages != "all"  # "immigrant villages miss", "Dunhuang misses"
    if missing <= MET_TOLERANCE:
        return f"{who} {'meet' if plural else 'meets'} the {year} target."
    head = f"{who} {'miss' if plural else 'misses'} {year} by {_households(missing)}"
    if diagnosis is None:
        return head + "."
    if diagnosis.binding_resource == "money" and diagnosis.extra_yuan < 1.0:
        return (
            f"{head}; no extra money is needed: the money already in the pools would close it "
            "(the objective preferred other exits)."
        )
    if diagnosis.binding_resource == "money":
        return (
            f"{head}; {_money(diagnosis.extra_yuan)} more in {_county_name(county)}'s pool "
            f"{_years_phrase(list(diagnosis.years))} would close it."
        )
    if diagnosis.binding_resource == "exit_yield":
        return (
            f"{head}; neither money nor capacity closes it: even with every household on its "
            f"best package, too few are predicted to exit by {year}."
        )
    needs = ", ".join(
        f"{units:,.0f} more {resource} in {y}"
        for (resource, y), units in sorted(diagnosis.capacity_needed.items())
    )
    return (
        f"{head}; {diagnosis.binding_resource} capacity binds, money does not help "
        f"(it needs {needs})."
    )


# ----------------------------------------------------------------------------------------------
# Extraction


def extract_results(
    model: AllocationModel,
    solution: SolveResult,
    settings: SolveSettings | None = None,
    *,
    close_gaps: bool = True,
) -> AllocationResult:
    """Turn a solved model into the allocation tables.

    Parameters
    ----------
    model:
        The model that was solved.
    solution:
        The result of :func:`~fupinsim.allocate.solve_model` on it (must be OPTIMAL or
        FEASIBLE).
    settings:
        Solver settings for the shortfall re-solves (default: as :class:`SolveSettings()`).
    close_gaps:
        Compute ``extra_yuan_to_close`` and ``binding_resource`` for missed targets (one or
        two extra LP solves per missed target).

    Returns
    -------
    AllocationResult

    Raises
    ------
    ValueError
        If ``solution`` is not usable (its status is not ok).
    """
    # goal_results imports this module's helpers: imported here, not at the top.
    from fupinsim.allocate.goal_results import goal_penalty_yuan, goal_table  # noqa: PLC0415

    if not solution.status.is_ok:
        raise ValueError(f"cannot read results from a {solution.status.value} solve")
    quotas, pay = _quotas_and_payments(model, solution)
    spending = pay.loc[pay["amount_yuan"] > 1e-6, ["pool", "county_id", "year", "amount_yuan"]]
    spending = spending.reset_index(drop=True)
    unused_money = _unused_money(model, pay)
    shortfall = _shortfall_table(model, quotas, settings, close_gaps=close_gaps)
    return AllocationResult(
        objective=model.settings.objective,
        solve=solution,
        quotas=quotas,
        allocation=_allocation_table(quotas),
        spending=spending,
        shortfall=shortfall,
        marginal_cost=_marginal_cost(model, solution, shortfall),
        money_value=_money_value(model, solution),
        unused_money=unused_money,
        summary={
            **_summary(model, solution, quotas, shortfall, unused_money),
            "goal_penalty_yuan": goal_penalty_yuan(model, solution),
        },
        goal_shortfall=goal_table(
            model, solution, settings if close_gaps else None, diagnose=close_gaps
        ),
    )


def _quotas_and_payments(
    model: AllocationModel, solution: SolveResult
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quotas with their costs and pool split, and the payments by county, year and pool."""
    data = model.data
    values = solution.values
    quotas = pd.DataFrame(
        [(t, p, s, values[var.name]) for (t, p, s), var in model.x.items()],
        columns=["type_id", "package_id", "start_year", "households"],
    )
    quotas = quotas[quotas["households"] > 1e-9].reset_index(drop=True)
    pay = pd.DataFrame(
        [
            (county, year, pool, "city" if pool == CITY_POOL else "county", values[var.name])
            for (county, year, pool), var in model.pay.items()
        ],
        columns=["county_id", "year", "pool", "source_pool", "amount_yuan"],
    )
    quotas = quota_costs(data, quotas)
    split = _pool_split(data, quotas, pay)
    quotas = quotas.merge(split, on=["type_id", "package_id", "start_year"], how="left")
    quotas[["pool_city_yuan", "pool_county_yuan"]] = quotas[
        ["pool_city_yuan", "pool_county_yuan"]
    ].fillna(0.0)
    quotas = quotas.sort_values(["county_id", "villages", "type_id", "start_year", "package_id"])
    return quotas.reset_index(drop=True), pay


def _unused_money(model: AllocationModel, pay: pd.DataFrame) -> pd.DataFrame:
    """Money not spent: cumulative with carry-over, per year when money lapses (yuan)."""
    spent = pay.groupby(["pool", "year"])["amount_yuan"].sum()
    money = model.data.money.set_index(["pool", "year"])["amount_yuan"]
    unused = money.to_frame("arrived").join(spent.rename("spent")).fillna(0.0).reset_index()
    unused = unused.sort_values(["pool", "year"], ignore_index=True)
    left = unused["arrived"] - unused["spent"]
    if model.settings.carry_over:
        left = left.groupby(unused["pool"]).cumsum()
    unused["amount_yuan"] = left.clip(lower=0.0)
    return unused[["pool", "year", "amount_yuan"]]


def _shortfall_table(
    model: AllocationModel,
    quotas: pd.DataFrame,
    settings: SolveSettings | None,
    *,
    close_gaps: bool,
) -> pd.DataFrame:
    """Projected and missing exits per target, with what would close each gap."""
    shortfall = target_table(model.data, quotas)
    missing = {
        (str(c), str(v), int(y)): float(m)
        for c, v, y, m in shortfall[["county_id", "villages", "year", "missing_exits"]].itertuples(
            index=False
        )
    }
    extra, years_text, binding, messages = [], [], [], []
    resolver = None
    if close_gaps and any(gap > 0.0 for gap in missing.values()):
        resolver = diagnostics_resolver(model, settings)
    for key, gap in missing.items():
        diagnosis = None
        if gap > 0.0 and close_gaps:
            diagnosis = close_shortfall(model, key, missing, settings, resolver)
        extra.append(0.0 if gap == 0.0 else (diagnosis.extra_yuan if diagnosis else math.nan))
        years_text.append(
            " ".join(map(str, diagnosis.years)) if diagnosis and diagnosis.years else ""
        )
        binding.append(diagnosis.binding_resource if diagnosis else "")
        messages.append(_message(*key, gap, diagnosis))
    shortfall["extra_yuan_to_close"] = extra
    shortfall["extra_money_years"] = years_text
    shortfall["binding_resource"] = binding
    shortfall["message"] = messages
    return shortfall.sort_values(["county_id", "villages", "year"], ignore_index=True)


def _summary(
    model: AllocationModel,
    solution: SolveResult,
    quotas: pd.DataFrame,
    shortfall: pd.DataFrame,
    unused_money: pd.DataFrame,
) -> dict[str, Any]:
    """Totals of the allocation (yuan, households, exits) and the solver's facts."""
    data = model.data
    final = data.final_year
    final_exits = project_exits(data, quotas, [final])["projected_exits"].sum()
    return {
        "objective": model.settings.objective,
        "solver": solution.solver,
        "status": solution.status.value,
        "objective_value": solution.objective_value,
        "solve_seconds": solution.seconds,
        "fiscal_yuan": float(quotas["fiscal_yuan"].sum()),
        "credit_yuan": float(quotas["credit_yuan"].sum()),
        "household_yuan": float(quotas["household_yuan"].sum()),
        "households_supported": float(quotas["households"].sum()),
        f"exits_{final}": float(final_exits),
        "missing_exits": float(shortfall["missing_exits"].sum()),
        "targets_missed": int((~shortfall["met"]).sum()),
        "unused_yuan_at_end": float(
            unused_money.loc[unused_money["year"] == max(data.years), "amount_yuan"].sum()
        )
        if model.settings.carry_over
        else float(unused_money["amount_yuan"].sum()),
    }


def clip_sign(value: float, scale: float = 1.0) -> float:
    """Duals within solver tolerance of zero are zero (no '-0.000001 yuan per exit')."""
    return 0.0 if abs(value) <= 1e-9 * max(1.0, scale) else value


def _marginal_cost(
    model: AllocationModel, solution: SolveResult, shortfall: pd.DataFrame
) -> pd.DataFrame:
    rows = []
    penalty = model.settings.shortfall_penalty_yuan
    missed = {
        (c, v, y): not m
        for c, v, y, m in shortfall[["county_id", "villages", "year", "met"]].itertuples(
            index=False
        )
    }
    for key, row_name in model.target_rows.items():
        if model.settings.objective == "max_exits":
            rows.append((*key, math.nan, "max_exits does not price targets; see money_value"))
            continue
        if missed.get(key, False):
            rows.append((*key, math.nan, "target missed (priced at the penalty); see shortfall"))
            continue
        # Minimisation, >= row: the dual is d(least cost)/d(target) >= 0.
        dual = max(0.0, clip_sign(solution.dual(row_name), penalty))
        note = "met without extra cost" if dual == 0.0 else ""
        rows.append((*key, dual, note))
    table = pd.DataFrame(
        rows, columns=["county_id", "villages", "year", "yuan_per_extra_exit", "note"]
    )
    return table.sort_values(["county_id", "villages", "year"], ignore_index=True)


def _money_value(model: AllocationModel, solution: SolveResult) -> pd.DataFrame:
    rows = []
    is_max = model.settings.objective == "max_exits"
    for (pool, year), row_name in model.budget_rows.items():
        # Minimisation, <= row: the dual is <= 0; more money lowers the objective by -dual.
        gain = max(0.0, -clip_sign(solution.dual(row_name), 1e-3))
        exits = gain if is_max else math.nan
        per_exit = (1.0 / gain if gain > 0 else math.nan) if is_max else math.nan
        rows.append((pool, year, gain, exits, per_exit))
    return pd.DataFrame(
        rows,
        columns=[
            "pool",
            "year",
            "objective_gain_per_extra_yuan",
            "exits_per_extra_yuan",
            "yuan_per_extra_exit",
        ],
    )
