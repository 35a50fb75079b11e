"""Exit rules (2016 exit mechanism), return to poverty, incidence and the monitoring band.

A registered household exits in a year when officials see its per-capita net income above the
year's line (by ``exit_income_margin``) for ``exit_stable_years`` years in a row ("stably"),
and it has the guarantees: safe housing (grade A or B), safe water, basic medical cover (NCMS)
and compulsory schooling (no child of school age out of school). Enough food and clothing is
taken as implied by income above the line. An exited household returns to poverty after
``return_years_below`` years in a row below the line. Villages and counties exit at an incidence
of at most 3% (western rule, ``fupinsim/data/exit_rules.yaml``).

All functions are vectorised over households and free of randomness.
"""

from __future__ import annotations

import numpy as np

from fupinsim import data

__all__ = [
    "GUARANTEES",
    "exit_step",
    "incidence_threshold",
    "meets_guarantees",
    "return_step",
]

#: The household guarantees checked besides income (food and clothing follow from income).
GUARANTEES: tuple[str, ...] = (
    "safe_housing",
    "safe_water",
    "basic_medical",
    "compulsory_schooling",
)


def meets_guarantees(
    safe_housing: np.ndarray,
    safe_water: np.ndarray,
    basic_medical: np.ndarray,
    n_dropouts: np.ndarray,
) -> np.ndarray:
    """True where a household has every guarantee.

    >>> meets_guarantees(np.array([True, True]), np.array([True, False]),
    ...                  np.array([True, True]), np.array([0, 0])).tolist()
    [True, False]
    """
    return safe_housing & safe_water & basic_medical & (n_dropouts == 0)


def exit_step(
    remaining: np.ndarray,
    above_streak: np.ndarray,
    measured_income_pc: np.ndarray,
    line: float,
    margin: float,
    stable_years: int,
    guarantees: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One year of the exit test.

    Parameters
    ----------
    remaining:
        Registered households not (or no longer) exited.
    above_streak:
        Years in a row, before this one, that the household was seen above the line.
    measured_income_pc:
        The income officials see this year (yuan per person).

    Returns
    -------
    exits, streak:
        Households exiting this year, and the updated streak (counting this year).

    >>> exit_step(np.array([True, True, True, False]), np.array([0, 1, 1, 1]),
    ...           np.array([3000.0, 3000.0, 2000.0, 9000.0]), 2855.0, 0.0, 2,
    ...           np.array([True, True, True, True]))[0].tolist()
    [False, True, False, False]
    """
    above = measured_income_pc >= line * (1.0 + margin)
    streak = np.where(above, above_streak + 1, 0)
    exits = remaining & (streak >= stable_years) & guarantees
    return exits, streak


def return_step(
    exited: np.ndarray,
    below_streak: np.ndarray,
    measured_income_pc: np.ndarray,
    line: float,
    years_below: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One year of the return test: exited households below the line ``years_below`` years.

    Returns the households returning to poverty this year and the updated below-line streak.

    >>> return_step(np.array([True, True, False]), np.array([0, 0, 0]),
    ...             np.array([2000.0, 4000.0, 1000.0]), 2855.0, 1)[0].tolist()
    [True, False, False]
    """
    below = measured_income_pc < line
    streak = np.where(below & exited, below_streak + 1, 0)
    returns = exited & (streak >= years_below)
    return returns, np.where(returns, 0, streak)


def incidence_threshold() -> float:
    """Incidence at or below which a village or county exits (share of people)."""
    return float(data.load_raw("exit_rules")["village"]["max_incidence"]["value"])
