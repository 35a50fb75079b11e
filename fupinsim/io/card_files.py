"""Household cards in bulk: every registered household's card of a county (or of all counties)
written in one run, as ``<folder>/household_<id>.html``.

The cards' content is computed for all the households at once (:func:`fupinsim.assess.
household_cards`: each table selected and grouped once), the templates are compiled once, and
only the rendering of each card's page runs per household. With ``workers > 1`` the households
are split into that many contiguous parts, each rendered and written by a forked process (the
tables are inherited, not copied or re-read); the files are the same whatever the number of
workers. Each file is written next to its place and renamed into it, so a reader never sees half
a card and an interrupted run leaves the cards written before it intact.

The cards of a folder link one stylesheet, ``<folder>/fupinsim.css`` (written with them, by
:func:`write_household_cards` and :func:`write_card_page` alike), instead of inlining it: 7 kB of
a card's 13 kB, 90 MB of a run's 12,600 cards.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fupinsim.assess.cards import household_cards
from fupinsim.assess.types import HouseholdCard
from fupinsim.data import COUNTY_IDS
from fupinsim.errors import InputError
from fupinsim.report.cards import CARD_STYLESHEET, household_card_html
from fupinsim.report.naming import card_name
from fupinsim.report.render import stylesheet

if TYPE_CHECKING:  # the pipeline (SciPy, numba, PuLP) is not imported to write cards
    from fupinsim.pipeline import RunTables

__all__ = [
    "CARD_TABLES",
    "CardsWritten",
    "card_name",
    "household_card_ids",
    "write_atomic",
    "write_card_page",
    "write_household_cards",
]

logger = logging.getLogger(__name__)

#: The run tables a card reads (``outputs/<scenario>/tables/<name>``).
CARD_TABLES = (
    "households",
    "villages",
    "household_plans",
    "exit_targets",
    "household_paths",
    "household_cadres",
)


@dataclass(frozen=True)
class CardsWritten:
    """What :func:`write_household_cards` wrote: the folder, the number of cards and seconds."""

    folder: Path
    n_cards: int
    seconds: float


def household_card_ids(households: pd.DataFrame, county: str | None = None) -> list[int]:
    """Registered households of a county (all counties for ``None``), in village order.

    Raises
    ------
    InputError
        ``county`` is not one of the seven county ids.
    """
    if county is not None and county not in COUNTY_IDS:
        raise InputError.single(
            "card --county", county, f"must be a county id: {', '.join(COUNTY_IDS)} (or all)"
        )
    chosen = households[households["is_registered"].astype(bool)]
    if county is not None:
        chosen = chosen[chosen["county_id"].astype(str) == county]
    chosen = chosen.sort_values(["village_id", "household_id"], kind="stable")
    return [int(x) for x in chosen["household_id"]]


#: Fewest households worth a worker of their own.
_MIN_PART = 50

# The tables a forked worker inherits (set in the parent just before the fork).
_SHARED: dict[str, object] = {}


def _card_frames(tables: RunTables | Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables of :data:`CARD_TABLES` that ``tables`` has, by name."""
    if not isinstance(tables, Mapping):  # a RunTables
        return {name: getattr(tables, name) for name in CARD_TABLES}
    return {name: tables[name] for name in CARD_TABLES if name in tables}


def _write_part(ids: Sequence[int]) -> int:
    """Render and write the cards of ``ids`` (in a worker, or in the parent with one worker)."""
    frames: Mapping[str, pd.DataFrame] = _SHARED["frames"]  # type: ignore[assignment]
    folder = Path(str(_SHARED["folder"]))
    scenario = str(_SHARED["scenario"])
    labels: Mapping[str, str] | None = _SHARED.get("labels")  # type: ignore[assignment]
    cards = household_cards(
        ids,
        households=frames["households"],
        villages=frames.get("villages"),
        household_plans=frames.get("household_plans"),
        exit_targets=frames.get("exit_targets"),
        household_results=frames.get("household_paths", frames.get("household")),
        package_labels=labels,
        household_cadres=frames.get("household_cadres"),
    )
    n = 0
    for card in cards:
        page = household_card_html(card, scenario=scenario, css_href=CARD_STYLESHEET)
        write_atomic(folder / card_name(card.household_id), page)
        n += 1
    return n


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) next to ``path`` and rename it into place."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(partial, "wb") as handle:
        handle.write(text.encode("utf-8"))
    os.replace(partial, path)


def _write_stylesheet(folder: Path) -> None:
    """The stylesheet the cards of ``folder`` link (:data:`CARD_STYLESHEET`)."""
    write_atomic(folder / CARD_STYLESHEET, str(stylesheet()).lstrip("\n"))


def write_card_page(folder: str | Path, card: HouseholdCard, *, scenario_id: str = "") -> Path:
    """Write one household's card into ``folder`` (created) with the stylesheet it links: the
    same file as :func:`write_household_cards` writes for the household.

    Returns the card's path, ``<folder>/household_<id>.html``.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    _write_stylesheet(out)
    path = out / card_name(card.household_id)
    page = household_card_html(card, scenario=scenario_id, css_href=CARD_STYLESHEET)
    write_atomic(path, page)
    return path


def write_household_cards(
    tables: RunTables | Mapping[str, pd.DataFrame],
    folder: str | Path,
    *,
    county: str | None = None,
    scenario_id: str = "",
    package_labels: Mapping[str, str] | None = None,
    workers: int = 1,
) -> CardsWritten:
    """Write the card of every registered household of ``county`` (all for ``None``).

    Parameters
    ----------
    tables
        The run's tables, or those of :data:`CARD_TABLES` read from a run folder by name:
        ``households`` (needed), ``villages``, ``household_plans``, ``exit_targets``,
        ``household_paths``, ``household_cadres`` (used when present).
    folder
        Folder of the cards (created).
    county
        County id, or ``None`` for every county.
    scenario_id
        Scenario id shown on each card.
    package_labels
        Readable package names (default: the catalogue's).
    workers
        Processes rendering the cards (forked; ``1`` renders in this process). The files do
        not depend on it.

    Returns
    -------
    CardsWritten
        The folder, the number of cards and the seconds taken.
    """
    start = time.perf_counter()
    frames = _card_frames(tables)
    if frames.get("households") is None:
        raise InputError.single("cards: tables", None, "must include the households table")
    ids = household_card_ids(frames["households"], county)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    _write_stylesheet(out)
    _SHARED.update(frames=frames, folder=str(out), scenario=scenario_id, labels=package_labels)
    try:
        workers = max(1, min(int(workers), len(ids) // _MIN_PART or 1))
        if workers == 1:
            n = _write_part(ids)
        else:
            size = -(-len(ids) // workers)
            parts = [ids[i : i + size] for i in range(0, len(ids), size)]
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                n = sum(pool.map(_write_part, parts))
    finally:
        _SHARED.clear()
    seconds = time.perf_counter() - start
    logger.info("%d household cards written to %s in %.1f s", n, out, seconds)
    return CardsWritten(out, n, seconds)
