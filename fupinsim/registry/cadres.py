"""A synthetic, seeded roster of the cadres who pair with registered poor households (plan §16).

The plan's "household contracting" (包抓, §16) pairs every registered poor household with a
cadre from a named unit: prefecture-level cadres each help 2–3 households, county-level cadres
about 3, and section-level cadres stationed in villages "a number of" households (fupinsim's
level ``township``; see the header of ``fupinsim/data/cadre_units.yaml`` for the plan's wording).
The units, their levels and home counties, the loads and the sizing rules are packaged data
(``cadre_units.yaml``), each with its source.

The roster is sized from the registry so that every registered household can be paired inside
its own county:

1. each of the city's four leading bodies gives its prefecture-level cadres to the county §16
   contracts it to; municipal departments and the counties' own party committees and
   governments give county-level cadres (a number drawn in the unit's range);
2. higher-level cadres are kept, in roster order, while their *minimum* loads fit the county's
   registered households (a county with few poor does not get more leaders than households);
3. township cadres take the rest: ``ceil(rest × (1 + township_slack) / max_households)`` of
   them, spread over the county's townships at random.

Random draws come from the named stream ``"cadres"`` of :mod:`fupinsim.rng`, one generator per
county (keyed by the county's position in :data:`fupinsim.data.COUNTY_IDS`), so a county's
cadres do not change when another county's registry does. Pure: no I/O.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from fupinsim import data, rng

__all__ = [
    "LEVELS",
    "ROSTER_COLUMNS",
    "CadreRoster",
    "LevelRule",
    "build_roster",
    "contracts",
    "level_rules",
    "registered_per_county",
    "roster_for_registry",
    "unit_table",
]

logger = logging.getLogger(__name__)

#: Cadre levels, highest first (the roster's order).
LEVELS: tuple[str, ...] = ("prefecture", "county", "township")

#: Columns of :attr:`CadreRoster.cadres`. ``capacity`` is the most households a cadre helps,
#: ``min_households`` the fewest the plan expects (both households per cadre).
ROSTER_COLUMNS: tuple[str, ...] = (
    "cadre_id",
    "code",
    "unit_id",
    "unit_name",
    "unit_name_zh",
    "unit_level",
    "level",
    "home_county_id",
    "min_households",
    "capacity",
)

_FILE = "cadre_units"


@dataclass(frozen=True)
class LevelRule:
    """How many households a cadre of one level helps (households per cadre)."""

    level: str
    name_en: str
    name_zh: str
    min_households: int
    max_households: int
    may_leave_home_county: bool


@cache
def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = data.plain(data.load_raw(_FILE))
    return raw


def level_rules() -> dict[str, LevelRule]:
    """The plan's load per cadre level (``cadre_units.yaml`` ``levels``), keyed by level."""
    rules = {}
    for row in _raw()["levels"]:
        rules[row["id"]] = LevelRule(
            level=row["id"],
            name_en=row["name_en"],
            name_zh=row["name_zh"],
            min_households=int(row["min_households"]),
            max_households=int(row["max_households"]),
            may_leave_home_county=bool(row["may_leave_home_county"]),
        )
    if tuple(rules) != LEVELS:
        raise ValueError(f"{_FILE}.yaml levels must be {LEVELS}; got {tuple(rules)}")
    return rules


def contracts() -> pd.DataFrame:
    """§16 contracts: ``county_id, unit_id, villages`` (``"immigrant"`` or ``"all"``)."""
    rows = _raw()["contracts"]
    return pd.DataFrame(
        {
            "county_id": [r["county"] for r in rows],
            "unit_id": [r["unit"] for r in rows],
            "villages": [r["villages"] for r in rows],
        }
    )


@cache
def unit_table() -> pd.DataFrame:
    """Every named unit: ``unit_id, unit_name, unit_name_zh, unit_level, home_county_id``
    plus the cadres it provides: ``prefecture_cadres`` (fixed count) and ``county_low``,
    ``county_high`` (range of county-level cadres). Prefecture-level units first, then each
    county's units and townships in :data:`fupinsim.data.COUNTY_IDS` order."""
    raw = _raw()
    rows: list[dict[str, Any]] = []
    for unit in raw["units"]:
        low, high = unit.get("county_cadres", [0, 0])
        rows.append(
            {
                "unit_id": unit["id"],
                "unit_name": unit["name_en"],
                "unit_name_zh": unit["name_zh"],
                "unit_level": unit["level"],
                "home_county_id": unit["home_county"],
                "prefecture_cadres": int(unit.get("prefecture_cadres", 0)),
                "county_low": int(low),
                "county_high": int(high),
            }
        )
    names = data.counties()
    for county in data.COUNTY_IDS:
        en, zh = names.loc[county, "name_en"], names.loc[county, "name_zh"]
        for unit in raw["county_units"]:
            low, high = unit["county_cadres"]
            rows.append(
                {
                    "unit_id": f"{county}_{unit['suffix']}",
                    "unit_name": unit["name_en"].format(county=en),
                    "unit_name_zh": unit["name_zh"].format(county=zh),
                    "unit_level": "county",
                    "home_county_id": county,
                    "prefecture_cadres": 0,
                    "county_low": int(low),
                    "county_high": int(high),
                }
            )
        for i, (name_zh, name_en) in enumerate(raw["townships"][county]["names"], start=1):
            rows.append(
                {
                    "unit_id": f"{county}_t{i:02d}",
                    "unit_name": name_en,
                    "unit_name_zh": name_zh,
                    "unit_level": "township",
                    "home_county_id": county,
                    "prefecture_cadres": 0,
                    "county_low": 0,
                    "county_high": 0,
                }
            )
    frame = pd.DataFrame(rows)
    unknown = sorted(set(frame["home_county_id"]) - set(data.COUNTY_IDS))
    if unknown or frame["unit_id"].duplicated().any():
        raise ValueError(f"{_FILE}.yaml: unknown home counties {unknown} or duplicate unit ids")
    return frame


@dataclass(frozen=True)
class CadreRoster:
    """The cadres available for pairing.

    Attributes
    ----------
    cadres:
        One row per cadre, columns :data:`ROSTER_COLUMNS`, ordered by ``cadre_id`` (1, 2, …;
        prefecture level first). ``capacity`` and ``min_households`` are households per cadre.
    seed:
        The scenario seed the roster was drawn with (``None`` for a roster given as a table).
    """

    cadres: pd.DataFrame
    seed: int | None = None

    def __post_init__(self) -> None:
        missing = [c for c in ROSTER_COLUMNS if c not in self.cadres]
        if missing:
            raise ValueError(f"a cadre roster needs the columns {missing}")
        if self.cadres["cadre_id"].duplicated().any():
            raise ValueError("cadre_id must be unique in a cadre roster")
        if (self.cadres["capacity"] < self.cadres["min_households"]).any():
            raise ValueError("a cadre's capacity must be at least its min_households")

    def __len__(self) -> int:
        return len(self.cadres)

    def capacity_by_county(self) -> pd.DataFrame:
        """Cadres and places (sum of capacities, households) by home county and level."""
        table = self.cadres.groupby(["home_county_id", "level"], observed=True, sort=False).agg(
            cadres=("cadre_id", "size"), places=("capacity", "sum")
        )
        return table.reset_index()


def registered_per_county(households: pd.DataFrame) -> pd.Series:
    """Registered households per county (all rows when there is no ``is_registered``)."""
    rows = households["is_registered"].to_numpy(bool) if "is_registered" in households else None
    county = households["county_id"].astype(str)
    counts = (county[rows] if rows is not None else county).value_counts()
    return counts.reindex(list(data.COUNTY_IDS), fill_value=0).astype(np.int64)


def roster_for_registry(households: pd.DataFrame, seed: int) -> CadreRoster:
    """The roster sized for a registry's registered households (see :func:`build_roster`)."""
    return build_roster(registered_per_county(households), seed)


def build_roster(households_per_county: Mapping[str, int] | pd.Series, seed: int) -> CadreRoster:
    """A synthetic roster that can pair every registered household inside its own county.

    Parameters
    ----------
    households_per_county:
        Registered households per county id (counties left out have none).
    seed:
        Scenario seed; the draws come from the ``"cadres"`` stream, one generator per county.

    Returns
    -------
    CadreRoster
        Cadres of every level; their capacities in each county add up to at least its
        registered households.
    """
    counts = {c: int(households_per_county.get(c, 0)) for c in data.COUNTY_IDS}
    unknown = sorted(set(households_per_county.keys()) - set(data.COUNTY_IDS))
    if unknown:
        raise ValueError(f"unknown county ids {unknown}; known: {', '.join(data.COUNTY_IDS)}")
    units = unit_table()
    rules = level_rules()
    slack = float(_raw()["sizing"]["township_slack"])
    parts = []
    for index, county in enumerate(data.COUNTY_IDS):
        gen = rng.generator(seed, "cadres", index)
        parts.append(_county_cadres(units, rules, county, counts[county], slack, gen))
    frame = pd.concat(parts, ignore_index=True)
    level_rank = frame["level"].map({level: i for i, level in enumerate(LEVELS)})
    unit_rank = frame["unit_id"].map({u: i for i, u in enumerate(units["unit_id"])})
    order = np.lexsort((frame["seq"].to_numpy(), unit_rank.to_numpy(), level_rank.to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    frame["cadre_id"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    initial = frame["level"].str[0].str.upper()
    frame["code"] = frame["unit_id"] + "-" + initial + frame["seq"].astype(str).str.zfill(3)
    frame["level"] = pd.Categorical(frame["level"], categories=list(LEVELS))
    logger.debug("cadre roster: %d cadres for %d households", len(frame), sum(counts.values()))
    return CadreRoster(frame[list(ROSTER_COLUMNS)], seed)


def _county_cadres(
    units: pd.DataFrame,
    rules: Mapping[str, LevelRule],
    county: str,
    households: int,
    slack: float,
    gen: np.random.Generator,
) -> pd.DataFrame:
    """The cadres whose home is one county (rows: unit columns + ``level, seq``)."""
    own = units[units["home_county_id"] == county]
    higher = own[own["unit_level"] != "township"]
    drawn = gen.integers(higher["county_low"], higher["county_high"], endpoint=True)
    n_prefecture = higher["prefecture_cadres"].to_numpy()
    unit_index = np.concatenate(
        [np.repeat(np.arange(len(higher)), n_prefecture), np.repeat(np.arange(len(higher)), drawn)]
    )
    levels = np.array(["prefecture"] * int(n_prefecture.sum()) + ["county"] * int(drawn.sum()))
    minimum = np.array([rules[level].min_households for level in levels], dtype=np.int64)
    keep = np.cumsum(minimum) <= households  # leaders first, while their minimum loads fit
    unit_index, levels = unit_index[keep], levels[keep]
    top = higher.iloc[unit_index].reset_index(drop=True)
    top["level"] = levels
    capacity = sum(rules[level].max_households for level in levels)

    township = rules["township"]
    rest = max(0, households - capacity)
    n_township = min(
        math.ceil(rest * (1 + slack) / township.max_households),
        (households - int(minimum[keep].sum())) // max(township.min_households, 1),
    )
    towns = own[own["unit_level"] == "township"].reset_index(drop=True)
    if n_township > 0 and towns.empty:
        raise ValueError(f"{_FILE}.yaml: county {county} has no townships for its cadres")
    per_town = (
        gen.multinomial(n_township, np.full(len(towns), 1 / len(towns)))
        if n_township > 0
        else np.zeros(len(towns), dtype=np.int64)
    )
    bottom = towns.iloc[np.repeat(np.arange(len(towns)), per_town)].reset_index(drop=True)
    bottom["level"] = "township"
    frame = pd.concat([top, bottom], ignore_index=True)
    frame["seq"] = frame.groupby(["unit_id", "level"], sort=False).cumcount() + 1
    frame["min_households"] = (
        frame["level"].map({k: r.min_households for k, r in rules.items()}).astype(np.int64)
    )
    frame["capacity"] = (
        frame["level"].map({k: r.max_households for k, r in rules.items()}).astype(np.int64)
    )
    return frame
