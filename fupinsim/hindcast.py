"""Hindcast: hold a run's projection against what happened after 2014.

:func:`compare_to_observed` takes the observed facts (``fupinsim.data.hindcast_facts()``, from
``fupinsim/data/hindcast.yaml``) and a run's tables (the names of ``PipelineResult.tables``,
``docs/contracts.md``) and returns one row per fact: the observed value, the model's value in
the same unit (with its P5/P95 over replications where the run table has them), the band that
counts as agreeing, a verdict and, where the model disagrees, a short note in planner's words
from the data file.

How a fact maps to the tables is data (``maps_to`` of each record): a ``level`` or a ``ratio``
of ``county_year`` indicators, the ``first_year_at_or_below`` the 3% exit line of a county
(from ``village_year`` and ``villages``), or the ``share_villages_above`` it. Ratios' P5/P95
divide the numerator's quantiles by the denominator's mean: exact when the denominator is the
base year (observed, without randomness), an approximation otherwise.

No I/O: the caller loads the facts and the tables.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fupinsim import data
from fupinsim.pipeline.results import RunTables

__all__ = ["COLUMNS", "MEASURES", "VERDICTS", "ModelValue", "compare_to_observed"]

logger = logging.getLogger(__name__)

#: Columns of the comparison table, in order.
COLUMNS: tuple[str, ...] = (
    "fact_id",
    "geography",
    "quantity",
    "year",
    "observed",
    "unit",
    "model",
    "model_low",
    "model_high",
    "band_low",
    "band_high",
    "verdict",
    "note",
)
#: Verdicts: inside the band, above it, below it, or no model value to compare.
VERDICTS: tuple[str, ...] = ("matches", "model_high", "model_low", "not_comparable")

_NAN = float("nan")
_EPS = 1e-9


@dataclass(frozen=True)
class ModelValue:
    """The model's value for one fact, in the fact's unit.

    ``low``/``high`` are P5/P95 over replications (NaN where the table has none). ``reason``
    says why there is no value (the fact is then not comparable); ``beyond_horizon`` marks a
    threshold the run never reaches (the model is then late, whatever the value).
    """

    value: float = _NAN
    low: float = _NAN
    high: float = _NAN
    reason: str = ""
    beyond_horizon: bool = False


def _missing(reason: str) -> ModelValue:
    return ModelValue(reason=reason)


def _table(frames: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    frame = frames.get(name)
    return frame if isinstance(frame, pd.DataFrame) and not frame.empty else None


def _select(frame: pd.DataFrame, where: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of ``frame`` whose columns equal ``where`` (compared as text, categories too)."""
    mask = pd.Series(True, index=frame.index)
    for column, wanted in where.items():
        if column not in frame.columns:
            return frame.iloc[0:0]
        mask &= frame[column].astype(str) == str(wanted)
    return frame[mask]


def _years_note(frame: pd.DataFrame, year: int) -> str:
    years = sorted(int(y) for y in frame["year"].unique())
    if not years:
        return "the run has no years"
    return f"the run covers {years[0]}-{years[-1]}, not {year}"


def _county_year_row(
    frame: pd.DataFrame, where: Mapping[str, Any], year: int
) -> tuple[float, float, float] | str:
    """(mean, p05, p95) of one county_year row, or the reason there is none."""
    rows = _select(frame, where)
    if rows.empty:
        return f"no county_year rows for {dict(where)}"
    row = rows[rows["year"] == year]
    if row.empty:
        return _years_note(rows, year)
    first = row.iloc[0]
    return (
        float(first["mean"]),
        float(first.get("p05", _NAN)),
        float(first.get("p95", _NAN)),
    )


def _level(maps: Mapping[str, Any], year: int, tables: Mapping[str, pd.DataFrame]) -> ModelValue:
    frame = _table(tables, "county_year")
    if frame is None:
        return _missing("the run has no county_year table")
    found = _county_year_row(frame, maps.get("where", {}), year)
    if isinstance(found, str):
        return _missing(found)
    return ModelValue(*found)


def _ratio(maps: Mapping[str, Any], year: int, tables: Mapping[str, pd.DataFrame]) -> ModelValue:
    frame = _table(tables, "county_year")
    if frame is None:
        return _missing("the run has no county_year table")
    where = dict(maps.get("where", {}))
    denominator = dict(maps.get("denominator", {}))
    den_where = {**where, "indicator": denominator.get("indicator", where.get("indicator"))}
    num = _county_year_row(frame, where, year)
    den = _county_year_row(frame, den_where, int(denominator.get("year", year)))
    if isinstance(num, str) or isinstance(den, str):
        return _missing(num if isinstance(num, str) else str(den))
    base = den[0]
    if not math.isfinite(base) or base == 0:
        return _missing("the denominator is zero or missing in the run")
    return ModelValue(num[0] / base, num[1] / base, num[2] / base)


def _county_incidence(county: str, tables: Mapping[str, pd.DataFrame]) -> pd.Series | str:
    """A county's incidence by year: village incidences weighted by the villages' population.

    Villages absent from ``village_year`` have no registered households (incidence 0); they
    still count in the county's population.
    """
    village_year = _table(tables, "village_year")
    villages = _table(tables, "villages")
    if village_year is None or villages is None:
        return "the run has no village_year or villages table"
    own = villages[villages["county_id"].astype(str) == county]
    population = float(own["population"].sum())
    if population <= 0:
        return f"no villages of {county} in the run"
    joined = village_year.merge(own[["village_id", "population"]], on="village_id")
    people = (joined["incidence_mean"] * joined["population"]).groupby(joined["year"]).sum()
    years = sorted(int(y) for y in village_year["year"].unique())
    return people.reindex(years, fill_value=0.0) / population


def _threshold() -> float:
    return float(data.plain(data.load_raw("exit_rules"))["county"]["max_incidence"])


def _first_year(
    maps: Mapping[str, Any], year: int, tables: Mapping[str, pd.DataFrame]
) -> ModelValue:
    del year  # the answer is a year
    county = str(maps.get("where", {}).get("county_id", ""))
    incidence = _county_incidence(county, tables)
    if isinstance(incidence, str):
        return _missing(incidence)
    below = incidence[incidence <= _threshold() + _EPS]
    if below.empty:
        return ModelValue(beyond_horizon=True, reason=f"not reached by {incidence.index.max()}")
    return ModelValue(float(below.index.min()))


def _share_villages_above(
    maps: Mapping[str, Any], year: int, tables: Mapping[str, pd.DataFrame]
) -> ModelValue:
    del maps  # every registered poor village of the run
    village_year = _table(tables, "village_year")
    villages = _table(tables, "villages")
    if village_year is None or villages is None:
        return _missing("the run has no village_year or villages table")
    if year not in set(village_year["year"].astype(int)):
        return _missing(_years_note(village_year, year))
    poor = villages.loc[villages["is_poor_village"].astype(bool), "village_id"]
    if poor.empty:
        return _missing("the run has no registered poor villages")
    in_year = village_year[village_year["year"] == year].set_index("village_id")["p_exit"]
    # A poor village without registered households is out (p_exit 1).
    p_exit = in_year.reindex(poor.to_numpy(), fill_value=1.0)
    return ModelValue(float((1.0 - p_exit).mean()))


_Measure = Callable[[Mapping[str, Any], int, Mapping[str, pd.DataFrame]], ModelValue]
#: How each ``maps_to.measure`` is computed from the tables.
MEASURES: dict[str, _Measure] = {
    "level": _level,
    "ratio": _ratio,
    "first_year_at_or_below": _first_year,
    "share_villages_above": _share_villages_above,
}


def _verdict(model: ModelValue, low: float, high: float) -> str:
    if model.beyond_horizon:
        return "model_high"
    if not math.isfinite(model.value):
        return "not_comparable"
    if model.value > high + _EPS:
        return "model_high"
    if model.value < low - _EPS:
        return "model_low"
    return "matches"


def _note(fact: Mapping[str, Any], verdict: str, model: ModelValue) -> str:
    if verdict == "not_comparable":
        return f"Not comparable: {model.reason}."
    if verdict == "matches":
        return ""
    side = "above" if verdict == "model_high" else "below"
    text = str(fact.get("notes", {}).get(verdict) or f"The model is {side} the observed band.")
    return f"{text} ({model.reason})" if model.reason else text


def _compare_one(fact: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    maps = fact.get("maps_to", {})
    year = int(fact["year"])
    band_low = float(fact["band"]["low"]["value"])
    band_high = float(fact["band"]["high"]["value"])
    measure = MEASURES.get(str(maps.get("measure")))
    if measure is None:
        model = _missing(f"unknown measure {maps.get('measure')!r}")
    else:
        model = measure(maps, year, tables)
    verdict = _verdict(model, band_low, band_high)
    logger.debug("hindcast %s: model %s, verdict %s", fact["id"], model.value, verdict)
    return {
        "fact_id": str(fact["id"]),
        "geography": str(fact["geography"]),
        "quantity": str(fact["quantity"]),
        "year": year,
        "observed": float(fact["observed"]["value"]),
        "unit": str(fact["observed"]["unit"]),
        "model": model.value,
        "model_low": model.low,
        "model_high": model.high,
        "band_low": band_low,
        "band_high": band_high,
        "verdict": verdict,
        "note": _note(fact, verdict, model),
    }


def compare_to_observed(
    facts: Sequence[Mapping[str, Any]], tables: RunTables | Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Compare a run's projection with the observed facts, one row per fact.

    Parameters
    ----------
    facts
        Records as in ``fupinsim/data/hindcast.yaml`` (``fupinsim.data.hindcast_facts()``):
        ``id, geography, quantity, year, observed, band, maps_to`` and optional ``notes``.
    tables
        A run's tables (:class:`~fupinsim.pipeline.RunTables`), or some of them by file stem
        (``county_year``, ``village_year``, ``villages``, … of ``outputs/<scenario>/tables/``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: the observed value and the model's (``model``, with
        ``model_low``/``model_high`` = P5/P95 over replications where the table gives them,
        else NaN) in the fact's ``unit``; the band; ``verdict`` (``matches``, ``model_high``,
        ``model_low`` or ``not_comparable`` when the run has no value, e.g. a year after its
        horizon); and ``note``, the data file's reason where the model disagrees.
    """
    frames = tables.as_dict() if isinstance(tables, RunTables) else tables
    rows = [_compare_one(fact, frames) for fact in facts]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({"year": "int64"})
