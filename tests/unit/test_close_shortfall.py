"""The shortfall re-solves through one HiGHS model give the answers of PuLP's fresh solves."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from allocation_toy import SHORT_MONEY, toy_inputs

from fupinsim.allocate import build_model, solve_model
from fupinsim.allocate.resolve import HighsResolver
from fupinsim.allocate.results import close_shortfall, diagnostics_resolver, target_table
from fupinsim.allocate.solve import SolveSettings

SEATS_USE = pd.DataFrame(
    {"package_id": ["p1", "p2"], "resource": ["seats", "seats"], "units_per_household": 1.0}
)
SEATS = pd.DataFrame({"resource": ["seats", "seats"], "year": [2015, 2016], "units": [0, 40]})


def _cases() -> dict[str, object]:
    return {
        "money": toy_inputs(SHORT_MONEY),
        "capacity": toy_inputs(
            {("b", 2016): 1e6}, counties=("b",), capacity_use=SEATS_USE, capacity=SEATS
        ),
        "exit_yield": toy_inputs(
            {("b", 2016): 1e6}, counties=("b",), targets=[("b", "all", 2016, 90)]
        ),
    }


@pytest.mark.parametrize("case", ["money", "capacity", "exit_yield"])
@pytest.mark.parametrize("warm", [True, False])
def test_resolver_diagnosis_equals_the_pulp_one(case: str, warm: bool) -> None:
    """Same binding resource, years and capacity; the same money to solver precision."""
    model = build_model(_cases()[case])  # type: ignore[arg-type]
    solution = solve_model(model)
    quotas = pd.DataFrame(
        [(t, p, s, solution.values[var.name]) for (t, p, s), var in model.x.items()],
        columns=["type_id", "package_id", "start_year", "households"],
    )
    table = target_table(model.data, quotas)
    missing = {
        (str(c), str(v), int(y)): float(m)
        for c, v, y, m in table[["county_id", "villages", "year", "missing_exits"]].itertuples(
            index=False
        )
    }
    gaps = [key for key, gap in missing.items() if gap > 0]
    assert gaps
    resolver = HighsResolver(model.problem, SolveSettings(), warm=warm)
    for key in gaps * 2:  # twice: a warm start from a diagnosis must not change the next one
        fresh = close_shortfall(model, key, missing, SolveSettings())
        reused = close_shortfall(model, key, missing, SolveSettings(), resolver)
        assert (
            reused.binding_resource == fresh.binding_resource == case.replace("capacity", "seats")
        )
        assert reused.years == fresh.years
        if math.isnan(fresh.extra_yuan):
            assert math.isnan(reused.extra_yuan)
        else:
            assert reused.extra_yuan == pytest.approx(fresh.extra_yuan, rel=1e-9)
        assert set(reused.capacity_needed) == set(fresh.capacity_needed)
        for k, units in fresh.capacity_needed.items():
            assert reused.capacity_needed[k] == pytest.approx(units, rel=1e-9)
    # The model itself is left as it was.
    assert all(var.upBound == 0.0 for var in model.extra_money.values())
    assert all(var.upBound is None for var in model.shortfall.values())


def test_no_resolver_for_cbc() -> None:
    """CBC keeps PuLP's path (the resolver is HiGHS only)."""
    model = build_model(toy_inputs(SHORT_MONEY))
    assert diagnostics_resolver(model, SolveSettings(solver="cbc")) is None
    assert isinstance(diagnostics_resolver(model, SolveSettings()), HighsResolver)
