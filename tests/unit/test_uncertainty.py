"""Uncertain assumptions: ranges in the data, draws from their own stream, scenario variants."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from SALib.sample import latin

from fupinsim import rng, uncertainty
from fupinsim.data import load_raw
from fupinsim.errors import InputError, ScenarioError
from fupinsim.microsim import load_catalogue
from fupinsim.scenario import Scenario
from fupinsim.scenario.uncertainty import UncertaintySettings
from fupinsim.uncertainty import (
    apply_parameters,
    apply_to_catalogue,
    range_problems,
    sample_parameters,
    scenario_variant,
    uncertain_parameters,
)


@pytest.fixture(scope="module")
def parameters(plan_scenario: Scenario) -> pd.DataFrame:
    return uncertain_parameters(plan_scenario)


# ----------------------------------------------------------------------------------------------
# Ranges in the data files


def _ranged_facts() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for entry_id, node in load_raw("interventions")["entries"].items():
        for key, fact in node.items():
            if isinstance(fact, dict) and ("low" in fact or "high" in fact):
                found.append((entry_id, key, fact))
    return found


def test_the_catalogue_carries_ranges_on_the_numbers_that_matter() -> None:
    facts = _ranged_facts()
    assert len(facts) >= 40
    kinds = {key for _, key, _ in facts}
    assert {"effect_net", "ramp_up", "failure_prob", "cost_fiscal"} <= kinds


@pytest.mark.parametrize(("entry_id", "key", "fact"), _ranged_facts(), ids=lambda v: str(v)[:30])
def test_every_catalogue_range_is_valid(entry_id: str, key: str, fact: dict[str, Any]) -> None:
    value = fact["value"][fact.get("ramp_year", 0)] if key == "ramp_up" else fact["value"]
    assert fact["low"] <= value <= fact["high"], (entry_id, key)
    assert str(fact["source"]).startswith(("ESTIMATE", "DERIVED")), "FOUND and PLAN stay fixed"
    assert str(fact["range_source"]).startswith(("ESTIMATE", "DERIVED", "FOUND"))
    assert len(fact["range_source"]) > 20, "a range says how it was set"
    assert fact.get("distribution", "triangular") in uncertainty.DISTRIBUTIONS


def test_the_parameter_table_is_valid_and_labelled(parameters: pd.DataFrame) -> None:
    assert range_problems(parameters) == []
    assert list(parameters.columns) == uncertainty.COLUMNS
    assert parameters["label"].str.len().min() > 10
    sheep = parameters.set_index("id").loc["sheep_30.ramp_up"]
    assert sheep["label"] == "first-year effect of sheep raising"
    assert sheep["where"] == "catalogue.sheep_30.ramp_up[0]"
    assert {"scenario", "catalogue"} == set(parameters["route"])


def test_scenario_field_ranges_are_on_estimates_with_the_model_default() -> None:
    defaults = Scenario(id="x", title="t", description="d").model_dump()
    for path, node in load_raw("uncertainty")["scenario_fields"].items():
        section, _, name = path.rpartition(".")
        model: Any = Scenario
        for part in section.split("."):
            model = model.model_fields[part].annotation
        source = model.model_fields[name].json_schema_extra["source"]
        assert source.startswith(("ESTIMATE", "DERIVED")), path
        if node["applies"] == "value":
            value = defaults
            for part in path.split("."):
                value = value[part]
            assert value == pytest.approx(node["range"]["value"]), path


def test_range_problems_are_found(parameters: pd.DataFrame) -> None:
    bad = parameters.head(2).copy()
    bad.loc[0, "low"] = bad.loc[0, "value"] + 1
    bad.loc[1, "source"] = "FOUND a table"
    problems = range_problems(bad)
    assert any("low <= value <= high" in p for p in problems)
    assert any("only ESTIMATE and DERIVED" in p for p in problems)


def test_a_scenario_factor_moves_the_range(plan_scenario: Scenario) -> None:
    data = plan_scenario.model_dump()
    data["interventions"] = {"labour_transfer": {"effect_factor": 0.5}}
    slump = Scenario.model_validate(data)
    row = uncertain_parameters(slump).set_index("id").loc["labour_transfer.effect_net"]
    assert (row["low"], row["value"], row["high"]) == (4000, 5500, 9000)


def test_the_switch_defaults_to_sampling(plan_scenario: Scenario) -> None:
    assert uncertainty.uncertainty_settings(plan_scenario) == UncertaintySettings()
    assert (
        UncertaintySettings(sample=False).replications_per_draw == 4
    )  # a run: 50 draws x 4 of 200
    with pytest.raises(ValueError, match="replications_per_draw"):
        UncertaintySettings(replications_per_draw=0)


# ----------------------------------------------------------------------------------------------
# Sampling


def test_sampling_is_reproducible_and_stratified(plan_scenario: Scenario) -> None:
    first = sample_parameters(plan_scenario, 8, seed=7)
    again = sample_parameters(plan_scenario, 8, seed=7)
    other = sample_parameters(plan_scenario, 8, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    table = uncertain_parameters(plan_scenario).set_index("id")
    for pid in table.index:
        assert (
            table.loc[pid, "low"] <= first[pid].min() <= first[pid].max() <= table.loc[pid, "high"]
        )
    # Latin hypercube: one draw in each eighth of the uniform parameter's probability.
    uniform = table.assign(distribution="uniform").reset_index()
    draws = uncertainty.draw_parameters(uniform, 8, 7)
    pid = "greenhouse.effect_net"
    strata = np.floor((draws[pid] - 8000) / (15000 - 8000) * 8).astype(int)
    assert sorted(strata) == list(range(8))


def test_sampling_uses_only_its_own_stream(
    plan_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    real = rng.generator

    def spy(seed: int, stream: str, *keys: int) -> np.random.Generator:
        used.append(stream)
        return real(seed, stream, *keys)

    monkeypatch.setattr(uncertainty.rng, "generator", spy)
    draws = sample_parameters(plan_scenario, 4)
    assert used == ["uncertainty"]
    # The same unit draws as SALib's sampler on that stream, mapped through the distributions.
    table = uncertain_parameters(plan_scenario)
    problem = {"num_vars": len(table), "names": list(table["id"]), "bounds": [[0, 1]] * len(table)}
    unit = latin.sample(problem, 4, seed=real(plan_scenario.seed, "uncertainty"))
    i = list(table["id"]).index("greenhouse.effect_net")
    expected = uncertainty._quantiles(table.iloc[i].to_dict(), unit[:, i])
    np.testing.assert_allclose(draws["greenhouse.effect_net"], expected)


def test_lognormal_and_uniform_quantiles() -> None:
    row = {"low": 5.0, "value": 10.0, "high": 20.0, "distribution": "lognormal"}
    q = uncertainty._quantiles(row, np.array([0.05, 0.5, 0.95]))
    np.testing.assert_allclose(q, [5.0, 10.0, 20.0], rtol=1e-9)
    row["distribution"] = "uniform"
    np.testing.assert_allclose(uncertainty._quantiles(row, np.array([0.0, 0.5])), [5.0, 12.5])
    with pytest.raises(InputError):
        sample_parameters(Scenario(id="x", title="t", description="d"), 0)


# ----------------------------------------------------------------------------------------------
# Scenario variants


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return [
            d
            for k in sorted(keys, key=str)
            for d in _differences(a.get(k), b.get(k), f"{path}.{k}")
        ]
    return [] if a == b else [path.lstrip(".")]


def test_apply_parameters_changes_exactly_the_named_values(plan_scenario: Scenario) -> None:
    row = {
        "sheep_30.effect_net": 9000.0,
        "greenhouse.cost_fiscal": 30000.0,
        "microsim.shocks.drought_probability": 0.2,
        "funding.revenue_growth": -0.01,
        "sheep_30.ramp_up": 0.2,  # catalogue route: not a scenario field
    }
    variant = apply_parameters(plan_scenario, row)
    changed = _differences(plan_scenario.model_dump(), variant.model_dump())
    growth = [f"funding.revenue_growth.all.{y}" for y in range(2015, 2021)]
    assert set(changed) == {
        "interventions.sheep_30",
        "interventions.greenhouse",
        "microsim.shocks.drought_probability",
        *growth,
    }
    assert variant.interventions["sheep_30"].effect_factor == pytest.approx(9000 / 13500)
    assert variant.interventions["greenhouse"].cost_factor == pytest.approx(1.5)
    assert variant.funding.revenue_growth["all"][2015] == pytest.approx(0.04)
    assert variant.seed == plan_scenario.seed  # common shocks
    catalogue = load_catalogue(variant)
    assert catalogue.entry("sheep_30").effect_yuan == pytest.approx(9000)
    assert catalogue.entry("sheep_30_credit").effect_yuan == pytest.approx(9000)
    assert catalogue.entry("greenhouse").cost_fiscal_yuan == pytest.approx(30000)
    assert apply_parameters(plan_scenario, {}) is plan_scenario


def test_apply_to_catalogue_changes_only_the_named_fields(plan_scenario: Scenario) -> None:
    base = load_catalogue(plan_scenario)
    row = pd.Series({"draw": 3, "sheep_30.ramp_up": 0.9, "greenhouse.failure_prob": 0.2})
    changed = apply_to_catalogue(base, row, uncertain_parameters(plan_scenario))
    assert changed.entry("sheep_30").ramp_up == (0.9, 0.9, 1.0)  # kept non-decreasing
    assert changed.entry("sheep_30_credit").ramp_up == (0.9, 0.9, 1.0)  # the variant follows
    assert changed.entry("greenhouse").failure_prob == 0.2
    assert changed.entry("greenhouse_credit").failure_prob == 0.2
    touched = {"sheep_30", "sheep_30_credit", "greenhouse", "greenhouse_credit"}
    for eid, entry in base.entries.items():
        if eid not in touched:
            assert changed.entry(eid) == entry
    untouched = ("effect_yuan", "cost_fiscal_yuan", "dispersion_sigma", "lifetime_years")
    for field in untouched:
        assert getattr(changed.entry("sheep_30"), field) == getattr(base.entry("sheep_30"), field)


def test_scenario_variant_and_bad_rows(plan_scenario: Scenario) -> None:
    variant, catalogue = scenario_variant(
        plan_scenario, {"labour_transfer.failure_prob": 0.3, "labour_transfer.effect_net": 8000}
    )
    assert variant.interventions["labour_transfer"].effect_factor == pytest.approx(8000 / 11000)
    assert catalogue.entry("labour_transfer").failure_prob == 0.3
    assert catalogue.entry("labour_transfer").effect_yuan == pytest.approx(8000)
    with pytest.raises(InputError, match="must be an uncertain parameter id"):
        apply_parameters(plan_scenario, {"no_such.parameter": 1.0})
    with pytest.raises(ScenarioError, match="drought_probability"):
        apply_parameters(plan_scenario, {"microsim.shocks.drought_probability": 1.5})
