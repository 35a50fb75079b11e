"""The first five stages of a run: registry, funding, yields, allocate, household plans.

Each stage is a public function that takes the results of the stages before it and returns a
frozen dataclass, so a notebook can run them one by one and look (or change something) in
between::

    setup = registry_stage(scenario)
    money = funding_stage(scenario)
    yields = yields_stage(setup)
    round_0 = allocate_stage(setup, money, yields)
    plans_0 = household_plans_stage(setup, yields, round_0)

The closed loop, comparison, projection and tables follow in :mod:`.loop`, :mod:`.compare`
and :mod:`.tables`; :func:`fupinsim.pipeline.run_pipeline` runs them all in order.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fupinsim.allocate import (
    AllocationInputs,
    AllocationModel,
    AllocationResult,
    ModelSettings,
    PreparedInputs,
    SolveResult,
    SolveSettings,
    assign_households,
    build_model,
    extract_results,
    solve_model,
)
from fupinsim.allocate.burden import base_package
from fupinsim.allocate.entitlements import plan_add_ons
from fupinsim.allocate.goals import lp_goals
from fupinsim.allocate.households import QuotaWarning, plan_burden, timing_notes
from fupinsim.allocate.inputs import CITY_POOL, CREDIT_RESOURCE
from fupinsim.allocate.pairing import cadre_tables
from fupinsim.allocate.yields import ExitYields, compute_exit_yields
from fupinsim.funding import FundingTables, build_funding
from fupinsim.microsim import Catalogue, exit_targets, load_catalogue
from fupinsim.pipeline.works import village_works_plan, village_works_table, works_draws
from fupinsim.registry import Registry, generate_registry
from fupinsim.scenario import Scenario

__all__ = [
    "AllocationStage",
    "HouseholdPlans",
    "Margins",
    "RegistryStage",
    "allocate_stage",
    "funding_stage",
    "household_plans_stage",
    "registry_stage",
    "yields_stage",
]

logger = logging.getLogger(__name__)

#: Closed-loop safety margins: ``(county_id, villages, year)`` → share added to the target.
Margins = Mapping[tuple[str, str, int], float]


@dataclass(frozen=True)
class RegistryStage:
    """Stage 1: the registry and what every later stage reads from it.

    Attributes
    ----------
    scenario:
        The scenario being run.
    registry:
        The registry (the scenario's synthetic one unless one was given).
    registered:
        Its registered households (index 0…n−1): the closed loop and comparison simulate these.
    targets:
        :func:`fupinsim.microsim.exit_targets` of the registry (households).
    catalogue:
        The intervention catalogue with the scenario's overrides.
    village_plan:
        :func:`~fupinsim.pipeline.works.village_works_plan` (``village_id, package_id,
        start_year``).
    cadre_roster, household_cadres:
        The cadre roster with each cadre's load, and every registered household's cadre
        (:func:`fupinsim.allocate.pairing.cadre_tables`, plan §16).
    """

    scenario: Scenario
    registry: Registry
    registered: pd.DataFrame
    targets: pd.DataFrame
    catalogue: Catalogue
    village_plan: pd.DataFrame
    cadre_roster: pd.DataFrame = field(repr=False)
    household_cadres: pd.DataFrame = field(repr=False)

    @property
    def households(self) -> pd.DataFrame:
        """Every household of the registry (the final projection simulates these)."""
        return self.registry.households

    @property
    def plan_years(self) -> set[int]:
        """The plan's funding years (``funding.first_year`` … ``funding.last_year``)."""
        funding = self.scenario.funding
        return set(range(funding.first_year, funding.last_year + 1))


@dataclass(frozen=True)
class AllocationStage:
    """Stage 4 (and each closed-loop round): the allocation LP, solved, and its results.

    Attributes
    ----------
    round:
        Closed-loop round (0: the plan's own targets).
    margins:
        Safety margins the targets were raised by (empty in round 0).
    inputs:
        The LP's input tables.
    model, solution, result:
        The built LP, the solver's answer and the extracted tables.
    """

    round: int
    margins: Margins
    inputs: AllocationInputs
    model: AllocationModel
    solution: SolveResult
    result: AllocationResult

    @property
    def prepared(self) -> PreparedInputs:
        """The validated inputs the LP was built from."""
        return self.model.data


@dataclass(frozen=True)
class HouseholdPlans:
    """Stage 5: the allocation's quotas given to households (``docs/contracts.md``, plans).

    Attributes
    ----------
    round:
        The closed-loop round of the allocation they come from.
    plan:
        ``household_id, type_id, package_id, start_year, cost_*_yuan, predicted_gain,
        expected_exit_year, helper_id``.
    """

    round: int
    plan: pd.DataFrame = field(repr=False)


def registry_stage(scenario: Scenario, registry: Registry | None = None) -> RegistryStage:
    """Stage 1: the registry (generated unless given), exit targets, catalogue, village works
    and the cadre pairing (raises :class:`~fupinsim.errors.InputError` naming the counties
    short of cadres if a registered household has none)."""
    registry = registry if registry is not None else generate_registry(scenario)
    households = registry.households
    registered = households[households["is_registered"].to_numpy(dtype=bool)].reset_index(drop=True)
    targets = exit_targets(households, scenario.microsim.as_whole_allowance)
    catalogue = load_catalogue(scenario)
    roster, household_cadres = cadre_tables(households, registry.villages, scenario.seed)
    return RegistryStage(
        scenario=scenario,
        registry=registry,
        registered=registered,
        targets=targets,
        catalogue=catalogue,
        village_plan=village_works_plan(registry, scenario),
        cadre_roster=roster,
        household_cadres=household_cadres,
    )


def funding_stage(scenario: Scenario) -> FundingTables:
    """Stage 2: money per pool, source and year (:func:`~fupinsim.funding.build_funding`)."""
    return build_funding(scenario)


def yields_stage(setup: RegistryStage, *, workers: int = 1) -> ExitYields:
    """Stage 3: exit yields per household type, package and start year (microsimulation).

    ``workers`` processes; the yields do not depend on it.
    """
    return compute_exit_yields(setup.registry, setup.scenario, setup.catalogue, workers=workers)


def _capacity_table(catalogue: Catalogue, scenario: Scenario) -> pd.DataFrame:
    """City-wide capacity per resource and funding year (units)."""
    caps = catalogue.capacities()
    years = range(scenario.funding.first_year, scenario.funding.last_year + 1)
    frames = [
        caps[["resource"]].assign(year=y, units=caps["units_per_year"].astype(float)) for y in years
    ]
    return pd.concat(frames, ignore_index=True)


def lp_targets(targets: pd.DataFrame, margins: Margins) -> pd.DataFrame:
    """Targets for the LP: required exits raised by the closed loop's safety margins.

    Returns ``county_id, villages, year, target_exits`` (households, at most the registered).
    """
    out = targets[["county_id", "villages", "year"]].copy()
    margin = np.array([margins.get((c, v, int(y)), 0.0) for c, v, y in out.itertuples(index=False)])
    raised = np.ceil(targets["required_exits"].to_numpy() * (1.0 + margin) - 1e-9)
    out["target_exits"] = np.minimum(raised, targets["n_registered"].to_numpy())
    return out


def option_capacity_use(catalogue: Catalogue, yields: ExitYields) -> pd.DataFrame:
    """Units of capacity each LP option uses: its catalogue package's (topped-up options too).

    Credit (``credit_yuan``) is left out, so the LP counts each option's own credit cost per
    spend year: a top-up lowers the credit a household takes.
    """
    use = catalogue.capacity_use()
    use = use[use["resource"] != CREDIT_RESOURCE]
    options = pd.DataFrame({"package_id": yields.package_costs["package_id"].unique()})
    options["base"] = [base_package(str(p)) for p in options["package_id"]]
    merged = options.merge(use.rename(columns={"package_id": "base"}), on="base")
    return merged[["package_id", "resource", "units_per_household"]].reset_index(drop=True)


def allocate_stage(
    setup: RegistryStage,
    funding: FundingTables,
    yields: ExitYields,
    *,
    margins: Margins | None = None,
    objective: str | None = None,
    round_number: int = 0,
) -> AllocationStage:
    """Stage 4: build, solve and read the allocation LP (:mod:`fupinsim.allocate`).

    Parameters
    ----------
    setup, funding, yields:
        Stages 1-3.
    margins:
        Safety margins on the targets (the closed loop's); none in round 0.
    objective:
        ``min_cost`` or ``max_exits``; default ``scenario.allocation.objective``.
    round_number:
        The closed-loop round; only round 0 computes the money that would close each gap.
    """
    scenario = setup.scenario
    margins = dict(margins or {})
    model_settings = ModelSettings.from_scenario(
        scenario, **({"objective": objective} if objective else {})
    )
    solve_settings = SolveSettings.from_scenario(scenario)
    # A registry file with a subset of counties: the pools of counties without households
    # have nobody to pay for (their targets are absent too); the city pool stays.
    present = {CITY_POOL, *yields.yields["county_id"].astype(str)}
    money = funding.funding[funding.funding["pool"].astype(str).isin(present)]
    # The village works draw on the same pools first (issue 10, item 6): fixed draws.
    _, money = works_draws(works_table(setup), money)
    inputs = AllocationInputs(
        yields=yields.yields,
        funding=money,
        targets=lp_targets(setup.targets, margins),
        package_costs=yields.package_costs.drop(columns=["cost_sector_yuan"]),
        capacity_use=option_capacity_use(setup.catalogue, yields),
        capacity=_capacity_table(setup.catalogue, scenario),
        goals=lp_goals(yields.goals, margins),
    )
    model = build_model(inputs, model_settings)
    solution = solve_model(model, solve_settings)
    result = extract_results(model, solution, solve_settings, close_gaps=round_number == 0)
    return AllocationStage(round_number, margins, inputs, model, solution, result)


def works_table(setup: RegistryStage) -> pd.DataFrame:
    """The village works plan with its costs (:func:`.works.village_works_table`)."""
    return village_works_table(setup.village_plan, setup.registry, setup.catalogue)


def plan_households(
    setup: RegistryStage, yields: ExitYields, quotas: pd.DataFrame, prepared: PreparedInputs
) -> pd.DataFrame:
    """Type quotas (optimised or factor method) → one plan per household (best gain first)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuotaWarning)
        plan = assign_households(
            quotas,
            yields.types.merge(setup.registered[["household_id", "helper_id"]], on="household_id"),
            yields.gains,
            prepared,
        )
    unassigned = [w for w in caught if issubclass(w.category, QuotaWarning)]
    for warning in unassigned:  # logged, and counted in the manifest (never silently)
        logger.info("household plans: %s", warning.message)
    plan = timing_notes(plan_burden(plan, yields.burden))
    # The guarantees and entitlements each household gets with its package (issue 10, item 5).
    plan = plan_add_ons(plan, setup.registered, setup.catalogue)
    plan.attrs["households_not_assigned"] = round(float(quotas["households"].sum()) - len(plan))
    return plan


def household_plans_stage(
    setup: RegistryStage, yields: ExitYields, allocation: AllocationStage
) -> HouseholdPlans:
    """Stage 5: the allocation's quotas given to the households with the best predicted gain."""
    plan = plan_households(setup, yields, allocation.result.quotas, allocation.prepared)
    return HouseholdPlans(allocation.round, plan)
