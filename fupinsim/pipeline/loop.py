"""Stage 6, the closed loop: simulate the household plan, secure unsafe targets, re-plan.

The household plan of an allocation is simulated (Monte Carlo over the registered households);
every plan-year target whose P(target met) is below ``allocation.required_confidence`` and that
money can secure gets a chance-aware cushion (a quantile deterministic equivalent of its chance
constraint, :func:`chance_cushions`), and the LP is solved again, at most
``allocation.loop_rounds`` times. Targets no money can secure are reported once and never
raised. The loop keeps its best round. Every round is reported (table ``closed_loop``).

:class:`PlanSimulator` runs the simulations of a run and remembers them: a plan simulated a
second time over the same households with the same village works (same seed and replications,
which it holds) is not simulated again, its first result is reused (issue 11). The later stages
(comparison, final projection) simulate through the loop's simulator.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import pandas as pd

from fupinsim.allocate.goals import goal_key
from fupinsim.allocate.results import MET_TOLERANCE
from fupinsim.allocate.yields import ExitYields
from fupinsim.funding import FundingTables
from fupinsim.microsim import Catalogue, SimulationResult, simulate
from fupinsim.pipeline.stages import (
    AllocationStage,
    HouseholdPlans,
    RegistryStage,
    allocate_stage,
    household_plans_stage,
)
from fupinsim.scenario import Scenario

__all__ = [
    "ClosedLoop",
    "PlanSimulator",
    "StageTimer",
    "chance_cushions",
    "closed_loop_stage",
    "goal_cushions",
    "p_all_met",
    "unsecurable_lines",
    "unsecurable_targets",
]

logger = logging.getLogger(__name__)

_PLAN_COLUMNS = ["household_id", "package_id", "start_year"]


class StageTimer:
    """Wall seconds per named step; each :meth:`begin` ends the step before it.

    ``step`` (optional) is called with each step's name as it starts.
    """

    def __init__(self, step: Callable[[str], None] | None = None) -> None:
        self.timings: dict[str, float] = {}
        self._step = step
        self._clock = time.perf_counter()
        self._current: str | None = None

    def begin(self, name: str) -> None:
        """End the running step (if any) and start ``name``."""
        self.finish()
        self._current = name
        self.timings[name] = 0.0
        if self._step:
            self._step(name)

    def finish(self) -> None:
        """End the running step."""
        now = time.perf_counter()
        if self._current is not None:
            self.timings[self._current] = now - self._clock
        self._clock = now
        self._current = None


def _fingerprint(*frames: pd.DataFrame) -> str:
    """A content hash of tables (columns, dtypes and values, in row order)."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
        digest.update(str(len(frame)).encode())
        if len(frame.columns):
            hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
            digest.update(hashed.tobytes())
        digest.update(b"|")
    return digest.hexdigest()


class PlanSimulator:
    """Simulates plans for one run and reuses a simulation of an identical plan.

    Parameters
    ----------
    scenario, catalogue:
        The run's scenario (its seed) and catalogue.
    replications:
        Monte Carlo replications of every simulation.
    workers:
        Processes (results do not depend on it).
    villages:
        The registry's villages (``village_id, is_poor_village``): the poor villages whose
        exit by 2017 is one of the plan's goals in ``target_probability``.

    Attributes
    ----------
    simulated, reused:
        Simulations run, and requests answered from an earlier one.
    """

    def __init__(
        self,
        scenario: Scenario,
        catalogue: Catalogue,
        replications: int,
        workers: int = 1,
        villages: pd.DataFrame | None = None,
    ) -> None:
        self.scenario = scenario
        self.villages = villages
        self.catalogue = catalogue
        self.replications = replications
        self.workers = workers
        self.simulated = 0
        self.reused = 0
        self._done: dict[str, SimulationResult] = {}

    def simulate(
        self, households: pd.DataFrame, plan: pd.DataFrame, village_plan: pd.DataFrame
    ) -> SimulationResult:
        """Simulate ``plan`` (``household_id, package_id, start_year``) over ``households``.

        The same households (ids, in order), plan rows and village works as an earlier call
        give that call's result: with the same seed and replications the simulation would be
        identical, draw for draw.
        """
        plan = plan[_PLAN_COLUMNS]
        key = _fingerprint(households[["household_id"]], plan, village_plan)
        if key in self._done:
            self.reused += 1
            logger.info("plan simulated before (%d households): result reused", len(households))
            return self._done[key]
        result = simulate(
            households,
            plan,
            self.scenario,
            village_plan=village_plan,
            replications=self.replications,
            workers=self.workers,
            catalogue=self.catalogue,
            poor_villages=self.villages,
        )
        self.simulated += 1
        self._done[key] = result
        return result


def exit_rows(target_probability: pd.DataFrame) -> pd.DataFrame:
    """The exit targets' rows of ``target_probability`` (the LP's targets; the plan's goals
    beyond exit counts, ``target`` ≠ ``exits``, are left out)."""
    if "target" not in target_probability:
        return target_probability
    return target_probability[target_probability["target"].astype(str) == "exits"]


def p_all_met(result: SimulationResult) -> float:
    """P(every target of the plan years is met): the share of replications meeting all."""
    return float(result.meta["p_all_targets_met"])


@dataclass(frozen=True)
class ClosedLoop:
    """Stage 6: the rounds of the closed loop and the plan it settled on.

    Attributes
    ----------
    rounds:
        Table ``closed_loop``: ``round, targets_below_confidence, targets_secured,
        lowest_p_met, p_all_targets_met, fiscal_yuan, penalty_yuan, expected_missing_exits,
        raised_targets, best, cannot_be_secured``.
    first:
        Round 0's allocation (the plan's own targets): the shortfall diagnosis and the
        factor-method comparison use it.
    last, plans, simulation:
        The BEST round's allocation (highest P(all targets met), then most targets secured,
        then least fiscal money), its household plan and that plan's simulation over the
        registered households.
    unsecurable:
        The targets no money can secure, once each: ``county_id, villages, year,
        required_exits, missing_exits, binding_resource, reason`` (planner terms: how many
        more households would have to exit by that year and what binds).
    simulator:
        The run's :class:`PlanSimulator` (the later stages simulate through it).
    """

    rounds: pd.DataFrame
    first: AllocationStage
    last: AllocationStage
    plans: HouseholdPlans
    simulation: SimulationResult
    simulator: PlanSimulator = field(repr=False)
    unsecurable: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def shortfall(self) -> pd.DataFrame:
        """Round 0's shortfall: later rounds only add safety cushions to the plan's targets."""
        return self.first.result.shortfall

    @property
    def best_round(self) -> int:
        """The round the loop settled on."""
        return int(self.last.round)


_GROUP = ["county_id", "villages", "year"]


def unsecurable_targets(allocation: AllocationStage) -> pd.DataFrame:
    """Targets the LP misses even in expectation (round 0): no money can secure them.

    The shortfall diagnosis (round 0) names the households that would have to exit and what
    binds; a missed target that more money would close is securable and not listed. The
    plan's goals (``target`` ≠ ``exits``) are listed when even unlimited money and capacity
    leave them short (``goal_shortfall.unreachable``); ``required_exits`` and
    ``missing_exits`` are then in the goal's unit (yuan per person, or people).
    """
    shortfall = allocation.result.shortfall
    missed = shortfall[~shortfall["met"].astype(bool) & shortfall["extra_yuan_to_close"].isna()]
    out = missed[[*_GROUP, "target_exits", "missing_exits", "binding_resource", "message"]]
    out = out.rename(columns={"target_exits": "required_exits", "message": "reason"})
    out.insert(0, "target", "exits")
    goals = allocation.result.goal_shortfall
    if len(goals):
        lost = goals[~goals["met"].astype(bool) & (goals["unreachable"] > MET_TOLERANCE)]
        rows = pd.DataFrame(
            {
                "target": lost["goal"],
                **{c: lost[c] for c in _GROUP},
                "required_exits": lost["required"],
                "missing_exits": lost["unreachable"],
                "binding_resource": [
                    "income_yield" if g == "immigrant_income" else "exit_yield"
                    for g in lost["goal"]
                ],
                "reason": lost["message"],
            }
        )
        out = pd.concat([out, rows], ignore_index=True) if len(out) else rows
    return out.reset_index(drop=True)


def _goal_margin_key(goal: str, county: str, villages: str, year: int) -> tuple[str, str, int]:
    """The closed loop's margin key of an LP goal (:func:`fupinsim.allocate.goals.lp_goals`)."""
    name = goal if goal == "immigrant_income" else f"{goal}_{county}"
    return goal_key(name, villages, year)


def goal_cushions(
    simulated: SimulationResult,
    allocation: AllocationStage,
    confidence: float,
    minimum_step: float,
    skip: set[tuple[str, str, int]],
) -> dict[tuple[str, str, int], float]:
    """Cushions for the plan goals the LP meets in expectation but the simulation below
    ``confidence`` (their quantile deterministic equivalents, like :func:`chance_cushions`).

    ``immigrant_income``: the LP's required income rises by z σ / mean (the simulated spread,
    σ = (mean − q05) / 1.645, relative to the mean) and at least ``minimum_step``;
    ``village_exit`` (simulated city-wide, every poor village): every group's allowed remaining
    poor people shrink by ``minimum_step`` more of the threshold. Never lowered. A goal in
    ``skip`` (no money can secure it, or the LP missed it once raised) is left alone.
    """
    tp = simulated.target_probability
    if "target" not in tp:
        return {}
    z = NormalDist().inv_cdf(confidence)
    below = tp[(tp["target"].astype(str) != "exits") & (tp["p_met"] < confidence)]
    goals = allocation.result.goal_shortfall
    current = allocation.margins
    out: dict[tuple[str, str, int], float] = {}
    for row in below.to_dict("records"):
        kind = str(row["target"])
        for g, c, v, y, met in goals[["goal", *_GROUP, "met"]].itertuples(index=False):
            if g != kind or not met:
                continue
            key = _goal_margin_key(str(g), str(c), str(v), int(y))
            if key in skip:
                continue
            before = float(current.get(key, 0.0))
            share = before + minimum_step
            mean, low = float(row["projected_exits_mean"]), float(row["projected_exits_p05"])
            if kind == "immigrant_income" and mean > 0:
                share = max(share, z * max(0.0, mean - low) / 1.645 / mean)
            out[key] = min(share, 1.0) if kind == "village_exit" else share
    return out


def _goal_keys(goals: pd.DataFrame) -> set[tuple[str, str, int]]:
    """Margin keys of the goals of a ``goal_shortfall``-like table (``goal`` or ``target``)."""
    column = "goal" if "goal" in goals else "target"
    return {
        _goal_margin_key(str(g), str(c), str(v), int(y))
        for g, c, v, y in goals[[column, *_GROUP]].itertuples(index=False)
    }


def _keys(frame: pd.DataFrame) -> set[tuple[str, str, int]]:
    return {(str(c), str(v), int(y)) for c, v, y in frame[_GROUP].itertuples(index=False)}


def chance_cushions(
    simulated: SimulationResult,
    allocation: AllocationStage,
    plan_years: set[int],
    confidence: float,
    minimum_step: float,
    skip: set[tuple[str, str, int]],
) -> dict[tuple[str, str, int], float]:
    """New LP targets (as shares above the required exits) for the targets below confidence.

    A quantile (normal) deterministic equivalent of the chance constraint P(exits ≥ required)
    ≥ ``confidence``: the plan's simulated exits have mean μ and spread σ (from the 5% quantile,
    σ = (μ − q05) / 1.645); the LP's expected exits E must reach required + z σ + (E − μ),
    the last term correcting the yields' bias against the simulation. Raised at least by
    ``minimum_step`` of the required exits and never lowered (so the loop converges).
    """
    z = NormalDist().inv_cdf(confidence)
    tp = exit_rows(simulated.target_probability)
    tp = tp[tp["year"].isin(plan_years) & (tp["p_met"] < confidence)]
    projected = allocation.result.shortfall.set_index(_GROUP)["projected_exits"]
    current = allocation.margins
    out: dict[tuple[str, str, int], float] = {}
    for row in tp.to_dict("records"):
        key = (str(row["county_id"]), str(row["villages"]), int(row["year"]))
        required = float(row["required_exits"])
        if key in skip or not required > 0:
            continue
        mean, low = float(row["projected_exits_mean"]), float(row["projected_exits_p05"])
        sigma = max(0.0, (mean - low) / 1.645)
        expected = float(projected.get(key, mean))
        share = (required + z * sigma + (expected - mean)) / required - 1.0
        before = float(current.get(key, 0.0))
        out[key] = max(share, before + minimum_step)
    return out


def _round_row(
    setup: RegistryStage,
    allocation: AllocationStage,
    simulated: SimulationResult,
    unsecurable: set[tuple[str, str, int]],
) -> dict[str, Any]:
    """One row of the ``closed_loop`` table."""
    confidence = setup.scenario.allocation.required_confidence
    tp = exit_rows(simulated.target_probability)
    tp = tp[tp["year"].isin(setup.plan_years)]
    unsafe = tp[tp["p_met"] < confidence]
    summary = allocation.result.summary
    penalty = allocation.model.settings.shortfall_penalty_yuan * float(summary["missing_exits"])
    penalty += float(summary.get("goal_penalty_yuan", 0.0))
    return {
        "round": allocation.round,
        "targets_below_confidence": len(unsafe),
        "targets_secured": int(len(tp) - len(unsafe)),
        "securable_below_confidence": len(_keys(unsafe) - unsecurable),
        "lowest_p_met": float(tp["p_met"].min()),
        "p_all_targets_met": p_all_met(simulated),
        "fiscal_yuan": float(summary["fiscal_yuan"]),
        "penalty_yuan": penalty,
        "expected_missing_exits": float(summary["missing_exits"]),
        "raised_targets": ", ".join(
            f"{c}/{v}/{y}"
            for c, v, y in sorted(allocation.margins)
            if allocation.margins[(c, v, y)]
        ),
    }


def unsecurable_lines(unsecurable: pd.DataFrame) -> list[str]:
    """The targets no money can secure (:func:`unsecurable_targets`), one line each."""
    if not len(unsecurable):
        return []
    target = unsecurable["target"] if "target" in unsecurable else ["exits"] * len(unsecurable)
    return [
        _unsecurable_text(t, c, v, y, m, b)
        for t, (c, v, y, m, b) in zip(
            target,
            unsecurable[[*_GROUP, "missing_exits", "binding_resource"]].itertuples(index=False),
            strict=True,
        )
    ]


def _unsecurable_text(
    target: str, county: str, villages: str, year: int, missing: float, binding: str
) -> str:
    """One target no money can secure, in planner terms."""
    if target == "immigrant_income":
        return (
            f"immigrant villages' income {year}: {missing:,.0f} yuan per person short even "
            f"with unlimited money ({binding})"
        )
    if target == "village_exit":
        return (
            f"{county}/{villages} poor villages {year}: {missing:.0f} more people of poor "
            f"households would have to exit ({binding})"
        )
    return (
        f"{county}/{villages}/{year}: {missing:.0f} more households would have to exit ({binding})"
    )


def _score(row: dict[str, Any]) -> tuple[float, int, float]:
    """Best round: highest P(all met), then most targets secured, then least money."""
    return (row["p_all_targets_met"], row["targets_secured"], -row["fiscal_yuan"])


def closed_loop_stage(
    setup: RegistryStage,
    funding: FundingTables,
    yields: ExitYields,
    allocation: AllocationStage,
    plans: HouseholdPlans,
    *,
    replications: int | None = None,
    workers: int = 1,
    simulator: PlanSimulator | None = None,
    timer: StageTimer | None = None,
) -> ClosedLoop:
    """Stage 6: simulate, raise the LP targets of the targets below confidence, re-plan.

    Each round simulates the plan; every plan-year target whose P(met) is below
    ``allocation.required_confidence`` and that money can secure gets its chance-aware
    cushion (:func:`chance_cushions`), and the LP is solved again. The loop stops when every
    securable target is secured, when a round secures nothing more, or after
    ``allocation.loop_rounds`` rounds; it keeps the best round. Targets no money can secure
    (round 0's shortfall diagnosis) are never raised and are reported once.

    Parameters
    ----------
    setup, funding, yields:
        Stages 1-3.
    allocation, plans:
        Round 0 (stages 4 and 5); later rounds re-solve with the same objective.
    replications:
        Monte Carlo replications; default ``scenario.microsim.replications``.
    workers:
        Processes for the microsimulation (results do not depend on it).
    simulator:
        A :class:`PlanSimulator` to use (default: a new one with ``replications`` and
        ``workers``).
    timer:
        Records ``closed loop round k``, ``allocation round k`` and ``household plans round k``.
    """
    scenario = setup.scenario
    settings = scenario.allocation
    reps = replications or scenario.microsim.replications
    simulator = simulator or PlanSimulator(
        scenario, setup.catalogue, reps, workers, villages=setup.registry.villages
    )
    objective = allocation.model.settings.objective
    unsecurable = unsecurable_targets(allocation)
    is_exit = unsecurable["target"] == "exits"
    skip = _keys(unsecurable[is_exit])
    goal_skip = _goal_keys(unsecurable[~is_exit])
    capped: set[tuple[str, str, int]] = set()
    rows: list[dict[str, Any]] = []
    first = current = allocation
    best: tuple[AllocationStage, HouseholdPlans, SimulationResult] | None = None
    best_score: tuple[float, int, float] | None = None
    while True:
        if timer:
            timer.begin(f"closed loop round {current.round}")
        simulated = simulator.simulate(setup.registered, plans.plan, setup.village_plan)
        row = _round_row(setup, current, simulated, skip)
        rows.append(row)
        if best_score is None or _score(row) > best_score:
            best, best_score = (current, plans, simulated), _score(row)
        goal_pad = goal_cushions(simulated, current, settings.required_confidence,
                                 settings.margin_step, goal_skip)  # fmt: skip
        if current.round > 0:
            # A raised target the LP now misses cannot be secured further: stop raising it.
            capped |= _keys(current.result.shortfall.loc[lambda f: ~f["met"].astype(bool)])
            missed = current.result.goal_shortfall
            if len(missed):
                goal_skip |= _goal_keys(missed[~missed["met"].astype(bool)])
        if (
            row["securable_below_confidence"] == 0 and not goal_pad
        ) or current.round >= settings.loop_rounds:
            break
        cushions = chance_cushions(
            simulated,
            current,
            setup.plan_years,
            settings.required_confidence,
            settings.margin_step,
            skip | capped,
        )
        cushions.update(goal_pad)
        if not cushions:
            break
        margins = {**current.margins, **cushions}
        next_round = current.round + 1
        if timer:
            timer.begin(f"allocation round {next_round}")
        current = allocate_stage(
            setup, funding, yields, margins=margins, objective=objective, round_number=next_round
        )
        if timer:
            timer.begin(f"household plans round {next_round}")
        plans = household_plans_stage(setup, yields, current)
    assert best is not None
    table = pd.DataFrame(rows)
    table["best"] = table["round"] == best[0].round
    table["cannot_be_secured"] = ""
    table.loc[0, "cannot_be_secured"] = "; ".join(unsecurable_lines(unsecurable))
    return ClosedLoop(table, first, best[0], best[1], best[2], simulator, unsecurable)
