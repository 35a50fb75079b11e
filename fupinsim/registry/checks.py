"""Validation of registry tables: schema, ranges and the national registry's consistency rules.

Every bad row is reported with its row number, household (or village) id, column, value and
the rule, so a county office can fix a file in one pass. The consistency rules follow the
public registry quality-check script cited in docs/sources.md §4.1 and §6.4:

* illness as main cause needs a chronically ill member; disability a disabled member;
  schooling a student;
* per-capita net income > 0 and <= 100,000 yuan;
* dibao and wubao are exclusive; wubao households have no able-bodied member aged 16-65;
* labour, students, dropouts and elderly cannot outnumber the members; workers away are labour;
* registered households have a cause, a year and a support class; others have none;
* the recorded per-capita income equals (income sources − production cost) / members;
* between the tables: each household's village exists and has the household's county and
  immigrant flag; household ids are unique across the whole file;
* the whole registry: it has households, and (given a scenario's counties) households in each
  county the scenario plans for and in no other.

Cells are parsed by :mod:`fupinsim.registry.cells`. :class:`RegistryCheck` runs every rule on a
file one chunk at a time with memory bounded by the chunk (ids in an :class:`IdSet`, at most
:data:`DEFAULT_MAX_PROBLEMS` problems kept, the rest counted); :func:`check_registry` is the same
on tables held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fupinsim.data import COUNTY_IDS, STUDENT_COLUMNS
from fupinsim.errors import Problem, RegistryError
from fupinsim.registry.cells import ProblemLog, parse_cells, parse_table, plain, row_label
from fupinsim.registry.idset import IdSet, whole_ids
from fupinsim.registry.schema import (
    HOUSEHOLD_COLUMNS,
    INCOME_SOURCES,
    VILLAGE_COLUMNS,
    coerce_households,
    coerce_villages,
)

__all__ = [
    "DEFAULT_MAX_PROBLEMS",
    "IdSet",
    "ProblemLog",
    "RegistryCheck",
    "RegistryCheckError",
    "RegistryCounts",
    "VillageIndex",
    "check_households",
    "check_registry",
    "check_villages",
    "parse_table",
]

_STUDENTS = STUDENT_COLUMNS


Rule = tuple[str, str, Callable[[pd.DataFrame], np.ndarray]]


def _students(frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(sum(frame[c].to_numpy(dtype=float) for c in _STUDENTS))


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _income_pc(frame: pd.DataFrame) -> np.ndarray:
    total = sum(frame[c].to_numpy(dtype=float) for c in INCOME_SOURCES)
    return np.asarray(
        (total - frame["production_cost"].to_numpy(dtype=float))
        / frame["n_members"].to_numpy(dtype=float)
    )


#: (column named in the message, rule in words, mask of rows that BREAK the rule)
HOUSEHOLD_RULES: tuple[Rule, ...] = (
    (
        "main_cause",
        "illness as main cause needs a chronically ill member (n_chronic_ill >= 1)",
        lambda f: (
            (f["main_cause"] == "illness").to_numpy(dtype=bool)
            & (f["n_chronic_ill"].to_numpy(dtype=float) < 1)
        ),
    ),
    (
        "main_cause",
        "disability as main cause needs a disabled member (n_disabled >= 1)",
        lambda f: (
            (f["main_cause"] == "disability").to_numpy(dtype=bool)
            & (f["n_disabled"].to_numpy(dtype=float) < 1)
        ),
    ),
    (
        "main_cause",
        "schooling as main cause needs a student (some n_students_* >= 1)",
        lambda f: (f["main_cause"] == "schooling").to_numpy(dtype=bool) & (_students(f) < 1),
    ),
    (
        "income_pc",
        "per-capita net income must be > 0 and <= 100,000 yuan",
        lambda f: (
            (f["income_pc"].to_numpy(dtype=float) <= 0)
            | (f["income_pc"].to_numpy(dtype=float) > 100_000)
        ),
    ),
    (
        "is_wubao",
        "dibao and wubao are exclusive (a household cannot have both)",
        lambda f: _flag(f, "is_dibao") & _flag(f, "is_wubao"),
    ),
    (
        "is_wubao",
        "a wubao household has no able-bodied member aged 16-65 (n_labour must be 0)",
        lambda f: _flag(f, "is_wubao") & (f["n_labour"].to_numpy(dtype=float) > 0),
    ),
    (
        "n_members",
        "labour + students + dropouts + elderly must not exceed the members",
        lambda f: (
            (
                f["n_labour"].to_numpy(dtype=float)
                + _students(f)
                + f["n_dropouts"].to_numpy(dtype=float)
                + f["n_elderly"].to_numpy(dtype=float)
            )
            > f["n_members"].to_numpy(dtype=float)
        ),
    ),
    (
        "n_away",
        "workers away (n_away) must be among the labour (n_away <= n_labour)",
        lambda f: f["n_away"].to_numpy(dtype=float) > f["n_labour"].to_numpy(dtype=float),
    ),
    (
        "main_cause",
        "a registered household needs a main cause; others must leave it empty",
        lambda f: _flag(f, "is_registered") != f["main_cause"].notna().to_numpy(dtype=bool),
    ),
    (
        "registered_year",
        "a registered household needs a registration year; others none",
        lambda f: _flag(f, "is_registered") != f["registered_year"].notna().to_numpy(dtype=bool),
    ),
    (
        "support_class",
        "a registered household needs a support class; others none",
        lambda f: _flag(f, "is_registered") != f["support_class"].notna().to_numpy(dtype=bool),
    ),
    (
        "income_pc",
        "must equal (income sources − production_cost) / n_members within 1 yuan",
        lambda f: np.abs(_income_pc(f) - f["income_pc"].to_numpy(dtype=float)) > 1.0,
    ),
)


def _duplicates(
    frame: pd.DataFrame,
    parsed: pd.DataFrame,
    where: str,
    id_column: str,
    log: ProblemLog,
    first_row: int = 1,
) -> np.ndarray:
    """Rows whose id repeats an earlier row's of the same frame, naming the earlier row; returns
    the mask of those rows."""
    if id_column not in parsed:
        return np.zeros(len(frame), dtype=bool)
    ids = parsed[id_column]
    repeated = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    if not repeated.any():
        return repeated
    first = pd.Series(np.arange(len(ids)), index=ids.to_numpy()).groupby(level=0).first()
    log.add_rows(
        repeated,
        lambda pos: Problem(
            f"{where}: {row_label(frame, pos, id_column, first_row)}, column {id_column}",
            plain(ids.iloc[pos]),
            f"must be unique (row {int(first[ids.iloc[pos]]) + first_row} has the same id)",
        ),
    )
    return repeated


@dataclass(frozen=True)
class VillageIndex:
    """The villages table as sorted arrays, to look up each household's village (vectorised)."""

    ids: np.ndarray  # village_id, sorted (int64)
    county: np.ndarray  # county_id of each village (object)
    immigrant: np.ndarray  # is_immigrant of each village (bool)

    @classmethod
    def of(cls, villages: pd.DataFrame) -> VillageIndex:
        """From a checked (typed) villages table."""
        ids = villages["village_id"].to_numpy(dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        return cls(
            ids[order],
            villages["county_id"].astype("object").to_numpy()[order],
            villages["is_immigrant"].to_numpy(dtype=bool)[order],
        )

    def find(self, village_id: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(found, index): whether each id is a village, and its position in the arrays."""
        values = village_id.to_numpy(dtype=float, na_value=np.nan)
        known = ~np.isnan(values)
        ids = np.where(known, values, 0).astype(np.int64)
        index = np.minimum(np.searchsorted(self.ids, ids), max(len(self.ids) - 1, 0))
        found = known & (self.ids[index] == ids) if len(self.ids) else np.zeros_like(known)
        return found, index


def _village_rules(
    frame: pd.DataFrame,
    parsed: pd.DataFrame,
    where: str,
    villages: VillageIndex,
    ok: np.ndarray,
    log: ProblemLog,
    first_row: int,
) -> None:
    """Each household's village exists, and its county and immigrant flag are the village's."""
    if "village_id" not in parsed:
        return
    found, index = villages.find(parsed["village_id"])

    def report(mask: np.ndarray, column: str, rule: Callable[[int], str]) -> None:
        log.add_rows(
            mask,
            lambda pos: Problem(
                f"{where}: {row_label(frame, pos, 'household_id', first_row)}, column {column}",
                plain(parsed[column].iloc[pos]),
                rule(pos),
            ),
        )

    report(ok & ~found, "village_id", lambda _: "must be a village_id of the villages table")
    village = lambda pos: int(villages.ids[index[pos]])  # noqa: E731
    if "county_id" in parsed:
        county = parsed["county_id"].astype("object").to_numpy()
        report(
            ok & found & (county != villages.county[index]),
            "county_id",
            lambda pos: (
                f"must be the county of village {village(pos)} "
                f"({villages.county[index[pos]]} in the villages table)"
            ),
        )
    if "is_immigrant" in parsed:
        immigrant = _flag(parsed, "is_immigrant")
        report(
            ok & found & (immigrant != villages.immigrant[index]),
            "is_immigrant",
            lambda pos: (
                f"must be the is_immigrant of village {village(pos)} "
                f"({bool(villages.immigrant[index[pos]])} in the villages table)"
            ),
        )


def _rule_problem(
    frame: pd.DataFrame, parsed: pd.DataFrame, where: str, column: str, rule: str, first_row: int
) -> Callable[[int], Problem]:
    """Makes the problem of a row (by position) that breaks ``rule``, showing ``column``."""

    def make(pos: int) -> Problem:
        label = row_label(frame, pos, "household_id", first_row)
        return Problem(f"{where}: {label}, column {column}", plain(parsed[column].iloc[pos]), rule)

    return make


def _check_households(
    frame: pd.DataFrame,
    where: str,
    log: ProblemLog,
    villages: VillageIndex | None = None,
    first_row: int = 1,
    header: bool = True,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every check of one households frame into ``log``: (parsed, bad rows, repeated ids)."""
    parsed, bad_rows = parse_cells(
        frame, HOUSEHOLD_COLUMNS, where, "household_id", log, first_row, header
    )
    repeated = _duplicates(frame, parsed, where, "household_id", log, first_row)
    for column, rule, broken in HOUSEHOLD_RULES:
        try:
            mask = np.asarray(broken(parsed), dtype=bool) & ~bad_rows
        except KeyError:  # the rule needs a column that is missing (reported above)
            continue
        log.add_rows(mask, _rule_problem(frame, parsed, where, column, rule, first_row))
    if villages is not None:
        _village_rules(frame, parsed, where, villages, ~bad_rows, log, first_row)
    return parsed, bad_rows, repeated


def check_households(
    frame: pd.DataFrame, where: str = "households", villages: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a households table; returns the typed table (if clean) and every problem.

    The consistency rules run on every row whose cells all parsed (a row with an unreadable
    cell is reported for that cell, never for a rule it only seems to break), so one pass
    reports every bad row. ``villages`` (a checked villages table) adds the rules between the
    tables: each household's village exists and has the household's county and immigrant flag.
    """
    log = ProblemLog()
    index = VillageIndex.of(villages) if villages is not None else None
    parsed, _, _ = _check_households(frame, where, log, index)
    return coerce_households(parsed) if not log.kept else parsed, log.kept


def check_villages(
    frame: pd.DataFrame, where: str = "villages"
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a villages table; returns the typed table (if clean) and every problem."""
    log = ProblemLog()
    parsed, _ = parse_cells(frame, VILLAGE_COLUMNS, where, "village_id", log)
    _duplicates(frame, parsed, where, "village_id", log)
    return coerce_villages(parsed) if not log.kept else parsed, log.kept


def check_registry(
    households: pd.DataFrame,
    villages: pd.DataFrame | None = None,
    where: str = "registry",
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Validate both tables; raise :class:`RegistryError` listing every problem.

    Returns the typed households and villages tables. (For files, and tables too large to hold,
    :class:`RegistryCheck` checks one chunk at a time.)
    """
    check = RegistryCheck(villages, where)
    typed = check.add(households)
    check.finish()
    assert typed is not None  # finish() raised otherwise
    return typed, check.villages


# ----------------------------------------------------------------------------------------------
# Whole registries, one chunk at a time (files of any size)

#: Problems a check keeps (and the command line lists); beyond it they are only counted.
DEFAULT_MAX_PROBLEMS = 1000


class RegistryCheckError(RegistryError):
    """A registry with problems: lists every problem kept (up to the check's cap) and counts
    those beyond it (``extra["n_problems"]`` is the total)."""

    def __str__(self) -> str:
        lines = [self.summary] if self.summary else []
        lines += [str(p) for p in self.problems]
        beyond = int(self.extra.get("n_problems", len(self.problems))) - len(self.problems)  # type: ignore[call-overload]
        if beyond > 0:
            lines.append(f"... and {beyond:,} more problems (fix those listed and check again)")
        return "\n".join(lines)


@dataclass(frozen=True)
class RegistryCounts:
    """What a clean registry holds (``fupinsim check-registry`` prints it)."""

    households: int
    registered: int  # registered poor households
    registered_people: int  # people in them
    households_by_county: dict[str, int]
    registered_by_county: dict[str, int]


class RegistryCheck:
    """Validate a registry one households chunk at a time, memory bounded by the chunk.

    Every rule of :func:`check_households` runs on each chunk (rows numbered through the file);
    the rules across chunks keep only small state: household ids in an :class:`IdSet`, counts
    per county, and at most ``max_problems`` problems (the rest counted). Use::

        check = RegistryCheck(villages, where)
        for chunk in chunks:            # in file order
            check.add(chunk)
        if len(check.pending_ids):       # ids repeated across chunks: name their first rows
            for first_row, ids in id_chunks:
                check.locate(ids, first_row)
        counts = check.finish(counties, scenario_id)   # raises RegistryCheckError
    """

    def __init__(
        self,
        villages: pd.DataFrame | None,
        where: str = "registry",
        max_problems: int | None = DEFAULT_MAX_PROBLEMS,
    ) -> None:
        self.where = where
        self.households_where = f"{where} [households]"
        self.log = ProblemLog(max_problems)
        self.villages: pd.DataFrame | None = None
        self._index: VillageIndex | None = None
        if villages is not None:
            typed, problems = check_villages(villages, f"{where} [villages]")
            for problem in problems:
                self.log.add(problem)
            if not problems:
                self.villages = typed
                self._index = VillageIndex.of(typed)
        self.rows = 0
        self._chunks = 0
        self._ids = IdSet()
        self._by_county = np.zeros((2, len(COUNTY_IDS)), dtype=np.int64)  # all, registered
        self._people = 0
        self._pending: list[tuple[int, int]] = []  # (position in log.kept, repeated id)
        self._first: dict[int, int] = {}  # repeated id -> its first row (at most max_problems)

    def add(self, chunk: pd.DataFrame) -> pd.DataFrame | None:
        """Check the next chunk of households; the typed chunk while the registry is clean."""
        first_row = self.rows + 1
        parsed, bad, repeated = _check_households(
            chunk, self.households_where, self.log, self._index, first_row, self._chunks == 0
        )
        self.rows += len(chunk)
        self._chunks += 1
        if "household_id" in parsed:
            self._across_chunks(chunk, parsed["household_id"], repeated, first_row)
        good = ~bad
        registered = np.zeros(len(chunk), dtype=bool)
        if {"is_registered", "n_members"} <= set(parsed.columns):
            registered = _flag(parsed, "is_registered") & good
            members = parsed["n_members"].to_numpy(dtype=float, na_value=0.0)
            self._people += int(members[registered].sum())
        if "county_id" in parsed:
            codes = pd.Index(COUNTY_IDS).get_indexer(pd.Index(parsed["county_id"].astype("object")))
            for level, rows in enumerate((good, registered)):
                picked = codes[rows & (codes >= 0)]
                self._by_county[level] += np.bincount(picked, minlength=len(COUNTY_IDS))
        return coerce_households(parsed) if self.log.total == 0 else None

    def _across_chunks(
        self, chunk: pd.DataFrame, ids: pd.Series, repeated: np.ndarray, first_row: int
    ) -> None:
        usable, values = whole_ids(ids)
        usable &= ~repeated  # repeats within the chunk are reported already
        positions = np.flatnonzero(usable)
        earlier = np.zeros(len(chunk), dtype=bool)
        earlier[positions] = self._ids.seen_then_add(values[positions])
        before = len(self.log.kept)
        self.log.add_rows(
            earlier,
            lambda pos: Problem(
                f"{self.households_where}: "
                f"{row_label(chunk, pos, 'household_id', first_row)}, column household_id",
                plain(ids.iloc[pos]),
                "must be unique (an earlier row has the same id)",
            ),
        )
        kept = np.flatnonzero(earlier)[: len(self.log.kept) - before]
        self._pending += [(before + i, int(values[pos])) for i, pos in enumerate(kept)]

    @property
    def pending_ids(self) -> np.ndarray:
        """Ids repeated across chunks whose first row is not known yet (at most the cap)."""
        return np.unique(np.array([i for _, i in self._pending], dtype=np.int64))

    def locate(self, ids: pd.Series, first_row: int) -> None:
        """Read the household ids of a chunk again (rows from ``first_row``) to find where each
        pending id first appears."""
        pending = self.pending_ids
        usable, values = whole_ids(ids)
        hits = np.flatnonzero(usable & np.isin(values, pending))
        found, where = np.unique(values[hits], return_index=True)
        for ident, pos in zip(found.tolist(), hits[where].tolist(), strict=True):
            self._first.setdefault(ident, first_row + pos)

    def finish(
        self, counties: Sequence[str] | None = None, scenario_id: str | None = None
    ) -> RegistryCounts:
        """Rules on the whole registry; raise :class:`RegistryCheckError` listing the problems.

        ``counties`` (a scenario's) must each have households, and every household must be in
        one of them.
        """
        where = self.households_where
        if self.rows == 0:
            empty = Problem(
                f"{where}: rows",
                0,
                "must hold at least one household (a data row under the header)",
                fix="A registry without households cannot be planned for.",
            )
            if self.log.total == 0:  # the only problem: one line
                raise RegistryCheckError([empty], extra={"n_problems": 1})
            self.log.add(empty)
        elif counties is not None:
            self._county_rules(list(counties), scenario_id or "the scenario")
        for k, ident in self._pending:
            if ident in self._first:
                old = self.log.kept[k]
                rule = f"must be unique (row {self._first[ident]} has the same id)"
                self.log.kept[k] = Problem(old.where, old.value, rule)
        if self.log.total:
            listed = len(self.log.kept)
            summary = f"{self.where}: {self.log.total:,} problem(s) found" + (
                f"; the first {listed:,} are listed" if listed < self.log.total else ""
            )
            raise RegistryCheckError(
                self.log.kept, summary=summary, extra={"n_problems": self.log.total}
            )
        households, registered = (
            dict(zip(COUNTY_IDS, n, strict=True)) for n in self._by_county.tolist()
        )
        return RegistryCounts(
            self.rows, sum(registered.values()), self._people, households, registered
        )

    def _county_rules(self, counties: list[str], scenario_id: str) -> None:
        """The plan targets registered poor households: each county the scenario plans for
        needs some, and a county it does not plan for (no money, no factors) may have none."""
        where = f"{self.households_where}: column county_id"
        planned = ", ".join(counties)
        for county, n, n_registered in zip(COUNTY_IDS, *self._by_county.tolist(), strict=True):
            if county in counties and n_registered == 0:
                self.log.add(
                    Problem(
                        where,
                        None,
                        f"must have registered poor households in every county scenario "
                        f"{scenario_id!r} plans for ({planned}); {county} has none "
                        f"({n:,} households, none registered)",
                        fix=f"Add {county}'s registered households to the file, or leave "
                        f"{county} out of the scenario's counties.",
                    )
                )
            elif county not in counties and n_registered > 0:
                self.log.add(
                    Problem(
                        where,
                        county,
                        f"must be a county scenario {scenario_id!r} plans for ({planned}) in "
                        f"registered households; {n_registered:,} registered households are "
                        f"in {county}",
                        fix=f"Add {county} to the scenario's counties, or leave its registered "
                        "households out of the file.",
                    )
                )
