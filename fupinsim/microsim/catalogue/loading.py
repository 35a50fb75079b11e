"""Loading the catalogue: validate ``interventions.yaml``, build typed entries and packages, then
apply a scenario's overrides (:func:`load_catalogue`).

Every number keeps its source: ``Entry.sources[field]`` is the fact's ``source``, or
``"not applicable (default …)"`` when an optional fact is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from types import MappingProxyType
from typing import Any, Literal, cast

from fupinsim.data import load_raw
from fupinsim.errors import InputError
from fupinsim.microsim.catalogue.checks import (
    HOUSEHOLD_SPECS,
    VILLAGE_SPECS,
    catalogue_problems,
    is_numeric,
    operand_of,
)
from fupinsim.microsim.catalogue.conditions import Condition, ConditionValue
from fupinsim.microsim.catalogue.entries import CreditTerms, Entry, Resource
from fupinsim.microsim.catalogue.overrides import (
    check_scenario_ids,
    financed,
    with_capacity,
    with_factors,
)
from fupinsim.microsim.catalogue.packages import Catalogue, Package
from fupinsim.microsim.catalogue.schema import (
    CatalogueFile,
    ConditionModel,
    CreditTermsModel,
    EntryModel,
    Fact,
    PackageModel,
    VariantModel,
    validate_catalogue_file,
)
from fupinsim.registry.schema import ColumnSpec
from fupinsim.scenario import InterventionOverride, Scenario

__all__ = ["CatalogueBase", "load_catalogue", "parse_catalogue"]

_NOT_APPLICABLE = "not applicable"
_FILE = "interventions.yaml"


def _value(fact: Fact | None, sources: dict[str, str], slot: str, default: Any = None) -> Any:
    """The fact's value, recording its source under ``slot`` (or that the default applies)."""
    if fact is None:
        sources[slot] = f"{_NOT_APPLICABLE} (default {default!r})"
        return default
    sources[slot] = fact.source
    return fact.value


def _condition(model: ConditionModel, specs: Mapping[str, ColumnSpec]) -> Condition:
    operand = operand_of(model)
    numeric = is_numeric(specs[model.column])
    value: ConditionValue
    if isinstance(operand, list):
        value = tuple(float(v) if numeric else str(v) for v in operand)
    elif numeric:
        value = float(cast(float, operand))
    else:
        value = cast(bool | str, operand)
    return Condition(model.column, model.op, value, model.minus)


def _conditions(
    models: list[ConditionModel],
    specs: Mapping[str, ColumnSpec],
    sources: dict[str, str],
    prefix: str,
) -> tuple[Condition, ...]:
    for i, model in enumerate(models):
        if isinstance(model.operand, Fact):
            sources[f"{prefix}[{i}]"] = model.operand.source
    return tuple(_condition(model, specs) for model in models)


def _resource(rid: str, node: Any) -> Resource:
    return Resource(
        rid, node.description, float(node.per_year.value), node.per_year.unit, node.per_year.source
    )


def _terms(tid: str, t: CreditTermsModel) -> CreditTerms:
    s: dict[str, str] = {}
    return CreditTerms(
        id=tid,
        description=t.description,
        max_loan_yuan=float(_value(t.max_loan, s, "max_loan_yuan")),
        years=int(_value(t.years, s, "years")),
        interest_rate=float(_value(t.interest_rate, s, "interest_rate")),
        interest_subsidy_share=float(_value(t.interest_subsidy_share, s, "interest_subsidy_share")),
        default_prob=float(_value(t.default_prob, s, "default_prob")),
        fiscal_loss_share=float(_value(t.fiscal_loss_share, s, "fiscal_loss_share")),
        eligibility=_conditions(t.eligibility, HOUSEHOLD_SPECS, s, "eligibility"),
        capacity_resource=t.capacity.resource if t.capacity else None,
        sources=MappingProxyType(s),
    )


def _entry(eid: str, e: EntryModel) -> Entry:
    """The typed entry; sources are recorded in the order the fields are read."""
    s: dict[str, str] = {}
    effect = float(_value(e.effect_net, s, "effect_yuan", 0.0))
    gross = float(_value(e.effect_gross, s, "effect_gross_yuan", 0.0))
    ramp = tuple(float(r) for r in _value(e.ramp_up, s, "ramp_up", [1.0]))
    market_uplift = float(_value(e.market_uplift, s, "market_uplift", 0.0))
    reach = float(_value(e.reach_share, s, "reach_share", 1.0))
    typical = float(_value(e.typical_quantity, s, "typical_quantity", 1.0))
    uses: list[tuple[str, float]] = []
    if e.capacity is not None:
        per_unit = float(_value(e.capacity.per_unit, s, "capacity_per_unit", 1.0))
        uses.append((e.capacity.resource, per_unit))
    lifetime = int(_value(e.lifetime, s, "lifetime_years"))
    specs = VILLAGE_SPECS if e.kind == "village" else HOUSEHOLD_SPECS
    return Entry(
        id=eid,
        name=eid if e.name is None else e.name,
        plan_section=e.plan_section,
        kind=e.kind,
        unit=e.unit,
        description=" ".join(e.description.split()),
        cost_fiscal_yuan=float(_value(e.cost_fiscal, s, "cost_fiscal_yuan")),
        cost_credit_yuan=float(_value(e.cost_credit, s, "cost_credit_yuan")),
        cost_household_yuan=float(_value(e.cost_household, s, "cost_household_yuan")),
        recurrent_fiscal_yuan=float(_value(e.recurrent_fiscal, s, "recurrent_fiscal_yuan", 0.0)),
        fiscal_channel=e.fiscal_channel,
        eligibility=_conditions(e.eligibility, specs, s, "eligibility"),
        quantity_column=e.quantity_column,
        typical_quantity=typical,
        income_source=e.income_source,
        effect_yuan=effect,
        effect_gross_yuan=gross,
        ramp_up=ramp,
        dispersion_sigma=float(_value(e.dispersion_sigma, s, "dispersion_sigma", 0.0)),
        failure_prob=float(_value(e.failure_prob, s, "failure_prob", 0.0)),
        lifetime_years=lifetime,
        reach_share=reach,
        market_uplift=market_uplift,
        capacity_per_year=None,
        capacity_resource=uses[0][0] if uses else None,
        capacity_uses=tuple(uses),
        fixes=tuple(e.fixes),
        financing=e.financing,
        variant_of=None,
        default_prob=0.0,
        sources=MappingProxyType(s),
        add_on=e.add_on,
    )


def _package(pid: str, p: PackageModel, entries: Mapping[str, Entry]) -> Package:
    level = "village" if all(entries[e].kind == "village" for e in p.entries) else "household"
    specs = VILLAGE_SPECS if level == "village" else HOUSEHOLD_SPECS
    sources: dict[str, str] = {}
    return Package(
        id=pid,
        name=pid if p.name is None else p.name,
        entries=tuple(p.entries),
        description=" ".join(p.description.split()),
        target=p.target,
        conditions=_conditions(p.conditions, specs, sources, "conditions"),
        any_of=_conditions(p.any_of, specs, sources, "any_of"),
        level=cast(Literal["household", "village"], level),
        typical_quantities=MappingProxyType(
            {column: float(fact.value) for column, fact in p.typical_quantities.items()}
        ),
    )


@dataclass(frozen=True)
class CatalogueBase:
    """The parsed data file before a scenario's overrides and financing."""

    entries: Mapping[str, Entry]
    variants: Mapping[str, VariantModel]
    packages: Mapping[str, Package]
    resources: Mapping[str, Resource]
    terms: Mapping[str, CreditTerms]


def _guarantee_ids() -> tuple[str, ...]:
    rules = load_raw("exit_rules")["household"]
    return tuple(str(rule["id"]) for rule in rules if rule["id"] != "income_above_line")


def parse_catalogue(raw: Mapping[str, Any], where: str = _FILE) -> CatalogueBase:
    """Validate a catalogue mapping (the content of ``interventions.yaml``) and build it.

    Raises
    ------
    InputError
        Every problem at once, each naming the entry (or package) id, the field, the value and
        what is allowed.
    """
    model: CatalogueFile = validate_catalogue_file(raw, where)
    problems = catalogue_problems(model, where, _guarantee_ids())
    if problems:
        raise InputError(problems, summary=f"{where}: the intervention catalogue is not valid")
    entries = {eid: _entry(eid, e) for eid, e in model.entries.items()}
    # Packages may name variants, which have their base entry's kind.
    provisional = dict(entries)
    for vid, v in model.variants.items():
        provisional[vid] = replace(entries[v.variant_of], id=vid)
    return CatalogueBase(
        entries=entries,
        variants=dict(model.variants),
        packages={pid: _package(pid, p, provisional) for pid, p in model.packages.items()},
        resources={rid: _resource(rid, node) for rid, node in model.capacities.items()},
        terms={tid: _terms(tid, t) for tid, t in model.credit_terms.items()},
    )


@cache
def _base() -> CatalogueBase:
    return parse_catalogue(load_raw("interventions"))


def _entries(
    base: CatalogueBase, overrides: Mapping[str, InterventionOverride]
) -> dict[str, Entry]:
    """Entries and variants with the scenario's cost and effect factors, then financed."""
    raw_entries: dict[str, Entry] = {}
    for eid, entry in base.entries.items():
        raw_entries[eid] = with_factors(entry, overrides.get(eid))
    for vid, v in base.variants.items():
        parent = raw_entries[v.variant_of]
        variant = replace(
            parent,
            id=vid,
            name=vid if v.name is None else v.name,
            description=" ".join(
                (parent.description if v.description is None else v.description).split()
            ),
            financing=v.financing if "financing" in v.model_fields_set else parent.financing,
            variant_of=parent.id,
        )
        raw_entries[vid] = with_factors(variant, overrides.get(vid))
    return {eid: financed(e, base.terms) for eid, e in raw_entries.items()}


def _resources(
    base: CatalogueBase, entries: Mapping[str, Entry], scenario: Scenario | None
) -> dict[str, Resource]:
    """Shared capacities with the scenario's capacities set, then its capacity factors."""
    resources = dict(base.resources)
    if scenario is None:
        return resources
    check_scenario_ids(scenario, list(entries), entries)
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
    return resources


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
    InputError
        The packaged ``interventions.yaml`` is not valid (every problem named).
    ScenarioError
        An override names an unknown entry (the message lists the known ids), or sets a
        capacity for an entry without one.
    """
    base = _base()
    overrides: Mapping[str, InterventionOverride] = scenario.interventions if scenario else {}
    entries = _entries(base, overrides)
    resources = _resources(base, entries, scenario)
    entries = {eid: with_capacity(e, resources) for eid, e in entries.items()}
    return Catalogue(
        entries=MappingProxyType(entries),
        packages=MappingProxyType(dict(base.packages)),
        resources=MappingProxyType(resources),
        credit_terms=MappingProxyType(dict(base.terms)),
    )
