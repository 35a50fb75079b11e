"""The report's section on how sure the plan's outcome is (``templates/_uncertainty.html``).

:func:`uncertainty_context` reads a run's manifest (the facts of
:mod:`fupinsim.pipeline.assumptions`) and its ``assumption_ranking`` table, and returns what
the section shows: P(all targets met) with the assumptions sampled (the headline) beside shocks
only, each with its Monte Carlo interval; exits by 2017 and the plan's fiscal cost under both;
the three assumptions the headline depends on most, in planner terms; and the warning when the
replications are too few for the required confidence.

The top three come from the manifest (``assumptions_top``, from the run's
``assumption_ranking`` table), or from a ranking table given. The ranking is the run's own (rank
correlation between the drawn assumptions and the outcome of the same replications);
``fupinsim sensitivity`` gives the fuller one-at-a-time analysis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from fupinsim.pipeline.assumptions import top_assumptions

__all__ = ["top_three", "uncertainty_context"]

#: The run's three top assumptions from its ``assumption_ranking`` table.
top_three = top_assumptions


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _int(value: Any) -> int:
    number = _float(value)
    return int(number) if math.isfinite(number) else 0


def _interval(manifest: Mapping[str, Any], name: str) -> dict[str, float]:
    return {
        "p": _float(manifest.get(name)),
        "low": _float(manifest.get(f"{name}_low")),
        "high": _float(manifest.get(f"{name}_high")),
    }


def uncertainty_context(
    manifest: Mapping[str, Any] | None, ranking: pd.DataFrame | None = None
) -> dict[str, Any] | None:
    """What ``_uncertainty.html`` shows, or ``None`` for a run without the assumptions stage."""
    manifest = manifest or {}
    if "assumptions_sampled" not in manifest:
        return None
    sampled = bool(manifest["assumptions_sampled"])
    ranked = manifest.get("assumptions_top") or {}
    indicator, top = str(ranked.get("indicator", "")), list(ranked.get("top", []))
    if sampled and ranking is not None:
        indicator, top = top_assumptions(ranking)
    replications = _int(manifest.get("pipeline_replications"))
    return {
        "sampled": sampled,
        "why_not": str(manifest.get("assumptions_not_sampled_because", "")),
        "with": _interval(manifest, "p_all_targets_met_with_assumptions"),
        "shocks": _interval(manifest, "p_all_targets_met_shocks_only"),
        "p_final_with": _float(manifest.get("p_final_targets_met_with_assumptions")),
        "p_final_shocks": _float(manifest.get("p_final_targets_met_shocks_only")),
        "exits_with": manifest.get("exits_2017_with_assumptions") or {},
        "exits_shocks": manifest.get("exits_2017_shocks_only") or {},
        "cost_with": manifest.get("fiscal_cost_yuan_with_assumptions") or {},
        "cost_point": _float(manifest.get("fiscal_cost_yuan_point")),
        "draws": _int(manifest.get("assumption_draws")),
        "per_draw": _int(manifest.get("replications_per_draw")),
        "parameters": _int(manifest.get("assumption_parameters")),
        "replications": replications,
        "step": 1.0 / replications if replications else math.nan,
        "warning": manifest.get("replications_warning"),
        "indicator": indicator,
        "top": top,
    }
