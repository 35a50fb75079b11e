""":func:`run_pipeline`: the nine stages in order, timed, with an optional progress callback."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from fupinsim.pipeline.assumptions import projection_with_assumptions, with_assumptions
from fupinsim.pipeline.compare import comparison_stage
from fupinsim.pipeline.loop import PlanSimulator, StageTimer, closed_loop_stage
from fupinsim.pipeline.registry_years import with_living_registry
from fupinsim.pipeline.results import PipelineResult
from fupinsim.pipeline.stages import (
    allocate_stage,
    funding_stage,
    household_plans_stage,
    registry_stage,
    yields_stage,
)
from fupinsim.pipeline.tables import tables_stage
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

__all__ = ["STAGES", "OnStage", "Step", "run_pipeline", "step_names"]

logger = logging.getLogger(__name__)

#: The stages of a run, in order (the names :data:`OnStage` receives).
STAGES: tuple[str, ...] = (
    "registry",
    "funding",
    "yields",
    "allocate",
    "household_plans",
    "closed_loop",
    "comparison",
    "projection",
    "tables",
)
#: Progress callback ``on_stage(name, index, total)``: called as each of :data:`STAGES`
#: starts, with ``index`` the number of stages already finished (0 … total − 1) and ``total``
#: ``len(STAGES)``, so a progress bar knows its length from the first call.
OnStage = Callable[[str, int, int], None]
#: Older progress callback: called with the name of every timed step as it starts (the stages,
#: and within the closed loop ``allocation round k``, ``household plans round k``, …).
Step = Callable[[str], None]


#: The last name ``step`` is called with, when the run is finished.
DONE = "done"


def step_names(scenario: Scenario) -> tuple[str, ...]:
    """The names :func:`run_pipeline` calls ``step`` with, in order (the closed loop may stop
    before its last round), ending with :data:`DONE`. Progress bars use it as their total."""
    rounds = range(scenario.allocation.loop_rounds + 1)
    loop = [
        name
        for r in rounds
        for name in (
            f"allocation round {r}",
            f"household plans round {r}",
            f"closed loop round {r}",
        )
    ]
    return (
        "registry",
        "funding",
        "yields",
        *loop,
        "comparison",
        "final projection",
        "assumptions",
        "tables",
        DONE,
    )


def _log_run(scenario: Scenario, simulator: PlanSimulator, timer: StageTimer) -> None:
    logger.info(
        "%s: %d simulations run, %d reused; %s",
        scenario.id,
        simulator.simulated,
        simulator.reused,
        ", ".join(f"{k} {v:.2f} s" for k, v in timer.timings.items()),
    )


def run_pipeline(
    scenario: Scenario,
    *,
    registry: Registry | None = None,
    objective: str | None = None,
    replications: int | None = None,
    workers: int = 1,
    on_stage: OnStage | None = None,
    step: Step | None = None,
) -> PipelineResult:
    """Run the whole plan for a scenario: every stage of :data:`STAGES` in order.

    Parameters
    ----------
    scenario:
        The validated scenario.
    registry:
        A registry read from a file; default the scenario's synthetic registry.
    objective:
        ``min_cost`` or ``max_exits``; default ``scenario.allocation.objective``.
    replications:
        Monte Carlo replications of the closed loop and projections; default the scenario's.
    workers:
        Processes for the microsimulation (results do not depend on it).
    on_stage:
        Progress: ``on_stage(name, index, total)`` as each stage starts (see :data:`OnStage`).
    step:
        Progress: called with each timed step's name as it starts (see :data:`Step`).

    Returns
    -------
    PipelineResult
        A :class:`~.results.RunTables` (every table, manifest facts, timings in seconds per
        step) with the scenario, registry, last LP and allocation and the simulations.
    """
    timer = StageTimer(step)

    def start(stage: str, timing: str | None = "") -> None:
        """Report ``stage`` and time it as ``timing`` (default its name; None: it times itself)."""
        if on_stage:
            on_stage(stage, STAGES.index(stage), len(STAGES))
        if timing is not None:
            timer.begin(timing or stage)

    start("registry")
    setup = registry_stage(scenario, registry)
    start("funding")
    funding = funding_stage(scenario)
    start("yields")
    yields = yields_stage(setup, workers=workers)
    start("allocate", "allocation round 0")
    allocation = allocate_stage(setup, funding, yields, objective=objective)
    start("household_plans", "household plans round 0")
    plans = household_plans_stage(setup, yields, allocation)
    start("closed_loop", None)  # times its rounds itself
    reps = replications or scenario.microsim.replications
    simulator = PlanSimulator(scenario, setup.catalogue, reps, workers, setup.registry.villages)
    loop = closed_loop_stage(
        setup, funding, yields, allocation, plans, simulator=simulator, timer=timer
    )
    start("comparison")
    comparison = comparison_stage(setup, funding, yields, loop)
    start("projection", "final projection")
    final, drawn = projection_with_assumptions(setup, loop, timer)  # + "assumptions" (issue 12)
    start("tables")
    tables = tables_stage(setup, funding, yields, loop, comparison, final)
    tables = with_living_registry(with_assumptions(tables, drawn), setup, final)  # issue 10
    timer.finish()
    if step is not None:
        step(DONE)
    _log_run(scenario, simulator, timer)
    fields = {f.name: getattr(tables, f.name) for f in dataclasses.fields(tables)}
    return PipelineResult(
        **{**fields, "timings": dict(timer.timings)},
        scenario=scenario,
        registry=setup.registry,
        model=loop.last.model,
        allocation_result=loop.last.result,
        simulations={**comparison.simulations, "final": final},
    )
