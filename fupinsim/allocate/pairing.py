"""Pair every registered household with a cadre (plan §16), as a min-cost flow on aggregates.

The assignment is a transportation problem solved as an LP (PuLP, HiGHS simplex through
:func:`fupinsim.allocate.solve.solve_problem`) whose size does not grow with households:

* **supply nodes** are *cadre groups*: the roster's cadres aggregated by ``(unit_id,
  home_county_id, level)``; a group ships between the sum of its cadres' ``min_households``
  (soft: a shortfall costs :data:`UNDER_MINIMUM_COST` per household) and the sum of their
  ``capacity``;
* **demand nodes** are *villages*, each needing its registered households;
* **arcs**: a group reaches every village of its home county at cost 0 (plus
  ``contract_penalty`` when §16 gives its leading body other villages of that county, e.g.
  resettlement villages only); a group whose level ``may_leave_home_county`` reaches another
  county through that county's *import node* at cost 1 + distance between county seats in
  1,000 km; the import node serves the county's villages at cost 0; a village's households may
  stay *unpaired* at :data:`UNPAIRED_COST` each, so the LP is always feasible and a shortage
  is reported in planner terms instead of "infeasible".

The network matrix is totally unimodular and the simplex returns a vertex, so flows are whole
households and a vertex uses at most (groups + villages + counties − 1) arcs: most villages are
served by one group. Households are then **dealt** deterministically and vectorised: in each
village by household id over its arcs; in each group, over its cadres so that each cadre's
households are in one village when the group has enough cadres (``ceil(flow / capacity)`` per
village, more while every cadre must reach its minimum), else in contiguous blocks of the
group's village-ordered households; loads are balanced within each block. The result does not
depend on the row order of the registry or the roster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pulp

from fupinsim import data
from fupinsim.allocate.pairing_deal import arc_pieces, deal_households
from fupinsim.allocate.solve import SolveResult, SolveSettings, solve_problem
from fupinsim.errors import InputError, Problem, SolverError
from fupinsim.registry.cadres import (
    LEVELS,
    CadreRoster,
    contracts,
    level_rules,
    roster_for_registry,
)

__all__ = [
    "HOUSEHOLD_CADRE_COLUMNS",
    "UNDER_MINIMUM_COST",
    "UNPAIRED_COST",
    "PairingResult",
    "cadre_tables",
    "pair_households",
    "village_cadres",
]

logger = logging.getLogger(__name__)

#: Cost of leaving one registered household without a cadre (per household; above any pairing).
UNPAIRED_COST = 1000.0
#: Cost of one household below a cadre group's minimum load (per household).
UNDER_MINIMUM_COST = 100.0

#: Columns of :attr:`PairingResult.household_cadres`.
HOUSEHOLD_CADRE_COLUMNS: tuple[str, ...] = (
    "household_id",
    "village_id",
    "county_id",
    "cadre_id",
    "code",
    "unit_id",
    "unit_name",
    "unit_name_zh",
    "level",
    "cadre_county_id",
    "same_county",
    "same_village",
)


@dataclass(frozen=True)
class PairingResult:
    """Households paired with cadres.

    Attributes
    ----------
    household_cadres:
        One row per registered household, by ``household_id``; columns
        :data:`HOUSEHOLD_CADRE_COLUMNS`. ``cadre_id`` is missing for an unpaired household;
        ``same_county``: the cadre's home county is the household's; ``same_village``: all the
        cadre's households are in one village.
    cadre_loads:
        One row per roster cadre: ``cadre_id, level, home_county_id, households, villages,
        min_households, capacity`` (households and villages it was given).
    unpaired:
        By county with unpaired households: ``county_id, county_name, households_unpaired,
        cadres_needed`` (township cadres at their capacity).
    solve:
        The LP's :class:`~fupinsim.allocate.solve.SolveResult`.
    """

    household_cadres: pd.DataFrame
    cadre_loads: pd.DataFrame
    unpaired: pd.DataFrame
    solve: SolveResult = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when every registered household has a cadre."""
        return self.unpaired.empty

    def problems(self) -> list[Problem]:
        """Each county short of cadres, in a planner's words."""
        found = []
        rows = zip(
            self.unpaired["county_name"].tolist(),
            self.unpaired["households_unpaired"].tolist(),
            self.unpaired["cadres_needed"].tolist(),
            strict=True,
        )
        for name, lost, needed in rows:
            found.append(
                Problem(
                    where=f"cadre roster, {name}",
                    value=None,
                    rule=(
                        f"{name} needs {_count(int(needed), 'more cadre')}: "
                        f"{_count(int(lost), 'registered household')} "
                        f"{'has' if lost == 1 else 'have'} no cadre to pair with (plan §16)"
                    ),
                    fix="add cadres whose home is this county, or let more cadres from other "
                    "counties help",
                )
            )
        return found

    def raise_if_unpaired(self) -> None:
        """Raise :class:`~fupinsim.errors.InputError` naming every county short of cadres."""
        if not self.ok:
            total = int(self.unpaired["households_unpaired"].sum())
            raise InputError(
                self.problems(), summary=f"{total:,} registered households have no cadre."
            )

    def summary(self) -> pd.DataFrame:
        """By level and for all: cadres used, households, share paired in the cadre's own
        county, share of cadres with one village, mean villages per cadre, loads min/max."""
        loads = self.cadre_loads[self.cadre_loads["households"] > 0]
        paired = self.household_cadres.dropna(subset=["cadre_id"])
        rows = []
        for level in (*LEVELS, "all"):
            sub = loads if level == "all" else loads[loads["level"] == level]
            hh = paired if level == "all" else paired[paired["level"] == level]
            rows.append(
                {
                    "level": level,
                    "cadres_used": len(sub),
                    "households": len(hh),
                    "share_same_county": float(hh["same_county"].mean()) if len(hh) else 1.0,
                    "share_cadres_one_village": float((sub["villages"] == 1).mean())
                    if len(sub)
                    else 1.0,
                    "villages_per_cadre": float(sub["villages"].mean()) if len(sub) else 0.0,
                    "load_min": int(sub["households"].min()) if len(sub) else 0,
                    "load_max": int(sub["households"].max()) if len(sub) else 0,
                }
            )
        return pd.DataFrame(rows)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# ----------------------------------------------------------------------------------------------
# Inputs


def _registered(households: pd.DataFrame) -> pd.DataFrame:
    needed = [c for c in ("household_id", "village_id", "county_id") if c not in households]
    if needed:
        raise InputError.single(
            "registry households", needed, "must have household_id, village_id and county_id"
        )
    frame = households
    if "is_registered" in frame:
        frame = frame[frame["is_registered"].to_numpy(bool)]
    out = pd.DataFrame(
        {
            "household_id": frame["household_id"].to_numpy(np.int64),
            "village_id": frame["village_id"].to_numpy(np.int64),
            "county_id": frame["county_id"].astype(str).to_numpy(),
        }
    )
    if out["household_id"].duplicated().any():
        raise InputError.single("registry households", None, "household_id must be unique")
    return out.sort_values(["village_id", "household_id"], kind="stable").reset_index(drop=True)


def _groups(roster: CadreRoster) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cadre groups in roster order: key, cadre count, min and max load, first cadre row."""
    cadres = roster.cadres.sort_values("cadre_id", kind="stable").reset_index(drop=True)
    keys = ["unit_id", "home_county_id", "level"]
    code = cadres[keys].astype(str).groupby(keys, sort=False).ngroup().to_numpy()
    cadres = cadres.assign(group=code)
    grouped = cadres.groupby("group", sort=True)
    groups = grouped.agg(
        unit_id=("unit_id", "first"),
        home_county_id=("home_county_id", "first"),
        level=("level", "first"),
        n=("cadre_id", "size"),
        lo=("min_households", "first"),
        hi=("capacity", "first"),
        total_min=("min_households", "sum"),
        total_max=("capacity", "sum"),
    ).reset_index()
    if (grouped["capacity"].nunique() > 1).any() or (grouped["min_households"].nunique() > 1).any():
        raise InputError.single(
            "cadre roster", None, "cadres of one unit, county and level must share their loads"
        )
    groups["level"] = groups["level"].astype(str)
    rules = level_rules()
    groups["may_leave"] = groups["level"].map(lambda v: rules[v].may_leave_home_county)
    return groups, cadres


def _distances_km() -> pd.DataFrame:
    """Distances between county seats (km, equirectangular; the seats are schematic)."""
    seats = data.counties()
    lat = np.radians(seats["seat_lat"].to_numpy(float))
    lon = np.radians(seats["seat_lon"].to_numpy(float))
    mid = (lat[:, None] + lat[None, :]) / 2
    dx = (lon[None, :] - lon[:, None]) * np.cos(mid)
    dy = lat[None, :] - lat[:, None]
    return pd.DataFrame(6371.0 * np.hypot(dx, dy), index=seats.index, columns=seats.index)


# ----------------------------------------------------------------------------------------------
# The LP


@dataclass
class _Network:
    groups: pd.DataFrame
    villages: pd.DataFrame  # village_id, county_id, demand, immigrant
    direct: pd.DataFrame = field(default_factory=pd.DataFrame)  # group, village (index), cost
    imports: pd.DataFrame = field(default_factory=pd.DataFrame)  # group, county, cost


def _network(groups: pd.DataFrame, villages: pd.DataFrame, allow_other_county: bool) -> _Network:
    net = _Network(groups, villages)
    vg = villages.reset_index(names="v")
    direct = groups.reset_index(names="g").merge(vg, left_on="home_county_id", right_on="county_id")
    penalty = float(data.plain(data.load_raw("cadre_units"))["contract_penalty"])
    steer = contracts()
    steer = steer[steer["villages"] == "immigrant"]
    steered = direct["unit_id"].isin(steer["unit_id"]) & (direct["level"] == "prefecture")
    direct["cost"] = np.where(steered & ~direct["immigrant"].to_numpy(bool), penalty, 0.0)
    net.direct = direct[["g", "v", "cost"]]
    rows = []
    if allow_other_county:
        distance = _distances_km()
        counties = sorted(set(villages["county_id"]))
        leaving = groups[groups["may_leave"].to_numpy(bool)]
        for g, home in zip(leaving.index, leaving["home_county_id"], strict=True):
            rows += [
                (g, county, 1.0 + float(distance.loc[home, county]) / 1000.0)
                for county in counties
                if county != home
            ]
    net.imports = pd.DataFrame(rows, columns=["g", "county", "cost"])
    return net


def _sum(terms: list[tuple[Any, float]]) -> pulp.LpAffineExpression:
    """A linear expression from (variable, coefficient) pairs, each variable once."""
    return pulp.LpAffineExpression(terms)


def _row(variables: list[Any], sense: int, rhs: float, name: str) -> pulp.LpConstraint:
    """``sum(variables) <sense> rhs`` (built directly: ``lpSum`` is slow at this size)."""
    return pulp.LpConstraint(_sum([(var, 1.0) for var in variables]), sense, name, rhs)


def _solve(net: _Network, settings: SolveSettings) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Solve the flow LP; returns (direct flows, import flows g→county and county→village)."""
    prob = pulp.LpProblem("cadre_pairing", pulp.LpMinimize)
    x = [
        prob.add_variable(f"x_{g}_{v}", lowBound=0.0)
        for g, v in zip(net.direct["g"], net.direct["v"], strict=True)
    ]
    y = [
        prob.add_variable(f"y_{g}_{c}", lowBound=0.0)
        for g, c in zip(net.imports["g"], net.imports["county"], strict=True)
    ]
    import_counties = sorted(set(net.imports["county"]))
    vil = net.villages
    z = {
        v: prob.add_variable(f"z_{v}", lowBound=0.0)
        for v in np.flatnonzero(vil["county_id"].isin(import_counties).to_numpy()).tolist()
    }
    u = [prob.add_variable(f"u_{v}", lowBound=0.0) for v in range(len(vil))]
    s = [prob.add_variable(f"s_{g}", lowBound=0.0) for g in range(len(net.groups))]
    objective = [(var, c) for c, var in zip(net.direct["cost"].tolist(), x, strict=True) if c]
    objective += list(zip(y, net.imports["cost"].tolist(), strict=True))
    objective += [(var, UNPAIRED_COST) for var in u] + [(var, UNDER_MINIMUM_COST) for var in s]
    prob.setObjective(_sum(objective))
    into_village: list[list[Any]] = [[u[v]] for v in range(len(vil))]
    out_of_group: list[list[Any]] = [[] for _ in range(len(net.groups))]
    for var, g, v in zip(x, net.direct["g"].tolist(), net.direct["v"].tolist(), strict=True):
        into_village[v].append(var)
        out_of_group[g].append(var)
    inflow: dict[str, list[Any]] = {c: [] for c in import_counties}
    for var, g, c in zip(y, net.imports["g"].tolist(), net.imports["county"], strict=True):
        out_of_group[g].append(var)
        inflow[c].append(var)
    outflow: dict[str, list[Any]] = {c: [] for c in import_counties}
    village_county = vil["county_id"].tolist()
    for v, var in z.items():
        into_village[v].append(var)
        outflow[village_county[v]].append(var)
    for v, demand in enumerate(vil["demand"].tolist()):
        prob += _row(into_village[v], pulp.LpConstraintEQ, demand, f"village_{v}")
    bounds = zip(net.groups["total_max"].tolist(), net.groups["total_min"].tolist(), strict=True)
    for g, (most, least) in enumerate(bounds):
        prob += _row(out_of_group[g], pulp.LpConstraintLE, most, f"max_{g}")
        prob += _row([*out_of_group[g], s[g]], pulp.LpConstraintGE, least, f"min_{g}")
    for county in import_counties:
        terms = [(var, 1.0) for var in inflow[county]] + [(var, -1.0) for var in outflow[county]]
        prob += pulp.LpConstraint(_sum(terms), pulp.LpConstraintEQ, f"import_{county}", 0)
    result = solve_problem(prob, settings)
    values = result.values

    def flows(names: list[str]) -> np.ndarray:
        raw = np.array([values.get(n, 0.0) for n in names], dtype=float)
        whole = np.rint(raw)
        if np.abs(raw - whole).max(initial=0.0) > 1e-6:
            raise SolverError("cadre pairing: the flow LP returned a fractional vertex")
        return whole.astype(np.int64)

    direct = net.direct.assign(flow=flows([v.name for v in x]))
    imports = net.imports.assign(flow=flows([v.name for v in y]))
    into = pd.DataFrame(
        {"v": list(z), "flow": flows([var.name for var in z.values()])}, dtype=np.int64
    )
    unpaired = flows([var.name for var in u])
    return direct[direct["flow"] > 0], imports[imports["flow"] > 0], (into, unpaired, result)


# ----------------------------------------------------------------------------------------------
# Public entry points


def pair_households(
    households: pd.DataFrame,
    roster: CadreRoster,
    villages: pd.DataFrame | None = None,
    *,
    settings: SolveSettings | None = None,
    allow_other_county: bool = True,
) -> PairingResult:
    """Pair each registered household with one cadre of the roster, within capacities.

    Parameters
    ----------
    households:
        Registry households: ``household_id, village_id, county_id`` (+ ``is_registered``:
        only registered rows are paired). Row order does not matter.
    roster:
        The cadres (:class:`~fupinsim.registry.cadres.CadreRoster`).
    villages:
        Registry villages with ``village_id, is_immigrant``: steers the leading bodies to the
        villages §16 gives them (optional).
    settings:
        Solver settings (default HiGHS, dual simplex, 60 s).
    allow_other_county:
        Let cadres of levels that ``may_leave_home_county`` help in another county when
        their own county has more cadres than households elsewhere lack.

    Returns
    -------
    PairingResult
        Unpaired households are reported (``unpaired``, :meth:`PairingResult.problems`),
        not raised; call :meth:`PairingResult.raise_if_unpaired` to make them an error.
    """
    hh = _registered(households)
    groups, cadres = _groups(roster)
    vil = (
        hh.groupby("village_id", sort=True)
        .agg(county_id=("county_id", "first"), demand=("household_id", "size"))
        .reset_index()
    )
    if (hh.groupby("village_id")["county_id"].nunique() > 1).any():
        raise InputError.single("registry households", None, "a village lies in one county")
    immigrant = (
        villages.set_index("village_id")["is_immigrant"].reindex(vil["village_id"]).fillna(False)
        if villages is not None and "is_immigrant" in villages
        else pd.Series(False, index=vil.index)
    )
    vil["immigrant"] = immigrant.to_numpy(bool)
    net = _network(groups, vil, allow_other_county)
    chosen = settings or SolveSettings(options={"solver": "simplex"})
    direct, imports, (into, unpaired, result) = _solve(net, chosen)
    pieces = arc_pieces(net.villages, direct, imports, into, unpaired)
    row = deal_households(hh, pieces, groups, cadres)
    table = _household_table(hh, cadres, row)
    loads = _loads(cadres, table)
    lost = _unpaired(table)
    logger.info(
        "cadre pairing: %d households, %d cadres used, %d unpaired (%s, %.2f s)",
        len(table),
        int((loads["households"] > 0).sum()),
        int(lost["households_unpaired"].sum()),
        result.solver,
        result.seconds,
    )
    return PairingResult(table, loads, lost, result)


def _household_table(hh: pd.DataFrame, cadres: pd.DataFrame, row: np.ndarray) -> pd.DataFrame:
    paired = row >= 0
    take = np.where(paired, row, 0)

    def col(name: str) -> Any:
        values = cadres[name].to_numpy()[take]
        return pd.Series(values).where(paired, None)

    table = pd.DataFrame(
        {
            "household_id": hh["household_id"].to_numpy(),
            "village_id": hh["village_id"].to_numpy(),
            "county_id": hh["county_id"].to_numpy(),
            "cadre_id": pd.arrays.IntegerArray(
                cadres["cadre_id"].to_numpy(np.int64)[take], ~paired
            ),
            "code": col("code"),
            "unit_id": col("unit_id"),
            "unit_name": col("unit_name"),
            "unit_name_zh": col("unit_name_zh"),
            "level": pd.Categorical(col("level").astype(object), categories=list(LEVELS)),
            "cadre_county_id": col("home_county_id"),
        }
    )
    table["same_county"] = paired & (
        table["cadre_county_id"].to_numpy() == hh["county_id"].to_numpy()
    )
    villages = table.groupby("cadre_id")["village_id"].transform("nunique")
    table["same_village"] = paired & (villages.to_numpy(dtype=float, na_value=0) == 1)
    return table.sort_values("household_id", kind="stable").reset_index(drop=True)[
        list(HOUSEHOLD_CADRE_COLUMNS)
    ]


def _loads(cadres: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    got = (
        table.dropna(subset=["cadre_id"])
        .groupby("cadre_id")
        .agg(households=("household_id", "size"), villages=("village_id", "nunique"))
    )
    out = cadres[["cadre_id", "level", "home_county_id", "min_households", "capacity"]].copy()
    out = out.sort_values("cadre_id").reset_index(drop=True)
    out["households"] = got["households"].reindex(out["cadre_id"]).fillna(0).to_numpy(np.int64)
    out["villages"] = got["villages"].reindex(out["cadre_id"]).fillna(0).to_numpy(np.int64)
    return out


def _unpaired(table: pd.DataFrame) -> pd.DataFrame:
    lost = table[table["cadre_id"].isna()]
    counts = lost["county_id"].value_counts()
    counts = counts.reindex([c for c in data.COUNTY_IDS if c in counts.index])
    capacity = level_rules()["township"].max_households
    names = data.counties()["name_en"]
    return pd.DataFrame(
        {
            "county_id": counts.index.to_numpy(dtype=object),
            "county_name": names.reindex(counts.index).to_numpy(dtype=object),
            "households_unpaired": counts.to_numpy(np.int64),
            "cadres_needed": -(-counts.to_numpy(np.int64) // capacity),
        }
    )


def cadre_tables(
    households: pd.DataFrame,
    villages: pd.DataFrame | None,
    seed: int,
    *,
    settings: SolveSettings | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run tables ``cadre_roster`` and ``household_cadres`` for a registry.

    Builds the roster for the registry's registered households
    (:func:`~fupinsim.registry.cadres.roster_for_registry`), pairs them
    (:func:`pair_households`) and raises :class:`~fupinsim.errors.InputError` if any
    household is left without a cadre.

    Returns
    -------
    tuple of DataFrame
        ``cadre_roster``: the roster's columns plus ``households`` and ``villages`` (its
        load); ``household_cadres``: :data:`HOUSEHOLD_CADRE_COLUMNS`, one row per registered
        household by ``household_id``.
    """
    roster = roster_for_registry(households, seed)
    result = pair_households(households, roster, villages, settings=settings)
    result.raise_if_unpaired()
    loads = result.cadre_loads.set_index("cadre_id")[["households", "villages"]]
    table = roster.cadres.merge(loads, left_on="cadre_id", right_index=True, how="left")
    return table.reset_index(drop=True), result.household_cadres


def village_cadres(household_cadres: pd.DataFrame) -> pd.DataFrame:
    """The cadres working in each village, for the village file.

    Parameters
    ----------
    household_cadres:
        :attr:`PairingResult.household_cadres` (or the ``household_cadres`` run table).

    Returns
    -------
    DataFrame
        One row per (village, cadre): ``village_id, cadre_id, code, unit_id, unit_name,
        unit_name_zh, level, households`` (the cadre's households in that village), by
        ``village_id`` and ``cadre_id``.
    """
    paired = household_cadres.dropna(subset=["cadre_id"])
    keys = ["village_id", "cadre_id", "code", "unit_id", "unit_name", "unit_name_zh", "level"]
    table = paired.groupby(keys, observed=True, sort=True).size().rename("households")
    return table.reset_index()
