"""Fixtures shared by the whole test suite.

The expensive objects (the plan's scenario and its 60,100-household synthetic registry) are built
once per session; tests must not modify them (copy a table before changing it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fupinsim.registry import Registry, generate_registry
from fupinsim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS_DIR = ROOT / "scenarios"
TEST_DATA_DIR = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def scenarios_dir() -> Path:
    """The repository's ``scenarios/`` folder."""
    return SCENARIOS_DIR


@pytest.fixture(scope="session")
def test_data_dir() -> Path:
    """``tests/data`` (broken inputs, the small valid registry)."""
    return TEST_DATA_DIR


@pytest.fixture(scope="session")
def plan_scenario() -> Scenario:
    """``scenarios/plan_2015.yaml``, loaded and validated."""
    return load_scenario(SCENARIOS_DIR / "plan_2015.yaml")


@pytest.fixture(scope="session")
def plan_registry(plan_scenario: Scenario) -> Registry:
    """The plan's synthetic registry (60,100 households; read-only: copy before changing)."""
    return generate_registry(plan_scenario)


@pytest.fixture(scope="session")
def national_scenario() -> Scenario:
    """``scenarios/national_2014.yaml`` (29.48 M registered households; never generate it whole)."""
    return load_scenario(SCENARIOS_DIR / "national_2014.yaml")


def _scaled(scenario: Scenario, households: int, people: int | None = None) -> Scenario:
    """A copy of ``scenario`` with other registry totals (validated again).

    ``people`` defaults to the same people per household as the original.
    """
    registry = scenario.registry
    if people is None:
        ratio = registry.n_registered_people / registry.n_registered_households
        people = round(households * ratio)
    data = scenario.model_dump()
    data["registry"].update(n_registered_households=households, n_registered_people=people)
    return Scenario.model_validate(data)


@pytest.fixture(scope="session")
def scale_scenario() -> Callable[..., Scenario]:
    """``scale_scenario(scenario, households, people=None)``: a validated copy with other registry
    totals (people default to the same people per household)."""
    return _scaled
