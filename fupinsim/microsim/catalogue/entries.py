"""Catalogue entries (one measure of the plan each), shared yearly capacities and credit terms.

See :mod:`fupinsim.microsim.catalogue` for the conventions (units, costs by payer, income
effect, ramp-up, risk, capacity, guarantees, policies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from fupinsim.microsim.catalogue.conditions import Condition, Table, _all_of, _n_rows, _series

__all__ = [
    "MARKET_SOURCES",
    "PAYERS",
    "CreditTerms",
    "Entry",
    "FiscalChannel",
    "Kind",
    "Resource",
    "Target",
]

Kind = Literal["household", "village", "guarantee", "policy"]
Target = Literal["development", "social_security", "any"]
FiscalChannel = Literal["poverty_fund", "sector"]

#: Who pays, in the order of every cost table.
PAYERS: tuple[str, ...] = ("fiscal", "credit", "household")
#: Income sources a village ``market_uplift`` multiplies (gross farm income).
MARKET_SOURCES: tuple[str, ...] = ("income_crops", "income_livestock", "income_greenhouse")


@dataclass(frozen=True)
class Resource:
    """A shared yearly capacity (city-wide), e.g. ``training_seats`` or ``credit_yuan``.

    ``units_per_year`` is in ``unit`` (trainees, labourers, greenhouses, yuan of principal,
    households planting 2 mu), after scenario overrides.
    """

    id: str
    description: str
    units_per_year: float
    unit: str
    source: str


@dataclass(frozen=True)
class CreditTerms:
    """Loan terms under which an entry's household share is lent (``Entry.financing``).

    The budget pays ``interest_rate x years x interest_subsidy_share`` of the principal as
    interest subsidy and ``default_prob x fiscal_loss_share`` of it as expected risk
    compensation; both are added to the entry's ``cost_fiscal_yuan``.
    """

    id: str
    description: str
    max_loan_yuan: float
    years: int
    interest_rate: float
    interest_subsidy_share: float
    default_prob: float
    fiscal_loss_share: float
    eligibility: tuple[Condition, ...]
    capacity_resource: str | None
    sources: Mapping[str, str]

    def fiscal_cost(self, principal: float) -> tuple[float, float]:
        """Interest subsidy and expected risk compensation (yuan) on ``principal`` yuan."""
        interest = principal * self.interest_rate * self.years * self.interest_subsidy_share
        risk = principal * self.default_prob * self.fiscal_loss_share
        return interest, risk


@dataclass(frozen=True)
class Entry:
    """One measure of the catalogue (see the module docstring for the conventions).

    Attributes
    ----------
    id, name, plan_section, kind, unit, description:
        Identity; ``unit`` is what one unit is; ``kind`` household / village / guarantee /
        policy.
    cost_fiscal_yuan, cost_credit_yuan, cost_household_yuan:
        One-off cost per unit in the start year, by payer (yuan).
    recurrent_fiscal_yuan:
        Fiscal cost per unit and year while active (yuan per year), 0 if none.
    fiscal_channel:
        ``poverty_fund`` or ``sector``.
    eligibility:
        Conditions, all of which must hold.
    quantity_column, typical_quantity:
        Units per household from this column (``None``: one unit); the typical number when no
        household is given.
    income_source:
        Income column the effect adds to, or ``None``.
    effect_yuan, effect_gross_yuan:
        Net and gross income effect per unit and year at maturity (yuan per year).
    ramp_up:
        Share of the maturity effect in years 0, 1, … after the start; the last value holds.
    dispersion_sigma:
        Lognormal sigma of the household multiplier (mean 1).
    failure_prob:
        Probability, drawn once at the start, that the measure never works.
    lifetime_years:
        Years the effect and recurrent costs last.
    reach_share:
        Village entries: share of the village's households that get ``effect_yuan`` (1 for
        other entries).
    market_uplift:
        Village entries: proportional uplift on the gross income in :data:`MARKET_SOURCES` of
        every household in the village (0 for other entries).
    capacity_per_year, capacity_resource, capacity_uses:
        First resource and its yearly capacity; all resources with units used per entry unit.
    fixes:
        Exit guarantees this entry fixes (``safe_housing``, ``safe_water``, ``basic_medical``,
        ``compulsory_schooling``, ``food_clothing``).
    financing, variant_of, default_prob:
        Credit terms id lending the household's share; the entry this one copies; the loan's
        expected default rate (0 without financing).
    sources:
        Field name → source of every number (``PLAN``/``FOUND``/``DERIVED``/``ESTIMATE``).
    add_on:
        An entitlement (education aid, health cover, medical and temporary assistance): given,
        like the guarantees, to every supported household it is eligible for, on top of the
        household's package, never one of the packages competing for the household.
    """

    id: str
    name: str
    plan_section: str
    kind: Kind
    unit: str
    description: str
    cost_fiscal_yuan: float
    cost_credit_yuan: float
    cost_household_yuan: float
    recurrent_fiscal_yuan: float
    fiscal_channel: FiscalChannel
    eligibility: tuple[Condition, ...]
    quantity_column: str | None
    typical_quantity: float
    income_source: str | None
    effect_yuan: float
    effect_gross_yuan: float
    ramp_up: tuple[float, ...]
    dispersion_sigma: float
    failure_prob: float
    lifetime_years: int
    reach_share: float
    market_uplift: float
    capacity_per_year: float | None
    capacity_resource: str | None
    capacity_uses: tuple[tuple[str, float], ...]
    fixes: tuple[str, ...]
    financing: str | None
    variant_of: str | None
    default_prob: float
    sources: Mapping[str, str]
    add_on: bool = False

    @property
    def effect_cost_yuan(self) -> float:
        """Production cost added per unit and year at maturity (gross − net, yuan per year)."""
        return self.effect_gross_yuan - self.effect_yuan

    @property
    def gross_share(self) -> float:
        """``effect_gross_yuan / effect_yuan`` (≥ 1 when the measure adds production cost).

        The engine may add ``gross_share × effect`` to ``income_source`` and
        ``(gross_share − 1) × effect`` to ``production_cost``; 1 when there is no effect.
        """
        if self.effect_yuan == 0:
            return 1.0
        return self.effect_gross_yuan / self.effect_yuan

    @property
    def years_to_maturity(self) -> int:
        """First year since the start in which the full effect is reached."""
        return len(self.ramp_up) - 1

    def eligibility_mask(self, table: Table) -> np.ndarray:
        """Rows of ``table`` (households, or villages for village entries) that are eligible."""
        return _all_of(self.eligibility, table)

    def quantity(self, households: Table) -> np.ndarray:
        """Units of this entry per household (float array): the quantity column, or 1."""
        if self.quantity_column is None:
            return np.ones(_n_rows(households), dtype=float)
        return _series(households, self.quantity_column).astype("float64").fillna(0.0).to_numpy()

    def effect_profile(self, years_since_start: Any) -> np.ndarray:
        """Share of the maturity effect ``years_since_start`` years after the start.

        ``0`` before the start and from ``lifetime_years`` on; ``ramp_up`` in between (its last
        value holding).
        """
        k = np.asarray(years_since_start, dtype=np.int64)
        ramp = np.asarray(self.ramp_up, dtype=float)
        share = ramp[np.clip(k, 0, len(ramp) - 1)]
        return np.where((k >= 0) & (k < self.lifetime_years), share, 0.0)

    def lifetime_cost(self, quantity: float = 1.0) -> dict[str, float]:
        """Cost by payer over the lifetime for ``quantity`` units (yuan, undiscounted)."""
        return {
            "fiscal": quantity
            * (self.cost_fiscal_yuan + self.recurrent_fiscal_yuan * self.lifetime_years),
            "credit": quantity * self.cost_credit_yuan,
            "household": quantity * self.cost_household_yuan,
        }
