"""The what-if API: apply controls to a scenario, re-plan with cached stages (:class:`WhatIf`)."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
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
from fupinsim.microsim import SimulationResult, exit_targets, load_catalogue, simulate
from fupinsim.pipeline import (
    AllocationStage,
    HouseholdPlans,
    RegistryStage,
    allocate_stage,
    funding_stage,
    household_plans_stage,
    registry_stage,
    village_works_plan,
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
#: Scenario fields only the money (funding stage) and the LP read: the registry stage's
#: catalogue, targets and village works do not depend on them (its key leaves them out).
_MONEY_AND_LP_ONLY = (
    "id",
    "title",
    "description",
    "funding.revenue_2014_wan",
    "funding.revenue_growth",
    "funding.earmark_share_city",
    "funding.earmark_share_county",
    "funding.integrated_agriculture_wan",
    "funding.idle_stock_wan",
    "funding.idle_recovery_share",
    "funding.provincial_transfer_wan",
    "funding.pairing_donations_wan",
    "funding.carry_over",
    "allocation.objective",
    "allocation.solver",
    "allocation.time_limit_s",
    "allocation.gap_rel",
    "allocation.shortfall_penalty_yuan",
    "allocation.required_confidence",
    "allocation.loop_rounds",
    "allocation.margin_step",
)


def default_workers() -> int:
    """Kernel threads (and yield processes) of a what-if: 2 where the machine has 2+ cores."""
    return max(1, min(2, os.cpu_count() or 1))


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
    if stage == "setup":  # everything but the money and the LP's own settings
        for name in _MONEY_AND_LP_ONLY:
            *parent, last = name.split(".")
            node = _get(content, parent) if parent else content
            if isinstance(node, dict):
                node.pop(last, None)
        return content
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
        Threads of the simulation kernel and processes of the exit yields (results do not
        depend on it); default :func:`default_workers` (2 on a 2-core machine).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        replications: int = 200,
        cache_dir: str | Path | None = DEFAULT_CACHE,
        workers: int | None = None,
    ) -> None:
        self.base = scenario
        self.replications = int(replications)
        self.workers = default_workers() if workers is None else int(workers)
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

    def _registry(self, scenario: Scenario) -> tuple[Registry, str, bool]:
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
        return value, key, reused

    def _setup(self, scenario: Scenario, registry: Registry, registry_key: str) -> RegistryStage:
        """Stage 1 with its slow part (the cadre pairing) reused from memory.

        The cadre tables depend on the registry and the seed only (both in the registry's
        key); the catalogue, targets and village works on the scenario without its money
        (:data:`_MONEY_AND_LP_ONLY`). The result equals ``registry_stage(scenario, registry)``.
        """
        base_key = f"setup:{registry_key}"
        base = self._memory.get(base_key)
        if base is None:
            base = registry_stage(scenario, registry)
            self._memory[base_key] = base
        setup_key, _ = self._key("setup", scenario)
        memory_key = f"setup:{registry_key}:{setup_key}"
        light = self._memory.get(memory_key)
        if light is None:
            light = (
                (base.catalogue, base.targets, base.village_plan)
                if stage_content(base.scenario, "setup") == stage_content(scenario, "setup")
                else (
                    load_catalogue(scenario),
                    exit_targets(registry.households, scenario.microsim.as_whole_allowance),
                    village_works_plan(registry, scenario),
                )
            )
            self._memory = {
                k: v for k, v in self._memory.items() if not k.startswith(f"setup:{registry_key}:")
            }
            self._memory[memory_key] = light
        catalogue, targets, village_plan = light
        return dataclasses.replace(
            base,
            scenario=scenario,
            catalogue=catalogue,
            targets=targets,
            village_plan=village_plan,
        )

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
        # Every column of the plan (household costs change incomes) and the village works.
        plan_hash = pd.util.hash_pandas_object(plans.plan, index=False).sum()
        works_hash = pd.util.hash_pandas_object(setup.village_plan, index=False).sum()
        memory_key = (
            f"simulate:{scenario_key}:{self.replications}:{len(plans.plan)}:{plan_hash}:"
            f"{works_hash}"
        )
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
        registry, registry_key, hit = self._registry(scenario)
        setup = self._setup(scenario, registry, registry_key)
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
