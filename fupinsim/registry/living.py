"""The living registry (plan §20, §26): each year's identification, exits, returns and ageing.

After the base year the registry is adjusted every year (docs/living_registry.md):

* **Ageing** (:func:`age_members`): members move between the registry's groups, since it holds
  counts, not ages: students through the school stages (``fupinsim/data/living_registry.yaml``:
  years per stage, continuation shares), school leavers join the labour force (16+), labourers
  reach 65 (the schema's elderly), other dependants (mostly young children) start primary
  school; wages move with the labourers who join or leave. Members' total is kept (no births
  or deaths).
* **Identification** (:func:`identify_year`): the same mechanics as the base year
  (:mod:`.identify`) over the households never registered: recorded income = the year's
  simulated mean per-capita income × a lognormal measurement error; the cell's quota (county ×
  village type) is the number of these households whose recorded income is below the year's
  line (the county's own count of its new poor); reviewers rank applicants by recorded income
  with noise, visible hardship lowering the score, and the quota's lowest scores enter.
* **Exit and return**: a base-year household is on the registry while the run's P(exited) is
  below 0.5 (the run's ``household_exit`` rule); an entrant leaves the first year after entry in
  which its simulated mean income is at or above the line, and returns if it falls below again.

Every draw is a counter-based uniform keyed by (seed, year, household id): the same seed gives
the same tables however the population was chunked. No I/O here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fupinsim import data, rng
from fupinsim.registry.identify import _rank_within, record_main_cause, support_codes
from fupinsim.registry.schema import SUPPORT_CLASSES
from fupinsim.scenario import IdentificationSettings

__all__ = [
    "AGED_COLUMNS",
    "ENTRY_REASONS",
    "LivingRegistry",
    "age_members",
    "identify_year",
    "living_registry",
]

logger = logging.getLogger(__name__)

#: Why an entrant was not on the base-year registry: ``missed`` (truly poor in the base year by
#: the identification's truth, the quota-many lowest true incomes of its cell) or ``newly_poor``.
ENTRY_REASONS: tuple[str, ...] = ("missed", "newly_poor")
_AGE_KEY = 7_000_000
_IDENTIFY_KEY = 7_000_001
_CAUSE_KEY = 7_000_002
_SLOTS = 20  # the schema's most members of one group
_STAGES = (
    "n_students_primary",
    "n_students_junior",
    "n_students_senior",
    "n_students_vocational",
    "n_students_tertiary",
)

#: The household columns :func:`age_members` changes.
AGED_COLUMNS: tuple[str, ...] = (*_STAGES, "n_labour", "n_elderly", "n_away", "income_wages")


def _settings() -> dict[str, dict[str, float]]:
    return dict(data.plain(data.load_raw("living_registry")))


def _uniforms(key: int, ids: np.ndarray, draw: int, width: int) -> np.ndarray:
    """Uniforms (n, width) for draw ``draw`` of each household id (counter-based)."""
    keys = rng.sub_keys(np.full(ids.size, key, dtype=np.uint64), ids.astype(np.uint64))
    return rng.counter_uniform(keys[:, None], draw * 64 + np.arange(width)[None, :])


def _binomial(counts: np.ndarray, p: float, keys: np.ndarray, draw: int) -> np.ndarray:
    """Binomial(count, p) per household as a sum of member Bernoullis (counts ≤ 20): member
    ``j``'s uniform is counter ``draw * 64 + j`` of its household's key (``keys``, one per
    household), drawn only for the members there are."""
    counts = np.clip(np.asarray(counts, dtype=np.int64), 0, _SLOTS)
    row = np.repeat(np.arange(counts.size), counts)
    member = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    u = rng.counter_uniform(keys[row], draw * 64 + member)
    return np.bincount(row, weights=u < p, minlength=counts.size).astype(np.int64)


def age_members(households: pd.DataFrame, year: int, seed: int) -> pd.DataFrame:
    """The households one year older: members moved between groups (counts; see module doc).

    Returns a copy with ``n_students_*``, ``n_labour``, ``n_away`` and ``n_elderly`` changed,
    and ``income_wages`` moved with the labourers (:func:`_wages`); ``n_members`` and the
    recorded base-year ``income_pc`` are unchanged.
    """
    s = _settings()
    years, cont, ageing = s["school_years"], s["continuation"], s["ageing"]
    ids = households["household_id"].to_numpy()
    key = rng.counter_key(seed, "identification", _AGE_KEY, year)
    keys = rng.sub_keys(np.full(ids.size, key, dtype=np.uint64), ids.astype(np.uint64))
    n = {c: households[c].to_numpy(dtype=np.int64) for c in (*_STAGES, "n_labour", "n_elderly")}
    done = {c: _binomial(n[c], 1.0 / years[c], keys, k) for k, c in enumerate(_STAGES)}
    junior = done["n_students_junior"]
    to_senior = _binomial(junior, cont["junior_to_senior"], keys, 5)
    rest = junior - to_senior
    share_vocational = cont["junior_to_vocational"] / max(1e-12, 1.0 - cont["junior_to_senior"])
    to_vocational = _binomial(rest, share_vocational, keys, 6)
    to_tertiary = _binomial(done["n_students_senior"], cont["senior_to_tertiary"], keys, 7)
    other = households["n_members"].to_numpy(dtype=np.int64) - sum(n.values())
    other = other - households["n_dropouts"].to_numpy(dtype=np.int64)
    starters = _binomial(np.maximum(other, 0), ageing["primary_entry"], keys, 8)
    retiring = _binomial(n["n_labour"], ageing["labour_to_elderly"], keys, 9)
    leavers = (
        (junior - to_senior - to_vocational)
        + (done["n_students_senior"] - to_tertiary)
        + done["n_students_vocational"]
        + done["n_students_tertiary"]
    )
    out = households.copy()
    out["n_students_primary"] = n["n_students_primary"] - done["n_students_primary"] + starters
    out["n_students_junior"] = n["n_students_junior"] - junior + done["n_students_primary"]
    out["n_students_senior"] = n["n_students_senior"] - done["n_students_senior"] + to_senior
    out["n_students_vocational"] = (
        n["n_students_vocational"] - done["n_students_vocational"] + to_vocational
    )
    out["n_students_tertiary"] = (
        n["n_students_tertiary"] - done["n_students_tertiary"] + to_tertiary
    )
    out["n_labour"] = n["n_labour"] - retiring + leavers
    out["n_elderly"] = n["n_elderly"] + retiring
    out["n_away"] = np.minimum(households["n_away"].to_numpy(dtype=np.int64), out["n_labour"])
    for column in (*_STAGES, "n_labour", "n_elderly", "n_away"):
        out[column] = out[column].astype(households[column].dtype)
    if "income_wages" in households:
        out["income_wages"] = _wages(households, out)
    return out


def _wages(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Wage income after ageing (yuan per household per year): each labourer who joins (a
    school leaver, at home) or leaves (reaching 65; those at home first) earns or takes away
    the registry's calibrated wage (``registry_calibration.yaml`` ``returns``: ``wage_local``
    at home, ``wage_away`` away); never below 0."""
    returns = data.registry_calibration()["returns"]
    away = {k: f["n_away"].to_numpy(dtype=np.int64) for k, f in (("b", before), ("a", after))}
    home = {
        k: f["n_labour"].to_numpy(dtype=np.int64) - away[k]
        for k, f in (("b", before), ("a", after))
    }
    change = (away["a"] - away["b"]) * float(returns["wage_away"])
    change = change + (home["a"] - home["b"]) * float(returns["wage_local"])
    wages = before["income_wages"].to_numpy(dtype=float) + change
    return np.asarray(np.maximum(wages, 0.0))


def _cells(households: pd.DataFrame) -> np.ndarray:
    """Cell code (county × village type) of each household."""
    codes = pd.Categorical(households["county_id"], categories=list(data.COUNTY_IDS)).codes
    county = np.asarray(codes, dtype=np.int64)
    if (county < 0).any():
        raise ValueError("households of a county the city does not have")
    return np.asarray(county * 2 + households["is_immigrant"].to_numpy())


def identify_year(
    households: pd.DataFrame,
    income_pc: np.ndarray,
    candidates: np.ndarray,
    line: float,
    settings: IdentificationSettings,
    seed: int,
    year: int,
) -> np.ndarray:
    """Entrants of one year's identification (bool per household; see module doc).

    ``income_pc``: each household's simulated mean per-capita net income of the year (yuan per
    person); ``candidates``: households that may enter (never registered); ``line``: the
    year's poverty line (yuan per person per year).
    """
    ids = households["household_id"].to_numpy()
    key = rng.counter_key(seed, "identification", _IDENTIFY_KEY, year)
    u = _uniforms(key, ids, 0, 3)
    normal = rng.inverse_normal_cdf(u[:, :2])
    recorded = np.asarray(income_pc) * np.exp(settings.measurement_sigma * normal[:, 0])
    cell = _cells(households)
    below = candidates & (recorded < line)
    quota = np.bincount(cell[below], minlength=2 * len(data.COUNTY_IDS))
    hardship = (
        households["housing_grade"].isin(["C", "D"]).to_numpy()
        | (households["n_chronic_ill"].to_numpy() > 0)
        | (households["n_labour"].to_numpy() == 0)
    )
    score = recorded * np.exp(settings.review_sigma * normal[:, 1])
    score = score * (1.0 - settings.hardship_bonus * hardship)
    applies = candidates & (u[:, 2] >= settings.non_application_rate)
    score = np.where(applies, score, np.inf)
    return np.asarray(applies & (_rank_within(cell, score) < quota[cell]), dtype=bool)


@dataclass(frozen=True)
class LivingRegistry:
    """The registry year by year.

    Attributes
    ----------
    registered_by_year:
        By ``county_id`` (and ``all``) and ``year``: ``n_registered`` (on the registry at the
        year's end), ``n_registered_base`` (of them, base-year households), ``n_entrants``,
        ``n_entrants_missed``, ``n_entrants_newly_poor``, ``n_entrants_planned`` (of them, with
        a plan), ``n_leavers``, ``n_leavers_entrants`` (of them, entrants), ``n_returns``,
        ``n_truly_poor`` (simulated mean income below the line), ``n_missed_poor`` (of them,
        never on the registry), ``n_exited`` (on it in an earlier year, off it now),
        ``n_wrong_exits`` (of them, below the line) [households]; ``missed_poor_rate``
        (missed of the truly poor) and ``wrong_exit_rate`` (wrong of the exited) [shares].
    entrants:
        One row per entrant: ``household_id, county_id, is_immigrant, entry_year,
        entry_reason, main_cause, support_class, exit_year`` (first year after entry off the
        registry; NA if it stays on).
    """

    registered_by_year: pd.DataFrame
    entrants: pd.DataFrame


def _base_truly_poor(households: pd.DataFrame) -> np.ndarray:
    """The identification's truth of the base year (quota-many lowest true incomes per cell)."""
    cell = _cells(households)
    registered = households["is_registered"].to_numpy(dtype=bool)
    quota = np.bincount(cell[registered], minlength=2 * len(data.COUNTY_IDS))
    truth = (
        households["true_income_pc"].to_numpy(dtype=float)
        if "true_income_pc" in households
        else households["income_pc"].to_numpy(dtype=float)
    )
    return np.asarray(_rank_within(cell, truth) < quota[cell], dtype=bool)


def living_registry(
    households: pd.DataFrame,
    income_pc: np.ndarray,
    base_on: np.ndarray,
    years: list[int],
    lines: np.ndarray,
    settings: IdentificationSettings,
    seed: int,
    planned: np.ndarray | None = None,
) -> LivingRegistry:
    """The registry adjusted year by year (module doc), vectorised over households.

    Parameters
    ----------
    households:
        Every household of the villages (base year), registered or not.
    income_pc:
        ``(years, households)``: simulated mean per-capita net income (yuan per person).
    base_on:
        ``(years, households)``: a base-year registered household is still on the registry
        (P(exited) < 0.5); ignored for the others.
    years, lines:
        The simulated years (the first is the base year) and each year's poverty line.
    planned:
        Households whose entry got a plan (bool per household; default none), counted in
        ``n_entrants_planned``.
    """
    registered = households["is_registered"].to_numpy(dtype=bool)
    missed = _base_truly_poor(households) & ~registered
    n, n_years = len(households), len(years)
    entry = np.zeros(n, dtype=np.int64)  # 0: never entered
    on = np.zeros((n_years, n), dtype=bool)
    on[0] = registered
    aged = households
    for t in range(1, n_years):
        aged = age_members(aged, years[t], seed)
        poor = income_pc[t] < lines[t]
        # An entrant stays on while poor, leaves when at or above the line, returns if poor.
        entrant_on = (entry > 0) & poor
        new = identify_year(
            aged, income_pc[t], ~registered & (entry == 0), lines[t], settings, seed, years[t]
        )
        entry[new] = years[t]
        on[t] = np.where(registered, base_on[t], entrant_on | new)
    entrants = _entrants_table(aged, entry, missed, seed)
    entrants["exit_year"] = _exit_years(on, entry, years)[entry > 0]
    planned = np.zeros(n, dtype=bool) if planned is None else np.asarray(planned, dtype=bool)
    table = _by_year(households, on, entry, missed, planned, income_pc, years, lines)
    logger.info("living registry: %d entrants after the base year", int((entry > 0).sum()))
    return LivingRegistry(table, entrants)


def _exit_years(on: np.ndarray, entry: np.ndarray, years: list[int]) -> pd.arrays.IntegerArray:
    """First year after entry in which each household is off the registry (Int64; NA never)."""
    off = ~on & (np.asarray(years)[:, None] > entry[None, :])
    first = np.asarray(years, dtype=np.int64)[off.argmax(axis=0)]
    return pd.arrays.IntegerArray(first, np.asarray(~off.any(axis=0), dtype=bool))


def _entrants_table(
    aged: pd.DataFrame, entry: np.ndarray, missed: np.ndarray, seed: int
) -> pd.DataFrame:
    """One row per entrant, its recorded main cause drawn as the base year's (raked shares)."""
    new = entry > 0
    gen = rng.generator(seed, "identification", _CAUSE_KEY)
    codes = record_main_cause(aged, np.full(len(aged), -1), new, gen)
    rows = np.flatnonzero(new)
    frame = aged.iloc[rows]
    return pd.DataFrame(
        {
            "household_id": frame["household_id"].to_numpy(),
            "county_id": frame["county_id"].astype(str).to_numpy(),
            "is_immigrant": frame["is_immigrant"].to_numpy(dtype=bool),
            "entry_year": entry[rows].astype(np.int64),
            "entry_reason": pd.Categorical.from_codes(
                np.where(missed[rows], 0, 1), dtype=pd.CategoricalDtype(list(ENTRY_REASONS))
            ),
            "main_cause": pd.Categorical.from_codes(
                codes[rows], dtype=pd.CategoricalDtype(list(data.CAUSES))
            ),
            "support_class": pd.Categorical.from_codes(
                support_codes(frame).astype(np.int64),
                dtype=pd.CategoricalDtype(list(SUPPORT_CLASSES)),
            ),
        }
    )


def _by_year(
    households: pd.DataFrame,
    on: np.ndarray,
    entry: np.ndarray,
    missed: np.ndarray,
    planned: np.ndarray,
    income_pc: np.ndarray,
    years: list[int],
    lines: np.ndarray,
) -> pd.DataFrame:
    """The ``registered_by_year`` table (:class:`LivingRegistry`)."""
    counties = households["county_id"].astype(str).to_numpy()
    base = households["is_registered"].to_numpy(dtype=bool)
    previous = np.vstack([on[:1], on[:-1]])
    poor = income_pc < np.asarray(lines)[:, None]
    year_of = np.asarray(years)[:, None]
    exited = ~on & np.vstack([np.zeros_like(on[:1]), np.maximum.accumulate(on, axis=0)[:-1]])
    columns = {
        "n_registered": on,
        "n_registered_base": on & base,
        "n_entrants": entry[None, :] == year_of,
        "n_entrants_missed": (entry[None, :] == year_of) & missed,
        "n_entrants_newly_poor": (entry[None, :] == year_of) & ~missed,
        "n_entrants_planned": (entry[None, :] == year_of) & planned,
        "n_leavers": previous & ~on,
        "n_leavers_entrants": previous & ~on & (entry[None, :] > 0),
        "n_returns": ~previous & on & (entry[None, :] != year_of) & (base | (entry > 0)),
        "n_truly_poor": poor,
        # Missed: poor and never on the registry (the county exit rule's "missed" poor); a
        # household that left and is poor again is a wrong exit, not a missed one.
        "n_missed_poor": poor & ~np.maximum.accumulate(on, axis=0),
        # Exited: on the registry in an earlier year, off it now; wrong: and still poor.
        "n_exited": exited,
        "n_wrong_exits": exited & poor,
    }
    frames = []
    for t, year in enumerate(years):
        frame = pd.DataFrame({k: v[t].astype(np.int64) for k, v in columns.items()})
        frame["county_id"] = counties
        by = frame.groupby("county_id", sort=False).sum()
        by = by.reindex([c for c in data.COUNTY_IDS if c in by.index])
        by.loc["all"] = by.sum()
        by["year"] = year
        frames.append(by.reset_index())
    out = pd.concat(frames, ignore_index=True)
    out["missed_poor_rate"] = out["n_missed_poor"] / out["n_truly_poor"].where(
        out["n_truly_poor"] > 0
    )
    out["wrong_exit_rate"] = out["n_wrong_exits"] / out["n_exited"].where(out["n_exited"] > 0)
    return out[["county_id", "year", *columns, "missed_poor_rate", "wrong_exit_rate"]]
