"""Illness: who falls ill, what it costs, what NCMS and serious-illness insurance pay back.

Rules (plan §9, scenario ``microsim.health``):

* NCMS reimburses the year's effective inpatient rate of the gross cost for enrolled members;
  registered poor households get ``ncms_poor_bonus_points`` more from ``ncms_poor_bonus_from``
  (+5 points from 2015).
* Serious-illness insurance then pays ``serious_illness_rate`` of the out-of-pocket cost above a
  deductible: ``serious_illness_threshold_yuan`` (5,000), for registered poor households
  ``serious_illness_threshold_poor_yuan`` (3,000) from ``serious_illness_threshold_change_year``
  (2016).
* Households without NCMS pay the gross cost.

The engine takes the rates and deductibles year by year from the scenario's dated policy
parameters (``scenario.policy_table()``: ``ncms_inpatient_rate``, ``ncms_poor_bonus``,
``serious_illness_threshold[_poor]``), whose defaults are these rules; the functions here give
the rules without a scenario's ``policy`` overrides.

All functions are vectorised over households; money in yuan per household per year.
"""

from __future__ import annotations

import numpy as np

from fupinsim import data
from fupinsim.scenario import HealthSettings

__all__ = [
    "illness_probability",
    "out_of_pocket",
    "reimbursement_rate",
    "serious_illness_threshold",
]


def illness_probability(
    n_working_age: np.ndarray,
    n_elderly: np.ndarray,
    n_chronic_ill: np.ndarray,
    settings: HealthSettings,
) -> np.ndarray:
    """Probability that a household has at least one serious illness episode in a year.

    Members fall ill independently: P = 1 − (1−p_adult)^adults (1−p_elderly)^elderly
    (1−p_chronic)^chronic, where chronically ill members count only as chronic: they are taken
    from the working-age members first, then from the elderly.

    Two working-age members, one of them chronically ill: 1 − 0.9 × 0.5 = 0.55.

    >>> from fupinsim.scenario import HealthSettings
    >>> s = HealthSettings(illness_probability_adult=0.1, illness_probability_elderly=0.2,
    ...                    illness_probability_chronic=0.5)
    >>> round(float(illness_probability(np.array([2]), np.array([0]), np.array([1]), s)[0]), 12)
    0.55
    """
    healthy_adults = np.maximum(n_working_age - n_chronic_ill, 0)
    chronic_elderly = np.maximum(n_chronic_ill - n_working_age, 0)
    healthy_elderly = np.maximum(n_elderly - chronic_elderly, 0)
    stay_well = (
        (1.0 - settings.illness_probability_adult) ** healthy_adults
        * (1.0 - settings.illness_probability_elderly) ** healthy_elderly
        * (1.0 - settings.illness_probability_chronic) ** n_chronic_ill
    )
    return 1.0 - stay_well


def reimbursement_rate(year: int, registered: np.ndarray, settings: HealthSettings) -> np.ndarray:
    """NCMS effective inpatient reimbursement share for each household in ``year``."""
    base = float(data.ncms_inpatient_rate([year])[0])
    bonus = settings.ncms_poor_bonus_points if year >= settings.ncms_poor_bonus_from else 0.0
    return np.where(registered, min(base + bonus, 1.0), base)


def serious_illness_threshold(
    year: int, registered: np.ndarray, settings: HealthSettings
) -> np.ndarray:
    """Serious-illness insurance deductible for each household in ``year`` (yuan)."""
    lower = year >= settings.serious_illness_threshold_change_year
    return np.where(
        registered & lower,
        settings.serious_illness_threshold_poor_yuan,
        settings.serious_illness_threshold_yuan,
    )


def out_of_pocket(
    gross_cost: np.ndarray,
    enrolled: np.ndarray,
    registered: np.ndarray,
    year: int,
    settings: HealthSettings,
) -> np.ndarray:
    """Out-of-pocket medical cost after NCMS and serious-illness insurance (yuan).

    Examples
    --------
    A registered household enrolled in NCMS with a 20,000-yuan episode in 2016: NCMS pays
    66% + 5 points = 71% → 5,800 left; the deductible for the poor is 3,000, so insurance pays
    50% × 2,800 = 1,400 → 4,400 out of pocket.

    >>> from fupinsim.scenario import HealthSettings
    >>> oop = out_of_pocket(np.array([20_000.0]), np.array([True]), np.array([True]), 2016,
    ...                     HealthSettings())
    >>> round(float(oop[0]))
    4400
    """
    rate = reimbursement_rate(year, registered, settings)
    after_ncms = np.where(enrolled, gross_cost * (1.0 - rate), gross_cost)
    threshold = serious_illness_threshold(year, registered, settings)
    insured = np.where(
        enrolled, settings.serious_illness_rate * np.maximum(after_ncms - threshold, 0.0), 0.0
    )
    return after_ncms - insured
