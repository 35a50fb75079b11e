"""Headline summary of a scenario and the comparison of scenarios."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupinsim.assess.labels import CITY_ID, group_label
from fupinsim.assess.lookup import from_run, required_from_run
from fupinsim.assess.types import AtRisk, ScenarioSummary

if TYPE_CHECKING:  # the pipeline imports assess: only the type, no import at run time
    from fupinsim.pipeline.results import RunTables

__all__ = ["compare_scenarios", "scenario_summary"]


def scenario_summary(
    run: RunTables | None = None,
    /,
    *,
    scenario_id: str,
    target_probability: pd.DataFrame | None = None,
    funding: pd.DataFrame | None = None,
    allocation: pd.DataFrame | None = None,
    shortfall: pd.DataFrame | None = None,
    title: str = "",
    required_confidence: float = 0.9,
    final_year: int | None = None,
    p_all_targets_met: float | None = None,
) -> ScenarioSummary:
    """Headline numbers of one scenario (the report's first box, one comparison row).

    Parameters
    ----------
    run
        The run's tables: ``target_probability``, ``funding``, ``allocation`` and
        ``shortfall`` come from it (a table given by keyword instead wins; without ``run``,
        ``target_probability`` is needed).
    scenario_id, title
        Scenario id and one-line title.
    target_probability
        ``county_id, villages, year, target_exits, projected_exits_mean, p_met``.
    funding
        ``pool, source, year, amount_yuan`` (money available).
    allocation
        ``fiscal_yuan, credit_yuan, household_yuan`` (money the plan spends).
    shortfall
        ``county_id, villages, year, missing_exits, extra_yuan_to_close``.
    required_confidence
        P(met) below which a target group counts as at risk (scenario
        ``allocation.required_confidence``).
    final_year
        Year of the final targets (default: last year of ``target_probability``).
    p_all_targets_met
        P(every target met) from the replications, when the pipeline has it. Without it, an
        approximation: counties independent, and within a target group the years fully
        dependent, so ``Π over groups of min over years of p_met``.

    Returns
    -------
    ScenarioSummary
        Targets and projected exits of the final year, P(all targets met) and how it was
        found, money available / allocated (fiscal) / missing, the target groups at risk
        (worst first) and the verdict (``on track`` / ``at risk`` / ``unlikely``).
        ``money_missing_yuan`` sums, over target groups, the largest ``extra_yuan_to_close``
        of any year (closing the worst year's cumulative gap closes the others).
    """
    target_probability = required_from_run(
        run, "target_probability", target_probability, "scenario_summary"
    )
    return _summary(
        _county_targets(target_probability),
        from_run(run, "funding", funding),
        from_run(run, "allocation", allocation),
        from_run(run, "shortfall", shortfall),
        scenario_id=scenario_id,
        title=title,
        required_confidence=required_confidence,
        final_year=final_year,
        p_all_targets_met=p_all_targets_met,
    )


def _summary(
    tp: pd.DataFrame,
    funding: pd.DataFrame | None,
    allocation: pd.DataFrame | None,
    shortfall: pd.DataFrame | None,
    *,
    scenario_id: str,
    title: str,
    required_confidence: float,
    final_year: int | None,
    p_all_targets_met: float | None,
) -> ScenarioSummary:
    """:func:`scenario_summary` of the counties' target rows ``tp`` and the other tables."""
    final = int(tp["year"].max()) if final_year is None else int(final_year)
    last = tp[tp["year"] == final]
    target = float(last["target_exits"].sum())
    projected = float(last["projected_exits_mean"].sum())
    worst = tp.loc[tp.groupby(["county_id", "villages"])["p_met"].idxmin()]
    p_all, method = _p_all(worst, p_all_targets_met)
    at_risk = worst[worst["p_met"] < required_confidence].sort_values("p_met")
    risk_list = _risk_list(at_risk)
    money_missing, missing_exits, n_missed, n_money_cannot = _shortfall_totals(shortfall, final)
    verdict, text = _verdict(p_all, required_confidence, final)
    return ScenarioSummary(
        scenario_id=scenario_id,
        title=title,
        final_year=final,
        target_exits=target,
        projected_exits_mean=projected,
        exits_share=projected / target if target else math.nan,
        p_all_targets_met=p_all,
        p_all_method=method,
        p_min=float(tp["p_met"].min()) if len(tp) else math.nan,
        required_confidence=required_confidence,
        money_available_yuan=_sum(funding, "amount_yuan"),
        money_allocated_yuan=_sum(allocation, "fiscal_yuan"),
        credit_yuan=_sum(allocation, "credit_yuan"),
        household_yuan=_sum(allocation, "household_yuan"),
        money_missing_yuan=money_missing,
        missing_exits=missing_exits,
        targets_missed_by_plan=n_missed,
        targets_money_cannot_close=n_money_cannot,
        at_risk=risk_list,
        verdict=verdict,
        verdict_text=text,
    )


def _county_targets(target_probability: pd.DataFrame) -> pd.DataFrame:
    """The counties' target rows (no city totals), ids as strings."""
    tp = target_probability.copy()
    tp["county_id"] = tp["county_id"].astype(str)
    tp["villages"] = tp["villages"].astype(str)
    return tp[tp["county_id"] != CITY_ID]


def _p_all(worst: pd.DataFrame, p_all_targets_met: float | None) -> tuple[float, str]:
    """P(all targets met) and how it was found (simulated, else approximated from ``worst``,
    each target group's row with its lowest P(met))."""
    if p_all_targets_met is None:
        p_all = float(np.prod(worst["p_met"].to_numpy(dtype=float)))
        return p_all, "approximate: product over target groups of each group's lowest P(met)"
    return float(p_all_targets_met), "simulated (share of replications)"


def _risk_list(at_risk: pd.DataFrame) -> list[AtRisk]:
    """Target groups at risk, in the order given."""
    return [
        AtRisk(
            county_id=str(r["county_id"]),
            villages=str(r["villages"]),
            label=group_label(str(r["county_id"]), str(r["villages"])),
            year=int(r["year"]),
            p_met=float(r["p_met"]),
        )
        for r in at_risk.to_dict("records")
    ]


def _shortfall_totals(shortfall: pd.DataFrame | None, final: int) -> tuple[float, float, int, int]:
    """``(money_missing_yuan, missing_exits, targets_missed_by_plan,
    targets_money_cannot_close)`` from the allocation shortfall (see :func:`scenario_summary`)."""
    money_missing, missing_exits = 0.0, 0.0
    n_missed, n_money_cannot = 0, 0
    if shortfall is not None and len(shortfall):
        sf = shortfall.copy()
        sf["county_id"] = sf["county_id"].astype(str)
        sf["villages"] = sf["villages"].astype(str)
        grouped = sf.groupby(["county_id", "villages"])
        money_missing = float(grouped["extra_yuan_to_close"].max().sum())
        missing_exits = float(sf.loc[sf["year"] == final, "missing_exits"].sum())
        missed = sf["missing_exits"] > 0
        n_missed = int(missed.sum())
        # NaN money: no amount closes the gap (capacity or exit yield binds).
        n_money_cannot = int((missed & sf["extra_yuan_to_close"].isna()).sum())
    return money_missing, missing_exits, n_missed, n_money_cannot


def _verdict(p_all: float, required_confidence: float, final: int) -> tuple[str, str]:
    """``(verdict, verdict_text)`` from P(all targets met)."""
    if p_all >= required_confidence:
        verdict = "on track"
        text = f"The {final} targets will very likely be met (P(all targets met) = {p_all:.0%})."
    elif p_all >= 0.5:
        verdict = "at risk"
        text = (
            f"The {final} targets are at risk: P(all targets met) = {p_all:.0%}, below the "
            f"required {required_confidence:.0%}."
        )
    else:
        verdict = "unlikely"
        text = (
            f"The {final} targets will probably not all be met: P(all targets met) = {p_all:.0%}."
        )
    return verdict, text


def _sum(frame: pd.DataFrame | None, column: str) -> float:
    if frame is None or column not in frame:
        return math.nan
    return float(frame[column].sum())


def compare_scenarios(summaries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per scenario from :func:`scenario_summary` results (or dicts), in the given order.

    Returns
    -------
    DataFrame
        ``scenario_id, title, final_year, target_exits, projected_exits_mean, exits_share,
        missing_exits, money_available_yuan, cost_fiscal_yuan, money_missing_yuan,
        p_all_targets_met, p_final_targets_met, p_min, n_groups_at_risk, verdict``
        (``p_final_targets_met``: P(the final year's targets met), NaN when unknown).
    """
    rows = [
        {
            "scenario_id": s["scenario_id"],
            "title": s.get("title", ""),
            "final_year": s.get("final_year"),
            "target_exits": s.get("target_exits", math.nan),
            "projected_exits_mean": s.get("projected_exits_mean", math.nan),
            "exits_share": s.get("exits_share", math.nan),
            "missing_exits": s.get("missing_exits", math.nan),
            "money_available_yuan": s.get("money_available_yuan", math.nan),
            "cost_fiscal_yuan": s.get("money_allocated_yuan", math.nan),
            "money_missing_yuan": s.get("money_missing_yuan", math.nan),
            "p_all_targets_met": s.get("p_all_targets_met", math.nan),
            "p_final_targets_met": _or_nan(s.get("p_final_targets_met")),
            "p_min": s.get("p_min", math.nan),
            "n_groups_at_risk": len(s.get("at_risk", [])),
            "verdict": s.get("verdict", ""),
        }
        for s in summaries
    ]
    columns = [
        "scenario_id",
        "title",
        "final_year",
        "target_exits",
        "projected_exits_mean",
        "exits_share",
        "missing_exits",
        "money_available_yuan",
        "cost_fiscal_yuan",
        "money_missing_yuan",
        "p_all_targets_met",
        "p_final_targets_met",
        "p_min",
        "n_groups_at_risk",
        "verdict",
    ]
    return pd.DataFrame(rows, columns=columns)


def _or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)
