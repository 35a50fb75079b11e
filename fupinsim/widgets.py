"""What-if controls for planners in JupyterLab: turn a knob, see the plan change (layer 8).

:class:`WhatIf` is the plain Python API (the notebook and the tests use it)::

    what = WhatIf.from_file("scenarios/plan_2015.yaml", replications=200)
    what.replan()
    what.set("funding.earmark_share_county", 0.25)   # a planner's control, in its unit
    what.replan()                                     # re-solves the LP, re-simulates the plan
    what.tables["shortfall"], what.figures["fan_chart"]

:class:`WhatIfPanel` puts :data:`CONTROLS` on ipywidgets (each with its unit and range) and
redraws the tables and figures when one changes; the notebook only lays it out.

What each change recomputes
---------------------------
A re-plan runs the stages of :mod:`fupinsim.pipeline` it needs and takes the rest from a cache,
keyed by a hash of the scenario sections each stage reads (:data:`STAGE_SECTIONS`):

* **registry** (the synthetic population the Monte Carlo runs on): ``seed``, ``counties``,
  ``registry``;
* **yields** (exit yields, the slow stage): the registry's sections, ``microsim``,
  ``interventions`` (effect and cost factors, not capacity factors), the allocation's
  ``income_bands``, ``yield_replications``, ``pools_pay_guarantees`` and the funding years;
* **simulation** of the chosen plan: the yields' sections and the plan itself;
* the funding tables, the LP and the household plans are recomputed every time (under a
  second).

So money, targets, confidence, objective or capacity changes re-solve the LP and re-simulate
the new plan only; a model parameter (a cost or effect factor, the counties) recomputes the
yields too. Registries and yields are kept in memory and on disk
(``outputs/.cache/<hash>/``, :class:`fupinsim.io.cache.TableCache`), so a new kernel starts
from the disk.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ipywidgets as widgets
import pandas as pd
from IPython.display import display
from matplotlib.figure import Figure

from fupinsim import assess, plots
from fupinsim.allocate.yields import ExitYields
from fupinsim.errors import InputError
from fupinsim.funding import FundingTables
from fupinsim.io.cache import TableCache, content_key
from fupinsim.io.outputs import code_version
from fupinsim.io.run import resolve_path
from fupinsim.microsim import SimulationResult, load_catalogue, simulate
from fupinsim.pipeline import (
    AllocationStage,
    HouseholdPlans,
    RegistryStage,
    allocate_stage,
    funding_stage,
    household_plans_stage,
    registry_stage,
    yields_stage,
)
from fupinsim.registry import Registry, generate_registry
from fupinsim.scenario import COUNTY_IDS, InterventionOverride, Scenario, load_scenario
from fupinsim.units import YUAN_PER_WAN

__all__ = [
    "CONTROLS",
    "STAGE_SECTIONS",
    "Control",
    "WhatIf",
    "WhatIfPanel",
    "WhatIfResult",
]

logger = logging.getLogger(__name__)

#: Default cache folder (from the repository root, or the working folder outside a checkout).
DEFAULT_CACHE = "outputs/.cache"

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


def _controls() -> tuple[Control, ...]:
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

#: Scenario sections each cached stage reads (dotted paths; see the module docstring).
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "registry": ("seed", "counties", "registry"),
    "yields": (
        "seed",
        "counties",
        "registry",
        "microsim",
        "interventions",
        "allocation.income_bands",
        "allocation.yield_replications",
        "allocation.pools_pay_guarantees",
        "funding.first_year",
        "funding.last_year",
    ),
}
#: Fields left out of a stage's key: the LP alone reads them.
_NOT_IN_YIELDS = ("capacity_factor",)


def _get(content: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = content
    for part in path:
        if not isinstance(node, Mapping):
            return None
        key = int(part) if part.isdigit() and int(part) in node else part
        node = node.get(key)
    return node


def _put(content: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = content
    for part in path[:-1]:
        key: Any = int(part) if part.isdigit() else part
        node = node.setdefault(key, {})
    last: Any = int(path[-1]) if path[-1].isdigit() else path[-1]
    node[last] = value


def stage_content(scenario: Scenario, stage: str) -> dict[str, Any]:
    """The part of the scenario a cached stage reads (its cache key's content)."""
    content = scenario.model_dump(mode="json")
    out = {name: _get(content, name.split(".")) for name in STAGE_SECTIONS[stage]}
    if stage == "yields":
        defaults = {k: f.default for k, f in InterventionOverride.model_fields.items()}
        kept = {
            entry: {k: v for k, v in override.items() if k not in _NOT_IN_YIELDS}
            for entry, override in (out["interventions"] or {}).items()
        }
        # An override left at the defaults (factors of 1) changes nothing the yields read.
        out["interventions"] = {
            entry: override
            for entry, override in kept.items()
            if any(v != defaults[k] for k, v in override.items())
        }
    return out


@dataclass(frozen=True)
class WhatIfResult:
    """One re-plan: the stages' results and what it took.

    Attributes
    ----------
    scenario:
        The scenario with the controls applied.
    setup, funding, yields, allocation, plans:
        Stages 1-5 of :mod:`fupinsim.pipeline` (round 0: the plan's own targets).
    simulation:
        The household plan simulated over the registered households (P(target met), fans).
    timings:
        Seconds per step (``registry``, ``yields``, ``allocate``, ``plans``, ``simulate``,
        ``total``); a step served from the cache takes ~0.
    reused:
        Steps answered from the cache (``registry``, ``yields``, ``simulate``).
    """

    scenario: Scenario
    setup: RegistryStage
    funding: FundingTables
    yields: ExitYields
    allocation: AllocationStage
    plans: HouseholdPlans
    simulation: SimulationResult
    timings: dict[str, float] = field(default_factory=dict)
    reused: tuple[str, ...] = ()


def _yields_tables(yields: ExitYields) -> dict[str, pd.DataFrame]:
    return {
        "types": yields.types,
        "yields": yields.yields,
        "package_costs": yields.package_costs,
        "gains": yields.gains,
    }


class WhatIf:
    """A scenario with planner controls that re-plans in seconds (see the module docstring).

    Parameters
    ----------
    scenario:
        The base scenario.
    replications:
        Monte Carlo replications of P(target met) (the report's 200 by default).
    cache_dir:
        Disk cache of registries and yields (default ``outputs/.cache``); ``None``: memory only.
    workers:
        Processes for the exit yields (results do not depend on it).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        replications: int = 200,
        cache_dir: str | Path | None = DEFAULT_CACHE,
        workers: int = 1,
    ) -> None:
        self.base = scenario
        self.replications = int(replications)
        self.workers = workers
        self.cache = TableCache(resolve_path(cache_dir)) if cache_dir is not None else None
        self.values: dict[str, Any] = {}
        self._memory: dict[str, Any] = {}
        self._result: WhatIfResult | None = None
        self._code = code_version()

    @classmethod
    def from_file(cls, scenario: str | Path, *, seed: int | None = None, **options: Any) -> WhatIf:
        """A :class:`WhatIf` on a scenario file (``seed`` overrides the scenario's)."""
        loaded = load_scenario(resolve_path(scenario))
        if seed is not None:
            loaded = loaded.model_copy(update={"seed": int(seed)})
        return cls(loaded, **options)

    # -- controls ---------------------------------------------------------------------------
    def get(self, name: str) -> Any:
        """The current value of a control (the scenario's unless set)."""
        control = CONTROLS[self._known(name)]
        if name in self.values:
            return self.values[name]
        value = _get(self.base.model_dump(mode="python"), control.path)
        if value is None and name.startswith("funding.revenue_growth."):
            value = _get(self.base.model_dump(mode="python"), ["funding", "revenue_growth", "all"])
            value = (value or {}).get(int(control.path[-1]), 0.0)
        if value is None and name.startswith("allocation.capacities."):
            value = self._default_capacity(control.path[-1])
        if value is None and name.startswith("interventions."):
            value = InterventionOverride.model_fields[control.path[-1]].default
        return 0.0 if value is None else value

    def _default_capacity(self, entry: str) -> float:
        catalogue = self._result.setup.catalogue if self._result else None
        if catalogue is None:
            catalogue = load_catalogue(self.base)
        resource = catalogue.entry(entry).capacity_resource
        caps = catalogue.capacities().set_index("resource")["units_per_year"]
        return float(caps.get(resource, 0.0))

    def _known(self, name: str) -> str:
        if name not in CONTROLS:
            raise InputError.single(
                "what-if control", name, "must be one of the controls in fupinsim.widgets.CONTROLS"
            )
        return name

    def set(self, name: str, value: Any) -> None:
        """Set a control (checked against its range); :meth:`replan` applies it."""
        value = CONTROLS[self._known(name)].check(value)
        self.values[name] = value

    def reset(self, name: str | None = None) -> None:
        """Back to the scenario's value for one control, or for all."""
        if name is None:
            self.values.clear()
        else:
            self.values.pop(name, None)

    @property
    def scenario(self) -> Scenario:
        """The base scenario with the controls applied (validated like a scenario file)."""
        if not self.values:
            return self.base
        content = copy.deepcopy(self.base.model_dump(mode="python"))
        for name, value in self.values.items():
            _put(content, CONTROLS[name].path, value)
        return Scenario.model_validate(content)

    # -- stages -----------------------------------------------------------------------------
    def _cached(
        self,
        stage: str,
        key: str,
        compute: Callable[[], Any],
        to_tables: Callable[[Any], dict[str, pd.DataFrame]],
        from_tables: Callable[[dict[str, pd.DataFrame]], Any],
        about: dict[str, Any],
    ) -> tuple[Any, bool]:
        memory_key = f"{stage}:{key}"
        if memory_key in self._memory:
            return self._memory[memory_key], True
        stored = self.cache.load(key) if self.cache else None
        if stored is not None:
            value = from_tables(stored)
            reused = True
        else:
            value = compute()
            reused = False
            if self.cache:
                self.cache.store(key, to_tables(value), {"stage": stage, **about})
        self._memory[memory_key] = value
        return value, reused

    def _key(self, stage: str, scenario: Scenario) -> tuple[str, dict[str, Any]]:
        content = stage_content(scenario, stage)
        return content_key(stage, content, self._code), content

    def _registry(self, scenario: Scenario) -> tuple[Registry, bool]:
        key, content = self._key("registry", scenario)

        def tables(reg: Registry) -> dict[str, pd.DataFrame]:
            out = {"households": reg.households, "villages": reg.villages}
            return (
                out if reg.identification is None else {**out, "identification": reg.identification}
            )

        def registry(t: dict[str, pd.DataFrame]) -> Registry:
            return Registry(t["households"], t["villages"], t.get("identification"))

        value, reused = self._cached(
            "registry", key, lambda: generate_registry(scenario), tables, registry, content
        )
        return value, reused

    def _yields(self, setup: RegistryStage) -> tuple[ExitYields, bool]:
        key, content = self._key("yields", setup.scenario)
        value, reused = self._cached(
            "yields",
            key,
            lambda: yields_stage(setup, workers=self.workers),
            _yields_tables,
            lambda t: ExitYields(t["types"], t["yields"], t["package_costs"], t["gains"]),
            content,
        )
        return value, reused

    def _simulate(
        self, setup: RegistryStage, plans: HouseholdPlans
    ) -> tuple[SimulationResult, bool]:
        scenario_key, _ = self._key("yields", setup.scenario)
        plan = plans.plan[["household_id", "package_id", "start_year"]]
        plan_hash = pd.util.hash_pandas_object(plan, index=False).sum()
        memory_key = f"simulate:{scenario_key}:{self.replications}:{len(plan)}:{plan_hash}"
        if memory_key in self._memory:
            return self._memory[memory_key], True
        result = simulate(
            setup.registered,
            plans.plan,
            setup.scenario,
            village_plan=setup.village_plan,
            replications=self.replications,
            catalogue=setup.catalogue,
            workers=self.workers,
            household_paths=False,
        )
        self._memory = {k: v for k, v in self._memory.items() if not k.startswith("simulate:")}
        self._memory[memory_key] = result
        return result, False

    def replan(self) -> WhatIfResult:
        """Apply the controls: re-solve, re-simulate (what the change needs), redraw tables."""
        started = clock = time.perf_counter()
        timings: dict[str, float] = {}
        reused: list[str] = []

        def lap(step: str, was_reused: bool = False) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[step] = now - clock
            clock = now
            if was_reused:
                reused.append(step)

        scenario = self.scenario
        registry, hit = self._registry(scenario)
        setup = registry_stage(scenario, registry)
        lap("registry", hit)
        money = funding_stage(scenario)
        lap("funding")
        yields, hit = self._yields(setup)
        lap("yields", hit)
        allocation = allocate_stage(setup, money, yields)
        lap("allocate")
        plans = household_plans_stage(setup, yields, allocation)
        lap("plans")
        simulation, hit = self._simulate(setup, plans)
        lap("simulate", hit)
        timings["total"] = time.perf_counter() - started
        self._result = WhatIfResult(
            scenario, setup, money, yields, allocation, plans, simulation, timings, tuple(reused)
        )
        logger.info(
            "re-planned in %.2f s (%s; reused %s)",
            timings["total"],
            ", ".join(f"{k} {v:.2f} s" for k, v in timings.items() if k != "total"),
            ", ".join(reused) or "nothing",
        )
        return self._result

    @property
    def result(self) -> WhatIfResult:
        """The last re-plan (run :meth:`replan` first)."""
        if self._result is None:
            self.replan()
        assert self._result is not None
        return self._result

    # -- views ------------------------------------------------------------------------------
    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The planner's tables of the last re-plan (see :func:`what_if_tables`)."""
        return what_if_tables(self.result)

    @property
    def figures(self) -> dict[str, Figure]:
        """The figures of the last re-plan (see :func:`what_if_figures`)."""
        return what_if_figures(self.result)


def _wan(values: pd.Series) -> pd.Series:
    return (values / YUAN_PER_WAN).round(0).astype(int)


def what_if_tables(result: WhatIfResult) -> dict[str, pd.DataFrame]:
    """Tables a planner reads after a re-plan (money in 万元, shares in %).

    ``summary`` (one column of headline numbers), ``money`` (pool × year), ``allocation``
    (package × county, households), ``shortfall`` (targets missed and the money that would
    close each), ``p_met`` (target group × year, %).
    """
    funding = result.funding.funding
    alloc = result.allocation.result
    shortfall = alloc.shortfall
    tp = result.simulation.target_probability
    tp = tp[tp["year"].isin(result.setup.plan_years)]
    required = result.scenario.allocation.required_confidence

    money = funding.assign(pool=[assess.county_label(p, short=True) for p in funding["pool"]])
    money = money.pivot_table(
        index="pool", columns="year", values="amount_yuan", aggfunc="sum", sort=False
    )
    money["2015-2017"] = money.sum(axis=1)
    money.loc["all pools"] = money.sum()
    money = (money / YUAN_PER_WAN).round(0).astype(int)
    money.columns.name = "money, 万元"

    table = alloc.allocation.assign(
        county=[assess.county_label(c, short=True) for c in alloc.allocation["county_id"]],
        package=[assess.package_label(p) for p in alloc.allocation["package_id"]],
    )
    allocation = table.pivot_table(
        index="package", columns="county", values="households", aggfunc="sum", fill_value=0
    )
    allocation["all counties"] = allocation.sum(axis=1)
    allocation = allocation.round(0).astype(int)
    allocation.columns.name = "households given a package"

    missed = shortfall[shortfall["missing_exits"] > 0]
    gaps = pd.DataFrame(
        {
            "target": [
                assess.group_label(c, v)
                for c, v in zip(missed["county_id"], missed["villages"], strict=True)
            ],
            "year": missed["year"].astype(int),
            "missing exits, households": missed["missing_exits"].round(0).astype(int),
            "money to close, 万元": (missed["extra_yuan_to_close"] / YUAN_PER_WAN).round(1),
            "what binds": missed["binding_resource"],
        }
    ).set_index(["target", "year"])

    p_met = tp.assign(
        target=[
            assess.group_label(c, v) for c, v in zip(tp["county_id"], tp["villages"], strict=True)
        ]
    ).pivot_table(index="target", columns="year", values="p_met", sort=False)
    p_met = (p_met * 100).round(0).astype(int)
    p_met.columns.name = "P(target met), %"

    p_all = float(result.simulation.meta["p_all_targets_met"])
    summary = pd.Series(
        {
            "money available 2015-2017, 万元": round(funding["amount_yuan"].sum() / YUAN_PER_WAN),
            "fiscal money the plan spends, 万元": round(
                alloc.allocation["fiscal_yuan"].sum() / YUAN_PER_WAN
            ),
            "households given a package": round(alloc.allocation["households"].sum()),
            "targets missed (planned)": int((shortfall["missing_exits"] > 0).sum()),
            "missing exits (planned), households": round(shortfall["missing_exits"].sum()),
            f"targets with P(met) below {required:.0%}": int((tp["p_met"] < required).sum()),
            "P(all targets met), %": round(100 * p_all),
        },
        name=result.scenario.id,
    ).to_frame()
    summary.index.name = f"what-if ({result.scenario.allocation.objective})"
    return {
        "summary": summary,
        "money": money,
        "allocation": allocation,
        "shortfall": gaps,
        "p_met": p_met,
    }


def what_if_figures(result: WhatIfResult) -> dict[str, Figure]:
    """Figures after a re-plan (:mod:`fupinsim.plots`): money by pool, allocation, shortfall,
    P(target met) and the fan chart of poor households remaining."""
    alloc = result.allocation.result
    required = result.scenario.allocation.required_confidence
    sim = result.simulation
    return {
        "money": plots.funding_chart(result.funding.funding, allocation=alloc.allocation),
        "allocation": plots.allocation_chart(alloc.allocation),
        "shortfall": plots.shortfall_chart(alloc.shortfall),
        "p_met": plots.p_met_heatmap(sim.target_probability, required_confidence=required),
        "fan_chart": plots.fan_chart_remaining(
            sim.county_year,
            result.setup.targets,
            target_probability=sim.target_probability,
            required_confidence=required,
        ),
    }


#: Order of the control groups on the panel, with their headings.
GROUPS: dict[str, str] = {
    "money": "Money",
    "capacity": "Capacities",
    "targets": "Targets and objective",
    "model": "Model (recomputes the exit yields: up to a minute)",
}
#: The views the panel redraws, in order: tables first, then figures.
VIEWS: tuple[str, ...] = (
    "summary",
    "money",
    "allocation",
    "shortfall",
    "p_met",
    "fig:money",
    "fig:allocation",
    "fig:shortfall",
    "fig:p_met",
    "fig:fan_chart",
)


class WhatIfPanel:
    """ipywidgets for a :class:`WhatIf`: one control per :data:`CONTROLS` entry, views redrawn.

    Attributes
    ----------
    what:
        The :class:`WhatIf` it drives.
    controls:
        Control name → widget (a slider, a dropdown or a multiple choice), labelled with the
        control's unit and range.
    views:
        View name (:data:`VIEWS`) → ``ipywidgets.Output`` holding that table or figure.
    status:
        One line: what the last re-plan recomputed and how long it took.
    shown:
        The tables the views show now (by name).
    """

    def __init__(self, what: WhatIf, names: Sequence[str] | None = None) -> None:
        self._w = w = widgets
        self.what = what
        self.status = w.HTML()
        self.controls: dict[str, Any] = {
            name: self._widget(CONTROLS[name]) for name in (names or list(CONTROLS))
        }
        self.views: dict[str, Any] = {name: w.Output() for name in VIEWS}
        self._layout: Any = None
        self.shown: dict[str, pd.DataFrame] = {}
        for name, widget in self.controls.items():
            widget.observe(self._changed(name), names="value")
        self.redraw()

    def _widget(self, control: Control) -> Any:
        w = self._w
        value = self.what.get(control.name)
        style = {"description_width": "17em"}
        layout = w.Layout(width="40em")
        tip = f"{control.label}: {control.unit}"
        if control.kind == "choice":
            return w.Dropdown(
                options=list(control.choices),
                value=value,
                description=control.label,
                style=style,
                layout=layout,
                tooltip=tip,
            )
        if control.kind == "multi":
            return w.SelectMultiple(
                options=[(assess.county_label(c, short=True), c) for c in control.choices],
                value=tuple(value),
                description=control.label,
                rows=len(control.choices),
                style=style,
                layout=layout,
                tooltip=tip,
            )
        slider = w.IntSlider if control.kind == "int" else w.FloatSlider
        return slider(
            value=value,
            min=control.low,
            max=control.high,
            step=control.step,
            description=control.label,
            continuous_update=False,
            readout_format=control.readout,
            style=style,
            layout=layout,
            tooltip=tip,
        )

    def _changed(self, name: str) -> Callable[[dict[str, Any]], None]:
        def on_change(change: dict[str, Any]) -> None:
            value = change["new"]
            try:
                self.what.set(name, list(value) if isinstance(value, tuple) else value)
                self.status.value = f"<b>Re-planning</b> after {CONTROLS[name].label} …"
                self.what.replan()
            except InputError as error:
                self.status.value = f"<b style='color:#b00'>Not applied:</b> {error}"
                return
            self.redraw()

        return on_change

    def redraw(self) -> None:
        """Show the last re-plan's tables and figures in :attr:`views`."""
        result = self.what.result
        tables = what_if_tables(result)
        figures = what_if_figures(result)
        self.shown = tables
        for name, out in self.views.items():
            out.clear_output(wait=True)
            with out:
                if name.startswith("fig:"):
                    display(figures[name.removeprefix("fig:")])
                else:
                    display(tables[name])
        steps = ", ".join(
            f"{k} {v:.1f} s" + (" (cached)" if k in result.reused else "")
            for k, v in result.timings.items()
            if k != "total"
        )
        self.status.value = (
            f"Re-planned in <b>{result.timings['total']:.1f} s</b>: {steps}. "
            f"{self.what.replications} Monte Carlo replications."
        )

    def group(self, group: str) -> Any:
        """The controls of one group (:data:`GROUPS`) in a box, each with its unit."""
        w = self._w
        rows = []
        for name, widget in self.controls.items():
            control = CONTROLS[name]
            if control.group != group:
                continue
            if control.kind in ("float", "int"):
                unit = f"{control.unit} ({control.low:,g} to {control.high:,g})"
            else:
                unit = control.unit
            rows.append(w.HBox([widget, w.HTML(f"<small>{unit}</small>")]))
        return w.VBox(rows)

    def layout(self) -> Any:
        """A default layout: control groups in tabs above the status line and the views."""
        if self._layout is None:
            self._layout = self._build_layout()
        return self._layout

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """Shown in JupyterLab as the :meth:`layout`; as one line of text elsewhere (nbval)."""
        bundle = dict(self.layout()._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = (
            f"What-if controls: {len(self.controls)} controls on {self.what.base.id} "
            f"({self.what.replications} replications); open the notebook in JupyterLab to use them"
        )
        return bundle

    def _build_layout(self) -> Any:
        w = self._w
        groups = [g for g in GROUPS if any(CONTROLS[n].group == g for n in self.controls)]
        tabs = w.Tab(children=[self.group(g) for g in groups])
        for i, g in enumerate(groups):
            tabs.set_title(i, GROUPS[g])
        views = w.VBox([self.views[name] for name in VIEWS])
        return w.VBox([tabs, self.status, views])
