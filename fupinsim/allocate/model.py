"""Build the allocation LP: which household types get which package from which year.

Stage 1 of three (build → :mod:`~fupinsim.allocate.solve` → :mod:`~fupinsim.allocate.results`).
:func:`build_model` validates the inputs and returns an :class:`AllocationModel` whose PuLP
problem can be inspected, extended (``model.problem += …``) and written out before solving.
The LP is continuous and its size depends on the number of household *types*, packages and
years, never on the number of households.

The inputs are described in :mod:`fupinsim.allocate.inputs`.

The LP (all in one place, names from ascii ids joined by ``__``)
-----------------------------------------------------------------
Variables, all ≥ 0:

* ``x__<type>__<package>__<start>``: households of the type given the package (≤ the type's
  households the package fits, ``n_eligible``);
* ``pay__<county>__<year>__<pool>``: fiscal yuan paid in ``year`` for the county's households
  from its own pool or from ``city``;
* ``carry__<pool>__<year>``: money left at the end of the year and carried forward (only when
  ``carry_over``);
* ``short__<county>__<villages>__<year>``: missing exits of a target (elastic);
* ``extra__<pool>__<year>`` and ``extracap__<resource>__<year>``: extra money and capacity,
  **fixed at 0** in the model itself; :mod:`~fupinsim.allocate.results` frees them to find the
  money (or the capacity) that would close a shortfall.

Rows:

* ``households__<type>``: Σ x ≤ the type's households (each household at most one package);
* ``eligible__<type>__<package>``: Σ over start years of x ≤ the type's households the package
  fits (a household gets a package from one start year only);
* ``bear__<type>__<option>`` / ``topup__<type>__<option>``: households that bear a package (or
  need the pools' top-up) are nested by income; the options of the same or smaller sets take
  at most as many households as the set holds (:func:`add_bearing_chains`);
* ``paid__<county>__<year>``: Σ pay over the two pools = fiscal cost of the county's packages in
  that year;
* ``budget__<pool>__<year>``: spending + carry out − carry in − extra ≤ money arriving;
* ``capacity__<resource>__<year>``: units used − extra capacity ≤ capacity;
* ``target__<county>__<villages>__<year>``: Σ x × (yield − baseline yield) + short ≥ target −
  baseline exits (the baseline exits are a constant moved to the right-hand side).
* ``goal__<goal>__<county>__<villages>__<year>`` (with variables ``goalshort__…``): the plan's
  goals beyond exit counts (:mod:`~fupinsim.allocate.goals`), elastic like the targets:
  ``immigrant_income``: Σ x × income gain (yuan per household) + people × short ≥ people ×
  (required − baseline mean), short in yuan per person; ``village_exit``: Σ x × exit gain ×
  poor-village people per household + short ≥ baseline remaining people − threshold ×
  population, short in people. Their penalties (``goal_penalties`` in
  ``data/exit_schedule.yaml``) are per aggregate yuan and per person.

Objectives, both **built as minimisation** so HiGHS and CBC report duals with the same sign:

* ``min_cost``: fiscal yuan + ``shortfall_penalty_yuan`` × Σ short + Σ goal penalties × goal
  short. The target row's dual is the yuan per extra required exit (≥ 0); a goal row's, the
  yuan per unit of its right-hand side (aggregate yuan of income, people).
* ``max_exits``: −(exits by the last target year, all groups) + ``cost_tiebreak_per_yuan`` ×
  fiscal yuan + ``schedule_tiebreak`` × Σ short. The schedule's targets are only a tie-break
  (1e-4 exit per missing exit): the solver misses a target whenever that buys more exits by
  the last year, but among equally good plans keeps to the schedule. A budget row's dual is
  then −(extra exits per extra yuan), biased by at most the two tie-breaks. Baseline exits are
  a constant, left out of the objective (so the MPS file's objective equals the solver's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import pulp

from fupinsim.allocate.burden import TOPUP_SUFFIX, base_package
from fupinsim.allocate.goal_rows import add_goals, goal_penalty_terms
from fupinsim.allocate.goals import goal_penalties
from fupinsim.allocate.inputs import (
    CITY_POOL,
    CREDIT_RESOURCE,
    AllocationInputs,
    PreparedInputs,
    baseline_exits,
    option_gains,
    prepare_inputs,
)
from fupinsim.errors import InputError
from fupinsim.scenario import Scenario

__all__ = [
    "AllocationModel",
    "ModelSettings",
    "Objective",
    "add_bearing_chains",
    "add_budgets",
    "add_capacities",
    "add_eligibility",
    "add_goals",
    "add_households",
    "add_payments",
    "add_targets",
    "build_model",
    "exit_gain_terms",
    "goal_penalty_terms",
    "set_objective",
]

Objective = Literal["min_cost", "max_exits"]
#: A plan goal's key: ``(goal, county_id, villages, year)``.
GoalKey = tuple[str, str, str, int]


@dataclass(frozen=True)
class ModelSettings:
    """How the LP is built.

    Attributes
    ----------
    objective:
        ``"min_cost"`` or ``"max_exits"`` (see the module docstring).
    shortfall_penalty_yuan:
        Yuan per missing exit in ``min_cost``; must exceed any real cost of an exit.
    carry_over:
        Unspent money of a pool may be spent in later years.
    cost_tiebreak_per_yuan:
        ``max_exits`` only: objective weight of one fiscal yuan, in exits. Small enough never
        to trade an exit for money (1e-9 × 10^9 yuan = 1 exit), large enough to prefer the
        cheaper of two equally good plans. It biases the reported exits per extra yuan by at
        most this amount.
    schedule_tiebreak:
        ``max_exits`` only: objective weight of one missing target exit, in exits. Among plans
        with (almost) the same exits by the last year, prefer the one that keeps to the
        schedule; without it the timing of exits is arbitrary and differs between solvers.
        At 1e-4 it gives up at most 1 final exit for 10,000 on-schedule exits.
    plan_goals:
        Add the inputs' plan goals (immigrant income, poor villages' exit) as elastic rows.
    goal_penalties:
        Objective yuan per unit of each goal's shortfall (``immigrant_income``: per yuan of
        immigrant-village income, all people together; ``village_exit``: per person); in
        ``max_exits`` they are scaled by ``schedule_tiebreak / shortfall_penalty_yuan``.
    """

    objective: Objective = "min_cost"
    shortfall_penalty_yuan: float = 1e7
    carry_over: bool = True
    cost_tiebreak_per_yuan: float = 1e-9
    schedule_tiebreak: float = 1e-4
    plan_goals: bool = True
    goal_penalties: dict[str, float] = field(default_factory=goal_penalties)

    def __post_init__(self) -> None:
        if self.objective not in ("min_cost", "max_exits"):
            raise InputError.single(
                "allocation.objective", self.objective, "must be 'min_cost' or 'max_exits'"
            )
        if not self.shortfall_penalty_yuan > 0:
            raise InputError.single(
                "allocation.shortfall_penalty_yuan", self.shortfall_penalty_yuan, "must be > 0"
            )
        for name in ("cost_tiebreak_per_yuan", "schedule_tiebreak"):
            if getattr(self, name) < 0:
                raise InputError.single(name, getattr(self, name), "must be >= 0")
        for goal, penalty in self.goal_penalties.items():
            if not penalty >= 0:
                raise InputError.single(f"goal_penalties.{goal}", penalty, "must be >= 0")

    @classmethod
    def from_scenario(cls, scenario: Scenario, **overrides: Any) -> ModelSettings:
        """Settings from ``scenario.allocation`` and ``scenario.funding.carry_over``."""
        values: dict[str, Any] = {
            "objective": scenario.allocation.objective,
            "shortfall_penalty_yuan": scenario.allocation.shortfall_penalty_yuan,
            "carry_over": scenario.funding.carry_over,
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class AllocationModel:
    """A built allocation LP and the maps from ids to its variables and rows.

    Attributes
    ----------
    problem:
        The PuLP problem (minimisation). Add constraints before solving if needed.
    settings:
        How it was built.
    data:
        The validated inputs.
    x:
        ``(type_id, package_id, start_year) → variable`` (households).
    pay:
        ``(county_id, year, pool) → variable`` (yuan).
    carry, extra_money:
        ``(pool, year) → variable`` (yuan).
    extra_capacity:
        ``(resource, year) → variable`` (units).
    shortfall:
        ``(county_id, villages, year) → variable`` (households).
    goal_shortfall, goal_rows, goal_terms:
        ``(goal, county_id, villages, year) →`` the goal's shortfall variable (its unit), row
        name and the options' terms of the row (Σ x × coefficient, before the shortfall).
    target_rows, budget_rows, capacity_rows, household_rows, eligible_rows, paid_rows:
        Keys as above → constraint name (read duals by name).
    build_seconds:
        Wall time of :func:`build_model`.
    """

    problem: pulp.LpProblem
    settings: ModelSettings
    data: PreparedInputs
    x: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    pay: dict[tuple[str, int, str], pulp.LpVariable] = field(default_factory=dict)
    carry: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    extra_money: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    extra_capacity: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    shortfall: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    goal_shortfall: dict[GoalKey, pulp.LpVariable] = field(default_factory=dict)
    goal_rows: dict[GoalKey, str] = field(default_factory=dict)
    goal_terms: dict[GoalKey, list[tuple[pulp.LpVariable, float]]] = field(default_factory=dict)
    target_rows: dict[tuple[str, str, int], str] = field(default_factory=dict)
    budget_rows: dict[tuple[str, int], str] = field(default_factory=dict)
    capacity_rows: dict[tuple[str, int], str] = field(default_factory=dict)
    household_rows: dict[str, str] = field(default_factory=dict)
    eligible_rows: dict[tuple[str, str], str] = field(default_factory=dict)
    paid_rows: dict[tuple[str, int], str] = field(default_factory=dict)
    objective_expression: pulp.LpAffineExpression | None = None
    build_seconds: float = 0.0

    @property
    def n_variables(self) -> int:
        """Number of LP columns."""
        return len(self.problem.variables())

    @property
    def n_constraints(self) -> int:
        """Number of LP rows."""
        return len(self.problem.constraints())

    def constraint(self, name: str) -> pulp.LpConstraint:
        """A row by name (raises ``KeyError`` naming it if absent)."""
        row = self.problem.get_constraint_by_name(name)
        if row is None:
            raise KeyError(f"the allocation model has no row named {name!r}")
        return row


# ----------------------------------------------------------------------------------------------
# Build


def _name(*parts: object) -> str:
    return "__".join(str(p) for p in parts)


def _expression(terms: list[tuple[pulp.LpVariable, float]]) -> pulp.LpAffineExpression:
    """A linear expression that sums repeated variables (PuLP would keep only the last one)."""
    merged: dict[str, tuple[pulp.LpVariable, float]] = {}
    for var, coef in terms:
        previous = merged.get(var.name)
        merged[var.name] = (var, coef + previous[1]) if previous else (var, coef)
    return pulp.LpAffineExpression([(v, c) for v, c in merged.values() if c != 0.0])


def _add_row(
    model: AllocationModel,
    name: str,
    terms: list[tuple[pulp.LpVariable, float]],
    sense: int,
    rhs: float,
) -> str:
    row = pulp.LpConstraint(_expression(terms), sense=sense, name=name, rhs=float(rhs))
    model.problem.addConstraint(row)
    return name


Terms = list[tuple[pulp.LpVariable, float]]


def add_households(model: AllocationModel) -> None:
    """Variables ``x`` (households of a type given a package from a start year, ≤ the type's
    eligible households) and rows ``households__<type>`` (at most one package each)."""
    data, problem = model.data, model.problem
    size = dict(zip(data.types["type_id"], data.types["n_households"], strict=True))
    by_type: dict[str, Terms] = {t: [] for t in size}
    columns = ["type_id", "package_id", "start_year", "n_eligible"]
    for t, p, s, eligible in data.options[columns].itertuples(index=False):
        upper = min(size[t], float(eligible))
        var = problem.add_variable(_name("x", t, p, s), lowBound=0.0, upBound=upper)
        model.x[(t, p, int(s))] = var
        by_type[t].append((var, 1.0))
    for t, terms in by_type.items():
        if terms:
            model.household_rows[t] = _add_row(
                model, _name("households", t), terms, pulp.LpConstraintLE, size[t]
            )
    add_eligibility(model)


def add_eligibility(model: AllocationModel) -> None:
    """Rows ``eligible__<type>__<package>``: over all start years, at most the households of
    the type the package fits (each start year's bound alone would count them once a year)."""
    data = model.data
    eligible = data.options.groupby(["type_id", "package_id"])["n_eligible"].max()
    starts: dict[tuple[str, str], Terms] = {}
    for (t, p, _s), var in model.x.items():
        starts.setdefault((t, p), []).append((var, 1.0))
    for (t, p), terms in starts.items():
        if len(terms) > 1:
            model.eligible_rows[(t, p)] = _add_row(
                model, _name("eligible", t, p), terms, pulp.LpConstraintLE, eligible[(t, p)]
            )
    add_bearing_chains(model, starts, eligible)


def add_bearing_chains(
    model: AllocationModel,
    starts: dict[tuple[str, str], Terms],
    eligible: pd.Series,
) -> None:
    """Rows ``bear__<type>__<package>`` and ``topup__<type>__<package>`` (Hall's condition).

    A package that some of a type's households cannot bear comes as two options: ``p`` for
    the households that bear it and ``p_topup`` for the others (:mod:`~.burden`). Who bears a
    package is decided by income, so within a type the households that bear a package are
    the richest ``k_p`` (nested across packages) and those that need a top-up the poorest
    ``n − k_p``. Whole households can be given the quotas only if, for every package, the
    options whose households are among its ``k_p`` take at most ``k_p`` households (and the
    same for the top-ups): Σ over packages q with k_q ≤ k_p of x_q ≤ k_p.
    """
    paired = {(t, base_package(p)) for (t, p) in starts if p.endswith(TOPUP_SUFFIX)}
    for kind, is_topup in (("bear", False), ("topup", True)):
        by_type: dict[str, list[tuple[float, str]]] = {}
        for t, base in paired:
            option = base + TOPUP_SUFFIX if is_topup else base
            if (t, option) in starts:
                by_type.setdefault(t, []).append((float(eligible[(t, option)]), option))
        for t, options in by_type.items():
            if len(options) < 2:
                continue
            options.sort()
            terms: Terms = []
            for size, option in options:
                terms = terms + starts[(t, option)]
                model.eligible_rows[(t, f"{kind}_{option}")] = _add_row(
                    model, _name(kind, t, option), terms, pulp.LpConstraintLE, size
                )


def add_payments(model: AllocationModel) -> None:
    """Variables ``pay`` and rows ``paid__<county>__<year>``: the fiscal cost of a county's
    packages in a spend year is paid from its own pool or the city's (yuan)."""
    data, problem = model.data, model.problem
    county_of = dict(zip(data.types["type_id"], data.types["county_id"], strict=True))
    cost_terms: dict[tuple[str, int], Terms] = {}
    spend = data.spend
    for t, p, s, y, c in zip(
        spend["type_id"],
        spend["package_id"],
        spend["start_year"],
        spend["spend_year"],
        spend["cost_fiscal_yuan"],
        strict=True,
    ):
        if c:
            cost_terms.setdefault((county_of[t], int(y)), []).append(
                (model.x[(t, p, int(s))], -float(c))
            )
    for county in data.counties:
        for year in data.years:
            own = problem.add_variable(_name("pay", county, year, county), lowBound=0.0)
            city = problem.add_variable(_name("pay", county, year, CITY_POOL), lowBound=0.0)
            model.pay[(county, year, county)] = own
            model.pay[(county, year, CITY_POOL)] = city
            terms = [(own, 1.0), (city, 1.0), *cost_terms.get((county, year), [])]
            model.paid_rows[(county, year)] = _add_row(
                model, _name("paid", county, year), terms, pulp.LpConstraintEQ, 0.0
            )


def _pool_spending(model: AllocationModel, pool: str, year: int) -> Terms:
    """What a pool pays in a year: its county's payments, or the city's for every county."""
    if pool == CITY_POOL:
        return [(model.pay[(c, year, CITY_POOL)], 1.0) for c in model.data.counties]
    return [(model.pay[(pool, year, pool)], 1.0)]


def add_budgets(model: AllocationModel) -> None:
    """Rows ``budget__<pool>__<year>``: spending + carry out − carry in − extra ≤ money arriving.

    Variables ``carry`` (only with ``carry_over``) and ``extra`` (extra money, fixed at 0; the
    diagnostics free it).
    """
    data, problem = model.data, model.problem
    available = {
        (k, int(y)): float(a)
        for k, y, a in data.money[["pool", "year", "amount_yuan"]].itertuples(index=False)
    }
    for pool in [CITY_POOL, *data.counties]:
        previous: pulp.LpVariable | None = None
        for year in data.years:
            extra = problem.add_variable(_name("extra", pool, year), lowBound=0.0, upBound=0.0)
            model.extra_money[(pool, year)] = extra
            terms = [*_pool_spending(model, pool, year), (extra, -1.0)]
            if model.settings.carry_over:
                carry = problem.add_variable(_name("carry", pool, year), lowBound=0.0)
                model.carry[(pool, year)] = carry
                terms.append((carry, 1.0))
                if previous is not None:
                    terms.append((previous, -1.0))
                previous = carry
            model.budget_rows[(pool, year)] = _add_row(
                model,
                _name("budget", pool, year),
                terms,
                pulp.LpConstraintLE,
                available.get((pool, year), 0.0),
            )


def _capacity_use_terms(model: AllocationModel) -> dict[tuple[str, int], Terms]:
    """Units of each resource used per year: packages' units in their start year, and the
    built-in ``credit_yuan`` through the packages' credit cost in each spend year."""
    data = model.data
    use_terms: dict[tuple[str, int], Terms] = {}
    listed = set(data.capacity_use["resource"])
    for p, r, u in data.capacity_use.itertuples(index=False):
        if not u:
            continue
        for (_t, pp, s), var in model.x.items():
            if pp == p:
                use_terms.setdefault((str(r), s), []).append((var, float(u)))
    if CREDIT_RESOURCE in set(data.capacity["resource"]) and CREDIT_RESOURCE not in listed:
        spend = data.spend
        for t, p, s, y, credit in zip(
            spend["type_id"],
            spend["package_id"],
            spend["start_year"],
            spend["spend_year"],
            spend["cost_credit_yuan"],
            strict=True,
        ):
            if credit:
                key = (CREDIT_RESOURCE, int(y))
                use_terms.setdefault(key, []).append((model.x[(t, p, int(s))], float(credit)))
    return use_terms


def add_capacities(model: AllocationModel) -> None:
    """Rows ``capacity__<resource>__<year>``: units used − extra capacity ≤ capacity (city-wide).

    Variables ``extracap`` (fixed at 0; the diagnostics free them). A resource-year nothing
    uses gets no row.
    """
    use_terms = _capacity_use_terms(model)
    for r, y, units in model.data.capacity.itertuples(index=False):
        key = (str(r), int(y))
        terms = use_terms.get(key, [])
        if not terms:
            continue
        extra = model.problem.add_variable(_name("extracap", r, y), lowBound=0.0, upBound=0.0)
        model.extra_capacity[key] = extra
        model.capacity_rows[key] = _add_row(
            model,
            _name("capacity", r, y),
            [*terms, (extra, -1.0)],
            pulp.LpConstraintLE,
            float(units),
        )


def exit_gain_terms(model: AllocationModel) -> dict[tuple[str, str, int], Terms]:
    """Extra exits per group and year (target years and the last year): Σ x × (yield − baseline)."""
    data = model.data
    target_years = sorted(int(v) for v in data.targets["year"].unique())
    gain_years = sorted({*target_years, data.final_year})
    gains = option_gains(data, gain_years)
    group_of = {
        t: (c, v)
        for t, c, v in data.types[["type_id", "county_id", "villages"]].itertuples(index=False)
    }
    gain_terms: dict[tuple[str, str, int], Terms] = {}
    for t, p, s, y, g in gains.itertuples(index=False):
        c, v = group_of[t]
        gain_terms.setdefault((c, v, int(y)), []).append((model.x[(t, p, int(s))], float(g)))
    return gain_terms


def add_targets(model: AllocationModel, gain_terms: dict[tuple[str, str, int], Terms]) -> None:
    """Rows ``target__<county>__<villages>__<year>``: extra exits + short ≥ target − baseline
    exits (cumulative, elastic through the variables ``short``)."""
    data = model.data
    base = baseline_exits(data).set_index(["county_id", "villages", "year"])["baseline_exits"]
    for c, v, y, target in data.targets.itertuples(index=False):
        group_year = (str(c), str(v), int(y))
        short = model.problem.add_variable(_name("short", c, v, y), lowBound=0.0)
        model.shortfall[group_year] = short
        rhs = float(target) - float(base.get(group_year, 0.0))
        model.target_rows[group_year] = _add_row(
            model,
            _name("target", c, v, y),
            [*gain_terms.get(group_year, []), (short, 1.0)],
            pulp.LpConstraintGE,
            rhs,
        )


def set_objective(model: AllocationModel, gain_terms: dict[tuple[str, str, int], Terms]) -> None:
    """The objective, minimisation either way (see the module docstring)."""
    settings = model.settings
    pay_terms = [(var, 1.0) for var in model.pay.values()]
    if settings.objective == "min_cost":
        penalty = settings.shortfall_penalty_yuan
        objective = _expression(
            pay_terms
            + [(var, penalty) for var in model.shortfall.values()]
            + goal_penalty_terms(model, 1.0)
        )
    else:
        # Every type counts, in a target group or not.
        final = model.data.final_year
        exit_terms = [
            (var, -g) for (_c, _v, y), terms in gain_terms.items() if y == final for var, g in terms
        ]
        tiebreak = settings.cost_tiebreak_per_yuan
        schedule = settings.schedule_tiebreak
        objective = _expression(
            exit_terms
            + [(v, tiebreak) for v, _ in pay_terms]
            + [(v, schedule) for v in model.shortfall.values()]
            + goal_penalty_terms(model, schedule / settings.shortfall_penalty_yuan)
        )
    model.problem.setObjective(objective)
    model.objective_expression = objective


def build_model(
    inputs: AllocationInputs | PreparedInputs, settings: ModelSettings | None = None
) -> AllocationModel:
    """Build the allocation LP (see the module docstring for variables, rows and objectives).

    One function per family, in this order (so names and order of columns and rows are
    fixed): :func:`add_households`, :func:`add_payments`, :func:`add_budgets`,
    :func:`add_capacities`, :func:`add_targets`, :func:`add_goals`, :func:`set_objective`.

    Parameters
    ----------
    inputs:
        Raw :class:`AllocationInputs` (validated here) or already prepared inputs.
    settings:
        Objective, penalty and carry-over; defaults to :class:`ModelSettings()`.

    Returns
    -------
    AllocationModel
        Not yet solved; pass it to :func:`fupinsim.allocate.solve_model`.

    Raises
    ------
    InputError
        If the inputs do not validate (:func:`prepare_inputs`).
    """
    started = time.perf_counter()
    settings = settings or ModelSettings()
    data = inputs if isinstance(inputs, PreparedInputs) else prepare_inputs(inputs)
    problem = pulp.LpProblem(f"fupinsim_allocation_{settings.objective}", pulp.LpMinimize)
    model = AllocationModel(problem=problem, settings=settings, data=data)
    add_households(model)
    add_payments(model)
    add_budgets(model)
    add_capacities(model)
    gain_terms = exit_gain_terms(model)
    add_targets(model, gain_terms)
    add_goals(model)
    set_objective(model, gain_terms)
    model.build_seconds = time.perf_counter() - started
    return model
