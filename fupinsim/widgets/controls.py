"""The what-if controls: scenario fields in a planner's units, with their ranges."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from fupinsim import assess
from fupinsim.data import load_raw
from fupinsim.errors import InputError
from fupinsim.scenario import COUNTY_IDS
from fupinsim.uncertainty import uncertain_parameters

Kind = Literal["float", "int", "choice", "multi"]


@dataclass(frozen=True)
class Control:
    """One what-if control: a scenario field in a planner's unit.

    Attributes
    ----------
    name:
        The scenario field, dotted (``funding.earmark_share_county``,
        ``funding.revenue_growth.city.2016``, ``interventions.sheep_30.cost_factor``).
    label, unit:
        What a planner reads beside the control.
    kind:
        ``float``/``int`` (a slider from ``low`` to ``high`` by ``step``), ``choice`` (one of
        ``choices``) or ``multi`` (several of ``choices``).
    group:
        Where the control sits on the panel (``money``, ``capacity``, ``targets``, ``model``).
    """

    name: str
    label: str
    unit: str
    kind: Kind = "float"
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    choices: tuple[str, ...] = ()
    group: str = "money"

    @property
    def readout(self) -> str:
        """d3 number format of the slider's readout (whole numbers with separators, or shares)."""
        if self.kind == "int" or self.step >= 1:
            return ",.0f"
        return ".2f" if self.step >= 0.01 else ".3f"

    @property
    def path(self) -> list[str]:
        """The field's path in the scenario's content."""
        return self.name.split(".")

    def check(self, value: Any) -> Any:
        """``value`` as this control takes it, or an :class:`InputError` in a planner's words."""
        where = f"what-if control {self.name} ({self.label})"
        if self.kind in ("float", "int"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError.single(where, value, f"must be a number in {self.unit}")
            if not self.low <= value <= self.high:
                raise InputError.single(
                    where, value, f"must be from {self.low:,g} to {self.high:,g} {self.unit}"
                )
            return int(value) if self.kind == "int" else float(value)
        allowed = ", ".join(self.choices)
        if self.kind == "choice":
            if value not in self.choices:
                raise InputError.single(where, value, f"must be one of {allowed}")
            return value
        values = [value] if isinstance(value, str) else list(value)
        if not values or any(v not in self.choices for v in values):
            raise InputError.single(where, value, f"must be one or more of {allowed}")
        return [c for c in self.choices if c in values]  # the catalogue's order


_PLAN_YEARS = (2015, 2016, 2017)
_LEVELS = ("city", *COUNTY_IDS)
#: Catalogue entries whose yearly capacity a planner sets (``allocation.capacities``).
_CAPACITIES = (
    ("skills_training", "Skills-training places", "trainees per year", 0, 20_000, 250),
    ("labour_transfer", "Labour-transfer places", "labourers per year", 0, 60_000, 500),
    ("microcredit", "Microcredit ceiling", "yuan of new loans per year", 0, 3e8, 1e6),
)
#: Entries whose unit cost a planner scales (``interventions.<id>.cost_factor``).
_COSTS = (
    ("labour_transfer", "Cost of a labour transfer"),
    ("skills_training", "Cost of skills training"),
    ("sheep_30", "Cost of 30 sheep"),
    ("greenhouse", "Cost of a greenhouse"),
)


def _money_controls() -> list[Control]:
    """Revenue growth, earmarks, integrated funds and provincial transfers."""
    controls = [
        Control(
            f"funding.revenue_growth.{level}.{year}",
            f"Revenue growth {assess.county_label(level, short=True)} {year}",
            "share per year",
            low=-0.2,
            high=0.3,
            step=0.005,
        )
        for level in _LEVELS
        for year in _PLAN_YEARS
    ]
    controls += [
        Control(
            "funding.earmark_share_city",
            "City earmark",
            "share of the revenue increase",
            high=0.5,
        ),
        Control(
            "funding.earmark_share_county",
            "County earmark",
            "share of the revenue increase",
            high=0.5,
        ),
    ]
    controls += [
        Control(
            f"funding.integrated_agriculture_wan.{county}",
            f"Integrated funds {assess.county_label(county, short=True)}",
            "万元 (10,000 yuan) per year",
            high=5_000.0,
            step=10.0,
        )
        for county in COUNTY_IDS
    ]
    controls += [
        Control(
            f"funding.provincial_transfer_wan.{year}",
            f"Provincial transfer {year}",
            "万元 (10,000 yuan)",
            high=20_000.0,
            step=100.0,
        )
        for year in _PLAN_YEARS
    ]
    return controls


#: The uncertain assumptions with the largest effect, as controls (ids of
#: :func:`fupinsim.uncertainty.uncertain_parameters`). Chosen from the one-at-a-time tornado
#: of ``fupinsim sensitivity`` on plan_2015 (issue 12; ``sensitivity_top.csv``): the noise of
#: the officials' income checks ranks first for the exits by 2017 and the mean P(target met),
#: the year-to-year income noise second, the income effect of labour transfer first for
#: P(final targets met). The third for exits, the failure risk of labour transfer, is a
#: catalogue field with no scenario override, so it cannot be a scenario control.
UNCERTAIN_CONTROLS = (
    "microsim.verification_sigma",
    "microsim.shocks.income_sigma",
    "labour_transfer.effect_net",
)


def _step(low: float, high: float) -> float:
    """A round slider step giving at least ~50 positions over ``[low, high]``."""
    return float(10 ** math.floor(math.log10((high - low) / 50)))


def _assumption_controls() -> list[Control]:
    """Sliders for :data:`UNCERTAIN_CONTROLS`, with the unit and range of the uncertainty data."""
    fields = load_raw("uncertainty")["scenario_fields"]
    rows = {str(r["id"]): r for r in uncertain_parameters(None).to_dict("records")}
    controls = []
    for pid in UNCERTAIN_CONTROLS:
        row = rows[pid]
        label = str(row["label"])
        label = label[0].upper() + label[1:]
        low, high, value = float(row["low"]), float(row["high"]), float(row["value"])
        if row["route"] != "scenario":
            raise ValueError(f"uncertain parameter {pid} has no scenario field to control")
        if row["applies"] == "value":  # the scenario field itself, in its own unit
            unit = str(fields[pid]["range"]["unit"])
            name = pid
        else:  # an intervention override: a factor on the catalogue's value
            name = str(row["where"])
            unit = f"multiple of the catalogue's {value:,g} yuan a year ({low:,g} to {high:,g})"
            low, high = low / value, high / value
        controls.append(
            Control(name, label, unit, low=low, high=high, step=_step(low, high), group="model")
        )
    return controls


def _controls() -> tuple[Control, ...]:
    controls = _money_controls()
    controls += [
        Control(f"allocation.capacities.{entry}", label, unit, "int", lo, hi, step, (), "capacity")
        for entry, label, unit, lo, hi, step in _CAPACITIES
    ]
    controls += [
        Control(
            "allocation.required_confidence",
            "Required confidence",
            "probability that a target is met",
            low=0.5,
            high=0.99,
            group="targets",
        ),
        Control(
            "allocation.objective",
            "Objective",
            "min_cost: meet the schedule at least cost; max_exits: most exits for the money",
            "choice",
            choices=("min_cost", "max_exits"),
            group="targets",
        ),
    ]
    controls += [
        Control(
            f"interventions.{entry}.cost_factor",
            label,
            "multiple of the catalogue's unit cost",
            low=0.25,
            high=3.0,
            step=0.05,
            group="model",
        )
        for entry, label in _COSTS
    ]
    controls += _assumption_controls()
    controls.append(
        Control(
            "counties",
            "Counties included",
            "counties",
            "multi",
            choices=tuple(COUNTY_IDS),
            group="model",
        )
    )
    return tuple(controls)


#: Every what-if control, by scenario field name.
CONTROLS: dict[str, Control] = {c.name: c for c in _controls()}
