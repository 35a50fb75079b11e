"""The what-if API: apply controls to a scenario, re-plan with cached stages (:class:`WhatIf`)."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

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
from fupinsim.scenario import InterventionOverride, Scenario, load_scenario
from fupinsim.widgets.controls import CONTROLS
from fupinsim.widgets.views import what_if_figures, what_if_tables

logger = logging.getLogger(__name__)

#: Default cache folder (from the repository root, or the working folder outside a checkout).
DEFAULT_CACHE = "outputs/.cache"

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
