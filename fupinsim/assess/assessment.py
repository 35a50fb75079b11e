"""County assessment (§20-22): score, rank and rate each county."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fupinsim.assess.labels import CITY_ID, add_names, county_order
from fupinsim.assess.tables import indicator_rows
from fupinsim.data import immigrant_income_goal
from fupinsim.scenario import AssessmentSettings
from fupinsim.units import BASE_YEAR

__all__ = ["MET_PROBABILITY", "county_assessment"]

#: A target counts as met in the assessment when P(met) reaches this (more likely than not).
MET_PROBABILITY = 0.5


def county_assessment(
    county_year: pd.DataFrame,
    target_probability: pd.DataFrame,
    settings: AssessmentSettings | None = None,
    *,
    years: Sequence[int] | None = None,
    base_year: int = BASE_YEAR,
    growth_goal: float | None = None,
    met_probability: float = MET_PROBABILITY,
    village_income_indicator: str = "mean_income_pc_all",
) -> pd.DataFrame:
    """Score, rank and rate each county as the plan's assessment does (§20-22).

    For a county and assessment year ``Y`` the score (0-100 points) is
    ``100 × (w_h·s_h + w_v·s_v + w_e·s_e)`` with the weights of ``settings``:

    * ``s_h`` — income growth of poor households: average yearly growth of the mean per-capita
      net income of registered households (``mean_income_pc``) from ``base_year`` to ``Y``,
      divided by the plan's growth goal (``growth_goal``, default 25 % a year, PLAN §2), capped
      to 0-1;
    * ``s_v`` — income growth of poor villages: the same for the mean income of all households
      in the registry's villages (``village_income_indicator``, default ``mean_income_pc_all``;
      the registry covers the villages with poor households);
    * ``s_e`` — on-schedule exits: the expected share of the county's exit targets due by ``Y``
      (every target group and year ≤ ``Y``) that are met, i.e. the mean of ``p_met``.

    A target counts as *missed* when ``p_met < met_probability`` (more likely missed than met).
    A county is rated ``good`` only when its score reaches ``settings.good_threshold`` *and* it
    misses no target (§22: a team that fails its task cannot be rated good); otherwise
    ``not good``.

    Parameters
    ----------
    county_year
        ``county_id, villages, year, indicator, mean`` with indicators ``mean_income_pc`` and
        ``village_income_indicator`` (yuan per person per year), including ``base_year``.
    target_probability
        ``county_id, villages, year, target_exits, p_met``.
    settings
        Weights and the good threshold (scenario ``assessment`` section).
    years
        Assessment years (default: every year of ``target_probability``).
    base_year
        Income base year.
    growth_goal
        Yearly growth that scores full marks (share per year).
    met_probability
        P(met) from which a target counts as met.
    village_income_indicator
        ``county_year`` indicator used for the villages' income.

    Returns
    -------
    DataFrame
        One row per county and year: ``county_id, county, county_zh, year, growth_households,
        score_income_households, growth_villages, score_income_villages, n_targets_due,
        n_targets_missed, share_targets_met_expected, score_exits, score`` (points 0-100),
        ``rank`` (1 = best in the year), ``all_targets_met, rating, rating_note``.
    """
    settings = settings or AssessmentSettings()
    goal = float(immigrant_income_goal()["growth_per_year"]) if growth_goal is None else growth_goal
    if goal <= 0:
        raise ValueError(f"growth_goal must be > 0; got {goal}")
    tp = target_probability.copy()
    tp["county_id"] = tp["county_id"].astype(str)
    tp["year"] = tp["year"].astype("int64")
    if years is None:
        years = sorted(int(y) for y in tp["year"].unique())
    incomes = (
        _county_income(county_year, "mean_income_pc"),
        _county_income(county_year, village_income_indicator),
    )
    rows = _assessment_rows(
        tp[tp["county_id"] != CITY_ID], incomes, years, base_year, goal, settings, met_probability
    )
    out = _rate(pd.DataFrame(rows), settings)
    return add_names(out.sort_values(["year", "rank", "county_id"], ignore_index=True))


def _rate(out: pd.DataFrame, settings: AssessmentSettings) -> pd.DataFrame:
    """Add ``rank`` (within the year), ``all_targets_met, rating, rating_note``."""
    out["rank"] = out.groupby("year")["score"].rank(ascending=False, method="min").astype("int64")
    out["all_targets_met"] = out["n_targets_missed"] == 0
    above = out["score"] >= settings.good_threshold
    out["rating"] = np.where(above & out["all_targets_met"], "good", "not good")
    out["rating_note"] = [
        _rating_note(score, threshold=settings.good_threshold, missed=missed)
        for score, missed in zip(out["score"], out["n_targets_missed"], strict=True)
    ]
    return out


def _assessment_rows(
    tp: pd.DataFrame,
    incomes: tuple[pd.DataFrame, pd.DataFrame],
    years: Sequence[int],
    base_year: int,
    goal: float,
    settings: AssessmentSettings,
    met_probability: float,
) -> list[dict[str, Any]]:
    """One row per county and assessment year: growth, scores and targets (see
    :func:`county_assessment`); ``incomes`` is the households' and the villages' income."""
    households_income, village_income = incomes
    county_ids = [
        c
        for c in county_order(tp["county_id"].tolist() + households_income["county_id"].tolist())
        if c != CITY_ID
    ]
    rows = []
    for year in years:
        g_h = _growth(households_income, int(year), base_year)
        g_v = _growth(village_income, int(year), base_year)
        for county in county_ids:
            due = tp[(tp["county_id"] == county) & (tp["year"] <= year)]
            n_missed = int((due["p_met"] < met_probability).sum())
            s_e = float(due["p_met"].mean()) if len(due) else 1.0
            gh = float(g_h.get(county, math.nan))
            gv = float(g_v.get(county, math.nan))
            s_h = _clip01(gh / goal)
            s_v = _clip01(gv / goal)
            score = 100.0 * (
                settings.weight_income_growth_households * s_h
                + settings.weight_income_growth_villages * s_v
                + settings.weight_on_schedule_exits * s_e
            )
            rows.append(
                {
                    "county_id": county,
                    "year": int(year),
                    "growth_households": gh,
                    "score_income_households": s_h,
                    "growth_villages": gv,
                    "score_income_villages": s_v,
                    "n_targets_due": len(due),
                    "n_targets_missed": n_missed,
                    "share_targets_met_expected": s_e,
                    "score_exits": s_e,
                    "score": score,
                }
            )
    return rows


def _county_income(county_year: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Per county and year, the indicator's replication mean (the ``all`` group, or the mean of
    the county's groups when it has no ``all`` row)."""
    part = indicator_rows(county_year, indicator)
    whole = part[part["villages"] == "all"]
    missing = sorted(set(part["county_id"]) - set(whole["county_id"]))
    pieces: list[pd.DataFrame] = [whole[["county_id", "year", "mean"]]]
    if missing:
        rest = part[part["county_id"].isin(missing)]
        pieces.append(
            rest.groupby(["county_id", "year"], as_index=False).agg(mean=("mean", "mean"))
        )
    return pd.concat(pieces, ignore_index=True)


def _growth(values: pd.DataFrame, year: int, base_year: int) -> pd.Series:
    table = values.pivot_table(index="county_id", columns="year", values="mean", aggfunc="first")
    if year not in table or base_year not in table:
        return pd.Series(math.nan, index=table.index)
    ratio = table[year] / table[base_year]
    return ratio.clip(lower=0.0) ** (1.0 / (year - base_year)) - 1.0


def _clip01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def _rating_note(score: float, *, threshold: float, missed: int) -> str:
    if missed and score >= threshold:
        return (
            f"score {score:.0f} ≥ {threshold:.0f} but {missed} target(s) missed: cannot be "
            "rated good (plan §22)"
        )
    if missed:
        return f"score {score:.0f} < {threshold:.0f}; {missed} target(s) missed"
    if score >= threshold:
        return f"score {score:.0f} ≥ {threshold:.0f} and every target met"
    return f"score {score:.0f} < {threshold:.0f}"
