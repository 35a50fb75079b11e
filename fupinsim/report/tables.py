"""HTML tables: every table of every page goes through :func:`render_table` (``table.html``).

:func:`table_html` shows a DataFrame with a header, a units row and formatted numbers;
:func:`wide_table_html` a county-year table as one row per target group and a block of columns
per year; :func:`simple_table` a few rows of ready text (cards and files).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from markupsafe import Markup

from fupinsim.assess import CITY_ID
from fupinsim.assess.display import group_text
from fupinsim.assess.labels import zh_words
from fupinsim.report.formats import TABLE_SPECS, Col, format_value, is_missing
from fupinsim.report.render import render

__all__ = [
    "Cell",
    "HeadCell",
    "Row",
    "Table",
    "group_text",
    "money_table",
    "render_table",
    "simple_table",
    "table_html",
    "wide_table_html",
]


@dataclass(frozen=True)
class HeadCell:
    """A header cell: text, optional unit (shown under it), row and column span, class, and
    the Chinese header (shown first, the English ``text`` under it)."""

    text: Any
    unit: str | None = None
    rowspan: int | None = None
    colspan: int | None = None
    css: str = ""
    zh: str = ""


@dataclass(frozen=True)
class Cell:
    """A body cell: its text (escaped when rendered) and class."""

    text: Any
    css: str = ""


@dataclass(frozen=True)
class Row:
    """A table row of cells (``HeadCell`` in the head, ``Cell`` in the body) and its class."""

    cells: Sequence[Any]
    css: str = ""


@dataclass(frozen=True)
class Table:
    """A whole table: header rows, body rows, the table's class and caption."""

    head: Sequence[Row]
    body: Sequence[Row] = field(default_factory=list)
    css: str = ""
    caption: str = ""


def column_zh(name: str) -> str:
    """Chinese header of a column (``labels.yaml`` ``zh.columns``), ``""`` if it has none."""
    return zh_words("columns").get(name, "")


def head_cell(c: Col, **kwargs: Any) -> HeadCell:
    """The header cell of a column: English header, unit and the Chinese header."""
    return HeadCell(c.header, zh=column_zh(c.name), **kwargs)


def _printed(value: Any) -> str:
    """A value as the templates print it (``render._finalize``): escaped as
    :func:`html.escape` does, HTML (``Markup``) as it is."""
    return str(value) if isinstance(value, Markup) else html.escape(str(value), quote=True)


def _body_html(rows: Sequence[Row]) -> Markup:
    """The body rows as ``<tr>``/``<td>`` HTML: the bytes the template's loop over every cell
    printed (``<tr class="…">``, ``<td class="…">text</td>``), built without it (≈ 10⁵ cells a
    run in the county guides)."""
    parts: list[str] = []
    for row in rows:
        parts.append(f'<tr class="{_printed(row.css)}">' if row.css else "<tr>")
        for cell in row.cells:
            parts.append(f'<td class="{_printed(cell.css)}">' if cell.css else "<td>")
            parts.append(_printed(cell.text))
            parts.append("</td>")
        parts.append("</tr>")
    return Markup("".join(parts))


def render_table(table: Table) -> Markup:
    """A :class:`Table` as HTML (``templates/table.html``; the body rows by :func:`_body_html`)."""
    return Markup(render("table.html", table=table, body=_body_html(table.body)))


#: Columns of running text: given room so that rows do not grow tall and narrow.
_LONG_TEXT = frozenset(
    {
        "gaps",
        "projects",
        "works",
        "message",
        "responsible",
        "rating_note",
        "target",
        "title",
        "time_limit",
        "dominant_label",
        "package",
        "work",
    }
)


def _low_class(value: Any, low: float) -> list[str]:
    """``low`` (below 50 %) or ``mid`` (below ``low``) for a probability cell."""
    if float(value) < 0.5:
        return ["low"]
    return ["mid"] if float(value) < low else []


def _cell_classes(c: Col, value: Any, first: bool, low: float | None, low_column: str) -> list[str]:
    classes = []
    if c.kind not in ("text", "group", "bool", "html") and not c.kind.startswith("code:"):
        classes.append("num")
    if low is not None and c.name == low_column and not is_missing(value):
        classes += _low_class(value, low)
    if c.kind == "text" and (first or c.name in ("group", "rating")):
        classes.append("name")
    elif c.name in _LONG_TEXT:
        classes.append("long")
    if c.name == "rating" and not is_missing(value):
        classes.append("rating-good" if value == "good" else "rating-not-good")
    return classes


def table_html(
    frame: pd.DataFrame,
    columns: Sequence[Col],
    *,
    caption: str = "",
    units: bool = True,
    low: float | None = None,
    low_column: str = "p_met",
    lang: str = "bi",
    css: str = "",
) -> Markup:
    """A DataFrame as an HTML table with headers, a units row and formatted numbers.

    Parameters
    ----------
    frame
        Rows to show (missing columns are skipped).
    columns
        How to show each column.
    caption
        Table caption (HTML-escaped).
    units
        Add the units row.
    low
        Cells of ``low_column`` below this are highlighted (e.g. the required confidence).
    low_column
        Column checked against ``low``.
    lang
        Language of words in cells (``bi``, ``zh``, ``en``; see :func:`format_value`).
        Headers are always Chinese (where ``labels.yaml`` has one) over English.
    css
        Class of the table.
    """
    cols = [c for c in columns if c.name in frame.columns]
    head = [Row([head_cell(c) for c in cols])]
    if units and any(c.unit for c in cols):
        head.append(Row([HeadCell(c.unit) for c in cols], "units"))
    totals = (
        (frame["county_id"].astype(str) == CITY_ID).to_numpy()
        if "county_id" in frame
        else [False] * len(frame)
    )
    # The rows' values as ``DataFrame.iterrows`` gives them (one array of the frame's common
    # dtype, so the cells are byte for byte the same), without building a Series per row.
    values = frame.to_numpy()
    where = [frame.columns.get_loc(c.name) for c in cols]
    body = []
    for position, row in enumerate(values):
        cells = [
            Cell(
                format_value(row[k], c.kind, lang),
                " ".join(_cell_classes(c, row[k], c is cols[0], low, low_column)),
            )
            for k, c in zip(where, cols, strict=True)
        ]
        body.append(Row(cells, "total" if bool(totals[position]) else ""))
    return render_table(Table(head, body, css=css, caption=caption))


def _year_cells(
    row: Any,
    per_year: Sequence[Col],
    low: float | None,
    low_column: str,
    below: tuple[str, str] | None,
) -> list[Cell]:
    """One year's block of cells of a wide table (``row`` is ``None`` for a missing year)."""
    cells = []
    for k, c in enumerate(per_year):
        value: Any = None if row is None else row[c.name]
        classes = ["num"] + (["yearstart"] if k == 0 else [])
        if low is not None and c.name == low_column and not is_missing(value):
            classes += _low_class(value, low)
        if (
            below is not None
            and row is not None
            and c.name == below[0]
            and not is_missing(value)
            and not is_missing(row[below[1]])
            and float(value) < float(row[below[1]])
        ):
            classes.append("mid")
        cells.append(Cell(format_value(value, c.kind), " ".join(classes)))
    return cells


def wide_table_html(
    frame: pd.DataFrame,
    *,
    leading: Sequence[Col],
    per_year: Sequence[Col],
    low: float | None = None,
    low_column: str = "p_met",
    below: tuple[str, str] | None = None,
    years: Sequence[int] | None = None,
) -> Markup:
    """A county-year table as one row per target group and a block of columns per year.

    Parameters
    ----------
    frame
        Long table with ``county_id, villages, year`` and the columns named in ``leading`` and
        ``per_year`` (rows in display order).
    leading
        Columns shown once per group (from the group's first row).
    per_year
        Columns repeated for each year.
    low, low_column
        Highlight ``low_column`` cells below ``low`` (and below 50 % in red).
    below
        ``(value, reference)``: highlight ``value`` cells below the ``reference`` column.
    years
        Years shown (default: all in ``frame``).
    """
    years = sorted(int(y) for y in frame["year"].unique()) if years is None else list(years)
    keys = list(
        dict.fromkeys(
            zip(frame["county_id"].astype(str), frame["villages"].astype(str), strict=True)
        )
    )
    top = [
        HeadCell("Target group", rowspan=2, zh=column_zh("group")),
        *[head_cell(c, unit=c.unit, rowspan=2) for c in leading],
        *[HeadCell(y, colspan=len(per_year), css="year") for y in years],
    ]
    second = [head_cell(c, unit=c.unit) for _ in years for c in per_year]
    body = []
    for county, villages in keys:
        part = frame[
            (frame["county_id"].astype(str) == county) & (frame["villages"].astype(str) == villages)
        ]
        by_year = {int(r["year"]): r for _, r in part.iterrows()}
        first = part.iloc[0]
        cells = [Cell(group_text(county, villages), "name")]
        cells += [Cell(format_value(first[c.name], c.kind), "num") for c in leading]
        for year in years:
            cells += _year_cells(by_year.get(year), per_year, low, low_column, below)
        body.append(Row(cells, "total" if county == CITY_ID else ""))
    return render_table(Table([Row(top), Row(second)], body, css="wide"))


def simple_table(
    headers: Sequence[str | tuple[str, str]], rows: Sequence[Sequence[Any]], num: Sequence[bool]
) -> Markup:
    """Rows of ready values under plain headers (English, or ``(English, Chinese)``); ``num``
    marks the right-aligned columns."""
    body = [
        Row([Cell(v, "num" if is_num else "") for v, is_num in zip(row, num, strict=True)])
        for row in rows
    ]
    head = [HeadCell(h) if isinstance(h, str) else HeadCell(h[0], zh=h[1]) for h in headers]
    return render_table(Table([Row(head)], body))


def money_table(money: pd.DataFrame) -> Markup:
    """Money by source (rows) and year (columns) in wan yuan, with totals."""
    if money is None or money.empty:
        return Markup('<p class="note">No funding table.</p>')
    frame = money.copy()
    frame.columns = [str(c) for c in frame.columns]
    frame["total"] = frame.sum(axis=1)
    frame = frame[frame["total"] != 0].reset_index()  # sources with no money: left out
    total_row = frame.drop(columns="source").sum().to_dict()
    total_row["source"] = f"{zh_words('words')['total']} Total"
    frame = pd.concat([frame, pd.DataFrame([total_row])], ignore_index=True)
    cols = [Col("source", "Source", "", "text")] + [
        Col(c, c if c != "total" else "All years", "wan yuan", "wan")
        for c in frame.columns
        if c != "source"
    ]
    return table_html(frame, cols)


_INCOME_WIDE = (
    Col("goal_income_pc", "Goal", "yuan pp", "num"),
    Col("projected_p50", "Median", "yuan pp", "num"),
)
_TASK_WIDE = (
    Col("target_text", "Target ¹", "households", "text"),
    Col("projected_exits_mean", "Projected", "mean", "num"),
    Col("p_met", "P(met)", "", "share"),
)


def income_wide(frame: pd.DataFrame) -> Markup:
    """Income goals and projected medians by year, for the years the plan sets a goal (to
    2017; later years are in the workbook)."""
    with_goal = frame.loc[frame["goal_income_pc"].notna(), "year"]
    return wide_table_html(
        frame,
        leading=(Col("base_income_pc", "2014 income", "yuan per person", "num"),),
        per_year=_INCOME_WIDE,
        below=("projected_p50", "goal_income_pc"),
        years=sorted(int(y) for y in with_goal.unique()) if len(with_goal) else None,
    )


def with_target_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``target_text``: the plan's target, and in brackets what counts as meeting
    it where that differs (``1,900 (1,843 ¹)``; footnote ¹ explains the 3% allowance)."""
    out = frame.copy()
    plan = out["target_exits"].astype(float)
    met = out["required_exits"].astype(float) if "required_exits" in out else plan
    out["target_text"] = [
        "—" if pd.isna(p) else f"{p:,.0f}" if pd.isna(m) or m == p else f"{p:,.0f} ({m:,.0f} ¹)"
        for p, m in zip(plan, met, strict=True)
    ]
    return out


def compact_table(name: str, frame: pd.DataFrame, required: float) -> Markup:
    """The report's view of one of the three tables (the workbook has every column)."""
    if name == "reduction_tasks":
        return wide_table_html(
            with_target_text(frame),
            leading=(Col("n_registered", "Registered", "households 2014", "int"),),
            per_year=_TASK_WIDE,
            low=required,
        )
    if name == "income_targets":
        return income_wide(frame)
    shown = frame.copy()
    shown["group"] = [
        f"{group_text(c, 'all').removesuffix(' (total)')} · {v} villages"
        for c, v in zip(shown["county_id"].astype(str), shown["villages"].astype(str), strict=True)
    ]
    columns = (
        Col("group", "County and villages", "", "text"),
        *[
            c
            for c in TABLE_SPECS[name].columns
            if c.name not in ("county", "county_zh", "villages")
        ],
    )
    return table_html(shown, columns)
