"""The final projection with the assumptions sampled (issue 12): shocks and assumptions together.

The plan is chosen on the assumptions' point values (the closed loop, the comparison of plans
and the final projection all use them). This stage then simulates the chosen plan over the
registered households again with the uncertain assumptions
(:func:`fupinsim.uncertainty.uncertain_parameters`) drawn **once per block of replications**:
``D = ceil(R / k)`` Latin-hypercube draws from their own random stream ``"uncertainty"``, draw
``d`` simulated on replications ``d·k … d·k + k − 1`` (``k`` =
``uncertainty.replications_per_draw``). Blocks, not one draw per replication, because
each draw builds its own scenario variant and catalogue (effects, costs, ramp-ups, failure
risks, shock and growth parameters) and compiles the plan again: with ``k = 4`` the 200
replications of a run cost 50 variants instead of 200, while every replication still has its
own shocks. Replication ``r`` draws the same shocks as replication ``r`` of the shocks-only
projection (the engine's draws are keyed by replication and household), so the difference
between the two is the assumptions' alone.

Assumptions that act only through the allocation (money, ``needs_replanning``) cannot change a
fixed plan's outcome and are left out here (``fupinsim sensitivity --replanning`` covers them).

Outputs: P(target met) per target with assumptions, P(all targets met) and P(final targets
met), exits by 2017 and the plan's lifetime fiscal cost with both kinds of uncertainty, and a
cheap ranking of the assumptions (Spearman rank correlation between the drawn values and each
block's outcome, over the ``D`` draws).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fupinsim.microsim import Catalogue, SimulationResult, validate_plan
from fupinsim.microsim.engine import STATS, prepare_plan, prepare_population, run_prepared
from fupinsim.microsim.plans import compile_plan
from fupinsim.microsim.population import Population, build_population, group_labels
from fupinsim.microsim.results import p_all_targets_met, target_probability_table
from fupinsim.montecarlo import add_mc_error, mc_standard_error, replications_warning
from fupinsim.pipeline.compare import projection_stage
from fupinsim.pipeline.loop import ClosedLoop, StageTimer
from fupinsim.pipeline.results import RunTables
from fupinsim.pipeline.stages import RegistryStage
from fupinsim.pipeline.validation import validation_table
from fupinsim.scenario import Scenario
from fupinsim.uncertainty import (
    draw_parameters,
    indicator_labels,
    records,
    scenario_variant,
    uncertain_parameters,
    uncertainty_settings,
)

__all__ = [
    "RANKING_COLUMNS",
    "AssumptionRun",
    "assumption_parameters",
    "assumptions_stage",
    "plan_fiscal_cost",
    "plan_units",
    "plans_with_errors",
    "projection_with_assumptions",
    "ranking_table",
    "sample_assumptions",
    "top_assumptions",
    "units_fiscal_cost",
    "with_assumptions",
]

logger = logging.getLogger(__name__)

#: Columns of table ``assumption_ranking``.
RANKING_COLUMNS = [
    "indicator",
    "indicator_label",
    "rank",
    "parameter",
    "label",
    "rank_correlation",
    "p_value",
    "value",
    "low",
    "high",
]
#: Outcomes of each draw's block that the ranking correlates with.
_BLOCK_INDICATORS = ("p_all_targets_met", "p_final_targets_met", "exits_2017", "fiscal_cost_yuan")
_EXITED = STATS.index("exited")
_CHUNK = 65_536


@dataclass(frozen=True)
class AssumptionRun:
    """The final projection with the assumptions sampled.

    Attributes
    ----------
    sampled:
        False when ``uncertainty.sample`` is off (or nothing has a range): only shocks vary.
    draws:
        Column ``draw`` and one column per parameter id (the drawn values, in their units).
    blocks:
        One row per draw: ``draw, first_replication, replications`` and its block's
        outcomes (``p_all_targets_met``, ``p_final_targets_met``: shares of its
        replications; ``exits_2017``: mean registered households exited by the end of 2017;
        ``fiscal_cost_yuan``: the plan's lifetime fiscal cost under the draw).
    target_probability:
        :func:`~fupinsim.microsim.results.target_probability_table` with the assumptions
        sampled (``None`` when not sampled).
    exits_2017:
        Registered households exited by the end of 2017, one value per replication.
    ranking:
        Table ``assumption_ranking`` (:data:`RANKING_COLUMNS`).
    facts:
        Manifest facts (``p_all_targets_met_with_assumptions``, …).
    """

    sampled: bool
    draws: pd.DataFrame = field(repr=False)
    blocks: pd.DataFrame = field(repr=False)
    target_probability: pd.DataFrame | None = field(repr=False)
    exits_2017: np.ndarray = field(repr=False)
    ranking: pd.DataFrame = field(repr=False)
    facts: dict[str, Any] = field(default_factory=dict)


def plan_units(
    catalogue: Catalogue,
    households: pd.DataFrame,
    plan: pd.DataFrame,
    *,
    guarantees: bool = True,
) -> dict[str, float]:
    """Units of each catalogue entry a household plan buys (the households' own quantities),
    with the guarantees its households need when the pools pay them (``guarantees``)."""
    units: dict[str, float] = {}
    planned = households.set_index("household_id")
    for package_id, rows in plan.groupby("package_id", sort=True):
        members = planned.loc[rows["household_id"].to_numpy()].reset_index()
        bought: list[tuple[Any, Any]] = [
            (catalogue.entry(e), 1.0) for e in catalogue.package(str(package_id)).entries
        ]
        if guarantees:
            bought += [(e, e.eligibility_mask(members)) for e in catalogue.guarantee_entries()]
        for entry, share in bought:
            units[entry.id] = units.get(entry.id, 0.0) + float(
                np.sum(share * entry.quantity(members))
            )
    return units


def units_fiscal_cost(
    catalogue: Catalogue, units: dict[str, float], village_plan: pd.DataFrame
) -> float:
    """Lifetime fiscal cost (yuan) of :func:`plan_units` and the village works at a catalogue's
    unit costs: a draw of the costs needs no pass over the households."""
    total = sum(catalogue.entry(e).lifetime_cost(q)["fiscal"] for e, q in sorted(units.items()))
    for package_id, rows in village_plan.groupby("package_id", sort=True):
        total += len(rows) * catalogue.package_cost(str(package_id))["fiscal"]
    return float(total)


def plan_fiscal_cost(
    catalogue: Catalogue,
    households: pd.DataFrame,
    plan: pd.DataFrame,
    village_plan: pd.DataFrame,
    *,
    guarantees: bool = True,
) -> float:
    """Lifetime fiscal cost of a plan (yuan, undiscounted, current prices).

    Packages of the planned households with their own quantities, the guarantees they need
    (``guarantees``: the pools pay them, ``allocation.pools_pay_guarantees``) and the village
    works (sector and pool money alike).
    """
    units = plan_units(catalogue, households, plan, guarantees=guarantees)
    return units_fiscal_cost(catalogue, units, village_plan)


def assumption_parameters(scenario: Scenario) -> pd.DataFrame:
    """The uncertain parameters a fixed plan's projection can feel: those with a spread and
    not ``needs_replanning`` (money acts only through the allocation)."""
    table = uncertain_parameters(scenario)
    keep = (table["high"] > table["low"]) & ~table["needs_replanning"].astype(bool)
    return table[keep].reset_index(drop=True)


def _group_stats(
    population: Population,
    plan: pd.DataFrame,
    village_plan: pd.DataFrame,
    scenario: Scenario,
    catalogue: Catalogue,
    replications: range,
    threads: int,
) -> np.ndarray:
    """Summed statistics ``(replications, groups, years, stats)`` of one draw's block."""
    compiled = compile_plan(population, plan, catalogue, scenario, village_plan, validate=False)
    dtype = np.float32 if scenario.microsim.float32 else np.float64
    prepared = prepare_population(population, scenario)
    arrays = prepare_plan(compiled, population, scenario, dtype)
    size = min(max(population.n, 1), _CHUNK)
    chunk = max(prepared.block, -(-size // prepared.block) * prepared.block)  # whole blocks
    parts, groups = [], []
    for start in range(0, population.n, chunk):
        res = run_prepared(
            prepared,
            arrays,
            replications,
            start,
            min(start + chunk, population.n),
            village_sums=False,
            household_sums=False,
            threads=threads,
        )
        parts.append(res.stats)
        groups.append(res.segment_group)
    segments = np.concatenate(parts, axis=1)
    group = np.concatenate(groups)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    out = np.zeros((len(replications), len(group_labels()), *segments.shape[2:]))
    out[:, group[starts]] = np.add.reduceat(segments, starts, axis=1)
    return out


def _exits_2017(group_stats: np.ndarray, years: list[int]) -> np.ndarray:
    """Registered households exited by the end of 2017 (or the last year), per replication."""
    year = years.index(2017) if 2017 in years else len(years) - 1
    return np.asarray(group_stats[:, :, year, _EXITED].sum(axis=1), dtype=float)


def _not_sampled(reason: str) -> AssumptionRun:
    logger.info("assumptions not sampled: %s", reason)
    return AssumptionRun(
        sampled=False,
        draws=pd.DataFrame({"draw": pd.Series(dtype="int64")}),
        blocks=pd.DataFrame(),
        target_probability=None,
        exits_2017=np.zeros(0),
        ranking=pd.DataFrame(columns=RANKING_COLUMNS),
        facts={"assumptions_sampled": False, "assumptions_not_sampled_because": reason},
    )


def assumptions_stage(
    setup: RegistryStage,
    plan: pd.DataFrame,
    final: SimulationResult,
    *,
    replications: int,
    workers: int = 1,
) -> AssumptionRun:
    """Simulate the chosen plan over the registered households with the assumptions sampled.

    Parameters
    ----------
    setup:
        Stage 1 (scenario, households, village works).
    plan:
        The chosen household plan (``household_id, package_id, start_year``).
    final:
        The shocks-only final projection (same plan, point values).
    replications:
        ``R``, as the shocks-only projection; drawn in blocks of
        ``uncertainty.replications_per_draw``.
    workers:
        Kernel threads (the tables do not depend on it).
    """
    scenario = setup.scenario
    settings = uncertainty_settings(scenario)
    if not settings.sample:
        return _not_sampled("uncertainty.sample is false")
    parameters = assumption_parameters(scenario)
    if parameters.empty:
        return _not_sampled("no assumption with a range acts on a fixed plan")
    per_draw = min(settings.replications_per_draw, replications)
    n_draws = -(-replications // per_draw)
    draws = draw_parameters(parameters, n_draws, scenario.seed)
    # The registered households only: targets, exits and costs are theirs (and each
    # household's draws are keyed by its id, so leaving the others out changes nothing).
    population = build_population(setup.registered, setup.registry.villages)
    plan = validate_plan(
        plan[["household_id", "package_id", "start_year"]], setup.catalogue, scenario
    )
    guarantees = scenario.allocation.pools_pay_guarantees
    units = plan_units(setup.catalogue, setup.registered, plan, guarantees=guarantees)
    table = uncertain_parameters(scenario)
    blocks, stacked = [], []
    for row in records(draws):
        d = int(row["draw"])
        reps = range(d * per_draw, min((d + 1) * per_draw, replications))
        variant, catalogue = scenario_variant(scenario, row, parameters=table)
        block = _group_stats(
            population, plan, setup.village_plan, variant, catalogue, reps, workers
        )
        stacked.append(block)
        cost = units_fiscal_cost(catalogue, units, setup.village_plan)
        blocks.append(_block_outcomes(d, reps, block, variant, setup.targets, cost))
    group_stats = np.concatenate(stacked, axis=0)
    return _assemble(
        setup, final, parameters, draws, pd.DataFrame(blocks), group_stats, per_draw, plan
    )


def _block_outcomes(
    draw: int,
    reps: range,
    block: np.ndarray,
    variant: Scenario,
    targets: pd.DataFrame,
    fiscal_cost_yuan: float,
) -> dict[str, Any]:
    """One draw's block: P(all / final targets met) over its replications, mean exits by
    2017 (households), the plan's fiscal cost under the draw (yuan)."""
    years = np.array(variant.years)
    plan_years = set(range(variant.funding.first_year, variant.funding.last_year + 1))
    return {
        "draw": draw,
        "first_replication": reps.start,
        "replications": len(reps),
        "p_all_targets_met": p_all_targets_met(block, years, targets, plan_years),
        "p_final_targets_met": p_all_targets_met(
            block, years, targets, {variant.funding.last_year}
        ),
        "exits_2017": float(_exits_2017(block, list(variant.years)).mean()),
        "fiscal_cost_yuan": fiscal_cost_yuan,
    }


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)


def ranking_table(
    parameters: pd.DataFrame, draws: pd.DataFrame, blocks: pd.DataFrame
) -> pd.DataFrame:
    """Table ``assumption_ranking``: each parameter's rank correlation with each block outcome.

    Ranked within an indicator by ``|rank_correlation|`` (NaN last: an outcome that did not
    vary, or a cost against an outcome of the simulation, which never reads costs, and any
    other assumption against the fiscal cost, which reads only costs). Over ``D`` draws a
    correlation below about ``2/sqrt(D)`` is noise: ``p_value`` says.
    """
    labels = indicator_labels()
    rows = []
    for indicator in _BLOCK_INDICATORS:
        y = blocks[indicator].to_numpy(float)
        for p in parameters.to_dict("records"):
            # The simulation never reads costs and the fiscal cost reads nothing else: a
            # correlation across that line is chance (NaN, ranked last).
            is_cost = str(p["field"]).startswith("cost_")
            if is_cost != (indicator == "fiscal_cost_yuan"):
                rho, p_value = math.nan, math.nan
            else:
                rho, p_value = _spearman(draws[p["id"]].to_numpy(float), y)
            rows.append(
                {
                    "indicator": indicator,
                    "indicator_label": labels.get(indicator, indicator),
                    "parameter": p["id"],
                    "label": p["label"],
                    "rank_correlation": rho,
                    "p_value": p_value,
                    "value": p["value"],
                    "low": p["low"],
                    "high": p["high"],
                }
            )
    frame = pd.DataFrame(rows)
    frame["_size"] = frame["rank_correlation"].abs().fillna(-1.0)
    frame = frame.sort_values(
        ["indicator", "_size", "parameter"], ascending=[True, False, True], kind="stable"
    )
    frame["rank"] = frame.groupby("indicator", sort=False).cumcount() + 1
    return frame[RANKING_COLUMNS].reset_index(drop=True)


def _spread(values: np.ndarray) -> dict[str, float]:
    q = np.quantile(values, [0.05, 0.95]) if len(values) else [math.nan, math.nan]
    return {"mean": float(np.mean(values)), "p05": float(q[0]), "p95": float(q[1])}


def _assemble(
    setup: RegistryStage,
    final: SimulationResult,
    parameters: pd.DataFrame,
    draws: pd.DataFrame,
    blocks: pd.DataFrame,
    group_stats: np.ndarray,
    per_draw: int,
    plan: pd.DataFrame,
) -> AssumptionRun:
    scenario = setup.scenario
    years = np.array(scenario.years)
    targets = setup.targets
    plan_years = set(range(scenario.funding.first_year, scenario.funding.last_year + 1))
    exits = _exits_2017(group_stats, list(scenario.years))
    shocks_exits = _exits_2017(final.meta["group_stats"], list(scenario.years))
    facts: dict[str, Any] = {
        "assumptions_sampled": True,
        "assumption_parameters": len(parameters),
        "assumption_draws": len(draws),
        "replications_per_draw": per_draw,
        "p_all_targets_met_shocks_only": float(final.meta["p_all_targets_met"]),
        "p_all_targets_met_with_assumptions": p_all_targets_met(
            group_stats, years, targets, plan_years
        ),
        "p_final_targets_met_shocks_only": float(final.meta["p_final_targets_met"]),
        "p_final_targets_met_with_assumptions": p_all_targets_met(
            group_stats, years, targets, {scenario.funding.last_year}
        ),
        "exits_2017_shocks_only": _spread(shocks_exits),
        "exits_2017_with_assumptions": _spread(exits),
        "fiscal_cost_yuan_point": plan_fiscal_cost(
            setup.catalogue,
            setup.registered,
            plan,
            setup.village_plan,
            guarantees=scenario.allocation.pools_pay_guarantees,
        ),
        "fiscal_cost_yuan_with_assumptions": _spread(blocks["fiscal_cost_yuan"].to_numpy(float)),
    }
    return AssumptionRun(
        sampled=True,
        draws=draws,
        blocks=blocks,
        target_probability=target_probability_table(group_stats, years, targets),
        exits_2017=exits,
        ranking=ranking_table(parameters, draws, blocks),
        facts=facts,
    )


#: Indicators the headline's ranking may use, the first that varied over the draws.
_RANKED_BY = ("p_all_targets_met", "p_final_targets_met", "exits_2017")


def top_assumptions(ranking: pd.DataFrame | None, n: int = 3) -> tuple[str, list[dict[str, Any]]]:
    """The indicator used and its ``n`` assumptions with the largest rank correlation.

    The first of P(all targets met), P(final targets met), exits by 2017 whose correlations are
    not all missing (P(all targets met) does not vary when it is 0 in every replication). Each
    item: ``label`` (planner terms), ``rho``, ``direction`` and ``range`` (text).
    """
    if ranking is None or ranking.empty:
        return "", []
    for indicator in _RANKED_BY:
        rows = ranking[(ranking["indicator"] == indicator) & ranking["rank_correlation"].notna()]
        if len(rows):
            rows = rows.sort_values("rank").head(n)
            top = [
                {
                    "label": str(r["label"]),
                    "parameter": str(r["parameter"]),
                    "rho": float(r["rank_correlation"]),
                    "direction": "higher helps" if r["rank_correlation"] > 0 else "higher hurts",
                    "range": f"{r['low']:g} to {r['high']:g} (value {r['value']:g})",
                }
                for r in rows.to_dict("records")
            ]
            return str(rows["indicator_label"].iloc[0]), top
    return "", []


def sample_assumptions(
    setup: RegistryStage, loop: ClosedLoop, final: SimulationResult, timer: StageTimer
) -> AssumptionRun:
    """:func:`assumptions_stage` for :func:`~fupinsim.pipeline.run_pipeline`: the closed loop's
    plan, replications and workers, timed as step ``assumptions``."""
    timer.begin("assumptions")
    simulator = loop.simulator
    return assumptions_stage(
        setup,
        loop.plans.plan,
        final,
        replications=simulator.replications,
        workers=simulator.workers,
    )


def projection_with_assumptions(
    setup: RegistryStage, loop: ClosedLoop, timer: StageTimer
) -> tuple[SimulationResult, AssumptionRun]:
    """The final projection (:func:`~fupinsim.pipeline.compare.projection_stage`, point
    values) and then :func:`sample_assumptions` of its plan (timed as ``assumptions``)."""
    final = projection_stage(setup, loop)
    return final, sample_assumptions(setup, loop, final, timer)


def plans_with_errors(
    plans: pd.DataFrame, target_probability: pd.DataFrame, replications: int
) -> pd.DataFrame:
    """``target_probability_plans`` with the MC error of every plan's P(met) (``p_met_se,
    p_met_low, p_met_high``) and, on the ``final`` rows, the assumption columns of
    ``target_probability``: the ``final`` rows stay that table's rows."""
    keys = ["county_id", "villages", "year"]
    base = plans.drop(columns=[c for c in plans.columns if c.startswith("p_met_")])
    errors = add_mc_error(base, replications)
    assumed = [c for c in target_probability.columns if c.startswith("p_met_with_assumptions")]
    final = target_probability[[*keys, *assumed]].assign(plan="final")
    out = errors.merge(final, on=[*keys, "plan"], how="left", validate="many_to_one")
    return out[[*target_probability.columns, "plan"]]


def _error_facts(name: str, p: float, n: int) -> dict[str, float]:
    if not math.isfinite(p):
        return {f"{name}_se": math.nan, f"{name}_low": math.nan, f"{name}_high": math.nan}
    error = mc_standard_error(p, n)
    return {f"{name}_se": error.se, f"{name}_low": error.low, f"{name}_high": error.high}


def with_assumptions(tables: RunTables, assumed: AssumptionRun) -> RunTables:
    """The run's tables with the assumptions' uncertainty and the Monte Carlo errors added.

    ``target_probability`` gains ``p_met_se, p_met_low, p_met_high`` (binomial standard error
    and 95% Wilson interval over the ``R`` replications), ``p_met_with_assumptions`` and its
    ``_se, _low, _high``: the assumptions' part counts each draw's block as one observation
    (``n = D`` draws, conservative: replications of a block share their draw). ``p_met`` stays
    the shocks-only value the plan was chosen on. ``assumption_ranking`` is
    :func:`ranking_table`; the manifest gains :attr:`AssumptionRun.facts`, their errors,
    ``p_all_targets_met_headline`` (which P(all targets met) the report leads with) and
    ``replications_warning``, ``assumptions_top`` (:func:`top_assumptions`);
    ``target_probability_plans`` the MC errors (:func:`plans_with_errors`); and ``validation``
    is :func:`~fupinsim.pipeline.validation.validation_table` of the result.
    """
    manifest = dict(tables.manifest)
    replications = int(manifest.get("pipeline_replications") or 1)
    required = float(manifest.get("required_confidence", 0.9))
    tp = tables.target_probability
    tp = add_mc_error(
        tp.drop(columns=[c for c in tp.columns if c.startswith("p_met_")]), replications
    )
    facts = dict(assumed.facts)
    shocks_only = float(manifest.get("p_all_targets_met", math.nan))
    facts.setdefault("p_all_targets_met_shocks_only", shocks_only)
    facts.update(_error_facts("p_all_targets_met_shocks_only", shocks_only, replications))
    if assumed.sampled and assumed.target_probability is not None:
        keys = ["county_id", "villages", "year"]
        sampled = assumed.target_probability[[*keys, "p_met"]].rename(
            columns={"p_met": "p_met_with_assumptions"}
        )
        tp = tp.merge(sampled, on=keys, how="left", validate="one_to_one")
        tp = add_mc_error(tp, len(assumed.draws), column="p_met_with_assumptions")
        p_with = float(facts["p_all_targets_met_with_assumptions"])
        facts.update(_error_facts("p_all_targets_met_with_assumptions", p_with, len(assumed.draws)))
        facts["p_all_targets_met_headline"] = "with_assumptions"
    else:
        for suffix in ("", "_se", "_low", "_high"):
            tp[f"p_met_with_assumptions{suffix}"] = math.nan
        facts["p_all_targets_met_with_assumptions"] = None
        facts["p_all_targets_met_headline"] = "shocks_only"
    facts["replications_warning"] = replications_warning(required, replications)
    indicator, top = top_assumptions(assumed.ranking)
    facts["assumptions_top"] = {"indicator": indicator, "top": top}
    out = replace(
        tables,
        target_probability=tp,
        target_probability_plans=plans_with_errors(
            tables.target_probability_plans, tp, replications
        ),
        assumption_ranking=assumed.ranking,
        manifest={**manifest, **facts},
    )
    return replace(out, validation=validation_table(out))
