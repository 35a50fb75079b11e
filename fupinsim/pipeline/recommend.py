"""What the planning office should do: recommendations, each with its effect from a re-solve.

Every recommendation is tested on the allocation LP before it is written: the round-0 inputs
(the plan's own targets, :attr:`ClosedLoop.first`) are changed — money added to or moved
between pools and years, a capacity raised, a target moved to a later year, a different
objective — and the LP is built and solved again through :mod:`fupinsim.allocate`'s public
functions. The effect reported is the difference between the changed plan and the plan of the
run, never a rule of thumb. A target moved to a later year gets the P(met) that the run's own
replications give it (the simulation of the chosen plan, its per-replication group exits).

Kinds (column ``kind``), in the order of the table:

* ``add money`` / ``move money``: a target the money cannot reach; the least extra money in
  the county's pool that closes it (from the shortfall diagnosis), or, when other counties'
  pools end the plan with money unspent, the same amount moved from them;
* ``raise capacity``: a target that capacities block (training places, credit, planting…);
* ``propose later year``: a target that neither money nor capacity can meet; the earliest
  later year whose P(met) reaches the required confidence (else the best);
* ``use unspent money``: what the money left unspent at the end of the plan could buy
  (the LP re-solved with ``max_exits``: more households out of poverty by the last year).

Table ``recommendations`` (``docs/contracts.md``): ``county_id, villages, year, kind, action,
money_yuan, effect_exits, effect_p_met, reason``; money in yuan, exits in households (LP
expectations), ``effect_p_met`` a share 0-1 or NaN when it was not simulated.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pulp

from fupinsim.allocate import (
    CITY_POOL,
    AllocationInputs,
    ModelSettings,
    SolveSettings,
    SolveStatus,
    build_model,
    extract_results,
    project_exits,
    solve_model,
)
from fupinsim.allocate.inputs import baseline_exits, prepare_inputs
from fupinsim.allocate.model import AllocationModel, exit_gain_terms, set_objective
from fupinsim.allocate.resolve import HighsResolver
from fupinsim.allocate.results import (
    close_shortfall,
    diagnostics_resolver,
    quota_costs,
    target_table,
)
from fupinsim.assess.labels import CITY_ID, county_label, group_label
from fupinsim.errors import SolverError
from fupinsim.microsim.results import target_probability_table
from fupinsim.pipeline.loop import ClosedLoop
from fupinsim.pipeline.stages import AllocationStage, RegistryStage
from fupinsim.units import YUAN_PER_WAN

__all__ = ["RECOMMENDATION_COLUMNS", "Resolved", "recommendations_table", "resolve"]

logger = logging.getLogger(__name__)

#: Columns of the ``recommendations`` run table.
RECOMMENDATION_COLUMNS: tuple[str, ...] = (
    "county_id",
    "villages",
    "year",
    "kind",
    "action",
    "money_yuan",
    "effect_exits",
    "effect_p_met",
    "reason",
)
_KEY = ["county_id", "villages", "year"]
#: Unspent money below this is not worth a recommendation (yuan).
_MIN_UNSPENT_YUAN = 1e5


@dataclass(frozen=True)
class Resolved:
    """The LP re-solved with changed inputs.

    Attributes
    ----------
    targets:
        ``county_id, villages, year, target_exits, projected_exits, missing_exits, met``.
    fiscal_yuan:
        Fiscal money the re-solved plan spends, by county (``county_id`` → yuan).
    final_exits:
        Expected exits by the last target year, by county (households).
    """

    targets: pd.DataFrame
    fiscal_yuan: pd.Series
    final_exits: pd.Series

    def value(self, key: tuple[str, str, int], column: str) -> float:
        """One target's ``column`` (``missing_exits``, ``projected_exits``; households)."""
        t = self.targets
        hit = (t["county_id"] == key[0]) & (t["villages"] == key[1]) & (t["year"] == key[2])
        return float(t.loc[hit, column].iloc[0])

    def missing(self, key: tuple[str, str, int]) -> float:
        """Missing exits of one target (households)."""
        return self.value(key, "missing_exits")


def resolve(
    inputs: AllocationInputs, model_settings: ModelSettings, solve_settings: SolveSettings
) -> Resolved:
    """Build and solve the allocation LP on ``inputs``; its targets, money and final exits."""
    model = build_model(inputs, model_settings)
    result = extract_results(model, solve_model(model, solve_settings), close_gaps=False)
    return _resolved(model.data, result.quotas)


def _resolved(data: Any, quotas: pd.DataFrame) -> Resolved:
    """:class:`Resolved` of a plan's type quotas (``type_id, package_id, start_year,
    households``) on prepared inputs ``data``."""
    quotas = quota_costs(data, quotas)
    final = project_exits(data, quotas, [data.final_year])
    return Resolved(
        targets=target_table(data, quotas)[
            [*_KEY, "target_exits", "projected_exits", "missing_exits"]
        ],
        fiscal_yuan=quotas.groupby("county_id")["fiscal_yuan"].sum(),
        final_exits=final.groupby("county_id")["projected_exits"].sum(),
    )


class _Resolver:
    """The round-0 LP loaded once into HiGHS (:class:`~fupinsim.allocate.resolve.
    HighsResolver`); a re-solve changes only the rows' right-hand sides (money, capacity,
    targets) and the costs (objective), then solves cold (presolved, as a fresh build would
    be: the same LP, so the answer of :func:`resolve`), instead of building the model again
    (≈ 0.5 s each). Inputs that change the LP's shape go through :func:`resolve`."""

    def __init__(self, model: AllocationModel, solve: SolveSettings) -> None:
        self.model = model
        self.solve = solve
        self.highs = HighsResolver(model.problem, solve, warm=False)
        self.costs: dict[str, dict[str, float]] = {}

    def _costs(self, settings: ModelSettings) -> dict[str, float]:
        key = repr(settings)
        if key not in self.costs:
            scratch = replace(self.model, settings=settings, problem=pulp.LpProblem("s"))
            set_objective(scratch, exit_gain_terms(scratch))
            expression = scratch.objective_expression
            assert expression is not None
            self.costs[key] = {var.name: float(c) for var, c in expression.items()}
        return self.costs[key]

    def _rows(self, data: Any) -> dict[str, tuple[float | None, float | None]] | None:
        """New bounds of every budget, capacity and target row; ``None`` if the shape moved."""
        model = self.model
        money = {(str(k), int(y)): float(a) for k, y, a in data.money.itertuples(index=False)}
        units = {(str(r), int(y)): float(u) for r, y, u in data.capacity.itertuples(index=False)}
        targets = {
            (str(c), str(v), int(y)): float(t)
            for c, v, y, t in data.targets.itertuples(index=False)
        }
        if (
            tuple(data.years) != tuple(model.data.years)
            or set(targets) != set(model.target_rows)
            or not set(model.capacity_rows) <= set(units)
        ):
            return None
        base = baseline_exits(data).set_index(_KEY)["baseline_exits"]
        rows: dict[str, tuple[float | None, float | None]] = {}
        for pool_year, name in model.budget_rows.items():
            rows[name] = (None, money.get(pool_year, 0.0))
        for resource_year, name in model.capacity_rows.items():
            rows[name] = (None, units[resource_year])
        for key, name in model.target_rows.items():
            rows[name] = (targets[key] - float(base.get(key, 0.0)), None)
        return rows

    def __call__(self, inputs: AllocationInputs, settings: ModelSettings) -> Resolved:
        data = prepare_inputs(inputs)
        rows = self._rows(data)
        if rows is None:
            return resolve(inputs, settings, self.solve)
        status, values = self.highs.solve({}, self._costs(settings), rows)
        if status is not SolveStatus.OPTIMAL:  # PuLP's path checks, falls back or raises
            return resolve(inputs, settings, self.solve)
        quotas = pd.DataFrame(
            [(t, p, s, values[var.name]) for (t, p, s), var in self.model.x.items()],
            columns=["type_id", "package_id", "start_year", "households"],
        )
        return _resolved(data, quotas[quotas["households"] > 1e-9].reset_index(drop=True))


def _wan(yuan: float) -> str:
    return f"{yuan / YUAN_PER_WAN:,.0f} 万元"


def _hh(n: float) -> str:
    """Households in words; a fraction below one is "less than one household (0.3)", never
    "0 households" (LP expectations are fractional)."""
    if 0.0 < n < 0.95:
        return f"less than one household ({n:.1f})"
    return f"{n:,.0f} household{'' if round(n) == 1 else 's'}"


def _add_money(funding: pd.DataFrame, pool: str, year: int, amount: float) -> pd.DataFrame:
    row = pd.DataFrame({"pool": [pool], "year": [year], "amount_yuan": [amount]})
    if "source" in funding:
        row["source"] = "recommended"
    return pd.concat([funding, row], ignore_index=True)


@dataclass(frozen=True)
class _Context:
    setup: RegistryStage
    first: AllocationStage
    base: Resolved
    model: ModelSettings
    solve: SolveSettings
    unused_end: pd.Series  # pool → yuan unspent at the end of the plan (round 0)
    money_total: float  # money arriving over the plan, every pool (yuan)
    resolver: Any = None  # _Resolver, or None: every re-solve builds the LP again (resolve)
    diagnostics: HighsResolver | None = None  # for close_shortfall

    def resolve(
        self, inputs: AllocationInputs, settings: ModelSettings | None = None
    ) -> Resolved | None:
        """Re-solve with changed inputs (and settings); ``None`` if the solver fails."""
        try:
            if self.resolver is not None:
                return self.resolver(inputs, settings or self.model)
            return resolve(inputs, settings or self.model, self.solve)
        except SolverError as error:  # a recommendation that cannot be tested is left out
            logger.warning("recommendation re-solve failed: %s", error)
            return None


def _row(key: tuple[str, str, int], kind: str, action: str, **values: object) -> dict[str, object]:
    county, villages, year = key
    return {
        "county_id": county,
        "villages": villages,
        "year": int(year),
        "kind": kind,
        "action": action,
        "money_yuan": values.get("money_yuan", math.nan),
        "effect_exits": values.get("effect_exits", math.nan),
        "effect_p_met": values.get("effect_p_met", math.nan),
        "reason": values.get("reason", ""),
    }


def _money_rows(
    ctx: _Context, key: tuple[str, str, int], missing: float, shortfall: Mapping[Any, Any]
) -> list[dict[str, object]]:
    """A target money would close (``shortfall``: its row of the shortfall table): move unspent
    money from other pools if they have enough, and add it; effects from the re-solves."""
    county, villages, year = key
    needed = float(shortfall["extra_yuan_to_close"])
    years = [int(y) for y in str(shortfall["extra_money_years"]).split()]
    when = min(years) if years else int(year)
    if not needed >= 1.0:
        return []
    who = group_label(county, villages)
    rows = []
    moved = _move_money(ctx, county, when, needed)
    if moved is not None:
        funding, names = moved
        changed = ctx.resolve(replace(ctx.first.inputs, funding=funding))
        # A move that only shifts the gap to the donors' targets gains nothing: not advised.
        if changed is not None and _net_gain(ctx.base, changed) > 0:
            rows.append(
                _row(
                    key,
                    "move money",
                    f"Move {_wan(needed)} of unspent money from {', '.join(names)} to "
                    f"{county_label(county, short=True)}'s pool by {when} for the {year} target "
                    f"of {who}.",
                    money_yuan=needed,
                    effect_exits=_net_gain(ctx.base, changed),
                    reason=f"{who} misses {year} by {_hh(missing)} for lack of money; those "
                    "pools end the plan with this money unspent. Re-solved: the target then "
                    f"misses by {_hh(changed.missing(key))}, all targets together by "
                    f"{_hh(float(changed.targets['missing_exits'].sum()))}.",
                )
            )
    funding = _add_money(ctx.first.inputs.funding, county, when, needed)
    changed = ctx.resolve(replace(ctx.first.inputs, funding=funding))
    if changed is not None and _net_gain(ctx.base, changed) > 0:
        rows.append(
            _row(
                key,
                "add money",
                f"Ask for {_wan(needed)} more in {county_label(county, short=True)}'s pool by "
                f"{when} to secure the {year} target of {who}.",
                money_yuan=needed,
                effect_exits=_net_gain(ctx.base, changed),
                reason=f"{who} misses {year} by {_hh(missing)}; the least extra money that "
                f"closes it (re-solved: misses by {_hh(changed.missing(key))} with it).",
            )
        )
    return rows


def _net_gain(base: Resolved, changed: Resolved) -> float:
    """Exits the change gains over every target (fewer missing exits in total; households)."""
    return float(base.targets["missing_exits"].sum() - changed.targets["missing_exits"].sum())


def _move_money(
    ctx: _Context, county: str, when: int, needed: float
) -> tuple[pd.DataFrame, list[str]] | None:
    """Funding with ``needed`` yuan moved to ``county``'s pool from other counties' pools that
    end the plan with money unspent, taken from money they receive by ``when`` (latest first,
    the pools with most unspent first); ``None`` if they do not have enough."""
    donors = ctx.unused_end.drop(labels=[county, CITY_POOL], errors="ignore")
    donors = donors[donors > 0].sort_values(ascending=False, kind="stable")
    funding = ctx.first.inputs.funding.reset_index(drop=True)
    amounts = funding["amount_yuan"].to_numpy(dtype=float).copy()
    years = funding["year"].to_numpy(dtype=int)
    pools = funding["pool"].astype(str).to_numpy()
    names: list[str] = []
    left = needed
    for pool, unspent in donors.items():
        budget = min(float(unspent), left)
        for i in sorted(np.flatnonzero((pools == pool) & (years <= when)), key=lambda i: -years[i]):
            take = min(float(amounts[i]), budget)
            amounts[i] -= take
            budget -= take
            left -= take
        names.append(county_label(str(pool), short=True))
        if left <= 1.0:
            moved = funding.assign(amount_yuan=amounts)
            return _add_money(moved, county, when, needed), names
    return None


def _missing_map(resolved: Resolved) -> dict[tuple[str, str, int], float]:
    return {
        (str(c), str(v), int(y)): float(m)
        for c, v, y, m in resolved.targets[[*_KEY, "missing_exits"]].itertuples(index=False)
    }


def _capacity_rows(
    ctx: _Context, key: tuple[str, str, int], missing: float
) -> list[dict[str, object]]:
    """A target capacities block: raise them by what the diagnosis needs; re-solve."""
    county, villages, year = key
    diagnosis = close_shortfall(
        ctx.first.model, key, _missing_map(ctx.base), ctx.solve, ctx.diagnostics
    )
    if not diagnosis.capacity_needed:
        return []
    capacity = ctx.first.inputs.capacity
    assert capacity is not None
    capacity = capacity.copy()
    for (resource, y), units in diagnosis.capacity_needed.items():
        hit = (capacity["resource"] == resource) & (capacity["year"] == y)
        capacity.loc[hit, "units"] += math.ceil(units)
    changed = ctx.resolve(replace(ctx.first.inputs, capacity=capacity))
    if changed is None:
        return []
    words = _capacity_words(ctx.setup, diagnosis.capacity_needed.items())
    who = group_label(county, villages)
    extra = float(changed.fiscal_yuan.sum() - ctx.base.fiscal_yuan.sum())
    return [
        _row(
            key,
            "raise capacity",
            f"Raise {words} to secure the {year} target of {who}.",
            money_yuan=max(extra, 0.0),
            effect_exits=_net_gain(ctx.base, changed),
            reason=f"{who} misses {year} by {_hh(missing)}; more money alone does not help. "
            f"Re-solved with the larger capacity: misses by {_hh(changed.missing(key))}, "
            f"spending {_wan(max(extra, 0.0))} more.",
        )
    ]


def _capacity_words(setup: RegistryStage, needed: Iterable[tuple[tuple[str, int], float]]) -> str:
    caps = setup.catalogue.capacities().set_index("resource")
    parts = []
    for (resource, year), units in sorted(needed):
        if resource in caps.index:
            what = str(caps.loc[resource, "description"]).rstrip(".").lower()
            unit = str(caps.loc[resource, "unit"]).replace(" per year", "")
        else:
            what, unit = resource.replace("_", " "), "units"
        parts.append(f"{what} in {year} by {math.ceil(units):,} ({unit})")
    return "; ".join(parts)


def _moved_target(
    ctx: _Context, key: tuple[str, str, int], later: int
) -> tuple[Resolved | None, float]:
    """Re-solve with the target of ``key`` moved to ``later``: the year's target falls back to
    the year before's (nothing for the first year) and ``later``'s target is at least the
    moved one. Returns the re-solve and the LP's expected exits by ``later`` (NaN when
    ``later`` is not a target year of the LP)."""
    county, villages, year = key
    targets = ctx.first.inputs.targets.copy()
    group = (targets["county_id"] == county) & (targets["villages"] == villages)
    this = group & (targets["year"] == year)
    before = targets.loc[group & (targets["year"] < year), "target_exits"]
    moved = float(targets.loc[this, "target_exits"].iloc[0])
    targets.loc[this, "target_exits"] = float(before.max()) if len(before) else 0.0
    hit = group & (targets["year"] == later)
    targets.loc[hit, "target_exits"] = targets.loc[hit, "target_exits"].clip(lower=moved)
    changed = ctx.resolve(replace(ctx.first.inputs, targets=targets))
    if changed is None or not hit.any():
        return changed, math.nan
    return changed, changed.value((county, villages, later), "projected_exits")


def _later_p_met(
    loop: ClosedLoop, row: pd.Series, required: float, year: int
) -> list[tuple[int, float]]:
    """P(the target of ``row`` is met by each later simulated year), from the replications of
    the run's chosen plan, up to the first year that reaches ``required``."""
    stats = loop.simulation.meta.get("group_stats")
    years = np.array(sorted(int(y) for y in loop.simulation.county_year["year"].unique()))
    out: list[tuple[int, float]] = []
    if stats is None:
        return out
    for y in (int(y) for y in years if int(y) > year):
        moved = pd.DataFrame([{**row.to_dict(), "year": y}])
        p = float(target_probability_table(stats, years, moved)["p_met"].iloc[0])
        out.append((y, p))
        if p >= required:
            break
    return out


def _later_year_rows(
    ctx: _Context, key: tuple[str, str, int], missing: float, loop: ClosedLoop
) -> list[dict[str, object]]:
    """A target no money or capacity can meet: propose the earliest later year whose P(met),
    from the run's replications, reaches the required confidence (else the best one)."""
    county, villages, year = key
    required = ctx.setup.scenario.allocation.required_confidence
    targets = ctx.setup.targets
    row = targets[
        (targets["county_id"] == county)
        & (targets["villages"] == villages)
        & (targets["year"] == year)
    ].iloc[0]
    who = group_label(county, villages)
    need = float(row["required_exits"])
    options = _later_p_met(loop, row, required, year)
    if not options:
        return [
            _row(
                key,
                "cannot be met",
                f"Report to the province that the {year} target of {who} cannot be met on time.",
                reason=f"Even with every household on its best package and unlimited money and "
                f"capacity, {who} misses {year} by {_hh(missing)}; no later year is simulated.",
            )
        ]
    later, p = max(options, key=lambda o: (o[1] >= required, -o[0] if o[1] >= required else o[1]))
    changed, lp_exits = _moved_target(ctx, key, later)
    solved = (
        f" Re-solved with the target moved: {lp_exits:,.0f} expected exits by {later} for "
        f"{need:,.0f} required."
        if changed is not None and not math.isnan(lp_exits)
        else ""
    )
    chances = ", ".join(f"by {y} in {q:.0%}" for y, q in options if y <= later)
    return [
        _row(
            key,
            "propose later year",
            f"Propose to move the {year} target of {who} ({_hh(need)} out of poverty) to {later}.",
            effect_p_met=p,
            reason=f"Neither money nor capacity can meet it: even with every household on its "
            f"best package, {_hh(missing)} too few are expected to exit by {year}. This run's "
            f"replications reach it {chances}.{solved}",
        )
    ]


def _unspent_rows(ctx: _Context) -> list[dict[str, object]]:
    """What the money left unspent could buy: the LP re-solved for the most exits by the last
    year (the schedule's targets kept as a tie-break); one city-wide row."""
    unspent = float(ctx.unused_end.sum())
    if unspent < _MIN_UNSPENT_YUAN:
        return []
    changed = ctx.resolve(ctx.first.inputs, replace(ctx.model, objective="max_exits"))
    if changed is None:
        return []
    final = int(ctx.base.targets["year"].max())
    gain = float(changed.final_exits.sum() - ctx.base.final_exits.sum())
    spent = max(float(changed.fiscal_yuan.sum() - ctx.base.fiscal_yuan.sum()), 0.0)
    by_county = changed.final_exits.sub(ctx.base.final_exits, fill_value=0.0)
    where = ", ".join(
        f"{county_label(str(c), short=True)} {by_county[c]:,.0f}"
        for c in by_county.sort_values(ascending=False).index
        if by_county[c] >= 0.5
    )
    how = (
        f"using {_wan(spent)} of it"
        if spent >= YUAN_PER_WAN
        else "by re-arranging the packages, without spending more"
    )
    return [
        _row(
            (CITY_ID, "all", final),
            "use unspent money",
            f"Re-plan the {_wan(unspent)} left unspent at the end of {final}: planned for the "
            f"most exits, the plan lifts {_hh(gain)} more out of poverty by {final} ({how}); "
            "the rest of the money buys no exit by then and is free for other uses.",
            money_yuan=spent,
            effect_exits=gain,
            reason=f"{unspent / max(ctx.money_total, 1.0):.0%} of the plan's money is not spent. "
            f"Re-solved for the most exits by {final}: {_hh(gain)} more"
            + (f" ({where})." if where else ".")
            + " What limits the plan is what the packages achieve in time, not money.",
        )
    ]


def _fast_resolver(model: AllocationModel, solve: SolveSettings) -> _Resolver | None:
    """:class:`_Resolver` on the round-0 LP; ``None`` with CBC or without highspy."""
    if solve.solver != "highs":
        return None
    try:
        return _Resolver(model, solve)
    except RuntimeError:
        return None


def recommendations_table(
    setup: RegistryStage, loop: ClosedLoop, *, fast: bool = True
) -> pd.DataFrame:
    """The ``recommendations`` run table (columns :data:`RECOMMENDATION_COLUMNS`).

    One row per action, missed targets first (by county, villages, year), then what the
    unspent money could buy. Each effect comes from re-solving the round-0 LP with the action
    applied (see the module docstring). With ``fast`` (the default, HiGHS) the LP is loaded
    into HiGHS once and each re-solve changes only right-hand sides and costs
    (:class:`_Resolver`); without it each re-solve builds the LP again through PuLP (the same
    answers, ≈ 10× slower).
    """
    first = loop.first
    solve = SolveSettings.from_scenario(setup.scenario)
    resolver = _fast_resolver(first.model, solve) if fast else None
    settings = first.model.settings
    ctx = _Context(
        setup=setup,
        first=first,
        base=resolver(first.inputs, settings)
        if resolver
        else resolve(first.inputs, settings, solve),
        model=settings,
        solve=solve,
        unused_end=_unused_at_end(first),
        money_total=float(first.inputs.funding["amount_yuan"].sum()),
        resolver=resolver,
        diagnostics=diagnostics_resolver(first.model, solve) if fast else None,
    )
    rows: list[dict[str, object]] = []
    shortfall = first.result.shortfall
    for rec in shortfall[shortfall["missing_exits"] > 0].to_dict("records"):
        key = (str(rec["county_id"]), str(rec["villages"]), int(rec["year"]))
        missing = float(rec["missing_exits"])
        binding = str(rec["binding_resource"])
        if binding == "money":
            rows += _money_rows(ctx, key, missing, rec)
        elif binding not in ("exit_yield", ""):
            rows += _capacity_rows(ctx, key, missing)
        if binding in ("exit_yield", ""):
            rows += _later_year_rows(ctx, key, missing, loop)
    rows += _unspent_rows(ctx)
    table = pd.DataFrame(rows, columns=list(RECOMMENDATION_COLUMNS))
    return table.astype({"money_yuan": float, "effect_exits": float, "effect_p_met": float})


def _unused_at_end(first: AllocationStage) -> pd.Series:
    """Money each pool has not spent by the end of the plan (yuan)."""
    unused = first.result.unused_money
    if first.model.settings.carry_over:
        unused = unused[unused["year"] == unused["year"].max()]
    return unused.groupby("pool")["amount_yuan"].sum()
