"""The columns each page shows (header, unit, format)."""

from __future__ import annotations

import pandas as pd

from fupinsim.report.formats import Col

__all__ = [
    "ANNOUNCE_PROJECT_COLS",
    "ANNOUNCE_TARGET_COLS",
    "ANNOUNCE_WORK_COLS",
    "ASSESSMENT_COLS",
    "COMPARISON_COLS",
    "GUIDE_TASK_WIDE",
    "HOUSEHOLD_COLS",
    "PLAN_MEASURE_COLS",
    "SHORTFALL_COLS",
    "VILLAGE_COLS",
    "WORK_COLS",
    "measure_cols",
]

ASSESSMENT_COLS = (
    Col("rank", "Rank", "", "int"),
    Col("group", "County", "", "text"),
    Col("score", "Score", "points 0-100", "num"),
    Col("growth_households", "Income growth, poor households", "share per year", "share"),
    Col("growth_villages", "Income growth, villages", "share per year", "share"),
    Col("share_targets_met_expected", "Targets met on schedule (expected)", "share", "share"),
    Col("n_targets_missed", "Targets missed", "targets", "int"),
    Col("rating", "Rating", "", "text"),
    Col("rating_note", "Why", "", "text"),
)


SHORTFALL_COLS = (
    Col("group", "Target group", "", "text"),
    Col("year", "Year", "", "year"),
    Col("target_exits", "Target", "households", "int"),
    Col("projected_exits", "Planned", "households", "num"),
    Col("missing_exits", "Missing", "households", "num"),
    Col("extra_yuan_to_close", "Money to close", "wan yuan", "wan"),
    Col("binding_resource", "What binds", "", "code:binding_resources"),
    Col("message", "Explanation", "", "text"),
)


VILLAGE_COLS = (
    Col("village_name", "Village", "", "text"),
    Col("is_immigrant", "Immigrant", "", "bool"),
    Col("is_poor_village", "Poor village", "", "bool"),
    Col("n_households", "Households", "households", "int"),
    Col("n_poor_households", "Poor households", "households", "int"),
    Col("n_poor_people", "Poor people", "people", "int"),
    Col("incidence", "Incidence", "share", "share"),
    Col("dominant_label", "Main package", "", "text"),
    Col("n_supported", "Supported", "households", "int"),
    Col("fiscal_yuan", "Fiscal money", "wan yuan", "wan"),
    Col("gaps", "Infrastructure gaps", "", "text"),
    Col("p_exit_final", "P(village exits) 2017", "probability", "share"),
)

HOUSEHOLD_COLS = (
    Col("household_id", "Household", "id", "text"),
    Col("village_name", "Village", "", "text"),
    Col("n_members", "Members", "people", "int"),
    Col("n_labour", "Labour", "people", "int"),
    Col("main_cause", "Main cause", "", "text"),
    Col("income_pc", "Income 2014", "yuan per person", "num"),
    Col("support_class", "Support class", "", "code:support_classes"),
    Col("package_id", "Package", "", "code:packages"),
    Col("start_year", "Start", "year", "year"),
    Col("expected_exit_year", "Expected exit", "year", "year"),
    Col("helper_id", "Helper (cadre)", "id", "text"),
)

GUIDE_TASK_WIDE = (
    Col("target_text", "Target ¹", "households", "text"),
    Col("planned_exits", "Planned", "households", "int"),
    Col("p_met", "P(met)", "", "share"),
)


def measure_cols(measures: pd.DataFrame) -> tuple[Col, ...]:
    years = [c for c in measures.columns if str(c).startswith("households_")]
    return (
        Col("package", "Package", "", "text"),
        Col("sections", "Plan §", "", "text"),
        *[Col(c, f"Start {c.removeprefix('households_')}", "households", "int") for c in years],
        Col("households", "All years", "households", "int"),
        Col("fiscal_yuan", "Fiscal", "wan yuan", "wan"),
        Col("credit_yuan", "Credit", "wan yuan", "wan"),
        Col("household_yuan", "Households' own", "wan yuan", "wan"),
    )


WORK_COLS = (
    Col("village_name", "Village", "", "text"),
    Col("work", "Work", "", "text"),
    Col("section", "Plan §", "", "text"),
    Col("due_year", "Due by end of", "year", "year"),
    Col("cost_yuan", "Cost (plan)", "wan yuan", "wan"),
    Col("responsible", "Responsible unit (plan)", "", "text"),
)

PLAN_MEASURE_COLS = (
    Col("section", "§", "", "text"),
    Col("title", "Measure", "", "text"),
    Col("target", "Target", "", "text"),
    Col("responsible", "Responsible unit", "", "text"),
    Col("time_limit", "Time limit", "", "text"),
)

ANNOUNCE_TARGET_COLS = (
    Col("villages", "Villages", "", "group"),
    Col("year", "Year", "", "year"),
    Col("target_exits_in_year", "Households to exit in the year", "households", "int"),
    Col("target_exits", "Cumulative", "households", "int"),
)

ANNOUNCE_PROJECT_COLS = (
    Col("village_name", "Village", "", "text"),
    Col("is_immigrant", "Immigrant village", "", "bool"),
    Col("n_poor_households", "Poor households", "households", "int"),
    Col("projects", "Projects (households supported)", "", "text"),
    Col("households", "Households supported", "households", "int"),
    Col("fiscal_yuan", "Fiscal money", "wan yuan", "wan"),
)

ANNOUNCE_WORK_COLS = (
    Col("village_name", "Village", "", "text"),
    Col("works", "Works (plan §)", "", "text"),
    Col("due_year", "Due by end of", "year", "year"),
    Col("cost_yuan", "Cost stated by the plan", "wan yuan", "wan"),
)

COMPARISON_COLS = (
    Col("scenario_id", "Scenario", "", "text"),
    Col("title", "Title", "", "text"),
    Col("target_exits", "Target exits", "households", "int"),
    Col("projected_exits_mean", "Projected exits", "households", "num"),
    Col("exits_share", "Of target", "share", "share"),
    Col("missing_exits", "Missing exits (plan)", "households", "int"),
    Col("money_available_yuan", "Money available", "wan yuan", "wan"),
    Col("cost_fiscal_yuan", "Fiscal cost", "wan yuan", "wan"),
    Col("money_missing_yuan", "Money missing", "wan yuan", "wan"),
    Col("p_all_targets_met", "P(all targets met)", "probability", "share"),
    Col("p_min", "Lowest P(met)", "probability", "share"),
    Col("n_groups_at_risk", "Groups at risk", "target groups", "int"),
    Col("verdict", "Verdict", "", "text"),
)
