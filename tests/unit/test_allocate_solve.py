"""Solving: one status enum, limits, infeasibility, fallback, dual signs, MPS, no banner."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import highspy
import numpy as np
import pulp
import pytest
from allocation_toy import SHORT_MONEY, toy_inputs

from fupinsim.allocate import (
    ModelSettings,
    SolverLimitWarning,
    SolveSettings,
    SolveStatus,
    build_model,
    extract_results,
    solve_model,
    solve_problem,
    write_mps,
)
from fupinsim.allocate import solve as solve_module
from fupinsim.allocate.solve import status_from_cbc, status_from_highs
from fupinsim.errors import SolverError

SOLVERS = ["highs", "cbc"]
HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    ("model_status", "primal", "expected"),
    [
        ("kOptimal", 2, SolveStatus.OPTIMAL),
        ("kInfeasible", 0, SolveStatus.INFEASIBLE),
        ("kUnboundedOrInfeasible", 0, SolveStatus.INFEASIBLE),
        ("kUnbounded", 2, SolveStatus.UNBOUNDED),
        ("kTimeLimit", 2, SolveStatus.FEASIBLE),
        ("kTimeLimit", 1, SolveStatus.NOT_SOLVED),  # PuLP would say "Optimal" here
        ("kTimeLimit", 0, SolveStatus.NOT_SOLVED),
        ("kSolutionLimit", 2, SolveStatus.FEASIBLE),  # PuLP 3.3 raises KeyError here
        ("kIterationLimit", 1, SolveStatus.NOT_SOLVED),
        ("kNotset", 0, SolveStatus.ERROR),  # e.g. HiGHS in a forked child
        ("kSolveError", 0, SolveStatus.ERROR),
    ],
)
def test_highs_status_translation(model_status: str, primal: int, expected: SolveStatus) -> None:
    assert status_from_highs(model_status, primal) is expected


@pytest.mark.parametrize(
    ("status", "sol_status", "expected"),
    [
        (1, 1, SolveStatus.OPTIMAL),
        (1, 2, SolveStatus.FEASIBLE),  # "Optimal" / "Solution Found": a limit stopped CBC
        (-1, -1, SolveStatus.INFEASIBLE),
        (-1, 0, SolveStatus.INFEASIBLE),  # MIP proven integer-infeasible
        (-2, -2, SolveStatus.UNBOUNDED),
        (0, 0, SolveStatus.NOT_SOLVED),
        (-3, 0, SolveStatus.ERROR),
    ],
)
def test_cbc_status_translation(status: int, sol_status: int, expected: SolveStatus) -> None:
    assert status_from_cbc(status, sol_status) is expected


def test_only_optimal_and_feasible_are_ok() -> None:
    assert {s for s in SolveStatus if s.is_ok} == {SolveStatus.OPTIMAL, SolveStatus.FEASIBLE}


@pytest.mark.parametrize("solver", SOLVERS)
def test_an_infeasible_model_raises_and_leaves_no_stale_values(solver: str) -> None:
    """A hard constraint that contradicts a bound (at least 150 of 100 households)."""
    model = build_model(toy_inputs())
    solve_model(model, SolveSettings(solver=solver))  # values now set
    var = model.x[("ta", "p1", 2015)]
    model.problem.addConstraint(
        pulp.LpConstraint(pulp.LpAffineExpression([(var, 1.0)]), pulp.LpConstraintGE, "hard", 150)
    )
    with pytest.raises(SolverError, match="infeasible") as info:
        solve_model(model, SolveSettings(solver=solver, fallback=False))
    assert solver in str(info.value)
    assert var.varValue is None
    result = solve_model(model, SolveSettings(solver=solver), check=False)
    assert result.status is SolveStatus.INFEASIBLE
    assert not result.values


@pytest.mark.parametrize(
    ("solver", "options"),
    [
        ("highs", {"time_limit": 0.0}),
        # CBC reports such a stop as "Optimal / Solution Found" with an infeasible point.
        ("cbc", {"cbc_options": ["sec 0"]}),
    ],
)
def test_a_limit_without_a_solution_is_not_solved_and_raises(
    solver: str, options: dict[str, object]
) -> None:
    model = build_model(toy_inputs())
    settings = SolveSettings(solver=solver, options=options, fallback=False)
    result = solve_model(model, settings, check=False)
    assert result.status is SolveStatus.NOT_SOLVED
    assert not result.values
    with pytest.raises(SolverError, match="limit"):
        solve_model(model, settings)


def knapsack(seed: int = 0, n: int = 40) -> pulp.LpProblem:
    """A 3-row 0-1 knapsack (maximise value as minimising its negative)."""
    rng = np.random.default_rng(seed)
    problem = pulp.LpProblem("knapsack", pulp.LpMinimize)
    xs = [problem.add_variable(f"x{i}", 0, 1, cat="Integer") for i in range(n)]
    value = rng.integers(10, 100, n)
    for j in range(3):
        weight = rng.integers(10, 100, n)
        expr = pulp.LpAffineExpression([(x, float(w)) for x, w in zip(xs, weight, strict=True)])
        problem.addConstraint(
            pulp.LpConstraint(expr, pulp.LpConstraintLE, f"cap{j}", float(weight.sum() / 2))
        )
    problem.setObjective(
        pulp.LpAffineExpression([(x, -float(v)) for x, v in zip(xs, value, strict=True)])
    )
    return problem


@pytest.mark.parametrize(
    ("solver", "options"),
    [
        ("highs", {"mip_max_improving_sols": 1}),
        ("cbc", {"cbc_options": ["maxSolutions 1"]}),
    ],
)
def test_a_limit_with_a_solution_is_feasible_with_a_warning(
    solver: str, options: dict[str, object]
) -> None:
    """Stopped at the first incumbent (a solution limit, same path as a time limit)."""
    settings = SolveSettings(solver=solver, options=options, fallback=False)
    with pytest.warns(SolverLimitWarning, match="feasible but unproven"):
        result = solve_problem(knapsack(), settings)
    assert result.status is SolveStatus.FEASIBLE
    assert result.status.is_ok
    best = solve_problem(knapsack(), SolveSettings(solver=solver, fallback=False))
    assert best.status is SolveStatus.OPTIMAL
    assert result.objective_value >= best.objective_value - 1e-9
    assert len(result.values) == 40


def test_fallback_to_cbc_when_highs_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solve_module, "_highs_class", lambda: None)
    model = build_model(toy_inputs())
    result = solve_model(model, SolveSettings(solver="highs"))
    assert result.solver == "cbc"
    assert result.status is SolveStatus.OPTIMAL
    assert result.fallback_from is not None
    assert "HiGHS is not available" in result.fallback_from
    with pytest.raises(SolverError, match="HiGHS is not available"):
        solve_model(model, SolveSettings(solver="highs", fallback=False))


def test_max_exits_dual_signs_agree_between_solvers() -> None:
    """max_exits is built as minimisation, so HiGHS and CBC give the same budget duals: ≤ 0
    in the LP, ≥ 0 as exits per extra yuan. b's last yuan buys p1/2016 at 1,800 yuan per exit;
    the tie-breaks add 1e-4 of an exit per missing target exit (b is short) and cost 1e-9 per
    yuan spent: (1 + 1e-4) / 1,800 − 1e-9 exactly."""
    values = {}
    for solver in SOLVERS:
        model = build_model(toy_inputs(SHORT_MONEY), ModelSettings(objective="max_exits"))
        solution = solve_model(model, SolveSettings(solver=solver, fallback=False))
        raw = solution.dual(model.budget_rows[("b", 2016)])
        assert raw < 0
        result = extract_results(model, solution, close_gaps=False)
        value = result.money_value.set_index(["pool", "year"])
        values[solver] = value["exits_per_extra_yuan"]
        assert value.loc[("b", 2016), "exits_per_extra_yuan"] == pytest.approx(
            (1 + 1e-4) / 1_800 - 1e-9, rel=1e-7
        )
        assert value.loc[("a", 2015), "exits_per_extra_yuan"] == 0.0
        assert (value["exits_per_extra_yuan"] >= 0).all()
    np.testing.assert_allclose(values["highs"], values["cbc"], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("objective", ["min_cost", "max_exits"])
def test_the_mps_file_resolved_by_highspy_gives_the_same_objective(
    objective: str, tmp_path: Path
) -> None:
    model = build_model(toy_inputs(SHORT_MONEY), ModelSettings(objective=objective))
    solution = solve_model(model)
    path = write_mps(model, tmp_path / "allocation_model.mps")
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.readModel(str(path))
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    again = highs.getInfo().objective_function_value
    assert again == pytest.approx(solution.objective_value, rel=1e-9, abs=1e-9)


def test_no_highs_banner_on_stdout() -> None:
    """A fresh process (the banner prints once per process) prints only its JSON."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from allocation_toy import toy_inputs;"
        "from fupinsim.allocate import build_model, solve_model, SolveSettings;"
        "r = solve_model(build_model(toy_inputs()), SolveSettings(solver='highs', fallback=False));"
        "print(json.dumps({'objective': r.objective_value, 'solver': r.solver}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(HERE)], capture_output=True, text=True, check=True
    )
    assert json.loads(run.stdout) == {"objective": 198_000.0, "solver": "highs"}
    assert "HiGHS" not in run.stdout


def test_solve_settings_come_from_the_scenario() -> None:
    from fupinsim.scenario import load_scenario

    scenario = load_scenario(HERE.parents[1] / "scenarios" / "plan_2015.yaml")
    settings = SolveSettings.from_scenario(scenario)
    assert settings.solver == scenario.allocation.solver
    assert settings.time_limit_s == scenario.allocation.time_limit_s
    assert settings.gap_rel == scenario.allocation.gap_rel


def test_a_feasible_warning_is_not_raised_for_an_optimum() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverLimitWarning)
        assert solve_model(build_model(toy_inputs())).status is SolveStatus.OPTIMAL
