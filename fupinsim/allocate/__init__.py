"""Allocation of money to counties, household types, packages and years (PuLP LP).

Stages, each public so a notebook can stop between them (after PyPSA's optimise):

1. :func:`build_model` (:mod:`.model`): validated inputs (:class:`AllocationInputs`, described in
   :mod:`.inputs`) → an :class:`AllocationModel` holding the PuLP problem;
2. :func:`solve_model` (:mod:`.solve`): HiGHS (CBC as fallback) → :class:`SolveResult` with one
   :class:`SolveStatus`; :func:`write_mps` writes the LP for anyone to re-solve;
3. :func:`extract_results` (:mod:`.results`): → :class:`AllocationResult` (allocation,
   shortfall with the money that would close it, marginal cost, money value, unused money).

Also: the factor-method baseline (:mod:`.factor`) and the household plans (:mod:`.households`).
:func:`allocate` runs the three stages in one call.
"""

from __future__ import annotations

from fupinsim.allocate.entitlements import entitlement_reach, plan_add_ons
from fupinsim.allocate.factor import (
    FactorResult,
    FactorWeights,
    compare_allocations,
    county_factors,
    factor_allocation,
    factor_shares,
    factor_split,
)
from fupinsim.allocate.households import (
    QuotaWarning,
    assign_households,
    expected_exit_years,
    round_quotas,
)
from fupinsim.allocate.inputs import (
    CITY_POOL,
    CREDIT_RESOURCE,
    PACKAGE_NONE,
    AllocationInputs,
    PreparedInputs,
    prepare_inputs,
)
from fupinsim.allocate.model import AllocationModel, ModelSettings, build_model
from fupinsim.allocate.results import (
    AllocationResult,
    extract_results,
    project_exits,
    target_table,
)
from fupinsim.allocate.solve import (
    SolveResult,
    SolverLimitWarning,
    SolveSettings,
    SolveStatus,
    solve_model,
    solve_problem,
    write_mps,
)

__all__ = [
    "CITY_POOL",
    "CREDIT_RESOURCE",
    "PACKAGE_NONE",
    "AllocationInputs",
    "AllocationModel",
    "AllocationResult",
    "FactorResult",
    "FactorWeights",
    "ModelSettings",
    "PreparedInputs",
    "QuotaWarning",
    "SolveResult",
    "SolveSettings",
    "SolveStatus",
    "SolverLimitWarning",
    "allocate",
    "assign_households",
    "build_model",
    "compare_allocations",
    "county_factors",
    "entitlement_reach",
    "expected_exit_years",
    "extract_results",
    "factor_allocation",
    "factor_shares",
    "factor_split",
    "plan_add_ons",
    "prepare_inputs",
    "project_exits",
    "round_quotas",
    "solve_model",
    "solve_problem",
    "target_table",
    "write_mps",
]


def allocate(
    inputs: AllocationInputs,
    model_settings: ModelSettings | None = None,
    solve_settings: SolveSettings | None = None,
    *,
    close_gaps: bool = True,
) -> AllocationResult:
    """Build, solve and extract in one call (raises :class:`~fupinsim.errors.SolverError`).

    Parameters
    ----------
    inputs:
        The allocation inputs.
    model_settings, solve_settings:
        Defaults as in :class:`ModelSettings` and :class:`SolveSettings`.
    close_gaps:
        Compute the extra money that would close each missed target.
    """
    model = build_model(inputs, model_settings)
    solution = solve_model(model, solve_settings)
    return extract_results(model, solution, solve_settings, close_gaps=close_gaps)
