"""Building blocks of every scenario section: described fields with units, the section base,
shared value types, and the error a section validator raises about one field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from fupinsim.data import COUNTY_IDS

__all__ = ["COUNTY_IDS", "CountyId", "Section", "Share", "Year", "field", "invalid_field"]

if TYPE_CHECKING:
    #: A county id: one of :data:`fupinsim.data.COUNTY_IDS` (``counties.yaml``).
    CountyId = str
else:
    # The Literal of the county ids of counties.yaml, the one place they are defined: pydantic
    # validates and documents (JSON schema ``enum``) exactly those. mypy cannot read a Literal
    # built at run time, so for it a county id is a str.
    CountyId = Literal[COUNTY_IDS]
Year = Annotated[int, Field(ge=2010, le=2030)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


def field(
    default: Any = ...,
    *,
    description: str,
    unit: str,
    source: str | None = None,
    **constraints: Any,
) -> Any:
    """A pydantic ``Field`` that always has a description and a unit (and a source for defaults)."""
    extra: dict[str, Any] = {"unit": unit}
    if source is not None:
        extra["source"] = source
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def invalid_field(name: str, value: Any, rule: str) -> PydanticCustomError:
    """The error a section's model validator raises about one of its fields.

    Raise it (``raise invalid_field("horizon", self.horizon, "must be after ...")``) instead of a
    bare ``ValueError`` so the planner's message names the field path (``microsim.horizon``) and
    the value, not the whole section.
    """
    return PydanticCustomError(
        "scenario_field", "{field}: {rule}", {"field": name, "value": value, "rule": rule}
    )


class Section(BaseModel):
    """Base of every scenario section: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
