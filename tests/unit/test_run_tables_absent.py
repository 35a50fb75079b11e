"""Absent run tables are explicit (RunTables.has/table), and exit targets vs plan goals have one
accessor (fupinsim.assess.display.is_exit_target) for the display and the what-if view."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.fake_results import fake_run_tables

from fupinsim.assess.display import (
    EXIT_TARGET,
    display_p_met,
    exit_target_rows,
    is_exit_target,
    plan_goal_rows,
)
from fupinsim.pipeline import RunTables
from fupinsim.report.todo import what_to_do


def test_a_whole_run_holds_every_table() -> None:
    run = fake_run_tables()
    assert run.not_loaded == frozenset()
    assert run.has("recommendations")
    assert run.table("recommendations") is run.recommendations


def test_a_partial_run_names_what_it_does_not_hold() -> None:
    whole = fake_run_tables()
    run = RunTables.partial({"county_year": whole.county_year})
    assert run.has("county_year")
    assert not run.has("recommendations")
    assert run.table("recommendations") is None
    assert "recommendations" in run.not_loaded
    assert sorted(run.not_loaded) == sorted(run.manifest["tables_not_loaded"])
    assert not run.has("identification")  # optional: absent, and not "not loaded"
    assert "identification" not in run.not_loaded
    assert what_to_do(run.table("recommendations")) is None


def test_table_refuses_a_name_that_is_not_a_run_table() -> None:
    with pytest.raises(KeyError, match="not a run table"):
        fake_run_tables().table("nonsense")
    assert not fake_run_tables().has("nonsense")


def test_an_empty_recommendations_table_is_a_section_saying_nothing_to_change() -> None:
    empty = fake_run_tables().recommendations.iloc[:0]
    shown = what_to_do(empty)
    assert shown is not None
    assert shown["count"] == 0
    assert "Nothing to change" in shown["none_text"]


def test_exit_targets_and_plan_goals_split_the_rows() -> None:
    tp = pd.DataFrame(
        {"target": [EXIT_TARGET, "immigrant_income", EXIT_TARGET, "village_exit"], "x": range(4)}
    )
    assert is_exit_target(tp).tolist() == [True, False, True, False]
    assert exit_target_rows(tp)["x"].tolist() == [0, 2]
    assert plan_goal_rows(tp)["x"].tolist() == [1, 3]
    no_kind = tp.drop(columns="target")
    assert exit_target_rows(no_kind).equals(no_kind)
    assert plan_goal_rows(no_kind).empty


def test_display_p_met_shows_exit_targets_only() -> None:
    run = fake_run_tables()
    exits = exit_target_rows(run.target_probability)
    shown = display_p_met(run, 2015, 2017)
    years = exits["year"].between(2015, 2017)
    assert len(shown) == exits[years].groupby(["county_id", "villages"]).ngroups
