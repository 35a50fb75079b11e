"""Assessment: the three tables, county assessment, summaries, cards and files (hand-checked)."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
from helpers.fake_results import KNOWN_HOUSEHOLD_ID, fake_run_tables

from fupinsim import assess
from fupinsim.errors import InputError
from fupinsim.pipeline import RunTables
from fupinsim.scenario import AssessmentSettings


@pytest.fixture(scope="module")
def tables() -> RunTables:
    return fake_run_tables()


# ----------------------------------------------------------------------------------------------
# County assessment on a tiny hand-computed case


def _income_rows(county: str, indicator: str, values: dict[int, float]) -> list[dict]:
    return [
        {
            "county_id": county,
            "villages": "all",
            "year": y,
            "indicator": indicator,
            "mean": v,
            "p05": v,
            "p50": v,
            "p95": v,
        }
        for y, v in values.items()
    ]


@pytest.fixture
def tiny_assessment_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Suzhou: poor households' income grows 20 % a year, all households' 10 %.
    # Jinta: both grow 25 % a year (the plan's goal: full marks).
    county_year = pd.DataFrame(
        _income_rows("suzhou", "mean_income_pc", {2014: 2000, 2015: 2400, 2016: 2880})
        + _income_rows("suzhou", "mean_income_pc_all", {2014: 5000, 2015: 5500, 2016: 6050})
        + _income_rows("jinta", "mean_income_pc", {2014: 2000, 2015: 2500, 2016: 3125})
        + _income_rows("jinta", "mean_income_pc_all", {2014: 5000, 2015: 6250, 2016: 7812.5})
    )
    target_probability = pd.DataFrame(
        {
            "county_id": ["suzhou", "suzhou", "jinta", "jinta"],
            "villages": ["all"] * 4,
            "year": [2015, 2016, 2015, 2016],
            "target_exits": [70, 100, 7, 10],
            "p_met": [1.0, 0.8, 0.4, 1.0],
        }
    )
    return county_year, target_probability


def test_county_assessment_hand_computed(tiny_assessment_inputs) -> None:
    county_year, tp = tiny_assessment_inputs
    result = assess.county_assessment(county_year, tp, AssessmentSettings())
    y2016 = result[result["year"] == 2016].set_index("county_id")
    # Suzhou 2016: s_h = 0.20/0.25 = 0.8, s_v = 0.10/0.25 = 0.4, s_e = (1.0 + 0.8)/2 = 0.9
    #   score = 100 (0.35·0.8 + 0.15·0.4 + 0.5·0.9) = 79.0
    # Jinta 2016: s_h = s_v = 1, s_e = (0.4 + 1.0)/2 = 0.7 → 100 (0.35 + 0.15 + 0.35) = 85.0
    assert y2016.loc["suzhou", "growth_households"] == pytest.approx(0.20)
    assert y2016.loc["suzhou", "growth_villages"] == pytest.approx(0.10)
    assert y2016.loc["suzhou", "score_exits"] == pytest.approx(0.9)
    assert y2016.loc["suzhou", "score"] == pytest.approx(79.0)
    assert y2016.loc["jinta", "score"] == pytest.approx(85.0)
    assert y2016.loc["jinta", "rank"] == 1 and y2016.loc["suzhou", "rank"] == 2
    # Jinta scores above the threshold but missed its 2015 target (P 0.4): not good (§22).
    assert y2016.loc["jinta", "n_targets_missed"] == 1
    assert y2016.loc["jinta", "rating"] == "not good"
    assert "cannot be rated good" in y2016.loc["jinta", "rating_note"]
    assert y2016.loc["suzhou", "rating"] == "not good"  # 79 < 80


def test_county_assessment_first_year_and_threshold(tiny_assessment_inputs) -> None:
    county_year, tp = tiny_assessment_inputs
    result = assess.county_assessment(county_year, tp, AssessmentSettings())
    y2015 = result[result["year"] == 2015].set_index("county_id")
    # Suzhou 2015: only the 2015 target is due (P 1.0): 100 (0.28 + 0.06 + 0.5) = 84 → good.
    assert y2015.loc["suzhou", "score"] == pytest.approx(84.0)
    assert y2015.loc["suzhou", "rating"] == "good"
    # Jinta 2015: 100 (0.35 + 0.15 + 0.5·0.4) = 70, target missed.
    assert y2015.loc["jinta", "score"] == pytest.approx(70.0)
    lenient = AssessmentSettings(good_threshold=75.0)
    y2016 = assess.county_assessment(county_year, tp, lenient, years=[2016]).set_index("county_id")
    assert y2016.loc["suzhou", "rating"] == "good"
    assert y2016.loc["jinta", "rating"] == "not good"


def test_county_assessment_weights_come_from_settings(tiny_assessment_inputs) -> None:
    county_year, tp = tiny_assessment_inputs
    only_exits = AssessmentSettings(
        weight_income_growth_households=0.0,
        weight_income_growth_villages=0.0,
        weight_on_schedule_exits=1.0,
    )
    result = assess.county_assessment(county_year, tp, only_exits, years=[2016])
    assert result.set_index("county_id")["score"].to_dict() == pytest.approx(
        {"suzhou": 90.0, "jinta": 70.0}
    )


# ----------------------------------------------------------------------------------------------
# The three tables


def test_poor_distribution_counts_by_hand() -> None:
    households = pd.DataFrame(
        {
            "household_id": [1, 2, 3, 4, 5, 6],
            "village_id": [10, 10, 11, 11, 12, 12],
            "county_id": ["yumen", "yumen", "yumen", "yumen", "suzhou", "suzhou"],
            "is_immigrant": [True, True, False, False, False, False],
            "n_members": [4, 3, 5, 2, 6, 1],
            "is_registered": [True, False, True, True, False, True],
            "support_class": [
                "development",
                None,
                "social_security",
                "development",
                None,
                "social_security",
            ],
        }
    )
    villages = pd.DataFrame(
        {
            "village_id": [10, 11, 12],
            "county_id": ["yumen", "yumen", "suzhou"],
            "is_immigrant": [True, False, False],
            "is_poor_village": [True, True, False],
        }
    )
    table = assess.poor_distribution(households, villages).set_index(["county_id", "villages"])
    assert table.loc[("yumen", "immigrant"), "n_poor_households"] == 1
    assert table.loc[("yumen", "immigrant"), "poverty_incidence"] == pytest.approx(4 / 7)
    assert table.loc[("yumen", "old"), "n_poor_people"] == 7
    assert table.loc[("yumen", "all"), "n_households"] == 4
    assert table.loc[("yumen", "all"), "n_social_security"] == 1
    assert ("suzhou", "all") not in table.index  # one village type: no subtotal row
    assert table.loc[("suzhou", "old"), "n_poor_villages"] == 0
    city = table.loc[(assess.CITY_ID, "all")]
    assert city["n_poor_households"] == 4
    assert city["n_poor_people"] == 4 + 5 + 2 + 1
    assert city["population"] == 21
    assert table.loc[("yumen", "immigrant"), "county_zh"] == "玉门市"


def test_income_targets_goal_path() -> None:
    rows = _income_rows(
        "guazhou", "mean_income_pc", {2014: 2000, 2015: 2600, 2017: 3900, 2018: 4500}
    )
    for r in rows:
        r["villages"] = "immigrant"
    table = assess.income_targets(pd.DataFrame(rows)).set_index("year")
    assert table.loc[2015, "goal_income_pc"] == pytest.approx(2000 * 2 ** (1 / 3))
    assert table.loc[2017, "goal_income_pc"] == pytest.approx(4000)
    assert math.isnan(table.loc[2018, "goal_income_pc"])  # no goal after 2017
    assert bool(table.loc[2015, "p50_meets_goal"]) is True
    assert bool(table.loc[2017, "p50_meets_goal"]) is False
    assert table.loc[2015, "poverty_line_pc"] == 2855
    assert table.loc[2017, "growth_p50"] == pytest.approx(0.95)
    assert 2014 not in table.index


def test_reduction_tasks_in_year_and_totals(tables) -> None:
    result = assess.reduction_tasks(
        tables.target_probability,
        exit_targets=tables.exit_targets,
        shortfall=tables.shortfall,
    )
    suzhou = result[result["county_id"] == "suzhou"].set_index("year")
    assert suzhou["target_exits"].tolist() == [13, 18, 18]
    assert suzhou["target_exits_in_year"].tolist() == [13, 5, 0]
    guazhou = result[(result["county_id"] == "guazhou") & (result["villages"] == "immigrant")]
    assert guazhou.set_index("year").loc[2016, "missing_exits"] == 3
    assert guazhou.set_index("year").loc[2016, "planned_exits"] == 45
    city = result[result["county_id"] == assess.CITY_ID].set_index("year")
    expected = tables.exit_targets.groupby("year")["target_exits"].sum()
    assert city["target_exits"].to_dict() == expected.to_dict()
    assert city["p_met"].isna().all()


def test_three_tables_names_and_columns(tables) -> None:
    three = assess.three_tables(tables)
    assert list(three) == ["poor_distribution", "income_targets", "reduction_tasks"]
    for frame in three.values():
        assert {"county_id", "county", "county_zh", "villages"} <= set(frame.columns)
    assert three["reduction_tasks"]["county_id"].iloc[0] == "suzhou"  # plan order


# ----------------------------------------------------------------------------------------------
# Summary and comparison


def test_scenario_summary_approximation_and_money() -> None:
    tp = pd.DataFrame(
        {
            "county_id": ["yumen", "yumen", "dunhuang"],
            "villages": ["immigrant", "immigrant", "all"],
            "year": [2016, 2017, 2017],
            "target_exits": [80, 100, 20],
            "projected_exits_mean": [78.0, 99.0, 20.0],
            "p_met": [0.95, 0.85, 0.99],
        }
    )
    shortfall = pd.DataFrame(
        {
            "county_id": ["yumen", "yumen", "dunhuang"],
            "villages": ["immigrant", "immigrant", "all"],
            "year": [2016, 2017, 2017],
            "missing_exits": [2, 1, 1],
            "extra_yuan_to_close": [100.0, 60.0, 50.0],
        }
    )
    funding = pd.DataFrame(
        {"pool": ["city"], "source": ["earmark"], "year": [2015], "amount_yuan": [1_000.0]}
    )
    allocation = pd.DataFrame(
        {"fiscal_yuan": [300.0, 200.0], "credit_yuan": [10.0, 0.0], "household_yuan": [5.0, 5.0]}
    )
    s = assess.scenario_summary(
        scenario_id="x",
        target_probability=tp,
        funding=funding,
        allocation=allocation,
        shortfall=shortfall,
    )
    assert s["p_all_targets_met"] == pytest.approx(0.85 * 0.99)
    assert s["p_all_method"].startswith("approximate")
    assert s["verdict"] == "at risk"
    assert s["target_exits"] == 120 and s["projected_exits_mean"] == 119
    assert s["money_missing_yuan"] == pytest.approx(150.0)  # max per group, summed
    assert s["money_allocated_yuan"] == 500.0 and s["money_available_yuan"] == 1_000.0
    assert [r["county_id"] for r in s["at_risk"]] == ["yumen"]
    assert s["at_risk"][0]["year"] == 2017
    exact = assess.scenario_summary(scenario_id="x", target_probability=tp, p_all_targets_met=0.95)
    assert exact["p_all_targets_met"] == 0.95 and exact["verdict"] == "on track"
    assert math.isnan(exact["money_available_yuan"])


def test_compare_scenarios_rows_in_order() -> None:
    summaries = [
        {
            "scenario_id": "plan_2015",
            "p_all_targets_met": 0.9,
            "money_allocated_yuan": 5.0,
            "at_risk": [{"county_id": "guazhou"}],
        },
        {"scenario_id": "revenue_stagnation", "p_all_targets_met": 0.5, "at_risk": []},
    ]
    table = assess.compare_scenarios(summaries)
    assert table["scenario_id"].tolist() == ["plan_2015", "revenue_stagnation"]
    assert table["cost_fiscal_yuan"].iloc[0] == 5.0
    assert table["n_groups_at_risk"].tolist() == [1, 0]
    assert {"projected_exits_mean", "money_missing_yuan", "p_all_targets_met"} <= set(table)


# ----------------------------------------------------------------------------------------------
# Village tables, measures and packages


def test_infrastructure_works_follow_the_plans_scope() -> None:
    villages = pd.DataFrame(
        {
            "village_id": [1, 2, 3],
            "county_id": ["guazhou", "suzhou", "suzhou"],
            "is_immigrant": [True, False, False],
            "is_poor_village": [True, True, False],
            "has_clinic": [False, False, False],
            "has_culture_room": [False, False, True],
            "has_paved_road": [True, True, False],
        }
    )
    works = assess.village_infrastructure_works(villages).set_index(["village_id", "flag"])
    assert bool(works.loc[(1, "has_clinic"), "planned"])
    assert works.loc[(1, "has_clinic"), "cost_yuan"] == 100_000.0  # PLAN §9 subsidy
    assert works.loc[(1, "has_clinic"), "section"] == "9"
    assert bool(works.loc[(1, "has_culture_room"), "planned"])  # immigrant village (§10)
    assert not bool(works.loc[(2, "has_culture_room"), "planned"])  # old village
    assert not bool(works.loc[(3, "has_clinic"), "planned"])  # not a poor village
    assert bool(works.loc[(3, "has_paved_road"), "planned"])  # every village (§7(2))
    assert works.loc[(3, "has_paved_road"), "due_year"] == 2017
    assert "Transportation" in works.loc[(3, "has_paved_road"), "responsible"]


def test_village_packages_counts_and_costs() -> None:
    plans = pd.DataFrame(
        {
            "household_id": [1, 2, 3],
            "package_id": ["a", "a", "b"],
            "start_year": [2016, 2015, 2015],
            "cost_fiscal_yuan": [10.0, 20.0, 5.0],
        }
    )
    households = pd.DataFrame(
        {
            "household_id": [1, 2, 3],
            "village_id": [7, 7, 8],
            "county_id": ["jinta", "jinta", "jinta"],
        }
    )
    packs = assess.village_packages(plans, households).set_index(["village_id", "package_id"])
    assert packs.loc[(7, "a"), "households"] == 2
    assert packs.loc[(7, "a"), "cost_fiscal_yuan"] == 30.0
    assert packs.loc[(7, "a"), "first_start_year"] == 2015


def test_plan_measures_have_units_and_time_limits() -> None:
    table = assess.plan_measures()
    assert (table["responsible"].str.len() > 10).all()
    assert (table["time_limit"].str.len() > 5).all()
    assert "Municipal Water Affairs Bureau" in table.set_index("section").loc["7(1)", "responsible"]
    sections = set(table["section"])
    assert all(w.section in sections for w in assess.INFRASTRUCTURE_WORKS)


def test_package_sections_from_the_catalogue() -> None:
    assert assess.package_sections("sheep_credit") == ["6(1)-(2)", "12"]
    # The poor's health cover (§9) now comes with every package as an entitlement (issue 10).
    assert assess.package_sections("social_cover") == ["14"]
    assert assess.package_sections("xyz", {"xyz": ["8"]}) == ["8"]
    assert assess.package_label("sheep_credit") == "30 sheep on microcredit"
    assert assess.package_label("dibao_top_up") == "Dibao top up"


@pytest.mark.parametrize("package_id", ["dibao_top_up", "xyz"])
def test_an_unknown_package_has_no_plan_section(package_id: str) -> None:
    # No guessing from the words of the id: a package the catalogue does not know is an error.
    with pytest.raises(KeyError, match=f"package '{package_id}' is not in the intervention"):
        assess.package_sections(package_id)


def test_every_catalogue_package_has_a_plan_section() -> None:
    from fupinsim.microsim.catalogue import load_catalogue

    order = [m.section for m in assess.PLAN_MEASURES]
    for package_id in load_catalogue().packages:
        sections = assess.package_sections(str(package_id))
        assert sections, package_id
        assert sections == sorted(sections, key=order.index)


def test_plan_content_is_read_from_the_packaged_data() -> None:
    from fupinsim.data import check_facts, load_raw

    assert check_facts("plan_measures") == [] and check_facts("labels") == []
    raw = load_raw("plan_measures")
    assert [m["section"] for m in raw["measures"]] == [m.section for m in assess.PLAN_MEASURES]
    works = {w.flag: w for w in assess.INFRASTRUCTURE_WORKS}
    assert works["has_clinic"].cost_yuan == 100_000.0  # PLAN §9
    assert works["has_mutual_aid_fund"].cost_yuan == 500_000.0  # PLAN §12
    assert math.isnan(works["has_bus"].cost_yuan)
    assert assess.FIVE_CLARIFICATIONS[0][0] == "numbers"


# ----------------------------------------------------------------------------------------------
# Household card (hand-checked household) and village file


def test_household_card_five_clarifications(tables) -> None:
    card = assess.household_card(
        KNOWN_HOUSEHOLD_ID,
        households=tables.households,
        villages=tables.villages,
        household_plans=tables.household_plans,
        exit_targets=tables.exit_targets,
        household_results=tables.household_paths,
    )
    for key, _en, _zh in assess.FIVE_CLARIFICATIONS:
        assert key in card
    n = card["numbers"]
    # 6,000 + 5,200 + 1,800 + 0 + 0 + 300 + 1,200 − 3,500 = 11,000 yuan for 4 members.
    assert n["net_income_yuan"] == 11_000
    assert n["income_pc"] == 2_750
    assert n["poverty_line"] == 2_800 and n["gap_pc"] == 50
    assert n["n_members"] == 4 and n["n_labour"] == 2 and n["n_students"] == 1
    assert n["main_cause"] == "illness"
    problems = " | ".join(p["problem"] for p in card["problems"])
    assert "50 yuan below" in problems
    assert "Dilapidated house (grade C)" in problems
    assert "chronic" in problems
    measure = card["countermeasures"]["measures"][0]
    assert measure["package_id"] == "sheep_credit" and measure["start_year"] == 2015
    assert measure["cost_fiscal_yuan"] == 9_000 and measure["cost_credit_yuan"] == 20_000
    assert measure["sections"] == ["6(1)-(2)", "12"]
    resp = card["responsibility"]
    assert resp["helper_id"] == 5001
    assert "CPPCC" in resp["county_responsible"]
    assert {u["section"] for u in resp["units"]} == {"6(1)-(2)", "12", "16"}
    tasks = card["tasks"]
    # Suzhou: 70 % in 2015, all in 2016 → deadline 2016; the plan expects the exit in 2015.
    assert tasks["deadline_year"] == 2016 and tasks["expected_exit_year"] == 2015
    assert tasks["on_schedule"] is True
    assert [p["year"] for p in tasks["path"]] == [2015, 2016, 2017, 2018]
    assert card["village_name"] == "Suzhou old village 1"


def test_results_are_frozen_typed_and_read_like_the_dicts_they_replaced(tables) -> None:
    card = assess.household_card(
        KNOWN_HOUSEHOLD_ID,
        households=tables.households,
        villages=tables.villages,
        household_plans=tables.household_plans,
    )
    assert isinstance(card, assess.HouseholdCard)
    assert card.numbers.n_members == card["numbers"]["n_members"] == 4
    assert card.tasks.get("expected_exit_basis") == card.tasks.expected_exit_basis
    assert set(card) >= {"numbers", "problems", "countermeasures", "responsibility", "tasks"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.household_id = 1  # type: ignore[misc]
    with pytest.raises(KeyError):
        card["no_such_field"]
    summary = assess.scenario_summary(scenario_id="s", target_probability=tables.target_probability)
    assert isinstance(summary, assess.ScenarioSummary)
    assert dict(summary, title="T")["title"] == "T"  # reads as a mapping
    assert all(isinstance(r, assess.AtRisk) for r in summary.at_risk)


def test_household_card_unknown_id_is_a_planner_error(tables) -> None:
    with pytest.raises(InputError, match="households table"):
        assess.household_card(999_999, households=tables.households)


def test_village_file_five_things(tables) -> None:
    file = assess.village_file(
        4,
        households=tables.households,
        villages=tables.villages,
        household_plans=tables.household_plans,
        village_year=tables.village_year,
        exit_targets=tables.exit_targets,
    )
    for key, _heading in assess.FIVE_THINGS:
        assert key in file
    hh = tables.households
    own = hh[hh["village_id"] == 4]
    assert file["situation"]["n_households"] == len(own)
    assert file["situation"]["n_poor_households"] == int(own["is_registered"].sum())
    assert file["monitoring"]["deadline_year"] == 2017  # Yumen immigrant villages
    planned = sum(p["households"] for p in file["demands"]["packages"])
    assert planned == int(own["is_registered"].sum())
    assert len(file["monitoring"]["households"]) == int(own["is_registered"].sum())
    assert sum(s for _label, s in file["situation"]["income_structure"]) == pytest.approx(1.0)


def test_county_guide_and_announcement(tables) -> None:
    guide = assess.county_guide(
        "guazhou",
        households=tables.households,
        villages=tables.villages,
        household_plans=tables.household_plans,
        allocation=tables.allocation,
        funding=tables.funding,
        village_year=tables.village_year,
    )
    assert len(guide["villages"]) == 4
    alloc = tables.allocation
    assert (
        guide["measures"]["households"].sum()
        == alloc[alloc["county_id"] == "guazhou"]["households"].sum()
    )
    assert "16" in set(guide["measure_units"]["section"])
    money = guide["money"]
    own = tables.funding
    expected = own.loc[own["pool"] == "guazhou", "amount_yuan"].sum()
    assert money.filter(like="County pool", axis=0).to_numpy().sum() == pytest.approx(expected)
    items = assess.announcement(
        households=tables.households,
        villages=tables.villages,
        target_probability=tables.target_probability,
        household_plans=tables.household_plans,
        allocation=tables.allocation,
        funding=tables.funding,
    )
    assert [i["county_id"] for i in items] == list(assess.COUNTY_IDS)
    assert "household_id" not in items[0]["village_projects"].columns  # no personal data


def test_pipeline_village_works_are_modelled(tables) -> None:
    works = assess.village_infrastructure_works(tables.villages, tables.village_works)
    modelled = works[works["modelled"]]
    assert len(modelled) == len(tables.village_works)
    road = tables.village_works.query("package_id == 'village_road'").iloc[0]
    row = modelled[
        (modelled["village_id"] == road["village_id"]) & (modelled["flag"] == "has_paved_road")
    ].iloc[0]
    assert row["start_year"] == 2016 and row["cost_yuan"] == 1_200_000.0
    unmodelled = works[~works["modelled"] & works["planned"]]
    assert unmodelled["start_year"].isna().all()


def test_summary_counts_gaps_money_cannot_close(tables) -> None:
    s = assess.scenario_summary(
        scenario_id="x",
        target_probability=tables.target_probability,
        shortfall=tables.shortfall,
    )
    assert s["targets_missed_by_plan"] == 2
    assert s["targets_money_cannot_close"] == 1
    assert s["money_missing_yuan"] == pytest.approx(120_000.0)  # NaN (cannot close) skipped


def test_city_rows_of_the_simulation_are_not_a_county(tables) -> None:
    result = assess.county_assessment(tables.county_year, tables.target_probability)
    assert set(result["county_id"]) == set(assess.COUNTY_IDS)
    incomes = assess.income_targets(tables.county_year)
    assert (incomes["county_id"] == assess.CITY_ID).any()
    assert incomes.loc[incomes["county_id"] == assess.CITY_ID, "county"].iloc[0] == (
        "Jiuquan City (total)"
    )
    tp = pd.concat(
        [
            tables.target_probability,
            tables.target_probability.head(1).assign(county_id="city"),
        ],
        ignore_index=True,
    )
    tasks = assess.reduction_tasks(tp)
    assert (tasks["county_id"] == assess.CITY_ID).sum() == 3  # one total per year, not doubled


def test_income_targets_drop_groups_that_repeat_the_county(tables) -> None:
    incomes = assess.income_targets(tables.county_year)
    suzhou = incomes[incomes["county_id"] == "suzhou"]
    assert set(suzhou["villages"]) == {"all"}
    yumen = incomes[incomes["county_id"] == "yumen"]
    assert set(yumen["villages"]) == {"all", "immigrant", "old"}


def test_the_run_form_gives_what_the_tables_by_keyword_give(tables) -> None:
    """``f(run, ...)`` (issue 9's typed hand-off) equals the same tables passed by keyword, and a
    table given by keyword wins over the run's."""
    by_run = assess.three_tables(tables)
    by_name = assess.three_tables(
        households=tables.households,
        villages=tables.villages,
        county_year=tables.county_year,
        target_probability=tables.target_probability,
        exit_targets=tables.exit_targets,
        shortfall=tables.shortfall,
    )
    for name, frame in by_run.items():
        pd.testing.assert_frame_equal(frame, by_name[name], obj=name)
    summary = assess.scenario_summary(tables, scenario_id="x")
    assert summary == assess.scenario_summary(
        scenario_id="x",
        target_probability=tables.target_probability,
        funding=tables.funding,
        allocation=tables.allocation,
        shortfall=tables.shortfall,
    )
    assert summary.money_missing_yuan > 0
    none_missing = tables.shortfall.assign(missing_exits=0.0, extra_yuan_to_close=0.0)
    assert (
        assess.scenario_summary(tables, scenario_id="x", shortfall=none_missing).money_missing_yuan
        == 0
    )
    guide = assess.county_guide("guazhou", tables, tables=by_run)
    keyword = assess.county_guide(
        "guazhou",
        households=tables.households,
        villages=tables.villages,
        tables=by_run,
        household_plans=tables.household_plans,
        allocation=tables.allocation,
        funding=tables.funding,
        village_year=tables.village_year,
        assessment=tables.assessment,
        village_works=tables.village_works,
    )
    for name in ("villages", "households", "measures", "money", "works", "assessment"):
        pd.testing.assert_frame_equal(getattr(guide, name), getattr(keyword, name), obj=name)
    items = assess.announcement(tables)
    assert [i.county_id for i in items] == list(assess.COUNTY_IDS)
    keyword_items = assess.announcement(
        households=tables.households,
        villages=tables.villages,
        target_probability=tables.target_probability,
        household_plans=tables.household_plans,
        allocation=tables.allocation,
        funding=tables.funding,
        village_works=tables.village_works,
    )
    for a, b in zip(items, keyword_items, strict=True):
        pd.testing.assert_frame_equal(a.village_projects, b.village_projects)
    with pytest.raises(TypeError, match="needs a RunTables or the households table"):
        assess.announcement(villages=tables.villages)
