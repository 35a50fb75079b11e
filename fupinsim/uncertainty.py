"""Uncertain assumptions: their ranges, draws from their own random stream, scenario variants.

Many numbers of the catalogue and of a scenario are ESTIMATEs. Those with a defensible spread
carry a range next to their value:

* catalogue facts in ``fupinsim/data/interventions.yaml``: ``low``, ``high``, optional
  ``distribution`` and ``ramp_year`` (which year's share of a ramp-up is uncertain, 0 = the start
  year) and ``range_source`` (how the range was set);
* scenario fields in ``fupinsim/data/uncertainty.yaml`` (``scenario_fields``), which also holds
  the planner-language labels ("first-year effect of sheep raising").

:func:`uncertain_parameters` lists them for a scenario (values and ranges in the scenario's own
terms, i.e. after its ``interventions`` factors), :func:`sample_parameters` draws them by Latin
hypercube (SALib) from the random stream ``"uncertainty"`` (:mod:`fupinsim.rng`), so the shock
streams of the microsimulation stay common across draws, plans and scenarios.
:func:`apply_parameters` turns one draw into a scenario variant through the scenario's own
overrides (``interventions.<entry>.effect_factor`` / ``cost_factor`` and scenario fields);
the catalogue has no scenario override for ramp-ups and failure risks, so those are applied to
the loaded catalogue by :func:`apply_to_catalogue` (:func:`scenario_variant` does both).

Distributions: ``triangular`` (mode at the value; the default), ``uniform`` on [low, high] and
``lognormal`` (median at the value, low and high its 5th and 95th percentiles).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from SALib.sample import latin
from scipy import stats

from fupinsim import rng
from fupinsim.data import SOURCE_TAGS, load_raw
from fupinsim.errors import InputError, Problem
from fupinsim.microsim import Catalogue, load_catalogue
from fupinsim.scenario import Scenario, merge_overrides, validate_mapping
from fupinsim.scenario.uncertainty import UncertaintySettings

__all__ = [
    "COLUMNS",
    "DISTRIBUTIONS",
    "STREAM",
    "apply_parameters",
    "apply_to_catalogue",
    "draw_parameters",
    "indicator_labels",
    "range_problems",
    "records",
    "sample_parameters",
    "scenario_variant",
    "uncertain_parameters",
    "uncertainty_settings",
]

logger = logging.getLogger(__name__)

#: The random stream of the draws (never used by the microsimulation's shocks).
STREAM = "uncertainty"
DISTRIBUTIONS = ("triangular", "uniform", "lognormal")
#: Columns of :func:`uncertain_parameters`.
COLUMNS = [
    "id",
    "where",
    "route",
    "entry_id",
    "field",
    "value",
    "low",
    "high",
    "distribution",
    "label",
    "range_source",
    "source",
    "needs_replanning",
    "base_value",
    "applies",
    "ramp_year",
]
_Z95 = float(stats.norm.ppf(0.95))


@cache
def _labels() -> dict[str, Any]:
    return load_raw("uncertainty")


def indicator_labels() -> dict[str, str]:
    """Outcome indicator id → planner label (``fupinsim/data/uncertainty.yaml``)."""
    return {str(k): str(v) for k, v in _labels()["indicators"].items()}


def uncertainty_settings(scenario: Scenario) -> UncertaintySettings:
    """The scenario's ``uncertainty`` section, or the defaults while the field is not hooked up."""
    settings = getattr(scenario, "uncertainty", None)
    return settings if isinstance(settings, UncertaintySettings) else UncertaintySettings()


# ----------------------------------------------------------------------------------------------
# The parameter table


def _label(entry_id: str, entry_name: str, field: str, ramp_year: int) -> str:
    data = _labels()
    name = data["names"].get(entry_id, entry_name.lower())
    words = data["year_words"]
    year = words[ramp_year] if ramp_year < len(words) else f"year-{ramp_year + 1}"
    return str(data["labels"][field]).format(name=name, year=year)


def _catalogue_rows(scenario: Scenario | None) -> list[dict[str, Any]]:
    routes = _labels()["routes"]
    rows = []
    for entry_id, node in (load_raw("interventions").get("entries") or {}).items():
        for field, how in routes.items():
            fact = node.get(field)
            if not isinstance(fact, Mapping) or "low" not in fact:
                continue
            ramp_year = int(fact.get("ramp_year", 0))
            value = fact["value"][ramp_year] if field == "ramp_up" else fact["value"]
            factor = 1.0
            override = how.get("override")
            if scenario is not None and override and entry_id in scenario.interventions:
                factor = float(getattr(scenario.interventions[entry_id], override))
            where = (
                f"interventions.{entry_id}.{override}"
                if how["route"] == "scenario"
                else f"catalogue.{entry_id}.{field}"
                + (f"[{ramp_year}]" if field == "ramp_up" else "")
            )
            rows.append(
                {
                    "id": f"{entry_id}.{field}",
                    "where": where,
                    "route": how["route"],
                    "entry_id": str(entry_id),
                    "field": field,
                    "value": float(value) * factor,
                    "low": float(fact["low"]) * factor,
                    "high": float(fact["high"]) * factor,
                    "distribution": str(fact.get("distribution", "triangular")),
                    "label": _label(
                        str(entry_id), str(node.get("name", entry_id)), field, ramp_year
                    ),
                    "range_source": str(fact.get("range_source", "")),
                    "source": str(fact.get("source", "")),
                    "needs_replanning": False,
                    "base_value": float(value),
                    "applies": str(override or "value"),
                    "ramp_year": ramp_year,
                }
            )
    return rows


def _get_path(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node[part]
    return node


def _scenario_rows(scenario: Scenario | None) -> list[dict[str, Any]]:
    current = (scenario or Scenario(id="defaults", title="", description="")).model_dump()
    rows = []
    for path, node in (_labels().get("scenario_fields") or {}).items():
        fact = node["range"]
        applies = str(node.get("applies", "value"))
        default = float(fact["value"])
        value, low, high = default, float(fact["low"]), float(fact["high"])
        if applies == "value":
            value = float(_get_path(current, path))
            if default not in (0, value):  # the range moves with the scenario's value
                low, high = low * value / default, high * value / default
        rows.append(
            {
                "id": path,
                "where": path,
                "route": "scenario",
                "entry_id": None,
                "field": path.rsplit(".", 1)[-1],
                "value": value,
                "low": min(low, high),
                "high": max(low, high),
                "distribution": str(fact.get("distribution", "triangular")),
                "label": str(node["label"]),
                "range_source": str(fact.get("range_source", "")),
                "source": str(fact.get("source", "")),
                "needs_replanning": bool(node.get("needs_replanning", False)),
                "base_value": default,
                "applies": applies,
                "ramp_year": 0,
            }
        )
    return rows


def uncertain_parameters(scenario: Scenario | None = None) -> pd.DataFrame:
    """Every assumption with a range, in the scenario's terms.

    Parameters
    ----------
    scenario:
        The scenario whose values and ``interventions`` factors set the values (``None``: the
        catalogue and the scenario model's defaults).

    Returns
    -------
    pandas.DataFrame
        One row per parameter, columns :data:`COLUMNS`: ``id`` (``sheep_30.effect_net``,
        ``microsim.shocks.drought_probability``), ``where`` (what a draw changes: a scenario
        path such as ``interventions.sheep_30.effect_factor``, or ``catalogue.<entry>.<field>``),
        ``route`` (``scenario`` or ``catalogue``), ``value``, ``low``, ``high`` (in the field's
        unit: yuan, shares, probabilities; for ``applies`` = ``shift``/``scale`` an additive
        shift or a multiple of the scenario's mapping), ``distribution``, ``label`` (planner
        language), ``range_source``, ``source`` (of the value), ``needs_replanning`` (acts only
        through the allocation), ``base_value`` (the catalogue's or model default's value).

    Raises
    ------
    ValueError
        A range in the data files is not valid (see :func:`range_problems`).
    """
    frame = pd.DataFrame(_catalogue_rows(scenario) + _scenario_rows(scenario), columns=COLUMNS)
    problems = range_problems(frame)
    if problems:
        raise ValueError("uncertainty ranges are not valid:\n" + "\n".join(problems))
    return frame


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table as plain dicts (column → value)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def range_problems(parameters: pd.DataFrame) -> list[str]:
    """What is wrong with a parameter table: order of low/value/high, sources, distributions."""
    problems = []
    for row in records(parameters):
        pid, low, value, high = row["id"], row["low"], row["value"], row["high"]
        if not low <= value <= high:
            problems.append(f"{pid}: needs low <= value <= high; got {low}, {value}, {high}")
        if not str(row["range_source"]).startswith(SOURCE_TAGS) or len(row["range_source"]) < 12:
            problems.append(f"{pid}: range_source must say how the range was set")
        if not str(row["source"]).startswith(("ESTIMATE", "DERIVED")):
            problems.append(f"{pid}: only ESTIMATE and DERIVED values may carry a range")
        if row["distribution"] not in DISTRIBUTIONS:
            problems.append(f"{pid}: distribution must be one of {DISTRIBUTIONS}")
        if row["distribution"] == "lognormal" and not 0 < low < value < high:
            problems.append(f"{pid}: a lognormal range needs 0 < low < value < high")
    if parameters["id"].duplicated().any() or parameters["where"].duplicated().any():
        problems.append("parameter ids and the places they change must be unique")
    return problems


# ----------------------------------------------------------------------------------------------
# Sampling


def _quantiles(row: Mapping[str, Any], u: np.ndarray) -> np.ndarray:
    """Values of one parameter at the probabilities ``u`` (inverse CDF)."""
    low, value, high = float(row["low"]), float(row["value"]), float(row["high"])
    if high <= low:
        return np.full(len(u), value)
    if row["distribution"] == "uniform":
        return np.asarray(low + u * (high - low))
    if row["distribution"] == "lognormal":
        sigma = math.sqrt(math.log(high / value) * math.log(value / low)) / _Z95
        return np.asarray(value * np.exp(sigma * stats.norm.ppf(u)))
    mode = (value - low) / (high - low)
    return np.asarray(stats.triang.ppf(u, mode, loc=low, scale=high - low))


def draw_parameters(parameters: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` Latin-hypercube draws (SALib) of the parameters of a table, from stream ``seed``.

    ``parameters`` needs ``id``, ``value``, ``low``, ``high``, ``distribution``. Returns column
    ``draw`` (0 … n-1) and one column per parameter id; each parameter's ``n`` values fall one
    in each of ``n`` equal-probability strata. Only the ``"uncertainty"`` stream is used.
    """
    if n < 1:
        raise InputError.single("samples", n, "must be at least 1")
    generator = rng.generator(seed, STREAM)
    problem = {
        "num_vars": len(parameters),
        "names": list(parameters["id"]),
        "bounds": [[0.0, 1.0]] * len(parameters),
    }
    unit = latin.sample(problem, n, seed=generator)
    columns = {row["id"]: _quantiles(row, unit[:, i]) for i, row in enumerate(records(parameters))}
    return pd.DataFrame({"draw": np.arange(n), **columns})


def sample_parameters(
    scenario: Scenario,
    n: int,
    seed: int | None = None,
    *,
    parameters: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``n`` Latin-hypercube draws of the scenario's uncertain parameters.

    Parameters
    ----------
    scenario:
        Sets the values and ranges (:func:`uncertain_parameters`) and, by default, the seed.
    n:
        Number of draws (>= 1).
    seed:
        Seed of the ``"uncertainty"`` stream (default ``scenario.seed``). The draws come from
        that stream only, so the shocks of a run stay the same whatever is drawn here.
    parameters:
        A subset of :func:`uncertain_parameters` to draw (default all).

    Returns
    -------
    pandas.DataFrame
        Column ``draw`` and one column per parameter id, in the parameter's unit
        (:func:`draw_parameters`).
    """
    table = uncertain_parameters(scenario) if parameters is None else parameters
    return draw_parameters(table, n, scenario.seed if seed is None else seed)


# ----------------------------------------------------------------------------------------------
# Scenario variants


def _values(row: Mapping[str, Any] | pd.Series, known: Mapping[str, Any]) -> dict[str, float]:
    """The parameter values a row sets (``draw`` and missing values left out)."""
    values = {
        str(k): float(v)
        for k, v in row.items()
        if k != "draw" and v is not None and not (isinstance(v, float) and math.isnan(v))
    }
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(
            [
                Problem(
                    "parameter row",
                    key,
                    "must be an uncertain parameter id (see uncertain_parameters())",
                )
                for key in unknown
            ]
        )
    return values


def _nested(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _mapped(node: Any, shift: float, scale: float) -> Any:
    if isinstance(node, Mapping):
        return {k: _mapped(v, shift, scale) for k, v in node.items()}
    return float(node) * scale + shift


def apply_parameters(
    scenario: Scenario,
    row: Mapping[str, Any] | pd.Series,
    *,
    parameters: pd.DataFrame | None = None,
) -> Scenario:
    """A scenario variant with the row's values of scenario-route parameters as overrides.

    Catalogue effects and costs become ``interventions.<entry>.effect_factor`` /
    ``cost_factor`` (drawn value / catalogue value; the entry's other override fields are kept,
    variants such as ``sheep_30_credit`` inherit them, and a cost factor moves every payer's
    cost of the entry); scenario fields are set (or shifted / scaled, see
    ``fupinsim/data/uncertainty.yaml``). The merged mapping is validated again, so a value out
    of a field's bounds is a :class:`~fupinsim.errors.ScenarioError`. Catalogue-route
    parameters (ramp-ups, failure risks) have no scenario override and are left to
    :func:`apply_to_catalogue`.

    Parameters
    ----------
    row:
        Parameter id → value (a row of :func:`sample_parameters`, or a mapping); ids missing or
        NaN keep their value.
    parameters:
        :func:`uncertain_parameters` of this scenario, when the caller has it already (many
        draws of one scenario).
    """
    known = uncertain_parameters(scenario) if parameters is None else parameters
    table = {r["id"]: r for r in records(known)}
    values = _values(row, table)
    overrides: dict[str, Any] = {}
    current = scenario.model_dump()
    for pid, value in values.items():
        p = table[pid]
        if p["route"] != "scenario":
            continue
        if p["applies"] in ("effect_factor", "cost_factor"):
            change = _nested(
                f"interventions.{p['entry_id']}.{p['applies']}", value / p["base_value"]
            )
        elif p["applies"] == "value":
            change = _nested(p["where"], value)
        else:
            scale = value if p["applies"] == "scale" else 1.0
            shift = value if p["applies"] == "shift" else 0.0
            change = _nested(p["where"], _mapped(_get_path(current, p["where"]), shift, scale))
        overrides = merge_overrides(overrides, change)
    if not overrides:
        return scenario
    logger.debug("scenario %s: parameter overrides %s", scenario.id, overrides)
    return validate_mapping(merge_overrides(current, overrides), f"scenario {scenario.id}")


def _ramp(ramp: tuple[float, ...], year: int, share: float) -> tuple[float, ...]:
    """``ramp`` with ``ramp[year] = share``, other years clipped so it stays non-decreasing."""
    share = min(max(share, 0.0), 1.0)
    out = [min(r, share) if k < year else max(r, share) for k, r in enumerate(ramp)]
    out[year] = share
    out[-1] = 1.0
    return tuple(out)


def apply_to_catalogue(
    catalogue: Catalogue, row: Mapping[str, Any] | pd.Series, parameters: pd.DataFrame
) -> Catalogue:
    """The catalogue with the row's catalogue-route values (ramp-ups, failure risks) in place.

    A value set on an entry holds for its variants too (``sheep_30`` → ``sheep_30_credit``),
    as scenario overrides do. Scenario-route parameters are ignored here.
    """
    table = {r["id"]: r for r in records(parameters)}
    values = _values(row, table)
    entries = dict(catalogue.entries)
    for pid, value in values.items():
        p = table[pid]
        if p["route"] != "catalogue":
            continue
        targets = [e for e in entries.values() if p["entry_id"] in (e.id, e.variant_of)]
        for entry in targets:
            sources = {**entry.sources}
            key = str(p["field"])
            sources[key] = f"{sources.get(key, '')}; drawn {value:g} (uncertainty)"
            if key == "ramp_up":
                changed = replace(entry, ramp_up=_ramp(entry.ramp_up, int(p["ramp_year"]), value))
            else:
                changed = replace(entry, failure_prob=min(max(value, 0.0), 0.999))
            entries[entry.id] = replace(changed, sources=MappingProxyType(sources))
    return replace(catalogue, entries=MappingProxyType(entries))


def scenario_variant(
    scenario: Scenario,
    row: Mapping[str, Any] | pd.Series,
    *,
    parameters: pd.DataFrame | None = None,
) -> tuple[Scenario, Catalogue]:
    """The scenario and catalogue of one draw (:func:`apply_parameters` then
    :func:`apply_to_catalogue`); ``parameters``: :func:`uncertain_parameters` of ``scenario``
    if the caller has it (default: computed)."""
    table = uncertain_parameters(scenario) if parameters is None else parameters
    variant = apply_parameters(scenario, row, parameters=table)
    catalogue = apply_to_catalogue(load_catalogue(variant), row, table)
    return variant, catalogue
