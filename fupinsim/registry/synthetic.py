"""A synthetic registry calibrated to the plan: households and villages, poor and non-poor.

What is generated
-----------------
The whole rural population of the villages concerned: every household of the 60 immigrant
villages (plan §10) and of the old villages where registered poor live, so that village
incidence, identification errors and the immigrants' income goal can be measured. The plan's
totals come out exactly: 12,600 registered households with 47,700 people for ``plan_2015``,
split over the county × village-type cells of ``fupinsim/data/registry_calibration.yaml``.
With ``registry.include_nonregistered = false`` only registered households are generated (the
national-scale scenario), in chunks of whole blocks so memory stays bounded.

How a household is made (all vectorised, one block of households at a time)
-------------------------------------------------------------------------
1. A latent cause of hardship (the registry's 13 causes) shapes the household: illness → a
   chronically ill member, disability → a disabled member, schooling → a student in senior,
   vocational or higher education, lack of labour → at most one labourer, and so on.
2. Members, labour, students by stage, elderly; labourers working away; land, sheep,
   greenhouses, other business and property from the calibration rates.
3. Market income from assets and labour at the calibrated unit returns, times a household
   productivity factor (lognormal) and a cell scale that makes the cell's mean per-capita net
   income hit its calibration target (solved once on a fixed pilot sample, so it does not
   depend on chunking).
4. Transfers by rule: pension, farm subsidy, dibao top-up (with incomplete take-up), wubao.
5. Housing grade (worse for the poor), safe water (from the village's tap water), NCMS.

Identification (plan §5) then registers exactly each cell's quota (:mod:`.identify`).

Randomness: block ``b`` of households uses ``rng.generator(seed, "registry", b)``; cell-level
steps use their own keys. Results do not depend on the chunk size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from fupinsim import data, rng
from fupinsim.registry.demography import (
    calibration_arrays,
    draw_households,
)
from fupinsim.registry.schema import (
    HOUSING_GRADES,
    INCOME_SOURCES,
    VILLAGE_INFRASTRUCTURE,
    coerce_households,
    coerce_villages,
)
from fupinsim.scenario import Scenario
from fupinsim.units import BASE_YEAR

__all__ = [
    "CellSpec",
    "RegistryPlan",
    "generate_households_block",
    "generate_households_blocks",
    "largest_remainder",
    "plan_registry",
]

#: Households per random-number block of the registry. Chunks are whole blocks, so a registry
#: is the same however it is chunked.
REGISTRY_BLOCK = 65_536
PILOT_HOUSEHOLDS = 20_000
_PILOT_KEY = 2_000_000
_VILLAGE_KEY = 3_000_000


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split a whole number in proportion to ``weights`` so the parts add up exactly.

    >>> largest_remainder(10, np.array([1.0, 1.0, 1.0])).tolist()
    [4, 3, 3]
    """
    weights = np.asarray(weights, dtype=float)
    if total < 0 or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("total must be >= 0 and weights non-negative with a positive sum")
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    short = total - int(parts.sum())
    if short:
        order = np.argsort(-(exact - parts), kind="stable")
        parts[order[:short]] += 1
    return parts


@dataclass(frozen=True)
class CellSpec:
    """One county × village-type cell after scaling to the scenario's totals."""

    county_id: str
    is_immigrant: bool
    n_registered: int
    n_registered_people: int
    n_households: int
    n_villages: int
    income_target_pc: float


@dataclass(frozen=True)
class RegistryPlan:
    """Everything needed to generate any block of the registry, decided before drawing it."""

    seed: int
    cells: tuple[CellSpec, ...]
    village_households: np.ndarray  # households per village, villages ordered by cell
    village_cell: np.ndarray  # cell index of each village
    block_households: int
    registered_only: bool
    scales: np.ndarray  # market-income scale per cell (calibrated)

    @property
    def n_households(self) -> int:
        """Households in the registry."""
        return int(self.village_households.sum())

    @property
    def n_blocks(self) -> int:
        """Blocks of ``block_households`` (the last may be shorter)."""
        return -(-self.n_households // self.block_households)

    @cached_property
    def village_end(self) -> np.ndarray:
        """Position (exclusive) of each village's last household."""
        return np.cumsum(self.village_households)

    def positions(self, block: int) -> np.ndarray:
        """Household positions (0-based) of a block."""
        start = block * self.block_households
        return np.arange(start, min(start + self.block_households, self.n_households))


# ----------------------------------------------------------------------------------------------
# Planning: cells, villages, scales


def _cells(scenario: Scenario) -> tuple[CellSpec, ...]:
    calibration = data.registry_calibration()
    raw = [c for c in calibration["cells"] if c["county"] in scenario.counties]
    settings = scenario.registry
    reg_weights = np.array([c["registered_households"] for c in raw], dtype=float)
    ppl_weights = np.array([c["registered_people"] for c in raw], dtype=float)
    n_reg = largest_remainder(settings.n_registered_households, reg_weights)
    n_ppl = largest_remainder(settings.n_registered_people, ppl_weights)
    scale = settings.n_registered_households / reg_weights.sum()
    income = calibration["households"]["registered_income_pc_mean"]
    cells = []
    for i, c in enumerate(raw):
        if n_reg[i] == 0:
            continue
        if settings.include_nonregistered:
            households = max(int(n_reg[i]), round(c["households"] * scale))
            villages = max(1, round(c["villages"] * scale))
            target = float(c["income_pc_mean"])
        else:
            households = int(n_reg[i])
            reg_per_village = c["registered_households"] / c["villages"]
            villages = max(1, round(households / reg_per_village))
            target = float(income["immigrant" if c["immigrant"] else "old"])
        people = int(max(n_ppl[i], n_reg[i]))
        cells.append(
            CellSpec(
                county_id=c["county"],
                is_immigrant=bool(c["immigrant"]),
                n_registered=int(n_reg[i]),
                n_registered_people=people,
                n_households=households,
                n_villages=min(villages, households),
                income_target_pc=target,
            )
        )
    # Keep the people total exact if a cell had to be raised to one person per household.
    surplus = sum(c.n_registered_people for c in cells) - settings.n_registered_people
    if surplus:
        fixed = []
        for c in cells:
            room = c.n_registered_people - c.n_registered
            take = min(room, surplus)
            surplus -= take
            fixed.append(
                CellSpec(**{**c.__dict__, "n_registered_people": c.n_registered_people - take})
            )
        cells = fixed
    return tuple(cells)


def _village_sizes(seed: int, cells: tuple[CellSpec, ...]) -> tuple[np.ndarray, np.ndarray]:
    sizes, owner = [], []
    for index, cell in enumerate(cells):
        gen = rng.generator(seed, "registry", _VILLAGE_KEY + index)
        shares = gen.dirichlet(np.full(cell.n_villages, 12.0)) if cell.n_villages > 1 else [1.0]
        counts = largest_remainder(cell.n_households, np.asarray(shares))
        # Every village keeps at least one household.
        counts = np.maximum(counts, 1)
        excess = int(counts.sum() - cell.n_households)
        while excess > 0:
            big = int(np.argmax(counts))
            take = min(excess, int(counts[big]) - 1)
            counts[big] -= take
            excess -= take
        sizes.append(counts)
        owner.append(np.full(cell.n_villages, index))
    return np.concatenate(sizes).astype(np.int64), np.concatenate(owner).astype(np.int64)


def plan_registry(scenario: Scenario) -> RegistryPlan:
    """Decide cells, villages and the calibrated income scales for a scenario."""
    cells = _cells(scenario)
    village_households, village_cell = _village_sizes(scenario.seed, cells)
    draft = RegistryPlan(
        seed=scenario.seed,
        cells=cells,
        village_households=village_households,
        village_cell=village_cell,
        block_households=REGISTRY_BLOCK,
        registered_only=not scenario.registry.include_nonregistered,
        scales=np.ones(len(cells)),
    )
    return RegistryPlan(**{**draft.__dict__, "scales": _calibrate_scales(draft)})


def _calibrate_scales(plan: RegistryPlan) -> np.ndarray:
    """Market-income scale per cell so the cell's mean per-capita income hits its target.

    Solved on a fixed pilot sample per cell (its own random stream), by a few fixed-point
    steps because dibao top-ups depend on market income.
    """
    scales = np.ones(len(plan.cells))
    for index, cell in enumerate(plan.cells):
        gen = rng.generator(plan.seed, "registry", _PILOT_KEY + index)
        n = min(PILOT_HOUSEHOLDS, max(cell.n_households, 2_000))
        people_mean = cell.n_registered_people / cell.n_registered if plan.registered_only else None
        cell_index = np.full(n, index)
        draws = _draw_households(gen, plan, cell_index, people_mean_override=people_mean)
        scale = 1.0
        for _ in range(6):
            income = _incomes(draws, scale, tap_water=np.ones(n, bool))
            members = draws["n_members"].sum()
            market = (income["market_net"]).sum() / members
            transfers = income["transfers"].sum() / members
            if market <= 0:
                break
            scale *= max(cell.income_target_pc - transfers, 0.1 * cell.income_target_pc) / market
        scales[index] = scale
    return scales


# ----------------------------------------------------------------------------------------------
# Drawing households


def _draw_households(
    gen: np.random.Generator,
    plan: RegistryPlan,
    cell_index: np.ndarray,
    people_mean_override: float | None = None,
) -> dict[str, np.ndarray]:
    """Demography, causes and assets for households of the given cells (no incomes yet)."""
    imm = np.array([c.is_immigrant for c in plan.cells], dtype=np.int64)[cell_index]
    members_mean = None
    if plan.registered_only:  # the cell's registered people per household
        members_mean = np.array(
            [c.n_registered_people / c.n_registered for c in plan.cells], dtype=float
        )[cell_index]
    draws = draw_households(gen, imm, members_mean, people_mean_override)
    return {"cell": cell_index, **draws}


def _incomes(
    d: dict[str, np.ndarray], scale: float | np.ndarray, tap_water: np.ndarray
) -> dict[str, np.ndarray]:
    """True incomes (yuan per household per year) from assets, labour, scale and transfer rules."""
    returns = data.registry_calibration()["returns"]
    social = data.social_protection()
    p = calibration_arrays()
    imm = d["is_immigrant"].astype(np.int64)
    k = d["productivity"] * scale
    ill_factor = np.where(d["n_chronic_ill"] > 0, 0.85, 1.0)
    wages = (
        (d["n_away"] * returns["wage_away"] + (d["n_labour"] - d["n_away"]) * returns["wage_local"])
        * k
        * ill_factor
    )
    crops = d["land_mu"] * returns["crop_gross_per_mu"] * k * d["crop_factor"]
    livestock = d["sheep"] * returns["sheep_gross_per_head"] * k
    greenhouse = d["greenhouses"] * returns["greenhouse_gross"] * k
    business = d["business"] * k
    prop = d["property"]
    cost = (
        crops * returns["crop_cost_share"]
        + livestock * (returns["sheep_cost_per_head"] / returns["sheep_gross_per_head"])
        + greenhouse * (returns["greenhouse_cost"] / returns["greenhouse_gross"])
    )
    market_net = wages + crops + livestock + greenhouse + business + prop - cost

    pension = d["n_elderly"] * 12 * social["pension"]["monthly_basic"]
    subsidy = d["land_mu"] * social["farm_subsidy"]["per_mu"]
    members = d["n_members"]
    pre_pc = (market_net + pension + subsidy) / members

    standard = float(data.dibao_standard([BASE_YEAR])[0])
    wubao_eligible = (
        (d["n_labour"] == 0) & (members <= 2) & ((d["n_elderly"] + d["n_disabled"]) >= members)
    )
    is_wubao = wubao_eligible & (d["wubao_u"] < p["wubao_rate_eligible"][imm])
    weak = (
        (d["n_labour"] == 0)
        | (d["n_disabled"] > 0)
        | (d["n_chronic_ill"] > 0)
        | (d["n_elderly"] > 0)
    )
    is_dibao = (
        ~is_wubao & weak & (pre_pc < standard) & (d["dibao_u"] < social["dibao_rules"]["take_up"])
    )
    min_pay = social["dibao_rules"]["min_payment_share"] * standard
    dibao = np.where(is_dibao, np.maximum(standard - pre_pc, min_pay) * members, 0.0)
    wubao = np.where(is_wubao, float(data.wubao_support([BASE_YEAR])[0]) * members, 0.0)
    transfers = pension + subsidy + dibao + wubao
    return {
        "income_wages": wages,
        "income_crops": crops,
        "income_livestock": livestock,
        "income_greenhouse": greenhouse,
        "income_business": business,
        "income_property": prop,
        "income_transfers": transfers,
        "production_cost": cost,
        "market_net": market_net,
        "transfers": transfers,
        "is_dibao": is_dibao,
        "is_wubao": is_wubao,
    }


def generate_households_block(
    plan: RegistryPlan, block: int, tap_water_by_village: np.ndarray
) -> pd.DataFrame:
    """True state of one block of households (before identification), vectorised.

    Returns a frame with the schema's columns (incomes are *true* values; registration
    columns are filled by identification) plus ``cell`` and ``cause`` helpers.
    """
    return pd.DataFrame(_block_columns(plan, block, tap_water_by_village))


def generate_households_blocks(
    plan: RegistryPlan, blocks: Sequence[int], tap_water_by_village: np.ndarray
) -> pd.DataFrame:
    """Consecutive blocks as one table: equal to concatenating :func:`generate_households_block`.

    Columns are concatenated as arrays and the table is built once (a pandas frame per block
    and ``pd.concat`` copied every value twice more; that dominated national-scale runs).
    """
    parts = [_block_columns(plan, block, tap_water_by_village) for block in blocks]
    columns: dict[str, object] = {}
    for name, first in parts[0].items():
        if isinstance(first, pd.Categorical):
            codes = np.concatenate([np.asarray(part[name].codes) for part in parts])
            columns[name] = pd.Categorical.from_codes(codes, dtype=first.dtype)
        else:
            columns[name] = np.concatenate([np.asarray(part[name]) for part in parts])
    return pd.DataFrame(columns)


def _block_columns(
    plan: RegistryPlan, block: int, tap_water_by_village: np.ndarray
) -> dict[str, Any]:
    """Columns of :func:`generate_households_block` as arrays (categoricals for ids)."""
    pos = plan.positions(block)
    gen = rng.generator(plan.seed, "registry", block)
    village = np.searchsorted(plan.village_end, pos, side="right")
    cell = plan.village_cell[village]
    draws = _draw_households(gen, plan, cell)
    incomes = _incomes(draws, plan.scales[cell], tap_water_by_village[village])
    p = calibration_arrays()
    imm = draws["is_immigrant"].astype(np.int64)
    members = draws["n_members"]
    true_pc = (incomes["market_net"] + incomes["transfers"]) / members

    # Housing: the poor live in worse houses (C/D twice as likely below 1.2 × the line).
    line = data.poverty_line(BASE_YEAR)
    shares = np.stack([p[f"housing_{g}"][imm] for g in HOUSING_GRADES], axis=1)
    bad = np.where(true_pc < 1.2 * line, 1.8, 0.8)
    shares[:, 2:] *= bad[:, None]
    shares /= shares.sum(axis=1, keepdims=True)
    grade = (draws["grade_u"][:, None] > np.cumsum(shares, axis=1)[:, :-1]).sum(axis=1)

    unsafe_p = np.where(
        tap_water_by_village[village],
        p["unsafe_water_with_tap"][imm],
        p["unsafe_water_without_tap"][imm],
    )
    return {
        "household_id": pos + 1,
        "village_id": village + 1,
        # Categoricals straight from codes: building 65,536 strings per block and
        # categorising them later was a third of the national run time.
        "county_id": pd.Categorical.from_codes(
            _county_codes(plan)[cell], dtype=pd.CategoricalDtype(list(data.COUNTY_IDS))
        ),
        "is_immigrant": draws["is_immigrant"],
        # Counts in their schema dtype (int8) from the start: a quarter of the memory traffic.
        **{
            key: draws[key].astype(np.int8)
            for key in (
                "n_members",
                "n_labour",
                "n_away",
                "n_students_primary",
                "n_students_junior",
                "n_students_senior",
                "n_students_vocational",
                "n_students_tertiary",
                "n_dropouts",
                "n_elderly",
                "n_disabled",
                "n_chronic_ill",
            )
        },
        **{key: incomes[key] for key in (*INCOME_SOURCES, "production_cost")},
        "land_mu": np.round(draws["land_mu"], 1),
        "sheep": draws["sheep"].astype(np.int32),
        "greenhouses": draws["greenhouses"].astype(np.int16),
        "housing_grade": pd.Categorical.from_codes(
            grade, dtype=pd.CategoricalDtype(list(HOUSING_GRADES))
        ),
        "has_safe_water": draws["water_u"] >= unsafe_p,
        "ncms_enrolled": draws["ncms"],
        "is_dibao": incomes["is_dibao"],
        "is_wubao": incomes["is_wubao"],
        "true_income_pc": true_pc,
        "cell": cell,
        "cause": draws["cause"],
    }


def _county_codes(plan: RegistryPlan) -> np.ndarray:
    """Code (position in ``data.COUNTY_IDS``) of each cell's county."""
    return np.array([data.COUNTY_IDS.index(c.county_id) for c in plan.cells], dtype=np.int8)


def generate_villages(plan: RegistryPlan) -> pd.DataFrame:
    """Village table (infrastructure drawn; population and poor flag filled later)."""
    calibration = data.registry_calibration()["villages"]["infrastructure"]
    gen = rng.generator(plan.seed, "registry", _VILLAGE_KEY - 1)
    cells = plan.cells
    imm = np.array([c.is_immigrant for c in cells])[plan.village_cell]
    county = np.array([c.county_id for c in cells])[plan.village_cell]
    n = plan.village_cell.size
    columns: dict[str, object] = {
        "village_id": np.arange(1, n + 1),
        "village_name": _village_names(county, imm),
        "county_id": county,
        "is_immigrant": imm,
        "is_poor_village": imm.copy(),
        "n_households": plan.village_households,
        "population": np.zeros(n, dtype=np.int64),
    }
    for name in VILLAGE_INFRASTRUCTURE:
        rate = np.where(imm, calibration[name]["immigrant"], calibration[name]["old"])
        columns[name] = gen.random(n) < rate
    return pd.DataFrame(columns)


def _village_names(county: np.ndarray, imm: np.ndarray) -> np.ndarray:
    names = data.counties()["name_en"].str.split().str[0].to_dict()
    frame = pd.DataFrame({"county": county, "imm": imm})
    number = frame.groupby(["county", "imm"], sort=False).cumcount().to_numpy() + 1
    kind = np.where(imm, "resettlement village", "village")
    prefix = np.array([names[c] for c in county])
    return np.char.add(
        np.char.add(np.char.add(prefix.astype(str), " "), kind.astype(str)),
        np.char.add(" ", np.char.zfill(number.astype(str), 2)),
    )


def finish_households(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop helper columns and coerce to the schema's dtypes."""
    return coerce_households(frame)


def finish_villages(villages: pd.DataFrame) -> pd.DataFrame:
    """Coerce a village table to the schema's dtypes."""
    return coerce_villages(villages)
