"""Stage 6, the closed loop: simulate the household plan, raise unsafe targets, re-plan.

The household plan of an allocation is simulated (Monte Carlo over the registered households);
every plan-year target whose P(target met) is below ``allocation.required_confidence`` gets a
safety margin of ``allocation.margin_step`` more, and the LP is solved again, at most
``allocation.loop_rounds`` times. Every round is reported (table ``closed_loop``).

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
from typing import Any

import pandas as pd

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

__all__ = ["ClosedLoop", "PlanSimulator", "StageTimer", "closed_loop_stage", "p_all_met"]

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

    Attributes
    ----------
    simulated, reused:
        Simulations run, and requests answered from an earlier one.
    """

    def __init__(
        self, scenario: Scenario, catalogue: Catalogue, replications: int, workers: int = 1
    ) -> None:
        self.scenario = scenario
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
        )
        self.simulated += 1
        self._done[key] = result
        return result


def p_all_met(result: SimulationResult) -> float:
    """P(every target of the plan years is met): the share of replications meeting all."""
    return float(result.meta["p_all_targets_met"])


@dataclass(frozen=True)
class ClosedLoop:
    """Stage 6: the rounds of the closed loop and the plan it settled on.

    Attributes
    ----------
    rounds:
        Table ``closed_loop``: ``round, targets_below_confidence, lowest_p_met, fiscal_yuan,
        expected_missing_exits, raised_targets``.
    first:
        Round 0's allocation (the plan's own targets): the shortfall diagnosis and the
        factor-method comparison use it.
    last, plans, simulation:
        The last round's allocation, its household plan and that plan's simulation over the
        registered households.
    simulator:
        The run's :class:`PlanSimulator` (the later stages simulate through it).
    """

    rounds: pd.DataFrame
    first: AllocationStage
    last: AllocationStage
    plans: HouseholdPlans
    simulation: SimulationResult
    simulator: PlanSimulator = field(repr=False)

    @property
    def shortfall(self) -> pd.DataFrame:
        """Round 0's shortfall: later rounds only add safety margins to the plan's targets."""
        return self.first.result.shortfall


def _round_row(
    setup: RegistryStage, allocation: AllocationStage, simulated: SimulationResult
) -> tuple[dict[str, Any], pd.DataFrame]:
    """One row of the ``closed_loop`` table, and the plan-year targets below confidence."""
    tp = simulated.target_probability
    tp = tp[tp["year"].isin(setup.plan_years)]
    unsafe = tp[tp["p_met"] < setup.scenario.allocation.required_confidence]
    keys = unsafe[["county_id", "villages", "year"]]
    row = {
        "round": allocation.round,
        "targets_below_confidence": len(unsafe),
        "lowest_p_met": float(tp["p_met"].min()),
        "fiscal_yuan": float(allocation.result.summary["fiscal_yuan"]),
        "expected_missing_exits": float(allocation.result.summary["missing_exits"]),
        "raised_targets": ", ".join(f"{c}/{v}/{y}" for c, v, y in keys.itertuples(index=False)),
    }
    return row, keys


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
    """Stage 6: simulate, raise the unsafe targets and re-plan until safe or out of rounds.

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
    simulator = simulator or PlanSimulator(scenario, setup.catalogue, reps, workers)
    objective = allocation.model.settings.objective
    margins = dict(allocation.margins)
    rows: list[dict[str, Any]] = []
    first = current = allocation
    while True:
        if timer:
            timer.begin(f"closed loop round {current.round}")
        simulated = simulator.simulate(setup.registered, plans.plan, setup.village_plan)
        row, unsafe = _round_row(setup, current, simulated)
        rows.append(row)
        if unsafe.empty or current.round >= settings.loop_rounds:
            break
        for c, v, y in unsafe.itertuples(index=False):
            margins[(c, v, int(y))] = margins.get((c, v, int(y)), 0.0) + settings.margin_step
        next_round = current.round + 1
        if timer:
            timer.begin(f"allocation round {next_round}")
        current = allocate_stage(
            setup, funding, yields, margins=margins, objective=objective, round_number=next_round
        )
        if timer:
            timer.begin(f"household plans round {next_round}")
        plans = household_plans_stage(setup, yields, current)
    return ClosedLoop(pd.DataFrame(rows), first, current, plans, simulated, simulator)
