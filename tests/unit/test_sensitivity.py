"""Sensitivity analysis: tornado and rank correlation, back ends, the command, the figure."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

from fupinsim.cli_sensitivity import sensitivity
from fupinsim.pipeline import run_pipeline
from fupinsim.plots.tornado import tornado_figure, tornado_figures
from fupinsim.scenario import load_scenario
from fupinsim.sensitivity import (
    TABLE_COLUMNS,
    PlanModel,
    analysed_parameters,
    one_at_a_time,
    plan_fiscal_cost,
    plan_model,
    run_sensitivity,
    top_assumptions,
)
from fupinsim.uncertainty import scenario_variant

TINY = """\
id: tiny
extends: plan_2015
title: Tiny plan for the sensitivity tests
description: The plan on 300 registered households, to 2017, one allocation round.
registry:
  n_registered_households: 300
  n_registered_people: 1136
microsim:
  horizon: 2017
  replications: 2
allocation:
  loop_rounds: 0
  yield_replications: 2
"""
TWO = ["greenhouse.failure_prob", "labour_transfer.effect_net"]


# ----------------------------------------------------------------------------------------------
# A toy model with a known answer


TOY = pd.DataFrame(
    {
        "id": ["a", "b", "c"],
        "label": ["assumption a", "assumption b", "assumption c"],
        "value": [0.5, 1.0, 0.25],
        "low": [0.0, 0.0, 0.0],
        "high": [1.0, 2.0, 0.5],
        "distribution": ["uniform", "uniform", "triangular"],
    }
)


def toy(row: Mapping[str, float]) -> dict[str, float]:
    """y = 3a + b - 10c (swings 3, 2, -5); z = b (only b matters)."""
    x = {str(p["id"]): float(p["value"]) for p in TOY.to_dict("records")} | dict(row)
    return {"y": 3 * x["a"] + x["b"] - 10 * x["c"], "z": x["b"]}


def test_tornado_orders_a_known_toy_model() -> None:
    table, base = one_at_a_time(TOY, toy)
    assert base == {"y": 3 * 0.5 + 1.0 - 2.5, "z": 1.0}
    assert list(table.columns) == TABLE_COLUMNS
    y = table[table["indicator"] == "y"].set_index("parameter")
    assert list(y.index) == ["c", "a", "b"]  # |swing| 5 > 3 > 2
    assert y["swing"].to_dict() == pytest.approx({"c": -5.0, "a": 3.0, "b": 2.0})
    assert y["rank"].tolist() == [1, 2, 3]
    assert y.loc["c", "low_value"] == pytest.approx(base["y"] + 2.5)
    z = table[table["indicator"] == "z"]
    assert z.iloc[0]["parameter"] == "b"
    top = top_assumptions(table)
    assert top[top["indicator"] == "z"]["parameter"].tolist() == ["b"]  # no-effect ones left out
    assert table["p_value"].isna().all()
    assert "assumption c (0 to 0.5)" in top.loc[top["indicator"] == "y", "sentence"].iloc[0]


def test_rank_correlation_finds_the_toy_ordering() -> None:
    result = run_sensitivity(toy, TOY, samples=60, seed=3)
    ranked = result.table[(result.table["method"] == "rank_correlation")]
    y = ranked[ranked["indicator"] == "y"].set_index("parameter")
    assert list(y.index) == ["c", "a", "b"]
    assert y.loc["c", "swing"] < -0.6 and y.loc["a", "swing"] > 0.3
    assert y.loc["c", "low_value"] > y.loc["c", "high_value"]  # high c: low y
    assert y.loc["c", "p_value"] < 1e-6
    top = result.top[result.top["method"] == "rank_correlation"]
    assert top.loc[top["indicator"] == "z", "parameter"].tolist() == ["b"]  # chance ones left out
    z = ranked[ranked["indicator"] == "z"].set_index("parameter")
    assert z.loc["b", "swing"] == pytest.approx(1.0)
    assert abs(z.loc["a", "swing"]) < 0.5
    assert len(result.draws) == 60
    summary = result.summary.set_index("indicator")
    assert summary.loc["y", "shocks_only"] == pytest.approx(0.0)
    assert summary.loc["y", "with_assumptions_p05"] < summary.loc["y", "with_assumptions_p95"]
    again = run_sensitivity(toy, TOY, samples=60, seed=3)
    pd.testing.assert_frame_equal(result.table, again.table)


def test_tornado_figure_per_indicator() -> None:
    table, _ = one_at_a_time(TOY, toy)
    figures = tornado_figures(table)
    assert set(figures) == {"y", "z"}
    fig = tornado_figure(table, "y", top=2)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["assumption a", "assumption c"]  # largest swing on top
    with pytest.raises(ValueError, match="no one-at-a-time rows"):
        tornado_figure(table, "nothing")


# ----------------------------------------------------------------------------------------------
# The real model on a tiny plan


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, scenarios_dir: Path) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("scenarios")
    shutil.copy(scenarios_dir / "plan_2015.yaml", folder / "plan_2015.yaml")
    (folder / "tiny.yaml").write_text(TINY, encoding="utf-8")
    scenario = load_scenario(folder / "tiny.yaml")
    result = run_pipeline(scenario, replications=2)
    return folder / "tiny.yaml", {"households": result.registry.households, **result.tables}


@pytest.fixture(scope="module")
def model(tiny: tuple[Path, dict]) -> PlanModel:
    path, tables = tiny
    return plan_model(load_scenario(path), replications=2, tables=tables)


def test_the_plan_model_responds_to_its_assumptions(model: PlanModel) -> None:
    base = model({})
    assert set(base) == {
        "p_all_targets_met",
        "p_final_targets_met",
        "mean_p_target_met",
        "exits_2017",
        "fiscal_cost_yuan",
    }
    assert 0 < base["exits_2017"] <= len(model.households)
    worse = model({"labour_transfer.effect_net": 8000.0, "labour_transfer.failure_prob": 0.3})
    assert worse["exits_2017"] <= base["exits_2017"]
    dearer = model({"greenhouse.cost_fiscal": 30000.0, "labour_transfer.cost_fiscal": 1500.0})
    assert dearer["fiscal_cost_yuan"] > base["fiscal_cost_yuan"]
    _, catalogue = scenario_variant(model.scenario, {})
    assert plan_fiscal_cost(
        catalogue, model.households, model.plan, model.village_plan
    ) == pytest.approx(base["fiscal_cost_yuan"])


def test_process_pool_and_local_cluster_give_identical_tables(model: PlanModel) -> None:
    parameters = analysed_parameters(model.scenario, only=TWO)
    assert parameters["id"].tolist() == TWO
    pool = run_sensitivity(model, parameters, samples=2, seed=5, workers=2)
    dask = run_sensitivity(model, parameters, samples=2, seed=5, workers=2, scheduler="local")
    pd.testing.assert_frame_equal(pool.table, dask.table)
    pd.testing.assert_frame_equal(pool.draws, dask.draws)
    assert len(pool.table) == 2 * 2 * 5  # parameters x methods x indicators
    serial, _ = one_at_a_time(parameters, model)  # in this process
    pd.testing.assert_frame_equal(serial, pool.table[pool.table["method"] == "one_at_a_time"])


def test_the_command_writes_table_and_figures(
    tiny: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, tables = tiny
    scenario = load_scenario(path)
    run = tmp_path / "outputs" / "tiny"
    (run / "tables").mkdir(parents=True)
    for name in ("households", "household_plans", "village_works"):
        tables[name].to_parquet(run / "tables" / f"{name}.parquet")
    (run / "run_info.json").write_text(json.dumps({"scenario_hash": scenario.hash}))
    monkeypatch.chdir(tmp_path)
    args = [str(path), "--replications", "2", "--samples", "3", "--only", ",".join(TWO)]
    result = CliRunner().invoke(sensitivity, args)
    assert result.exit_code == 0, result.output
    assert "plan from outputs/tiny" in result.output
    out = run / "sensitivity"
    table = pd.read_parquet(out / "tables" / "sensitivity.parquet")
    assert set(table["method"]) == {"one_at_a_time", "rank_correlation"}
    assert set(table["parameter"]) == set(TWO)
    assert (out / "tables" / "sensitivity.csv").is_file()
    for name in ("p_final_targets_met", "exits_2017", "fiscal_cost_yuan"):
        assert (out / "figures" / f"tornado_{name}.png").stat().st_size > 1000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["evaluations"] == 1 + 2 * 2 + 3
    assert "depends most on" in result.output


def test_the_command_rejects_an_unknown_parameter(tiny: tuple[Path, dict]) -> None:
    result = CliRunner().invoke(sensitivity, [str(tiny[0]), "--only", "no_such_thing"])
    assert result.exit_code == 2
    assert "must be (the start of) an uncertain parameter id" in result.output
