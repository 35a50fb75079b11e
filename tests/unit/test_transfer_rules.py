"""Transfer rules: dibao top-up, wubao support, rural pension and farm subsidy.

Hand-computed tables; the rule amounts come from ``fupinsim/data/social_protection.yaml``
(dibao standard 2,400 yuan in 2014 and 2,700 in 2015, minimum payment 20% of the standard,
wubao 4,000 yuan a person in 2014 and 4,800 in 2016, pension 70 yuan a month growing 5% a
year, farm subsidy 90 yuan a mu).
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from fupinsim import data
from fupinsim.microsim import transfers
from fupinsim.microsim.transfers import dibao_payment, farm_subsidy, pension, wubao_payment


def test_the_tables_rest_on_the_packaged_amounts() -> None:
    social = data.social_protection()
    assert data.dibao_standard([2014, 2015]).tolist() == [2400.0, 2700.0]
    assert social["dibao_rules"]["min_payment_share"] == 0.2
    assert data.wubao_support([2014, 2015, 2016]).tolist() == [4000.0, 4400.0, 4800.0]
    assert social["pension"]["monthly_basic"] == 70
    assert social["pension"]["yearly_growth"] == 0.05
    assert social["farm_subsidy"]["per_mu"] == 90


# per-capita income before dibao, members, enrolled, payment (standard 2,700, minimum 20%)
DIBAO_TABLE = [
    (1_000.0, 3, True, 5_100.0),  # gap 1,700 a person × 3
    (2_500.0, 2, True, 1_080.0),  # gap 200 < minimum 540 a person → 540 × 2
    (2_160.0, 1, True, 540.0),  # gap exactly the minimum
    (2_699.0, 4, True, 2_160.0),  # 1 yuan below the standard: still the minimum, 540 × 4
    (2_700.0, 2, True, 0.0),  # at the standard: nothing
    (3_000.0, 2, True, 0.0),  # above
    (1_000.0, 3, False, 0.0),  # not enrolled: nothing however poor
    (-500.0, 1, True, 3_200.0),  # negative net income (farm losses) topped up to the standard
    (0.0, 5, True, 13_500.0),
]


@pytest.mark.parametrize(("income_pc", "members", "enrolled", "expected"), DIBAO_TABLE)
def test_dibao_top_up_table(
    income_pc: float, members: int, enrolled: bool, expected: float
) -> None:
    got = dibao_payment(
        np.array([income_pc]), np.array([members]), 2700.0, np.array([enrolled]), 0.2
    )
    assert got[0] == pytest.approx(expected, abs=1e-9)


def test_dibao_brings_enrolled_households_at_least_to_the_standard() -> None:
    income_pc = np.linspace(-1_000.0, 4_000.0, 501)
    members = np.full(income_pc.size, 3)
    paid = dibao_payment(income_pc, members, 2700.0, np.ones(income_pc.size, bool), 0.2)
    after = income_pc + paid / members
    below = income_pc < 2700.0
    assert np.all(after[below] >= 2700.0 - 1e-9)
    assert np.all(paid[~below] == 0.0)
    assert np.all(paid[below] >= 0.2 * 2700.0 * 3 - 1e-9)


def test_dibao_minimum_share_defaults_to_the_data_file() -> None:
    got = dibao_payment(np.array([2_500.0]), np.array([2]), 2700.0, np.array([True]))
    assert got.tolist() == [1_080.0]  # 0.2 × 2,700 × 2 from social_protection.yaml


def test_dibao_without_minimum_pays_the_gap_only() -> None:
    got = dibao_payment(np.array([2_500.0]), np.array([2]), 2700.0, np.array([True]), 0.0)
    assert got.tolist() == [400.0]


def test_dibao_standard_may_differ_by_household() -> None:
    got = dibao_payment(
        np.array([2_000.0, 2_000.0]),
        np.array([1, 1]),
        np.array([2_400.0, 2_700.0]),
        np.array([True, True]),
        0.2,
    )
    assert got.tolist() == [480.0, 700.0]  # 2014: minimum 480 > gap 400; 2015: gap 700


def test_wubao_support_per_member() -> None:
    members = np.array([1, 2, 2])
    is_wubao = np.array([True, True, False])
    assert wubao_payment(members, is_wubao, 2014).tolist() == [4_000.0, 8_000.0, 0.0]
    assert wubao_payment(members, is_wubao, 2015).tolist() == [4_400.0, 8_800.0, 0.0]


def test_pension_grows_five_percent_a_year() -> None:
    elderly = np.array([0, 1, 2])
    assert pension(elderly, 2014).tolist() == pytest.approx([0.0, 840.0, 1_680.0])
    assert pension(elderly, 2016).tolist() == pytest.approx([0.0, 926.1, 1_852.2])  # × 1.05²


def test_farm_subsidy_per_mu() -> None:
    assert farm_subsidy(np.array([0.0, 2.5, 10.0])).tolist() == pytest.approx([0.0, 225.0, 900.0])


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(transfers)
    assert result.attempted >= 1
    assert result.failed == 0
