"""Packages (what one household or village is given) and the :class:`Catalogue` that holds
entries, packages, capacities and credit terms after a scenario's overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from fupinsim.data import SOURCE_TAGS
from fupinsim.microsim.catalogue.conditions import Condition, Table, _all_of, _n_rows
from fupinsim.microsim.catalogue.entries import PAYERS, CreditTerms, Entry, Resource, Target

__all__ = ["Catalogue", "Package"]


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

    def entitlement_entries(self) -> tuple[Entry, ...]:
        """The entitlements (``add_on`` entries): education aid, health cover, medical and
        temporary assistance, given with any package to every household eligible for them."""
        return tuple(e for e in self.entries.values() if e.add_on and e.kind != "guarantee")

    def add_on_entries(self) -> tuple[Entry, ...]:
        """What the engine adds on top of a supported household's package where eligible:
        the guarantees, then the entitlements (:meth:`entitlement_entries`)."""
        return self.guarantee_entries() + self.entitlement_entries()

    def add_on_needs(self, households: Table) -> pd.DataFrame:
        """Which add-on entries each household is eligible for: one bool column per entry id."""
        return pd.DataFrame({e.id: e.eligibility_mask(households) for e in self.add_on_entries()})

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
