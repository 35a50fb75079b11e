"""Scenarios: what a run assumes, validated before anything runs.

A scenario is a YAML file in ``scenarios/``. ``plan_2015.yaml`` is the Jiuquan plan as written;
other scenarios say ``extends: plan_2015`` and override only what differs. The merged mapping is
validated by :class:`Scenario` (pydantic, frozen, ``extra="forbid"``): a misspelt field or a value
out of range is an error naming the file, the field and the value. Every field carries a
description and a unit (``json_schema_extra["unit"]``); defaults that come from a source say so
in ``json_schema_extra["source"]`` ("PLAN §n", "FOUND …", "DERIVED …" or "ESTIMATE: how").

The scenario hash (:func:`scenario_hash`) is the SHA-256 of the merged, normalised content, so key
order, comments and number formatting do not change it; it goes into every output manifest.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from fupinsim.errors import Problem, ScenarioError

__all__ = [
    "AllocationSettings",
    "AssessmentSettings",
    "FundingSettings",
    "HealthSettings",
    "IdentificationSettings",
    "InterventionOverride",
    "MicrosimSettings",
    "RegistrySettings",
    "Scenario",
    "ShockSettings",
    "load_scenario",
    "merge_overrides",
    "read_scenario_mapping",
    "scenario_hash",
    "scenario_json_schema",
]

COUNTY_IDS = ("suzhou", "yumen", "dunhuang", "guazhou", "jinta", "subei", "aksai")
CountyId = Literal["suzhou", "yumen", "dunhuang", "guazhou", "jinta", "subei", "aksai"]
Year = Annotated[int, Field(ge=2010, le=2030)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


def field(
    default: Any = ...,
    *,
    description: str,
    unit: str,
    source: str | None = None,
    **constraints: Any,
) -> Any:
    """A pydantic ``Field`` that always has a description and a unit (and a source for defaults)."""
    extra: dict[str, Any] = {"unit": unit}
    if source is not None:
        extra["source"] = source
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def invalid_field(name: str, value: Any, rule: str) -> PydanticCustomError:
    """The error a section's model validator raises about one of its fields.

    Raise it (``raise invalid_field("horizon", self.horizon, "must be after ...")``) instead of a
    bare ``ValueError`` so the planner's message names the field path (``microsim.horizon``) and
    the value, not the whole section.
    """
    return PydanticCustomError(
        "scenario_field", "{field}: {rule}", {"field": name, "value": value, "rule": rule}
    )


class _Section(BaseModel):
    """Base of every scenario section: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class IdentificationSettings(_Section):
    """Identification of the poor (plan §5): measured income, application, review, county quota."""

    measurement_sigma: float = field(
        0.095,
        description="Dispersion of recorded per-capita income around true income (lognormal).",
        unit="log points",
        source="ESTIMATE: calibrated on the synthetic registry so inclusion and exclusion errors "
        "fall in the 10-15% / 8-12% ranges of calibration.md §6.1 (with a county quota the two "
        "are equal, so both must be 10-12%): 0.095 gives about 11% (10.8-11.1% over seeds)",
        ge=0.0,
        le=2.0,
    )
    review_sigma: float = field(
        0.05,
        description="Extra noise of group evaluation and village review on the need score.",
        unit="log points",
        source="ESTIMATE: village appraisal adds errors (calibration.md §6.1 participation effect)",
        ge=0.0,
        le=2.0,
    )
    non_application_rate: Share = field(
        0.03,
        description="Share of households that would qualify but do not apply.",
        unit="share of households",
        source="ESTIMATE: small; a source of exclusion error besides measurement",
    )
    hardship_bonus: float = field(
        0.05,
        description="How much visible hardship (dangerous house, chronic illness, no labour) "
        "lowers "
        "the need score in the review, as a fraction of recorded income.",
        unit="share",
        source="ESTIMATE: reviewers see housing and illness, not only income",
        ge=0.0,
        le=1.0,
    )


class RegistrySettings(_Section):
    """Where the household and village registry comes from and how large it is."""

    source: Literal["synthetic", "file"] = field(
        "synthetic",
        description="'synthetic' generates a calibrated registry; 'file' reads `path`.",
        unit="choice",
    )
    path: str | None = field(
        None,
        description="Registry file (CSV, XLSX or Parquet) when source is 'file'; relative to the "
        "scenario file.",
        unit="path",
    )
    n_registered_households: int = field(
        12_600,
        description="Registered poor households in the base year (county quotas add up to this).",
        unit="households",
        source="PLAN §2: 12,600 households",
        ge=1,
    )
    n_registered_people: int = field(
        47_700,
        description="People in the registered poor households.",
        unit="people",
        source="PLAN §2: 47,700 people",
        ge=1,
    )
    include_nonregistered: bool = field(
        True,
        description="Generate the whole rural population of the villages concerned (poor and "
        "non-poor). False generates registered households only (national scale).",
        unit="flag",
    )
    identification: IdentificationSettings = field(
        default_factory=IdentificationSettings,
        description="Identification of the poor (plan §5).",
        unit="section",
    )
    chunk_households: int = field(
        1_000_000,
        description="Households generated per chunk (bounds memory; results do not depend on it).",
        unit="households",
        ge=4096,
    )

    @model_validator(mode="after")
    def _check(self) -> RegistrySettings:
        if self.source == "file" and not self.path:
            raise invalid_field("path", self.path, "is required when registry.source is 'file'")
        if self.n_registered_people < self.n_registered_households:
            raise invalid_field(
                "n_registered_people",
                self.n_registered_people,
                "must be at least registry.n_registered_households "
                f"({self.n_registered_households}): every household has a member",
            )
        return self


class ShockSettings(_Section):
    """Risks to household income: idiosyncratic noise and county-year systemic shocks."""

    income_sigma: float = field(
        0.15,
        description="Year-to-year idiosyncratic noise of market income (lognormal sigma).",
        unit="log points",
        source="ESTIMATE: typical transitory income variance of rural panels (sd of log changes "
        "0.3-0.5 includes measurement error; half taken as true transitory shock)",
        ge=0.0,
        le=2.0,
    )
    drought_probability: Share = field(
        0.10,
        description="Probability that a county has a drought year (crop income falls).",
        unit="per county-year",
        source="ESTIMATE: Hexi oases are irrigated; severe water shortage about one year in ten",
    )
    drought_crop_loss: Share = field(
        0.30,
        description="Crop income lost in a drought year.",
        unit="share of crop income",
        source="ESTIMATE",
    )
    livestock_price_sigma: float = field(
        0.15,
        description="County-year livestock price shock (lognormal sigma, common to a county).",
        unit="log points",
        source="ESTIMATE from calibration.md §5.6 (price shocks ±25%)",
        ge=0.0,
        le=2.0,
    )


class HealthSettings(_Section):
    """Illness: probability, cost, reimbursement and lost wages."""

    illness_probability_adult: Share = field(
        0.10,
        description="Yearly probability that a working-age member has a serious illness episode "
        "(hospitalisation).",
        unit="per person-year",
        source="ESTIMATE from calibration.md §4.3: hospitalisation rate 9.6% (2011, FOUND)",
    )
    illness_probability_elderly: Share = field(
        0.18,
        description="Yearly serious-illness probability for a member aged 65+.",
        unit="per person-year",
        source="ESTIMATE: about twice the adult rate (calibration.md §4.3: higher for the elderly)",
    )
    illness_probability_chronic: Share = field(
        0.35,
        description="Yearly serious-illness probability for a chronically ill member.",
        unit="per person-year",
        source="ESTIMATE",
    )
    gross_cost_median_yuan: float = field(
        6_000.0,
        description="Median gross cost of a serious illness episode (lognormal).",
        unit="yuan per episode",
        source="ESTIMATE calibration.md §4.3 (median ≈6,000, mean ≈12,000)",
        gt=0,
    )
    gross_cost_sigma: float = field(
        1.18,
        description="Lognormal sigma of the gross cost; 1.18 gives mean/median = exp(σ²/2) ≈ 2.",
        unit="log points",
        source="DERIVED from median 6,000 and mean 12,000 (calibration.md §4.3)",
        gt=0,
    )
    lost_wage_share: Share = field(
        0.25,
        description="Share of a year's wage income lost by a household with an ill member.",
        unit="share of wages",
        source="ESTIMATE: about three months of work lost around a hospitalisation",
    )
    cost_growth: float = field(
        0.08,
        description="Yearly growth of gross medical costs.",
        unit="per year",
        source="ESTIMATE: Chinese health spending per capita grew 8-12% a year in 2010-2016",
        ge=-0.5,
        le=1.0,
    )
    ncms_poor_bonus_points: float = field(
        0.05,
        description="Extra NCMS inpatient reimbursement for registered poor households from "
        "`ncms_poor_bonus_from`.",
        unit="share (5 points = 0.05)",
        source="PLAN §9: +5 percentage points from 2015",
        ge=0,
        le=0.5,
    )
    ncms_poor_bonus_from: Year = field(
        2015, description="First year of the poor's NCMS bonus.", unit="year", source="PLAN §9"
    )
    serious_illness_threshold_yuan: float = field(
        5_000.0,
        description="Serious-illness insurance deductible on out-of-pocket costs before "
        "`serious_illness_threshold_change_year`.",
        unit="yuan per year",
        source="PLAN §9",
        ge=0,
    )
    serious_illness_threshold_poor_yuan: float = field(
        3_000.0,
        description="Deductible for registered poor households from the change year.",
        unit="yuan per year",
        source="PLAN §9: 5,000 → 3,000 from 2016",
        ge=0,
    )
    serious_illness_threshold_change_year: Year = field(
        2016, description="Year the lower deductible starts.", unit="year", source="PLAN §9"
    )
    serious_illness_rate: Share = field(
        0.50,
        description="Serious-illness insurance reimbursement above the deductible.",
        unit="share of out-of-pocket above deductible",
        source="ESTIMATE calibration.md §4.3",
    )


class MicrosimSettings(_Section):
    """The household income microsimulation."""

    first_year: Year = field(
        2014, description="Base year (the registry's year).", unit="year", source="PLAN §2"
    )
    horizon: Year = field(2020, description="Last simulated year.", unit="year")
    replications: int = field(
        200, description="Monte Carlo replications.", unit="replications", ge=1, le=100_000
    )
    float32: bool = field(
        False,
        description="Simulate in float32 (half the memory; tables equal to about 1e-6 relative).",
        unit="flag",
    )
    block_households: int = field(
        4096,
        description="Households per random-number block; chunks are whole blocks, so results do "
        "not depend on chunk size or workers.",
        unit="households",
        ge=256,
    )
    exit_stable_years: int = field(
        1,
        description="Years in a row that income must be above the line before a household exits "
        "('stably above', 2016 exit mechanism).",
        unit="years",
        source="ESTIMATE: the rule says 'stably'; one year is the minimum reading",
        ge=1,
        le=5,
    )
    exit_income_margin: float = field(
        0.0,
        description="Income must exceed the line by this share to count for exit.",
        unit="share of line",
        ge=0,
        le=1,
    )
    as_whole_allowance: Share = field(
        0.03,
        description="When the plan says a group exits 'as a whole' (100%), the share of its "
        "registered households that may remain and the target still count as met.",
        unit="share of the group's registered households",
        source="ESTIMATE: reads 'as a whole' by the western exit rule of at most 3% incidence "
        "(FOUND gov.cn 2018, calibration.md §2), applied to the registered households",
    )
    return_years_below: int = field(
        1,
        description="Years below the line after which an exited household counts as returned "
        "to poverty.",
        unit="years",
        ge=1,
        le=5,
    )
    monitoring_band: float = field(
        1.5,
        description="Households with per-capita income below this multiple of the line are "
        "'at risk' (monitoring band).",
        unit="multiple of the poverty line",
        source="ESTIMATE: the post-2020 monitoring practice, as the issue states",
        ge=1,
        le=5,
    )
    verification_sigma: float = field(
        0.10,
        description="Noise of the income check officials use for exit decisions (lognormal).",
        unit="log points",
        source="ESTIMATE: yearly verification is better than first identification",
        ge=0,
        le=2,
    )
    growth_wages: float = field(
        0.07,
        description="Yearly growth of wage income.",
        unit="per year",
        source="DERIVED: migrant monthly wage 2,864 (2014) → 3,072 (2015): +7.3% "
        "(calibration §5.1)",
        ge=-0.5,
        le=1,
    )
    growth_crops: float = field(
        0.04, description="Yearly growth of crop income.", unit="per year", source="ESTIMATE"
    )
    growth_livestock: float = field(
        0.04, description="Yearly growth of livestock income.", unit="per year", source="ESTIMATE"
    )
    growth_greenhouse: float = field(
        0.04, description="Yearly growth of greenhouse income.", unit="per year", source="ESTIMATE"
    )
    growth_business: float = field(
        0.06,
        description="Yearly growth of other business income.",
        unit="per year",
        source="ESTIMATE",
    )
    growth_property: float = field(
        0.03, description="Yearly growth of property income.", unit="per year", source="ESTIMATE"
    )
    wage_factor: float = field(
        1.0,
        description="Multiplier on wage income and transfer wages (labour-market scenarios).",
        unit="multiple",
        ge=0,
        le=5,
    )
    shocks: ShockSettings = field(
        default_factory=ShockSettings, description="Income shocks.", unit="section"
    )
    health: HealthSettings = field(
        default_factory=HealthSettings, description="Illness and medical cover.", unit="section"
    )

    @model_validator(mode="after")
    def _check(self) -> MicrosimSettings:
        if self.horizon <= self.first_year:
            raise invalid_field(
                "horizon", self.horizon, f"must be after microsim.first_year ({self.first_year})"
            )
        return self


class InterventionOverride(_Section):
    """Scenario change to one catalogue entry."""

    capacity_factor: float = field(
        1.0, description="Multiplier on the entry's yearly capacity.", unit="multiple", ge=0
    )
    effect_factor: float = field(
        1.0, description="Multiplier on the entry's income effect.", unit="multiple", ge=0
    )
    cost_factor: float = field(
        1.0, description="Multiplier on the entry's unit cost.", unit="multiple", ge=0
    )


class FundingSettings(_Section):
    """Money: fiscal revenue, earmarks and other pools (plan §19)."""

    revenue_2014_wan: dict[str, float] = field(
        default_factory=lambda: {
            "city": 120_000.0,
            "suzhou": 80_000.0,
            "yumen": 60_000.0,
            "dunhuang": 45_000.0,
            "guazhou": 30_000.0,
            "jinta": 25_000.0,
            "subei": 25_000.0,
            "aksai": 15_000.0,
        },
        description="Local general public budget revenue in 2014 by level ('city' = municipal "
        "level, otherwise county ids).",
        unit="wan yuan (10,000 yuan)",
        source="ESTIMATE: Jiuquan total ≈4.0 bn (calibration §3.2: 3.5-4.5 bn), split city 30% and "
        "counties by 2014 GDP weight (Suzhou largest, Subei/Aksai small)",
    )
    revenue_growth: dict[str, dict[int, float]] = field(
        default_factory=lambda: {
            "all": {2015: 0.05, 2016: 0.04, 2017: 0.06, 2018: 0.06, 2019: 0.06, 2020: 0.05}
        },
        description="Yearly growth of local revenue by level and year; key 'all' applies to every "
        "level without its own entry.",
        unit="share per year",
        source="ESTIMATE: Gansu revenue grew 16%/yr 2010-15 (FOUND calibration §3.3), Jiuquan "
        "weaker after the 2014-16 industry shock",
    )
    earmark_share_city: Share = field(
        0.10,
        description="Share of the increase in municipal revenue earmarked for poverty.",
        unit="share of revenue increase",
        source="PLAN §19: ≥10%",
    )
    earmark_share_county: Share = field(
        0.15,
        description="Share of the increase in county revenue earmarked for poverty.",
        unit="share of revenue increase",
        source="PLAN §19: ≥15%",
    )
    integrated_agriculture_wan: dict[str, float] = field(
        default_factory=lambda: {
            "suzhou": 294.0,
            "yumen": 594.0,
            "dunhuang": 108.0,
            "guazhou": 834.0,
            "jinta": 234.0,
            "subei": 45.0,
            "aksai": 39.0,
        },
        description="Agriculture-related and sector funds (house renovation, drinking water) "
        "integrated into each county's poverty pool every year.",
        unit="wan yuan per year",
        source="ESTIMATE: 450 yuan per registered poor person a year (the registry's people per "
        "county); PLAN §19 integrates agriculture-related funds, and the house and water "
        "programmes run as parts of the targeted campaign (§7)",
    )
    idle_stock_wan: dict[str, float] = field(
        default_factory=lambda: {
            "city": 3_000.0,
            "suzhou": 800.0,
            "yumen": 700.0,
            "dunhuang": 400.0,
            "guazhou": 600.0,
            "jinta": 400.0,
            "subei": 200.0,
            "aksai": 150.0,
        },
        description="Stock of idle fiscal funds that can be recovered, by level (2015).",
        unit="wan yuan",
        source="ESTIMATE: about 1-2% of a year's revenue",
    )
    idle_recovery_share: Share = field(
        0.50,
        description="Share of the idle stock recovered for poverty in the first plan year.",
        unit="share",
        source="PLAN §19: recover more than 50% in the year",
    )
    provincial_transfer_wan: dict[int, float] = field(
        default_factory=lambda: {2015: 2_000.0, 2016: 2_000.0, 2017: 2_000.0},
        description="Provincial and central special poverty transfers to the city, by year "
        "(split to counties by the factor method).",
        unit="wan yuan per year",
        source="ESTIMATE: about 420 yuan per registered poor person a year; Jiuquan's counties "
        "are not national key poverty counties, so they get a small share of Gansu's funds",
    )
    pairing_donations_wan: dict[int, float] = field(
        default_factory=lambda: {2015: 300.0, 2016: 300.0, 2017: 300.0},
        description="Enterprise pairing and donations (plan §13), city pool, by year.",
        unit="wan yuan per year",
        source="ESTIMATE: a few million yuan a year from the '10.17' poverty day and pairing "
        "enterprises",
    )
    carry_over: bool = field(
        True, description="Unspent money may carry over to the next year.", unit="flag"
    )
    first_year: Year = field(
        2015, description="First year money is spent.", unit="year", source="PLAN: 2015-2017"
    )
    last_year: Year = field(
        2017, description="Last year money is spent.", unit="year", source="PLAN: 2015-2017"
    )


class AllocationSettings(_Section):
    """The PuLP allocation of money to counties, packages and years."""

    objective: Literal["min_cost", "max_exits"] = field(
        "min_cost",
        description="'min_cost': meet the exit schedule at least cost; 'max_exits': most exits "
        "within the money.",
        unit="choice",
    )
    solver: Literal["highs", "cbc"] = field(
        "highs", description="Solver; the other is the fallback.", unit="choice"
    )
    time_limit_s: float = field(
        60.0, description="Solver time limit.", unit="seconds", gt=0, le=86_400
    )
    gap_rel: float = field(
        1e-4, description="Relative optimality gap accepted.", unit="share", ge=0, le=0.5
    )
    shortfall_penalty_yuan: float = field(
        1e7,
        description="Penalty per missing exit in the elastic target constraints (must exceed any "
        "real cost per exit).",
        unit="yuan per exit",
        gt=0,
    )
    income_bands: list[float] = field(
        default_factory=lambda: [0.8, 1.0, 1.2, 1.5],
        description="Band edges of per-capita income relative to the base-year line that define "
        "household types.",
        unit="multiple of the poverty line",
    )
    yield_replications: int = field(
        20,
        description="Replications used to estimate exit yields per household type and package.",
        unit="replications",
        ge=1,
    )
    required_confidence: Share = field(
        0.90,
        description="Required probability that each county-year target is met (closed loop).",
        unit="probability",
    )
    loop_rounds: int = field(
        3, description="Maximum closed-loop re-solve rounds.", unit="rounds", ge=0, le=20
    )
    margin_step: Share = field(
        0.05,
        description="Safety margin added to an unsafe target per closed-loop round.",
        unit="share of target",
    )
    pools_pay_guarantees: bool = field(
        True,
        description="The poverty pools pay the fiscal cost of the guarantees a supported "
        "household needs (house renovation, safe water, NCMS enrolment, return to school); "
        "otherwise sector programmes pay them outside the pools.",
        unit="flag",
        source="PLAN §7(1), §7(3), §9 and §19: the guarantees are part of the targeted "
        "campaign's support plans, financed with the integrated funds",
    )
    capacities: dict[str, float] = field(
        default_factory=dict,
        description="Override of yearly capacity per catalogue entry id (city-wide).",
        unit="units per year",
    )


class AssessmentSettings(_Section):
    """County assessment (plan §21-22)."""

    weight_income_growth_households: Share = field(
        0.35,
        description="Weight of poor households' income growth in the county score.",
        unit="weight (weights sum to 1)",
        source="ESTIMATE: plan §21 names the criteria, not the weights",
    )
    weight_income_growth_villages: Share = field(
        0.15,
        description="Weight of poor villages' income growth.",
        unit="weight",
        source="ESTIMATE",
    )
    weight_on_schedule_exits: Share = field(
        0.50,
        description="Weight of on-schedule exits.",
        unit="weight",
        source="ESTIMATE",
    )
    good_threshold: float = field(
        80.0,
        description="Score from which a county is rated 'good' (if it met its targets).",
        unit="points (0-100)",
        source="ESTIMATE",
        ge=0,
        le=100,
    )

    @model_validator(mode="after")
    def _check(self) -> AssessmentSettings:
        total = (
            self.weight_income_growth_households
            + self.weight_income_growth_villages
            + self.weight_on_schedule_exits
        )
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise invalid_field(
                "weight_income_growth_households + weight_income_growth_villages + "
                "weight_on_schedule_exits",
                round(total, 12),
                "the three assessment weights must sum to 1 "
                f"({self.weight_income_growth_households:g} + "
                f"{self.weight_income_growth_villages:g} + {self.weight_on_schedule_exits:g})",
            )
        return self


class Scenario(_Section):
    """A complete, validated scenario (after ``extends`` merging)."""

    id: str = field(
        description="Scenario id: lower-case letters, digits and underscores; the file stem.",
        unit="id",
        pattern=r"^[a-z][a-z0-9_]*$",
    )
    title: str = field(description="One-line title.", unit="text")
    description: str = field(
        description="What this scenario assumes and what it tests.", unit="text"
    )
    extends: str | None = field(
        None, description="Id of the base scenario this one overrides (already merged).", unit="id"
    )
    seed: int = field(
        20150601,
        description="The scenario's random seed; every random stream derives from it.",
        unit="integer",
        ge=0,
        lt=2**63,
    )
    counties: list[CountyId] = field(
        default_factory=lambda: list(COUNTY_IDS),
        description="Counties included.",
        unit="county ids",
        min_length=1,
    )
    registry: RegistrySettings = field(
        default_factory=RegistrySettings, description="Registry.", unit="section"
    )
    microsim: MicrosimSettings = field(
        default_factory=MicrosimSettings, description="Microsimulation.", unit="section"
    )
    interventions: dict[str, InterventionOverride] = field(
        default_factory=dict,
        description="Changes to catalogue entries, by entry id.",
        unit="section",
    )
    funding: FundingSettings = field(
        default_factory=FundingSettings, description="Funding pools.", unit="section"
    )
    allocation: AllocationSettings = field(
        default_factory=AllocationSettings, description="Allocation.", unit="section"
    )
    assessment: AssessmentSettings = field(
        default_factory=AssessmentSettings, description="County assessment.", unit="section"
    )

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if len(set(self.counties)) != len(self.counties):
            raise invalid_field("counties", self.counties, "must not repeat a county")
        return self

    @property
    def years(self) -> list[int]:
        """Simulated years, base year first."""
        return list(range(self.microsim.first_year, self.microsim.horizon + 1))

    @property
    def hash(self) -> str:
        """Stable content hash of the merged scenario (see :func:`scenario_hash`)."""
        return scenario_hash(self)


# ----------------------------------------------------------------------------------------------
# Loading


class _SafeLoaderNoDup(yaml.SafeLoader):
    """Safe YAML loader (no Python tags) that rejects duplicate keys."""


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    # Second line of defence: read_scenario_mapping has already checked the node tree.
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_SafeLoaderNoDup.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


_TAG_RULE = (
    "must be a plain value: Python and other custom YAML tags are not allowed "
    "(scenarios are loaded safely and nothing in them is run)"
)
_DUPLICATE_RULE = (
    "must appear only once in its section (duplicate key: YAML would silently keep the last)"
)


def _child_nodes(node: yaml.Node, path: str) -> list[tuple[yaml.Node, str]]:
    """Keys, values and items of a node with their field paths (merge keys keep the path)."""
    children: list[tuple[yaml.Node, str]] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                children.append((value_node, path))
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            child = f"{path}.{key}" if path else str(key)
            children += [(key_node, child), (value_node, child)]
    elif isinstance(node, yaml.SequenceNode):
        children = [(item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(node.value)]
    return children


def _duplicate_key(node: yaml.Node, path: str) -> tuple[yaml.Node, str, object, str] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    keys: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value in keys:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            return key_node, child, key_node.value, _DUPLICATE_RULE
        keys.add(key_node.value)
    return None


def _unsafe_node(
    node: yaml.Node, path: str, seen: set[int]
) -> tuple[yaml.Node, str, object, str] | None:
    """The first node with a tag safe loading refuses, or a duplicate key, with its field path.

    Works on the composed (not constructed) document, so nothing in the file is ever run and the
    message can name the field (``microsim.health.serious_illness_rate``) and the line.
    """
    if id(node) in seen:  # an alias of a node already checked
        return None
    seen.add(id(node))
    if node.tag not in _SafeLoaderNoDup.yaml_constructors and node.tag != _MERGE_TAG:
        return node, path, _short_tag(node.tag), _TAG_RULE
    found = _duplicate_key(node, path)
    for child, child_path in _child_nodes(node, path):
        found = found or _unsafe_node(child, child_path, seen)
    return found


def read_scenario_mapping(path: Path) -> dict[str, Any]:
    """Read one scenario file as a plain mapping (no merging, no validation).

    The file is parsed safely: Python (and any custom) tags and duplicate keys are reported with
    their line and field path before anything is constructed.

    Raises
    ------
    ScenarioError
        The file is missing, is not YAML, uses Python tags, repeats a key, or is not a mapping.
    """
    if not path.is_file():
        raise ScenarioError.single(str(path), None, "scenario file must exist")
    loader = _SafeLoaderNoDup(path.read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        found = _unsafe_node(node, "", set()) if node is not None else None
        if found is not None:
            bad, field_path, value, rule = found
            raise ScenarioError.single(
                f"{path}, line {bad.start_mark.line + 1}: {field_path or '(top level)'}",
                value,
                rule,
            )
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError.single(where, None, "must be valid YAML", fix=f"{problem}.") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        found_type = "an empty file" if data is None else f"a YAML {type(data).__name__}"
        raise ScenarioError.single(
            str(path),
            found_type,
            "must be a YAML mapping of 'field: value' lines (id, title, description, ...)",
        )
    return data


def merge_overrides(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into ``base``: mappings merge key by key, anything else replaces."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_overrides(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve_extends(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    data = read_scenario_mapping(path)
    if path.resolve() in chain:
        names = " → ".join(p.stem for p in (*chain, path.resolve()))
        raise ScenarioError.single(
            f"{path}: extends", data.get("extends"), f"must not loop ({names})"
        )
    base_id = data.get("extends")
    if base_id is None:
        return data
    if not isinstance(base_id, str) or not base_id:
        raise ScenarioError.single(f"{path}: extends", base_id, "must be a scenario id")
    base_path = path.parent / f"{base_id}.yaml"
    if not base_path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ScenarioError.single(
            f"{path}: extends",
            base_id,
            f"must name a scenario in {path.parent}/ (one of {', '.join(available)})",
        )
    base = _resolve_extends(base_path, (*chain, path.resolve()))
    # The child's own title/description must be given; never inherit them silently.
    for key in ("id", "title", "description"):
        base.pop(key, None)
    return merge_overrides(base, data)


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


_COMPARISONS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}
_TYPE_RULES = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of 'key: value' lines",
    "model_type": "must be a section (a mapping of 'field: value' lines)",
    "model_attributes_type": "must be a section (a mapping of 'field: value' lines)",
}


def _allowed(error: Mapping[str, Any], known: Sequence[str]) -> tuple[str, str]:
    """Turn a pydantic error into the positive rule a planner reads, and a fix if there is one."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    fix = ""
    if kind == "extra_forbidden":
        name = str(error["loc"][-1]) if error["loc"] else ""
        close = difflib.get_close_matches(name, list(known), n=1)
        fix = f"Did you mean '{close[0]}'?" if close else ""
        rule = "is not a known field here (see scenarios/schema.json)"
        rule = f"{rule}; known fields: {', '.join(known)}" if known else rule
    elif kind == "missing":
        rule = "is required"
    elif kind == "literal_error":
        rule = f"must be one of {ctx.get('expected', '')}"
    elif kind in _COMPARISONS:
        rule = f"must be {_COMPARISONS[kind]} {next(iter(ctx.values()))}"
    elif kind in _TYPE_RULES:
        rule = _TYPE_RULES[kind]
    elif kind == "string_pattern_mismatch":
        rule = f"must match the pattern {ctx.get('pattern')}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        rule = message[:1].lower() + message[1:]
    return rule, fix


def _section_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section model behind an annotation, and whether a mapping key comes first."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        value = args[1] if len(args) == 2 else None
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value, True
    return None, False


def _known_fields(loc: Sequence[int | str]) -> list[str]:
    """Fields allowed where the last part of ``loc`` sits (empty if not inside a section)."""
    model: type[BaseModel] | None = Scenario
    parts = list(loc[:-1])
    while parts and model is not None:
        info = model.model_fields.get(str(parts.pop(0)))
        model, keyed = _section_model(info.annotation if info else None)
        if keyed and parts:
            parts.pop(0)  # the mapping key (e.g. a catalogue entry id)
    return list(model.model_fields) if model is not None else []


def _problem(err: Mapping[str, Any], where: str) -> Problem:
    loc = tuple(err["loc"])
    if err["type"] == "scenario_field":  # raised by a section's validator via invalid_field
        ctx = err["ctx"]
        return Problem(f"{where}: {_location((*loc, ctx['field']))}", ctx["value"], ctx["rule"])
    rule, fix = _allowed(err, _known_fields(loc))
    value = None if err["type"] == "missing" else err.get("input")
    return Problem(f"{where}: {_location(loc)}", value, rule, fix)


def validate_mapping(data: Mapping[str, Any], where: str) -> Scenario:
    """Validate a merged scenario mapping; every problem is reported with field and value."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        problems = [_problem(err, where) for err in exc.errors(include_url=False)]
        raise ScenarioError(problems, summary=f"{where}: scenario is not valid") from None


def load_scenario(path: str | Path, scenarios_dir: str | Path | None = None) -> Scenario:
    """Load, merge (``extends``) and validate a scenario.

    Parameters
    ----------
    path:
        A scenario file, or a bare id looked up in ``scenarios_dir`` (default ``scenarios/``).
    scenarios_dir:
        Folder for bare ids.

    Raises
    ------
    ScenarioError
        With one :class:`~fupinsim.errors.Problem` per invalid field.
    """
    candidate = Path(path)
    if candidate.suffix not in {".yaml", ".yml"} and not candidate.is_file():
        candidate = Path(scenarios_dir or "scenarios") / f"{path}.yaml"
    merged = _resolve_extends(candidate)
    if "id" in merged and merged["id"] != candidate.stem:
        raise ScenarioError.single(
            f"{candidate}: id", merged["id"], f"must equal the file name stem '{candidate.stem}'"
        )
    merged.setdefault("id", candidate.stem)
    return validate_mapping(merged, str(candidate))


# ----------------------------------------------------------------------------------------------
# Hash and schema


def _normalise(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return float(repr(value))
    return value


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (hex, first 16 characters) of the merged, normalised scenario.

    Key order, YAML formatting, comments and ``1.0`` vs ``1`` do not change it. ``extends`` is
    left out: a scenario and a copy written out in full have the same hash.
    """
    content = _normalise(scenario.model_dump(mode="json", exclude={"extends"}))
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a merged scenario, for editors (written to ``scenarios/schema.json``)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fupinsim scenario"
    return schema
