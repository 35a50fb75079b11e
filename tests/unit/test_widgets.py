"""The what-if controls through their Python API (``fupinsim.widgets.WhatIf``).

A small scenario (three counties, 2 yield replications, 20 Monte Carlo replications) keeps the
re-plans to seconds; the numbers are checked by direction (less money → more missing exits),
the caching by what each change reused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fupinsim.errors import InputError
from fupinsim.pipeline import RegistryStage, registry_stage
from fupinsim.scenario import Scenario
from fupinsim.uncertainty import uncertain_parameters
from fupinsim.widgets import CONTROLS, STAGE_SECTIONS, WhatIf, WhatIfPanel, stage_content
from fupinsim.widgets.controls import UNCERTAIN_CONTROLS

COUNTIES = ["dunhuang", "subei", "aksai"]
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06_what_if.ipynb"


@pytest.fixture(scope="module")
def small(plan_scenario: Scenario) -> Scenario:
    content = plan_scenario.model_dump(mode="python")
    content["counties"] = COUNTIES
    content["allocation"]["yield_replications"] = 2
    return Scenario.model_validate(content)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("whatif_cache")


@pytest.fixture(scope="module")
def what(small: Scenario, cache_dir: Path) -> WhatIf:
    what = WhatIf(small, replications=20, cache_dir=cache_dir)
    what.replan()
    return what


def test_every_control_has_a_unit_a_range_and_a_default_inside_it(small: Scenario) -> None:
    what = WhatIf(small, cache_dir=None)
    groups = {c.group for c in CONTROLS.values()}
    assert groups == {"money", "capacity", "targets", "model"}
    for name, control in CONTROLS.items():
        assert control.label and control.unit, name
        value = what.get(name)
        if control.kind in ("float", "int"):
            assert control.low < control.high, name
            assert control.low <= value <= control.high, (name, value)
        else:
            assert control.check(value) is not None
    assert what.get("allocation.capacities.skills_training") == 5000  # the catalogue's
    assert what.get("funding.revenue_growth.subei.2016") == 0.04  # from the key 'all'


def test_a_value_out_of_range_or_an_unknown_control_is_refused(small: Scenario) -> None:
    what = WhatIf(small, cache_dir=None)
    with pytest.raises(InputError, match=r"must be from 0 to 0\.5 share of the revenue increase"):
        what.set("funding.earmark_share_county", 0.9)
    with pytest.raises(InputError, match="must be one of min_cost, max_exits"):
        what.set("allocation.objective", "cheapest")
    with pytest.raises(InputError, match="must be one of the controls"):
        what.set("funding.earmark", 0.1)
    assert what.values == {}


def test_controls_change_the_scenario_it_plans(small: Scenario) -> None:
    what = WhatIf(small, cache_dir=None)
    what.set("funding.revenue_growth.city.2016", -0.05)
    what.set("allocation.capacities.labour_transfer", 1000)
    what.set("interventions.sheep_30.cost_factor", 1.5)
    what.set("counties", ["subei", "dunhuang"])
    scenario = what.scenario
    assert scenario.funding.revenue_growth["city"] == {2016: -0.05}
    assert scenario.funding.revenue_growth["all"] == small.funding.revenue_growth["all"]
    assert scenario.allocation.capacities == {"labour_transfer": 1000}
    assert scenario.interventions["sheep_30"].cost_factor == 1.5
    assert scenario.counties == ["dunhuang", "subei"]  # the catalogue's order
    what.reset()
    assert what.scenario == small


def test_stage_keys_follow_the_sections_each_stage_reads(small: Scenario) -> None:
    def content(**changes: object) -> dict[str, dict[str, object]]:
        data = small.model_dump(mode="python")
        for path, value in changes.items():
            if "__" in path:
                section, name = path.split("__")
                data[section][name] = value
            else:
                data[path] = value
        scenario = Scenario.model_validate(data)
        return {stage: stage_content(scenario, stage) for stage in STAGE_SECTIONS}

    base = content()
    money = content(funding__earmark_share_county=0.3, allocation__required_confidence=0.8)
    assert money == base
    capacity = content(interventions={"labour_transfer": {"capacity_factor": 2.0}})
    assert capacity == base
    model = content(interventions={"sheep_30": {"cost_factor": 2.0}})
    assert model["registry"] == base["registry"]
    assert model["yields"] != base["yields"]
    people = content(registry__n_registered_households=12000)
    assert people["registry"] != base["registry"]


@pytest.mark.slow
def test_less_money_replans_without_new_yields_and_misses_more(what: WhatIf) -> None:
    before = what.tables
    for name in ("funding.earmark_share_city", "funding.earmark_share_county"):
        what.set(name, 0.0)
    for year in (2015, 2016, 2017):
        what.set(f"funding.provincial_transfer_wan.{year}", 0.0)
    for county in COUNTIES:
        what.set(f"funding.integrated_agriculture_wan.{county}", 0.0)
    result = what.replan()
    after = what.tables
    assert result.reused == ("registry", "yields")  # the LP and the simulation were redone
    money = "money available 2015-2017, 万元"
    assert after["summary"].loc[money].iloc[0] < before["summary"].loc[money].iloc[0] / 2
    missing = "missing exits (planned), households"
    assert after["summary"].loc[missing].iloc[0] > before["summary"].loc[missing].iloc[0]
    assert len(after["shortfall"]) > len(before["shortfall"])
    assert after["shortfall"]["money to close, 万元"].notna().any()  # money would close some
    assert (after["shortfall"]["what binds"] == "money").any()

    what.reset()
    what.replan()
    pd.testing.assert_frame_equal(what.tables["summary"], before["summary"])
    pd.testing.assert_frame_equal(what.tables["p_met"], before["p_met"])


@pytest.mark.slow
def test_a_lower_required_confidence_only_redraws_the_probabilities(what: WhatIf) -> None:
    first = what.replan()
    assert first.reused == ("registry", "yields", "simulate")  # same plan: nothing re-simulated
    what.set("allocation.required_confidence", 0.5)
    second = what.replan()
    assert second.reused == ("registry", "yields", "simulate")
    below_90 = first.simulation.target_probability["p_met"]
    summary = what.tables["summary"]
    assert "targets with P(met) below 50%" in summary.index
    assert (second.simulation.target_probability["p_met"] == below_90).all()
    what.reset()
    what.replan()


@pytest.mark.slow
def test_a_new_session_reads_registry_and_yields_from_disk(
    what: WhatIf, small: Scenario, cache_dir: Path
) -> None:
    again = WhatIf(small, replications=20, cache_dir=cache_dir)
    result = again.replan()
    assert result.reused == ("registry", "yields")
    assert result.timings["yields"] < 2.0
    for name, table in what.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], table, obj=name)
    assert set(again.figures) == {"money", "allocation", "shortfall", "p_met", "fan_chart"}


@pytest.mark.slow
def test_the_panel_redraws_when_a_slider_moves(what: WhatIf) -> None:
    panel = WhatIfPanel(what, names=["funding.earmark_share_county", "allocation.objective"])
    slider = panel.controls["funding.earmark_share_county"]
    assert (slider.min, slider.max) == (0.0, 0.5)
    before = panel.shown["summary"]
    slider.value = 0.0
    assert what.values == {"funding.earmark_share_county": 0.0}
    assert "Re-planned in" in panel.status.value
    money = "money available 2015-2017, 万元"
    assert panel.shown["summary"].loc[money].iloc[0] < before.loc[money].iloc[0]
    assert "What-if controls: 2 controls" in panel._repr_mimebundle_()["text/plain"]
    what.reset()
    what.replan()


def _assert_same_setup(fast: RegistryStage, full: RegistryStage) -> None:
    assert fast.scenario == full.scenario
    for name in ("registered", "targets", "village_plan", "cadre_roster", "household_cadres"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(full, name), obj=name)
    pd.testing.assert_frame_equal(fast.catalogue.capacities(), full.catalogue.capacities())
    pd.testing.assert_frame_equal(fast.catalogue.capacity_use(), full.catalogue.capacity_use())


@pytest.mark.slow
def test_the_reused_registry_stage_equals_a_fresh_one(what: WhatIf) -> None:
    """Money, capacity and cost changes reuse the cadre pairing; the stage is the pipeline's."""
    for name, value in (
        ("funding.earmark_share_county", 0.05),
        ("allocation.capacities.labour_transfer", 1000),
        ("interventions.sheep_30.cost_factor", 1.5),
    ):
        what.set(name, value)
        scenario = what.scenario
        registry, key, _ = what._registry(scenario)
        _assert_same_setup(what._setup(scenario, registry, key), registry_stage(scenario, registry))
    what.reset()


def test_the_largest_uncertain_assumptions_are_controls_that_recompute_the_yields(
    small: Scenario,
) -> None:
    """Unit and range from the uncertainty data; a change reaches the yields' key (so yields,
    LP and simulation are recomputed) and leaves the registry's."""
    rows = uncertain_parameters(small).set_index("id")
    sigma = CONTROLS["microsim.verification_sigma"]
    row = rows.loc["microsim.verification_sigma"]
    assert (sigma.low, sigma.high, sigma.unit) == (row["low"], row["high"], "log points")
    effect = CONTROLS["interventions.labour_transfer.effect_factor"]
    row = rows.loc["labour_transfer.effect_net"]
    assert effect.low == pytest.approx(row["low"] / row["value"])
    assert effect.high == pytest.approx(row["high"] / row["value"])
    assert "yuan a year" in effect.unit
    what = WhatIf(small, cache_dir=None)
    for name in UNCERTAIN_CONTROLS:
        control = next(c for c in CONTROLS.values() if c.label.lower() == rows.loc[name, "label"])
        assert control.group == "model"
        assert control.low < what.get(control.name) < control.high
        what.set(control.name, control.high)
        changed = what.scenario
        assert stage_content(changed, "yields") != stage_content(small, "yields")
        assert stage_content(changed, "registry") == stage_content(small, "registry")
        what.reset()


def test_the_saved_notebook_keeps_its_widget_state() -> None:
    """The panel's controls are stored in the notebook (shown without a kernel), every control
    of the panel among them; its live output is not compared by nbval."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    state = notebook["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    models = state["state"].values()
    described = {m["state"].get("description") for m in models}
    for control in CONTROLS.values():
        assert control.label in described, f"{control.label} is not in the saved widget state"
    (panel,) = [c for c in notebook["cells"] if "WhatIfPanel(what)" in "".join(c["source"])]
    assert "nbval-ignore-output" in panel["metadata"]["tags"]
    views = [o for o in panel["outputs"] if "application/vnd.jupyter.widget-view+json" in o["data"]]
    (view,) = views
    model_id = view["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert model_id in state["state"], "the panel's view refers to a saved model"
