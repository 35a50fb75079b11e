"""A scenario's changes to catalogue entries, and the loans that finance household shares.

Applied in this order by :func:`fupinsim.microsim.catalogue.load_catalogue`: cost and effect
factors (:func:`with_factors`), financing under credit terms (:func:`financed`, DERIVED costs),
then the yearly capacity of each entry's first resource (:func:`with_capacity`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from fupinsim.errors import Problem, ScenarioError
from fupinsim.microsim.catalogue.entries import CreditTerms, Entry, Resource
from fupinsim.scenario import InterventionOverride, Scenario

__all__ = ["check_scenario_ids", "financed", "with_capacity", "with_factors"]


def with_factors(entry: Entry, override: InterventionOverride | None) -> Entry:
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


def financed(entry: Entry, terms: Mapping[str, CreditTerms]) -> Entry:
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


def with_capacity(entry: Entry, resources: Mapping[str, Resource]) -> Entry:
    """Fill in the yearly capacity (and its source) of the entry's first resource."""
    if entry.capacity_resource is None:
        return entry
    resource = resources[entry.capacity_resource]
    sources = {**entry.sources, "capacity_per_year": resource.source}
    return replace(
        entry, capacity_per_year=resource.units_per_year, sources=MappingProxyType(sources)
    )


def check_scenario_ids(
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
