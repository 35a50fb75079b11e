"""The schema of ``fupinsim/data/interventions.yaml``: pydantic models of every section.

Every model is frozen with ``extra="forbid"``, so a misspelt key is an error (with a "Did you
mean"); numbers are *facts* ``{value, unit, source}`` whose value is checked for type and range;
choices are literals. Rules that need only one entry (gross effect at least the net effect, a
ramp-up ending at 1, village-only fields) are model validators raising
:func:`~fupinsim.scenario.fields.invalid_field`, so their problem names the field too. Rules
across sections (a resource, credit terms, entry or column that must exist) are in
:mod:`fupinsim.microsim.catalogue.checks`.

:func:`validate_catalogue_file` turns every error into a :class:`~fupinsim.errors.Problem`
(``interventions.yaml: entries.sheep_30.failure_prob.value``, the value, what is allowed) and
raises them together in one :class:`~fupinsim.errors.InputError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fupinsim.errors import InputError
from fupinsim.microsim.catalogue.conditions import Op
from fupinsim.microsim.catalogue.entries import FiscalChannel, Kind, Target
from fupinsim.registry.schema import HOUSEHOLD_COLUMNS, INCOME_SOURCES
from fupinsim.scenario.fields import invalid_field
from fupinsim.scenario.problems import validation_problems

__all__ = [
    "CatalogueFile",
    "ConditionModel",
    "CreditTermsModel",
    "EntryModel",
    "Fact",
    "PackageModel",
    "ResourceModel",
    "VariantModel",
    "validate_catalogue_file",
]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_HOUSEHOLD_COLUMN_NAMES = tuple(c.name for c in HOUSEHOLD_COLUMNS)


def _snake_case(value: str) -> str:
    if not _ID.match(value):
        raise PydanticCustomError(
            "catalogue_id",
            "must be an ASCII snake_case id (a lower-case letter, then lower-case letters, "
            "digits or underscores; it becomes a PuLP name)",
        )
    return value


#: An entry, package, resource or credit terms id.
Id = Annotated[str, AfterValidator(_snake_case)]


def _within(low: float, high: float = math.inf) -> AfterValidator:
    rule = f"must be >= {low:g}" if math.isinf(high) else f"must be in [{low:g}, {high:g}]"

    def check(value: float) -> float:
        if not low <= value <= high:
            raise PydanticCustomError("catalogue_range", rule)
        return value

    return AfterValidator(check)


def _whole(value: float) -> float:
    if value != int(value):
        raise PydanticCustomError("catalogue_whole", "must be whole years")
    return value


# Strict: a number, never text or true/false (ints are accepted as floats).
Number = Annotated[float, Field(strict=True)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Fact(_Model):
    """A value with its unit and source (``PLAN §``, ``FOUND``, ``DERIVED`` or ``ESTIMATE``)."""

    value: Any
    unit: str = ""
    source: str = ""
    # An ESTIMATE's uncertainty range (``data.RANGE_KEYS``; read and checked by
    # :mod:`fupinsim.uncertainty`): bounds in the value's unit, a named distribution, the ramp
    # year a ramp-up range applies to, and how the range was set.
    low: Any = None
    high: Any = None
    distribution: str | None = None
    ramp_year: int | None = None
    range_source: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise PydanticCustomError(
                "catalogue_fact", "must be a fact (a mapping of value, unit and source)"
            )
        return data


class Amount(Fact):
    """A fact whose value is a number >= 0 (yuan, units, people, …)."""

    value: Annotated[Number, _within(0.0)]


class Fraction(Fact):
    """A fact whose value is a share or probability in [0, 1]."""

    value: Annotated[Number, _within(0.0, 1.0)]


class Sigma(Fact):
    """A lognormal dispersion sigma in [0, 3] log points."""

    value: Annotated[Number, _within(0.0, 3.0)]


class FailureProbability(Fact):
    """The probability, drawn once, that a measure never works: [0, 0.999]."""

    value: Annotated[Number, _within(0.0, 0.999)]


class Years(Fact):
    """A whole number of years >= 1."""

    value: Annotated[Number, _within(1.0), AfterValidator(_whole)]


def _ramp(value: list[float]) -> list[float]:
    if (
        not value
        or any(not 0 <= r <= 1 for r in value)
        or value[-1] != 1.0
        or any(b < a for a, b in pairwise(value))
    ):
        raise PydanticCustomError(
            "catalogue_ramp", "must be non-decreasing shares in [0, 1] ending at 1"
        )
    return value


class Ramp(Fact):
    """Shares of the maturity effect by year since the start (non-decreasing, ending at 1)."""

    value: Annotated[list[Number], AfterValidator(_ramp)]


#: A condition's operand: a plain value or list, or a fact holding one.
Operand = Fact | list[bool | Number | str] | bool | Number | str


class ConditionModel(_Model):
    """``column (- minus) <op> operand``; columns are checked against the registry schema."""

    column: str
    op: Op
    operand: Operand
    minus: str | None = None


class ResourceRef(_Model):
    """The shared capacity a credit terms' principal uses."""

    resource: str


class Capacity(_Model):
    """The shared capacity an entry uses, and how much of it per unit (default 1)."""

    resource: str
    per_unit: Amount | None = None


class ResourceModel(_Model):
    """A shared yearly capacity (``capacities.<id>``)."""

    description: str = ""
    per_year: Amount


class CreditTermsModel(_Model):
    """Loan terms (``credit_terms.<id>``)."""

    description: str = ""
    max_loan: Amount
    years: Years
    interest_rate: Fraction
    interest_subsidy_share: Fraction
    default_prob: Fraction
    fiscal_loss_share: Fraction
    eligibility: list[ConditionModel] = []
    capacity: ResourceRef | None = None


class EntryModel(_Model):
    """One measure (``entries.<id>``); see :class:`fupinsim.microsim.catalogue.Entry`."""

    name: str | None = None
    plan_section: str = ""
    kind: Kind
    unit: str = ""
    description: str = ""
    fiscal_channel: FiscalChannel
    cost_fiscal: Amount
    cost_credit: Amount
    cost_household: Amount
    recurrent_fiscal: Amount | None = None
    eligibility: list[ConditionModel] = []
    quantity_column: str | None = None
    typical_quantity: Amount | None = None
    income_source: str | None = None
    effect_net: Amount | None = None
    effect_gross: Amount | None = None
    ramp_up: Ramp | None = None
    dispersion_sigma: Sigma | None = None
    failure_prob: FailureProbability | None = None
    lifetime: Years
    reach_share: Fraction | None = None
    market_uplift: Fraction | None = None
    capacity: Capacity | None = None
    fixes: list[str] = []
    financing: str | None = None
    add_on: bool = False

    @field_validator("income_source")
    @classmethod
    def _income_source(cls, value: str | None) -> str | None:
        if value is not None and value not in INCOME_SOURCES:
            raise PydanticCustomError(
                "catalogue_choice",
                "must be one of {allowed}",
                {"allowed": ", ".join(INCOME_SOURCES)},
            )
        return value

    @field_validator("quantity_column")
    @classmethod
    def _quantity_column(cls, value: str | None) -> str | None:
        if value is not None and value not in _HOUSEHOLD_COLUMN_NAMES:
            raise PydanticCustomError(
                "catalogue_choice",
                "must be a household column of the registry schema ({allowed})",
                {"allowed": ", ".join(_HOUSEHOLD_COLUMN_NAMES)},
            )
        return value

    @model_validator(mode="after")
    def _effect(self) -> EntryModel:
        """Rules of the income effect (one problem at a time, in this order)."""
        if self.income_source is not None:
            for name in ("effect_net", "effect_gross"):
                if getattr(self, name) is None:
                    raise invalid_field(
                        name, None, "is required for an entry with an income_source"
                    )
        net = self.effect_net.value if self.effect_net else 0.0
        gross = self.effect_gross.value if self.effect_gross else 0.0
        if gross < net:
            raise invalid_field("effect_gross", gross, f"must be at least effect_net ({net:g})")
        if net > 0 and self.kind in ("guarantee", "policy"):
            raise invalid_field(
                "effect_net", net, f"must be 0: a {self.kind} entry has no income effect"
            )
        if self.income_source is not None and self.kind != "village" and self.ramp_up is None:
            raise invalid_field("ramp_up", None, "is required for an entry with an income effect")
        return self

    @model_validator(mode="after")
    def _village_and_quantity(self) -> EntryModel:
        if self.kind != "village":
            uplift = self.market_uplift.value if self.market_uplift else 0.0
            reach = self.reach_share.value if self.reach_share else 1.0
            if uplift != 0:
                raise invalid_field("market_uplift", uplift, "is for village entries only")
            if reach != 1:
                raise invalid_field("reach_share", reach, "is for village entries only")
        if self.quantity_column is not None and self.typical_quantity is None:
            raise invalid_field(
                "typical_quantity", None, "is required for an entry with a quantity_column"
            )
        return self


class VariantModel(_Model):
    """A copy of an entry with its own name, description and financing (``variants.<id>``)."""

    variant_of: str
    name: str | None = None
    description: str | None = None
    financing: str | None = None


class PackageModel(_Model):
    """What one household or village is given (``packages.<id>``)."""

    name: str | None = None
    description: str = ""
    target: Target
    entries: Annotated[list[str], Field(min_length=1)]
    conditions: list[ConditionModel] = []
    any_of: list[ConditionModel] = []
    typical_quantities: dict[str, Amount] = {}


class CatalogueFile(_Model):
    """The whole data file."""

    description: str = ""
    capacities: dict[Id, ResourceModel] = {}
    credit_terms: dict[Id, CreditTermsModel] = {}
    entries: dict[Id, EntryModel] = {}
    variants: dict[Id, VariantModel] = {}
    packages: dict[Id, PackageModel] = {}


def validate_catalogue_file(raw: Mapping[str, Any], where: str) -> CatalogueFile:
    """The data file as typed models.

    Raises
    ------
    InputError
        One problem per invalid field (entry id, field, value and what is allowed).
    """
    try:
        return CatalogueFile.model_validate(dict(raw))
    except ValidationError as exc:
        problems = validation_problems(
            exc,
            where,
            CatalogueFile,
            hint="see the models in fupinsim/microsim/catalogue/schema.py",
        )
        raise InputError(
            problems, summary=f"{where}: the intervention catalogue is not valid"
        ) from None
