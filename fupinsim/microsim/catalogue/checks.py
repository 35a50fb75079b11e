"""Rules across the sections of ``interventions.yaml``, on the validated models.

:mod:`fupinsim.microsim.catalogue.schema` checks each field on its own; this module checks what
must exist elsewhere: eligibility columns in the registry schema (with a value the column can
hold), the capacities and credit terms entries name, the exit guarantees they fix, the entries
variants copy and packages list. Every broken rule is one :class:`~fupinsim.errors.Problem`
naming the entry (or package) id, the field, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fupinsim.errors import Problem
from fupinsim.microsim.catalogue.conditions import Op, _is_number
from fupinsim.microsim.catalogue.schema import CatalogueFile, ConditionModel, Fact
from fupinsim.registry.schema import HOUSEHOLD_COLUMNS, VILLAGE_COLUMNS, ColumnSpec

__all__ = ["HOUSEHOLD_SPECS", "VILLAGE_SPECS", "catalogue_problems", "is_numeric", "operand_of"]

HOUSEHOLD_SPECS: Mapping[str, ColumnSpec] = {c.name: c for c in HOUSEHOLD_COLUMNS}
VILLAGE_SPECS: Mapping[str, ColumnSpec] = {c.name: c for c in VILLAGE_COLUMNS}
_ORDERED: tuple[Op, ...] = ("lt", "le", "gt", "ge")


def is_numeric(spec: ColumnSpec) -> bool:
    """Whether a registry column holds numbers."""
    return spec.dtype.lower().startswith(("int", "uint", "float"))


def operand_of(condition: ConditionModel) -> object:
    """The operand's value (a fact's ``value``, else the operand itself)."""
    operand = condition.operand
    return operand.value if isinstance(operand, Fact) else operand


def _value_rule(value: object, op: str, column: str, spec: ColumnSpec) -> str | None:
    """What is wrong with one operand value for a column, or ``None``."""
    if is_numeric(spec) and not _is_number(value):
        return f"must be a number ({column} is numeric)"
    if spec.dtype == "bool" and (not isinstance(value, bool) or op not in ("eq", "ne")):
        return f"must be true or false with op eq or ne ({column} is true/false)"
    if spec.allowed is not None and value not in spec.allowed:
        return f"{spec.rule} ({column})"
    return None


def _condition_rule(
    condition: ConditionModel, specs: Mapping[str, ColumnSpec]
) -> tuple[str, object, str] | None:
    """(field, value, rule) of what is wrong with a condition, or ``None``."""
    column, op, minus = condition.column, condition.op, condition.minus
    operand = operand_of(condition)
    if column not in specs:
        return "column", column, f"must be a column of the registry schema ({', '.join(specs)})"
    spec = specs[column]
    listed = op in ("in", "not_in")
    checks: tuple[tuple[bool, str, object, str], ...] = (
        (
            minus is not None
            and (minus not in specs or not is_numeric(spec) or not is_numeric(specs[minus])),
            "minus",
            minus,
            f"and column {column!r} must both be numeric columns",
        ),
        (listed and not isinstance(operand, list), "operand", operand, f"must be a list for {op}"),
        (
            not listed and isinstance(operand, list),
            "operand",
            operand,
            f"must be a single value for {op} (lists go with in and not_in)",
        ),
        (
            spec.allowed is not None and op in _ORDERED,
            "op",
            op,
            f"must be eq, ne, in or not_in ({column} is a category)",
        ),
    )
    for bad, name, value, rule in checks:
        if bad:
            return name, value, rule
    for value in operand if isinstance(operand, list) else [operand]:
        found = _value_rule(value, op, column, spec)
        if found is not None:
            return "operand", value, found
    return None


def _conditions(
    conditions: Sequence[ConditionModel], where: str, specs: Mapping[str, ColumnSpec]
) -> list[Problem]:
    problems = []
    for i, condition in enumerate(conditions):
        found = _condition_rule(condition, specs)
        if found is not None:
            name, value, rule = found
            problems.append(Problem(f"{where}.{i}.{name}", value, rule))
    return problems


def _known(value: str | None, known: Sequence[str], where: str, what: str) -> list[Problem]:
    if value is None or value in known:
        return []
    return [Problem(where, value, f"must name {what} (one of {', '.join(known)})")]


def _entry_problems(model: CatalogueFile, at: str, guarantee_ids: Sequence[str]) -> list[Problem]:
    resources, terms = list(model.capacities), list(model.credit_terms)
    problems = []
    for tid, t in model.credit_terms.items():
        where = f"{at}credit_terms.{tid}"
        problems += _conditions(t.eligibility, f"{where}.eligibility", HOUSEHOLD_SPECS)
        resource = t.capacity.resource if t.capacity else None
        problems += _known(resource, resources, f"{where}.capacity.resource", "a capacity")
    for eid, e in model.entries.items():
        where = f"{at}entries.{eid}"
        specs = VILLAGE_SPECS if e.kind == "village" else HOUSEHOLD_SPECS
        problems += _conditions(e.eligibility, f"{where}.eligibility", specs)
        resource = e.capacity.resource if e.capacity else None
        problems += _known(resource, resources, f"{where}.capacity.resource", "a capacity")
        problems += _known(e.financing, terms, f"{where}.financing", "credit terms")
        for i, fix in enumerate(e.fixes):
            problems += _known(fix, guarantee_ids, f"{where}.fixes.{i}", "an exit guarantee")
    for vid, v in model.variants.items():
        where = f"{at}variants.{vid}"
        problems += _known(v.variant_of, list(model.entries), f"{where}.variant_of", "an entry")
        if vid in model.entries:
            problems.append(Problem(where, vid, "must not reuse the id of an entry"))
        problems += _known(v.financing, terms, f"{where}.financing", "credit terms")
    return problems


def _package_problems(model: CatalogueFile, at: str) -> list[Problem]:
    kinds = {eid: e.kind for eid, e in model.entries.items()}
    for vid, v in model.variants.items():
        if v.variant_of in kinds and vid not in kinds:
            kinds[vid] = kinds[v.variant_of]
    names = [*model.entries, *(v for v in model.variants if v not in model.entries)]
    add_ons = {eid for eid, e in model.entries.items() if e.add_on}
    problems = []
    for pid, p in model.packages.items():
        where = f"{at}packages.{pid}"
        unknown = [e for e in p.entries if e not in names]  # a broken variant is named above
        if unknown:
            problems.append(
                Problem(
                    f"{where}.entries",
                    unknown,
                    f"must name entries or variants ({', '.join(names)})",
                )
            )
        known = [kinds[e] for e in p.entries if e in kinds]
        villages = {kind == "village" for kind in known}
        if len(villages) > 1:
            problems.append(
                Problem(
                    f"{where}.entries",
                    list(p.entries),
                    "must not mix village and household entries",
                )
            )
        guarantees = [e for e in p.entries if kinds.get(e) == "guarantee" or e in add_ons]
        if guarantees:
            problems.append(
                Problem(
                    f"{where}.entries",
                    guarantees,
                    "must not list guarantee or add_on entries (the engine adds them to every "
                    "supported household eligible for them)",
                )
            )
        specs = VILLAGE_SPECS if villages == {True} else HOUSEHOLD_SPECS
        problems += _conditions(p.conditions, f"{where}.conditions", specs)
        problems += _conditions(p.any_of, f"{where}.any_of", specs)
        for column in p.typical_quantities:
            if column not in HOUSEHOLD_SPECS:
                problems.append(
                    Problem(
                        f"{where}.typical_quantities.{column}",
                        column,
                        f"must be a household column ({', '.join(HOUSEHOLD_SPECS)})",
                    )
                )
    return problems


def catalogue_problems(
    model: CatalogueFile, where: str, guarantee_ids: Sequence[str]
) -> list[Problem]:
    """Every broken rule across sections (empty when the catalogue is consistent).

    Parameters
    ----------
    model:
        The validated data file.
    where:
        The file name shown in each problem (``interventions.yaml``).
    guarantee_ids:
        The exit guarantees entries may fix (``exit_rules.yaml``, without the income rule).
    """
    at = f"{where}: "
    return _entry_problems(model, at, guarantee_ids) + _package_problems(model, at)
