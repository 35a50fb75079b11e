"""Scenario section ``funding``: fiscal revenue, earmarks and the other pools (plan §19)."""

from __future__ import annotations

from fupinsim.scenario.fields import Section, Share, Year, field

__all__ = ["FundingSettings"]


class FundingSettings(Section):
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
        source="ESTIMATE: Jiuquan total ≈4.0 bn (docs/sources.md §3.2: 3.5-4.5 bn), split "
        "city 30% and counties by 2014 GDP weight (Suzhou largest, Subei/Aksai small)",
    )
    revenue_growth: dict[str, dict[int, float]] = field(
        default_factory=lambda: {
            "all": {2015: 0.05, 2016: 0.04, 2017: 0.06, 2018: 0.06, 2019: 0.06, 2020: 0.05}
        },
        description="Yearly growth of local revenue by level and year; key 'all' applies to every "
        "level without its own entry.",
        unit="share per year",
        source="ESTIMATE: Gansu revenue grew 16%/yr 2010-15 (FOUND docs/sources.md §3.3), Jiuquan "
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
