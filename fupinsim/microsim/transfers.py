"""Social transfers by rule: dibao top-up, wubao support, rural pension, farm subsidy.

All vectorised over households; money in yuan per household per year.
"""

from __future__ import annotations

import numpy as np

from fupinsim import data
from fupinsim.units import BASE_YEAR

__all__ = ["dibao_payment", "farm_subsidy", "pension", "wubao_payment"]


def dibao_payment(
    income_pc_before: np.ndarray,
    members: np.ndarray,
    standard: float | np.ndarray,
    enrolled: np.ndarray,
    min_payment_share: float | None = None,
) -> np.ndarray:
    """Dibao paid to enrolled households whose per-capita income is below the standard.

    The payment tops income up to the standard, at least ``min_payment_share`` × standard per
    person (the tiered dibao pays even households close to the standard).

    >>> dibao_payment(np.array([1000.0, 2500.0, 3000.0]), np.array([3, 2, 2]), 2700.0,
    ...               np.array([True, True, True]), 0.2).tolist()
    [5100.0, 1080.0, 0.0]
    """
    if min_payment_share is None:
        min_payment_share = data.social_protection()["dibao_rules"]["min_payment_share"]
    standard = np.asarray(standard, dtype=float)
    gap = standard - income_pc_before
    per_person = np.maximum(gap, min_payment_share * standard)
    return np.where(enrolled & (gap > 0), per_person * members, 0.0)


def wubao_payment(members: np.ndarray, is_wubao: np.ndarray, year: int) -> np.ndarray:
    """Wubao (extreme-poverty) support for wubao households in ``year``."""
    support = float(data.wubao_support([year])[0])
    return np.where(is_wubao, support * members, 0.0)


def pension(n_elderly: np.ndarray, year: int) -> np.ndarray:
    """Basic rural pension of the household's elderly members in ``year`` (packaged rule).

    The engine uses the scenario's dated ``pension_monthly`` and ``pension_age`` instead
    (``scenario.policy_table()``), which default to this amount, paid from age 60.
    """
    rules = data.social_protection()["pension"]
    yearly = 12 * rules["monthly_basic"] * (1 + rules["yearly_growth"]) ** (year - BASE_YEAR)
    return n_elderly * yearly


def farm_subsidy(land_mu: np.ndarray) -> np.ndarray:
    """Grain-direct and input subsidies on contracted land."""
    return land_mu * data.social_protection()["farm_subsidy"]["per_mu"]
