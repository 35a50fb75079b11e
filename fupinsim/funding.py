"""Funding pools: how much money each pool has for poverty work, by source and year (plan §19).

The plan finances the 2015-2017 campaign from five sources. This module turns the scenario's
``funding`` section (amounts in wan yuan) into two tidy tables in **yuan**:

``revenue`` (one row per level and year, base year included)
    ``level`` ("city" or a county id), ``year``, ``revenue_yuan`` (local general public budget
    revenue), ``increase_yuan`` (revenue minus the previous year's; NaN in the base year),
    ``earmark_share`` (share of the increase earmarked), ``earmark_yuan``.

``funding`` (one row per pool, source and spending year; zero rows are kept so every pool has
every source and year)
    ``pool`` ("city" or a county id), ``source``, ``year``, ``amount_yuan``.

How each source is computed (scenario field in brackets):

* ``earmark``: revenue_t = revenue_2014 × Π_{2015..t} (1 + growth) [``revenue_2014_wan``,
  ``revenue_growth``: key "all" for every level, a level's own key overrides it year by year];
  earmark_t = share × max(0, revenue_t − revenue_{t−1}) [``earmark_share_city`` 10%,
  ``earmark_share_county`` 15%, PLAN §19]. A year in which revenue falls gives **no** earmark
  (the plan ties the earmark to the increase; a fall is not clawed back from other years).
* ``integrated_agriculture``: the county's yearly amount in every spending year
  [``integrated_agriculture_wan``; a county without an entry gets 0].
* ``idle_recovery``: ``idle_recovery_share`` × ``idle_stock_wan`` of each level, once, in the
  first spending year (PLAN §19 "recover more than 50% in the year").
* ``provincial_transfer``: provincial and central special transfers [``provincial_transfer_wan``
  by year; a spending year without an entry gets 0; entries outside the spending years are
  ignored].
* ``pairing_donations``: enterprise pairing and donations (plan §13)
  [``pairing_donations_wan``, same rules as transfers].

Where the money lives. County revenue earmarks, county idle funds and integrated agriculture
funds are **county pools**: they pay only for that county's households. The city earmark, city
idle funds, donations and the provincial/central transfers are in the **city pool**, which can
pay for households anywhere. Keeping the transfers in the city pool is a modelling choice: in
the optimised plan the city decides where transfers go (the allocation LP treats the city pool
as flexible money); in the factor-method baseline (:mod:`fupinsim.allocate.factor`) the city pool
is split to the counties by the factor formula, which is how such transfers are distributed in
practice. Carry-over of unspent money (``funding.carry_over``) is applied by the allocation, not
here: this table is the money that *arrives* in each year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fupinsim.data import COUNTY_IDS
from fupinsim.errors import InputError, Problem
from fupinsim.scenario import Scenario
from fupinsim.units import BASE_YEAR, YUAN_PER_WAN, years_between

__all__ = [
    "CITY_POOL",
    "FUNDING_COLUMNS",
    "REVENUE_COLUMNS",
    "SOURCES",
    "FundingTables",
    "build_funding",
    "pool_totals",
]

#: Id of the municipal pool (city money can pay for households in any county).
CITY_POOL = "city"
#: Funding sources, in the order of plan §19 and §13.
SOURCES: tuple[str, ...] = (
    "earmark",
    "integrated_agriculture",
    "idle_recovery",
    "provincial_transfer",
    "pairing_donations",
)
FUNDING_COLUMNS: tuple[str, ...] = ("pool", "source", "year", "amount_yuan")
REVENUE_COLUMNS: tuple[str, ...] = (
    "level",
    "year",
    "revenue_yuan",
    "increase_yuan",
    "earmark_share",
    "earmark_yuan",
)


@dataclass(frozen=True)
class FundingTables:
    """The money available for poverty work.

    Attributes
    ----------
    funding:
        ``pool, source, year, amount_yuan`` (yuan arriving in the pool in that year).
    revenue:
        ``level, year, revenue_yuan, increase_yuan, earmark_share, earmark_yuan`` (yuan).
    """

    funding: pd.DataFrame
    revenue: pd.DataFrame

    @property
    def total_yuan(self) -> float:
        """All money over all pools, sources and years (yuan)."""
        return float(self.funding["amount_yuan"].sum())


def _levels(scenario: Scenario) -> list[str]:
    return [CITY_POOL, *scenario.counties]


def _check_keys(scenario: Scenario) -> None:
    """Every key of a per-level mapping must be 'city' or one of the seven county ids."""
    known = {CITY_POOL, *COUNTY_IDS}
    settings = scenario.funding
    problems: list[Problem] = []
    for name in ("revenue_2014_wan", "idle_stock_wan", "integrated_agriculture_wan"):
        for key in getattr(settings, name):
            if key not in known:
                problems.append(
                    Problem(
                        f"funding.{name}",
                        key,
                        f"keys must be 'city' or a county id ({', '.join(COUNTY_IDS)})",
                    )
                )
    for key in settings.revenue_growth:
        if key not in known | {"all"}:
            problems.append(
                Problem("funding.revenue_growth", key, "keys must be 'all', 'city' or a county id")
            )
    if CITY_POOL in settings.integrated_agriculture_wan:
        problems.append(
            Problem(
                "funding.integrated_agriculture_wan",
                CITY_POOL,
                "integrated agriculture funds belong to counties",
                fix="Remove the 'city' entry or give it to a county.",
            )
        )
    missing = [level for level in _levels(scenario) if level not in settings.revenue_2014_wan]
    problems.extend(
        Problem(
            "funding.revenue_2014_wan",
            None,
            f"must give the 2014 revenue of '{level}'",
            fix=f"Add '{level}: <wan yuan>'.",
        )
        for level in missing
    )
    if settings.last_year < settings.first_year:
        problems.append(
            Problem(
                "funding.last_year",
                settings.last_year,
                f"must not be before funding.first_year ({settings.first_year})",
            )
        )
    if settings.first_year <= BASE_YEAR:
        problems.append(
            Problem(
                "funding.first_year",
                settings.first_year,
                f"must be after the revenue base year {BASE_YEAR}",
            )
        )
    if problems:
        raise InputError(problems, summary="funding: the scenario's money section is not usable")


def _growth_path(scenario: Scenario, level: str, years: list[int]) -> np.ndarray:
    """Growth rate of ``level`` in each of ``years`` (own entry first, then 'all')."""
    table = scenario.funding.revenue_growth
    own = table.get(level, {})
    default = table.get("all", {})
    rates: list[float] = []
    problems: list[Problem] = []
    for year in years:
        if year in own:
            rates.append(float(own[year]))
        elif year in default:
            rates.append(float(default[year]))
        else:
            problems.append(
                Problem(
                    "funding.revenue_growth",
                    None,
                    f"must give a growth rate for {year} (under '{level}' or 'all')",
                    fix=f"Add '{year}: <share>' under revenue_growth.all.",
                )
            )
    if problems:
        raise InputError(problems)
    return np.asarray(rates, dtype=float)


def _revenue_table(scenario: Scenario) -> pd.DataFrame:
    settings = scenario.funding
    years = years_between(BASE_YEAR, settings.last_year)
    frames = []
    for level in _levels(scenario):
        growth = _growth_path(scenario, level, years[1:])
        base = settings.revenue_2014_wan[level] * YUAN_PER_WAN
        revenue = base * np.concatenate([[1.0], np.cumprod(1.0 + growth)])
        increase = np.concatenate([[np.nan], np.diff(revenue)])
        share = settings.earmark_share_city if level == CITY_POOL else settings.earmark_share_county
        # The earmark is a share of the *increase*: nothing when revenue falls (np.fmax keeps
        # the base year's NaN out of the sum by giving 0).
        earmark = share * np.fmax(np.nan_to_num(increase, nan=0.0), 0.0)
        frames.append(
            pd.DataFrame(
                {
                    "level": level,
                    "year": years,
                    "revenue_yuan": revenue,
                    "increase_yuan": increase,
                    "earmark_share": share,
                    "earmark_yuan": earmark,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def build_funding(scenario: Scenario) -> FundingTables:
    """Money by pool, source and spending year, and the revenue path behind the earmarks.

    Parameters
    ----------
    scenario:
        A validated scenario; only ``scenario.counties`` and ``scenario.funding`` are used.

    Returns
    -------
    FundingTables
        ``funding`` (``pool, source, year, amount_yuan``, yuan) for the spending years
        ``funding.first_year … funding.last_year``, with every pool × source × year present
        (zero where a source does not feed a pool), and ``revenue`` (base year 2014 included).

    Raises
    ------
    InputError
        An unknown level key, a level without 2014 revenue, a year without a growth rate, or
        spending years that do not follow the base year.
    """
    _check_keys(scenario)
    settings = scenario.funding
    spend_years = years_between(settings.first_year, settings.last_year)
    revenue = _revenue_table(scenario)
    pools = _levels(scenario)

    amounts: dict[tuple[str, str, int], float] = {
        (pool, source, year): 0.0 for pool in pools for source in SOURCES for year in spend_years
    }
    earmarks = revenue[revenue["year"].isin(spend_years)]
    for level, year, amount in zip(
        earmarks["level"], earmarks["year"], earmarks["earmark_yuan"], strict=True
    ):
        amounts[(str(level), "earmark", int(year))] = float(amount)
    for county in scenario.counties:
        yearly = settings.integrated_agriculture_wan.get(county, 0.0) * YUAN_PER_WAN
        for year in spend_years:
            amounts[(county, "integrated_agriculture", year)] = yearly
    for level in pools:
        stock = settings.idle_stock_wan.get(level, 0.0) * YUAN_PER_WAN
        amounts[(level, "idle_recovery", spend_years[0])] = settings.idle_recovery_share * stock
    for source, by_year in (
        ("provincial_transfer", settings.provincial_transfer_wan),
        ("pairing_donations", settings.pairing_donations_wan),
    ):
        for year in spend_years:
            amounts[(CITY_POOL, source, year)] = by_year.get(year, 0.0) * YUAN_PER_WAN

    funding = pd.DataFrame(
        [(pool, source, year, amount) for (pool, source, year), amount in amounts.items()],
        columns=list(FUNDING_COLUMNS),
    )
    funding["year"] = funding["year"].astype("int64")
    return FundingTables(funding=funding, revenue=revenue)


def pool_totals(funding: pd.DataFrame) -> pd.DataFrame:
    """Money arriving in each pool and year, all sources together.

    Parameters
    ----------
    funding:
        A ``funding`` table (``pool, source, year, amount_yuan``).

    Returns
    -------
    DataFrame
        ``pool, year, amount_yuan`` (yuan), sorted by pool and year.
    """
    return funding.groupby(["pool", "year"], sort=True)["amount_yuan"].sum().reset_index()
