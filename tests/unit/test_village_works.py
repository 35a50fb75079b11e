"""Village works draw on the same pools as the households' packages (issue 10, item 6)."""

from __future__ import annotations

import pandas as pd
import pytest

from fupinsim.microsim import load_catalogue
from fupinsim.pipeline.works import village_works_plan, village_works_table, works_draws


def _works(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["county_id", "start_year", "cost_fiscal_yuan"])


def test_works_are_paid_from_the_county_pool_then_the_city_pool() -> None:
    works = _works([("yumen", 2015, 300.0), ("yumen", 2015, 100.0), ("suzhou", 2016, 50.0)])
    funding = pd.DataFrame(
        {
            "pool": ["yumen", "yumen", "city", "city", "suzhou", "suzhou"],
            "source": "earmark",
            "year": [2015, 2016, 2015, 2016, 2015, 2016],
            "amount_yuan": [250.0, 10.0, 100.0, 5.0, 0.0, 20.0],
        }
    )
    paid, money = works_draws(works, funding)
    # Yumen 2015: 400 due, 250 from its pool, 100 from the city's, 50 unfunded (shared 3:1).
    assert paid["pool_county_yuan"].tolist() == pytest.approx([187.5, 62.5, 20.0])
    assert paid["pool_city_yuan"].tolist() == pytest.approx([75.0, 25.0, 5.0])
    assert paid["unfunded_yuan"].tolist() == pytest.approx([37.5, 12.5, 25.0])
    left = money.set_index(["pool", "year"])["amount_yuan"]
    assert left[("yumen", 2015)] == 0.0 and left[("city", 2015)] == 0.0
    assert left[("yumen", 2016)] == 10.0 and left[("suzhou", 2016)] == 0.0
    total = paid[["pool_county_yuan", "pool_city_yuan", "unfunded_yuan"]].sum(axis=1)
    assert total.tolist() == pytest.approx(works["cost_fiscal_yuan"].tolist())


def test_the_plan_builds_clinics_and_culture_rooms_at_their_cost(plan_registry, plan_scenario):
    plan = village_works_plan(plan_registry, plan_scenario)
    table = village_works_table(plan, plan_registry, load_catalogue(plan_scenario))
    villages = plan_registry.villages.set_index("village_id")
    clinics = table[table["package_id"] == "village_clinic"]
    poor = villages[villages["is_poor_village"]]
    assert len(clinics) == int((~poor["has_clinic"]).sum())
    assert (clinics["cost_fiscal_yuan"] == 100_000.0).all()  # PLAN §9
    rooms = table[table["package_id"] == "village_culture_room"]
    assert villages.loc[rooms["village_id"], "is_immigrant"].all()
    assert not villages.loc[rooms["village_id"], "has_culture_room"].any()
