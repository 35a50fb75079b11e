"""Health rules: illness probability, NCMS reimbursement and serious-illness insurance (plan §9).

Every expected number is computed by hand in the comments, from the NCMS effective inpatient
rates in ``fupinsim/data/social_protection.yaml`` (2014 65%, 2015 65%, 2016 66%) and the plan's
rules: +5 points for the registered poor from 2015, serious-illness deductible 5,000 yuan
(3,000 for the registered poor from 2016), 50% of the out-of-pocket cost above it.
"""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest

from fupinsim import data
from fupinsim.microsim import health
from fupinsim.microsim.health import illness_probability, out_of_pocket, reimbursement_rate
from fupinsim.scenario import HealthSettings

PLAN = HealthSettings()  # the defaults are the plan's numbers (PLAN §9)


def test_the_tables_rest_on_the_packaged_ncms_rates() -> None:
    """The hand computations below use these effective rates; a data change must be seen here."""
    assert data.ncms_inpatient_rate([2014, 2015, 2016]).tolist() == [0.65, 0.65, 0.66]
    assert PLAN.ncms_poor_bonus_points == 0.05
    assert PLAN.ncms_poor_bonus_from == 2015
    assert PLAN.serious_illness_threshold_yuan == 5_000
    assert PLAN.serious_illness_threshold_poor_yuan == 3_000
    assert PLAN.serious_illness_threshold_change_year == 2016
    assert PLAN.serious_illness_rate == 0.5


@pytest.mark.parametrize(
    ("year", "registered", "rate"),
    [
        (2014, True, 0.65),  # no bonus before 2015
        (2014, False, 0.65),
        (2015, True, 0.70),  # 65% + 5 points
        (2015, False, 0.65),
        (2016, True, 0.71),  # 66% + 5 points
        (2016, False, 0.66),
    ],
)
def test_reimbursement_rate_adds_five_points_for_the_poor_from_2015(
    year: int, registered: bool, rate: float
) -> None:
    got = reimbursement_rate(year, np.array([registered]), PLAN)
    assert got[0] == pytest.approx(rate, abs=1e-12)


def test_reimbursement_rate_never_exceeds_one() -> None:
    generous = HealthSettings(ncms_poor_bonus_points=0.5)
    assert reimbursement_rate(2016, np.array([True, False]), generous).tolist() == [1.0, 0.66]


# year, gross cost, enrolled, registered, out of pocket (yuan), how
OUT_OF_POCKET_TABLE = [
    # 2014: 20,000 × 35% = 7,000; deductible 5,000 → insurance 50% × 2,000 = 1,000 → 6,000
    (2014, 20_000.0, True, True, 6_000.0),
    # 2015: registered 70% → 6,000 left; deductible still 5,000 → 500 back → 5,500
    (2015, 20_000.0, True, True, 5_500.0),
    # 2015, not registered: 65% → 7,000; 5,000 → 1,000 back → 6,000
    (2015, 20_000.0, True, False, 6_000.0),
    # 2016, registered (the docstring example): 71% → 5,800; deductible 3,000 → 1,400 → 4,400
    (2016, 20_000.0, True, True, 4_400.0),
    # 2016, not registered: 66% → 6,800; deductible 5,000 → 900 back → 5,900
    (2016, 20_000.0, True, False, 5_900.0),
    # not enrolled: the gross cost, no NCMS and no serious-illness insurance
    (2016, 20_000.0, False, True, 20_000.0),
    (2014, 20_000.0, False, False, 20_000.0),
    # below the deductible: 2016 registered 8,000 × 29% = 2,320 < 3,000 → 2,320
    (2016, 8_000.0, True, True, 2_320.0),
    # 2015 registered 12,000 × 30% = 3,600 < 5,000 (the lower deductible is not yet in force)
    (2015, 12_000.0, True, True, 3_600.0),
    # 2016 registered 12,000 × 29% = 3,480; 480 above 3,000 → 240 back → 3,240
    (2016, 12_000.0, True, True, 3_240.0),
    (2016, 0.0, True, True, 0.0),
]


@pytest.mark.parametrize(
    ("year", "gross", "enrolled", "registered", "expected"), OUT_OF_POCKET_TABLE
)
def test_out_of_pocket_table(
    year: int, gross: float, enrolled: bool, registered: bool, expected: float
) -> None:
    got = out_of_pocket(np.array([gross]), np.array([enrolled]), np.array([registered]), year, PLAN)
    assert got[0] == pytest.approx(expected, abs=1e-6)


def test_out_of_pocket_is_vectorised_over_households() -> None:
    """The whole table at once for one year gives the same numbers row by row."""
    rows = [r for r in OUT_OF_POCKET_TABLE if r[0] == 2016]
    gross, enrolled, registered, expected = (np.array(c) for c in list(zip(*rows, strict=True))[1:])
    got = out_of_pocket(gross, enrolled.astype(bool), registered.astype(bool), 2016, PLAN)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_out_of_pocket_never_exceeds_the_gross_cost_and_falls_with_cover() -> None:
    gross = np.linspace(0.0, 100_000.0, 41)
    for year in (2014, 2015, 2016, 2017):
        none = out_of_pocket(gross, np.zeros(41, bool), np.zeros(41, bool), year, PLAN)
        other = out_of_pocket(gross, np.ones(41, bool), np.zeros(41, bool), year, PLAN)
        poor = out_of_pocket(gross, np.ones(41, bool), np.ones(41, bool), year, PLAN)
        np.testing.assert_array_equal(none, gross)
        assert np.all(other <= none + 1e-9)
        assert np.all(poor <= other + 1e-9)
        assert np.all(np.diff(poor) >= 0)  # more cost, never less to pay


# adults (working age), elderly, chronically ill, probability with p = 0.1 / 0.2 / 0.5
ILLNESS_TABLE = [
    (0, 0, 0, 0.0),
    (1, 0, 0, 0.1),
    (2, 0, 0, 0.19),  # 1 − 0.9²
    (0, 1, 0, 0.2),
    (1, 1, 0, 0.28),  # 1 − 0.9 × 0.8
    (2, 0, 1, 0.55),  # the docstring example: 1 − 0.9 × 0.5
    (1, 0, 1, 0.5),  # the one adult is the chronically ill member
    (1, 1, 1, 0.6),  # chronic taken from the adults first: 1 − 0.8 × 0.5
    (0, 1, 1, 0.5),  # an ill elderly member counts once, as chronic
    (0, 2, 1, 0.6),  # 1 − 0.8 × 0.5
]


@pytest.mark.parametrize(("adults", "elderly", "chronic", "expected"), ILLNESS_TABLE)
def test_illness_probability_table(
    adults: int, elderly: int, chronic: int, expected: float
) -> None:
    settings = HealthSettings(
        illness_probability_adult=0.1,
        illness_probability_elderly=0.2,
        illness_probability_chronic=0.5,
    )
    got = illness_probability(
        np.array([adults]), np.array([elderly]), np.array([chronic]), settings
    )
    assert got[0] == pytest.approx(expected, abs=1e-12)


def test_illness_probability_grows_with_every_kind_of_member() -> None:
    """Adding a member never lowers the probability; chronic illness raises it.

    ``n_working_age`` counts chronically ill working-age members too, so a chronically ill
    adult is one more adult and one more chronic member.
    """
    grid = np.array(list(itertools.product(range(5), range(4), range(5))))
    grid = grid[grid[:, 2] <= grid[:, 0] + grid[:, 1]]  # the ill are members
    adults, elderly, chronic = grid.T
    p = illness_probability(adults, elderly, chronic, PLAN)
    assert np.all((p >= 0) & (p < 1))
    for name, step in {"adult": (1, 0, 0), "elderly": (0, 1, 0), "ill adult": (1, 0, 1)}.items():
        p_more = illness_probability(*(grid + np.array(step)).T, PLAN)
        assert np.all(p_more > p - 1e-12), f"one more {name} lowered P(illness)"
    # A healthy adult falling chronically ill raises it (0.35 > 0.10).
    healthy = illness_probability(adults + 1, elderly, chronic, PLAN)
    ill = illness_probability(adults + 1, elderly, chronic + 1, PLAN)
    assert np.all(ill > healthy)


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(health, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2
    assert result.failed == 0
