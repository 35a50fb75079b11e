"""The living registry of a run (issue 10, item 4): who is registered each year after 2014.

The final projection simulates every household, but keeps per-household paths only for the
registered. The candidate pool (the villages' households never registered) is simulated here
with the same engine API (:func:`fupinsim.microsim.engine.prepare_population`,
:func:`~fupinsim.microsim.engine.run_prepared`) and the same random streams, under no household
support but with the villages' works, as in the final projection; then
:func:`fupinsim.registry.living.living_registry` adjusts the registry year by year. Targets stay
on the base-year registry (the plan's). Entrants then get plans by the base registry's rules
from the money the plan left unspent (:func:`fupinsim.allocate.entrants.plan_entrants`); the
planned entrants are simulated again with their packages (the same draws, so their incomes
before the start year do not change and neither does who enters) and the registry adjusted
again with those incomes: their exits follow from their plans (docs/living_registry.md).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TypeVar

import numpy as np
import pandas as pd

from fupinsim import data
from fupinsim.allocate.burden import TOPUP_SUFFIX
from fupinsim.allocate.entitlements import plan_add_ons
from fupinsim.allocate.entrants import plan_entrants
from fupinsim.microsim.engine import prepare_plan, prepare_population, run_prepared
from fupinsim.microsim.kernel import Field
from fupinsim.microsim.plans import compile_plan
from fupinsim.microsim.population import build_population
from fupinsim.microsim.results import SimulationResult
from fupinsim.pipeline.results import RunTables
from fupinsim.pipeline.stages import RegistryStage
from fupinsim.registry.living import (
    AGED_COLUMNS,
    LivingRegistry,
    age_members,
    living_registry,
)

__all__ = [
    "ENTRY_COLUMNS",
    "aged_incomes",
    "base_plan_table",
    "candidate_incomes",
    "entrant_plan_rows",
    "living_registry_stage",
    "with_entrant_plans",
    "with_living_registry",
]

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=RunTables)


def _replications() -> int:
    raw = data.plain(data.load_raw("living_registry"))
    return int(raw["identification"]["candidate_replications"])


def _no_plan() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": pd.Series(dtype=np.int64),
            "package_id": pd.Series(dtype=str),
            "start_year": pd.Series(dtype=np.int64),
        }
    )


def candidate_incomes(
    setup: RegistryStage,
    candidates: pd.DataFrame,
    replications: int | None = None,
    plan: pd.DataFrame | None = None,
    n_years: int | None = None,
) -> np.ndarray:
    """Mean simulated per-capita net income ``(years, candidates)`` (yuan per person, columns
    in ``candidates`` order), with the villages' works and ``plan`` (``household_id,
    package_id, start_year``; default no household support). One run over the whole pool, one
    thread: the draws are keyed by household id, so the result does not depend on how it is
    cut. ``n_years``: simulate only the first ``n_years`` years (the kernel's years are
    simulated in order, so those years' incomes are the same as in the whole run)."""
    scenario = setup.scenario
    n_years = n_years or len(scenario.years)
    if not len(candidates):
        return np.zeros((n_years, 0))
    reps = replications or _replications()
    population = build_population(candidates, setup.registry.villages)
    plan = _no_plan() if plan is None else plan
    compiled = compile_plan(
        population, plan, setup.catalogue, scenario, setup.village_plan, validate=False
    )
    dtype = np.float32 if scenario.microsim.float32 else np.float64
    prepared = prepare_population(population, scenario)
    prepared = dataclasses.replace(
        prepared, years=np.ascontiguousarray(prepared.years[:, :n_years])
    )
    arrays = prepare_plan(compiled, population, scenario, dtype)
    result = run_prepared(prepared, arrays, range(reps), 0, population.n, village_sums=False)
    column = pd.Index(population.household_id).get_indexer(candidates["household_id"])
    return np.asarray(result.household_income, dtype=float)[:, column] / reps


def _inputs(
    setup: RegistryStage, households: pd.DataFrame, planned: np.ndarray
) -> tuple[np.ndarray, ...]:
    """What a household's simulated income depends on that ageing can change: the kernel's
    tables (numbers, flags; rows in the population's order), the position of each of
    ``households`` in them, and the aged columns of the ``planned`` households (their
    packages' effects may count members; without a plan only the villages' works apply, by
    village), zero for the others."""
    population = build_population(households, setup.registry.villages)
    prepared = prepare_population(population, setup.scenario)
    row = pd.Index(population.household_id).get_indexer(households["household_id"])
    counts = households.reindex(columns=list(AGED_COLUMNS)).to_numpy(dtype=float)
    counts[~planned] = 0.0
    return prepared.numbers, prepared.flags, row, counts


def _equal(x: tuple[np.ndarray, ...], y: tuple[np.ndarray, ...]) -> np.ndarray:
    """Whether each household's :func:`_inputs` are the same in ``x`` and ``y`` (in the
    households' order), but for the schooling cost: it enters only the income after rigid
    spending (the at-risk test), not the net income :func:`candidate_incomes` returns."""
    if not np.array_equal(x[2], y[2]):
        raise ValueError("the households' kernel rows moved between years")
    numbers = x[0] == y[0]
    numbers[:, Field.SCHOOL] = True
    same = numbers.all(axis=1) & (x[1] == y[1]).all(axis=1)
    return np.asarray(same[x[2]] & (x[3] == y[3]).all(axis=1))


def _segments(
    same_base: np.ndarray, same_last: np.ndarray
) -> dict[int, list[tuple[int, np.ndarray]]]:
    """Years of constant aged inputs that differ from the base year's, by the year they end:
    ``{end: [(start, households), ...]}`` (positions). ``same_base[t]``, ``same_last[t]``
    ``(years, households)``: year ``t``'s inputs equal the base year's, the year before's."""
    n_years, n = same_base.shape
    start = np.full(n, -1, dtype=np.int64)
    out: dict[int, list[tuple[int, np.ndarray]]] = {}
    for t in range(1, n_years + 1):
        new = np.zeros(n, dtype=bool) if t == n_years else ~same_base[t] & ~same_last[t]
        stays = np.zeros(n, dtype=bool) if t == n_years else ~same_base[t] & same_last[t]
        closes = (start >= 0) & ~stays
        for first in np.unique(start[closes]):
            out.setdefault(t - 1, []).append(
                (int(first), np.flatnonzero(closes & (start == first)))
            )
        start[closes] = -1
        start[new] = t
    return out


def aged_incomes(
    setup: RegistryStage,
    households: pd.DataFrame,
    replications: int | None = None,
    plan: pd.DataFrame | None = None,
) -> np.ndarray:
    """:func:`candidate_incomes` with the members aged (issue 10, item 4): year ``t``'s income
    is that of a run with the households' composition of year ``t``
    (:func:`~fupinsim.registry.living.age_members`: labour at 16 and 65 with its wages,
    pensioners, school stages), the same draws in every run (common random numbers).

    Only what the ageing changed is run again: a household's years whose inputs
    (:func:`_inputs`) differ from the base year's, each stretch of years with the same
    inputs once, up to its last year; all stretches ending in the same year in one run. The
    other years' incomes are the base run's: the same inputs and draws give the same income.
    """
    scenario = setup.scenario
    years = [int(y) for y in scenario.years]
    income = candidate_incomes(setup, households, replications, plan)
    if not len(households):
        return income
    planned = np.zeros(len(households), dtype=bool)
    if plan is not None:
        planned = households["household_id"].isin(plan["household_id"]).to_numpy()
    frames, inputs = [households], [_inputs(setup, households, planned)]
    for t in range(1, len(years)):
        frames.append(age_members(frames[-1], years[t], scenario.seed))
        inputs.append(_inputs(setup, frames[-1], planned))
    same_base = np.stack([_equal(x, inputs[0]) for x in inputs])
    last = [_equal(x, y) for x, y in zip(inputs[1:], inputs[:-1], strict=True)]
    same_last = np.stack([same_base[0], *last])
    for end, parts in _segments(same_base, same_last).items():
        frame = pd.concat([frames[first].iloc[rows] for first, rows in parts])
        run = candidate_incomes(setup, frame, replications, plan, n_years=end + 1)
        at = 0
        for first, rows in parts:
            income[first : end + 1, rows] = run[first : end + 1, at : at + rows.size]
            at += rows.size
    return income


def _registered_paths(
    registered: pd.DataFrame, final: SimulationResult, years: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(income, on-registry) ``(years, registered)`` from the final projection's paths; a year
    without paths (the base year, in some runs) has the registry's own income, and on."""
    paths = final.household
    ids = registered["household_id"].to_numpy()
    column = "true_income_pc" if "true_income_pc" in registered else "income_pc"
    own = np.tile(registered[column].to_numpy(dtype=float), (len(years), 1))
    if not len(paths):
        return own, np.ones_like(own, dtype=bool)
    wide = {
        name: paths.pivot(index="year", columns="household_id", values=name)
        .reindex(index=years, columns=ids)
        .to_numpy(dtype=float)
        for name in ("income_pc_mean", "p_exited")
    }
    income = np.where(np.isnan(wide["income_pc_mean"]), own, wide["income_pc_mean"])
    on = ~(np.nan_to_num(wide["p_exited"], nan=0.0) >= 0.5)
    return income, on


def living_registry_stage(
    setup: RegistryStage,
    final: SimulationResult,
    replications: int | None = None,
    base_plan: pd.DataFrame | None = None,
    unused_money: pd.DataFrame | None = None,
) -> LivingRegistry:
    """The run's registry year by year (``registered_by_year``, ``registry_entrants``).

    With ``base_plan`` (``type_id, county_id, villages, labour_class, package_id`` of the base
    registry's plan) and ``unused_money`` (``pool, year, amount_yuan``), entrants get plans
    (module doc); ``registry_entrants`` then has their :data:`ENTRANT_PLAN_COLUMNS
    <fupinsim.allocate.entrants.ENTRANT_PLAN_COLUMNS>`.
    """
    scenario = setup.scenario
    years = [int(y) for y in scenario.years]
    households = setup.households.reset_index(drop=True)
    registered = households["is_registered"].to_numpy(dtype=bool)
    income = np.zeros((len(years), len(households)))
    base_on = np.zeros((len(years), len(households)), dtype=bool)
    reg_income, reg_on = _registered_paths(households[registered], final, years)
    income[:, registered] = reg_income
    base_on[:, registered] = reg_on
    income[:, ~registered] = aged_incomes(setup, households[~registered], replications)
    lines = np.asarray(scenario.policy_table().values["poverty_line"], dtype=float)
    settings, seed = scenario.registry.identification, scenario.seed
    first = living_registry(households, income, base_on, years, lines, settings, seed)
    if base_plan is None or unused_money is None or not len(first.entrants):
        return first
    entrants = first.entrants
    column = pd.Index(households["household_id"]).get_indexer(entrants["household_id"])
    entry_income = income[np.searchsorted(years, entrants["entry_year"].to_numpy()), column]
    plans = plan_entrants(
        entrants,
        households.iloc[column],
        setup.registry.villages,
        entry_income,
        base_plan,
        unused_money,
        setup.catalogue,
        scenario,
    )
    planned = (plans["plan_reason"] == "planned").to_numpy()
    if planned.any():
        chosen = plans.loc[planned, ["household_id", "package_id", "start_year"]]
        income[:, column[planned]] = aged_incomes(
            setup,
            households.iloc[column[planned]],
            replications,
            chosen.astype({"start_year": np.int64}),
        )
    on_plan = np.zeros(len(households), dtype=bool)
    on_plan[column[planned]] = True
    second = living_registry(households, income, base_on, years, lines, settings, seed, on_plan)
    if not second.entrants["household_id"].equals(entrants["household_id"]):
        logger.warning("living registry: entrants changed when their plans were simulated")
    table = second.entrants.merge(plans, on="household_id", how="left", validate="one_to_one")
    return LivingRegistry(second.registered_by_year, table)


def base_plan_table(tables: RunTables) -> pd.DataFrame:
    """The base registry's plan with its types' county group and labour class."""
    plan = tables.household_plans[["household_id", "type_id", "package_id"]]
    types = tables.household_types[["household_id", "county_id", "villages", "labour_class"]]
    return plan.merge(types, on="household_id", how="inner")


#: Columns the entrants' rows add to ``household_plans`` (NA on the base registry's rows).
ENTRY_COLUMNS: tuple[str, ...] = ("entry_year", "entry_reason", "main_cause")


def entrant_plan_rows(
    entrants: pd.DataFrame, households: pd.DataFrame, setup: RegistryStage
) -> pd.DataFrame:
    """The planned entrants as ``household_plans`` rows (the base rows' columns where they
    apply, with :data:`ENTRY_COLUMNS`; ``simulated_exit_year`` the year they left the
    registry). ``households``: the registry's rows of at least these entrants."""
    rows = entrants[entrants["plan_reason"] == "planned"].reset_index(drop=True)
    income = rows["household_income_yuan"].to_numpy(dtype=float)
    own = rows["own_cash_yuan"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(income > 0, own / income, np.nan)
    topped = rows["pools_topup_yuan"].to_numpy(dtype=float) > 1.0
    package = rows["package_id"].astype(str)
    helper = households.set_index("household_id").reindex(rows["household_id"])
    plan = pd.DataFrame(
        {
            "household_id": rows["household_id"].to_numpy(dtype=np.int64),
            "type_id": rows["type_id"].to_numpy(),
            "package_id": package.to_numpy(),
            "start_year": rows["start_year"].astype("Int64").to_numpy(),
            "cost_fiscal_yuan": rows["cost_fiscal_yuan"].to_numpy(dtype=float),
            "cost_credit_yuan": rows["credit_yuan"].to_numpy(dtype=float),
            "cost_household_yuan": own,
            "predicted_gain": np.nan,
            "expected_exit_year": pd.array([pd.NA] * len(rows), dtype="Int64"),
            "helper_id": helper["helper_id"].to_numpy() if "helper_id" in helper else pd.NA,
            "option_id": np.where(topped, package + TOPUP_SUFFIX, package),
            "household_income_yuan": income,
            "own_cash_yuan": own,
            "credit_yuan": rows["credit_yuan"].to_numpy(dtype=float),
            "pools_topup_yuan": rows["pools_topup_yuan"].to_numpy(dtype=float),
            "term_income_yuan": rows["term_income_yuan"].to_numpy(dtype=float),
            "own_cash_share_of_income": share,
            "support_note": "",
            "simulated_exit_year": rows["exit_year"].astype("Int64").to_numpy(),
            "entry_year": rows["entry_year"].astype("Int64").to_numpy(),
            "entry_reason": rows["entry_reason"].astype(str).to_numpy(),
            "main_cause": rows["main_cause"].astype(str).to_numpy(),
        }
    )
    on_registry = households[households["household_id"].isin(plan["household_id"])]
    return plan_add_ons(plan, on_registry.assign(is_registered=True), setup.catalogue)


def with_entrant_plans(plans: pd.DataFrame, entrant_rows: pd.DataFrame) -> pd.DataFrame:
    """``household_plans`` with the entrants' rows after the base registry's (same columns,
    :data:`ENTRY_COLUMNS` NA on the base rows; a base column the entrants lack is NA)."""
    base = plans.copy()
    base["entry_year"] = pd.array([pd.NA] * len(base), dtype="Int64")
    for column in ENTRY_COLUMNS[1:]:
        base[column] = pd.Series(pd.NA, index=base.index, dtype="string")
    if not len(entrant_rows):
        return base
    extra = entrant_rows.reindex(columns=base.columns)
    for column in ENTRY_COLUMNS[1:]:
        extra[column] = extra[column].astype("string")
    out = pd.concat([base, extra], ignore_index=True)
    # Keep the base columns' kinds: whole numbers with the entrants' NA as nullable integers.
    for column in base.columns:
        kind = base[column].dtype.kind
        if out[column].dtype.kind != kind and kind in "iu":
            out[column] = out[column].astype("Int64")
    return out


def with_living_registry(tables: T, setup: RegistryStage, final: SimulationResult) -> T:
    """``tables`` with the living registry's ``registered_by_year`` and ``registry_entrants``
    (entrants with their plans, from the money the plan left unspent), and the planned
    entrants' rows in ``household_plans``."""
    living = living_registry_stage(
        setup, final, base_plan=base_plan_table(tables), unused_money=tables.unused_money
    )
    rows = pd.DataFrame()
    if "plan_reason" in living.entrants:
        rows = entrant_plan_rows(living.entrants, setup.households, setup)
    plans = with_entrant_plans(tables.household_plans, rows)
    return dataclasses.replace(
        tables,
        registered_by_year=living.registered_by_year,
        registry_entrants=living.entrants,
        household_plans=plans,
    )
