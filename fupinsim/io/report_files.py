"""Report files on disk: the scenario bundle, household cards and the scenario comparison.

The content is built in memory by :mod:`fupinsim.assess`, :mod:`fupinsim.plots` and
:mod:`fupinsim.report`; this module only writes it. Layout inside a scenario's output folder
(``outputs/<scenario>/``, see :mod:`fupinsim.io.outputs` for the atomic folder):

``report.html``
    The scenario report (self-contained).
``three_tables.xlsx`` and ``three_tables/<name>.csv``
    The plan's three tables (``poor_distribution``, ``income_targets``, ``reduction_tasks``);
    CSV in UTF-8 with a byte-order mark so that Excel shows the Chinese names.
``figures/<name>.png`` and ``figures/<name>.svg``
    Every figure of the report.
``guide/<county_id>.html``
    One guide per county.
``announcement.html``
    The public announcement (printable).
``cards/household_<id>.html``
    The card of every registered household (:mod:`fupinsim.io.card_files`); the county
    guides' household rows link to them. :func:`write_county_cards` rewrites them for a
    finished run, :func:`write_card` writes one card or ``cards/village_<id>.html`` on demand
    (both in :mod:`fupinsim.io.run_cards`, re-exported here).

:func:`write_comparison` reads every finished ``outputs/<scenario>/`` and writes
``outputs/comparison.html``, ``.csv`` and ``.png``.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from fupinsim import assess, plots, report
from fupinsim.data import COUNTY_IDS
from fupinsim.errors import InputError
from fupinsim.io.card_files import write_household_cards
from fupinsim.io.figure_files import FIGURE_DPI, start_figures
from fupinsim.io.outputs import read_manifest

# The cards of a finished run live in a module of their own, which does not import the pipeline
# and plotting stack that this one does; their names stay importable from here.
from fupinsim.io.run_cards import read_tables, write_card, write_county_cards
from fupinsim.pipeline import RunTables
from fupinsim.scenario import AssessmentSettings, MicrosimSettings, Scenario

logger = logging.getLogger(__name__)


class _Clock:
    """Seconds of each part of the report bundle (logged once at the end, ``benchmarks/
    bench_run.py`` reads the line from the run's log)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.parts: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.parts[name] = self.parts.get(name, 0.0) + now - self.last
        self.last = now

    def log(self) -> None:
        words = ", ".join(f"{k} {v:.2f} s" for k, v in self.parts.items())
        logger.info("report bundle written: %s", words)


__all__ = [
    "FIGURE_DPI",
    "read_result_tables",
    "write_card",
    "write_comparison",
    "write_county_cards",
    "write_report_bundle",
]

_BUNDLE_TABLES = (
    "recommendations",
    "household_cadres",
    "households",
    "villages",
    "exit_targets",
    "county_year",
    "target_probability",
    "immigrant_income",
    "village_year",
    "funding",
    "allocation",
    "shortfall",
    "household_plans",
    "assessment",
    "household_paths",
    "household",
    "household_exit",
    "village_works",
    "factor_comparison",
)
#: The plan whose row of ``factor_comparison`` holds the pipeline's P(all targets met).
_CHOSEN_PLAN = "optimised"


def _write_text(path: Path, text: str) -> Path:
    """Write ``text`` next to ``path`` and rename it into place (readers never see half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def _settings(scenario: Scenario | None) -> tuple[str, str, AssessmentSettings, float]:
    if scenario is None:
        return "", "", AssessmentSettings(), 0.9
    return (
        scenario.id,
        scenario.title,
        scenario.assessment,
        float(scenario.allocation.required_confidence),
    )


def _allowance(scenario: Scenario | None) -> float:
    """The scenario's "as a whole" allowance (share), for the targets' footnote."""
    if scenario is None:  # the field's default
        return float(MicrosimSettings.model_fields["as_whole_allowance"].default)
    return float(scenario.microsim.as_whole_allowance)


def _p_all_targets_met(
    given: float | None, manifest: Mapping[str, Any], comparison: pd.DataFrame | None
) -> float | None:
    """P(all targets met) as the pipeline reports it: the argument, else the manifest, else the
    chosen plan's row of ``factor_comparison``; ``None`` lets the summary approximate it."""
    if given is not None:
        return float(given)
    if manifest.get("p_all_targets_met") is not None:
        return float(manifest["p_all_targets_met"])
    if comparison is not None and {"method", "p_all_targets_met"} <= set(comparison.columns):
        row = comparison[comparison["method"].astype(str) == _CHOSEN_PLAN]
        if len(row) and pd.notna(row["p_all_targets_met"].iloc[0]):
            return float(row["p_all_targets_met"].iloc[0])
    return None


def _write_three_tables(
    three: Mapping[str, pd.DataFrame], out: Path, scenario_text: str
) -> dict[str, Path]:
    written: dict[str, Path] = {}
    book = report.three_tables_workbook(three, scenario=scenario_text)
    written["workbook"] = out / "three_tables.xlsx"
    book.save(written["workbook"])
    for name, frame in three.items():
        path = out / "three_tables" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        # A byte-order mark, so that Excel opens the Chinese names correctly.
        frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
        written[f"csv:{name}"] = path
    return written


def _write_guides(
    tables: RunTables,
    three: Mapping[str, pd.DataFrame],
    assessment: pd.DataFrame,
    out: Path,
    *,
    scenario_id: str,
    required: float,
    package_labels: Mapping[str, str] | None,
    allowance: float,
) -> tuple[dict[str, Path], dict[str, str]]:
    written: dict[str, Path] = {}
    links: dict[str, str] = {}
    present = set(tables.villages["county_id"].astype(str))
    for county in [c for c in COUNTY_IDS if c in present]:
        guide = assess.county_guide(
            county, tables, tables=three, assessment=assessment, package_labels=package_labels
        )
        page = report.county_guide_html(
            guide,
            scenario=scenario_id,
            required_confidence=required,
            recommendations=tables.table("recommendations"),
            as_whole_allowance=allowance,
            links={"← Scenario report": "../report.html", "Announcement": "../announcement.html"},
        )
        written[f"guide:{county}"] = _write_text(out / "guide" / f"{county}.html", page)
        links[assess.county_label(county, short=True)] = f"guide/{county}.html"
    return written, links


def _write_announcement(
    tables: RunTables,
    out: Path,
    *,
    scenario_id: str,
    package_labels: Mapping[str, str] | None,
) -> Path:
    items = assess.announcement(tables, package_labels=package_labels)
    return _write_text(
        out / "announcement.html", report.announcement_html(items, scenario=scenario_id)
    )


def write_report_bundle(
    tables: RunTables,
    folder: str | Path,
    *,
    scenario: Scenario | None = None,
    scenario_id: str | None = None,
    title: str | None = None,
    manifest: Mapping[str, Any] | None = None,
    figures: Mapping[str, Figure] | None = None,
    p_all_targets_met: float | None = None,
    package_labels: Mapping[str, str] | None = None,
    card_workers: int = 2,
) -> dict[str, Path]:
    """Write a scenario's reports into its output folder.

    Parameters
    ----------
    tables
        The run's tables (``docs/contracts.md``; a :class:`~fupinsim.pipeline.PipelineResult`
        is one). ``factor_comparison`` gives P(all targets met) of the ``optimised`` plan;
        an empty ``assessment`` is computed with the scenario's settings.
    folder
        The run folder (normally the work folder of :func:`fupinsim.io.outputs.atomic_output_dir`).
    scenario
        The scenario (id, title, assessment settings, required confidence).
    scenario_id, title
        Override the scenario's id and title (or give them without a scenario).
    manifest
        Run manifest (hash, seed, replications) shown in the report header. Default: the
        folder's ``manifest.json`` if there is one.
    figures
        Figures to use instead of :func:`fupinsim.plots.report_figures`.
    p_all_targets_met
        P(every target met) from the replications; default the manifest's
        ``p_all_targets_met``, else ``factor_comparison``, else approximated (see
        :func:`fupinsim.assess.scenario_summary`).
    package_labels
        Readable package names (default: the catalogue's).
    card_workers
        Forked processes writing the household cards (as ``fupinsim card --county all``) and
        drawing the figures (while this process writes the guides); the files do not depend
        on it.

    Returns
    -------
    dict of str to Path
        What was written: ``report``, ``workbook``, ``announcement``, ``csv:<name>``,
        ``figure:<stem>.png|svg``, ``guide:<county_id>``, ``cards`` (the folder).
    """
    sid, stitle, settings, required = _settings(scenario)
    sid = scenario_id or sid or "scenario"
    stitle = title if title is not None else stitle
    manifest = dict((manifest if manifest is not None else read_manifest(folder)) or {})
    out = Path(folder)
    clock = _Clock()
    three = assess.three_tables(tables)
    written = _write_three_tables(three, out, f"{sid} — {stitle}" if stitle else sid)
    clock.lap("three tables")
    assessment = tables.assessment
    if not len(assessment):
        assessment = assess.county_assessment(
            tables.county_year, tables.target_probability, settings
        )
    if figures is None:
        figures = plots.report_figures(
            tables, required_confidence=required, package_labels=package_labels
        )
    saved = start_figures(figures, out, card_workers)  # drawn while the guides are written
    clock.lap("figures")
    try:
        files, guide_links = _write_guides(
            tables,
            three,
            assessment,
            out,
            scenario_id=sid,
            required=required,
            package_labels=package_labels,
            allowance=_allowance(scenario),
        )
        clock.lap("guides")
    finally:  # the figure workers are always waited for
        figure_files, rendered = saved()
    written.update(figure_files)
    written.update(files)
    clock.lap("figures")
    cards = write_household_cards(
        tables,
        out / "cards",
        scenario_id=sid,
        package_labels=package_labels,
        workers=card_workers,
    )
    written["cards"] = cards.folder
    clock.lap("cards")
    written["announcement"] = _write_announcement(
        tables, out, scenario_id=sid, package_labels=package_labels
    )
    summary = assess.scenario_summary(
        tables,
        scenario_id=sid,
        title=stitle,
        required_confidence=required,
        p_all_targets_met=_p_all_targets_met(p_all_targets_met, manifest, tables.factor_comparison),
    )
    if manifest and manifest.get("p_final_targets_met") is not None:
        summary = replace(summary, p_final_targets_met=float(manifest["p_final_targets_met"]))
    links = {
        "Three tables (Excel)": "three_tables.xlsx",
        "Public announcement": "announcement.html",
        **{f"{name}.csv": f"three_tables/{name}.csv" for name in three},
        "Figures folder": "figures/",
    }
    page = report.report_html(
        summary=summary,
        tables=three,
        figures=rendered,
        assessment=assessment,
        links=links,
        guide_links=guide_links,
        manifest=manifest,
        shortfall=tables.shortfall,
        recommendations=tables.table("recommendations"),
        exit_targets=tables.exit_targets,
        as_whole_allowance=_allowance(scenario),
    )
    written["report"] = _write_text(out / "report.html", page)
    clock.lap("announcement and report")
    clock.log()
    return written


# ----------------------------------------------------------------------------------------------
# Reading a finished output folder


def read_result_tables(
    folder: str | Path, names: tuple[str, ...] = _BUNDLE_TABLES
) -> dict[str, pd.DataFrame]:
    """Read the pipeline tables of ``outputs/<scenario>/tables`` (Parquet, else CSV).

    Tables that are not there are left out.
    """
    return read_tables(folder, names)


# ----------------------------------------------------------------------------------------------
# Comparison of every scenario in outputs/


def _is_scenario_folder(path: Path) -> bool:
    """A finished scenario output: not hidden (work folders), not ``.failed``, has tables."""
    name = path.name
    return (
        path.is_dir()
        and not name.startswith((".", "_"))
        and not name.endswith(".failed")
        and (path / "tables").is_dir()
    )


def _summary_of(folder: Path) -> assess.ScenarioSummary | None:
    frames = read_result_tables(
        folder, ("target_probability", "funding", "allocation", "shortfall", "factor_comparison")
    )
    if "target_probability" not in frames:
        return None
    manifest = read_manifest(folder) or {}
    info = manifest.get("scenario")
    scenario_info: dict[str, Any] = info if isinstance(info, dict) else {}
    title = str(manifest.get("title") or scenario_info.get("title") or "")
    required = manifest.get("required_confidence") or 0.9
    summary = assess.scenario_summary(
        scenario_id=folder.name,
        title=title,
        target_probability=frames["target_probability"],
        funding=frames.get("funding"),
        allocation=frames.get("allocation"),
        shortfall=frames.get("shortfall"),
        required_confidence=float(required),
        p_all_targets_met=_p_all_targets_met(None, manifest, frames.get("factor_comparison")),
    )
    p_final = manifest.get("p_final_targets_met")
    return summary if p_final is None else replace(summary, p_final_targets_met=float(p_final))


def write_comparison(outputs_dir: str | Path, *, baseline: str = "plan_2015") -> dict[str, Path]:
    """Compare every finished scenario in ``outputs_dir``.

    Reads ``outputs/<scenario>/tables`` (``target_probability``, ``funding``, ``allocation``,
    ``shortfall``) and ``manifest.json`` of each finished run, skipping work folders (hidden),
    ``.failed`` folders and folders without tables; writes ``comparison.csv``,
    ``comparison.png`` and ``comparison.html`` into ``outputs_dir``.

    Parameters
    ----------
    outputs_dir
        The outputs folder.
    baseline
        Scenario listed first (the others follow alphabetically).

    Returns
    -------
    dict of str to Path
        ``csv``, ``png``, ``html``.

    Raises
    ------
    InputError
        No finished scenario in ``outputs_dir``.
    """
    base = Path(outputs_dir)
    folders = sorted(
        (p for p in base.iterdir() if _is_scenario_folder(p)) if base.is_dir() else [],
        key=lambda p: (p.name != baseline, p.name),
    )
    summaries = [s for s in (_summary_of(f) for f in folders) if s is not None]
    if not summaries:
        raise InputError.single(
            str(base),
            None,
            "must hold at least one finished scenario run",
            fix="run scenarios first (make run)",
        )
    comparison = assess.compare_scenarios(summaries)
    figure = plots.scenario_comparison_chart(comparison)
    csv_path = base / "comparison.csv"
    partial = csv_path.with_name(f".comparison.{secrets.token_hex(4)}.tmp")
    comparison.to_csv(partial, index=False, encoding="utf-8-sig", lineterminator="\n")
    os.replace(partial, csv_path)
    png_path = base / "comparison.png"
    figure.savefig(png_path, dpi=FIGURE_DPI, facecolor="white")
    links = {s.scenario_id: f"{s.scenario_id}/report.html" for s in summaries}
    html_path = _write_text(
        base / "comparison.html", report.comparison_html(comparison, figure, links=links)
    )
    return {"csv": csv_path, "png": png_path, "html": html_path}
