"""Scenarios: what a run assumes, validated before anything runs.

A scenario is a YAML file in ``scenarios/``. ``plan_2015.yaml`` is the Jiuquan plan as written;
other scenarios say ``extends: plan_2015`` and override only what differs. The merged mapping is
validated by :class:`Scenario` (pydantic, frozen, ``extra="forbid"``): a misspelt field or a value
out of range is an error naming the file, the field and the value. Every field carries a
description and a unit (``json_schema_extra["unit"]``); defaults that come from a source say so
in ``json_schema_extra["source"]`` ("PLAN §n", "FOUND …", "DERIVED …" or "ESTIMATE: how").

The scenario hash (:func:`scenario_hash`) is the SHA-256 of the merged, normalised content, so key
order, comments and number formatting do not change it; it goes into every output manifest.

Modules
-------
``fields``
    Described fields with units, the section base class, county ids, shares and years.
``registry``, ``microsim``, ``interventions``, ``funding``, ``allocation``, ``assessment``,
    ``policy``
    One module per scenario section's models.
``model``
    :class:`Scenario` (all sections), :func:`scenario_hash`, :func:`scenario_json_schema`.
``safe_yaml``
    Safe YAML with limits: file size, UTF-8 text, nesting depth, alias expansion, tags, duplicate
    keys.
``load``
    Reading one file, ``extends`` merging, validation with planner-readable problems.
"""

from __future__ import annotations

from fupinsim.scenario.allocation import AllocationSettings
from fupinsim.scenario.assessment import AssessmentSettings
from fupinsim.scenario.fields import COUNTY_IDS, CountyId, Share, Year, field, invalid_field
from fupinsim.scenario.funding import FundingSettings
from fupinsim.scenario.interventions import InterventionOverride
from fupinsim.scenario.load import (
    load_scenario,
    merge_overrides,
    read_scenario_mapping,
    validate_mapping,
)
from fupinsim.scenario.microsim import HealthSettings, MicrosimSettings, ShockSettings
from fupinsim.scenario.model import Scenario, scenario_hash, scenario_json_schema
from fupinsim.scenario.policy import PolicySettings, PolicyTable
from fupinsim.scenario.registry import IdentificationSettings, RegistrySettings

__all__ = [
    "COUNTY_IDS",
    "AllocationSettings",
    "AssessmentSettings",
    "CountyId",
    "FundingSettings",
    "HealthSettings",
    "IdentificationSettings",
    "InterventionOverride",
    "MicrosimSettings",
    "PolicySettings",
    "PolicyTable",
    "RegistrySettings",
    "Scenario",
    "Share",
    "ShockSettings",
    "Year",
    "field",
    "invalid_field",
    "load_scenario",
    "merge_overrides",
    "read_scenario_mapping",
    "scenario_hash",
    "scenario_json_schema",
    "validate_mapping",
]
