"""Sensitivity results on disk: tables, tornado figures and a manifest, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fupinsim.io.outputs import atomic_output_dir, environment_info, write_manifest, write_tables
from fupinsim.plots.tornado import tornado_figures

if TYPE_CHECKING:
    from fupinsim.sensitivity import SensitivityResult

__all__ = ["write_sensitivity"]


def write_sensitivity(result: SensitivityResult, folder: Path, fields: dict[str, Any]) -> None:
    """Write ``result`` into ``folder`` (replaced only when everything is written).

    ``tables/`` holds the ranking (``sensitivity``), the top assumptions per indicator, the
    summary, the parameters analysed and the sampled draws (CSV and Parquet); ``figures/`` one
    tornado per indicator (PNG); ``manifest.json`` ``fields`` plus the environment.
    """
    with atomic_output_dir(folder) as work:
        write_tables(
            {
                "sensitivity": result.table,
                "sensitivity_top": result.top,
                "sensitivity_summary": result.summary,
                "uncertain_parameters": result.parameters,
                "sensitivity_draws": result.draws,
            },
            work,
        )
        figures = work / "figures"
        figures.mkdir()
        for indicator, fig in tornado_figures(result.table).items():
            fig.savefig(figures / f"tornado_{indicator}.png", dpi=110, facecolor="white")
        write_manifest({**fields, "environment": environment_info()}, work)
