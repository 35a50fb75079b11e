"""The run's assumptions stage (issue 12): assumptions drawn per block of replications, shocks
kept common with the shocks-only projection, reproducible, switchable; ranking; validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers.fake_results import fake_run_tables

from fupinsim.microsim import load_catalogue, reference_plan, simulate, validate_plan
from fupinsim.microsim.population import build_population
from fupinsim.pipeline.assumptions import (
    RANKING_COLUMNS,
    AssumptionRun,
    _group_stats,
    assumption_parameters,
    assumptions_stage,
    with_assumptions,
)
from fupinsim.pipeline.stages import registry_stage
from fupinsim.pipeline.validation import validation_table
from fupinsim.report.uncertainty import top_three, uncertainty_context


@pytest.fixture(scope="module")
def small(plan_scenario, scale_scenario):
    scenario = scale_scenario(plan_scenario, 600)
    setup = registry_stage(scenario)
    plan = reference_plan("uniform_1230", setup.registered, scenario)
    final = simulate(
        setup.registered,
        plan,
        scenario,
        village_plan=setup.village_plan,
        replications=8,
        household_paths=False,
    )
    return scenario, setup, plan, final


def _with_settings(scenario, **uncertainty):
    data = scenario.model_dump()
    data["uncertainty"].update(uncertainty)
    return type(scenario).model_validate(data)


def test_a_block_at_the_point_values_draws_the_shocks_of_the_same_replications(small) -> None:
    scenario, setup, plan, final = small
    population = build_population(setup.registered, setup.registry.villages)
    checked = validate_plan(plan, setup.catalogue, scenario)
    block = _group_stats(
        population, checked, setup.village_plan, scenario, load_catalogue(scenario), range(4, 8), 1
    )
    np.testing.assert_allclose(block, final.meta["group_stats"][4:8], rtol=1e-9)


def test_the_stage_samples_blocks_reproducibly_whatever_the_threads(small) -> None:
    scenario, setup, plan, final = small
    one = assumptions_stage(setup, plan, final, replications=8, workers=1)
    two = assumptions_stage(setup, plan, final, replications=8, workers=2)
    assert one.sampled and one.facts["assumption_draws"] == 2  # 8 replications, 4 per draw
    assert one.facts["replications_per_draw"] == 4
    assert list(one.blocks["first_replication"]) == [0, 4]
    assert one.target_probability is not None and two.target_probability is not None
    pd.testing.assert_frame_equal(one.target_probability, two.target_probability)
    pd.testing.assert_frame_equal(one.ranking, two.ranking)
    assert one.facts == two.facts
    # The draws vary the assumptions: the two blocks' plans cost different money.
    assert one.blocks["fiscal_cost_yuan"].nunique() == 2
    assert list(one.ranking.columns) == RANKING_COLUMNS
    parameters = assumption_parameters(scenario)
    assert not parameters["needs_replanning"].any()
    assert len(one.ranking) == 4 * len(parameters)


def test_sampling_can_be_switched_off(small) -> None:
    scenario, setup, plan, final = small
    off = _with_settings(scenario, sample=False)
    run = assumptions_stage(
        registry_stage(off, setup.registry), plan, final, replications=8, workers=1
    )
    assert isinstance(run, AssumptionRun) and not run.sampled
    tables = with_assumptions(
        fake_run_tables(),
        run,
    )
    assert tables.manifest["p_all_targets_met_headline"] == "shocks_only"
    assert tables.manifest["p_all_targets_met_with_assumptions"] is None
    assert tables.target_probability["p_met_with_assumptions"].isna().all()
    assert tables.target_probability["p_met_se"].notna().all()
    context = uncertainty_context(tables.manifest)
    assert context is not None and not context["sampled"]


def test_tables_gain_both_kinds_of_uncertainty_and_mc_error(small) -> None:
    _, setup, plan, final = small
    run = assumptions_stage(setup, plan, final, replications=8, workers=1)
    base = fake_run_tables()
    manifest = {**base.manifest, "pipeline_replications": 8, "p_all_targets_met": 0.5}
    tables = with_assumptions(type(base).from_dict(base.as_dict(), manifest=manifest), run)
    m = tables.manifest
    assert m["p_all_targets_met_headline"] == "with_assumptions"
    assert m["p_all_targets_met"] == 0.5  # the shocks-only value, unchanged
    assert m["p_all_targets_met_shocks_only_low"] < 0.5 < m["p_all_targets_met_shocks_only_high"]
    assert "Use at least" in m["replications_warning"]  # 8 replications are too few for 0.9
    tp = tables.target_probability
    assert {"p_met_se", "p_met_low", "p_met_high", "p_met_with_assumptions"} <= set(tp.columns)
    assert (tp["p_met_low"] <= tp["p_met"]).all() and (tp["p_met"] <= tp["p_met_high"]).all()


def test_the_report_names_three_assumptions_in_planner_terms() -> None:
    ranking = fake_run_tables().assumption_ranking
    indicator, top = top_three(ranking)
    assert indicator == "P(all targets met)"
    assert top[0]["label"] == "the yearly effect of sheep raising"
    assert top[2]["direction"] == "higher hurts"
    nothing_varied = ranking.assign(
        rank_correlation=np.where(ranking["indicator"] == "p_all_targets_met", math.nan, 0.5)
    )
    assert top_three(nothing_varied)[0] == "exits by 2017"


def test_validation_lists_the_sourced_facts_with_their_calibration() -> None:
    table = validation_table(fake_run_tables())
    assert len(table) >= 12
    assert set(table["calibration"]) <= {"out", "seen", "fitted"}
    assert "out" in set(table["calibration"])


def _sampled_manifest() -> dict:
    return {
        "pipeline_replications": 200,
        "assumptions_sampled": True,
        "assumption_parameters": 65,
        "assumption_draws": 50,
        "replications_per_draw": 4,
        "p_all_targets_met_shocks_only": 0.62,
        "p_all_targets_met_shocks_only_low": 0.55,
        "p_all_targets_met_shocks_only_high": 0.68,
        "p_all_targets_met_with_assumptions": 0.41,
        "p_all_targets_met_with_assumptions_low": 0.28,
        "p_all_targets_met_with_assumptions_high": 0.55,
        "p_final_targets_met_shocks_only": 0.9,
        "p_final_targets_met_with_assumptions": 0.7,
        "exits_2017_shocks_only": {"mean": 12390.0, "p05": 12300.0, "p95": 12430.0},
        "exits_2017_with_assumptions": {"mean": 12290.0, "p05": 12080.0, "p95": 12430.0},
        "fiscal_cost_yuan_point": 3.0e8,
        "fiscal_cost_yuan_with_assumptions": {"mean": 3.1e8, "p05": 2.9e8, "p95": 3.4e8},
        "replications_warning": None,
    }


def test_the_report_shows_both_p_all_and_the_three_assumptions() -> None:
    from fupinsim import report

    fake = fake_run_tables()
    indicator, top = top_three(fake.assumption_ranking)
    manifest = {**_sampled_manifest(), "assumptions_top": {"indicator": indicator, "top": top}}
    summary = {"scenario_id": "plan_2015", "verdict": "at risk", "p_all_targets_met": 0.62}
    text = report.report_html(summary=summary, tables={}, figures={}, manifest=manifest)
    section = text[text.index("How sure is this?") :]
    section = section[: section.index("</section>")]
    assert "with the assumptions uncertain: 41%" in section
    assert "only shocks vary: 62%" in section
    assert "the yearly effect of sheep raising" in section
    assert "the failure risk of cattle" in section and "higher hurts" in section
    assert "12,290" in section and "31,000" in section  # exits; cost in 万元
    assert "steps of 0.5%" in section and "Use at least" not in section
    # Too few replications: the report warns.
    few = {
        **_sampled_manifest(),
        "pipeline_replications": 20,
        "replications_warning": "Use at least 139.",
    }
    text = report.report_html(summary=summary, tables={}, figures={}, manifest=few)
    assert "steps of 5.0%" in text and "Use at least 139." in text
    # A run from before the assumptions stage has no section.
    plain = report.report_html(summary=summary, tables={}, figures={})
    assert "How sure is this?" not in plain


def test_costs_rank_only_against_the_fiscal_cost(small) -> None:
    _, setup, plan, final = small
    ranking = assumptions_stage(setup, plan, final, replications=8, workers=1).ranking
    cost = ranking["parameter"].str.contains(r"\.cost_")
    fiscal = ranking["indicator"] == "fiscal_cost_yuan"
    assert ranking.loc[cost != fiscal, "rank_correlation"].isna().all()
    assert ranking.loc[cost & fiscal, "rank_correlation"].notna().any()
