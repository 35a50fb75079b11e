"""The "What to do" section (``templates/_what_to_do.html``) of the report and the county guides.

Rendering only: the recommendations and their effects are the run table ``recommendations``
(:mod:`fupinsim.pipeline.recommend`); this module picks a county's rows and lays them out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fupinsim.report.formats import Col
from fupinsim.report.tables import group_text, table_html

__all__ = ["AS_WHOLE_NOTE", "TODO_COLS", "what_to_do"]

#: Footnote ¹ of every table that shows both numbers of a target.
AS_WHOLE_NOTE = (
    "¹ What counts as meeting the target: the plan's number, except where the plan says a "
    "group exits as a whole (100%); there up to {allowance:.0%} of its registered households "
    "may remain and the group still counts as having exited (the {allowance:.0%} allowance, "
    "scenario microsim.as_whole_allowance). Shortfalls, P(met) and the allocation use this "
    "number; the three tables show the plan's."
)

#: Columns of the "What to do" table.
TODO_COLS = (
    Col("group", "Target group", "", "text"),
    Col("year", "Target year", "", "year"),
    Col("action", "What to do", "", "text", 50.0),
    Col("money_yuan", "Money", "wan yuan", "wan"),
    Col("effect_exits", "Effect: more exits", "households (expected)", "num"),
    Col("effect_p_met", "P(met) then", "probability", "share"),
    Col("reason", "Why (from the re-solve)", "", "text", 50.0),
)


def what_to_do(
    recommendations: pd.DataFrame | None, county_id: str | None = None
) -> dict[str, Any] | None:
    """The context of ``_what_to_do.html``: the recommendations of the run, or of one county.

    Returns ``None`` when the run has no ``recommendations`` table (an old run folder, or a
    national run, whose table is not loaded: :meth:`~fupinsim.pipeline.results.RunTables.table`
    gives ``None``), so the section is left out; otherwise ``count``, ``table`` (HTML) and
    ``none_text``.
    """
    if recommendations is None:
        return None
    rows = recommendations.copy()
    if county_id is not None:
        rows = rows[rows["county_id"].astype(str) == county_id]
    rows["group"] = [
        group_text(str(c), str(v)) for c, v in zip(rows["county_id"], rows["villages"], strict=True)
    ]
    where = "this county" if county_id else "the plan"
    return {
        "count": len(rows),
        "table": table_html(rows, TODO_COLS) if len(rows) else "",
        "none_text": f"Nothing to change: every target of {where} is met by the allocation and "
        "no money is left unspent.",
    }
