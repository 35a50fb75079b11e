"""Household plans: which package each household gets from which year.

A plan is a table ``household_id, package_id, start_year`` (one row per supported household;
households without a row get no new support). Village works are a separate table
``village_id, package_id, start_year`` for village packages (cooperative, mutual-aid fund,
road). :func:`compile_plan` turns both into the arrays the engine needs: every catalogue entry
given, to which positions, from which year, in what quantity; when guarantees get fixed; who
is covered by dibao from when.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from fupinsim.errors import InputError, Problem
from fupinsim.microsim.catalogue import Catalogue, Entry
from fupinsim.microsim.population import MARKET_SOURCES, Population
from fupinsim.scenario import Scenario

__all__ = [
    "NEVER",
    "Application",
    "CompiledPlan",
    "VillageWork",
    "compile_plan",
    "population_table",
    "reference_plan",
    "validate_plan",
    "validate_village_plan",
]

#: Year index meaning "never" (later than any simulated year).
NEVER = 10_000
#: Income sources an entry can add to, in engine order (market sources, then transfers).
EFFECT_SOURCES: tuple[str, ...] = (*MARKET_SOURCES, "income_transfers")
_GUARANTEE_INDEX = {
    "safe_housing": 0,
    "safe_water": 1,
    "basic_medical": 2,
    "compulsory_schooling": 3,
}


class _Rows(Mapping[str, Any]):
    """Rows ``positions`` of a column table, each column taken only when it is read (an entry's
    quantity reads one column of the ~25; taking them all cost a second at 1 M households)."""

    def __init__(self, table: Mapping[str, Any], positions: np.ndarray) -> None:
        self._table = table
        self._positions = positions

    def __getitem__(self, column: str) -> Any:
        values = self._table[column]
        if isinstance(values, pd.Series):
            return values.iloc[self._positions]
        return values[self._positions]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


def _members(ids: np.ndarray, population_ids: np.ndarray) -> np.ndarray:
    """Which of ``ids`` are household ids of the population (sorted search, no hashing)."""
    order = np.argsort(population_ids, kind="stable")
    sorted_ids = population_ids[order]
    at = np.minimum(np.searchsorted(sorted_ids, ids), max(sorted_ids.size - 1, 0))
    return sorted_ids[at] == ids if sorted_ids.size else np.zeros(ids.size, dtype=bool)


@dataclass(frozen=True)
class Application:
    """One catalogue entry given to some households from their start years.

    Holds plain numbers only (no catalogue objects), so it pickles cheaply to worker processes.
    """

    entry_id: str
    slot: int  # the entry's position in the catalogue (its random stream key)
    positions: np.ndarray
    start: np.ndarray  # year index (0 = first simulated year)
    amount: np.ndarray  # maturity net effect × quantity (yuan per household per year)
    source: int  # index into EFFECT_SOURCES
    profile: np.ndarray  # share of the maturity effect 0, 1, 2, … years after the start
    gross_share: float  # gross income per yuan of net effect (the rest is production cost)
    dispersion_sigma: float
    failure_prob: float
    #: A village entry's effect: it fails (or not) for the whole village, not per household.
    village_level: bool = False

    def effect_profile(self, years_since_start: np.ndarray) -> np.ndarray:
        """Share of the maturity effect at the given offsets (0 before the start)."""
        k = np.asarray(years_since_start)
        share = self.profile[np.clip(k, 0, self.profile.size - 1)]
        return np.where(k >= 0, share, 0.0)


@dataclass(frozen=True)
class VillageWork:
    """A village entry's market uplift on the farm income of every household in its villages.

    The entry fails, with ``failure_prob``, for a whole village (drawn once per replication),
    and then neither its uplift nor its ``reach_share`` effect (an :class:`Application` with
    ``village_level``) applies there.
    """

    entry_id: str
    slot: int
    positions: np.ndarray  # households in the villages given the entry
    start: np.ndarray  # year index of each of those households' village works
    market_uplift: float
    profile: np.ndarray  # share of the maturity uplift 0, 1, 2, … years after the start
    failure_prob: float

    def uplift_path(self, n: int, n_years: int) -> np.ndarray:
        """(n_years, n) uplift share of gross farm income if the work succeeds (0 elsewhere)."""
        k = np.arange(n_years)[:, None] - self.start[None, :]
        share = self.profile[np.clip(k, 0, self.profile.size - 1)]
        path = np.zeros((n_years, n))
        path[:, self.positions] = self.market_uplift * np.where(k >= 0, share, 0.0)
        return path


def _application(
    entry: Entry,
    slot: int,
    positions: np.ndarray,
    start: np.ndarray,
    amount: np.ndarray,
    n_years: int,
    village_level: bool = False,
) -> Application:
    return Application(
        entry_id=entry.id,
        slot=slot,
        positions=positions,
        start=start,
        amount=amount,
        source=EFFECT_SOURCES.index(str(entry.income_source)),
        profile=entry.effect_profile(np.arange(n_years + 1)),
        gross_share=entry.gross_share,
        dispersion_sigma=entry.dispersion_sigma,
        failure_prob=entry.failure_prob,
        village_level=village_level,
    )


@dataclass(frozen=True)
class CompiledPlan:
    """A plan in engine form."""

    applications: tuple[Application, ...]
    fix_year: np.ndarray  # (4, n): year index from which each guarantee is fixed (NEVER)
    dibao_from: np.ndarray  # (n,): year index from which dibao enrolment is guaranteed
    village_works: tuple[VillageWork, ...]  # market uplifts of village works
    supported: np.ndarray  # (n,): household has a package

    def take(self, start: int, stop: int) -> CompiledPlan:
        """The plan of households at positions [start, stop) (positions renumbered from 0)."""

        def cut(item: Any) -> Any:
            keep = (item.positions >= start) & (item.positions < stop)
            changes = {"positions": item.positions[keep] - start, "start": item.start[keep]}
            if isinstance(item, Application):
                changes["amount"] = item.amount[keep]
            return replace(item, **changes)

        return CompiledPlan(
            applications=tuple(a for a in map(cut, self.applications) if a.positions.size),
            fix_year=self.fix_year[:, start:stop],
            dibao_from=self.dibao_from[start:stop],
            village_works=tuple(w for w in map(cut, self.village_works) if w.positions.size),
            supported=self.supported[start:stop],
        )


def population_table(population: Population) -> dict[str, Any]:
    """Registry-named columns of a population, for catalogue eligibility and quantities."""
    students = population.students
    return {
        "household_id": population.household_id,
        "n_members": population.members,
        "n_labour": population.labour,
        "n_away": population.away,
        "n_elderly": population.elderly,
        "n_disabled": population.disabled,
        "n_chronic_ill": population.chronic_ill,
        "n_dropouts": population.dropouts,
        "n_students_primary": students[0],
        "n_students_junior": students[1],
        "n_students_senior": students[2],
        "n_students_vocational": students[3],
        "n_students_tertiary": students[4],
        "land_mu": population.land_mu,
        "sheep": population.sheep,
        "is_registered": population.registered,
        "is_immigrant": population.is_immigrant,
        "is_dibao": population.is_dibao,
        "is_wubao": population.is_wubao,
        "has_safe_water": population.safe_water,
        "ncms_enrolled": population.ncms,
        # Categoricals: conditions compare them without converting a million strings.
        "housing_grade": pd.Categorical.from_codes(
            population.housing_grade, dtype=pd.CategoricalDtype(["A", "B", "C", "D"])
        ),
        "support_class": pd.Categorical.from_codes(
            population.support_class.astype(np.int64),
            dtype=pd.CategoricalDtype(["none", "development", "social_security"]),
        ),
    }


def validate_plan(
    plan: pd.DataFrame, catalogue: Catalogue, scenario: Scenario, where: str = "plan"
) -> pd.DataFrame:
    """Check a plan table: columns, known packages, start years in the simulated range."""
    required = ("household_id", "package_id", "start_year")
    missing = [c for c in required if c not in plan]
    if missing:
        raise InputError.single(
            f"{where}: columns",
            list(plan.columns),
            f"must include {', '.join(required)} (missing {missing})",
        )
    problems = []
    unknown = sorted({str(p) for p in plan["package_id"].unique()} - set(catalogue.packages))
    for pid in unknown:
        problems.append(
            Problem(
                f"{where}: package_id",
                pid,
                f"must be a catalogue package ({', '.join(catalogue.packages)})",
            )
        )
    years = plan["start_year"].astype(int)
    bad = plan[(years <= scenario.microsim.first_year) | (years > scenario.microsim.horizon)]
    for _, row in bad.head(20).iterrows():
        problems.append(
            Problem(
                f"{where}: household {row['household_id']}, start_year",
                row["start_year"],
                f"must be after {scenario.microsim.first_year} and at most "
                f"{scenario.microsim.horizon}",
            )
        )
    if plan["household_id"].duplicated().any():
        dup = plan.loc[plan["household_id"].duplicated(), "household_id"].iloc[0]
        problems.append(
            Problem(
                f"{where}: household_id",
                dup,
                "must appear once (each household at most one package)",
            )
        )
    if problems:
        raise InputError(problems, summary=f"{where}: plan is not valid")
    return plan.astype({"household_id": "int64", "package_id": "category", "start_year": "int64"})


def compile_plan(
    population: Population,
    plan: pd.DataFrame,
    catalogue: Catalogue,
    scenario: Scenario,
    village_plan: pd.DataFrame | None = None,
    *,
    validate: bool = True,
) -> CompiledPlan:
    """Turn plan tables into engine arrays (``validate=False`` when already checked).

    Households in the plan that are not in the population are ignored (a plan may cover the
    whole registry while a run simulates part of it). Every household with a package also gets
    the guarantee entries it needs (dilapidated house, no safe water, not in NCMS, a dropout)
    and the entitlements it is eligible for (:meth:`Catalogue.add_on_entries`), from its start
    year.
    """
    n = population.n
    first = scenario.microsim.first_year
    n_years = len(scenario.years)
    slots = {eid: i for i, eid in enumerate(sorted(catalogue.entries))}
    # Categoricals as Series: conditions then compare codes' labels without building a
    # million strings.
    table = {
        k: pd.Series(v) if isinstance(v, pd.Categorical) else v
        for k, v in population_table(population).items()
    }
    fix_year = np.full((4, n), NEVER, dtype=np.int64)
    dibao_from = np.full(n, NEVER, dtype=np.int64)
    supported = np.zeros(n, dtype=bool)
    apps: list[Application] = []

    if len(plan):
        # Only this chunk's households (a plan may cover the whole registry), then check.
        inside = _members(plan["household_id"].to_numpy(dtype=np.int64), population.household_id)
        if not inside.all():
            plan = plan[inside]
        plan = validate_plan(plan, catalogue, scenario) if validate else plan
    ids = plan["household_id"].to_numpy(dtype=np.int64) if len(plan) else np.array([], np.int64)
    order = np.argsort(population.household_id, kind="stable")
    positions_all = order[np.searchsorted(population.household_id, ids, sorter=order)]
    start_all = plan["start_year"].to_numpy(dtype=np.int64) - first if len(plan) else positions_all
    supported[positions_all] = True

    add_on_needs = catalogue.add_on_needs(table)
    groups = plan.groupby("package_id", observed=True).indices if len(plan) else {}
    for package_id, rows in groups.items():
        positions = positions_all[rows]
        start = start_all[rows]
        entries = [catalogue.entry(e) for e in catalogue.package(str(package_id)).entries]
        for entry in entries:
            _apply(
                entry, slots[entry.id], positions, start, table, apps, fix_year, dibao_from, n_years
            )
    # Guarantees and entitlements (add-ons) of supported households, from their start year.
    for entry in catalogue.add_on_entries():
        need = add_on_needs[entry.id].to_numpy(dtype=bool)[positions_all]
        _apply(
            entry,
            slots[entry.id],
            positions_all[need],
            start_all[need],
            table,
            apps,
            fix_year,
            dibao_from,
            n_years,
        )

    works: list[VillageWork] = []
    if village_plan is not None and len(village_plan):
        village_plan = validate_village_plan(village_plan, catalogue, scenario)
        _apply_villages(population, village_plan, catalogue, scenario, slots, apps, works)
    return CompiledPlan(tuple(apps), fix_year, dibao_from, tuple(works), supported)


def _apply(
    entry: Entry,
    slot: int,
    positions: np.ndarray,
    start: np.ndarray,
    table: Mapping[str, Any],
    apps: list[Application],
    fix_year: np.ndarray,
    dibao_from: np.ndarray,
    n_years: int,
) -> None:
    if positions.size == 0:
        return
    for fix in entry.fixes:
        index = _GUARANTEE_INDEX.get(fix)
        if index is not None:
            fix_year[index, positions] = np.minimum(fix_year[index, positions], start)
    if entry.kind == "policy" and entry.id == "dibao":
        dibao_from[positions] = np.minimum(dibao_from[positions], start)
    if entry.income_source is None or entry.effect_yuan == 0:
        return
    quantity = entry.quantity(_Rows(table, positions))
    apps.append(_application(entry, slot, positions, start, entry.effect_yuan * quantity, n_years))


def _apply_villages(
    population: Population,
    village_plan: pd.DataFrame,
    catalogue: Catalogue,
    scenario: Scenario,
    slots: dict[str, int],
    apps: list[Application],
    works: list[VillageWork],
) -> None:
    """Village entries to every household of the planned villages in the population.

    Villages of the plan that are not in the population are ignored (as households are). A
    village given an entry more than once gets it once, from the earliest start year.
    """
    first = scenario.microsim.first_year
    n_years = len(scenario.years)
    ids = village_plan["village_id"].to_numpy(dtype=np.int64)
    index = np.searchsorted(population.village_ids, ids)
    inside = index < population.village_ids.size
    inside[inside] = population.village_ids[index[inside]] == ids[inside]
    n_villages = population.village_ids.size
    start_by_entry: dict[str, np.ndarray] = {}
    for package_id, start_year, village in zip(
        village_plan["package_id"].to_numpy()[inside],
        village_plan["start_year"].to_numpy(dtype=np.int64)[inside],
        index[inside],
        strict=True,
    ):
        for eid in catalogue.package(str(package_id)).entries:
            starts = start_by_entry.setdefault(eid, np.full(n_villages, NEVER, dtype=np.int64))
            starts[village] = min(starts[village], int(start_year) - first)
    for eid, starts in start_by_entry.items():
        entry = catalogue.entry(eid)
        household_start = starts[population.village]
        positions = np.flatnonzero(household_start < NEVER)
        if positions.size == 0:
            continue
        start = household_start[positions]
        if entry.market_uplift:
            works.append(
                VillageWork(
                    entry_id=entry.id,
                    slot=slots[entry.id],
                    positions=positions,
                    start=start,
                    market_uplift=entry.market_uplift,
                    profile=entry.effect_profile(np.arange(n_years + 1)),
                    failure_prob=entry.failure_prob,
                )
            )
        if entry.income_source is not None and entry.effect_yuan and entry.reach_share > 0:
            # A reach_share of the village's households benefit: the expected effect is
            # spread over all of them (ESTIMATE: who borrows is not modelled).
            amount = np.full(positions.size, entry.effect_yuan * entry.reach_share)
            apps.append(
                _application(
                    entry, slots[entry.id], positions, start, amount, n_years, village_level=True
                )
            )


def validate_village_plan(
    village_plan: pd.DataFrame,
    catalogue: Catalogue,
    scenario: Scenario,
    where: str = "village plan",
) -> pd.DataFrame:
    """Check a village plan: columns, village packages, start years in the simulated range."""
    required = ("village_id", "package_id", "start_year")
    missing = [c for c in required if c not in village_plan]
    if missing:
        raise InputError.single(
            f"{where}: columns",
            list(village_plan.columns),
            f"must include {', '.join(required)} (missing {missing})",
        )
    village_packages = [p.id for p in catalogue.packages.values() if p.level == "village"]
    problems = [
        Problem(
            f"{where}: package_id",
            pid,
            f"must be a village package ({', '.join(village_packages)})",
        )
        for pid in sorted(set(village_plan["package_id"].astype(str)) - set(village_packages))
    ]
    years = village_plan["start_year"].astype(int)
    first, horizon = scenario.microsim.first_year, scenario.microsim.horizon
    bad = village_plan[(years <= first) | (years > horizon)]
    for _, row in bad.head(20).iterrows():
        problems.append(
            Problem(
                f"{where}: village {row['village_id']}, start_year",
                row["start_year"],
                f"must be after {first} and at most {horizon}",
            )
        )
    if problems:
        raise InputError(problems, summary=f"{where}: plan is not valid")
    return village_plan.astype({"village_id": "int64", "package_id": str, "start_year": "int64"})


def reference_plan(name: str, households: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The reference plans: ``baseline`` (no new support) and ``uniform_1230``.

    ``uniform_1230``: every registered household with labour (development class, §25) gets the
    plan's "one labourer out, 2 mu, 30 sheep" package in 2015, whatever its circumstances (the
    uniform policy the optimised plan is compared with); those without labour get the
    social-security cover.
    """
    columns = ["household_id", "package_id", "start_year"]
    if name == "baseline":
        return pd.DataFrame(
            {c: pd.Series(dtype=str if c == "package_id" else "int64") for c in columns}
        )
    if name != "uniform_1230":
        raise InputError.single("plan", name, "must be 'baseline', 'uniform_1230' or a plan file")
    registered = households[households["is_registered"].to_numpy(dtype=bool)]
    development = registered["support_class"].astype(str).to_numpy() == "development"
    return pd.DataFrame(
        {
            "household_id": registered["household_id"].to_numpy(dtype=np.int64),
            "package_id": pd.Categorical.from_codes(
                np.where(development, 0, 1),
                dtype=pd.CategoricalDtype(["one_labourer_2mu_30sheep", "social_cover"]),
            ),
            "start_year": np.int64(scenario.funding.first_year),
        }
    )
