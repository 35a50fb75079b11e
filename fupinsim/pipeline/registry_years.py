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
from fupinsim.allocate.entrants import plan_entrants
from fupinsim.microsim.engine import prepare_plan, prepare_population, run_prepared
from fupinsim.microsim.plans import compile_plan
from fupinsim.microsim.population import build_population
from fupinsim.microsim.results import SimulationResult
from fupinsim.pipeline.results import RunTables
from fupinsim.pipeline.stages import RegistryStage
from fupinsim.registry.living import LivingRegistry, living_registry

__all__ = [
    "base_plan_table",
    "candidate_incomes",
    "living_registry_stage",
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
) -> np.ndarray:
    """Mean simulated per-capita net income ``(years, candidates)`` (yuan per person, columns
    in ``candidates`` order), with the villages' works and ``plan`` (``household_id,
    package_id, start_year``; default no household support). One run over the whole pool, one
    thread: the draws are keyed by household id, so the result does not depend on how it is
    cut."""
    scenario = setup.scenario
    n_years = len(scenario.years)
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
    arrays = prepare_plan(compiled, population, scenario, dtype)
    result = run_prepared(prepared, arrays, range(reps), 0, population.n, village_sums=False)
    column = pd.Index(population.household_id).get_indexer(candidates["household_id"])
    return np.asarray(result.household_income, dtype=float)[:, column] / reps


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
    income[:, ~registered] = candidate_incomes(setup, households[~registered], replications)
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
        income[:, column[planned]] = candidate_incomes(
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


def with_living_registry(tables: T, setup: RegistryStage, final: SimulationResult) -> T:
    """``tables`` with the living registry's ``registered_by_year`` and ``registry_entrants``
    (entrants with their plans, from the money the plan left unspent)."""
    living = living_registry_stage(
        setup, final, base_plan=base_plan_table(tables), unused_money=tables.unused_money
    )
    return dataclasses.replace(
        tables, registered_by_year=living.registered_by_year, registry_entrants=living.entrants
    )
