"""The whole scenario: :class:`Scenario` (every section, after ``extends`` merging), its content
hash (:func:`scenario_hash`) and its JSON Schema (:func:`scenario_json_schema`).

The scenario hash is the SHA-256 of the merged, normalised content, so key order, comments and
number formatting do not change it; it goes into every output manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from fupinsim.scenario.allocation import AllocationSettings
from fupinsim.scenario.assessment import AssessmentSettings
from fupinsim.scenario.fields import COUNTY_IDS, CountyId, Section, field, invalid_field
from fupinsim.scenario.funding import FundingSettings
from fupinsim.scenario.interventions import InterventionOverride
from fupinsim.scenario.microsim import MicrosimSettings
from fupinsim.scenario.policy import PolicySettings, PolicyTable
from fupinsim.scenario.registry import RegistrySettings
from fupinsim.scenario.uncertainty import UncertaintySettings

__all__ = ["Scenario", "scenario_hash", "scenario_json_schema"]


class Scenario(Section):
    """A complete, validated scenario (after ``extends`` merging)."""

    id: str = field(
        description="Scenario id: lower-case letters, digits and underscores; the file stem.",
        unit="id",
        pattern=r"^[a-z][a-z0-9_]*$",
    )
    title: str = field(description="One-line title.", unit="text")
    description: str = field(
        description="What this scenario assumes and what it tests.", unit="text"
    )
    extends: str | None = field(
        None, description="Id of the base scenario this one overrides (already merged).", unit="id"
    )
    seed: int = field(
        20150601,
        description="The scenario's random seed; every random stream derives from it.",
        unit="integer",
        ge=0,
        lt=2**63,
    )
    counties: list[CountyId] = field(
        default_factory=lambda: list(COUNTY_IDS),
        description="Counties included.",
        unit="county ids",
        min_length=1,
    )
    registry: RegistrySettings = field(
        default_factory=RegistrySettings, description="Registry.", unit="section"
    )
    microsim: MicrosimSettings = field(
        default_factory=MicrosimSettings, description="Microsimulation.", unit="section"
    )
    interventions: dict[str, InterventionOverride] = field(
        default_factory=dict,
        description="Changes to catalogue entries, by entry id.",
        unit="section",
    )
    funding: FundingSettings = field(
        default_factory=FundingSettings, description="Funding pools.", unit="section"
    )
    allocation: AllocationSettings = field(
        default_factory=AllocationSettings, description="Allocation.", unit="section"
    )
    assessment: AssessmentSettings = field(
        default_factory=AssessmentSettings, description="County assessment.", unit="section"
    )
    policy: PolicySettings = field(
        default_factory=PolicySettings,
        description="Dated policy parameters: sparse overrides by year of the packaged series.",
        unit="section",
    )
    uncertainty: UncertaintySettings = field(
        default_factory=UncertaintySettings,
        description="Uncertain assumptions: whether runs and `fupinsim sensitivity` sample them "
        "and how many shock replications each draw gets.",
        unit="section",
    )

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if len(set(self.counties)) != len(self.counties):
            raise invalid_field("counties", self.counties, "must not repeat a county")
        self.policy.check_years(self.years)
        return self

    @property
    def years(self) -> list[int]:
        """Simulated years, base year first."""
        return list(range(self.microsim.first_year, self.microsim.horizon + 1))

    def policy_table(self) -> PolicyTable:
        """Every dated policy parameter for every simulated year (defaults, then overrides)."""
        return self.policy.resolve(self.years, self.microsim.health)

    @property
    def hash(self) -> str:
        """Stable content hash of the merged scenario (see :func:`scenario_hash`)."""
        return scenario_hash(self)


def _normalise(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return float(repr(value))
    return value


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (hex, first 16 characters) of the merged, normalised scenario.

    Key order, YAML formatting, comments and ``1.0`` vs ``1`` do not change it. ``extends`` is
    left out: a scenario and a copy written out in full have the same hash.
    """
    content = _normalise(scenario.model_dump(mode="json", exclude={"extends"}))
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a merged scenario, for editors (written to ``scenarios/schema.json``)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fupinsim scenario"
    return schema
