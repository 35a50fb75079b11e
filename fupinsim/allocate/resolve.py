"""One HiGHS model re-solved after changes to bounds and costs (the shortfall diagnostics).

:class:`HighsResolver` loads a PuLP problem into highspy once, exactly as PuLP's HiGHS
interface does, then answers many re-solves that differ only in a few columns' bounds and the
objective, warm-started from the previous basis. Statuses are translated by
:func:`~fupinsim.allocate.solve.status_from_highs`, as for every other solve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulp

from fupinsim.allocate.solve import (
    SolveSettings,
    SolveStatus,
    _highs,
    _silence_highs_banner,
    status_from_highs,
)

__all__ = ["HighsResolver"]


class HighsResolver:
    """A PuLP problem loaded once into highspy, re-solved after changes to bounds and costs.

    The shortfall diagnostics solve the same LP many times with a few bounds freed and a new
    objective. Through PuLP every solve rebuilds the whole HiGHS model column by column and
    copies every value back (~90 % of the time). Here the model is built once, exactly as
    PuLP's HiGHS interface builds it (same options, columns in ``problem.variables()`` order,
    rows in ``problem.constraints()`` order); each :meth:`solve` changes only the given
    columns' bounds and the costs and re-solves.

    With ``warm`` (the default) each solve starts from the last basis, presolve off (HiGHS
    drops the basis when it presolves): the first from the basis of the problem's last HiGHS
    solve when there is one (the main solve). A diagnostic then takes a few simplex
    iterations instead of ~1,000 (on plan_2015 the 18 shortfall re-solves took 0.12 s
    instead of 3.0 s under load). The answers are optimal for the same LP, so they equal a
    fresh solve's up to the solver's tolerances (identical where the optimum is unique, as
    the shortfall objectives make it). With ``warm=False`` every solve is cleared first and
    presolved: the answer of a fresh PuLP solve, bit for bit.

    Parameters
    ----------
    problem:
        A PuLP problem (not changed; its ``solverModel`` is restored).
    settings:
        Solver settings; must name ``"highs"``.
    warm:
        Warm-start every solve from the previous basis (see above).

    Raises
    ------
    RuntimeError
        If highspy is not installed.
    """

    def __init__(
        self, problem: pulp.LpProblem, settings: SolveSettings | None = None, *, warm: bool = True
    ) -> None:
        self.settings = settings or SolveSettings()
        self.warm = warm
        solver = _highs(self.settings)
        if solver is None:
            raise RuntimeError("HiGHS is not available (pip install highspy)")
        _silence_highs_banner()
        saved = getattr(problem, "solverModel", None)
        solver.createAndConfigureSolver(problem)
        solver.buildSolverModel(problem)
        self.highs = problem.solverModel
        problem.solverModel = saved
        self.index = {var.name: int(var.index) for var in problem.variables()}
        self.n_columns = len(self.index)
        # PuLP's HiGHS interface adds the rows in ``problem.constraints()`` order.
        self.row_index = {row.name: i for i, row in enumerate(problem.constraints())}
        if warm:
            self.highs.setOptionValue("presolve", "off")
            self._seed_basis(saved)

    def _seed_basis(self, previous: Any) -> None:
        """Start from the basis of the problem's previous HiGHS solve (same columns and rows)."""
        import highspy  # noqa: PLC0415 (present: checked in __init__)

        if not isinstance(previous, highspy.Highs):
            return
        same_shape = (
            previous.getNumCol() == self.highs.getNumCol()
            and previous.getNumRow() == self.highs.getNumRow()
        )
        basis = previous.getBasis()
        if same_shape and basis.valid:
            self.highs.setBasis(basis)

    def solve(
        self,
        bounds: Mapping[str, tuple[float | None, float | None]],
        costs: Mapping[str, float],
        rows: Mapping[str, tuple[float | None, float | None]] | None = None,
    ) -> tuple[SolveStatus, dict[str, float]]:
        """Set columns' bounds (``None``: unbounded), rows' bounds and the whole objective,
        then solve.

        Parameters
        ----------
        bounds:
            Variable name → (lower, upper) for the columns to change (others keep theirs).
        costs:
            Variable name → objective coefficient; every other column costs 0.
        rows:
            Row (constraint) name → (lower, upper) for the rows to change (``None``:
            unbounded; a ``≤ rhs`` row is ``(None, rhs)``, ``≥ rhs`` is ``(rhs, None)``).

        Returns
        -------
        tuple
            The status and, when it is OPTIMAL or FEASIBLE, every variable's value by name
            (empty otherwise).
        """
        import highspy  # noqa: PLC0415 (present: checked in __init__)

        inf = highspy.kHighsInf
        highs = self.highs
        for name, (low, up) in bounds.items():
            highs.changeColBounds(
                self.index[name], -inf if low is None else low, inf if up is None else up
            )
        for name, (low, up) in (rows or {}).items():
            highs.changeRowBounds(
                self.row_index[name], -inf if low is None else low, inf if up is None else up
            )
        cost = [0.0] * self.n_columns
        for name, coef in costs.items():
            cost[self.index[name]] = float(coef)
        highs.changeColsCost(self.n_columns, list(range(self.n_columns)), cost)
        if not self.warm:
            highs.clearSolver()
        highs.run()
        model_status = highs.getModelStatus()
        status_name = getattr(model_status, "name", str(model_status).split(".")[-1])
        status = status_from_highs(status_name, int(highs.getInfo().primal_solution_status))
        if not status.is_ok:
            return status, {}
        values = list(highs.getSolution().col_value)
        return status, {name: float(values[i]) for name, i in self.index.items()}
