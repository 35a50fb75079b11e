"""Scenario section ``policy``: dated policy parameters, overridden sparsely by year.

Like OpenFisca's dated parameters, each policy parameter is a series by year with a unit and a
source. Its default comes from the packaged data (``fupinsim/data/poverty_line.yaml``,
``social_protection.yaml``) or, for the health rules the plan sets (§9), from
``microsim.health``; a scenario overrides only the years it lists, with the source of its
numbers::

    extends: plan_2015
    policy:
      dibao_standard:
        values: {2016: 2952, 2017: 2952}
        source: "PLAN §x: the dibao standard at the poverty line"

An override of one year changes exactly that year's value; every other year keeps its default.
Only simulated years may be overridden: the base year (``microsim.first_year``) is the
registry's, observed. :meth:`PolicySettings.resolve` gives the whole table the engine uses
(:class:`PolicyTable`).

Parameters (:data:`PARAMETERS`): ``poverty_line``, ``dibao_standard``, ``dibao_take_up``,
``ncms_inpatient_rate``, ``ncms_poor_bonus``, ``serious_illness_threshold``,
``serious_illness_threshold_poor``, ``pension_monthly``, ``pension_age``.

The pension age: the rule pays from 60, but the registry counts members aged 65 and over
(``n_elderly``). Pensioners per member aged 65+ are taken from the rural age structure
(``social_protection.yaml`` ``pension``: shares aged 60+ and 65+), linearly between 60 and 65 —
an approximation that gives a household's expected pension, not its exact one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from fupinsim import data
from fupinsim.scenario.fields import Section, Year, field, invalid_field
from fupinsim.scenario.microsim import HealthSettings
from fupinsim.units import BASE_YEAR

__all__ = [
    "PARAMETERS",
    "AgeOverride",
    "AmountOverride",
    "PolicyParameter",
    "PolicySettings",
    "PolicyTable",
    "ShareOverride",
]

#: The youngest and oldest pension age the registry's 65+ count can be scaled to (years).
PENSION_AGES = (60, 65)
_SOURCE = Annotated[str, Field(min_length=10, pattern=r"^(PLAN|FOUND|DERIVED|ESTIMATE)")]


class _Override(Section):
    """Values for some years, and where they come from."""

    source: _SOURCE = field(
        description="Where the override's numbers come from: PLAN §n, FOUND …, DERIVED … or "
        "ESTIMATE: how.",
        unit="text",
    )


class AmountOverride(_Override):
    """A money amount by year (yuan, never negative)."""

    values: dict[Year, Annotated[float, Field(ge=0)]] = field(
        description="Value by year; years not listed keep their default.",
        unit="yuan (see the parameter)",
        min_length=1,
    )


class ShareOverride(_Override):
    """A share by year (0 to 1)."""

    values: dict[Year, Annotated[float, Field(ge=0, le=1)]] = field(
        description="Value by year; years not listed keep their default.",
        unit="share",
        min_length=1,
    )


class AgeOverride(_Override):
    """An age by year (whole years, between the ages the registry can represent)."""

    values: dict[Year, Annotated[int, Field(ge=PENSION_AGES[0], le=PENSION_AGES[1])]] = field(
        description="Value by year; years not listed keep their default.",
        unit="years of age",
        min_length=1,
    )


def _override(description: str, unit: str, source: str) -> Any:
    return field(None, description=f"{description} Default: {source}.", unit=unit)


class PolicySettings(Section):
    """Dated policy parameters; each field overrides some years of one parameter's series."""

    poverty_line: AmountOverride | None = _override(
        "National rural poverty line.", "yuan per person per year",
        "fupinsim/data/poverty_line.yaml",
    )  # fmt: skip
    dibao_standard: AmountOverride | None = _override(
        "Rural dibao (subsistence allowance) standard.",
        "yuan per person per year", "fupinsim/data/social_protection.yaml dibao",
    )  # fmt: skip
    dibao_take_up: ShareOverride | None = _override(
        "Share of newly eligible weak households that enrol in dibao (the engine "
        "draws enrolment once, so one value for every simulated year).", "share",
        "social_protection.yaml dibao_rules.take_up",
    )  # fmt: skip
    ncms_inpatient_rate: ShareOverride | None = _override(
        "Effective NCMS inpatient reimbursement share.", "share of gross cost",
        "social_protection.yaml ncms",
    )  # fmt: skip
    ncms_poor_bonus: ShareOverride | None = _override(
        "Extra NCMS reimbursement for registered poor households.",
        "share (5 points = 0.05)", "microsim.health.ncms_poor_bonus_points from "
        "ncms_poor_bonus_from (PLAN §9)",
    )  # fmt: skip
    serious_illness_threshold: AmountOverride | None = _override(
        "Serious-illness insurance deductible, households not registered.",
        "yuan per year", "microsim.health.serious_illness_threshold_yuan (PLAN §9)",
    )  # fmt: skip
    serious_illness_threshold_poor: AmountOverride | None = _override(
        "Serious-illness insurance deductible, registered poor households.",
        "yuan per year", "microsim.health: 5,000 then 3,000 from the change year (PLAN §9)",
    )  # fmt: skip
    pension_monthly: AmountOverride | None = _override(
        "Basic rural pension.", "yuan per pensioner per month",
        "social_protection.yaml pension (monthly_basic, yearly_growth)",
    )  # fmt: skip
    pension_age: AgeOverride | None = _override(
        "Age from which the basic rural pension is paid.", "years of age",
        "social_protection.yaml pension.age",
    )  # fmt: skip

    @model_serializer(mode="wrap")
    def _only_overrides(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Dump only the parameters overridden (the defaults are data, not scenario)."""
        return {k: v for k, v in handler(self).items() if v is not None}

    def overrides(self) -> dict[str, AmountOverride | ShareOverride | AgeOverride]:
        """The parameters this scenario overrides, by name."""
        return {name: getattr(self, name) for name in PARAMETERS if getattr(self, name)}

    def check_years(self, years: list[int]) -> None:
        """Raise a field error for an override of a year that is not simulated."""
        simulated = years[1:]
        for name, override in self.overrides().items():
            for year in override.values:
                if year not in simulated:
                    raise invalid_field(
                        f"policy.{name}.values.{year}",
                        year,
                        f"must be a simulated year, {simulated[0]}-{simulated[-1]} (the base "
                        f"year {years[0]} is the registry's, observed)",
                    )
        take_up = self.dibao_take_up
        if take_up is not None and (
            set(take_up.values) != set(simulated) or len(set(take_up.values.values())) > 1
        ):
            raise invalid_field(
                "policy.dibao_take_up.values",
                take_up.values,
                f"must give one value for every simulated year, {simulated[0]}-{simulated[-1]}: "
                "the engine draws dibao enrolment once",
            )

    def resolve(self, years: list[int], health: HealthSettings) -> PolicyTable:
        """Every parameter for every year: defaults, then this scenario's overrides."""
        values, sources = {}, {}
        for name, parameter in PARAMETERS.items():
            series, source = parameter.default(years, health)
            override = getattr(self, name)
            if override is not None:
                for year, value in override.values.items():
                    k = years.index(int(year))
                    series[k], source[k] = float(value), override.source
            values[name], sources[name] = series, source
        return PolicyTable(list(years), values, sources)


@dataclass(frozen=True)
class PolicyTable:
    """Resolved policy parameters: ``values[name][k]`` for ``years[k]``, with its source."""

    years: list[int]
    values: dict[str, np.ndarray]
    sources: dict[str, list[str]]

    def unit(self, name: str) -> str:
        """Unit of a parameter."""
        return PARAMETERS[name].unit

    def pensioners_per_elderly(self) -> np.ndarray:
        """Pensioners per registry member aged 65+ by year (the pension age approximation)."""
        rules = data.load_raw("social_protection")["pension"]
        over60 = float(rules["share_aged_60_plus"]["value"])
        over65 = float(rules["share_aged_65_plus"]["value"])
        age = self.values["pension_age"]
        share = over65 + (over60 - over65) * (PENSION_AGES[1] - age) / (
            PENSION_AGES[1] - PENSION_AGES[0]
        )
        return np.asarray(share / over65, dtype=float)


@dataclass(frozen=True)
class PolicyParameter:
    """One dated parameter: unit, and how its default series is made."""

    unit: str
    default: Any  # (years, health) -> (values array, source per year)


def _fact_series(records: list[dict[str, Any]], key: str, file: str, years: list[int]) -> Any:
    """A packaged series by year: listed years with their source, others interpolated."""
    known = {int(r["year"]): r[key] for r in records}
    xs = sorted(known)
    values = np.interp(years, xs, [float(known[x]["value"]) for x in xs])
    sources = [
        str(known[y]["source"])
        if y in known
        else f"DERIVED: linear interpolation of {file} (flat outside {xs[0]}-{xs[-1]})"
        for y in years
    ]
    return values, sources


def _poverty_line(years: list[int], _: HealthSettings) -> Any:
    records = data.load_raw("poverty_line")["records"]
    known = {int(r["year"]) for r in records}
    missing = [y for y in years if y not in known]
    if missing:
        raise KeyError(f"no poverty line for {missing}; the packaged series covers {sorted(known)}")
    return _fact_series(records, "line", "poverty_line.yaml", years)


def _dibao(years: list[int], _: HealthSettings) -> Any:
    records = data.load_raw("social_protection")["dibao"]
    return _fact_series(records, "standard", "social_protection.yaml dibao", years)


def _ncms(years: list[int], _: HealthSettings) -> Any:
    records = data.load_raw("social_protection")["ncms"]
    return _fact_series(records, "inpatient_rate", "social_protection.yaml ncms", years)


def _constant(path: tuple[str, ...]) -> Any:
    def default(years: list[int], _: HealthSettings) -> Any:
        fact: Any = data.load_raw("social_protection")
        for key in path:
            fact = fact[key]
        return np.full(len(years), float(fact["value"])), [str(fact["source"])] * len(years)

    return default


def _pension(years: list[int], _: HealthSettings) -> Any:
    rules = data.load_raw("social_protection")["pension"]
    base, growth = rules["monthly_basic"], rules["yearly_growth"]
    values = float(base["value"]) * (1 + float(growth["value"])) ** (np.array(years) - BASE_YEAR)
    source = f"DERIVED: {base['value']} yuan in {BASE_YEAR} (ESTIMATE) × (1 + {growth['value']})"
    return values, [f"{source}^(year − {BASE_YEAR}) (ESTIMATE growth)"] * len(years)


def _bonus(years: list[int], health: HealthSettings) -> Any:
    values = np.where(
        np.array(years) >= health.ncms_poor_bonus_from, health.ncms_poor_bonus_points, 0.0
    )
    return values.astype(float), ["PLAN §9 (microsim.health.ncms_poor_bonus_*)"] * len(years)


def _threshold(years: list[int], health: HealthSettings) -> Any:
    values = np.full(len(years), float(health.serious_illness_threshold_yuan))
    return values, ["PLAN §9 (microsim.health.serious_illness_threshold_yuan)"] * len(years)


def _threshold_poor(years: list[int], health: HealthSettings) -> Any:
    lower = np.array(years) >= health.serious_illness_threshold_change_year
    values = np.where(
        lower, health.serious_illness_threshold_poor_yuan, health.serious_illness_threshold_yuan
    )
    return values.astype(float), ["PLAN §9 (microsim.health.serious_illness_threshold_*)"] * len(
        years
    )


#: Every dated parameter: its unit and default.
PARAMETERS: dict[str, PolicyParameter] = {
    "poverty_line": PolicyParameter("yuan per person per year", _poverty_line),
    "dibao_standard": PolicyParameter("yuan per person per year", _dibao),
    "dibao_take_up": PolicyParameter(
        "share of eligible households", _constant(("dibao_rules", "take_up"))
    ),
    "ncms_inpatient_rate": PolicyParameter("share of gross inpatient cost", _ncms),
    "ncms_poor_bonus": PolicyParameter("share of gross inpatient cost", _bonus),
    "serious_illness_threshold": PolicyParameter("yuan per year", _threshold),
    "serious_illness_threshold_poor": PolicyParameter("yuan per year", _threshold_poor),
    "pension_monthly": PolicyParameter("yuan per pensioner per month", _pension),
    "pension_age": PolicyParameter("years of age", _constant(("pension", "age"))),
}
