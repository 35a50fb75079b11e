"""Scenario section ``microsim``: the income microsimulation, its shocks and health rules."""

from __future__ import annotations

from pydantic import model_validator

from fupinsim.scenario.fields import Section, Share, Year, field, invalid_field

__all__ = ["HealthSettings", "MicrosimSettings", "ShockSettings"]


class ShockSettings(Section):
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
        source="ESTIMATE from docs/sources.md §5.6 (price shocks ±25%)",
        ge=0.0,
        le=2.0,
    )


class HealthSettings(Section):
    """Illness: probability, cost, reimbursement and lost wages."""

    illness_probability_adult: Share = field(
        0.10,
        description="Yearly probability that a working-age member has a serious illness episode "
        "(hospitalisation).",
        unit="per person-year",
        source="ESTIMATE from docs/sources.md §4.3: hospitalisation rate 9.6% (2011, FOUND)",
    )
    illness_probability_elderly: Share = field(
        0.18,
        description="Yearly serious-illness probability for a member aged 65+.",
        unit="per person-year",
        source="ESTIMATE: about twice the adult rate (docs/sources.md §4.3: higher for the "
        "elderly)",
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
        source="ESTIMATE docs/sources.md §4.3 (median ≈6,000, mean ≈12,000)",
        gt=0,
    )
    gross_cost_sigma: float = field(
        1.18,
        description="Lognormal sigma of the gross cost; 1.18 gives mean/median = exp(σ²/2) ≈ 2.",
        unit="log points",
        source="DERIVED from median 6,000 and mean 12,000 (docs/sources.md §4.3)",
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
        source="ESTIMATE docs/sources.md §4.3",
    )


class MicrosimSettings(Section):
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
        "(FOUND gov.cn 2018, docs/sources.md §2), applied to the registered households",
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
        "(docs/sources.md §5.1)",
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
