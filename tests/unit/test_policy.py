"""Dated policy parameters (scenario section ``policy``, issue 10 item 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fupinsim import data
from fupinsim.errors import ScenarioError
from fupinsim.microsim.engine import _year_table
from fupinsim.microsim.kernel import YearRow
from fupinsim.scenario import Scenario, load_scenario, merge_overrides, validate_mapping
from fupinsim.scenario.policy import PARAMETERS


def _with_policy(base: Scenario, policy: dict[str, Any]) -> Scenario:
    raw = merge_overrides(base.model_dump(mode="json"), {"policy": policy})
    return validate_mapping(raw, "test.yaml")


def _problems(base: Scenario, policy: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        _with_policy(base, policy)
    return [str(p) for p in info.value.problems]


def test_defaults_are_the_packaged_series(plan_scenario: Scenario) -> None:
    table = plan_scenario.policy_table()
    years = plan_scenario.years
    assert table.years == years and set(table.values) == set(PARAMETERS)
    assert table.values["poverty_line"].tolist() == [data.poverty_line(y) for y in years]
    np.testing.assert_array_equal(table.values["dibao_standard"], data.dibao_standard(years))
    np.testing.assert_array_equal(
        table.values["ncms_inpatient_rate"], data.ncms_inpatient_rate(years)
    )
    assert table.values["dibao_take_up"].tolist() == [0.85] * len(years)
    assert table.values["pension_age"].tolist() == [60.0] * len(years)
    # PLAN §9: the poor's deductible falls from 5,000 to 3,000 in 2016; +5 NCMS points from 2015.
    assert table.values["serious_illness_threshold_poor"][:3].tolist() == [5000, 5000, 3000]
    assert table.values["ncms_poor_bonus"][:2].tolist() == [0.0, 0.05]
    assert all(s.startswith(data.SOURCE_TAGS) for v in table.sources.values() for s in v)
    assert table.unit("poverty_line") == "yuan per person per year"


def test_an_override_of_one_year_changes_exactly_that_row(plan_scenario: Scenario) -> None:
    before = _year_table(plan_scenario)
    changed = _with_policy(
        plan_scenario,
        {"dibao_standard": {"values": {2017: 3500}, "source": "ESTIMATE: a test value"}},
    )
    after = _year_table(changed)
    differs = np.argwhere(before != after)
    k = plan_scenario.years.index(2017)
    assert differs.tolist() == [[YearRow.DIBAO_STANDARD, k]]
    assert after[YearRow.DIBAO_STANDARD, k] == 3500
    assert changed.policy_table().sources["dibao_standard"][k] == "ESTIMATE: a test value"


def test_every_parameter_reaches_the_year_table(plan_scenario: Scenario) -> None:
    rows = {
        "poverty_line": ([YearRow.LINE], 3100),
        "ncms_inpatient_rate": ([YearRow.RATE_REGISTERED, YearRow.RATE_OTHER], 0.8),
        "ncms_poor_bonus": ([YearRow.RATE_REGISTERED], 0.1),
        "serious_illness_threshold": ([YearRow.THRESHOLD_OTHER], 4000),
        "serious_illness_threshold_poor": ([YearRow.THRESHOLD_REGISTERED], 2000),
        "pension_monthly": ([YearRow.PENSION], 100),
        "pension_age": ([YearRow.PENSION], 65),
    }
    before = _year_table(plan_scenario)
    k = plan_scenario.years.index(2018)
    for name, (expected_rows, value) in rows.items():
        override = {name: {"values": {2018: value}, "source": "ESTIMATE: a test value"}}
        after = _year_table(_with_policy(plan_scenario, override))
        differs = np.argwhere(before != after)
        assert sorted(differs.tolist()) == sorted([[r, k] for r in expected_rows]), name


def test_pension_age_scales_the_registry_65_plus(plan_scenario: Scenario) -> None:
    at_65 = _with_policy(
        plan_scenario,
        {"pension_age": {"values": dict.fromkeys(range(2015, 2021), 65), "source": "ESTIMATE: t"}},
    )
    ratio = at_65.policy_table().pensioners_per_elderly()
    assert ratio[1:].tolist() == [1.0] * 6
    at_60 = plan_scenario.policy_table().pensioners_per_elderly()
    np.testing.assert_allclose(at_60, 0.1326 / 0.0887)  # 2010 census, 60+ over 65+


@pytest.mark.parametrize(
    ("policy", "where", "rule"),
    [
        (
            {"dibao_standrd": {"values": {2016: 3000}, "source": "ESTIMATE: t test"}},
            "policy.dibao_standrd",
            "Did you mean 'dibao_standard'?",
        ),
        (
            {"dibao_standard": {"values": {2024: 3000}, "source": "ESTIMATE: t test"}},
            "policy.dibao_standard.values.2024",
            "must be a simulated year, 2015-2020",
        ),
        (
            {"poverty_line": {"values": {2014: 3000}, "source": "ESTIMATE: t test"}},
            "policy.poverty_line.values.2014",
            "the base year 2014 is the registry's",
        ),
        (
            {"pension_monthly": {"values": {2016: -5}, "source": "ESTIMATE: t test"}},
            "policy.pension_monthly.values.2016",
            "must be >= 0",
        ),
        (
            {"dibao_take_up": {"values": {2016: 1.5}, "source": "ESTIMATE: t test"}},
            "policy.dibao_take_up.values.2016",
            "must be <= 1",
        ),
        (
            {"dibao_take_up": {"values": {2016: 0.9}, "source": "ESTIMATE: t test"}},
            "policy.dibao_take_up.values",
            "one value for every simulated year",
        ),
        ({"dibao_standard": {"values": {2016: 3000}}}, "policy.dibao_standard.source", "required"),
        (
            {"pension_age": {"values": {2016: 55}, "source": "ESTIMATE: t test"}},
            "policy.pension_age.values.2016",
            "must be >= 60",
        ),
    ],
)
def test_a_bad_override_is_refused_with_a_clear_problem(
    plan_scenario: Scenario, policy: dict[str, Any], where: str, rule: str
) -> None:
    problems = _problems(plan_scenario, policy)
    assert len(problems) == 1, problems
    assert f"test.yaml: {where}" in problems[0] and rule in problems[0], problems[0]


def test_two_lines_in_one_sets_dibao_at_the_line(scenarios_dir: Path) -> None:
    scenario = load_scenario(scenarios_dir / "two_lines_in_one.yaml")
    table = scenario.policy_table()
    np.testing.assert_array_equal(
        table.values["dibao_standard"][1:], table.values["poverty_line"][1:]
    )
    plan = load_scenario(scenarios_dir / "plan_2015.yaml")
    assert scenario.model_dump(exclude={"id", "title", "description", "extends", "policy"}) == (
        plan.model_dump(exclude={"id", "title", "description", "extends", "policy"})
    )
