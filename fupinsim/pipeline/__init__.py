"""The whole planning run for one scenario, as stages you can stop between.

This is the only package that joins the microsimulation and the allocation (layer 6 in
``docs/contracts.md``). It computes; it never writes files (:mod:`fupinsim.io.run` writes a run
to a folder). :func:`run_pipeline` runs the stages in order (:data:`STAGES`); each is also a
public function that takes the previous stages' results (frozen dataclasses), as PyPSA's
optimise is check → build → hook → solve → write back:

1. **registry** (:func:`registry_stage` → :class:`RegistryStage`): the scenario's synthetic
   registry (or one given), exit targets, catalogue, village works.
2. **funding** (:func:`funding_stage` → :class:`~fupinsim.funding.FundingTables`): revenue,
   earmarks and the other pools (:mod:`fupinsim.funding`).
3. **yields** (:func:`yields_stage` → :class:`~fupinsim.allocate.yields.ExitYields`): exit
   yields per household type, package and start year (microsimulation).
4. **allocate** (:func:`allocate_stage` → :class:`AllocationStage`): the LP (objective from the
   scenario or the caller) → quotas, shortfalls.
5. **household plans** (:func:`household_plans_stage` → :class:`HouseholdPlans`): quotas given
   to the households with the best predicted gain.
6. **closed loop** (:func:`closed_loop_stage` → :class:`ClosedLoop`): Monte Carlo of the
   household plan → P(target met); targets below ``allocation.required_confidence`` get a
   safety margin of ``margin_step`` more, and stages 4-5 run again, at most ``loop_rounds``
   times. Every round is reported.
7. **comparison** (:func:`comparison_stage` → :class:`Comparison`): the factor-method
   baseline, planned and simulated the same way, and the reference plans ``baseline`` and
   ``uniform_1230``, in one comparison table.
8. **projection** (:func:`projection_stage` → :class:`~fupinsim.microsim.SimulationResult`):
   the chosen plan over the whole population of the villages concerned (headcount, village
   incidence, the immigrants' income goal).
9. **tables** (:func:`tables_stage` → :class:`RunTables`): every table of ``docs/contracts.md``
   and the manifest facts.

In a notebook::

    from fupinsim import pipeline as pl
    setup = pl.registry_stage(scenario)
    money = pl.funding_stage(scenario)
    yields = pl.yields_stage(setup)
    round_0 = pl.allocate_stage(setup, money, yields)
    plans_0 = pl.household_plans_stage(setup, yields, round_0)
    loop = pl.closed_loop_stage(setup, money, yields, round_0, plans_0, replications=50)
    comparison = pl.comparison_stage(setup, money, yields, loop)
    final = pl.projection_stage(setup, loop)
    run = pl.tables_stage(setup, money, yields, loop, comparison, final)
    run.shortfall  # every table is an attribute

Simulations go through one :class:`PlanSimulator` per run, which never simulates the same
plan over the same households twice (same seed and replications give the same draws): it
reuses the first result.
"""

from __future__ import annotations

from fupinsim.pipeline.compare import (
    REFERENCE_PLANS,
    Comparison,
    comparison_stage,
    projection_stage,
)
from fupinsim.pipeline.loop import (
    ClosedLoop,
    PlanSimulator,
    StageTimer,
    closed_loop_stage,
)
from fupinsim.pipeline.results import (
    OPTIONAL_TABLES,
    TABLE_NAMES,
    PipelineResult,
    RunTables,
)
from fupinsim.pipeline.run import STAGES, OnStage, Step, run_pipeline, step_names
from fupinsim.pipeline.stages import (
    AllocationStage,
    HouseholdPlans,
    Margins,
    RegistryStage,
    allocate_stage,
    funding_stage,
    household_plans_stage,
    registry_stage,
    yields_stage,
)
from fupinsim.pipeline.tables import run_manifest, tables_stage
from fupinsim.pipeline.works import village_works_plan, village_works_table

__all__ = [
    "OPTIONAL_TABLES",
    "REFERENCE_PLANS",
    "STAGES",
    "TABLE_NAMES",
    "AllocationStage",
    "ClosedLoop",
    "Comparison",
    "HouseholdPlans",
    "Margins",
    "OnStage",
    "PipelineResult",
    "PlanSimulator",
    "RegistryStage",
    "RunTables",
    "StageTimer",
    "Step",
    "allocate_stage",
    "closed_loop_stage",
    "comparison_stage",
    "funding_stage",
    "household_plans_stage",
    "projection_stage",
    "registry_stage",
    "run_manifest",
    "run_pipeline",
    "step_names",
    "tables_stage",
    "village_works_plan",
    "village_works_table",
    "yields_stage",
]
