"""Solve a PuLP problem with HiGHS (default) or CBC, and say plainly what happened.

Stage 2 of three. PuLP's own statuses mislead in ways measured on the project's machine
(``CONTRIBUTING.md``, "Solver statuses"): a time limit is reported as "Optimal", HiGHS stopped
by a limit on an LP is "Optimal / integer feasible" even when its point is infeasible, an
infeasible model raises nothing and leaves stale values, HiGHS' solution-limit status makes
PuLP raise ``KeyError``, and HiGHS prints a banner on C-level stdout at its first model. So the
status is translated **once, here**, from the solver's own status into :class:`SolveStatus`:

* HiGHS: the model status plus ``primal_solution_status`` (2 = feasible point);
* CBC: PuLP's ``sol_status`` (1 optimal, 2 stopped with a solution, 0 none found, −1 none
  exists, −2 unbounded);
* a point reported as FEASIBLE is checked against every row and bound (relative tolerance
  ``feasibility_tol``); if it breaks one, the result is NOT_SOLVED.

Only OPTIMAL and FEASIBLE are accepted (:attr:`SolveStatus.is_ok`); FEASIBLE warns
(:class:`SolverLimitWarning`). Anything else raises :class:`~fupinsim.errors.SolverError` with the
solver, its status and the fix. When the chosen solver is not installed, raises, or fails
internally (status ERROR, e.g. HiGHS "Not Set" in a process forked after the parent ran HiGHS),
the other solver is tried and the result says so (``fallback_from``). Infeasible, unbounded
and limit outcomes are answers about the model, not solver failures, and are not retried.

The solution (variable values and row duals) is copied into the :class:`SolveResult`, so later
re-solves of the same problem (the shortfall diagnostics) cannot overwrite it.

File output is limited to :func:`write_mps`, which takes a path (the ``io`` layer chooses it).
"""

from __future__ import annotations

import enum
import math
import os
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import pulp

from fupinsim.errors import SolverError
from fupinsim.scenario import Scenario

if TYPE_CHECKING:
    from fupinsim.allocate.model import AllocationModel

__all__ = [
    "SolveResult",
    "SolveSettings",
    "SolveStatus",
    "SolverLimitWarning",
    "solve_model",
    "solve_problem",
    "status_from_cbc",
    "status_from_highs",
    "write_mps",
]

SolverName = Literal["highs", "cbc"]


class SolverLimitWarning(UserWarning):
    """The solver stopped at a limit with a feasible but not proven optimal solution."""


class SolveStatus(enum.Enum):
    """What the solver achieved, independent of the solver (after linopy's ``Status``)."""

    OPTIMAL = "optimal"
    """Proven optimal (within ``gap_rel`` for a MIP)."""
    FEASIBLE = "feasible"
    """A limit stopped the solver; the point satisfies every row but is not proven optimal."""
    INFEASIBLE = "infeasible"
    """No point satisfies every row and bound (or HiGHS: infeasible or unbounded)."""
    UNBOUNDED = "unbounded"
    """The objective can fall without limit."""
    NOT_SOLVED = "not_solved"
    """A limit stopped the solver before it had a feasible point."""
    ERROR = "error"
    """The solver failed (could not load or run the model)."""

    @property
    def is_ok(self) -> bool:
        """True when the solution may be used (OPTIMAL or FEASIBLE)."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


@dataclass(frozen=True)
class SolveSettings:
    """Solver choice and limits.

    Attributes
    ----------
    solver:
        ``"highs"`` (highspy, in-process) or ``"cbc"`` (bundled with PuLP).
    time_limit_s:
        Wall-clock limit passed to the solver (seconds).
    gap_rel:
        Relative MIP gap at which the solver may stop (share; irrelevant for an LP).
    fallback:
        Try the other solver when the chosen one is unavailable or fails.
    options:
        Extra solver options passed through unchanged (HiGHS option names, or CBC
        command-line words under the key ``"cbc_options"``).
    feasibility_tol:
        Largest relative row or bound violation accepted for a FEASIBLE point.
    """

    solver: SolverName = "highs"
    time_limit_s: float = 60.0
    gap_rel: float = 1e-4
    fallback: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)
    feasibility_tol: float = 1e-6

    def __post_init__(self) -> None:
        if self.solver not in ("highs", "cbc"):
            raise ValueError(f"solver must be 'highs' or 'cbc'; got {self.solver!r}")
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s must be > 0; got {self.time_limit_s!r}")

    @classmethod
    def from_scenario(cls, scenario: Scenario, **overrides: Any) -> SolveSettings:
        """Settings from ``scenario.allocation`` (solver, time limit, gap)."""
        values: dict[str, Any] = {
            "solver": scenario.allocation.solver,
            "time_limit_s": scenario.allocation.time_limit_s,
            "gap_rel": scenario.allocation.gap_rel,
        }
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class SolveResult:
    """The outcome of one solve.

    Attributes
    ----------
    status:
        :class:`SolveStatus`.
    solver:
        The solver that produced this result (``"highs"`` or ``"cbc"``).
    objective_value:
        Objective of the returned point in the problem's own units (NaN without one).
    seconds:
        Wall time of the solver call, model hand-over included.
    gap:
        Relative gap (0 for a proven LP optimum; HiGHS' ``mip_gap`` for a MIP; ``None`` when
        the solver does not report it, as with CBC on a MIP).
    message:
        The solver's own status words.
    fallback_from:
        The solver tried first, with its failure, when a fallback happened.
    values:
        Variable name → value (copied at the end of the solve).
    duals:
        Row name → dual value (minimisation convention: d objective / d right-hand side).
    """

    status: SolveStatus
    solver: str
    objective_value: float
    seconds: float
    gap: float | None
    message: str
    fallback_from: str | None = None
    values: Mapping[str, float] = field(default_factory=dict, repr=False)
    duals: Mapping[str, float] = field(default_factory=dict, repr=False)

    def value(self, name: str) -> float:
        """A variable's value by name (KeyError naming it if unknown)."""
        try:
            return self.values[name]
        except KeyError:
            raise KeyError(f"no variable named {name!r} in the solution") from None

    def dual(self, name: str) -> float:
        """A row's dual by name (KeyError naming it if unknown)."""
        try:
            return self.duals[name]
        except KeyError:
            raise KeyError(f"no row named {name!r} in the solution") from None


# ----------------------------------------------------------------------------------------------
# Status translation (the only place solver codes are read)

_HIGHS_LIMITS = {
    "kTimeLimit": "time limit reached",
    "kIterationLimit": "iteration limit reached",
    "kSolutionLimit": "solution or node limit reached",
    "kInterrupt": "interrupted",
    "kObjectiveBound": "objective bound reached",
    "kObjectiveTarget": "objective target reached",
    "kMemoryLimit": "memory limit reached",
}
_HIGHS_FINAL = {
    "kOptimal": SolveStatus.OPTIMAL,
    "kInfeasible": SolveStatus.INFEASIBLE,
    "kUnboundedOrInfeasible": SolveStatus.INFEASIBLE,
    "kUnbounded": SolveStatus.UNBOUNDED,
}
#: HiGHS ``primal_solution_status`` of a feasible point.
_HIGHS_PRIMAL_FEASIBLE = 2


def status_from_highs(model_status: str, primal_solution_status: int) -> SolveStatus:
    """Translate HiGHS' model status name and primal solution status.

    Parameters
    ----------
    model_status:
        The ``HighsModelStatus`` member name, e.g. ``"kOptimal"`` or ``"kTimeLimit"``.
    primal_solution_status:
        ``Highs.getInfo().primal_solution_status`` (0 none, 1 infeasible, 2 feasible).

    Returns
    -------
    SolveStatus
        A limit with a feasible point is FEASIBLE, without one NOT_SOLVED; load, presolve,
        solve and "not set" failures are ERROR.
    """
    if model_status in _HIGHS_FINAL:
        return _HIGHS_FINAL[model_status]
    if model_status in _HIGHS_LIMITS:
        if primal_solution_status == _HIGHS_PRIMAL_FEASIBLE:
            return SolveStatus.FEASIBLE
        return SolveStatus.NOT_SOLVED
    return SolveStatus.ERROR


def status_from_cbc(status: int, sol_status: int) -> SolveStatus:
    """Translate PuLP's CBC ``status`` and ``sol_status`` codes.

    ``sol_status`` decides (1 optimal, 2 stopped with a solution, −1 no solution exists,
    −2 unbounded); with no solution found (0), ``status`` −1 is a MIP proven
    integer-infeasible, 0 a limit, anything else an error.
    """
    by_solution = {
        pulp.LpSolutionOptimal: SolveStatus.OPTIMAL,
        pulp.LpSolutionIntegerFeasible: SolveStatus.FEASIBLE,
        pulp.LpSolutionInfeasible: SolveStatus.INFEASIBLE,
        pulp.LpSolutionUnbounded: SolveStatus.UNBOUNDED,
    }
    if sol_status in by_solution:
        return by_solution[sol_status]
    if status == pulp.LpStatusInfeasible:
        return SolveStatus.INFEASIBLE
    if status in (pulp.LpStatusNotSolved, pulp.LpStatusOptimal):
        return SolveStatus.NOT_SOLVED
    return SolveStatus.ERROR


# ----------------------------------------------------------------------------------------------
# Solvers

_banner_silenced = False


def _silence_highs_banner() -> None:
    """Create the process's first ``highspy.Highs()`` with C-level stdout sent to /dev/null.

    highspy prints its banner on file descriptor 1 at the first model of a process, before any
    option can switch it off (HiGHS #1702, #2749); library code must not print.
    """
    global _banner_silenced  # noqa: PLW0603 (once per process by nature)
    if _banner_silenced:
        return
    import highspy  # noqa: PLC0415 (optional at import time; checked by the caller)

    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 (embedded interpreter): nothing to protect
        highspy.Highs()
        _banner_silenced = True
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
        _flush_c_stdout()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _banner_silenced = True


def _flush_c_stdout() -> None:
    try:
        import ctypes  # noqa: PLC0415

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # not a POSIX libc: nothing buffered to lose
        pass


def _highs_class() -> type[Any] | None:
    """PuLP's HiGHS interface, patched to accept every HiGHS status (or None if missing)."""
    base = getattr(pulp, "HiGHS", None)
    if base is None or not base().available():
        return None
    return _TolerantHighs


def _make_tolerant_highs() -> type[Any]:
    base = pulp.HiGHS

    class TolerantHighs(base):  # type: ignore[misc, valid-type]
        """PuLP's HiGHS, reading the solution itself for statuses PuLP 3.3 does not map.

        PuLP raises ``KeyError`` for ``kSolutionLimit`` (and would for any status added later)
        before it copies the solution; the status is translated by :func:`status_from_highs`.
        """

        def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[int, int]:  # noqa: N802
            try:
                status, sol_status = super().findSolutionValues(lp)
                return int(status), int(sol_status)
            except KeyError:
                solution = lp.solverModel.getSolution()
                values = list(solution.col_value)
                reduced = list(solution.col_dual)
                for var in lp.variables():
                    var.varValue = values[var.index]
                    var.dj = reduced[var.index]
                duals = list(solution.row_dual)
                for row in lp.constraints():
                    row.pi = duals[row.index]
                return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound

    return TolerantHighs


try:  # pragma: no cover - depends on the installation
    _TolerantHighs: type[Any] | None = _make_tolerant_highs()
except AttributeError:  # pragma: no cover
    _TolerantHighs = None


def _cbc(settings: SolveSettings) -> Any:
    options = list(settings.options.get("cbc_options", []))
    with warnings.catch_warnings():
        # PuLP 3.3 deprecates the bundled-CBC class name (not the binary); keep it quiet.
        warnings.filterwarnings("ignore", message="PULP_CBC_CMD is deprecated")
        return pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=settings.time_limit_s,
            gapRel=settings.gap_rel,
            options=options,
        )


def _highs(settings: SolveSettings) -> Any:
    cls = _highs_class()
    if cls is None:
        return None
    options = {k: v for k, v in settings.options.items() if k != "cbc_options"}
    return cls(msg=False, timeLimit=settings.time_limit_s, gapRel=settings.gap_rel, **options)


def _reset_solution(problem: pulp.LpProblem) -> None:
    """Clear values and duals so a failed solve cannot leave stale numbers behind."""
    for var in problem.variables():
        var.varValue = None
        var.dj = None
    for row in problem.constraints():
        row.pi = None
        row.slack = None


def _max_violation(problem: pulp.LpProblem) -> float:
    """Largest relative violation of a row or bound by the current point (inf if unset)."""
    worst = 0.0
    for var in problem.variables():
        value = var.varValue
        if value is None:
            return math.inf
        if var.lowBound is not None and value < var.lowBound:
            worst = max(worst, (var.lowBound - value) / max(1.0, abs(var.lowBound)))
        if var.upBound is not None and value > var.upBound:
            worst = max(worst, (value - var.upBound) / max(1.0, abs(var.upBound)))
    for row in problem.constraints():
        lhs_minus_rhs = row.value()
        if lhs_minus_rhs is None:
            return math.inf
        scale = max(1.0, abs(row.constant))
        if row.sense == pulp.LpConstraintEQ:
            excess = abs(lhs_minus_rhs)
        else:
            excess = max(0.0, -row.sense * lhs_minus_rhs)
        worst = max(worst, excess / scale)
    return worst


def _run(
    problem: pulp.LpProblem, name: SolverName, settings: SolveSettings
) -> tuple[SolveStatus, float | None, str]:
    """Run one solver; returns (status, gap, solver's words). Raises if the solver is missing."""
    if name == "highs":
        solver = _highs(settings)
        if solver is None:
            raise RuntimeError("HiGHS is not available (pip install highspy)")
        _silence_highs_banner()
        problem.solve(solver)
        highs = problem.solverModel
        model_status = highs.getModelStatus()
        status_name = getattr(model_status, "name", str(model_status).split(".")[-1])
        info = highs.getInfo()
        status = status_from_highs(status_name, int(info.primal_solution_status))
        gap: float | None
        if problem.isMIP():
            gap = float(info.mip_gap)
        else:
            gap = 0.0 if status is SolveStatus.OPTIMAL else None
        return status, gap, f"HiGHS {highs.modelStatusToString(model_status)}"
    solver = _cbc(settings)
    if not solver.available():
        raise RuntimeError("the CBC binary bundled with PuLP is not available")
    problem.solve(solver)
    status = status_from_cbc(int(problem.status), int(problem.sol_status))
    cbc_gap = 0.0 if status is SolveStatus.OPTIMAL and not problem.isMIP() else None
    words = f"CBC {pulp.LpStatus[problem.status]} / {pulp.LpSolution[problem.sol_status]}"
    return status, cbc_gap, words


def _failure_text(status: SolveStatus, solver: str, words: str, settings: SolveSettings) -> str:
    what = {
        SolveStatus.INFEASIBLE: "the model is infeasible: no plan satisfies every hard "
        "constraint (targets are elastic, so look at constraints added to the model, "
        "capacities or negative money)",
        SolveStatus.UNBOUNDED: "the model is unbounded: the objective can improve without "
        "limit (a variable without an upper bound has a negative cost)",
        SolveStatus.NOT_SOLVED: f"the solver stopped at a limit (time limit "
        f"{settings.time_limit_s:g} s) without a feasible solution",
        SolveStatus.ERROR: "the solver failed to load or run the model",
    }[status]
    fix = {
        SolveStatus.INFEASIBLE: "Remove the contradictory constraint.",
        SolveStatus.UNBOUNDED: "Bound the variable or fix its cost.",
        SolveStatus.NOT_SOLVED: "Raise allocation.time_limit_s in the scenario.",
        SolveStatus.ERROR: "Try the other solver (allocation.solver).",
    }[status]
    return f"{solver}: {what} ({words}). {fix}"


def solve_problem(
    problem: pulp.LpProblem, settings: SolveSettings | None = None, *, check: bool = True
) -> SolveResult:
    """Solve any PuLP problem with the chosen solver (and fallback) and translate its status.

    Parameters
    ----------
    problem:
        A PuLP problem (minimisation recommended: duals are then d objective / d rhs under
        both solvers).
    settings:
        Solver, limits and fallback; defaults to :class:`SolveSettings()`.
    check:
        Raise :class:`~fupinsim.errors.SolverError` unless the status is OPTIMAL or FEASIBLE.
        With ``False`` the result is returned whatever the status (the diagnostics use this to
        ask "is this feasible?").

    Returns
    -------
    SolveResult
        With the values and duals copied (empty unless the status is OPTIMAL or FEASIBLE).

    Raises
    ------
    SolverError
        With the solver, what happened and the fix, when ``check`` and the status is not ok.

    Warns
    -----
    SolverLimitWarning
        When a limit stopped the solver at a feasible, unproven point.
    """
    settings = settings or SolveSettings()
    order: list[SolverName] = [settings.solver]
    if settings.fallback:
        order.append("cbc" if settings.solver == "highs" else "highs")
    failures: list[str] = []
    status, gap, words, used, seconds = SolveStatus.ERROR, None, "", settings.solver, 0.0
    for name in order:
        _reset_solution(problem)
        started = time.perf_counter()
        try:
            status, gap, words = _run(problem, name, settings)
        except Exception as exc:  # any solver crash is reported, then the fallback runs
            status, gap, words = SolveStatus.ERROR, None, f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        used = name
        if status is not SolveStatus.ERROR:
            break
        failures.append(f"{name} ({words})")
    fallback_from = failures[0] if failures and status is not SolveStatus.ERROR else None
    if status is SolveStatus.ERROR and len(failures) > 1:
        words = "; then ".join(failures)
    if status is SolveStatus.FEASIBLE:
        violation = _max_violation(problem)
        if violation > settings.feasibility_tol:
            status = SolveStatus.NOT_SOLVED
            words += f"; its point breaks a row or bound by {violation:.2g} (relative)"

    values: Mapping[str, float] = {}
    duals: Mapping[str, float] = {}
    objective = math.nan
    if status.is_ok:
        values = MappingProxyType({v.name: float(v.varValue or 0.0) for v in problem.variables()})
        duals = MappingProxyType(
            {
                row.name: float(row.pi) if row.pi is not None else math.nan
                for row in problem.constraints()
            }
        )
        objective = float(pulp.value(problem.objective) or 0.0)
    else:
        _reset_solution(problem)
    result = SolveResult(
        status=status,
        solver=used,
        objective_value=objective,
        seconds=seconds,
        gap=gap,
        message=words,
        fallback_from=fallback_from,
        values=values,
        duals=duals,
    )
    if status is SolveStatus.FEASIBLE:
        warnings.warn(
            f"{used}: stopped at a limit with a feasible but unproven solution ({words}); "
            f"objective {objective:,.6g}, gap {gap if gap is not None else 'unknown'}. "
            "Raise allocation.time_limit_s for a proven optimum.",
            SolverLimitWarning,
            stacklevel=2,
        )
    if check and not status.is_ok:
        raise SolverError(_failure_text(status, used, words, settings))
    return result


def solve_model(
    model: AllocationModel, settings: SolveSettings | None = None, *, check: bool = True
) -> SolveResult:
    """Solve a built allocation model (see :func:`solve_problem`).

    The values and duals of the result are the model's solution; pass the result to
    :func:`fupinsim.allocate.extract_results`.
    """
    return solve_problem(model.problem, settings, check=check)


def write_mps(model: AllocationModel | pulp.LpProblem, path: str | Path) -> Path:
    """Write the LP in free MPS format (original names) so anyone can re-solve it.

    The objective has no constant term (baseline exits are left out on purpose), so a solver
    reading the file reports the same objective value as :func:`solve_model`.

    Parameters
    ----------
    model:
        An allocation model or a PuLP problem.
    path:
        The file to write (its folder must exist).

    Returns
    -------
    Path
        The path written.
    """
    problem = model if isinstance(model, pulp.LpProblem) else model.problem
    target = Path(path)
    problem.writeMPS(str(target))
    return target
