"""Hindcast facts, the comparison with a run, and the Monte Carlo error of P(met)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from helpers.fake_results import fake_run_tables

from fupinsim import data
from fupinsim.hindcast import COLUMNS, MEASURES, VERDICTS, compare_to_observed
from fupinsim.montecarlo import (
    add_mc_error,
    mc_standard_error,
    replications_needed,
    replications_warning,
)

FACTS = data.hindcast_facts()
GEOGRAPHIES = {"china", "gansu", "zhangye", "jiuquan", *data.COUNTY_IDS}
TABLES = {"county_year", "village_year", "villages"}

# ----------------------------------------------------------------------------------------------
# The facts


def test_there_are_enough_facts_and_most_are_out_of_calibration() -> None:
    assert len(FACTS) >= 14
    assert len({f["id"] for f in FACTS}) == len(FACTS)
    calibration = [f["calibration"] for f in FACTS]
    assert set(calibration) <= {"out", "seen", "fitted"}
    assert calibration.count("out") >= 10
    geographies = {f["geography"] for f in FACTS}
    assert {"china", "gansu", "jiuquan"} <= geographies
    assert geographies & set(data.COUNTY_IDS), "at least one county fact"


@pytest.mark.parametrize("fact", FACTS, ids=[f["id"] for f in FACTS])
def test_every_fact_has_source_unit_year_and_mapping(fact: dict[str, Any]) -> None:
    assert fact["geography"] in GEOGRAPHIES
    assert isinstance(fact["year"], int) and 2015 <= fact["year"] <= 2020
    assert str(fact["quantity"]).strip()
    observed = fact["observed"]
    assert str(observed["unit"]).strip()
    assert str(observed["source"]).startswith(("FOUND", "DERIVED"))
    assert fact["found"], "every fact rests on at least one number read in a source"
    for item in fact["found"]:
        assert str(item["fact"]["source"]).startswith("FOUND")
        assert str(item["fact"]["unit"]).strip()
        citation = item["citation"]
        assert all(str(citation[k]).strip() for k in ("title", "publisher", "date"))
        assert str(citation["url"]).startswith(("http://", "https://"))
    maps = fact["maps_to"]
    assert maps["table"] in TABLES
    assert maps["measure"] in MEASURES
    assert str(maps["how"]).strip()
    low, high = fact["band"]["low"], fact["band"]["high"]
    assert low["unit"] == high["unit"] == observed["unit"]
    assert low["value"] <= observed["value"] <= high["value"]
    assert str(fact["band_how"]).strip()
    assert str(fact["notes"]["model_high"]).strip()


def test_the_loader_returns_a_fresh_copy() -> None:
    facts = data.hindcast_facts()
    facts[0]["id"] = "changed"
    assert data.hindcast_facts()[0]["id"] == FACTS[0]["id"]


# ----------------------------------------------------------------------------------------------
# The comparison on the fake results


def test_the_comparison_on_fake_results_gives_one_row_per_fact() -> None:
    out = compare_to_observed(FACTS, fake_run_tables())
    assert list(out.columns) == list(COLUMNS)
    assert out["fact_id"].tolist() == [f["id"] for f in FACTS]
    assert set(out["verdict"]) <= set(VERDICTS)
    comparable = out[out["verdict"] != "not_comparable"]
    assert not comparable.empty
    assert comparable["model"].notna().all()
    # The fake run ends in 2018 and has no headcount or returns: those facts cannot be
    # compared, and the note says why.
    late = out[out["year"] > 2018]
    assert (late["verdict"] == "not_comparable").all()
    assert late["note"].str.startswith("Not comparable: ").all()
    years = late[late["note"].str.contains("the run covers")]
    assert not years.empty
    assert years["note"].str.contains("2014-2018, not 20").all()
    disagree = out[out["verdict"].isin(["model_high", "model_low"])]
    assert (disagree["note"].str.len() > 0).all()


# ----------------------------------------------------------------------------------------------
# The comparison on tiny hand-made tables


def _band(low: float, high: float, unit: str = "u") -> dict[str, Any]:
    return {
        "low": {"value": low, "unit": unit, "source": "ESTIMATE test"},
        "high": {"value": high, "unit": unit, "source": "ESTIMATE test"},
    }


def _fact(fact_id: str, year: int, observed: float, band: tuple[float, float], maps: dict):
    return {
        "id": fact_id,
        "geography": "jiuquan",
        "quantity": "q",
        "year": year,
        "observed": {"value": observed, "unit": "u", "source": "FOUND test"},
        "band": _band(*band),
        "maps_to": maps,
        "notes": {"model_high": "too high", "model_low": "too low"},
    }


def _county_year() -> pd.DataFrame:
    rows = []
    for year, remaining, p05, p95 in ((2014, 1000.0, 1000.0, 1000.0), (2016, 200.0, 150.0, 260.0)):
        rows.append(
            {
                "county_id": "city",
                "villages": "all",
                "year": year,
                "indicator": "registered_remaining",
                "mean": remaining,
                "p05": p05,
                "p50": remaining,
                "p95": p95,
            }
        )
    return pd.DataFrame(rows)


CITY = {"county_id": "city", "villages": "all", "indicator": "registered_remaining"}


def test_level_and_ratio_with_their_quantiles_and_verdicts() -> None:
    tables = {"county_year": _county_year()}
    facts = [
        _fact("level", 2016, 190.0, (180.0, 220.0), {"measure": "level", "where": CITY}),
        _fact(
            "ratio",
            2016,
            0.1,
            (0.05, 0.15),
            {"measure": "ratio", "where": CITY, "denominator": {"year": 2014}},
        ),
        _fact("low", 2016, 400.0, (300.0, 500.0), {"measure": "level", "where": CITY}),
        _fact("late", 2019, 0.0, (0.0, 1.0), {"measure": "level", "where": CITY}),
    ]
    out = compare_to_observed(facts, tables).set_index("fact_id")
    assert out.loc["level", ["model", "model_low", "model_high"]].tolist() == [200.0, 150.0, 260.0]
    assert out.loc["level", "verdict"] == "matches"
    assert out.loc["level", "note"] == ""
    # 200 / 1000 = 0.2, P5/P95 150/1000 and 260/1000: above the band.
    assert out.loc["ratio", ["model", "model_low", "model_high"]].tolist() == pytest.approx(
        [0.2, 0.15, 0.26]
    )
    assert out.loc["ratio", "verdict"] == "model_high"
    assert out.loc["ratio", "note"] == "too high"
    assert out.loc["low", "verdict"] == "model_low"
    assert out.loc["low", "note"] == "too low"
    assert out.loc["late", "verdict"] == "not_comparable"
    assert "2014-2016, not 2019" in out.loc["late", "note"]


def _villages_tables() -> dict[str, pd.DataFrame]:
    villages = pd.DataFrame(
        {
            "village_id": [1, 2, 3],
            "county_id": pd.Categorical(["guazhou", "guazhou", "yumen"]),
            "population": [100, 300, 200],
            "is_poor_village": [True, True, False],
        }
    )
    # Guazhou: (0.20×100 + 0.10×300)/400 = 0.125 in 2015; (0.08×100 + 0.01×300)/400 = 0.0275 in
    # 2016. Village 3 (Yumen) stays at 0.5.
    village_year = pd.DataFrame(
        {
            "village_id": [1, 1, 2, 2, 3, 3],
            "year": [2015, 2016, 2015, 2016, 2015, 2016],
            "incidence_mean": [0.20, 0.08, 0.10, 0.01, 0.5, 0.5],
            "p_exit": [0.0, 0.2, 0.1, 0.9, 0.0, 0.0],
        }
    )
    return {"villages": villages, "village_year": village_year}


def test_county_exit_year_and_share_of_villages_above_the_line() -> None:
    tables = _villages_tables()
    first = {"measure": "first_year_at_or_below", "table": "village_year"}
    facts = [
        _fact("guazhou", 2017, 2017, (2016, 2018), {**first, "where": {"county_id": "guazhou"}}),
        _fact("yumen", 2018, 2018, (2017, 2019), {**first, "where": {"county_id": "yumen"}}),
        _fact("share", 2016, 0.5, (0.4, 0.6), {"measure": "share_villages_above"}),
    ]
    out = compare_to_observed(facts, tables).set_index("fact_id")
    assert out.loc["guazhou", "model"] == 2016.0
    assert out.loc["guazhou", "verdict"] == "matches"
    assert math.isnan(out.loc["guazhou", "model_low"])
    # Yumen never gets to 3% in the run: the model is late.
    assert math.isnan(out.loc["yumen", "model"])
    assert out.loc["yumen", "verdict"] == "model_high"
    assert out.loc["yumen", "note"] == "too high (not reached by 2016)"
    # Poor villages 1 and 2: mean of 1 - p_exit = (0.8 + 0.1) / 2.
    assert out.loc["share", "model"] == pytest.approx(0.45)
    assert out.loc["share", "verdict"] == "matches"


def test_missing_tables_and_unknown_measures_are_not_comparable() -> None:
    facts = [
        _fact("a", 2016, 1.0, (0.0, 2.0), {"measure": "level", "where": CITY}),
        _fact("b", 2016, 1.0, (0.0, 2.0), {"measure": "share_villages_above"}),
        _fact("c", 2016, 1.0, (0.0, 2.0), {"measure": "guess"}),
    ]
    out = compare_to_observed(facts, {})
    assert (out["verdict"] == "not_comparable").all()
    assert out["note"].tolist() == [
        "Not comparable: the run has no county_year table.",
        "Not comparable: the run has no village_year or villages table.",
        "Not comparable: unknown measure 'guess'.",
    ]


# ----------------------------------------------------------------------------------------------
# Monte Carlo error of P(met)


def test_binomial_standard_error_and_wilson_interval_by_hand() -> None:
    # SE = sqrt(0.9 × 0.1 / 100) = 0.03. Wilson, z = 1.959964: centre (0.9 + z²/200)/(1 + z²/100)
    # = 0.919207 / 1.038415 = 0.885202, half-width z/(1 + z²/100) × sqrt(0.0009 + z²/40000)
    # = 1.887458 × 0.031560 = 0.059568.
    e = mc_standard_error(0.9, 100)
    assert e.se == pytest.approx(0.03)
    assert (e.low, e.high) == pytest.approx((0.825634, 0.944771), abs=2e-6)
    assert e.step == pytest.approx(0.01)
    # p = 0.5, n = 20: SE 0.1118; Wilson 0.5 ± z/(1 + z²/20) × sqrt(0.0125 + z²/1600)
    # = 0.5 ± 1.644170 × 0.122070 = 0.5 ± 0.200702.
    e = mc_standard_error(0.5, 20)
    assert e.se == pytest.approx(math.sqrt(0.25 / 20))
    assert (e.low, e.high) == pytest.approx((0.299298, 0.700702), abs=2e-6)


def test_intervals_at_zero_and_one_are_not_empty() -> None:
    # Wilson upper bound at 0 successes: z² / (n + z²) = 3.841459 / 23.841459.
    e = mc_standard_error(0.0, 20)
    assert e.se == 0.0
    assert e.low == 0.0
    assert e.high == pytest.approx(3.841459 / 23.841459, abs=1e-6)
    j = mc_standard_error(1.0, 20, method="jeffreys")
    assert j.high == 1.0
    assert 0.85 < j.low < 1.0


def test_jeffreys_interval_is_symmetric_and_close_to_wilson() -> None:
    a = mc_standard_error(0.3, 40, method="jeffreys")
    b = mc_standard_error(0.7, 40, method="jeffreys")
    assert a.low == pytest.approx(1 - b.high)
    assert a.high == pytest.approx(1 - b.low)
    w = mc_standard_error(0.5, 20)
    j = mc_standard_error(0.5, 20, method="jeffreys")
    assert j.low == pytest.approx(w.low, abs=0.01)
    assert j.high == pytest.approx(w.high, abs=0.01)


@pytest.mark.parametrize(("p", "n"), [(1.2, 20), (-0.1, 20), (0.5, 0), (0.5, 2.5)])
def test_bad_arguments_are_refused(p: float, n: Any) -> None:
    with pytest.raises(ValueError, match="must be"):
        mc_standard_error(p, n)


def test_the_warning_triggers_for_20_replications_at_90_percent() -> None:
    # Needed: 1.959964² × 0.9 × 0.1 / 0.05² = 138.3 → 139.
    assert replications_needed(0.9) == 139
    message = replications_warning(0.9, 20)
    assert message is not None
    assert "steps of 5.0 points" in message
    assert "from 70% to 97%" in message  # Wilson interval of 0.9 with 20 replications
    assert "at least 139 replications" in message
    assert replications_warning(0.9, 200) is None
    assert replications_warning(0.9, 139) is None


def test_mc_error_columns_on_the_target_table() -> None:
    table = fake_run_tables().target_probability
    # The run's table has them already (the assumptions stage): start from the simulation's.
    table = table[[c for c in table.columns if not c.startswith("p_met_")]].copy()
    table.loc[table.index[0], "p_met"] = float("nan")
    out = add_mc_error(table, 200)
    assert {"p_met_se", "p_met_low", "p_met_high"} <= set(out.columns)
    assert out["p_met_se"].isna().sum() == 1
    valid = out.dropna(subset=["p_met"])
    assert (valid["p_met_low"] <= valid["p_met"]).all()
    assert (valid["p_met"] <= valid["p_met_high"]).all()
    assert "p_met_se" not in table.columns
