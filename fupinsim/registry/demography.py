"""Demography, causes and assets of synthetic households (before incomes).

One household is drawn in fixed steps, each a vectorised function over a block of households:
cause of hardship → members → students by stage → health → labour away → assets and business →
the uniform draws later steps use. The steps consume the block's random generator in this
order, so the registry is the same draw for draw whatever the code's layout (a golden pins it).

The calibration arrays are indexed by ``is_immigrant`` (0 old village, 1 immigrant village); see
``fupinsim/data/registry_calibration.yaml`` for every rate with its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fupinsim import data
from fupinsim.registry.schema import HOUSING_GRADES

__all__ = ["CAUSE_CODES", "MAX_MEMBERS", "calibration_arrays", "draw_households"]

#: Largest household the generator makes (people).
MAX_MEMBERS = 12
#: Code of each of the registry's 13 causes of poverty (position in ``data.CAUSES``).
CAUSE_CODES = {name: i for i, name in enumerate(data.CAUSES)}


def _stage_shares() -> np.ndarray:
    """Shares of students by stage, in the order of :data:`fupinsim.data.STUDENT_COLUMNS`."""
    shares = data.plain(data.load_raw("student_stages")["shares"])
    return np.array([float(shares[column]) for column in data.STUDENT_COLUMNS])


#: Students by stage: primary, junior, senior, vocational, tertiary (shares of students;
#: ``fupinsim/data/student_stages.yaml``, ESTIMATE with how it was made).
_STAGE_SHARES = _stage_shares()


def calibration_arrays() -> dict[str, np.ndarray]:
    """Household-model parameters as arrays indexed by ``is_immigrant`` (0 old, 1 immigrant)."""
    model = data.registry_calibration()["households"]
    out: dict[str, np.ndarray] = {}
    for key, value in model.items():
        if isinstance(value, dict) and set(value) == {"immigrant", "old"}:
            if isinstance(value["old"], dict):  # housing grade shares
                for grade in HOUSING_GRADES:
                    out[f"housing_{grade}"] = np.array(
                        [value["old"][grade], value["immigrant"][grade]], dtype=float
                    )
            else:
                out[key] = np.array([value["old"], value["immigrant"]], dtype=float)
        else:
            out[key] = np.array([float(value), float(value)])
    return out


@dataclass
class _Block:
    """The block being drawn: its generator, calibration and the columns drawn so far."""

    gen: np.random.Generator
    p: dict[str, np.ndarray]
    imm: np.ndarray
    is_cause: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return self.imm.size


def draw_households(
    gen: np.random.Generator,
    is_immigrant: np.ndarray,
    members_mean: np.ndarray | None,
    people_mean_override: float | None = None,
) -> dict[str, np.ndarray]:
    """Demography, causes and assets for a block of households (no incomes yet).

    Parameters
    ----------
    gen
        The block's random generator (consumed in a fixed order).
    is_immigrant
        0/1 per household: immigrant village or not.
    members_mean
        Mean household size per household (people), or ``None`` for the calibration's mean.
    people_mean_override
        One mean household size for every household (people), used by the scale pilot.
    """
    n = is_immigrant.size
    p = calibration_arrays()
    cause_shares = np.array([data.registry_calibration()["causes"][c] for c in data.CAUSES])
    cause = gen.choice(len(data.CAUSES), size=n, p=cause_shares / cause_shares.sum())
    block = _Block(gen, p, is_immigrant, {name: cause == c for name, c in CAUSE_CODES.items()})

    means = p["size_mean"][is_immigrant] if members_mean is None else members_mean
    if people_mean_override is not None:
        means = np.full(n, people_mean_override)
    people = _members(block, means)
    people.update(_student_stages(block, people))
    people.update(_health_and_work(block, people))
    return {
        "is_immigrant": is_immigrant.astype(bool),
        "cause": cause,
        **people,
        **_assets(block, people["n_members"]),
        **_later_uniforms(block, people),
        "scale": np.ones(n),
    }


def _members(block: _Block, means: np.ndarray) -> dict[str, np.ndarray]:
    """Members, elderly, students (all stages) and labour (people per household)."""
    gen, p, imm, is_cause, n = block.gen, block.p, block.imm, block.is_cause, block.n
    # Members: 1 + Poisson with the given mean.
    members = 1 + np.minimum(gen.poisson(np.maximum(means - 1.0, 0.05)), MAX_MEMBERS - 1)
    # Lack of labour: half are elderly households of one or two people (wubao candidates),
    # the others have at most one labourer.
    elderly_home = is_cause["lack_labour"] & (gen.random(n) < 0.5)
    members = np.where(elderly_home, 1 + (gen.random(n) < 0.55), members)
    elderly = np.where(elderly_home, members, gen.binomial(members, p["elderly_share"][imm]))
    rest = members - elderly
    # Every household has an adult: without an elderly member, one member (the head) is never
    # a student or a dropout (they were: 1.7% of households were schoolchildren alone).
    head = (elderly == 0).astype(np.int64)
    student_share = p["student_share"][imm] / (1 - p["elderly_share"][imm])
    # The share applies to the members who can be students, so the expected number of students
    # stays what the calibration says.
    eligible = rest - head
    student_share = student_share * rest / np.maximum(eligible, 1)
    students = gen.binomial(eligible, np.minimum(student_share, 0.95))
    rest = rest - students
    labour_share = p["labour_share"][imm] / (1 - p["elderly_share"][imm] - p["student_share"][imm])
    labour = gen.binomial(rest, np.minimum(labour_share, 1.0))
    # Lack of labour: at most one labourer, and the others are dependants.
    labour = np.where(is_cause["lack_labour"], np.minimum(labour, 1), labour)

    # Schooling as a cause needs a student in senior, vocational or higher education.
    need_student = is_cause["schooling"] & (students == 0)
    can_convert = need_student & ((members - elderly - students - labour - head) > 0)
    students = students + can_convert
    add_member = need_student & ~can_convert & (members < MAX_MEMBERS)
    return {
        "n_members": members + add_member,
        "n_labour": labour,
        "n_elderly": elderly,
        "students": students + add_member,
    }


def _student_stages(block: _Block, people: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Students by stage; schooling-caused poverty has one in senior or higher education."""
    gen, is_cause, n = block.gen, block.is_cause, block.n
    students = people.pop("students")
    stages = _multinomial_rows(gen, students, _STAGE_SHARES)
    upper = stages[:, 2] + stages[:, 3] + stages[:, 4]
    move = is_cause["schooling"] & (upper == 0) & (students > 0)
    # Move one student from primary/junior to tertiary/vocational for schooling-caused poverty.
    from_primary = move & (stages[:, 0] > 0)
    stages[from_primary, 0] -= 1
    stages[move & ~from_primary, 1] -= 1
    stages[move, 4 - gen.integers(0, 2, n)[move]] += 1
    return {
        "n_students_primary": stages[:, 0],
        "n_students_junior": stages[:, 1],
        "n_students_senior": stages[:, 2],
        "n_students_vocational": stages[:, 3],
        "n_students_tertiary": stages[:, 4],
        "_students": students,
    }


def _health_and_work(block: _Block, people: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Disabled and chronically ill members; labourers lost to them; labourers working away."""
    gen, p, imm, is_cause, n = block.gen, block.p, block.imm, block.is_cause, block.n
    members, labour = people["n_members"], people["n_labour"]
    disabled = (gen.random(n) < p["disabled_rate"][imm]).astype(np.int64)
    disabled = np.maximum(disabled, is_cause["disability"].astype(np.int64))
    chronic = (gen.random(n) < p["chronic_ill_rate"][imm]).astype(np.int64)
    chronic = np.maximum(chronic, is_cause["illness"].astype(np.int64))
    chronic += (is_cause["illness"] & (members > 2) & (gen.random(n) < 0.2)).astype(np.int64)
    # A disabled or ill member is often a would-be labourer.
    lose = ((disabled + chronic) > 0) & (labour > 1) & (gen.random(n) < 0.3)
    labour = labour - lose

    away_share = p["away_share"][imm] * np.where(is_cause["lack_skills"], 0.3, 1.0)
    away_share = away_share * np.where(is_cause["illness"] | is_cause["disability"], 0.6, 1.0)
    away = gen.binomial(labour, np.minimum(away_share, 1.0))
    return {"n_labour": labour, "n_away": away, "n_disabled": disabled, "n_chronic_ill": chronic}


def _assets(block: _Block, members: np.ndarray) -> dict[str, np.ndarray]:
    """Land (mu), sheep, greenhouses, other business and property income (yuan per year)."""
    gen, p, imm, is_cause, n = block.gen, block.p, block.imm, block.is_cause, block.n
    returns = data.registry_calibration()["returns"]
    land = members * p["land_per_person"][imm] * gen.lognormal(0.0, 0.25, n)
    land = land * np.where(is_cause["lack_land"], 0.35, 1.0)

    funds = np.where(is_cause["lack_funds"], 0.4, 1.0)
    has_sheep = gen.random(n) < p["sheep_rate"][imm] * funds
    sheep = np.where(
        has_sheep,
        np.maximum(1, np.round(returns["sheep_median"] * gen.lognormal(0.0, 0.6, n))),
        0,
    ).astype(np.int64)
    greenhouses = (gen.random(n) < p["greenhouse_rate"][imm] * funds).astype(np.int64)
    greenhouses += (greenhouses > 0) & (gen.random(n) < 0.15)
    business = np.where(
        gen.random(n) < p["business_rate"][imm] * funds,
        returns["business_median"] * gen.lognormal(0.0, 0.6, n),
        0.0,
    )
    prop = np.where(
        gen.random(n) < p["property_rate"][imm],
        gen.exponential(returns["property_mean"], n),
        0.0,
    )
    return {
        "land_mu": land,
        "sheep": sheep,
        "greenhouses": greenhouses,
        "business": business,
        "property": prop,
    }


def _later_uniforms(block: _Block, people: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Productivity, crop factor, dropouts and the uniforms of housing, NCMS, water, transfers."""
    gen, p, imm, is_cause, n = block.gen, block.p, block.imm, block.is_cause, block.n
    members, elderly = people["n_members"], people["n_elderly"]
    labour, students = people["n_labour"], people.pop("_students")
    productivity = gen.lognormal(0.0, p["productivity_sigma"][imm], n)
    productivity *= np.where(is_cause["lack_motivation"], 0.6, 1.0)
    crop_factor = np.where(is_cause["lack_water"], 0.6, 1.0) * np.where(
        is_cause["disaster"], 0.5, 1.0
    )
    dropouts = (
        (gen.random(n) < p["dropout_rate"][imm] * np.where(is_cause["schooling"], 0.0, 1.0))
        & ((members - elderly - labour - students - ((labour + elderly) == 0)) > 0)
    ).astype(np.int64)
    return {
        "n_dropouts": dropouts,
        "productivity": productivity,
        "crop_factor": crop_factor,
        "grade_u": gen.random(n),
        "ncms": gen.random(n) < p["ncms_enrolment"][imm],
        "water_u": gen.random(n),
        "wubao_u": gen.random(n),
        "dibao_u": gen.random(n),
    }


def _multinomial_rows(
    gen: np.random.Generator, counts: np.ndarray, probs: np.ndarray
) -> np.ndarray:
    """One multinomial draw per row with a shared probability vector (vectorised)."""
    out = np.zeros((counts.size, probs.size), dtype=np.int64)
    remaining = counts.astype(np.int64).copy()
    left = 1.0
    for k in range(probs.size - 1):
        share = min(probs[k] / left, 1.0) if left > 0 else 0.0
        out[:, k] = gen.binomial(remaining, share)
        remaining -= out[:, k]
        left -= probs[k]
    out[:, -1] = remaining
    return out
