"""Cadre pairing (plan §16): a seeded roster from named units, every registered household paired
within the plan's loads, own county and one village per cadre preferred, shortages named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fupinsim import data
from fupinsim.allocate.pairing import (
    HOUSEHOLD_CADRE_COLUMNS,
    PairingResult,
    cadre_tables,
    pair_households,
    village_cadres,
)
from fupinsim.errors import InputError
from fupinsim.registry import Registry
from fupinsim.registry.cadres import (
    LEVELS,
    ROSTER_COLUMNS,
    CadreRoster,
    build_roster,
    contracts,
    level_rules,
    registered_per_county,
    roster_for_registry,
    unit_table,
)
from fupinsim.scenario import Scenario


@pytest.fixture(scope="module")
def roster(plan_registry: Registry, plan_scenario: Scenario) -> CadreRoster:
    return roster_for_registry(plan_registry.households, plan_scenario.seed)


@pytest.fixture(scope="module")
def paired(plan_registry: Registry, roster: CadreRoster) -> PairingResult:
    return pair_households(plan_registry.households, roster, plan_registry.villages)


def _registered(registry: Registry) -> pd.DataFrame:
    return registry.households[registry.households["is_registered"].to_numpy(bool)]


# ----------------------------------------------------------------------------------------------
# The roster


def test_units_are_named_in_both_languages_with_levels_and_home_counties() -> None:
    units = unit_table()
    assert set(units["unit_level"]) == set(LEVELS)
    assert set(units["home_county_id"]) == set(data.COUNTY_IDS)
    assert units["unit_name"].str.len().min() > 0
    assert units["unit_name_zh"].str.contains(r"[\u4e00-\u9fff]").all()
    assert units.loc[units["unit_id"] == "guazhou_gov", "unit_name_zh"].item() == "瓜州县人民政府"
    # Every county has townships for its township cadres.
    townships = units[units["unit_level"] == "township"]
    assert set(townships["home_county_id"]) == set(data.COUNTY_IDS)


def test_the_leading_bodies_are_homed_in_the_counties_section_16_gives_them() -> None:
    units = unit_table().set_index("unit_id")
    for unit, county in zip(contracts()["unit_id"], contracts()["county_id"], strict=True):
        assert units.at[unit, "home_county_id"] == county
    assert set(contracts()["county_id"]) == {"yumen", "guazhou", "jinta", "suzhou"}


def test_plan_loads_per_level() -> None:
    rules = level_rules()
    assert (rules["prefecture"].min_households, rules["prefecture"].max_households) == (2, 3)
    assert rules["county"].max_households == 3  # "about three"
    assert not rules["township"].may_leave_home_county


def test_the_roster_can_pair_every_county_by_itself(
    plan_registry: Registry, roster: CadreRoster
) -> None:
    cadres = roster.cadres
    assert list(cadres.columns) == list(ROSTER_COLUMNS)
    assert cadres["cadre_id"].tolist() == list(range(1, len(cadres) + 1))
    assert cadres["code"].is_unique
    rules = level_rules()
    for level, rule in rules.items():
        sub = cadres[cadres["level"] == level]
        assert (sub["capacity"] == rule.max_households).all()
        assert (sub["min_households"] == rule.min_households).all()
    need = registered_per_county(plan_registry.households)
    places = cadres.groupby("home_county_id")["capacity"].sum().reindex(need.index)
    least = cadres.groupby("home_county_id")["min_households"].sum().reindex(need.index)
    assert (places >= need).all()
    assert (least <= need).all()
    # The four leading bodies' 31 prefecture-level cadres all serve (the plan has them pair).
    assert (cadres["level"] == "prefecture").sum() == 31
    assert set(cadres.loc[cadres["level"] == "prefecture", "home_county_id"]) == {
        "yumen",
        "guazhou",
        "jinta",
        "suzhou",
    }


def test_a_county_with_few_poor_gets_no_more_leaders_than_it_can_pair() -> None:
    roster = build_roster({"subei": 7, "guazhou": 3}, seed=1)
    cadres = roster.cadres
    least = cadres.groupby("home_county_id")["min_households"].sum()
    assert least.get("subei", 0) <= 7
    assert least.get("guazhou", 0) <= 3
    assert (cadres["home_county_id"].isin(["subei", "guazhou"])).all()


def test_the_roster_is_reproducible_and_depends_on_the_seed() -> None:
    counts = {"suzhou": 1900, "guazhou": 4600}
    first, again = build_roster(counts, seed=3), build_roster(counts, seed=3)
    pd.testing.assert_frame_equal(first.cadres, again.cadres)
    other = build_roster(counts, seed=4)
    assert not first.cadres[["unit_id", "level"]].equals(other.cadres[["unit_id", "level"]])


def test_unknown_county_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown county ids"):
        build_roster({"lanzhou": 10}, seed=1)


# ----------------------------------------------------------------------------------------------
# Pairing the plan's registry


def test_every_registered_household_of_the_plan_gets_one_cadre(
    plan_registry: Registry, paired: PairingResult
) -> None:
    table = paired.household_cadres
    registered = _registered(plan_registry)
    assert len(registered) == 12_600
    assert list(table.columns) == list(HOUSEHOLD_CADRE_COLUMNS)
    assert table["household_id"].tolist() == sorted(registered["household_id"].tolist())
    assert table["cadre_id"].notna().all()
    assert paired.ok and paired.problems() == []
    paired.raise_if_unpaired()  # nothing to raise


def test_capacities_are_respected_per_level(paired: PairingResult) -> None:
    loads = paired.cadre_loads
    assert (loads["households"] <= loads["capacity"]).all()
    higher = loads[loads["level"].isin(["prefecture", "county"])]
    assert (higher["households"] >= higher["min_households"]).all()  # 2-3 each, all serve
    prefecture = loads[loads["level"] == "prefecture"]
    assert prefecture["households"].between(2, 3).all()
    assert loads["households"].sum() == 12_600
    counted = paired.household_cadres.groupby("cadre_id").size()
    assert (
        counted.reindex(loads["cadre_id"], fill_value=0).to_numpy() == loads["households"]
    ).all()


def test_own_county_and_one_village_per_cadre(paired: PairingResult) -> None:
    table = paired.household_cadres
    assert table["same_county"].all()  # the roster suffices in every county
    assert (table["county_id"] == table["cadre_county_id"]).all()
    overall = paired.summary().set_index("level").loc["all"].to_dict()
    assert overall["share_same_county"] == 1.0
    assert overall["share_cadres_one_village"] >= 0.9
    assert 1.0 <= overall["villages_per_cadre"] <= 1.1
    # A cadre's villages, recomputed from the household table.
    villages = table.groupby("cadre_id")["village_id"].nunique()
    single = table["cadre_id"].map(villages == 1)
    assert (table["same_village"] == single).all()


def test_leading_bodies_take_the_villages_section_16_gives_them(
    plan_registry: Registry, paired: PairingResult
) -> None:
    immigrant = plan_registry.villages.set_index("village_id")["is_immigrant"]
    table = paired.household_cadres
    for unit, county in (("jq_party", "yumen"), ("jq_gov", "guazhou")):
        theirs = table[table["unit_id"] == unit]
        assert len(theirs) > 0
        assert (theirs["county_id"] == county).all()
        assert immigrant.reindex(theirs["village_id"]).all()  # resettlement villages


def test_cadre_tables_for_the_run(plan_registry: Registry, plan_scenario: Scenario) -> None:
    roster, households = cadre_tables(
        plan_registry.households, plan_registry.villages, plan_scenario.seed
    )
    assert list(roster.columns) == [*ROSTER_COLUMNS, "households", "villages"]
    assert roster["households"].sum() == len(households) == 12_600
    assert households["cadre_id"].isin(roster["cadre_id"]).all()
    by_village = village_cadres(households)
    assert by_village["households"].sum() == 12_600
    assert set(by_village["village_id"]) == set(households["village_id"])
    first = by_village.iloc[0]
    mine = households[
        (households["village_id"] == first["village_id"])
        & (households["cadre_id"] == first["cadre_id"])
    ]
    assert len(mine) == first["households"]


# ----------------------------------------------------------------------------------------------
# Shortages


def test_a_county_short_of_cadres_is_named_with_what_it_needs(
    plan_registry: Registry, roster: CadreRoster
) -> None:
    cadres = roster.cadres
    guazhou_town = cadres[(cadres["home_county_id"] == "guazhou") & (cadres["level"] == "township")]
    fewer = CadreRoster(cadres.drop(guazhou_town.index[:200]), roster.seed)
    result = pair_households(
        plan_registry.households, fewer, plan_registry.villages, allow_other_county=False
    )
    need = int(registered_per_county(plan_registry.households)["guazhou"])
    places = int(fewer.cadres.loc[fewer.cadres["home_county_id"] == "guazhou", "capacity"].sum())
    assert not result.ok
    lost = result.unpaired.set_index("county_id")
    assert lost.index.tolist() == ["guazhou"]
    assert lost.loc["guazhou", "households_unpaired"] == need - places
    assert lost.loc["guazhou", "cadres_needed"] == -(-(need - places) // 5)
    assert result.household_cadres["cadre_id"].isna().sum() == need - places
    text = str(result.problems()[0])
    assert f"Guazhou County needs {-(-(need - places) // 5)} more cadres" in text
    assert f"{need - places:,} registered households have no cadre" in text
    with pytest.raises(InputError, match="Guazhou County needs"):
        result.raise_if_unpaired()

    # Cadres of other counties may help when allowed: fewer households are left without one,
    # and those paired across a county line have cadres of a level that may travel.
    helped = pair_households(plan_registry.households, fewer, plan_registry.villages)
    assert helped.household_cadres["cadre_id"].isna().sum() < need - places
    away = helped.household_cadres[~helped.household_cadres["same_county"]].dropna(
        subset=["cadre_id"]
    )
    assert len(away) > 0
    assert set(away["level"].astype(str)) <= {"prefecture", "county"}
    assert (away["county_id"] == "guazhou").all()
    assert (helped.cadre_loads["households"] <= helped.cadre_loads["capacity"]).all()


def test_a_tiny_shortage_is_worded_in_the_singular() -> None:
    households = pd.DataFrame(
        {"household_id": np.arange(1, 7), "village_id": [1, 1, 1, 2, 2, 2], "county_id": "subei"}
    )
    roster = CadreRoster(
        pd.DataFrame(
            {
                "cadre_id": [1],
                "code": ["subei_t01-T001"],
                "unit_id": ["subei_t01"],
                "unit_name": ["Dangchengwan Town"],
                "unit_name_zh": ["党城湾镇"],
                "unit_level": ["township"],
                "level": ["township"],
                "home_county_id": ["subei"],
                "min_households": [1],
                "capacity": [5],
            }
        )
    )
    result = pair_households(households, roster)
    assert result.unpaired["households_unpaired"].tolist() == [1]
    assert "needs 1 more cadre: 1 registered household has no cadre" in str(result.problems()[0])


# ----------------------------------------------------------------------------------------------
# Determinism


def test_pairing_is_reproducible_and_independent_of_row_order(
    plan_registry: Registry, roster: CadreRoster, paired: PairingResult
) -> None:
    order = np.random.default_rng(11).permutation(len(plan_registry.households))
    shuffled = plan_registry.households.iloc[order]
    roster_order = np.random.default_rng(12).permutation(len(roster.cadres))
    shuffled_roster = CadreRoster(roster.cadres.iloc[roster_order], roster.seed)
    again = pair_households(shuffled, shuffled_roster, plan_registry.villages.iloc[::-1])
    pd.testing.assert_frame_equal(again.household_cadres, paired.household_cadres)
    pd.testing.assert_frame_equal(again.cadre_loads, paired.cadre_loads)
