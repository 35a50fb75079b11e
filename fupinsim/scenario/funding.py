"""Scenario section ``funding``: fiscal revenue, earmarks and the other pools (plan §19)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Any

from fupinsim.data import load_raw, plain
from fupinsim.scenario.fields import Section, Share, Year, field

__all__ = ["FundingSettings"]


@cache
def _defaults() -> dict[str, Any]:
    """The section's default tables (``fupinsim/data/funding_defaults.yaml``), plain values."""
    return {k: v for k, v in plain(load_raw("funding_defaults")).items() if k != "description"}


def _default(name: str) -> Callable[[], Any]:
    """A ``default_factory``: a fresh copy of the default table ``name`` (by level or year)."""
    return lambda: copy.deepcopy(_defaults()[name])


class FundingSettings(Section):
    """Money: fiscal revenue, earmarks and other pools (plan §19)."""

    revenue_2014_wan: dict[str, float] = field(
        default_factory=_default("revenue_2014_wan"),
        description="Local general public budget revenue in 2014 by level ('city' = municipal "
        "level, otherwise county ids).",
        unit="wan yuan (10,000 yuan)",
        source="ESTIMATE: Jiuquan total ≈4.0 bn (docs/sources.md §3.2: 3.5-4.5 bn), split "
        "city 30% and counties by 2014 GDP weight (Suzhou largest, Subei/Aksai small)",
    )
    revenue_growth: dict[str, dict[int, float]] = field(
        default_factory=_default("revenue_growth"),
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
        default_factory=_default("integrated_agriculture_wan"),
        description="Agriculture-related and sector funds (house renovation, drinking water) "
        "integrated into each county's poverty pool every year.",
        unit="wan yuan per year",
        source="ESTIMATE: 450 yuan per registered poor person a year (the registry's people per "
        "county); PLAN §19 integrates agriculture-related funds, and the house and water "
        "programmes run as parts of the targeted campaign (§7)",
    )
    idle_stock_wan: dict[str, float] = field(
        default_factory=_default("idle_stock_wan"),
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
        default_factory=_default("provincial_transfer_wan"),
        description="Provincial and central special poverty transfers to the city, by year "
        "(split to counties by the factor method).",
        unit="wan yuan per year",
        source="ESTIMATE: about 420 yuan per registered poor person a year; Jiuquan's counties "
        "are not national key poverty counties, so they get a small share of Gansu's funds",
    )
    pairing_donations_wan: dict[int, float] = field(
        default_factory=_default("pairing_donations_wan"),
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
