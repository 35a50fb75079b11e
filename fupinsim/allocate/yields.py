"""Exit yields per household type, package and start year, from the microsimulation.

The allocation works on household *types*, not households, so its size does not grow with
the registry: a type is county × village type (immigrant/old) × labour class × income band.

* Labour class (§25, and what a package needs): ``ss`` (social-security cover: no labour or
  wubao), ``dev2`` (two or more labourers at home), ``dev1`` (one at home), ``dev0`` (labour,
  all working away).
* Income band: the recorded 2014 per-capita income relative to the 2014 line, cut at
  ``allocation.income_bands`` (default 0.8, 1.0, 1.2, 1.5 → five bands ``b0`` … ``b4``).

For every household package and start year, the registered households eligible for it are
simulated with it (``allocation.yield_replications`` replications, common random numbers), and
the yield of a type is the mean probability that its eligible households have exited by the
end of each year. Package ``none`` is the baseline. The same runs give each household's
predicted gain (the rise in its probability of exit by the last target year), used to hand
the type quotas to the households that gain most ("one household, one plan").

Costs per household (yuan) are split by payer and by the year they are spent; the fiscal cost
that falls on the poverty budget (``poverty_fund`` channel, plan §19) is what the pools pay;
sector programmes (housing, water, dibao, health insurance, education) are reported apart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fupinsim import data
from fupinsim.allocate.burden import (
    TOPUP_SUFFIX,
    Burden,
    household_burden,
    package_term_income,
)
from fupinsim.allocate.goals import (
    baseline_income,
    empty_goals,
    plan_goal_table,
    poor_village_households,
)
from fupinsim.microsim import Catalogue
from fupinsim.microsim.catalogue import Entry
from fupinsim.microsim.engine import (
    PlanArrays,
    Prepared,
    prepare_plan,
    prepare_population,
    run_prepared,
    take_rows,
)
from fupinsim.microsim.plans import compile_plan, population_table, validate_plan
from fupinsim.microsim.population import Population, build_population
from fupinsim.microsim.simulate import DEFAULT_CHUNK
from fupinsim.microsim.targets import target_group
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario
from fupinsim.scenario.allocation import AllocationSettings
from fupinsim.units import BASE_YEAR

__all__ = [
    "BURDEN_COLUMNS",
    "LABOUR_CLASSES",
    "ExitYields",
    "compute_exit_yields",
    "household_cost_profile",
    "household_types",
]

LABOUR_CLASSES = ("ss", "dev0", "dev1", "dev2")
#: Columns of :attr:`ExitYields.burden` (money in yuan; shares of a year's income).
BURDEN_COLUMNS = (
    "household_id",
    "package_id",
    "start_year",
    "household_income_yuan",
    "own_cash_yuan",
    "credit_yuan",
    "pools_topup_yuan",
    "term_income_yuan",
)


def _empty_burden() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in BURDEN_COLUMNS}).astype(
        {"household_id": "int64", "package_id": str, "start_year": "int64"}
    )


@dataclass(frozen=True)
class ExitYields:
    """Everything the allocation needs from the microsimulation.

    Attributes
    ----------
    types:
        Registered households' types: ``household_id, type_id, county_id, villages,
        is_immigrant, labour_class, income_band``.
    yields:
        ``type_id, county_id, villages, is_immigrant, labour_class, income_band,
        n_households, n_eligible, package_id, start_year, year, exit_prob``.
    package_costs:
        ``type_id, package_id, start_year, spend_year, cost_fiscal_yuan, cost_credit_yuan,
        cost_household_yuan, cost_sector_yuan`` per household (mean over the type's eligible
        households; guarantees included).
    gains:
        ``household_id, package_id, start_year, gain`` for eligible households: rise in
        P(exited by the last target year) over no new support.
    burden:
        :data:`BURDEN_COLUMNS` per eligible household and option: what it pays in own cash,
        borrows and cannot bear (the pools' top-up), yuan (:mod:`~fupinsim.allocate.burden`).
        A household is eligible for ``<package>`` when it bears it and for
        ``<package>_topup`` otherwise.
    goals:
        The plan's goals the LP steers (:func:`~fupinsim.allocate.goals.plan_goal_table`):
        immigrant-village income and the poor villages' exit, with their baselines.
    """

    types: pd.DataFrame
    yields: pd.DataFrame
    package_costs: pd.DataFrame
    gains: pd.DataFrame
    burden: pd.DataFrame = field(default_factory=_empty_burden)
    goals: pd.DataFrame = field(default_factory=empty_goals)


def household_types(households: pd.DataFrame, income_bands: list[float]) -> pd.DataFrame:
    """Type of every registered household (see the module docstring)."""
    reg = households[households["is_registered"].to_numpy(dtype=bool)]
    county = reg["county_id"].astype(str).to_numpy()
    imm = reg["is_immigrant"].to_numpy(dtype=bool)
    at_home = (reg["n_labour"] - reg["n_away"]).to_numpy()
    social = reg["support_class"].astype(str).to_numpy() == "social_security"
    labour_class = np.where(
        social, "ss", np.where(at_home >= 2, "dev2", np.where(at_home == 1, "dev1", "dev0"))
    )
    line = data.poverty_line(BASE_YEAR)
    band = np.searchsorted(
        np.asarray(income_bands), reg["income_pc"].to_numpy() / line, side="right"
    )
    village_type = np.where(imm, "imm", "old")
    type_id = [
        f"{c}_{v}_{lc}_b{b}"
        for c, v, lc, b in zip(county, village_type, labour_class, band, strict=True)
    ]
    return pd.DataFrame(
        {
            "household_id": reg["household_id"].to_numpy(dtype=np.int64),
            "type_id": type_id,
            "county_id": county,
            "villages": target_group(county, imm),
            "is_immigrant": imm,
            "labour_class": labour_class,
            "income_band": band,
        }
    )


def _compatible(package_target: str, labour_class: np.ndarray) -> np.ndarray:
    if package_target == "development":
        return labour_class != "ss"
    if package_target == "social_security":
        return labour_class == "ss"
    return np.ones(labour_class.size, dtype=bool)


def household_cost_profile(
    catalogue: Catalogue,
    package_id: str,
    table: dict[str, np.ndarray],
    start_year: int,
    last_year: int,
    with_guarantees: bool = True,
    pools_pay_guarantees: bool = True,
) -> pd.DataFrame:
    """Cost of a package for each household by spend year and payer (yuan).

    Rows ``row, spend_year, cost_fiscal_yuan, cost_credit_yuan, cost_household_yuan,
    cost_sector_yuan`` for spend years from ``start_year`` to ``last_year``: one-off costs in
    the start year, recurrent fiscal costs every year of each entry's lifetime. Fiscal costs
    on the ``poverty_fund`` channel go to ``cost_fiscal_yuan``, sector ones to
    ``cost_sector_yuan``. With ``with_guarantees`` the add-ons each household is eligible for
    (guarantees and entitlements, :meth:`Catalogue.add_on_entries`) are added; with
    ``pools_pay_guarantees`` their fiscal cost counts as poverty-fund cost
    (``allocation.pools_pay_guarantees``), so the LP reserves it on the pools with the package.
    """
    n = len(next(iter(table.values())))
    years = np.arange(start_year, last_year + 1)
    out = {k: np.zeros((years.size, n)) for k in ("fiscal", "credit", "household", "sector")}
    entries: list[tuple[Entry, np.ndarray | None]] = [
        (catalogue.entry(e), None) for e in catalogue.package(package_id).entries
    ]
    if with_guarantees:
        needs = catalogue.add_on_needs(table)
        entries += [(e, needs[e.id].to_numpy(dtype=bool)) for e in catalogue.add_on_entries()]
    for entry, mask in entries:
        quantity = entry.quantity(table)
        if mask is not None:
            quantity = quantity * mask
        on_pools = entry.fiscal_channel == "poverty_fund" or (
            pools_pay_guarantees and (entry.kind == "guarantee" or entry.add_on)
        )
        fiscal_key = "fiscal" if on_pools else "sector"
        out[fiscal_key][0] += quantity * entry.cost_fiscal_yuan
        active = (years - start_year) < entry.lifetime_years
        out[fiscal_key][active] += quantity * entry.recurrent_fiscal_yuan
        if mask is None or entry.kind == "guarantee":
            # An entitlement's loan (student loans) is lent to the student under its own
            # scheme, not poverty credit: it is neither the household's credit nor the LP's
            # credit capacity (its interest and losses are fiscal cost, above).
            out["credit"][0] += quantity * entry.cost_credit_yuan
        out["household"][0] += quantity * entry.cost_household_yuan
    return pd.DataFrame(
        {
            "row": np.tile(np.arange(n), years.size),
            "spend_year": np.repeat(years, n),
            **{f"cost_{k}_yuan": v.ravel() for k, v in out.items()},
        }
    )


def compute_exit_yields(
    registry: Registry,
    scenario: Scenario,
    catalogue: Catalogue,
    workers: int = 1,
) -> ExitYields:
    """Simulate every household package and start year on the registered households.

    Runs ``1 + packages × start years`` simulations of the registered households with
    ``allocation.yield_replications`` replications each (common random numbers, so
    differences between packages are not noise), in this process on ``workers`` kernel threads.
    """
    settings = scenario.allocation
    households = registry.households
    registered = households[households["is_registered"].to_numpy(dtype=bool)].reset_index(drop=True)
    types = household_types(registered, settings.income_bands)
    population = build_population(registered, registry.villages)
    # Types and tables in the population's (canonical) order.
    types = types.set_index("household_id").loc[population.household_id].reset_index()
    table = population_table(population)
    start_years = list(range(scenario.funding.first_year, scenario.funding.last_year + 1))
    options = _options(catalogue, table, types, start_years)
    outcomes = _simulate_options(population, options, scenario, catalogue, workers)
    types["in_poor_village"] = poor_village_households(population, registry.villages)
    result = _assemble(population, registered, types, table, options, outcomes, scenario, catalogue)
    run_income = baseline_income(scenario, catalogue, _exit_probabilities, workers)
    immigrant = types["is_immigrant"].to_numpy(dtype=bool)
    goals = plan_goal_table(registry, scenario, population, outcomes[0], immigrant, run_income)
    return dataclasses.replace(result, goals=goals)


#: An option: (package id, start year, eligible households as a mask over the population).
_Option = tuple[str, int, np.ndarray]
#: A simulated option: P(exited by year) and mean per-capita income, (households, years) each.
Outcome = tuple[np.ndarray, np.ndarray]


def _options(
    catalogue: Catalogue, table: dict[str, np.ndarray], types: pd.DataFrame, start_years: list[int]
) -> list[_Option]:
    """Every household package with eligible households, at every start year."""
    options: list[_Option] = []
    for package in (p for p in catalogue.packages.values() if p.level == "household"):
        eligible = package.eligibility_mask(catalogue, table) & _compatible(
            package.target, types["labour_class"].to_numpy()
        )
        if eligible.any():
            options += [(package.id, start, eligible) for start in start_years]
    return options


def _simulate_options(
    population: Population,
    options: list[_Option],
    scenario: Scenario,
    catalogue: Catalogue,
    workers: int,
) -> list[Outcome]:
    """P(exited by year) and income (households × years): the baseline, then each option.

    The population's tables are prepared once; each option is simulated in this process, on
    ``workers`` kernel threads, over its eligible households only (draws are keyed by household
    id, so a household's outcome does not depend on who else is simulated). The others keep the
    baseline's outcome: with no package their plan is the baseline's.
    """
    reps = scenario.allocation.yield_replications
    prepared = prepare_population(population, scenario)
    dtype = np.float32 if scenario.microsim.float32 else np.float64
    everyone = np.ones(population.n, dtype=bool)
    baseline = _exit_probabilities(prepared, _no_plan(population, catalogue, scenario, dtype),
                                   everyone, reps, workers)  # fmt: skip
    outcomes = [baseline]
    for package_id, start, eligible in options:
        plan = pd.DataFrame(
            {
                "household_id": population.household_id[eligible],
                "package_id": package_id,
                "start_year": np.int64(start),
            }
        )
        plan = validate_plan(plan, catalogue, scenario)
        compiled = compile_plan(population, plan, catalogue, scenario, validate=False)
        arrays = prepare_plan(compiled, population, scenario, dtype)
        p_exit, income = baseline[0].copy(), baseline[1].copy()
        p_exit[eligible], income[eligible] = _exit_probabilities(
            prepared, arrays, eligible, reps, workers
        )
        outcomes.append((p_exit, income))
    return outcomes


def _no_plan(
    population: Population, catalogue: Catalogue, scenario: Scenario, dtype: type
) -> PlanArrays:
    empty = pd.DataFrame(
        {
            "household_id": pd.Series(dtype="int64"),
            "package_id": pd.Series(dtype=str),
            "start_year": pd.Series(dtype="int64"),
        }
    )
    compiled = compile_plan(population, empty, catalogue, scenario, validate=False)
    return prepare_plan(compiled, population, scenario, dtype)


def _exit_probabilities(
    prepared: Prepared, arrays: PlanArrays, rows: np.ndarray, replications: int, workers: int
) -> Outcome:
    """P(exited by year) and mean per-capita income (yuan) of the households ``rows`` (mask),
    each of shape (households, years)."""
    index = np.flatnonzero(rows)
    if index.size < prepared.n:
        prepared, arrays = take_rows(prepared, arrays, index)
    exited = np.zeros((prepared.years.shape[1], prepared.n))
    income = np.zeros((prepared.years.shape[1], prepared.n))
    chunk = -(-DEFAULT_CHUNK // prepared.block) * prepared.block  # whole blocks
    for start in range(0, prepared.n, chunk):
        stop = min(start + chunk, prepared.n)
        res = run_prepared(prepared, arrays, range(replications), start, stop,
                           village_sums=False, threads=workers)  # fmt: skip
        exited[:, start:stop] = res.household_exited
        income[:, start:stop] = res.household_income
    return (exited / replications).T, (income / replications).T


def _assemble(
    population: Population,
    registered: pd.DataFrame,
    types: pd.DataFrame,
    table: dict[str, np.ndarray],
    options: list[_Option],
    outcomes: list[Outcome],
    scenario: Scenario,
    catalogue: Catalogue,
) -> ExitYields:
    """The yields, costs and gains tables from the options' exit probabilities and incomes."""
    settings = scenario.allocation
    start_years = list(range(scenario.funding.first_year, scenario.funding.last_year + 1))
    gain_year = max(int(y) for y in data.exit_schedule()["year"].unique())
    years = np.array(scenario.years)
    baseline = outcomes[0][0]
    type_codes, type_index = np.unique(types["type_id"].to_numpy(), return_inverse=True)
    gain_col = int(np.searchsorted(years, gain_year))
    income_col = _goal_column(years)
    members = population.members.astype(np.float64)
    base_income = outcomes[0][1][:, income_col] * members
    everyone = np.ones(population.n, bool)
    rows = [_yield_frame(type_codes, type_index, baseline, everyone, "none", start_years[0], years)]
    rows[0]["income_gain_yuan"] = 0.0
    cost_rows: list[pd.DataFrame] = []
    gains: list[pd.DataFrame] = []
    income = _household_income(registered, population.household_id)
    burdens: list[pd.DataFrame] = []
    for (package_id, start, eligible), (p_exit, p_income) in zip(
        options, outcomes[1:], strict=True
    ):
        costs = household_cost_profile(
            catalogue,
            package_id,
            table,
            start,
            scenario.funding.last_year,
            pools_pay_guarantees=settings.pools_pay_guarantees,
        )
        costs, burden = _bear(catalogue, package_id, table, costs, income, start, settings)
        bearable = burden.bearable
        gain = p_exit[:, gain_col] - baseline[:, gain_col]
        income_gain = p_income[:, income_col] * members - base_income
        for option_id, mask in (
            (package_id, eligible & bearable),
            (package_id + TOPUP_SUFFIX, eligible & ~bearable),
        ):
            if not mask.any():
                continue
            frame = _yield_frame(type_codes, type_index, p_exit, mask, option_id, start, years)
            mean_gain = _type_mean(type_index, income_gain, mask, type_codes.size)
            codes = np.searchsorted(type_codes, frame["type_id"].to_numpy())
            frame["income_gain_yuan"] = mean_gain[codes]
            rows.append(frame)
            gains.append(
                pd.DataFrame(
                    {
                        "household_id": population.household_id[mask],
                        "package_id": option_id,
                        "start_year": start,
                        "gain": gain[mask],
                    }
                )
            )
            cost_rows.append(_mean_costs(costs, mask, type_codes[type_index], option_id, start))
            burdens.append(_burden_frame(population.household_id, mask, option_id, start, burden))

    return ExitYields(
        types=types.drop(columns="in_poor_village"),
        yields=_yields_table(rows, types, type_codes, type_index, members),
        package_costs=pd.concat(cost_rows, ignore_index=True),
        gains=pd.concat(gains, ignore_index=True),
        burden=pd.concat(burdens, ignore_index=True) if burdens else _empty_burden(),
    )


def _mean_costs(
    costs: pd.DataFrame, mask: np.ndarray, household_type: np.ndarray, option_id: str, start: int
) -> pd.DataFrame:
    """Mean cost profile (yuan per household and spend year) of an option's households
    (``mask``) by type; ``household_type`` is each household's type id."""
    part = costs[mask[costs["row"].to_numpy()]].copy()
    part["type_id"] = household_type[part["row"].to_numpy()]
    mean = part.drop(columns="row").groupby(["type_id", "spend_year"]).mean().reset_index()
    mean.insert(1, "package_id", option_id)
    mean.insert(2, "start_year", start)
    return mean


def _yields_table(
    rows: list[pd.DataFrame],
    types: pd.DataFrame,
    type_codes: np.ndarray,
    type_index: np.ndarray,
    members: np.ndarray,
) -> pd.DataFrame:
    """The yields with the types' attributes, households per type and poor-village people
    per household of the type (members of households in poor villages, mean over the type)."""
    yields = pd.concat(rows, ignore_index=True)
    attributes = types.drop(columns="household_id").drop_duplicates("type_id").set_index("type_id")
    yields = yields.join(attributes, on="type_id")
    codes = np.searchsorted(type_codes, yields["type_id"])
    yields["n_households"] = np.bincount(type_index, minlength=type_codes.size)[codes]
    everyone = np.ones(type_index.size, bool)
    in_poor = members * types["in_poor_village"].to_numpy()
    per_type = _type_mean(type_index, in_poor, everyone, type_codes.size)
    yields["poor_village_people"] = per_type[codes]
    return yields[_YIELD_COLUMNS]


def _goal_column(years: np.ndarray) -> int:
    """Column of the immigrant income goal's target year (the last year if beyond the run)."""
    target = int(data.immigrant_income_goal()["target_year"])
    return min(int(np.searchsorted(years, target)), years.size - 1)


def _type_mean(
    type_index: np.ndarray, values: np.ndarray, mask: np.ndarray, n_types: int
) -> np.ndarray:
    """Mean of ``values`` over each type's households in ``mask`` (0 for a type without any)."""
    weights = mask.astype(np.float64)
    count = np.bincount(type_index, weights=weights, minlength=n_types)
    total = np.bincount(type_index, weights=values * weights, minlength=n_types)
    return np.divide(total, count, out=np.zeros(n_types), where=count > 0)


_YIELD_COLUMNS = [
    "type_id",
    "county_id",
    "villages",
    "is_immigrant",
    "labour_class",
    "income_band",
    "n_households",
    "n_eligible",
    "package_id",
    "start_year",
    "year",
    "exit_prob",
    "income_gain_yuan",
    "poor_village_people",
]


def _yield_frame(
    type_codes: np.ndarray,
    type_index: np.ndarray,
    p_exit: np.ndarray,
    eligible: np.ndarray,
    package_id: str,
    start_year: int,
    years: np.ndarray,
) -> pd.DataFrame:
    """Mean exit probability of each type's eligible households, per year."""
    n_types = type_codes.size
    weights = eligible.astype(float)
    n_eligible = np.bincount(type_index, weights=weights, minlength=n_types)
    sums = np.stack(
        [
            np.bincount(type_index, weights=p_exit[:, t] * weights, minlength=n_types)
            for t in range(years.size)
        ],
        axis=1,
    )
    keep = n_eligible > 0
    prob = sums[keep] / n_eligible[keep, None]
    k = int(keep.sum())
    return pd.DataFrame(
        {
            "type_id": np.repeat(type_codes[keep], years.size),
            "n_eligible": np.repeat(n_eligible[keep].astype(np.int64), years.size),
            "package_id": package_id,
            "start_year": start_year,
            "year": np.tile(years, k),
            "exit_prob": prob.ravel(),
        }
    )


def _household_income(registered: pd.DataFrame, order: np.ndarray) -> np.ndarray:
    """Yearly household income (recorded base-year per-capita income × members, yuan)."""
    frame = registered.set_index("household_id").loc[order]
    return (frame["income_pc"] * frame["n_members"]).to_numpy(dtype=np.float64)


def _bear(
    catalogue: Catalogue,
    package_id: str,
    table: dict[str, np.ndarray],
    costs: pd.DataFrame,
    income: np.ndarray,
    start: int,
    settings: AllocationSettings,
) -> tuple[pd.DataFrame, Burden]:
    """Costs with what households cannot bear moved to the pools (start year), and the burden."""
    first = costs[costs["spend_year"] == start].sort_values("row")
    term_income, financed = package_term_income(catalogue, package_id, table)
    burden = household_burden(
        first["cost_household_yuan"].to_numpy(),
        first["cost_credit_yuan"].to_numpy(),
        financed,
        income,
        term_income,
        settings.max_household_cash_share,
    )
    costs = costs.copy()
    in_start = (costs["spend_year"] == start).to_numpy()
    rows = costs["row"].to_numpy()[in_start]
    costs.loc[in_start, "cost_household_yuan"] = burden.own_cash[rows]
    costs.loc[in_start, "cost_credit_yuan"] = burden.credit[rows]
    costs.loc[in_start, "cost_fiscal_yuan"] += burden.topup[rows]
    return costs, burden


def _burden_frame(
    household_id: np.ndarray, mask: np.ndarray, option_id: str, start: int, burden: Burden
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": household_id[mask].astype(np.int64),
            "package_id": option_id,
            "start_year": np.int64(start),
            "household_income_yuan": burden.income[mask],
            "own_cash_yuan": burden.own_cash[mask],
            "credit_yuan": burden.credit[mask],
            "pools_topup_yuan": burden.topup[mask],
            "term_income_yuan": burden.term_income[mask],
        }
    )
