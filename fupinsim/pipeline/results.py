"""What a run hands on: :class:`RunTables` (the tables of ``docs/contracts.md``) and
:class:`PipelineResult` (the same, plus the live objects of an in-memory run).

:class:`RunTables` is what a run *is* once written: one attribute per table file of
``outputs/<scenario>/tables/`` and the run's manifest facts. :class:`PipelineResult`, which
:func:`fupinsim.pipeline.run_pipeline` returns, is a :class:`RunTables` that also carries the
scenario, the registry, the last allocation LP and result and every simulation (what only an
in-memory run has: the MPS file is written from ``model``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fupinsim.allocate import AllocationModel, AllocationResult
from fupinsim.microsim import SimulationResult
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

__all__ = ["OPTIONAL_TABLES", "TABLE_NAMES", "PipelineResult", "RunTables"]

#: Every table of a run, by file stem, in the order of ``docs/contracts.md``.
TABLE_NAMES: tuple[str, ...] = (
    "households",
    "villages",
    "identification",
    "registry_summary",
    "cadre_roster",
    "household_cadres",
    "exit_targets",
    "funding",
    "revenue",
    "exit_yields",
    "household_types",
    "allocation",
    "allocation_quotas",
    "spending",
    "shortfall",
    "marginal_cost",
    "money_value",
    "unused_money",
    "household_plans",
    "household_burden",
    "village_works",
    "closed_loop",
    "factor_comparison",
    "county_factors",
    "county_year",
    "target_probability",
    "immigrant_income",
    "village_year",
    "targeting",
    "household_paths",
    "household_exit",
    "target_probability_plans",
    "county_year_plans",
    "assessment",
    "recommendations",
    "assumption_ranking",
    "validation",
    "registered_by_year",
    "registry_entrants",
)
#: Tables a run may lack: ``identification`` exists only for a registry with the
#: identification step (the synthetic registry's measured incomes and reviews); the living
#: registry's tables (issue 10, item 4) are absent from runs written before it.
OPTIONAL_TABLES: frozenset[str] = frozenset(
    {"identification", "registered_by_year", "registry_entrants"}
)


@dataclass(frozen=True, kw_only=True)
class RunTables:
    """Every table of one scenario run, one attribute each (columns: ``docs/contracts.md``).

    Attributes
    ----------
    households, villages, identification, registry_summary, exit_targets:
        The registry (``identification`` is ``None`` when the registry has none) and the exit
        targets (households).
    cadre_roster, household_cadres:
        The cadres (§16: unit, level, home county, capacity, load) and every registered
        household's cadre (:func:`fupinsim.allocate.pairing.cadre_tables`).
    funding, revenue:
        Money arriving per pool, source and year; revenue and earmarks (yuan).
    exit_yields, household_types:
        The microsimulation's exit yields per type, package and start year; households' types.
    allocation, allocation_quotas, spending, shortfall, marginal_cost, money_value, unused_money:
        The allocation of the last closed-loop round; ``shortfall`` from round 0 (the plan's
        own targets, before any safety margin).
    household_plans, household_burden, village_works:
        One plan per supported household (with ``simulated_exit_year`` and
        ``expected_income_pc_2017`` from the final projection, own cash, credit and the
        pools' top-up); household money per package; the villages' works.
    closed_loop, factor_comparison, county_factors:
        The closed loop round by round; the plans compared; the factor method's factors.
    county_year, target_probability, immigrant_income, village_year, targeting,
    household_paths, household_exit:
        The final projection (the chosen plan over every household).
    target_probability_plans, county_year_plans:
        The same for each compared plan (column ``plan``).
    assessment:
        The county assessment of the final projection.
    recommendations:
        What to do, each action with its effect from a re-solve of the LP
        (:mod:`fupinsim.pipeline.recommend`).
    assumption_ranking:
        The uncertain assumptions ranked by their rank correlation with the final projection's
        outcomes over the assumption draws (:mod:`fupinsim.pipeline.assumptions`).
    validation:
        The hindcast: the final projection beside the observed facts after 2014
        (:func:`fupinsim.hindcast.compare_to_observed`, with each fact's ``calibration``).
    registered_by_year, registry_entrants:
        The living registry (:mod:`fupinsim.pipeline.registry_years`): registered households
        by county and year with entrants, leavers, returns and missed poor; one row per
        entrant after the base year (entry year, reason, main cause).
    manifest:
        The run's facts for ``manifest.json`` (replications, objective, solver, status,
        objective value, rounds, targets missed, money missing, P(all targets met), LP size).
    timings:
        Wall seconds per pipeline step (``pipeline_timings_s`` in the manifest).

    Notes
    -----
    Transition (issue 9): ``tables["name"]`` (:meth:`__getitem__`) and :meth:`as_dict` keep code
    written for the old ``dict[str, DataFrame]`` working while notebooks and tests move to the
    attributes. New code should use the attributes, which mypy checks.
    """

    households: pd.DataFrame
    villages: pd.DataFrame
    identification: pd.DataFrame | None = None
    registry_summary: pd.DataFrame
    cadre_roster: pd.DataFrame
    household_cadres: pd.DataFrame
    exit_targets: pd.DataFrame
    funding: pd.DataFrame
    revenue: pd.DataFrame
    exit_yields: pd.DataFrame
    household_types: pd.DataFrame
    allocation: pd.DataFrame
    allocation_quotas: pd.DataFrame
    spending: pd.DataFrame
    shortfall: pd.DataFrame
    marginal_cost: pd.DataFrame
    money_value: pd.DataFrame
    unused_money: pd.DataFrame
    household_plans: pd.DataFrame
    household_burden: pd.DataFrame = field(default_factory=pd.DataFrame)
    village_works: pd.DataFrame
    closed_loop: pd.DataFrame
    factor_comparison: pd.DataFrame
    county_factors: pd.DataFrame
    county_year: pd.DataFrame
    target_probability: pd.DataFrame
    immigrant_income: pd.DataFrame
    village_year: pd.DataFrame
    targeting: pd.DataFrame
    household_paths: pd.DataFrame
    household_exit: pd.DataFrame
    target_probability_plans: pd.DataFrame
    county_year_plans: pd.DataFrame
    assessment: pd.DataFrame
    recommendations: pd.DataFrame
    assumption_ranking: pd.DataFrame = field(default_factory=pd.DataFrame)
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)
    registered_by_year: pd.DataFrame = field(default_factory=pd.DataFrame)
    registry_entrants: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifest: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    #: Tables this object does not hold (:meth:`partial`: they stay on disk); their attributes
    #: are empty frames without columns. Ask :meth:`has` or :meth:`table`, not ``.empty``.
    not_loaded: frozenset[str] = frozenset()

    @classmethod
    def from_dict(
        cls,
        tables: Mapping[str, pd.DataFrame],
        *,
        manifest: Mapping[str, Any] | None = None,
        timings: Mapping[str, float] | None = None,
    ) -> RunTables:
        """Tables by name (a run folder's, or the old dict) → :class:`RunTables`.

        Raises
        ------
        KeyError
            Naming the tables that are missing (all but :data:`OPTIONAL_TABLES` are needed)
            or unknown.
        """
        missing = [n for n in TABLE_NAMES if n not in tables and n not in OPTIONAL_TABLES]
        unknown = sorted(set(tables) - set(TABLE_NAMES))
        if missing or unknown:
            raise KeyError(f"run tables: missing {missing}, unknown {unknown}")
        return cls(
            **tables,
            manifest=dict(manifest or {}),
            timings=dict(timings or {}),
            not_loaded=frozenset(),
        )

    @classmethod
    def partial(
        cls,
        tables: Mapping[str, pd.DataFrame],
        *,
        manifest: Mapping[str, Any] | None = None,
    ) -> RunTables:
        """A run some of whose tables are not in memory (a national run's household tables stay
        on disk, read by rows with :func:`fupinsim.io.streamed.read_rows`): each missing table
        is an empty frame, and ``manifest["tables_not_loaded"]`` names them.

        Raises
        ------
        KeyError
            Naming tables that are not run tables.
        """
        unknown = sorted(set(tables) - set(TABLE_NAMES))
        if unknown:
            raise KeyError(f"run tables: unknown {unknown}")
        absent = [n for n in TABLE_NAMES if n not in tables and n not in OPTIONAL_TABLES]
        filled = {**{n: pd.DataFrame() for n in absent}, **tables}
        facts = {**dict(manifest or {}), "tables_not_loaded": absent}
        return cls(**filled, manifest=facts, timings={}, not_loaded=frozenset(absent))

    def has(self, name: str) -> bool:
        """Whether the run holds table ``name``: a run table, loaded (not left on disk by
        :meth:`partial`) and present (``identification`` exists only for some registries)."""
        return (
            name in TABLE_NAMES and name not in self.not_loaded and getattr(self, name) is not None
        )

    def table(self, name: str) -> pd.DataFrame | None:
        """Table ``name``, or ``None`` when the run does not hold it (see :meth:`has`).

        Raises
        ------
        KeyError
            For a name that is not a run table.
        """
        if name not in TABLE_NAMES:
            raise KeyError(f"{name!r} is not a run table")
        return getattr(self, name) if self.has(name) else None

    def as_dict(self) -> dict[str, pd.DataFrame]:
        """Every table by its file stem (``identification`` only when present).

        For the transition from ``dict[str, DataFrame]`` (see the class notes).
        """
        tables = {name: getattr(self, name) for name in TABLE_NAMES}
        return {name: table for name, table in tables.items() if table is not None}

    def __getitem__(self, name: str) -> pd.DataFrame:
        """``run["county_year"]``: a table by its file stem (transition; prefer attributes).

        Raises
        ------
        KeyError
            For a name that is not a table of the run (or ``identification`` when absent).
        """
        table = getattr(self, name, None) if name in TABLE_NAMES else None
        if table is None:
            raise KeyError(f"the run has no table {name!r}; tables: {', '.join(self.as_dict())}")
        return table


@dataclass(frozen=True, kw_only=True)
class PipelineResult(RunTables):
    """A finished in-memory run: its :class:`RunTables` plus the live objects.

    Attributes
    ----------
    scenario, registry:
        What was run.
    model:
        The last allocation LP (written as ``allocation_model.mps``).
    allocation_result:
        The last allocation result (``allocation`` is its table, as in :class:`RunTables`).
    simulations:
        Plan name → simulation of the registered households (``optimised``, ``factor``,
        ``baseline``, ``uniform_1230``) and ``final`` (the optimised plan over everyone).
    """

    scenario: Scenario
    registry: Registry
    model: AllocationModel
    allocation_result: AllocationResult
    simulations: Mapping[str, SimulationResult]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Transition: the old ``PipelineResult.tables`` (every table but ``households``)."""
        return {k: v for k, v in self.as_dict().items() if k != "households"}
