"""Identification of the poor (plan §5) and classification of the registered (§25).

"Five steps and one announcement": households apply, the group evaluates, village, township
and county review, and the list is announced. The model keeps what matters for errors:

* **Measured income.** Cadres record market income with error: recorded = true × a lognormal
  factor (``identification.measurement_sigma``); transfers are administrative and exact.
* **Application and review.** A few eligible households do not apply
  (``non_application_rate``); reviewers rank by recorded per-capita income, with noise
  (``review_sigma``), and see visible hardship (dilapidated house, chronic illness, no labour),
  which lowers the need score by ``hardship_bonus``.
* **County quota** ("scale control", as in the 2014 identification): each county × village-type
  cell registers exactly its quota, the plan's households.

Truth for error rates: the *truly poor* of a cell are its ``quota`` households with the lowest
true per-capita income (the quota line). Inclusion error = registered but not truly poor, as a
share of the registered; exclusion error = truly poor but not registered, as a share of the
truly poor. (With a quota they are equal in number, so the two rates are equal per cell.)

Classification (§25): registered households with labour get *development* support; those
without labour, or wubao, get *social-security* cover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupinsim import data, rng
from fupinsim.errors import InputError
from fupinsim.registry.demography import MAX_MEMBERS
from fupinsim.registry.schema import SUPPORT_CLASSES
from fupinsim.registry.synthetic import RegistryPlan
from fupinsim.scenario import IdentificationSettings
from fupinsim.units import BASE_YEAR

__all__ = [
    "adjust_people",
    "assign_helpers",
    "classify_support",
    "identification_rates",
    "measure_incomes",
    "record_main_cause",
    "register_by_quota",
    "support_codes",
]

_MARKET = (
    "income_wages",
    "income_crops",
    "income_livestock",
    "income_greenhouse",
    "income_business",
    "income_property",
    "production_cost",
)
_ADJUST_KEY = 4_000_000
RAKE_SAMPLE = 8192


def measure_incomes(households: pd.DataFrame, plan: RegistryPlan, sigma: float) -> pd.DataFrame:
    """Replace true income components by recorded ones (market income × lognormal error).

    Noise is drawn per block of households (stream ``identification``), so the result does not
    depend on how the table was chunked. Adds ``income_pc`` (recorded per-capita net income).
    """
    factor = np.empty(len(households))
    positions = households["household_id"].to_numpy() - 1
    first = positions[0] // plan.block_households if len(positions) else 0
    last = positions[-1] // plan.block_households if len(positions) else -1
    for block in range(first, last + 1):
        size = plan.positions(block).size
        noise = rng.generator(plan.seed, "identification", block).lognormal(0.0, sigma, size)
        in_block = (positions // plan.block_households) == block
        factor[in_block] = noise[positions[in_block] - block * plan.block_households]
    out = households.copy(deep=False)  # copy-on-write: the caller's table is not changed
    for column in _MARKET:
        out[column] = out[column].to_numpy() * factor
    out["income_pc"] = recorded_income_pc(out)
    return out


def recorded_income_pc(households: pd.DataFrame) -> np.ndarray:
    """Per-capita net income from the recorded components (yuan per person per year)."""
    total = sum(households[c].to_numpy() for c in _MARKET[:-1]) + households["income_transfers"]
    net = np.asarray(total) - households["production_cost"].to_numpy()
    return net / households["n_members"].to_numpy()


def _rank_within(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """0-based rank of each value within its group (ascending, ties by position)."""
    order = np.lexsort((np.arange(values.size), values, groups))
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    first_of_group = np.repeat(starts, np.diff(np.r_[starts, order.size]))
    ranks = np.empty(values.size, dtype=np.int64)
    ranks[order] = np.arange(values.size) - first_of_group
    return ranks


def register_by_quota(
    households: pd.DataFrame, plan: RegistryPlan, settings: IdentificationSettings
) -> np.ndarray:
    """Registered flag: each cell's quota of households with the lowest need score."""
    gen = rng.generator(plan.seed, "identification", _ADJUST_KEY)
    n = len(households)
    hardship = (
        households["housing_grade"].isin(["C", "D"]).to_numpy()
        | (households["n_chronic_ill"].to_numpy() > 0)
        | (households["n_labour"].to_numpy() == 0)
    )
    score = households["income_pc"].to_numpy() * np.exp(gen.normal(0.0, settings.review_sigma, n))
    score = score * (1.0 - settings.hardship_bonus * hardship)
    applies = gen.random(n) >= settings.non_application_rate
    score = np.where(applies, score, np.inf)
    cell = households["cell"].to_numpy()
    quota = np.array([c.n_registered for c in plan.cells])
    return _rank_within(cell, score) < quota[cell]


def truly_poor(households: pd.DataFrame, plan: RegistryPlan) -> np.ndarray:
    """The quota-many households with the lowest true per-capita income in each cell."""
    cell = households["cell"].to_numpy()
    quota = np.array([c.n_registered for c in plan.cells])
    return _rank_within(cell, households["true_income_pc"].to_numpy()) < quota[cell]


def adjust_people(
    members: np.ndarray,
    dependants: np.ndarray,
    candidates: np.ndarray,
    target: int,
    gen: np.random.Generator,
) -> np.ndarray:
    """Add or remove dependants in candidate households until their members sum to ``target``.

    Only "other" dependants (not labour, students or elderly; e.g. pre-school children) are
    added or removed, one per household per pass, so the change to any household is small.

    Raises
    ------
    InputError
        If the target cannot be reached (e.g. more people asked than 12 per household).
    """
    members = members.copy()
    idx = np.flatnonzero(candidates)
    diff = int(target - members[idx].sum())
    changed = np.zeros(members.size, dtype=np.int64)
    while diff != 0:
        if diff > 0:
            pool = idx[members[idx] < MAX_MEMBERS]
        else:
            pool = idx[(dependants[idx] + changed[idx] > 0) & (members[idx] > 1)]
        if pool.size == 0:
            raise InputError.single(
                "registry.n_registered_people",
                target,
                "must be reachable with 1-12 members per registered household",
            )
        pick = gen.choice(pool, size=min(abs(diff), pool.size), replace=False)
        step = 1 if diff > 0 else -1
        members[pick] += step
        changed[pick] += step
        diff -= step * pick.size
    return members


def _cause_eligibility(households: pd.DataFrame) -> np.ndarray:
    """Which of the 13 causes the registry's consistency rules allow for each household."""
    n = len(households)
    allowed = np.ones((n, len(data.CAUSES)), dtype=bool)
    column = {name: i for i, name in enumerate(data.CAUSES)}
    students = sum(
        households[c].to_numpy()
        for c in (
            "n_students_primary",
            "n_students_junior",
            "n_students_senior",
            "n_students_vocational",
            "n_students_tertiary",
        )
    )
    allowed[:, column["illness"]] = households["n_chronic_ill"].to_numpy() > 0
    allowed[:, column["disability"]] = households["n_disabled"].to_numpy() > 0
    allowed[:, column["schooling"]] = np.asarray(students) > 0
    allowed[:, column["lack_labour"]] = households["n_labour"].to_numpy() <= 1
    return allowed


def record_main_cause(
    households: pd.DataFrame,
    latent: np.ndarray,
    registered: np.ndarray,
    gen: np.random.Generator,
    affinity: float = 8.0,
) -> np.ndarray:
    """The main cause cadres record for each registered household (code into ``CAUSES``).

    A household's own hardship (its latent cause) is the likeliest record, but the registry's
    shares follow docs/sources.md §6.3, and the consistency rules hold
    (illness needs an ill member, disability a disabled one, schooling a student, lack of
    labour at most one labourer). Cause weights are raked (iterative proportional fitting) so
    the registered households' expected shares match the calibration; then one cause per
    household is drawn. Returns -1 for households not registered.
    """
    shares = data.registry_calibration()["causes"]
    target = np.array([shares[c] for c in data.CAUSES], dtype=float)
    target /= target.sum()
    idx = np.flatnonzero(registered)
    allowed = _cause_eligibility(households.iloc[idx])
    base = allowed * np.where(
        np.arange(len(data.CAUSES))[None, :] == latent[idx][:, None], affinity, 1.0
    )
    weights = np.ones(len(data.CAUSES))
    # Rake on (at most) the first RAKE_SAMPLE households: cheap, and deterministic per call.
    sample = base[:RAKE_SAMPLE]
    for _ in range(30):
        prob = sample * weights
        prob /= prob.sum(axis=1, keepdims=True)
        expected = prob.mean(axis=0)
        weights *= np.divide(target, expected, out=np.ones_like(target), where=expected > 0)
    prob = base * weights
    cumulative = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
    u = gen.random(idx.size)
    codes = np.full(len(households), -1, dtype=np.int64)
    codes[idx] = np.minimum((u[:, None] > cumulative).sum(axis=1), len(data.CAUSES) - 1)
    return codes


def support_codes(households: pd.DataFrame) -> np.ndarray:
    """§25 class of each household as a code into ``SUPPORT_CLASSES`` (0 development, 1 social
    security)."""
    no_labour = households["n_labour"].to_numpy() == 0
    cover = no_labour | households["is_wubao"].to_numpy()
    return cover.astype(np.int8)


def classify_support(households: pd.DataFrame) -> np.ndarray:
    """§25 class of each household: 'development' with labour, else 'social_security'."""
    return np.asarray(SUPPORT_CLASSES)[support_codes(households)]


def assign_helpers(
    households: pd.DataFrame, registered: np.ndarray, county_ranks: np.ndarray | None = None
) -> np.ndarray:
    """Helper (assisting cadre) id for registered households: consecutive groups per county.

    Each cadre helps ``households_per_helper`` households (plan §16: 2-3) of one county, in
    village order. Ids are ``(county number) × 10⁸ + group``; -1 for non-registered.
    ``county_ranks`` gives each household's 0-based rank among its county's registered
    households in the *whole* registry, for a table that is only a chunk of it (without it,
    ranks are counted within ``households``).
    """
    per_helper = int(data.registry_calibration()["households"]["households_per_helper"])
    county_number = (
        households["county_id"]
        .map({c: i + 1 for i, c in enumerate(data.COUNTY_IDS)})
        .to_numpy(dtype=np.int64)
    )
    rank = (
        _rank_within(np.where(registered, county_number, 0), households["household_id"].to_numpy())
        if county_ranks is None
        else county_ranks
    )
    helper = county_number * 100_000_000 + rank // per_helper + 1
    return np.where(registered, helper, -1)


def identification_rates(
    households: pd.DataFrame, registered: np.ndarray, poor: np.ndarray
) -> pd.DataFrame:
    """Inclusion and exclusion error rates by county (and for the city).

    Columns: ``county_id, n_households, n_registered, n_truly_poor, n_included_nonpoor,
    n_excluded_poor, inclusion_rate, exclusion_rate`` (rates are shares 0-1).
    """
    frame = pd.DataFrame(
        {
            "county_id": households["county_id"].astype(str).to_numpy(),
            "n_households": 1,
            "n_registered": registered.astype(int),
            "n_truly_poor": poor.astype(int),
            "n_included_nonpoor": (registered & ~poor).astype(int),
            "n_excluded_poor": (poor & ~registered).astype(int),
        }
    )
    by_county = frame.groupby("county_id", sort=False).sum()
    by_county = by_county.reindex([c for c in data.COUNTY_IDS if c in by_county.index])
    by_county.loc["all"] = by_county.sum()
    by_county["inclusion_rate"] = by_county["n_included_nonpoor"] / by_county["n_registered"]
    by_county["exclusion_rate"] = by_county["n_excluded_poor"] / by_county["n_truly_poor"]
    return by_county.reset_index()


def base_year_line() -> float:
    """The national line of the registry's base year (yuan per person per year)."""
    return float(data.poverty_line(BASE_YEAR))
