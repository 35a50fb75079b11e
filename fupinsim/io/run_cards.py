"""Cards of a finished run: what ``fupinsim card`` reads from ``outputs/<scenario>/tables`` and
writes into its ``cards/`` folder.

:func:`write_card` reads only the rows of one household (or village) with filtered Parquet
reads (:func:`fupinsim.io.streamed.card_tables`) and renders its page;
:func:`write_county_cards` reads the card tables whole and writes every card of a county
(:func:`fupinsim.io.card_files.write_household_cards`).

This module imports only what a card needs: the card model (:mod:`fupinsim.assess.cards`,
:mod:`fupinsim.assess.files`), its templates (:mod:`fupinsim.report.cards`) and pyarrow; not
the pipeline, the plots, matplotlib, SciPy's statistics, numba or PuLP, which the scenario
report (:mod:`fupinsim.io.report_files`) brings. A card of the national run is a filtered read
and a page, not the import of the workbench (``tests/unit/test_card_imports.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from fupinsim.assess.cards import household_card
from fupinsim.assess.files import village_file
from fupinsim.errors import InputError
from fupinsim.io.card_files import (
    CARD_TABLES,
    CardsWritten,
    write_atomic,
    write_card_page,
    write_household_cards,
)
from fupinsim.io.streamed import card_tables
from fupinsim.report.cards import village_file_html

__all__ = ["read_tables", "scenario_folder", "write_card", "write_county_cards"]

logger = logging.getLogger(__name__)


def read_tables(folder: str | Path, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Read the tables ``names`` of ``<folder>/tables`` whole (Parquet, else CSV).

    Tables that are not there are left out.
    """
    base = Path(folder) / "tables"
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        parquet, csv = base / f"{name}.parquet", base / f"{name}.csv"
        if parquet.exists():
            out[name] = pd.read_parquet(parquet)
        elif csv.exists():
            out[name] = pd.read_csv(csv)
    return out


def scenario_folder(outputs_dir: str | Path, scenario_id: str) -> Path:
    """``<outputs_dir>/<scenario_id>``, which must hold a finished run's ``tables/``.

    Raises
    ------
    InputError
        The scenario has no finished run in ``outputs_dir``.
    """
    folder = Path(outputs_dir) / scenario_id
    if not (folder / "tables").is_dir():
        raise InputError.single(
            str(folder / "tables"),
            None,
            f"must exist: scenario '{scenario_id}' has no finished run in {outputs_dir}",
            fix=f"run the scenario first (fupinsim run scenarios/{scenario_id}.yaml)",
        )
    return folder


def write_card(
    outputs_dir: str | Path,
    scenario_id: str,
    *,
    household_id: int | None = None,
    village_id: int | None = None,
    package_labels: Mapping[str, str] | None = None,
    out: str | Path | None = None,
) -> Path:
    """Write a household card or a village file of a finished run into its ``cards/`` folder.

    Parameters
    ----------
    outputs_dir
        The outputs folder (``outputs``).
    scenario_id
        The scenario whose run is read (``outputs/<scenario_id>/tables``).
    household_id, village_id
        Exactly one of them.
    package_labels
        Readable package names (default: the catalogue's).
    out
        Folder to write into instead of ``outputs/<scenario>/cards``.

    Returns the path written, ``outputs/<scenario>/cards/household_<id>.html`` (or
    ``village_<id>.html``); raises :class:`InputError` for no finished run, both or neither id,
    or an id not in the registry.
    """
    if (household_id is None) == (village_id is None):
        raise InputError.single(
            "card",
            (household_id, village_id),
            "give exactly one of a household id and a village id",
        )
    folder = scenario_folder(outputs_dir, scenario_id)
    cards = Path(out) if out is not None else folder / "cards"
    # Only the rows of this household or village (filtered Parquet reads): as fast at 29 M
    # households as at Jiuquan's 100 k.
    frames = card_tables(folder, household_id=household_id, village_id=village_id)
    for name in ("households", "villages"):
        if name not in frames:
            raise InputError.single(
                str(folder / "tables" / f"{name}.parquet"),
                None,
                "must exist (the registry of the run)",
            )
    if household_id is not None:
        card = household_card(
            int(household_id),
            households=frames["households"],
            villages=frames["villages"],
            household_plans=frames.get("household_plans"),
            exit_targets=frames.get("exit_targets"),
            household_results=frames.get("household_paths", frames.get("household")),
            package_labels=package_labels,
            household_cadres=frames.get("household_cadres"),
        )
        return write_card_page(cards, card, scenario_id=scenario_id)  # with its stylesheet
    assert village_id is not None
    file = village_file(
        int(village_id),
        households=frames["households"],
        villages=frames["villages"],
        household_plans=frames.get("household_plans"),
        village_year=frames.get("village_year"),
        exit_targets=frames.get("exit_targets"),
        package_labels=package_labels,
        village_works=frames.get("village_works"),
        household_cadres=frames.get("household_cadres"),
    )
    path = cards / f"village_{int(village_id)}.html"
    cards.mkdir(parents=True, exist_ok=True)
    write_atomic(path, village_file_html(file, scenario=scenario_id))
    return path


def write_county_cards(
    outputs_dir: str | Path,
    scenario_id: str,
    *,
    county: str | None,
    out: str | Path | None = None,
    workers: int = 2,
    package_labels: Mapping[str, str] | None = None,
) -> CardsWritten:
    """Write the card of every registered household of ``county`` (``None``: all counties) of a
    finished run, in one run (:func:`fupinsim.io.card_files.write_household_cards`).

    Parameters
    ----------
    outputs_dir, scenario_id
        The run read (``outputs/<scenario_id>/tables``).
    county
        County id, or ``None`` for every county.
    out
        Folder of the cards (default ``outputs/<scenario_id>/cards``).
    workers
        Processes writing the cards.
    package_labels
        Readable package names (default: the catalogue's).

    Raises
    ------
    InputError
        No finished run, an unknown county, or no households table.
    """
    folder = scenario_folder(outputs_dir, scenario_id)
    frames = read_tables(folder, CARD_TABLES)
    return write_household_cards(
        frames,
        Path(out) if out is not None else folder / "cards",
        county=county,
        scenario_id=scenario_id,
        package_labels=package_labels,
        workers=workers,
    )
