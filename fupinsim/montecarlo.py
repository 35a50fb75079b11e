"""Monte Carlo error of P(target met): binomial standard error, interval, and a warning.

A probability estimated from ``n`` replications is a share of successes, so it can only take
the values 0, 1/n, 2/n, … (20 replications move in 5-point steps) and it carries a binomial
standard error ``sqrt(p (1 - p) / n)``. :func:`mc_standard_error` gives that error with a
Wilson score or a Jeffreys interval (both stay inside 0–1 and are not empty at p = 0 or 1, where
the standard error is 0); :func:`add_mc_error` adds them to a table with a ``p_met`` column;
:func:`replications_warning` says, in planner's words, when the replications are too few to
tell P(met) from the confidence the plan requires.

Pure functions: no I/O.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "MonteCarloError",
    "add_mc_error",
    "mc_standard_error",
    "replications_needed",
    "replications_warning",
]

logger = logging.getLogger(__name__)

Method = Literal["wilson", "jeffreys"]


@dataclass(frozen=True)
class MonteCarloError:
    """Monte Carlo error of a probability ``p`` estimated from ``n`` replications.

    ``se`` is the binomial standard error (probability units, 0–1); ``low``/``high`` the
    ``level`` interval by ``method``; ``step`` the smallest change ``n`` replications can show.
    """

    p: float
    n: int
    se: float
    low: float
    high: float
    level: float
    method: str

    @property
    def step(self) -> float:
        """Resolution of the estimate: 1/n (0.05 for 20 replications)."""
        return 1.0 / self.n


def _check(p: float, n: int, level: float) -> None:
    if not 0.0 <= p <= 1.0 or not math.isfinite(p):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number of replications >= 1, got {n!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")


def _wilson(p: float, n: int, z: float) -> tuple[float, float]:
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _jeffreys(p: float, n: int, level: float) -> tuple[float, float]:
    # Beta(x + 1/2, n - x + 1/2) quantiles; the bound at 0 (or 1) successes is 0 (or 1).
    x = p * n
    alpha = 1.0 - level
    low = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x + 0.5, n - x + 0.5))
    high = 1.0 if x >= n else float(stats.beta.ppf(1 - alpha / 2, x + 0.5, n - x + 0.5))
    return low, high


def mc_standard_error(
    p: float, n: int, level: float = 0.95, method: Method = "wilson"
) -> MonteCarloError:
    """Binomial standard error of ``p`` from ``n`` replications, with an interval.

    Parameters
    ----------
    p
        Estimated probability (share of replications meeting the target), 0–1.
    n
        Number of replications.
    level
        Coverage of the interval (0.95: a 95% interval).
    method
        ``"wilson"`` (score interval) or ``"jeffreys"`` (Beta(x + ½, n − x + ½) quantiles).

    >>> e = mc_standard_error(0.9, 100)
    >>> round(e.se, 4), round(e.low, 4), round(e.high, 4)
    (0.03, 0.8256, 0.9448)
    """
    _check(p, n, level)
    n = int(n)
    se = math.sqrt(p * (1.0 - p) / n)
    if method == "wilson":
        low, high = _wilson(p, n, NormalDist().inv_cdf(0.5 + level / 2))
    elif method == "jeffreys":
        low, high = _jeffreys(p, n, level)
    else:
        raise ValueError(f"method must be 'wilson' or 'jeffreys', got {method!r}")
    return MonteCarloError(p, n, se, low, high, level, method)


def add_mc_error(
    frame: pd.DataFrame, n: int, column: str = "p_met", level: float = 0.95
) -> pd.DataFrame:
    """A copy of ``frame`` with ``<column>_se``, ``<column>_low``, ``<column>_high`` (Wilson).

    For ``target_probability`` (``p_met``) or any table of probabilities from ``n``
    replications. Missing probabilities stay missing.
    """
    out = frame.copy()
    errors = [mc_standard_error(float(p), n, level) if pd.notna(p) else None for p in frame[column]]
    out[f"{column}_se"] = np.array([e.se if e else np.nan for e in errors], dtype=float)
    out[f"{column}_low"] = np.array([e.low if e else np.nan for e in errors], dtype=float)
    out[f"{column}_high"] = np.array([e.high if e else np.nan for e in errors], dtype=float)
    return out


def _margin(required_confidence: float) -> float:
    """How close P(met) must be told from the requirement: half its distance to 0 or 1."""
    return min(required_confidence, 1.0 - required_confidence) / 2.0


def replications_needed(required_confidence: float, level: float = 0.95) -> int:
    """Replications for the ``level`` error of P(met) at the requirement to be within the margin.

    The margin is half the distance from the required confidence to certainty (5 points at
    0.9): ``n = ceil(z² c (1 − c) / margin²)``. 139 at 0.9 and a 95% level.
    """
    _check(required_confidence, 1, level)
    if required_confidence in (0.0, 1.0):
        raise ValueError("the required confidence must be strictly between 0 and 1")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    c = required_confidence
    return math.ceil(z * z * c * (1.0 - c) / _margin(c) ** 2 - 1e-9)


def replications_warning(required_confidence: float, n: int, level: float = 0.95) -> str | None:
    """A planner's warning when ``n`` replications cannot tell P(met) from the requirement.

    Returns ``None`` when ``n`` is enough (:func:`replications_needed`), else a sentence with
    the step size, the range a plan exactly at the requirement may show, and the number of
    replications to use.
    """
    needed = replications_needed(required_confidence, level)
    if n >= needed:
        return None
    error = mc_standard_error(required_confidence, n, level)
    c = required_confidence
    message = (
        f"With {n} replications P(target met) moves in steps of {100 / n:.1f} points and is "
        f"uncertain by about ±{100 * (error.high - error.low) / 2:.0f} points: a plan that "
        f"truly meets its target {100 * c:.0f}% of the time may show anywhere from "
        f"{100 * error.low:.0f}% to {100 * error.high:.0f}%, so the results cannot tell it from "
        f"the required {100 * c:.0f}%. Use at least {needed} replications."
    )
    logger.debug("replications warning: %s", message)
    return message
