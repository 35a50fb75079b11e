"""The intervention catalogue: typed entries and packages read from ``data/interventions.yaml``.

An :class:`Entry` is one measure of the plan (§6-14): 30 sheep, 2 mu of wolfberry, a solar
greenhouse, one labourer transferred, skills training, microcredit, rooftop PV, a village
mutual-aid fund, a cooperative, a road, house renovation, safe water, education aid, and the
health and dibao rules. A :class:`Package` is what one household (or village) is given; the
plan's "one labourer out, 2 mu, 30 sheep" is ``one_labourer_2mu_30sheep``.

Conventions (the engine and the allocation rely on them)
--------------------------------------------------------
Units
    Money is yuan at current prices per *unit* of the entry; :attr:`Entry.unit` says what one
    unit is ("household (30 breeding ewes and a warm shed)", "labourer", "village", "person").
    A household receives one unit of every entry of its package, except entries with a
    :attr:`Entry.quantity_column`, of which it receives ``households[quantity_column]`` units
    (members for the NCMS rules and dibao, students for education aid, dropouts for the
    schooling guarantee); :attr:`Entry.typical_quantity` stands in when no household is given.
Costs by payer
    ``cost_fiscal_yuan``, ``cost_credit_yuan`` and ``cost_household_yuan`` are paid once, in the
    start year; ``recurrent_fiscal_yuan`` every year of ``lifetime_years``. *Credit* is loan
    principal (repaid by the household, so not a budget cost); the budget's share of a loan
    (interest subsidy and expected risk compensation) is inside ``cost_fiscal_yuan`` (paid up
    front, undiscounted). ``fiscal_channel`` tells whether the fiscal cost falls on the poverty
    budget (``poverty_fund``, plan §19) or on a sector programme (``sector``: housing, water,
    transport, health insurance, civil affairs, education).
Income effect
    ``effect_yuan`` is the NET income gain per unit and year at maturity (yuan per household
    per year), before dispersion and failure. ``effect_gross_yuan`` of it is gross income and
    goes to ``income_source``; ``effect_cost_yuan = effect_gross_yuan - effect_yuan`` is added
    to ``production_cost``. ``gross_share = effect_gross_yuan / effect_yuan`` (1 when there is
    no effect), so the engine may equally add ``gross_share * effect`` to the income source and
    ``(gross_share - 1) * effect`` to production cost. Field crops are measured against the
    field crops they replace. Village entries add ``market_uplift`` x (gross crop, livestock and
    greenhouse income) to those sources of every household in the village, and ``effect_yuan``
    to a ``reach_share`` of its households.
Ramp-up
    ``ramp_up[k]`` is the share of the maturity effect in year ``start_year + k`` (``k = 0`` is
    the start year); the last value holds afterwards, and the effect stops after
    ``lifetime_years`` (:meth:`Entry.effect_profile`).
Risk
    ``failure_prob`` is drawn ONCE, at the start: with this probability the measure never works
    for the household (for village entries: the village), its effect is 0 for its whole life
    and its costs are still paid. Year-to-year risk (prices, drought, illness) belongs to the
    engine's shocks. ``dispersion_sigma`` is the sigma of a lognormal household multiplier with
    mean 1 (``mu = -sigma**2 / 2``). ``default_prob`` (financed entries) is the lender's expected
    default rate behind the fiscal risk compensation; the engine need not draw it.
Capacity
    Capacities are shared *resources* (``training_seats``, ``labour_transfer``,
    ``greenhouse_builds``, ``credit_yuan``, planting areas) with units per year, city-wide.
    ``capacity_uses`` lists every resource an entry uses per unit (a microcredit-financed
    greenhouse uses one greenhouse build and its loan in ``credit_yuan``); ``capacity_resource``
    and ``capacity_per_year`` are its first (own) resource.
Guarantees
    ``guarantee`` entries fix an exit guarantee (``fixes``). The engine adds every guarantee
    entry whose eligibility holds (house grade C or D, no safe water, not in NCMS, a dropout) to
    any household that receives a package (:meth:`Catalogue.guarantee_entries`,
    :meth:`Catalogue.guarantee_needs`); package costs do not include them
    (:meth:`Catalogue.guarantee_cost` gives them per household).
Policies
    ``policy`` entries (NCMS +5 points, the serious-illness threshold, dibao) are rules the
    engine applies from the scenario and the data files; the entries carry their sources and
    expected recurrent cost, and no income effect.

Eligibility is structured (:class:`Condition`: column, optional ``minus`` column, operator,
value) and evaluated vectorised; nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import pairwise
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, cast, get_args

import numpy as np
import pandas as pd

from fupinsim.data import SOURCE_TAGS, load_raw
from fupinsim.errors import Problem, ScenarioError
from fupinsim.registry.schema import (
    HOUSEHOLD_COLUMNS,
    INCOME_SOURCES,
    VILLAGE_COLUMNS,
    ColumnSpec,
)
from fupinsim.scenario import InterventionOverride, Scenario

__all__ = [
    "MARKET_SOURCES",
    "PAYERS",
    "Catalogue",
    "Condition",
    "CreditTerms",
    "Entry",
    "FiscalChannel",
    "Kind",
    "Op",
    "Package",
    "Resource",
    "Target",
    "load_catalogue",
]

Kind = Literal["household", "village", "guarantee", "policy"]
Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"]
Target = Literal["development", "social_security", "any"]
FiscalChannel = Literal["poverty_fund", "sector"]
ConditionValue: TypeAlias = float | bool | str | tuple[float | str, ...]
#: A table of households or villages: a DataFrame or a mapping of column name to array.
Table: TypeAlias = pd.DataFrame | Mapping[str, Any]

#: Who pays, in the order of every cost table.
PAYERS: tuple[str, ...] = ("fiscal", "credit", "household")
#: Income sources a village ``market_uplift`` multiplies (gross farm income).
MARKET_SOURCES: tuple[str, ...] = ("income_crops", "income_livestock", "income_greenhouse")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_OP_TEXT = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "le": "≤",
    "gt": ">",
    "ge": "≥",
    "in": "in",
    "not_in": "not in",
}
_HOUSEHOLD_SPECS = {c.name: c for c in HOUSEHOLD_COLUMNS}
_VILLAGE_SPECS = {c.name: c for c in VILLAGE_COLUMNS}
_NOT_APPLICABLE = "not applicable"


# ----------------------------------------------------------------------------------------------
# Conditions


def _n_rows(table: Table) -> int:
    if isinstance(table, pd.DataFrame):
        return len(table)
    for values in table.values():
        return len(np.asarray(values))
    return 0


def _series(table: Table, column: str) -> pd.Series:
    if column not in table:
        raise KeyError(f"eligibility needs the column {column!r}, which the table does not have")
    values = table[column]
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(np.asarray(values))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


@dataclass(frozen=True)
class Condition:
    """One structured eligibility rule: ``table[column] (- table[minus]) <op> value``.

    Attributes
    ----------
    column:
        A household column (``fupinsim.registry.schema.HOUSEHOLD_COLUMNS``), or a village
        column (``VILLAGE_COLUMNS``) for village entries.
    op:
        ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``in`` or ``not_in``.
    value:
        A number (in the column's unit), a bool, a category, or a tuple of them for ``in`` /
        ``not_in``.
    minus:
        Optional second numeric column subtracted from ``column`` first (``n_labour`` minus
        ``n_away`` = labourers at home).

    A missing value never satisfies a condition (not even ``ne`` or ``not_in``).
    """

    column: str
    op: Op
    value: ConditionValue
    minus: str | None = None

    def mask(self, table: Table) -> np.ndarray:
        """Rows of ``table`` that satisfy the condition (vectorised).

        Parameters
        ----------
        table:
            DataFrame or mapping of column name to array (one value per row).

        Returns
        -------
        numpy.ndarray
            Boolean array, one value per row.

        Raises
        ------
        KeyError
            The table lacks ``column`` (or ``minus``).
        """
        series = _series(table, self.column)
        missing = series.isna().to_numpy(dtype=bool, copy=True)
        other = None
        if self.minus is not None:
            other = _series(table, self.minus)
            missing = missing | other.isna().to_numpy(dtype=bool)
        result = np.zeros(len(series), dtype=bool)
        valid = ~missing
        if not valid.any():
            return result
        left = series[valid]
        if other is not None:
            left = left.astype("float64") - other[valid].astype("float64")
        result[valid] = self._compare(left)
        return result

    def _compare(self, left: pd.Series) -> np.ndarray:
        value = self.value
        if self.op in ("in", "not_in"):
            options = list(value) if isinstance(value, tuple) else [value]
            if all(_is_number(v) for v in options):
                hit = np.isin(left.astype("float64").to_numpy(), np.asarray(options, float))
            else:
                hit = left.astype(object).isin(options).to_numpy(dtype=bool)
            return hit if self.op == "in" else ~hit
        if isinstance(value, bool | str):
            # Missing values are already filtered out, so the comparison is element-wise.
            hit = np.asarray(left.astype(object).to_numpy() == value, dtype=bool)
            if self.op == "eq":
                return hit
            if self.op == "ne":
                return ~hit
            raise ValueError(f"{self.describe()}: {self.op} needs a number")
        numbers = left.astype("float64").to_numpy()
        threshold = float(cast(float, value))
        compare = {
            "eq": np.equal,
            "ne": np.not_equal,
            "lt": np.less,
            "le": np.less_equal,
            "gt": np.greater,
            "ge": np.greater_equal,
        }[self.op]
        return np.asarray(compare(numbers, threshold), dtype=bool)

    def describe(self) -> str:
        """The rule in words, e.g. ``n_labour − n_away ≥ 2``."""
        left = f"{self.column} − {self.minus}" if self.minus else self.column
        value = self.value
        if isinstance(value, tuple):
            text = "{" + ", ".join(str(v) for v in value) + "}"
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value)
        return f"{left} {_OP_TEXT[self.op]} {text}"


def _all_of(conditions: Iterable[Condition], table: Table) -> np.ndarray:
    result = np.ones(_n_rows(table), dtype=bool)
    for condition in conditions:
        result &= condition.mask(table)
    return result


# ----------------------------------------------------------------------------------------------
# Entries, resources, credit terms, packages


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


@dataclass(frozen=True)
class Package:
    """What one household (or, for village packages, one village) is given.

    Attributes
    ----------
    id:
        ASCII snake_case id (used in PuLP names).
    entries:
        Entry ids; one unit of each (or ``quantity_column`` units).
    target:
        The §25 class it is meant for: ``development``, ``social_security`` or ``any``.
    conditions:
        Extra conditions, all of which must hold.
    any_of:
        Conditions of which at least one must hold (empty: no such requirement).
    level:
        ``household`` or ``village`` (from its entries).
    typical_quantities:
        Typical value of a quantity column for the households this package is meant for
        (``n_members`` of a social-security household); overrides the entries'
        ``typical_quantity`` in :meth:`Catalogue.package_cost`.
    """

    id: str
    name: str
    entries: tuple[str, ...]
    description: str
    target: Target
    conditions: tuple[Condition, ...] = ()
    any_of: tuple[Condition, ...] = ()
    level: Literal["household", "village"] = "household"
    typical_quantities: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def typical_quantity(self, entry: Entry) -> float:
        """Units of ``entry`` a typical household of this package receives."""
        if entry.quantity_column is None:
            return 1.0
        return self.typical_quantities.get(entry.quantity_column, entry.typical_quantity)

    def eligibility_mask(self, catalogue: Catalogue, households: Table) -> np.ndarray:
        """Eligible rows: every entry's eligibility AND ``conditions`` AND one of ``any_of``.

        ``households`` is the villages table for village packages.
        """
        mask = _all_of(self.conditions, households)
        for entry_id in self.entries:
            mask &= catalogue.entry(entry_id).eligibility_mask(households)
        if self.any_of:
            alternatives = np.zeros(len(mask), dtype=bool)
            for condition in self.any_of:
                alternatives |= condition.mask(households)
            mask &= alternatives
        return mask


@dataclass(frozen=True)
class Catalogue:
    """Entries, packages, shared capacities and credit terms, after scenario overrides."""

    entries: Mapping[str, Entry]
    packages: Mapping[str, Package]
    resources: Mapping[str, Resource]
    credit_terms: Mapping[str, CreditTerms]

    def entry(self, id: str) -> Entry:
        """The entry ``id``; ``KeyError`` naming the known ids otherwise."""
        try:
            return self.entries[id]
        except KeyError:
            raise KeyError(f"no catalogue entry {id!r}; known: {', '.join(self.entries)}") from None

    def package(self, id: str) -> Package:
        """The package ``id``; ``KeyError`` naming the known ids otherwise."""
        try:
            return self.packages[id]
        except KeyError:
            raise KeyError(f"no package {id!r}; known: {', '.join(self.packages)}") from None

    def _package_entries(self, package_id: str) -> list[Entry]:
        return [self.entry(e) for e in self.package(package_id).entries]

    def _typical_units(self, package_id: str) -> list[tuple[Entry, float]]:
        package = self.package(package_id)
        return [(e, package.typical_quantity(e)) for e in self._package_entries(package_id)]

    def package_cost(self, package_id: str) -> dict[str, float]:
        """Cost of a package per household (per village for village packages), by payer.

        Keys ``fiscal``, ``credit``, ``household`` (yuan): one-off costs plus recurrent fiscal
        costs over each entry's lifetime, undiscounted, with typical quantities of per-person
        or per-student entries (:meth:`Package.typical_quantity`). Guarantees are not included
        (:meth:`guarantee_cost`). The sum of :meth:`cost_profile` over years.
        """
        total = dict.fromkeys(PAYERS, 0.0)
        for entry, quantity in self._typical_units(package_id):
            for payer, amount in entry.lifetime_cost(quantity).items():
                total[payer] += amount
        return total

    def cost_profile(self, package_id: str) -> pd.DataFrame:
        """Package cost per household by year since the start and payer (yuan).

        Columns ``year_offset`` (0 = start year), ``fiscal_yuan``, ``credit_yuan``,
        ``household_yuan``; typical quantities as :meth:`package_cost`.
        """
        units = self._typical_units(package_id)
        horizon = max(e.lifetime_years for e, _ in units)
        fiscal = np.zeros(horizon)
        credit = np.zeros(horizon)
        household = np.zeros(horizon)
        for e, q in units:
            fiscal[0] += q * e.cost_fiscal_yuan
            fiscal[: e.lifetime_years] += q * e.recurrent_fiscal_yuan
            credit[0] += q * e.cost_credit_yuan
            household[0] += q * e.cost_household_yuan
        return pd.DataFrame(
            {
                "year_offset": np.arange(horizon),
                "fiscal_yuan": fiscal,
                "credit_yuan": credit,
                "household_yuan": household,
            }
        )

    def household_costs(self, package_id: str, households: Table) -> pd.DataFrame:
        """Lifetime package cost for each household, by payer, with its own quantities (yuan).

        Columns ``cost_fiscal_yuan``, ``cost_credit_yuan``, ``cost_household_yuan``; one row
        per household in the order given. Guarantees are not included.
        """
        n = _n_rows(households)
        totals = {payer: np.zeros(n) for payer in PAYERS}
        for entry in self._package_entries(package_id):
            quantity = entry.quantity(households)
            for payer, amount in entry.lifetime_cost().items():
                totals[payer] += quantity * amount
        return pd.DataFrame({f"cost_{payer}_yuan": totals[payer] for payer in PAYERS})

    def guarantee_entries(self) -> tuple[Entry, ...]:
        """The guarantee entries the engine adds to a supported household that needs them.

        A household receiving any package also gets every guarantee entry whose eligibility
        holds for it (house grade C → ``house_repair``, D → ``house_rebuild``, no safe water →
        ``safe_water``, not in NCMS → ``ncms_enrolment``, a dropout → ``school_return``).
        """
        return tuple(e for e in self.entries.values() if e.kind == "guarantee")

    def guarantee_needs(self, households: Table) -> pd.DataFrame:
        """Which guarantee entries each household needs: one bool column per entry id."""
        return pd.DataFrame(
            {e.id: e.eligibility_mask(households) for e in self.guarantee_entries()}
        )

    def guarantee_cost(self, households: Table) -> pd.DataFrame:
        """Lifetime cost of the guarantees each household needs, by payer (yuan).

        Columns as :meth:`household_costs`; one row per household in the order given.
        """
        n = _n_rows(households)
        totals = {payer: np.zeros(n) for payer in PAYERS}
        for entry in self.guarantee_entries():
            units = entry.eligibility_mask(households) * entry.quantity(households)
            for payer, amount in entry.lifetime_cost().items():
                totals[payer] += units * amount
        return pd.DataFrame({f"cost_{payer}_yuan": totals[payer] for payer in PAYERS})

    def capacity_use(self) -> pd.DataFrame:
        """Resources each package uses: ``package_id, resource, units_per_household``.

        ``units_per_household`` is in the resource's unit (for ``credit_yuan``: yuan of
        principal; per village for village packages), with typical quantities. Packages that
        use no capacity have no rows.
        """
        rows = []
        for package in self.packages.values():
            use: dict[str, float] = {}
            for entry, quantity in self._typical_units(package.id):
                for resource, per_unit in entry.capacity_uses:
                    use[resource] = use.get(resource, 0.0) + per_unit * quantity
            rows += [
                {"package_id": package.id, "resource": r, "units_per_household": u}
                for r, u in use.items()
            ]
        return pd.DataFrame(rows, columns=["package_id", "resource", "units_per_household"])

    def capacities(self) -> pd.DataFrame:
        """Yearly capacities: ``resource, units_per_year, unit, description, source``."""
        return pd.DataFrame(
            [
                {
                    "resource": r.id,
                    "units_per_year": r.units_per_year,
                    "unit": r.unit,
                    "description": r.description,
                    "source": r.source,
                }
                for r in self.resources.values()
            ],
            columns=["resource", "units_per_year", "unit", "description", "source"],
        )

    def table(self) -> pd.DataFrame:
        """One row per entry, human-readable (for notebooks and documentation)."""
        rows = []
        for e in self.entries.values():
            tags = sorted(
                {s.split(":")[0].split(" ")[0] for s in e.sources.values()} & set(SOURCE_TAGS),
                key=SOURCE_TAGS.index,
            )
            rows.append(
                {
                    "id": e.id,
                    "name": e.name,
                    "kind": e.kind,
                    "plan_section": e.plan_section,
                    "unit": e.unit,
                    "cost_fiscal_yuan": e.cost_fiscal_yuan,
                    "cost_credit_yuan": e.cost_credit_yuan,
                    "cost_household_yuan": e.cost_household_yuan,
                    "recurrent_fiscal_yuan": e.recurrent_fiscal_yuan,
                    "lifetime_fiscal_yuan": e.lifetime_cost()["fiscal"],
                    "fiscal_channel": e.fiscal_channel,
                    "income_source": e.income_source,
                    "effect_yuan": e.effect_yuan,
                    "effect_gross_yuan": e.effect_gross_yuan,
                    "expected_effect_yuan": e.effect_yuan * (1 - e.failure_prob) * e.reach_share,
                    "market_uplift": e.market_uplift,
                    "ramp_up": ", ".join(f"{r:g}" for r in e.ramp_up),
                    "years_to_maturity": e.years_to_maturity,
                    "dispersion_sigma": e.dispersion_sigma,
                    "failure_prob": e.failure_prob,
                    "lifetime_years": e.lifetime_years,
                    "capacity_resource": e.capacity_resource,
                    "capacity_per_year": e.capacity_per_year,
                    "eligibility": " and ".join(c.describe() for c in e.eligibility) or "all",
                    "quantity_column": e.quantity_column,
                    "fixes": ", ".join(e.fixes),
                    "financing": e.financing,
                    "sources": ", ".join(tags),
                }
            )
        return pd.DataFrame(rows)

    def package_table(self) -> pd.DataFrame:
        """One row per package: entries, target, conditions and cost per household by payer."""
        rows = []
        for p in self.packages.values():
            cost = self.package_cost(p.id)
            conditions = [c.describe() for c in p.conditions]
            if p.any_of:
                conditions.append("(" + " or ".join(c.describe() for c in p.any_of) + ")")
            rows.append(
                {
                    "package_id": p.id,
                    "name": p.name,
                    "level": p.level,
                    "target": p.target,
                    "entries": ", ".join(p.entries),
                    "conditions": " and ".join(conditions),
                    "cost_fiscal_yuan": cost["fiscal"],
                    "cost_credit_yuan": cost["credit"],
                    "cost_household_yuan": cost["household"],
                    "effect_yuan": sum(e.effect_yuan * q for e, q in self._typical_units(p.id)),
                }
            )
        return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Reading the data file


def _is_numeric(spec: ColumnSpec) -> bool:
    return spec.dtype.lower().startswith(("int", "uint", "float"))


def _condition_error(
    column: object, op: object, minus: object, operand: object, specs: Mapping[str, ColumnSpec]
) -> str | None:
    """What is wrong with a condition read from the data file, or ``None``."""
    if column not in specs:
        return f"column {column!r} is not in the registry schema ({', '.join(specs)})"
    spec = specs[str(column)]
    checks = (
        (op not in get_args(Op), f"op must be one of {', '.join(get_args(Op))}; got {op!r}"),
        (
            minus is not None
            and (minus not in specs or not _is_numeric(spec) or not _is_numeric(specs[str(minus)])),
            f"minus {minus!r} and {column!r} must both be numeric columns",
        ),
        (
            op in ("in", "not_in") and not isinstance(operand, list),
            f"{op} needs a list; got {operand!r}",
        ),
        (
            spec.allowed is not None and op in ("lt", "le", "gt", "ge"),
            f"{column} is a category: use eq, ne, in or not_in",
        ),
    )
    for bad, message in checks:
        if bad:
            return message
    for v in operand if isinstance(operand, list) else [operand]:
        if _is_numeric(spec) and not _is_number(v):
            return f"{column} is numeric; got {v!r}"
        if spec.dtype == "bool" and (not isinstance(v, bool) or op not in ("eq", "ne")):
            return f"{column} is true/false: use eq or ne with true or false"
        if spec.allowed is not None and v not in spec.allowed:
            return f"{column} {spec.rule}; got {v!r}"
    return None


class _Reader:
    """Parses ``interventions.yaml`` and collects every problem before raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.guarantee_ids = tuple(
            str(rule["id"])
            for rule in load_raw("exit_rules")["household"]
            if rule["id"] != "income_above_line"
        )

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"interventions.yaml {where}: {message}")

    def fact(
        self,
        node: Mapping[str, Any],
        key: str,
        where: str,
        sources: dict[str, str],
        slot: str,
        *,
        default: Any = None,
    ) -> Any:
        """The value of fact ``key`` (recording its source under ``slot``), or ``default``."""
        fact = node.get(key)
        if fact is None:
            if default is None:
                self.fail(f"{where}.{key}", "is required")
                return 0.0
            sources[slot] = f"{_NOT_APPLICABLE} (default {default!r})"
            return default
        if not isinstance(fact, Mapping) or "value" not in fact:
            self.fail(f"{where}.{key}", "must be a fact {value, unit, source}")
            return default if default is not None else 0.0
        sources[slot] = str(fact.get("source", ""))
        return fact["value"]

    def number(
        self,
        node: Mapping[str, Any],
        key: str,
        where: str,
        sources: dict[str, str],
        slot: str,
        *,
        default: float | None = None,
        low: float = 0.0,
        high: float = float("inf"),
    ) -> float:
        value = self.fact(node, key, where, sources, slot, default=default)
        if not _is_number(value):
            self.fail(f"{where}.{key}", f"must be a number; got {value!r}")
            return 0.0
        if not low <= float(value) <= high:
            self.fail(f"{where}.{key}", f"must be in [{low:g}, {high:g}]; got {value!r}")
        return float(value)

    def conditions(
        self,
        raw: object,
        where: str,
        specs: Mapping[str, ColumnSpec],
        sources: dict[str, str],
        prefix: str,
    ) -> tuple[Condition, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.fail(where, "must be a list of conditions")
            return ()
        out = []
        for i, item in enumerate(raw):
            here = f"{where}[{i}]"
            if not isinstance(item, Mapping) or set(item) - {"column", "minus", "op", "operand"}:
                self.fail(here, "must be {column, op, operand} with optional minus")
                continue
            condition = self.condition(item, here, specs, sources, f"{prefix}[{i}]")
            if condition is not None:
                out.append(condition)
        return tuple(out)

    def condition(
        self,
        item: Mapping[str, Any],
        where: str,
        specs: Mapping[str, ColumnSpec],
        sources: dict[str, str],
        slot: str,
    ) -> Condition | None:
        column, op, minus = item.get("column"), item.get("op"), item.get("minus")
        operand = item.get("operand")
        if isinstance(operand, Mapping):
            sources[slot] = str(operand.get("source", ""))
            operand = operand.get("value")
        error = _condition_error(column, op, minus, operand, specs)
        if error is not None:
            self.fail(where, error)
            return None
        numeric = _is_numeric(specs[str(column)])
        value: ConditionValue
        if isinstance(operand, list):
            value = tuple(float(v) if numeric else str(v) for v in operand)
        elif numeric:
            value = float(cast(float, operand))
        else:
            value = cast(bool | str, operand)
        return Condition(str(column), cast(Op, op), value, None if minus is None else str(minus))

    # -- sections ---------------------------------------------------------------------------

    def resources(self, raw: Mapping[str, Any]) -> dict[str, Resource]:
        out = {}
        for rid, node in (raw or {}).items():
            where = f"capacities.{rid}"
            sources: dict[str, str] = {}
            value = self.number(node, "per_year", where, sources, "per_year")
            fact = node.get("per_year") or {}
            out[rid] = Resource(
                str(rid),
                str(node.get("description", "")),
                value,
                str(fact.get("unit", "")),
                sources["per_year"],
            )
        return out

    def terms(
        self, raw: Mapping[str, Any], resources: Mapping[str, Resource]
    ) -> dict[str, CreditTerms]:
        out = {}
        for tid, node in (raw or {}).items():
            where = f"credit_terms.{tid}"
            s: dict[str, str] = {}
            capacity = node.get("capacity")
            resource = capacity.get("resource") if isinstance(capacity, Mapping) else None
            if resource is not None and resource not in resources:
                self.fail(f"{where}.capacity", f"unknown resource {resource!r}")
            out[tid] = CreditTerms(
                id=str(tid),
                description=str(node.get("description", "")),
                max_loan_yuan=self.number(node, "max_loan", where, s, "max_loan_yuan"),
                years=int(self.number(node, "years", where, s, "years", low=1)),
                interest_rate=self.number(node, "interest_rate", where, s, "interest_rate", high=1),
                interest_subsidy_share=self.number(
                    node, "interest_subsidy_share", where, s, "interest_subsidy_share", high=1
                ),
                default_prob=self.number(node, "default_prob", where, s, "default_prob", high=1),
                fiscal_loss_share=self.number(
                    node, "fiscal_loss_share", where, s, "fiscal_loss_share", high=1
                ),
                eligibility=self.conditions(
                    node.get("eligibility"),
                    f"{where}.eligibility",
                    _HOUSEHOLD_SPECS,
                    s,
                    "eligibility",
                ),
                capacity_resource=resource,
                sources=MappingProxyType(s),
            )
        return out

    def entry(
        self,
        eid: str,
        node: Mapping[str, Any],
        resources: Mapping[str, Resource],
        terms: Mapping[str, CreditTerms],
    ) -> Entry:
        where = f"entries.{eid}"
        s: dict[str, str] = {}
        if not _ID.match(eid):
            self.fail(where, "id must be ascii snake_case")
        kind = node.get("kind")
        if kind not in get_args(Kind):
            self.fail(f"{where}.kind", f"must be one of {', '.join(get_args(Kind))}")
            kind = "household"
        specs = _VILLAGE_SPECS if kind == "village" else _HOUSEHOLD_SPECS
        channel = node.get("fiscal_channel")
        if channel not in get_args(FiscalChannel):
            self.fail(f"{where}.fiscal_channel", f"must be one of {get_args(FiscalChannel)}")
        income_source = node.get("income_source")
        if income_source is not None and income_source not in INCOME_SOURCES:
            self.fail(f"{where}.income_source", f"must be one of {', '.join(INCOME_SOURCES)}")
        has_effect = income_source is not None
        effect = self.number(
            node, "effect_net", where, s, "effect_yuan", default=None if has_effect else 0.0
        )
        gross = self.number(
            node, "effect_gross", where, s, "effect_gross_yuan", default=None if has_effect else 0.0
        )
        if gross < effect:
            self.fail(where, f"effect_gross ({gross:g}) must be at least effect_net ({effect:g})")
        if effect > 0 and kind in ("guarantee", "policy"):
            self.fail(where, f"a {kind} entry has no income effect")
        ramp_raw = self.fact(node, "ramp_up", where, s, "ramp_up", default=[1.0])
        ramp = tuple(float(r) for r in ramp_raw) if isinstance(ramp_raw, list) else ()
        if (
            not ramp
            or any(not 0 <= r <= 1 for r in ramp)
            or ramp[-1] != 1.0
            or any(b < a for a, b in pairwise(ramp))
        ):
            self.fail(f"{where}.ramp_up", "must be non-decreasing shares in [0, 1] ending at 1")
        market_uplift = self.number(
            node, "market_uplift", where, s, "market_uplift", default=0.0, high=1.0
        )
        reach = self.number(node, "reach_share", where, s, "reach_share", default=1.0, high=1.0)
        if kind != "village" and (market_uplift != 0 or reach != 1):
            self.fail(where, "market_uplift and reach_share are for village entries")
        if has_effect and kind != "village" and not node.get("ramp_up"):
            self.fail(f"{where}.ramp_up", "is required for an entry with an income effect")
        quantity_column = node.get("quantity_column")
        if quantity_column is not None and quantity_column not in _HOUSEHOLD_SPECS:
            self.fail(f"{where}.quantity_column", "must be a household column")
        typical = self.number(
            node,
            "typical_quantity",
            where,
            s,
            "typical_quantity",
            default=None if quantity_column is not None else 1.0,
        )
        fixes = tuple(node.get("fixes") or ())
        for fix in fixes:
            if fix not in self.guarantee_ids:
                self.fail(
                    f"{where}.fixes", f"{fix!r} is not one of {', '.join(self.guarantee_ids)}"
                )
        uses: list[tuple[str, float]] = []
        capacity = node.get("capacity")
        if capacity is not None:
            resource = capacity.get("resource")
            if resource not in resources:
                self.fail(f"{where}.capacity", f"unknown resource {resource!r}")
            else:
                per_unit = self.number(
                    capacity, "per_unit", where, s, "capacity_per_unit", default=1.0
                )
                uses.append((str(resource), per_unit))
        financing = node.get("financing")
        if financing is not None and financing not in terms:
            self.fail(f"{where}.financing", f"unknown credit terms {financing!r}")
        lifetime = self.number(node, "lifetime", where, s, "lifetime_years", low=1)
        if lifetime != int(lifetime):
            self.fail(f"{where}.lifetime", "must be whole years")
        return Entry(
            id=eid,
            name=str(node.get("name", eid)),
            plan_section=str(node.get("plan_section", "")),
            kind=cast(Kind, kind),
            unit=str(node.get("unit", "")),
            description=" ".join(str(node.get("description", "")).split()),
            cost_fiscal_yuan=self.number(node, "cost_fiscal", where, s, "cost_fiscal_yuan"),
            cost_credit_yuan=self.number(node, "cost_credit", where, s, "cost_credit_yuan"),
            cost_household_yuan=self.number(
                node, "cost_household", where, s, "cost_household_yuan"
            ),
            recurrent_fiscal_yuan=self.number(
                node, "recurrent_fiscal", where, s, "recurrent_fiscal_yuan", default=0.0
            ),
            fiscal_channel=cast(FiscalChannel, channel),
            eligibility=self.conditions(
                node.get("eligibility"), f"{where}.eligibility", specs, s, "eligibility"
            ),
            quantity_column=None if quantity_column is None else str(quantity_column),
            typical_quantity=typical,
            income_source=None if income_source is None else str(income_source),
            effect_yuan=effect,
            effect_gross_yuan=gross,
            ramp_up=ramp or (1.0,),
            dispersion_sigma=self.number(
                node, "dispersion_sigma", where, s, "dispersion_sigma", default=0.0, high=3.0
            ),
            failure_prob=self.number(
                node, "failure_prob", where, s, "failure_prob", default=0.0, high=0.999
            ),
            lifetime_years=int(lifetime),
            reach_share=reach,
            market_uplift=market_uplift,
            capacity_per_year=None,
            capacity_resource=uses[0][0] if uses else None,
            capacity_uses=tuple(uses),
            fixes=fixes,
            financing=None if financing is None else str(financing),
            variant_of=None,
            default_prob=0.0,
            sources=MappingProxyType(s),
        )

    def package(self, pid: str, node: Mapping[str, Any], entries: Mapping[str, Entry]) -> Package:
        where = f"packages.{pid}"
        if not _ID.match(pid):
            self.fail(where, "id must be ascii snake_case (it becomes a PuLP name)")
        ids = tuple(str(e) for e in node.get("entries") or ())
        if not ids:
            self.fail(f"{where}.entries", "must list at least one entry")
        unknown = [e for e in ids if e not in entries]
        if unknown:
            self.fail(f"{where}.entries", f"unknown entries {unknown}")
        known = [entries[e] for e in ids if e in entries]
        villages = {e.kind == "village" for e in known}
        if len(villages) > 1:
            self.fail(f"{where}.entries", "must not mix village and household entries")
        if any(e.kind == "guarantee" for e in known):
            self.fail(f"{where}.entries", "guarantees are added by the engine, not by packages")
        level = "village" if villages == {True} else "household"
        specs = _VILLAGE_SPECS if level == "village" else _HOUSEHOLD_SPECS
        target = node.get("target")
        if target not in get_args(Target):
            self.fail(f"{where}.target", f"must be one of {', '.join(get_args(Target))}")
        sources: dict[str, str] = {}
        typical: dict[str, float] = {}
        for column in node.get("typical_quantities") or {}:
            if column not in _HOUSEHOLD_SPECS:
                self.fail(f"{where}.typical_quantities", f"{column!r} is not a household column")
                continue
            typical[str(column)] = self.number(
                node["typical_quantities"], column, f"{where}.typical_quantities", sources, column
            )
        return Package(
            id=pid,
            name=str(node.get("name", pid)),
            entries=ids,
            description=" ".join(str(node.get("description", "")).split()),
            target=cast(Target, target),
            conditions=self.conditions(
                node.get("conditions"), f"{where}.conditions", specs, sources, "conditions"
            ),
            any_of=self.conditions(node.get("any_of"), f"{where}.any_of", specs, sources, "any_of"),
            level=cast(Literal["household", "village"], level),
            typical_quantities=MappingProxyType(typical),
        )


@dataclass(frozen=True)
class _Base:
    """The parsed file before overrides and financing."""

    entries: Mapping[str, Entry]
    variants: Mapping[str, Mapping[str, Any]]
    packages: Mapping[str, Package]
    resources: Mapping[str, Resource]
    terms: Mapping[str, CreditTerms]


@cache
def _base() -> _Base:
    raw = load_raw("interventions")
    reader = _Reader()
    resources = reader.resources(raw.get("capacities") or {})
    terms = reader.terms(raw.get("credit_terms") or {}, resources)
    entries = {
        str(eid): reader.entry(str(eid), node, resources, terms)
        for eid, node in (raw.get("entries") or {}).items()
    }
    variants: dict[str, Mapping[str, Any]] = {}
    for vid, node in (raw.get("variants") or {}).items():
        base = node.get("variant_of")
        if base not in entries:
            reader.fail(f"variants.{vid}.variant_of", f"unknown entry {base!r}")
        elif vid in entries:
            reader.fail(f"variants.{vid}", "id already used by an entry")
        elif node.get("financing") not in (None, *terms):
            reader.fail(f"variants.{vid}.financing", "unknown credit terms")
        else:
            variants[str(vid)] = node
    # Packages may name variants: check them against a provisional set of all ids.
    provisional = dict(entries)
    for vid, node in variants.items():
        provisional[vid] = replace(entries[str(node["variant_of"])], id=vid)
    packages = {
        str(pid): reader.package(str(pid), node, provisional)
        for pid, node in (raw.get("packages") or {}).items()
    }
    if reader.problems:
        raise ValueError("the intervention catalogue is not valid:\n" + "\n".join(reader.problems))
    return _Base(entries, variants, packages, resources, terms)


# ----------------------------------------------------------------------------------------------
# Overrides and financing


def _with_factors(entry: Entry, override: InterventionOverride | None) -> Entry:
    """Apply a scenario's cost and effect factors to an entry (before financing)."""
    if override is None:
        return entry
    cost, effect = override.cost_factor, override.effect_factor
    sources = dict(entry.sources)
    for key in (
        "cost_fiscal_yuan",
        "cost_credit_yuan",
        "cost_household_yuan",
        "recurrent_fiscal_yuan",
    ):
        if cost != 1.0:
            sources[key] = f"{sources.get(key, '')}; x scenario cost_factor {cost:g}"
    for key in ("effect_yuan", "effect_gross_yuan", "market_uplift"):
        if effect != 1.0:
            sources[key] = f"{sources.get(key, '')}; x scenario effect_factor {effect:g}"
    return replace(
        entry,
        cost_fiscal_yuan=entry.cost_fiscal_yuan * cost,
        cost_credit_yuan=entry.cost_credit_yuan * cost,
        cost_household_yuan=entry.cost_household_yuan * cost,
        recurrent_fiscal_yuan=entry.recurrent_fiscal_yuan * cost,
        effect_yuan=entry.effect_yuan * effect,
        effect_gross_yuan=entry.effect_gross_yuan * effect,
        market_uplift=min(1.0, entry.market_uplift * effect),
        sources=MappingProxyType(sources),
    )


def _financed(entry: Entry, terms: Mapping[str, CreditTerms]) -> Entry:
    """Lend the household's share under the entry's credit terms (DERIVED costs)."""
    if entry.financing is None:
        return entry
    t = terms[entry.financing]
    principal = min(entry.cost_household_yuan, t.max_loan_yuan)
    interest, risk = t.fiscal_cost(principal)
    sources = dict(entry.sources)
    sources["cost_credit_yuan"] = (
        f"DERIVED: {principal:,.0f} yuan of the household's share lent under {t.id} "
        f"(ceiling {t.max_loan_yuan:,.0f})"
    )
    sources["cost_household_yuan"] = "DERIVED: household share less the loan"
    sources["cost_fiscal_yuan"] = (
        f"DERIVED: {entry.cost_fiscal_yuan:,.0f} ({sources.get('cost_fiscal_yuan', '')}) + "
        f"interest subsidy {principal:,.0f} x {t.interest_rate:g} x {t.years} years x "
        f"{t.interest_subsidy_share:g} = {interest:,.0f} + expected risk compensation "
        f"{principal:,.0f} x {t.default_prob:g} x {t.fiscal_loss_share:g} = {risk:,.0f} "
        f"({t.id} terms)"
    )
    sources["default_prob"] = t.sources.get("default_prob", "")
    for i, _ in enumerate(t.eligibility):
        if f"eligibility[{i}]" in t.sources:
            sources[f"financing_eligibility[{i}]"] = t.sources[f"eligibility[{i}]"]
    uses = entry.capacity_uses
    if t.capacity_resource is not None and principal > 0:
        uses = (*uses, (t.capacity_resource, principal))
    return replace(
        entry,
        cost_fiscal_yuan=entry.cost_fiscal_yuan + interest + risk,
        cost_credit_yuan=entry.cost_credit_yuan + principal,
        cost_household_yuan=entry.cost_household_yuan - principal,
        eligibility=entry.eligibility
        + tuple(c for c in t.eligibility if c not in entry.eligibility),
        capacity_uses=uses,
        capacity_resource=uses[0][0] if uses else None,
        default_prob=t.default_prob,
        sources=MappingProxyType(sources),
    )


def _with_capacity(entry: Entry, resources: Mapping[str, Resource]) -> Entry:
    """Fill in the yearly capacity (and its source) of the entry's first resource."""
    if entry.capacity_resource is None:
        return entry
    resource = resources[entry.capacity_resource]
    sources = {**entry.sources, "capacity_per_year": resource.source}
    return replace(
        entry, capacity_per_year=resource.units_per_year, sources=MappingProxyType(sources)
    )


def _check_scenario_ids(
    scenario: Scenario, known: Sequence[str], entries: Mapping[str, Entry]
) -> None:
    problems = []
    where = f"scenario {scenario.id}"
    known_text = ", ".join(known)
    for key, override in scenario.interventions.items():
        if key not in known:
            problems.append(
                Problem(
                    f"{where}: interventions.{key}",
                    key,
                    f"must be a catalogue entry id (one of {known_text})",
                )
            )
        elif "capacity_factor" in override.model_fields_set and not entries[key].capacity_uses:
            problems.append(
                Problem(
                    f"{where}: interventions.{key}.capacity_factor",
                    override.capacity_factor,
                    f"applies only to entries with a yearly capacity; {key} has none",
                )
            )
    for key, value in scenario.allocation.capacities.items():
        if key not in known:
            problems.append(
                Problem(
                    f"{where}: allocation.capacities.{key}",
                    key,
                    f"must be a catalogue entry id (one of {known_text})",
                )
            )
        elif not entries[key].capacity_uses:
            with_capacity = ", ".join(k for k, e in entries.items() if e.capacity_uses)
            problems.append(
                Problem(
                    f"{where}: allocation.capacities.{key}",
                    value,
                    f"must name an entry with a yearly capacity ({with_capacity})",
                )
            )
        elif value < 0:
            problems.append(
                Problem(
                    f"{where}: allocation.capacities.{key}", value, "must be >= 0 (units per year)"
                )
            )
    if problems:
        raise ScenarioError(problems, summary=f"{where}: intervention overrides are not valid")


def load_catalogue(scenario: Scenario | None = None) -> Catalogue:
    """The intervention catalogue, with a scenario's overrides applied.

    Parameters
    ----------
    scenario:
        Optional. ``scenario.interventions[entry_id]`` multiplies the entry's costs
        (``cost_factor``: one-off and recurrent, every payer, before its household share is
        lent), its income effect and market uplift (``effect_factor``) and the yearly capacity
        of its own resource (``capacity_factor``). ``scenario.allocation.capacities[entry_id]``
        sets that capacity (units per year) before the factor. A variant (``sheep_30_credit``)
        inherits its base entry's overrides; its own apply on top. Factors on two entries
        sharing a resource multiply.

    Returns
    -------
    Catalogue

    Raises
    ------
    ScenarioError
        An override names an unknown entry (the message lists the known ids), or sets a
        capacity for an entry without one.
    """
    base = _base()
    overrides: Mapping[str, InterventionOverride] = scenario.interventions if scenario else {}
    raw_entries: dict[str, Entry] = {}
    for eid, entry in base.entries.items():
        raw_entries[eid] = _with_factors(entry, overrides.get(eid))
    for vid, node in base.variants.items():
        parent = raw_entries[str(node["variant_of"])]
        variant = replace(
            parent,
            id=vid,
            name=str(node.get("name", vid)),
            description=" ".join(str(node.get("description", parent.description)).split()),
            financing=node.get("financing", parent.financing),
            variant_of=parent.id,
        )
        raw_entries[vid] = _with_factors(variant, overrides.get(vid))
    entries = {eid: _financed(e, base.terms) for eid, e in raw_entries.items()}

    resources = dict(base.resources)
    if scenario is not None:
        _check_scenario_ids(scenario, list(entries), entries)
        for eid, value in scenario.allocation.capacities.items():
            set_id = cast(str, entries[eid].capacity_resource)
            resources[set_id] = replace(
                resources[set_id],
                units_per_year=float(value),
                source=f"scenario {scenario.id}: allocation.capacities.{eid}",
            )
        for eid, override in scenario.interventions.items():
            rid = entries[eid].capacity_resource
            if rid is not None and override.capacity_factor != 1.0:
                r = resources[rid]
                resources[rid] = replace(
                    r,
                    units_per_year=r.units_per_year * override.capacity_factor,
                    source=f"{r.source}; x scenario capacity_factor {override.capacity_factor:g} "
                    f"({eid})",
                )
    entries = {eid: _with_capacity(e, resources) for eid, e in entries.items()}
    return Catalogue(
        entries=MappingProxyType(entries),
        packages=MappingProxyType(dict(base.packages)),
        resources=MappingProxyType(resources),
        credit_terms=MappingProxyType(dict(base.terms)),
    )
