"""Sensitivity analysis: which assumptions the plan's outcome hangs on (issue 12).

Two methods on the uncertain parameters of :mod:`fupinsim.uncertainty`:

``one_at_a_time`` (tornado)
    Each parameter at its ``low`` and at its ``high``, all others at their values. ``swing`` is
    the indicator at high minus the indicator at low (in the indicator's unit); parameters are
    ranked by ``|swing|``.
``rank_correlation`` (global)
    Latin-hypercube draws of all parameters together (SALib's ``latin`` sampler, stream
    ``"uncertainty"``); ``swing`` is Spearman's rank correlation of the parameter with the
    indicator over the draws (``scipy.stats.spearmanr``), ``low_value`` / ``high_value`` the
    indicator's mean over the draws in the parameter's lowest / highest fifth. Ranked by
    ``|swing|``; ``p_value`` is the correlation's significance (the top assumptions keep only
    correlations with ``p_value`` < 0.05). Needs many more draws than parameters to be sharp.

The model evaluated is by default :class:`PlanModel`: the scenario's optimised household plan
(from one :func:`fupinsim.pipeline.run_pipeline`) simulated again under each parameter set with
common random numbers, a cheap path (a few seconds a run) that answers "how sure is the plan's
outcome". Parameters that act only through the allocation (money, ``needs_replanning``) change
nothing in that model and are left out of it. The indicators (``fupinsim/data/uncertainty.yaml``)
are ``p_all_targets_met``, ``p_final_targets_met``, ``mean_p_target_met``, ``exits_2017``
(registered households exited by the end of 2017) and ``fiscal_cost_yuan`` (lifetime fiscal
cost of the plan's packages, the guarantees its households need and the village works, yuan,
undiscounted).

Evaluations are independent and deterministic, so they run in order, on a ``spawn`` process
pool (``workers > 1``) or on Dask (``scheduler="local"`` for a ``LocalCluster``, or a scheduler
address) and the tables are identical whatever the back end. Nothing here reads or writes files.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
import pandas as pd
from scipy import stats

from fupinsim.errors import InputError
from fupinsim.microsim import simulate
from fupinsim.pipeline import run_pipeline
from fupinsim.pipeline.assumptions import plan_fiscal_cost
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario
from fupinsim.uncertainty import (
    draw_parameters,
    indicator_labels,
    records,
    scenario_variant,
    uncertain_parameters,
)

__all__ = [
    "INDICATORS",
    "TABLE_COLUMNS",
    "Model",
    "PlanModel",
    "SensitivityResult",
    "analysed_parameters",
    "evaluate_all",
    "one_at_a_time",
    "plan_fiscal_cost",
    "plan_model",
    "rank_correlation",
    "run_sensitivity",
    "top_assumptions",
    "tornado_rows",
    "tornado_table",
]

logger = logging.getLogger(__name__)

#: A model: parameter id → value (missing ids at their values) in, indicator → value out.
Model = Callable[[Mapping[str, float]], Mapping[str, float]]
INDICATORS: tuple[str, ...] = (
    "p_all_targets_met",
    "p_final_targets_met",
    "mean_p_target_met",
    "exits_2017",
    "fiscal_cost_yuan",
)
TABLE_COLUMNS = [
    "parameter",
    "label",
    "indicator",
    "indicator_label",
    "low_value",
    "high_value",
    "swing",
    "rank",
    "method",
    "parameter_low",
    "parameter_high",
    "base_value",
    "p_value",
]


# ----------------------------------------------------------------------------------------------
# The plan model


@dataclass(frozen=True)
class PlanModel:
    """The scenario's household plan simulated under a parameter set (see the module docstring).

    Attributes
    ----------
    scenario:
        The scenario (its seed fixes the shocks: common random numbers across parameter sets).
    households:
        The registered households the plan was made for.
    plan, village_plan:
        ``household_id, package_id, start_year`` and ``village_id, package_id, start_year``.
    replications:
        Monte Carlo replications per evaluation.
    """

    scenario: Scenario
    households: pd.DataFrame
    plan: pd.DataFrame
    village_plan: pd.DataFrame
    replications: int

    def __call__(self, row: Mapping[str, float]) -> dict[str, float]:
        variant, catalogue = scenario_variant(self.scenario, row)
        result = simulate(
            self.households,
            self.plan,
            variant,
            village_plan=self.village_plan,
            replications=self.replications,
            catalogue=catalogue,
            household_paths=False,
        )
        plan_years = range(variant.funding.first_year, variant.funding.last_year + 1)
        tp = result.target_probability
        cy = result.county_year
        city = cy[
            (cy["county_id"] == "city")
            & (cy["indicator"] == "exits_cumulative")
            & (cy["year"] == 2017)
        ]
        if "villages" in city:
            city = city[city["villages"] == "all"]
        return {
            "p_all_targets_met": float(result.meta["p_all_targets_met"]),
            "p_final_targets_met": float(result.meta["p_final_targets_met"]),
            "mean_p_target_met": float(tp.loc[tp["year"].isin(plan_years), "p_met"].mean()),
            "exits_2017": float(city["mean"].iloc[0]) if len(city) else math.nan,
            "fiscal_cost_yuan": plan_fiscal_cost(
                catalogue,
                self.households,
                self.plan,
                self.village_plan,
                guarantees=variant.allocation.pools_pay_guarantees,
            ),
        }


#: The tables of a finished run that :func:`plan_model` reads (file stems).
_PLAN_TABLES = ("households", "household_plans", "village_works")


def plan_model(
    scenario: Scenario,
    *,
    replications: int,
    registry: Registry | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    pipeline_replications: int | None = None,
    workers: int = 1,
) -> PlanModel:
    """The :class:`PlanModel` of a scenario: its optimised plan from the pipeline.

    ``tables`` of a finished run of this scenario (``households``, ``household_plans``,
    ``village_works``) are used as they are; otherwise :func:`fupinsim.pipeline.run_pipeline`
    runs once with ``pipeline_replications`` (default ``replications``).
    """
    if tables is None:
        result = run_pipeline(
            scenario,
            registry=registry,
            replications=pipeline_replications or replications,
            workers=workers,
        )
        households, plans, works = result.households, result.household_plans, result.village_works
    else:  # the saved tables of a finished run, by file stem
        households, plans, works = (tables[n] for n in _PLAN_TABLES)
    registered = households[households["is_registered"].to_numpy(dtype=bool)]
    columns = ["household_id", "package_id", "start_year"]
    # The base plan of the base registry: the living registry's entrants (rows of
    # household_plans after the base rows, issue 10) are not households the plan was made for.
    base = plans[plans["household_id"].isin(registered["household_id"])]
    return PlanModel(
        scenario=scenario,
        households=registered.reset_index(drop=True),
        plan=base[columns].reset_index(drop=True),
        village_plan=works[["village_id", "package_id", "start_year"]]
        .reset_index(drop=True)
        .copy(),
        replications=replications,
    )


# ----------------------------------------------------------------------------------------------
# Running evaluations

_INSTALLED: list[Model] = []


def _install(model: Model) -> None:
    _INSTALLED[:] = [model]


def _call_installed(row: Mapping[str, float]) -> dict[str, float]:
    return dict(_INSTALLED[0](row))


def _call(model: Model, row: Mapping[str, float]) -> dict[str, float]:
    return dict(model(row))


def _on_dask(
    model: Model, rows: Sequence[Mapping[str, float]], scheduler: str, workers: int
) -> list[dict[str, float]]:
    try:
        distributed = importlib.import_module("distributed")
    except ImportError:
        raise InputError.single(
            "--scheduler",
            scheduler,
            "needs Dask distributed, an optional extra",
            fix="Install it with `pip install 'fupinsim[dask]'`, or leave out --scheduler.",
        ) from None
    cluster = None
    try:
        if scheduler == "local":
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(scheduler, timeout="15s")
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise InputError.single(
            "--scheduler",
            scheduler,
            "must be 'local' or the address of a running Dask scheduler (tcp://host:8786)",
            fix=f"Could not connect: {exc}",
        ) from None
    try:
        shared = client.scatter(model, broadcast=True)
        futures = [client.submit(_call, shared, dict(row), pure=False) for row in rows]
        return list(client.gather(futures))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def evaluate_all(
    model: Model,
    rows: Sequence[Mapping[str, float]],
    *,
    workers: int = 1,
    scheduler: str | None = None,
) -> list[dict[str, float]]:
    """``model(row)`` for every row, in order: here, on a process pool, or on Dask.

    Parameters
    ----------
    model:
        A picklable callable (a :class:`PlanModel`, or a module-level function).
    workers:
        Processes (``spawn``) of the pool, or workers of a Dask ``LocalCluster``.
    scheduler:
        ``None`` (process pool, or this process when ``workers == 1``), ``"local"`` (a new
        Dask ``LocalCluster``) or the address of a running Dask scheduler.
    """
    rows = [dict(r) for r in rows]
    if scheduler:
        return _on_dask(model, rows, scheduler, max(1, workers))
    if workers <= 1 or len(rows) <= 1:
        return [_call(model, row) for row in rows]
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_install,
        initargs=(model,),
    ) as pool:
        return list(pool.map(_call_installed, rows))


# ----------------------------------------------------------------------------------------------
# Methods


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(_size=frame["swing"].abs().fillna(0.0))
    frame = frame.sort_values(["indicator", "_size"], ascending=[True, False], kind="stable")
    frame["rank"] = frame.groupby("indicator", sort=False).cumcount() + 1
    return frame.drop(columns="_size").reset_index(drop=True)[TABLE_COLUMNS]


def tornado_rows(parameters: pd.DataFrame) -> list[dict[str, float]]:
    """The parameter sets of the tornado: none changed, then each at ``low`` and at ``high``."""
    rows: list[dict[str, float]] = [{}]
    for p in records(parameters):
        rows += [{p["id"]: float(p["low"])}, {p["id"]: float(p["high"])}]
    return rows


def tornado_table(parameters: pd.DataFrame, results: Sequence[Mapping[str, float]]) -> pd.DataFrame:
    """The tidy tornado table from the model's results on :func:`tornado_rows` (in order)."""
    base, labels = results[0], indicator_labels()
    out = []
    for i, p in enumerate(records(parameters)):
        low, high = results[1 + 2 * i], results[2 + 2 * i]
        for indicator in base:
            out.append(
                {
                    "parameter": p["id"],
                    "label": p["label"],
                    "indicator": indicator,
                    "indicator_label": labels.get(indicator, indicator),
                    "low_value": low[indicator],
                    "high_value": high[indicator],
                    "swing": high[indicator] - low[indicator],
                    "method": "one_at_a_time",
                    "parameter_low": float(p["low"]),
                    "parameter_high": float(p["high"]),
                    "base_value": base[indicator],
                    "p_value": math.nan,
                }
            )
    return _ranked(pd.DataFrame(out))


def one_at_a_time(
    parameters: pd.DataFrame,
    model: Model,
    *,
    workers: int = 1,
    scheduler: str | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Tornado swings: each parameter at ``low`` and ``high`` with the others at ``value``.

    Returns the tidy table (:data:`TABLE_COLUMNS`, method ``one_at_a_time``) and the model's
    output with every parameter at its value.
    """
    results = evaluate_all(model, tornado_rows(parameters), workers=workers, scheduler=scheduler)
    return tornado_table(parameters, results), dict(results[0])


def rank_correlation(
    parameters: pd.DataFrame, draws: pd.DataFrame, outputs: pd.DataFrame
) -> pd.DataFrame:
    """Global sensitivity on sampled runs: Spearman's rank correlation per parameter.

    ``draws`` (from :func:`fupinsim.uncertainty.draw_parameters`) and ``outputs`` (one column per
    indicator) are row-aligned. A constant indicator or parameter has correlation 0.
    """
    labels, out = indicator_labels(), []
    fifth = max(1, len(draws) // 5)
    for p in records(parameters):
        x = draws[p["id"]].to_numpy(dtype=float)
        order = np.argsort(x, kind="stable")
        for indicator in outputs.columns:
            y = outputs[indicator].to_numpy(dtype=float)
            rho, p_value = 0.0, 1.0
            if np.ptp(x) > 0 and np.ptp(y) > 0 and len(x) > 2:
                test = stats.spearmanr(x, y)
                rho, p_value = float(test.statistic), float(test.pvalue)
            out.append(
                {
                    "parameter": p["id"],
                    "label": p["label"],
                    "indicator": indicator,
                    "indicator_label": labels.get(indicator, indicator),
                    "low_value": float(y[order[:fifth]].mean()),
                    "high_value": float(y[order[-fifth:]].mean()),
                    "swing": 0.0 if math.isnan(rho) else rho,
                    "method": "rank_correlation",
                    "parameter_low": float(p["low"]),
                    "parameter_high": float(p["high"]),
                    "base_value": float(y.mean()),
                    "p_value": p_value,
                }
            )
    return _ranked(pd.DataFrame(out))


def _value(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _number(value: float, indicator: str) -> str:
    if indicator.startswith(("p_", "mean_p")):
        return f"{value:.0%}"
    if indicator.endswith("_yuan"):
        return f"{value / 1e6:,.1f} M yuan"
    return f"{value:,.0f}"


def top_assumptions(table: pd.DataFrame, n: int = 3, method: str = "one_at_a_time") -> pd.DataFrame:
    """The ``n`` assumptions each indicator depends on most, with a sentence in planner terms.

    Parameters with no effect (swing 0) are left out, and for the rank correlation those whose
    correlation is not significant (``p_value`` >= 0.05: with few draws and many parameters
    chance correlations of ±0.3 are common). Columns ``indicator, indicator_label, rank,
    parameter, label, swing, sentence``.
    """
    keep = (table["method"] == method) & (table["rank"] <= n) & (table["swing"] != 0)
    if method != "one_at_a_time":
        keep &= table["p_value"] < 0.05
    rows = table[keep]
    sentences = []
    for r in records(rows):
        name, indicator = r["indicator_label"], r["indicator"]
        if method == "one_at_a_time":
            sentences.append(
                f"{r['label']} ({_value(r['parameter_low'])} to {_value(r['parameter_high'])}): "
                f"{name} "
                f"{_number(r['low_value'], indicator)} to {_number(r['high_value'], indicator)}"
            )
        else:
            sentences.append(f"{r['label']}: rank correlation {r['swing']:+.2f} with {name}")
    out = rows[["indicator", "indicator_label", "rank", "parameter", "label", "swing"]].copy()
    out["sentence"] = sentences
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class SensitivityResult:
    """Tables of :func:`run_sensitivity`.

    Attributes
    ----------
    table:
        Tidy: :data:`TABLE_COLUMNS`, both methods.
    top:
        :func:`top_assumptions` of the tornado (and of the rank correlation if sampled).
    base:
        Indicators with every parameter at its value (shocks only).
    draws:
        The sampled parameter sets with their indicators (empty without sampling).
    summary:
        Per indicator: ``shocks_only`` (base) and, over the draws, ``with_assumptions_mean``,
        ``with_assumptions_p05``, ``with_assumptions_p95``.
    parameters:
        The parameters analysed (rows of :func:`fupinsim.uncertainty.uncertain_parameters`).
    """

    table: pd.DataFrame
    top: pd.DataFrame
    base: dict[str, float]
    draws: pd.DataFrame
    summary: pd.DataFrame
    parameters: pd.DataFrame


def _summary(base: Mapping[str, float], outputs: pd.DataFrame) -> pd.DataFrame:
    labels = indicator_labels()
    rows = []
    for indicator, value in base.items():
        values = outputs[indicator] if indicator in outputs else pd.Series(dtype=float)
        rows.append(
            {
                "indicator": indicator,
                "indicator_label": labels.get(indicator, indicator),
                "shocks_only": value,
                "with_assumptions_mean": float(values.mean()) if len(values) else math.nan,
                "with_assumptions_p05": float(values.quantile(0.05)) if len(values) else math.nan,
                "with_assumptions_p95": float(values.quantile(0.95)) if len(values) else math.nan,
                "draws": len(values),
            }
        )
    return pd.DataFrame(rows)


def run_sensitivity(
    model: Model,
    parameters: pd.DataFrame,
    *,
    samples: int = 0,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
) -> SensitivityResult:
    """Tornado and (with ``samples`` > 0) rank correlation of ``model`` over ``parameters``.

    Parameters
    ----------
    model:
        Picklable: parameter id → value in, indicator → value out (:class:`PlanModel`).
    parameters:
        ``id, label, value, low, high, distribution`` (e.g. :func:`analysed_parameters`).
    samples:
        Latin-hypercube draws for the global method (0: tornado only).
    seed:
        Seed of the draws' ``"uncertainty"`` stream.
    """
    rows = tornado_rows(parameters)
    sampled = draw_parameters(parameters, samples, seed) if samples > 0 else pd.DataFrame()
    if samples > 0:
        rows += records(sampled.drop(columns="draw"))
    # One pool (or cluster) for all evaluations: they are independent.
    results = evaluate_all(model, rows, workers=workers, scheduler=scheduler)
    n_tornado = 1 + 2 * len(parameters)
    tornado, base = tornado_table(parameters, results[:n_tornado]), dict(results[0])
    tables, tops = [tornado], [top_assumptions(tornado)]
    draws = pd.DataFrame()
    outputs = pd.DataFrame(columns=list(base))
    if samples > 0:
        outputs = pd.DataFrame(results[n_tornado:])
        global_table = rank_correlation(parameters, sampled, outputs)
        tables.append(global_table)
        tops.append(top_assumptions(global_table, method="rank_correlation"))
        draws = pd.concat([sampled, outputs], axis=1)
    table = pd.concat(tables, ignore_index=True)
    top = pd.concat(
        [
            t.assign(method=m)
            for t, m in zip(tops, ["one_at_a_time", "rank_correlation"], strict=False)
        ],
        ignore_index=True,
    )
    return SensitivityResult(table, top, dict(base), draws, _summary(base, outputs), parameters)


def analysed_parameters(
    scenario: Scenario, *, replanning: bool = False, only: Sequence[str] = ()
) -> pd.DataFrame:
    """The uncertain parameters a model can vary: without ``needs_replanning`` ones for a fixed
    plan (``replanning=False``), and only parameters with a spread.

    ``only``: keep parameters whose id equals or starts with one of these (``sheep_30`` keeps
    every sheep assumption); an item that matches nothing is an :class:`InputError`.
    """
    table = uncertain_parameters(scenario)
    keep = table["high"] > table["low"]
    if only:
        ids = table["id"].astype(str)
        matches = {item: ids.str.startswith(item) for item in only}
        unknown = [item for item, hit in matches.items() if not hit.any()]
        if unknown:
            raise InputError.single(
                "--only",
                unknown[0],
                "must be (the start of) an uncertain parameter id",
                fix=f"Known ids: {', '.join(ids)}",
            )
        keep &= np.logical_or.reduce(list(matches.values()))
    if not replanning:
        left_out = table.loc[table["needs_replanning"], "id"].tolist()
        if left_out:
            logger.info("a fixed plan does not depend on %s; left out", ", ".join(left_out))
        keep &= ~table["needs_replanning"]
    return table[keep].reset_index(drop=True)
