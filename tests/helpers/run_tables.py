"""A finished run folder's tables as :class:`~fupinsim.pipeline.RunTables` in tests."""

from __future__ import annotations

from pathlib import Path

from fupinsim.io.run import load_run
from fupinsim.pipeline import RunTables

__all__ = ["run_tables"]


def run_tables(folder: str | Path) -> RunTables:
    """:func:`fupinsim.io.run.load_run` of ``folder`` as a ``RunTables`` (whether ``load_run``
    returns one or, as before issue 9, the tables by name)."""
    loaded = load_run(folder)
    return loaded if isinstance(loaded, RunTables) else RunTables.from_dict(loaded)
