"""Household arrays in simulation order, built once from a registry table.

The engine works on NumPy arrays, not DataFrames. Households are put in a canonical order —
by county, village type and household id — so that households of a target group are
contiguous and random-number blocks are consecutive positions. Two runs over the same
households therefore draw the same numbers household by household (common random numbers),
whatever the chunk size or number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from fupinsim import data
from fupinsim.registry.schema import HOUSING_GRADES

__all__ = ["MARKET_SOURCES", "Population", "build_population", "group_labels"]

#: Market income sources the engine evolves (registry columns), in array order.
MARKET_SOURCES: tuple[str, ...] = tuple(s for s in data.INCOME_SOURCES if s != "income_transfers")
#: Members in school by stage (registry columns), youngest first.
_STUDENT_COLUMNS = data.STUDENT_COLUMNS


def _cost_ratios() -> np.ndarray:
    """Production cost per yuan of gross income (calibration returns), for crops, livestock and
    greenhouses: used to split a recorded production cost over the three farm sources."""
    r = data.registry_calibration()["returns"]
    return np.array(
        [
            r["crop_cost_share"],
            r["sheep_cost_per_head"] / r["sheep_gross_per_head"],
            r["greenhouse_cost"] / r["greenhouse_gross"],
        ]
    )


@dataclass(frozen=True)
class Population:
    """Households as arrays (length n) in canonical order; see module docstring."""

    household_id: np.ndarray
    group: np.ndarray  # county index × 2 + is_immigrant
    county: np.ndarray  # index into COUNTY_IDS
    is_immigrant: np.ndarray
    village: np.ndarray  # index into ``village_ids``
    registered: np.ndarray
    members: np.ndarray
    labour: np.ndarray
    away: np.ndarray
    elderly: np.ndarray
    chronic_ill: np.ndarray
    disabled: np.ndarray
    dropouts: np.ndarray
    students: np.ndarray  # (5, n): primary, junior, senior, vocational, tertiary
    land_mu: np.ndarray
    sheep: np.ndarray
    market: np.ndarray  # (6, n): true base-year gross income by MARKET_SOURCES, yuan/household
    cost_ratio: np.ndarray  # (3, n): production cost per yuan of crop, livestock, greenhouse
    transfers: np.ndarray  # recorded base-year transfers (income_transfers), yuan/household
    is_dibao: np.ndarray
    is_wubao: np.ndarray
    weak: np.ndarray  # no labour, or a disabled, ill or elderly member (dibao candidates)
    housing_grade: np.ndarray  # 0..3 for A..D
    safe_housing: np.ndarray
    safe_water: np.ndarray
    ncms: np.ndarray
    support_class: np.ndarray  # 0 none, 1 development, 2 social security
    village_ids: np.ndarray  # village_id of each village index
    village_population: np.ndarray  # people per village (whole village)

    @property
    def n(self) -> int:
        """Households."""
        return int(self.household_id.size)

    def take(self, start: int, stop: int) -> Population:
        """Households at positions [start, stop) (villages kept whole)."""
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("village_"):
                values[f.name] = value
            elif value.ndim == 2:
                values[f.name] = value[:, start:stop]
            else:
                values[f.name] = value[start:stop]
        return Population(**values)


def group_labels() -> list[tuple[str, str]]:
    """(county_id, 'old'|'immigrant') for each group index."""
    return [(c, v) for c in data.COUNTY_IDS for v in ("old", "immigrant")]


def _true_factor(households: pd.DataFrame) -> np.ndarray:
    """Ratio of true to recorded market net income (1 where the truth is unknown)."""
    if "true_income_pc" not in households:
        return np.ones(len(households))
    members = households["n_members"].to_numpy(dtype=float)
    transfers = households["income_transfers"].to_numpy(dtype=float)
    recorded = households["income_pc"].to_numpy(dtype=float) * members - transfers
    true = households["true_income_pc"].to_numpy(dtype=float) * members - transfers
    ok = (recorded > 1.0) & (true > 0.0)
    return np.where(ok, true / np.where(ok, recorded, 1.0), 1.0)


def _codes(values: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
    """Category codes (0-based, -1 for missing) without converting strings one by one."""
    return np.asarray(pd.Categorical(values, categories=list(categories)).codes, dtype=np.int64)


def build_population(households: pd.DataFrame, villages: pd.DataFrame | None = None) -> Population:
    """Engine arrays from a validated households table (and its villages, for incidence)."""
    county = _codes(households["county_id"], data.COUNTY_IDS)
    imm = households["is_immigrant"].to_numpy(dtype=bool)
    group = county * 2 + imm
    order = np.lexsort((households["household_id"].to_numpy(), group))
    hh = households.iloc[order]
    county, imm, group = county[order], imm[order], group[order]

    factor = _true_factor(hh)
    market = np.stack([hh[c].to_numpy(dtype=float) for c in MARKET_SOURCES]) * factor
    farm_gross = market[1:4]
    ratios = _cost_ratios()[:, None]
    nominal_cost = (farm_gross * ratios).sum(axis=0)
    recorded_cost = hh["production_cost"].to_numpy(dtype=float) * factor
    scale = np.divide(
        recorded_cost, nominal_cost, out=np.ones_like(recorded_cost), where=nominal_cost > 0
    )
    cost_ratio = np.broadcast_to(ratios, farm_gross.shape) * scale

    if villages is not None and len(villages):
        village_ids = villages["village_id"].to_numpy(dtype=np.int64)
        village_population = villages["population"].to_numpy(dtype=float)
    else:
        village_ids = np.unique(hh["village_id"].to_numpy(dtype=np.int64))
        village_population = np.zeros(village_ids.size)
    village = np.searchsorted(village_ids, hh["village_id"].to_numpy(dtype=np.int64))
    if village_population.sum() == 0:
        village_population = np.bincount(
            village, weights=hh["n_members"].to_numpy(dtype=float), minlength=village_ids.size
        )

    members = hh["n_members"].to_numpy(dtype=np.int64)
    labour = hh["n_labour"].to_numpy(dtype=np.int64)
    elderly = hh["n_elderly"].to_numpy(dtype=np.int64)
    chronic = hh["n_chronic_ill"].to_numpy(dtype=np.int64)
    disabled = hh["n_disabled"].to_numpy(dtype=np.int64)
    grade = _codes(hh["housing_grade"], HOUSING_GRADES)
    support = _codes(hh["support_class"], ("development", "social_security")) + 1
    return Population(
        household_id=hh["household_id"].to_numpy(dtype=np.int64),
        group=group,
        county=county,
        is_immigrant=imm,
        village=village,
        registered=hh["is_registered"].to_numpy(dtype=bool),
        members=members,
        labour=labour,
        away=hh["n_away"].to_numpy(dtype=np.int64),
        elderly=elderly,
        chronic_ill=chronic,
        disabled=disabled,
        dropouts=hh["n_dropouts"].to_numpy(dtype=np.int64),
        students=np.stack([hh[c].to_numpy(dtype=np.int64) for c in _STUDENT_COLUMNS]),
        land_mu=hh["land_mu"].to_numpy(dtype=float),
        sheep=hh["sheep"].to_numpy(dtype=np.int64),
        market=market,
        cost_ratio=np.ascontiguousarray(cost_ratio),
        transfers=hh["income_transfers"].to_numpy(dtype=float),
        is_dibao=hh["is_dibao"].to_numpy(dtype=bool),
        is_wubao=hh["is_wubao"].to_numpy(dtype=bool),
        weak=(labour == 0) | (disabled > 0) | (chronic > 0) | (elderly > 0),
        housing_grade=grade,
        safe_housing=grade <= 1,
        safe_water=hh["has_safe_water"].to_numpy(dtype=bool),
        ncms=hh["ncms_enrolled"].to_numpy(dtype=bool),
        support_class=support,
        village_ids=village_ids,
        village_population=village_population,
    )
