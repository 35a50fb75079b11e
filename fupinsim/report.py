"""Reports in memory: the three-tables workbook and self-contained HTML pages.

Nothing here writes a file: functions return an :class:`openpyxl.Workbook` or an HTML string,
and :mod:`fupinsim.io.report_files` saves them. Every HTML page is self-contained (inline CSS,
figures embedded as ``data:`` PNG, no scripts, fonts or stylesheets from elsewhere), opens in a
browser without a server, and is well-formed XML-compatible HTML5 (void elements closed, no
named entities other than XML's), so tests can parse it strictly.

Pages:

* :func:`report_html` — the scenario report (headline box first, then the fan chart, then the
  tables and the other figures);
* :func:`county_guide_html` — "one guide" per county (§26);
* :func:`announcement_html` — the public announcement (§17), printable;
* :func:`household_card_html` / :func:`village_file_html` — "five clarifications" (§3) and
  "five things" (§4);
* :func:`comparison_html` — all scenarios side by side.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from fupinsim import __version__
from fupinsim.assess import (
    CITY_ID,
    FIVE_CLARIFICATIONS,
    FIVE_THINGS,
    county_label,
    group_label,
)
from fupinsim.units import YUAN_PER_WAN

__all__ = [
    "TABLE_SPECS",
    "Col",
    "TableSpec",
    "announcement_html",
    "comparison_html",
    "county_guide_html",
    "figure_data_uri",
    "format_value",
    "household_card_html",
    "png_data_uri",
    "report_html",
    "table_html",
    "three_tables_workbook",
    "village_file_html",
    "wide_table_html",
]


# ----------------------------------------------------------------------------------------------
# Column formats shared by the workbook and the HTML tables


@dataclass(frozen=True)
class Col:
    """How one column is shown.

    Attributes
    ----------
    name:
        Column of the DataFrame.
    header:
        Header text.
    unit:
        Unit shown under the header.
    kind:
        ``text``, ``int`` (whole number), ``num`` (rounded to whole), ``wan`` (yuan shown in
        wan yuan, one decimal), ``share`` (0-1 shown as percent), ``year``, ``bool`` (yes/no),
        ``group`` (village group in words).
    width:
        Excel column width (characters).
    """

    name: str
    header: str
    unit: str = ""
    kind: str = "text"
    width: float = 12.0


@dataclass(frozen=True)
class TableSpec:
    """A table's titles, note and columns (one workbook sheet, one HTML table)."""

    sheet: str
    title: str
    title_zh: str
    note: str
    columns: tuple[Col, ...]


_NAME_COLS = (
    Col("county", "County", "", "text", 30),
    Col("county_zh", "县区", "", "text", 16),
    Col("villages", "Village type", "", "group", 14),
)
_EXCEL_FORMATS = {
    "int": "#,##0",
    "num": "#,##0",
    "wan": "#,##0.0",
    "share": "0.0%",
    "year": "0",
}

#: The plan's three tables (§26), as sheets and HTML tables.
TABLE_SPECS: dict[str, TableSpec] = {
    "poor_distribution": TableSpec(
        "1 Poor distribution",
        "Table 1. Distribution of poor villages and poor population",
        "贫困村和贫困人口分布表",
        "Registry, base year 2014. Poor households = registered poor households (files and "
        "cards); incidence = people in registered households / residents. Development / social "
        "security: support class of plan §25.",
        (
            *_NAME_COLS,
            Col("n_villages", "Villages", "villages", "int"),
            Col("n_poor_villages", "Poor villages", "villages", "int"),
            Col("n_households", "Households", "households", "int"),
            Col("population", "Residents", "people", "int"),
            Col("n_poor_households", "Poor households", "households", "int", 13),
            Col("n_poor_people", "Poor people", "people", "int"),
            Col("poverty_incidence", "Poverty incidence", "share of residents", "share", 13),
            Col("n_development", "Development support", "households", "int", 13),
            Col("n_social_security", "Social security cover", "households", "int", 14),
        ),
    ),
    "income_targets": TableSpec(
        "2 Income targets",
        "Table 2. Target table of per-capita net income of poor households",
        "农民人均纯收入目标表",
        "Mean per-capita net income of registered poor households. Goal: double the 2014 level "
        "by 2017 (plan §2: stated for immigrants, applied to every group as the city's "
        "reference; no goal after 2017). Projection: median and 5-95% range over Monte Carlo "
        "replications.",
        (
            *_NAME_COLS,
            Col("year", "Year", "", "year", 7),
            Col("base_income_pc", "2014 income", "yuan per person per year", "num", 14),
            Col("goal_income_pc", "Goal", "yuan per person per year", "num", 14),
            Col("poverty_line_pc", "Poverty line", "yuan per person per year", "num", 14),
            Col("projected_p05", "Projected, 5%", "yuan per person per year", "num", 14),
            Col("projected_p50", "Projected, median", "yuan per person per year", "num", 14),
            Col("projected_p95", "Projected, 95%", "yuan per person per year", "num", 14),
            Col("growth_p50", "Growth since 2014 (median)", "share", "share", 14),
            Col("p50_meets_goal", "Median meets goal", "yes / no", "bool", 11),
        ),
    ),
    "reduction_tasks": TableSpec(
        "3 Reduction tasks",
        "Table 3. Poverty-reduction task table",
        "减贫任务表",
        "Cumulative exits of registered poor households by the end of each year. Target: plan §2 "
        "schedule. Planned: exits the allocation plans for. Projected: Monte Carlo of the plan. "
        "P(target met): share of replications reaching the target. City rows sum households "
        "and money; probabilities do not add.",
        (
            *_NAME_COLS,
            Col("year", "Year", "", "year", 7),
            Col("n_registered", "Registered 2014", "households", "int", 12),
            Col("target_share", "Target share", "cumulative share", "share", 10),
            Col("target_exits", "Target exits", "households, cumulative", "int", 12),
            Col("target_exits_in_year", "Target in the year", "households", "int", 11),
            Col("planned_exits", "Planned exits", "households, cumulative", "int", 12),
            Col("missing_exits", "Missing exits", "households", "int", 10),
            Col("extra_yuan_to_close", "Money to close", "wan yuan", "wan", 11),
            Col(
                "projected_exits_mean",
                "Projected exits (mean)",
                "households, cumulative",
                "num",
                13,
            ),
            Col("projected_exits_p05", "Projected, 5%", "households", "num", 11),
            Col("projected_exits_p95", "Projected, 95%", "households", "num", 11),
            Col("p_met", "P(target met)", "probability", "share", 11),
        ),
    ),
}
_GROUP_WORDS = {"all": "all", "immigrant": "immigrant", "old": "old"}


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell_value(value: Any, kind: str) -> Any:
    """Value written to an Excel cell (numbers stay numbers; wan divided by 10,000)."""
    if _is_missing(value):
        return None
    converters: dict[str, Any] = {
        "wan": lambda v: float(v) / YUAN_PER_WAN,
        "int": lambda v: round(float(v)),
        "year": lambda v: round(float(v)),
        "num": float,
        "share": float,
        "bool": lambda v: "yes" if bool(v) else "no",
        "group": lambda v: _GROUP_WORDS.get(str(v), str(v)),
    }
    return converters.get(kind, str)(value)


def _share_text(value: float) -> str:
    if value == 0.0:
        return "0%"
    return f"{value:.0%}" if abs(value) >= 0.1 else f"{value:.1%}"


def format_value(value: Any, kind: str) -> str:
    """Text of a value in an HTML table (``—`` when missing)."""
    if _is_missing(value):
        return "—"
    formatters: dict[str, Any] = {
        "int": lambda v: f"{float(v):,.0f}",
        "num": lambda v: f"{float(v):,.0f}",
        "wan": lambda v: f"{float(v) / YUAN_PER_WAN:,.1f}",
        "share": lambda v: _share_text(float(v)),
        "year": lambda v: str(int(v)),
        "bool": lambda v: "yes" if bool(v) else "no",
        "group": lambda v: _GROUP_WORDS.get(str(v), str(v)),
    }
    return str(formatters.get(kind, str)(value))


# ----------------------------------------------------------------------------------------------
# Workbook


_HEADER_FILL = PatternFill("solid", fgColor="1F3B73")
_UNIT_FILL = PatternFill("solid", fgColor="E8EDF5")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="BFBFBF")


def _write_sheet(book: Workbook, spec: TableSpec, frame: pd.DataFrame, scenario: str) -> None:
    sheet = book.create_sheet(spec.sheet)
    columns = [c for c in spec.columns if c.name in frame.columns]
    n = len(columns)
    sheet.cell(1, 1, f"{spec.title} ({spec.title_zh})").font = Font(bold=True, size=14)
    sheet.cell(2, 1, f"Scenario: {scenario}").font = Font(italic=True, color="555555")
    note = sheet.cell(3, 1, spec.note)
    note.font = Font(color="555555", size=9)
    note.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(start_row=3, start_column=1, end_row=3, end_column=max(n, 1))
    sheet.row_dimensions[3].height = 42
    header_row, unit_row = 5, 6
    for j, col in enumerate(columns, start=1):
        head = sheet.cell(header_row, j, col.header)
        head.font = Font(bold=True, color="FFFFFF")
        head.fill = _HEADER_FILL
        head.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        unit = sheet.cell(unit_row, j, col.unit)
        unit.font = Font(italic=True, size=9, color="333333")
        unit.fill = _UNIT_FILL
        unit.alignment = Alignment(wrap_text=True, horizontal="center")
        sheet.column_dimensions[get_column_letter(j)].width = col.width
    sheet.row_dimensions[header_row].height = 32
    sheet.row_dimensions[unit_row].height = 26
    is_total = (
        frame["county_id"].astype(str) == CITY_ID
        if "county_id" in frame
        else pd.Series(False, index=frame.index)
    )
    totals = is_total.to_numpy()
    for i, (position, (_, row)) in enumerate(enumerate(frame.iterrows()), start=unit_row + 1):
        total = bool(totals[position])
        for j, col in enumerate(columns, start=1):
            cell = sheet.cell(i, j, _cell_value(row[col.name], col.kind))
            if col.kind in _EXCEL_FORMATS:
                cell.number_format = _EXCEL_FORMATS[col.kind]
            cell.border = Border(bottom=_THIN)
            if total:
                cell.font = Font(bold=True)
                cell.fill = _TOTAL_FILL
    first_data = unit_row + 1
    name_cols = sum(1 for c in columns if c.kind in ("text", "group"))
    sheet.freeze_panes = f"{get_column_letter(min(name_cols, 3) + 1)}{first_data}"
    last = unit_row + len(frame)
    if n and len(frame):
        sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(n)}{last}"
    sheet.sheet_view.zoomScale = 100
    sheet.print_title_rows = f"{header_row}:{unit_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def three_tables_workbook(tables: Mapping[str, pd.DataFrame], *, scenario: str = "") -> Workbook:
    """The three tables as one formatted workbook, one sheet each.

    Each sheet has a title (English and Chinese), the scenario, a note with definitions, a
    header row, a units row, number formats (thousands separators, percent, wan yuan), frozen
    panes below the headers and right of the names, an autofilter, column widths, bold city
    totals, and print settings (landscape, fit to width, headers repeated).

    Parameters
    ----------
    tables
        :func:`fupinsim.assess.three_tables` output (``poor_distribution``, ``income_targets``,
        ``reduction_tasks``).
    scenario
        Scenario id and title shown on each sheet.

    Returns
    -------
    openpyxl.Workbook
        Sheets ``1 Poor distribution``, ``2 Income targets``, ``3 Reduction tasks``.
    """
    book = Workbook()
    book.remove(book.active)
    for name, spec in TABLE_SPECS.items():
        _write_sheet(book, spec, tables[name], scenario)
    book.properties.title = "Three tables (三表)"
    book.properties.creator = f"fupinsim {__version__}"
    return book


# ----------------------------------------------------------------------------------------------
# HTML building blocks

_CSS = """
:root { --ink: #1f2328; --muted: #5b636e; --line: #d8dee4; --soft: #f6f8fa;
  --blue: #1f3b73; --green: #1a7f37; --amber: #9a6700; --red: #b00020; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei",
  "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; color: var(--ink); margin: 0;
  background: #ffffff; line-height: 1.45; font-size: 15px; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header.top { border-bottom: 3px solid var(--blue); padding-bottom: 10px; margin-bottom: 18px; }
header.top .kicker { color: var(--muted); font-size: 13px; letter-spacing: .04em;
  text-transform: uppercase; }
h1 { font-size: 26px; margin: 4px 0 4px; }
h2 { font-size: 20px; margin: 34px 0 8px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
.zh { color: var(--muted); font-weight: normal; margin-left: .4em; }
.meta { color: var(--muted); font-size: 13px; }
.meta code { font-size: 12px; }
p.lead { font-size: 15px; color: var(--muted); margin: 4px 0 10px; max-width: 70em; }
.headline { border: 1px solid var(--line); border-left: 8px solid var(--muted);
  border-radius: 6px; padding: 16px 20px 18px; background: var(--soft); margin: 8px 0 14px; }
.headline.on-track { border-left-color: var(--green); }
.headline.at-risk { border-left-color: var(--amber); }
.headline.unlikely { border-left-color: var(--red); }
.verdict { font-size: 22px; font-weight: 700; margin: 0 0 12px; }
.on-track .verdict { color: var(--green); }
.at-risk .verdict { color: var(--amber); }
.unlikely .verdict { color: var(--red); }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(175px, 1fr));
  gap: 12px; }
.tile { background: #ffffff; border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; }
.tile .label { color: var(--muted); font-size: 12.5px; text-transform: uppercase;
  letter-spacing: .03em; }
.tile .value { font-size: 26px; font-weight: 700; margin: 2px 0; }
.tile .value .of { font-size: 16px; font-weight: 600; color: var(--muted); }
.tile .sub { color: var(--muted); font-size: 13px; }
.risk-list { margin: 12px 0 0; padding-left: 18px; }
.risk-list li { margin: 2px 0; }
.bad { color: var(--red); font-weight: 600; }
.warn { color: var(--amber); font-weight: 600; }
.good { color: var(--green); font-weight: 600; }
nav.links { display: flex; flex-wrap: wrap; gap: 8px 14px; font-size: 14px;
  margin: 6px 0 4px; }
nav.links a { color: var(--blue); text-decoration: none; border: 1px solid var(--line);
  border-radius: 4px; padding: 3px 8px; background: #ffffff; }
nav.links .label { color: var(--muted); padding: 3px 0; }
figure { margin: 14px 0 22px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13.5px; margin-top: 6px; max-width: 72em; }
.table-wrap { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 13.5px; width: 100%; }
caption { text-align: left; font-weight: 600; padding: 4px 0 6px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--blue); color: #ffffff; font-weight: 600; text-align: center;
  position: sticky; top: 0; }
thead tr.units th { background: #e8edf5; color: #333333; font-weight: normal;
  font-style: italic; font-size: 12px; }
td.name { white-space: nowrap; }
td.long { min-width: 15em; }
th .unit { font-weight: normal; font-style: italic; font-size: 11px; opacity: .85; }
table.wide th.year { border-left: 2px solid #ffffff; }
table.wide td.yearstart { border-left: 2px solid var(--line); }
td.rating-good { color: var(--green); font-weight: 700; }
td.rating-not-good { color: var(--red); font-weight: 700; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; background: var(--soft); }
td.low { background: #fde2e1; color: var(--red); font-weight: 700; }
td.mid { background: #fff4d6; }
.note { color: var(--muted); font-size: 13px; max-width: 75em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.card-section { border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px;
  margin: 12px 0; break-inside: avoid; }
.card-section h2 { margin-top: 4px; border: none; font-size: 18px; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; border-top: 1px solid var(--line);
  padding-top: 8px; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .noprint { display: none; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  thead th { position: static; }
  a { color: inherit; text-decoration: none; }
  figure, .card-section, .headline { break-inside: avoid; }
}
"""
_PRINT_CSS = """
@page { size: A4; margin: 14mm 12mm; }
section.county { break-before: page; }
section.county:first-of-type { break-before: auto; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def figure_data_uri(fig: Figure, *, dpi: int = 110) -> str:
    """A figure as a ``data:image/png;base64,…`` URI (rendered in memory)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return png_data_uri(buffer.getvalue())


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,…`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


#: Screen size of a figure inch in the HTML pages (CSS pixels), so that every figure's text
#: shows at the same size whatever the figure's size (wide figures shrink to the page).
_PX_PER_INCH = 92


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _png_dpi(png: bytes) -> float:
    """Resolution stored in a PNG's pHYs chunk (matplotlib writes it), else 100."""
    index = png.find(b"pHYs")
    if index < 0:
        return 100.0
    per_metre = int.from_bytes(png[index + 4 : index + 8], "big")
    return per_metre * 0.0254 if per_metre else 100.0


def _figure_html(fig: Figure | bytes | None, caption: str, alt: str) -> str:
    """A figure (or PNG bytes already rendered) embedded with its caption."""
    if fig is None:
        return ""
    if isinstance(fig, bytes):
        png = fig
    else:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, facecolor="white")
        png = buffer.getvalue()
    width = round(_png_size(png)[0] / _png_dpi(png) * _PX_PER_INCH)
    return (
        f'<figure><img src="{png_data_uri(png)}" alt="{_e(alt)}" width="{width}"/>'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _page(title: str, body: str, *, extra_css: str = "", lang: str = "en") -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>{_e(title)}</title><style>{_CSS}{extra_css}</style></head>"
        f"<body><main>{body}"
        f"<footer>Made by fupinsim {_e(__version__)}. Figures and tables are model results "
        "for planning, not official statistics.</footer></main></body></html>\n"
    )


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


def table_html(
    frame: pd.DataFrame,
    columns: Sequence[Col],
    *,
    caption: str = "",
    units: bool = True,
    low: float | None = None,
    low_column: str = "p_met",
) -> str:
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
    """
    cols = [c for c in columns if c.name in frame.columns]
    head = "".join(f"<th>{_e(c.header)}</th>" for c in cols)
    unit_row = (
        '<tr class="units">' + "".join(f"<th>{_e(c.unit)}</th>" for c in cols) + "</tr>"
        if units and any(c.unit for c in cols)
        else ""
    )
    body = []
    total_mask = (
        frame["county_id"].astype(str) == CITY_ID
        if "county_id" in frame
        else pd.Series(False, index=frame.index)
    )
    totals = total_mask.to_numpy()
    for position, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for c in cols:
            value = row[c.name]
            classes = []
            if c.kind not in ("text", "group", "bool"):
                classes.append("num")
            if low is not None and c.name == low_column and not _is_missing(value):
                if float(value) < 0.5:
                    classes.append("low")
                elif float(value) < low:
                    classes.append("mid")
            if c.kind == "text" and (c is cols[0] or c.name in ("group", "rating")):
                classes.append("name")
            elif c.name in _LONG_TEXT:
                classes.append("long")
            if c.name == "rating" and not _is_missing(value):
                classes.append("rating-good" if value == "good" else "rating-not-good")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{_e(format_value(value, c.kind))}</td>")
        cls = ' class="total"' if bool(totals[position]) else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr>{unit_row}</thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _group_text(county_id: str, villages: str) -> str:
    """``'Guazhou 瓜州县 · immigrant villages'``; the city row ``'Jiuquan 酒泉市 (total)'``."""
    if county_id == CITY_ID:
        return f"Jiuquan {county_label(CITY_ID, chinese=True)} (total)"
    name = f"{county_label(county_id, short=True)} {county_label(county_id, chinese=True)}"
    return name if villages == "all" else f"{name} · {villages} villages"


def wide_table_html(
    frame: pd.DataFrame,
    *,
    leading: Sequence[Col],
    per_year: Sequence[Col],
    low: float | None = None,
    low_column: str = "p_met",
    below: tuple[str, str] | None = None,
    years: Sequence[int] | None = None,
) -> str:
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
    top = (
        ['<th rowspan="2">Target group</th>']
        + [
            f'<th rowspan="2">{_e(c.header)}<br/><span class="unit">{_e(c.unit)}</span></th>'
            for c in leading
        ]
        + [f'<th colspan="{len(per_year)}" class="year">{y}</th>' for y in years]
    )
    second = [
        f'<th>{_e(c.header)}<br/><span class="unit">{_e(c.unit)}</span></th>'
        for _ in years
        for c in per_year
    ]
    rows = []
    for county, villages in keys:
        part = frame[
            (frame["county_id"].astype(str) == county) & (frame["villages"].astype(str) == villages)
        ]
        by_year = {int(r["year"]): r for _, r in part.iterrows()}
        first = part.iloc[0]
        cells = [f'<td class="name">{_e(_group_text(county, villages))}</td>']
        cells += [
            f'<td class="num">{_e(format_value(first[c.name], c.kind))}</td>' for c in leading
        ]
        for year in years:
            row = by_year.get(year)
            for k, c in enumerate(per_year):
                value: Any = None if row is None else row[c.name]
                classes = ["num"] + (["yearstart"] if k == 0 else [])
                if low is not None and c.name == low_column and not _is_missing(value):
                    if float(value) < 0.5:
                        classes.append("low")
                    elif float(value) < low:
                        classes.append("mid")
                if (
                    below is not None
                    and row is not None
                    and c.name == below[0]
                    and not _is_missing(value)
                    and not _is_missing(row[below[1]])
                    and float(value) < float(row[below[1]])
                ):
                    classes.append("mid")
                cells.append(
                    f'<td class="{" ".join(classes)}">{_e(format_value(value, c.kind))}</td>'
                )
        css = ' class="total"' if county == CITY_ID else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return (
        '<div class="table-wrap"><table class="wide"><thead>'
        f"<tr>{''.join(top)}</tr><tr>{''.join(second)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _wan_text(yuan: float) -> str:
    if _is_missing(yuan):
        return "—"
    return f"{yuan / YUAN_PER_WAN:,.1f} 万元"


def _wan_number(yuan: float) -> str:
    return "—" if _is_missing(yuan) else f"{yuan / YUAN_PER_WAN:,.1f}"


def _tile(label: str, value: str, sub: str = "") -> str:
    sub_html = f'<div class="sub">{sub}</div>' if sub else ""
    return (
        f'<div class="tile"><div class="label">{_e(label)}</div>'
        f'<div class="value">{value}</div>{sub_html}</div>'
    )


def _links_html(links: Mapping[str, str], label: str = "") -> str:
    if not links:
        return ""
    items = "".join(f'<a href="{_e(href)}">{_e(text)}</a>' for text, href in links.items())
    head = f'<span class="label">{_e(label)}</span>' if label else ""
    return f'<nav class="links noprint">{head}{items}</nav>'


# ----------------------------------------------------------------------------------------------
# Scenario report


_ASSESSMENT_COLS = (
    Col("rank", "Rank", "", "int"),
    Col("group", "County", "", "text"),
    Col("score", "Score", "points 0-100", "num"),
    Col("growth_households", "Income growth, poor households", "share per year", "share"),
    Col("growth_villages", "Income growth, villages", "share per year", "share"),
    Col("share_targets_met_expected", "Targets met on schedule (expected)", "share", "share"),
    Col("n_targets_missed", "Targets missed", "targets", "int"),
    Col("rating", "Rating", "", "text"),
    Col("rating_note", "Why", "", "text"),
)


def _headline_html(summary: Mapping[str, Any]) -> str:
    verdict = str(summary.get("verdict", ""))
    css = {"on track": "on-track", "at risk": "at-risk", "unlikely": "unlikely"}.get(verdict, "")
    final = summary.get("final_year", "")
    p_all = float(summary.get("p_all_targets_met", math.nan))
    approx = str(summary.get("p_all_method", "")).startswith("approximate")
    target = float(summary.get("target_exits", math.nan))
    projected = float(summary.get("projected_exits_mean", math.nan))
    available = float(summary.get("money_available_yuan", math.nan))
    allocated = float(summary.get("money_allocated_yuan", math.nan))
    missing = float(summary.get("money_missing_yuan", 0.0) or 0.0)
    needed = allocated + missing if not math.isnan(allocated) else math.nan
    title = {
        "on track": f"On track: the {final} targets will very likely be met",
        "at risk": f"At risk: the {final} targets may not all be met",
        "unlikely": f"Unlikely: the {final} targets will probably not all be met",
    }.get(verdict, str(summary.get("verdict_text", "")))
    p_class = "good" if verdict == "on track" else ("warn" if verdict == "at risk" else "bad")
    tiles = [
        _tile(
            "P(all targets met)",
            f'<span class="{p_class}">{"≈ " if approx else ""}{p_all:.0%}</span>',
            f"required {float(summary.get('required_confidence', 0.9)):.0%}"
            + ("; approximate (from each target's probability)" if approx else "")
            + (
                f"; the {final} targets alone: {float(summary['p_final_targets_met']):.0%}"
                if summary.get("p_final_targets_met") is not None
                else ""
            ),
        ),
        _tile(
            f"Households exiting by {final}",
            f"{projected:,.0f}",
            f"of {target:,.0f} targeted ({projected / target:.1%})" if target else "",
        ),
        _tile(
            "Money needed vs available, 万元",
            f'{_wan_number(needed)} <span class="of">of {_wan_number(available)}</span>',
            f"the plan spends {_wan_number(allocated)}"
            + (
                f"; {_wan_number(missing)} more would close the shortfalls"
                if missing > 0
                else (
                    "; more money would not close the shortfalls"
                    if int(summary.get("targets_money_cannot_close", 0) or 0)
                    else "; no shortfall"
                )
            )
            + " (fiscal money, 万元 = 10,000 yuan)",
        ),
        _tile(
            "Target groups at risk",
            f"{len(summary.get('at_risk', []))}",
            "P(met) below the required confidence in some year",
        ),
    ]
    risks = summary.get("at_risk", [])
    risk_html = ""
    if risks:
        items = "".join(
            f'<li><span class="{"bad" if r["p_met"] < 0.5 else "warn"}">{_e(r["label"])}</span>'
            f": {r['year']} target, P(met) {r['p_met']:.0%}</li>"
            for r in risks
        )
        risk_html = f'<ul class="risk-list">{items}</ul>'
    cannot = int(summary.get("targets_money_cannot_close", 0) or 0)
    if cannot:
        risk_html += (
            f'<p class="bad">{cannot} target(s) cannot be met with more money alone: capacities '
            "or what the packages can achieve bind (see Shortfalls).</p>"
        )
    return (
        f'<section class="headline {css}"><div class="verdict">{_e(title)}</div>'
        f'<div class="tiles">{"".join(tiles)}</div>{risk_html}</section>'
    )


_SHORTFALL_COLS = (
    Col("group", "Target group", "", "text"),
    Col("year", "Year", "", "year"),
    Col("target_exits", "Target", "households", "int"),
    Col("projected_exits", "Planned", "households", "num"),
    Col("missing_exits", "Missing", "households", "num"),
    Col("extra_yuan_to_close", "Money to close", "wan yuan", "wan"),
    Col("binding_resource", "What binds", "", "text"),
    Col("message", "Explanation", "", "text"),
)


_FIGURE_CAPTIONS: dict[str, tuple[str, str]] = {
    "fan_remaining": (
        "Registered poor households remaining",
        "Shaded: 5-95% of the Monte Carlo replications; line: median; dashed steps: the most "
        "households the plan's schedule lets remain at the end of each year. A median above "
        "the step is a missed target. Red county names: some target with P(met) below the "
        "required confidence.",
    ),
    "p_met_heatmap": (
        "P(target met)",
        "Share of replications in which the group's cumulative exits reach the target by the "
        "end of the year. Red and orange cells need attention.",
    ),
    "immigrant_income": (
        "Immigrants' income",
        "Mean per-capita net income of immigrant-village households against the plan's two "
        "goals (§2): doubling the 2014 level by 2017 and striving for 9,000 yuan.",
    ),
    "funding": (
        "Funding",
        "Money available by source and year (left) and by pool (right). County money can only "
        "be spent in its county; city money anywhere. Diamonds: fiscal money the plan spends.",
    ),
    "allocation": (
        "Allocation",
        "Households given each package and the fiscal money it costs, by county.",
    ),
    "shortfalls": (
        "Shortfalls",
        "Exits the allocation cannot reach within the money and capacities, and the extra "
        "money that would close each gap (from the model's duals).",
    ),
    "industrial_map": (
        "Picture 1: industrial project layout",
        "Which packages go where: each dot is a village with supported households, coloured by "
        "its most common package. Schematic positions.",
    ),
    "infrastructure_map": (
        "Picture 2: infrastructure layout",
        "Village infrastructure gaps the plan requires closing by 2017 (§6(5), §7, §9, §10, "
        "§12). Schematic positions.",
    ),
}


_TASK_WIDE = (
    Col("target_exits", "Target", "households", "int"),
    Col("projected_exits_mean", "Projected", "mean", "num"),
    Col("p_met", "P(met)", "", "share"),
)
_INCOME_WIDE = (
    Col("goal_income_pc", "Goal", "yuan pp", "num"),
    Col("projected_p50", "Median", "yuan pp", "num"),
)


def _income_wide(frame: pd.DataFrame) -> str:
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


def _compact_table(name: str, frame: pd.DataFrame, required: float) -> str:
    """The report's view of one of the three tables (the workbook has every column)."""
    if name == "reduction_tasks":
        return wide_table_html(
            frame,
            leading=(Col("n_registered", "Registered", "households 2014", "int"),),
            per_year=_TASK_WIDE,
            low=required,
        )
    if name == "income_targets":
        return _income_wide(frame)
    shown = frame.copy()
    shown["group"] = [
        f"{_group_text(c, 'all').removesuffix(' (total)')} · {v} villages"
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


def report_html(
    *,
    summary: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    figures: Mapping[str, Figure | bytes],
    assessment: pd.DataFrame | None = None,
    links: Mapping[str, str] | None = None,
    guide_links: Mapping[str, str] | None = None,
    manifest: Mapping[str, Any] | None = None,
    shortfall: pd.DataFrame | None = None,
) -> str:
    """The scenario report, one self-contained HTML page.

    Order: headline box (verdict, P(all targets met), households exiting, money needed vs
    available, target groups at risk), links, fan chart, P(met) heatmap, the three tables,
    county assessment, money figures, immigrants' income, the two pictures, notes.

    Parameters
    ----------
    summary
        :func:`fupinsim.assess.scenario_summary` output.
    tables
        The three tables (:func:`fupinsim.assess.three_tables`).
    figures
        Figures by stem (:func:`fupinsim.plots.report_figures`), or their PNG bytes already
        rendered; missing ones are skipped.
    assessment
        :func:`fupinsim.assess.county_assessment` output (the final year is shown).
    links
        Link text → relative href (workbook, announcement, CSV files).
    guide_links
        County name → relative href of its guide.
    manifest
        Run manifest (scenario hash, seed, replications, timings) shown in the header.
    shortfall
        Allocation shortfall (``county_id, villages, year, missing_exits,
        extra_yuan_to_close`` and, when present, ``binding_resource, message``): missed
        targets are listed under the shortfall figure.
    """
    scenario = str(summary.get("scenario_id", ""))
    title = str(summary.get("title", ""))
    manifest = manifest or {}
    meta_bits = []
    for key, label in (
        ("scenario_hash", "hash"),
        ("seed", "seed"),
        ("replications", "replications"),
        ("created", "run"),
    ):
        if key in manifest:
            meta_bits.append(f"{label} <code>{_e(manifest[key])}</code>")
    meta = f'<div class="meta">{" · ".join(meta_bits)}</div>' if meta_bits else ""
    parts = [
        '<header class="top"><div class="kicker">fupinsim · scenario report · 精准扶贫</div>'
        f"<h1>{_e(scenario)}{' — ' + _e(title) if title else ''}</h1>{meta}</header>",
        _headline_html(summary),
        _links_html(links or {}, "Files:"),
        _links_html(guide_links or {}, "County guides:"),
    ]

    def figure(stem: str) -> str:
        heading, caption = _FIGURE_CAPTIONS.get(stem, (stem, ""))
        return _figure_html(figures.get(stem), _e(caption), heading)

    parts.append("<h2>Will the poor exit on schedule?</h2>")
    parts.append(figure("fan_remaining"))
    parts.append(figure("p_met_heatmap"))
    parts.append('<h2>The three tables <span class="zh">三表</span></h2>')
    required = float(summary.get("required_confidence", 0.9))
    parts.append(
        '<p class="note">Compact views; every column of the three tables is in the workbook '
        "(three_tables.xlsx) and the CSV files.</p>"
    )
    for name in ("reduction_tasks", "income_targets", "poor_distribution"):
        if name not in tables:
            continue
        spec = TABLE_SPECS[name]
        parts.append(f'<h3>{_e(spec.title)} <span class="zh">{_e(spec.title_zh)}</span></h3>')
        parts.append(f'<p class="note">{_e(spec.note)}</p>')
        parts.append(_compact_table(name, tables[name], required))
    if assessment is not None and len(assessment):
        final = int(assessment["year"].max())
        rows = assessment[assessment["year"] == final].sort_values("rank").copy()
        rows["group"] = [_group_text(c, "all") for c in rows["county_id"].astype(str)]
        parts.append(f'<h2>County assessment, {final} <span class="zh">考核</span></h2>')
        parts.append(
            '<p class="note">Score 0-100 = weighted income growth of poor households and of '
            "poor villages (each relative to the plan's 25% a year, capped at 1) and the "
            "expected share of exit targets met on schedule (mean P(met) of the targets due). A "
            "county that misses a target (P(met) below 50%) cannot be rated good (plan §22).</p>"
        )
        parts.append(table_html(rows, _ASSESSMENT_COLS))
    parts.append("<h2>Money</h2>")
    parts += [figure("funding"), figure("allocation"), figure("shortfalls")]
    if shortfall is not None and len(shortfall) and "missing_exits" in shortfall:
        missed = shortfall[shortfall["missing_exits"] > 0].copy()
        if len(missed):
            missed["group"] = [
                _group_text(str(c), str(v))
                for c, v in zip(missed["county_id"], missed["villages"], strict=True)
            ]
            parts.append("<h3>Targets the allocation misses, and why</h3>")
            parts.append(table_html(missed, _SHORTFALL_COLS))
    parts.append("<h2>Income</h2>")
    parts.append(figure("immigrant_income"))
    parts.append('<h2>The two pictures <span class="zh">两图</span></h2>')
    parts += [figure("industrial_map"), figure("infrastructure_map")]
    parts.append(
        '<h2>Notes</h2><p class="note">'
        f"P(all targets met): {_e(summary.get('p_all_method', ''))}. Money missing: for each "
        "target group the largest amount needed to close a year's shortfall, summed over "
        "groups. Exits and targets are registered poor households (plan §2), cumulative by the "
        "end of each year. Money in 万元 (wan yuan, 10,000 yuan), current prices.</p>"
    )
    return _page(f"fupinsim report — {scenario}", "".join(parts))


# ----------------------------------------------------------------------------------------------
# County guide ("one guide")


_VILLAGE_COLS = (
    Col("village_name", "Village", "", "text"),
    Col("is_immigrant", "Immigrant", "", "bool"),
    Col("is_poor_village", "Poor village", "", "bool"),
    Col("n_households", "Households", "households", "int"),
    Col("n_poor_households", "Poor households", "households", "int"),
    Col("n_poor_people", "Poor people", "people", "int"),
    Col("incidence", "Incidence", "share", "share"),
    Col("dominant_label", "Main package", "", "text"),
    Col("n_supported", "Supported", "households", "int"),
    Col("fiscal_yuan", "Fiscal money", "wan yuan", "wan"),
    Col("gaps", "Infrastructure gaps", "", "text"),
    Col("p_exit_final", "P(village exits) 2017", "probability", "share"),
)
_HOUSEHOLD_COLS = (
    Col("household_id", "Household", "id", "text"),
    Col("village_name", "Village", "", "text"),
    Col("n_members", "Members", "people", "int"),
    Col("n_labour", "Labour", "people", "int"),
    Col("main_cause", "Main cause", "", "text"),
    Col("income_pc", "Income 2014", "yuan per person", "num"),
    Col("support_class", "Support class", "", "text"),
    Col("package", "Package", "", "text"),
    Col("start_year", "Start", "year", "year"),
    Col("expected_exit_year", "Expected exit", "year", "year"),
    Col("helper_id", "Helper (cadre)", "id", "text"),
)
_GUIDE_TASK_WIDE = (
    Col("target_exits", "Target", "households", "int"),
    Col("planned_exits", "Planned", "households", "int"),
    Col("p_met", "P(met)", "", "share"),
)


def _measure_cols(measures: pd.DataFrame) -> tuple[Col, ...]:
    years = [c for c in measures.columns if str(c).startswith("households_")]
    return (
        Col("package", "Package", "", "text"),
        Col("sections", "Plan §", "", "text"),
        *[Col(c, f"Start {c.removeprefix('households_')}", "households", "int") for c in years],
        Col("households", "All years", "households", "int"),
        Col("fiscal_yuan", "Fiscal", "wan yuan", "wan"),
        Col("credit_yuan", "Credit", "wan yuan", "wan"),
        Col("household_yuan", "Households' own", "wan yuan", "wan"),
    )


_WORK_COLS = (
    Col("village_name", "Village", "", "text"),
    Col("work", "Work", "", "text"),
    Col("section", "Plan §", "", "text"),
    Col("due_year", "Due by end of", "year", "year"),
    Col("cost_yuan", "Cost (plan)", "wan yuan", "wan"),
    Col("responsible", "Responsible unit (plan)", "", "text"),
)
_PLAN_MEASURE_COLS = (
    Col("section", "§", "", "text"),
    Col("title", "Measure", "", "text"),
    Col("target", "Target", "", "text"),
    Col("responsible", "Responsible unit", "", "text"),
    Col("time_limit", "Time limit", "", "text"),
)


def _money_table(money: pd.DataFrame) -> str:
    """Money by source (rows) and year (columns) in wan yuan, with totals."""
    if money is None or money.empty:
        return '<p class="note">No funding table.</p>'
    frame = money.copy()
    frame.columns = [str(c) for c in frame.columns]
    frame["total"] = frame.sum(axis=1)
    frame = frame[frame["total"] != 0].reset_index()  # sources with no money: left out
    total_row = frame.drop(columns="source").sum().to_dict()
    total_row["source"] = "Total"
    frame = pd.concat([frame, pd.DataFrame([total_row])], ignore_index=True)
    cols = [Col("source", "Source", "", "text")] + [
        Col(c, c if c != "total" else "All years", "wan yuan", "wan")
        for c in frame.columns
        if c != "source"
    ]
    return table_html(frame, cols)


def county_guide_html(
    guide: Mapping[str, Any],
    *,
    scenario: str = "",
    required_confidence: float = 0.9,
    links: Mapping[str, str] | None = None,
) -> str:
    """A county's poverty alleviation guide ("one guide", §26) as a self-contained page.

    Parameters
    ----------
    guide
        :func:`fupinsim.assess.county_guide` output.
    scenario
        Scenario id shown in the header.
    required_confidence
        P(met) under which task rows are highlighted.
    links
        Link text → relative href (back to the report, announcement).
    """
    g = guide
    dist = g["distribution"]
    totals = dist[dist["villages"] == "all"] if len(dist) else dist
    if len(dist) and totals.empty:
        totals = dist
    facts = {
        "Villages": int(totals["n_villages"].sum()) if len(totals) else 0,
        "Poor villages": int(totals["n_poor_villages"].sum()) if len(totals) else 0,
        "Poor households": int(totals["n_poor_households"].sum()) if len(totals) else 0,
        "Poor people": int(totals["n_poor_people"].sum()) if len(totals) else 0,
    }
    tiles = "".join(_tile(k, f"{v:,}") for k, v in facts.items())
    tasks = g["reduction_tasks"]
    if len(tasks):
        worst = tasks.loc[tasks["p_met"].idxmin()]
        tiles += _tile(
            "Lowest P(target met)",
            f'<span class="{"good" if worst["p_met"] >= required_confidence else "bad"}">'
            f"{worst['p_met']:.0%}</span>",
            f"{_e(group_label(g['county_id'], worst['villages']))}, {int(worst['year'])}",
        )
    body = [
        '<header class="top"><div class="kicker">Poverty alleviation guide · 扶贫指南 · '
        f'{_e(scenario)}</div><h1>{_e(g["county"])} <span class="zh">{_e(g["county_zh"])}'
        f'</span></h1><div class="meta">Administrative code {_e(g["admin_code"])}</div>'
        "</header>",
        _links_html(links or {}),
        f'<section class="headline"><div class="tiles">{tiles}</div>'
        f'<dl class="facts"><dt>Strategy (plan §25)</dt><dd>{_e(g["strategy"])}</dd>'
        f"<dt>Who leads (plan §16)</dt><dd>{_e(g['responsible'])}</dd></dl></section>",
        "<h2>1. Targets and tasks by year</h2>",
        '<p class="note">Registered poor households to exit, cumulative by the end of each '
        "year: the plan's target, the exits the allocation plans for, and the probability "
        "that the target is met.</p>",
        wide_table_html(
            tasks,
            leading=(Col("n_registered", "Registered", "households 2014", "int"),),
            per_year=_GUIDE_TASK_WIDE,
            low=required_confidence,
        )
        if len(tasks)
        else "",
        "<h3>Income targets of poor households</h3>",
        _income_wide(g["income_targets"]) if len(g["income_targets"]) else "",
        "<h2>2. Villages</h2>",
        table_html(g["villages"], _VILLAGE_COLS),
        "<h2>3. Planned measures</h2>",
        table_html(g["measures"], _measure_cols(g["measures"]))
        if len(g["measures"])
        else '<p class="note">No packages planned in this county.</p>',
        "<h3>Who is responsible, and by when (as the plan assigns)</h3>",
        table_html(g["measure_units"], _PLAN_MEASURE_COLS, units=False),
        "<h2>4. Money by source and year</h2>",
        '<p class="note">County pool: money raised by the county (it stays in the county). '
        "City pool: municipal money the allocation spends in this county. 万元.</p>",
        _money_table(g["money"]),
        "<h2>5. Village infrastructure works (by 2017)</h2>",
        table_html(g["works"], _WORK_COLS)
        if len(g["works"])
        else '<p class="note">No village infrastructure gaps.</p>',
        f"<h2>6. Poor households ({len(g['households']):,})</h2>",
        table_html(g["households"], _HOUSEHOLD_COLS),
        "<h2>7. Responsible units and time limits of every measure (the plan)</h2>",
        table_html(g["plan_measures"], _PLAN_MEASURE_COLS, units=False),
    ]
    assess_rows = g.get("assessment")
    if assess_rows is not None and len(assess_rows):
        body.append("<h2>8. Assessment (plan §21-22)</h2>")
        body.append(
            table_html(assess_rows, (Col("year", "Year", "", "year"), *_ASSESSMENT_COLS[2:]))
        )
    return _page(f"Guide — {g['county']}", "".join(body))


# ----------------------------------------------------------------------------------------------
# Public announcement (§17)


_ANNOUNCE_TARGET_COLS = (
    Col("villages", "Villages", "", "group"),
    Col("year", "Year", "", "year"),
    Col("target_exits_in_year", "Households to exit in the year", "households", "int"),
    Col("target_exits", "Cumulative", "households", "int"),
)
_ANNOUNCE_PROJECT_COLS = (
    Col("village_name", "Village", "", "text"),
    Col("is_immigrant", "Immigrant village", "", "bool"),
    Col("n_poor_households", "Poor households", "households", "int"),
    Col("projects", "Projects (households supported)", "", "text"),
    Col("households", "Households supported", "households", "int"),
    Col("fiscal_yuan", "Fiscal money", "wan yuan", "wan"),
)
_ANNOUNCE_WORK_COLS = (
    Col("village_name", "Village", "", "text"),
    Col("works", "Works (plan §)", "", "text"),
    Col("due_year", "Due by end of", "year", "year"),
    Col("cost_yuan", "Cost stated by the plan", "wan yuan", "wan"),
)


def announcement_html(
    items: Sequence[Mapping[str, Any]], *, scenario: str = "", period: str = "2015-2017"
) -> str:
    """The public announcement (§17): targets, funds and projects by county and village.

    Printable: A4 pages, one county per page, table headers repeated, links hidden in print.
    Only counts and money are shown, never individual households.

    Parameters
    ----------
    items
        :func:`fupinsim.assess.announcement` output.
    scenario
        Scenario id (the announcement is of a plan scenario).
    period
        Plan period in the title.
    """
    body = [
        '<header class="top"><div class="kicker">Public announcement · 公示公告 · '
        f"{_e(scenario)}</div><h1>Poverty alleviation targets, funds and projects, {_e(period)}"
        '</h1><p class="lead">Announced under plan §17 (county and village announcement '
        "system). Targets are registered poor households to exit; money in 万元 (wan yuan, "
        "10,000 yuan). Objections and suggestions go to the county poverty alleviation office."
        '</p><p class="noprint note">Print with your browser (Ctrl+P): one county per A4 page.'
        "</p></header>"
    ]
    for item in items:
        body.append(
            f'<section class="county"><h2>{_e(item["county"])} '
            f'<span class="zh">{_e(item["county_zh"])}</span></h2>'
            "<h3>Targets: households to exit</h3>"
            + table_html(item["targets"], _ANNOUNCE_TARGET_COLS)
            + "<h3>Funds by source and year</h3>"
            + _money_table(item["money"])
            + "<h3>Projects by village</h3>"
            + (
                table_html(item["village_projects"], _ANNOUNCE_PROJECT_COLS)
                if len(item["village_projects"])
                else '<p class="note">No projects.</p>'
            )
            + "<h3>Village infrastructure works</h3>"
            + (
                table_html(item["village_works"], _ANNOUNCE_WORK_COLS)
                if len(item["village_works"])
                else '<p class="note">No works needed.</p>'
            )
            + "</section>"
        )
    return _page(f"Announcement — {scenario}", "".join(body), extra_css=_PRINT_CSS)


# ----------------------------------------------------------------------------------------------
# Household card and village file


def _facts(pairs: Sequence[tuple[str, str]]) -> str:
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in pairs)
        + "</dl>"
    )


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _simple_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], num: Sequence[bool]
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    num_attr = ' class="num"'
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{num_attr if is_num else ''}>{_e(v)}</td>"
            for v, is_num in zip(row, num, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _section(number: int, heading: str, heading_zh: str, content: str) -> str:
    zh = f' <span class="zh">{_e(heading_zh)}</span>' if heading_zh else ""
    return f'<section class="card-section"><h2>{number}. {_e(heading)}{zh}</h2>{content}</section>'


def household_card_html(card: Mapping[str, Any], *, scenario: str = "") -> str:
    """A household's card, "five clarifications" (§3), as a printable page.

    Parameters
    ----------
    card
        :func:`fupinsim.assess.household_card` output.
    scenario
        Scenario id shown in the header.
    """
    n = card["numbers"]
    students = ", ".join(f"{v} {k}" for k, v in n["students"].items() if v) or "none"
    family = [
        ("Members", f"{n['n_members']}"),
        ("Able-bodied labour (16-65)", f"{n['n_labour']} (working away: {n['n_away']})"),
        ("Students", students),
        ("Elderly (65+)", f"{n['n_elderly']}"),
        ("Disabled / chronically ill", f"{n['n_disabled']} / {n['n_chronic_ill']}"),
        ("Main cause of poverty", n["main_cause"] or "—"),
        (
            "Land, sheep, greenhouses",
            f"{n['land_mu']:,.1f} mu, {n['sheep']} sheep, {n['greenhouses']} greenhouses",
        ),
        ("Housing grade", n["housing_grade"] or "—"),
        ("Safe water / NCMS", f"{_yes(n['has_safe_water'])} / {_yes(n['ncms_enrolled'])}"),
        ("Dibao / wubao", f"{_yes(n['is_dibao'])} / {_yes(n['is_wubao'])}"),
        ("Support class (§25)", (n["support_class"] or "—").replace("_", " ")),
        ("Registered", str(n["registered_year"] or "—")),
    ]
    income_rows = [(label, f"{v:,.0f}") for label, v in n["income_sources"]]
    income_rows.append(("Less production costs", f"−{n['production_cost']:,.0f}"))
    income_rows.append(("Net income", f"{n['net_income_yuan']:,.0f}"))
    gap = n["gap_pc"]
    position = f"{gap:,.0f} yuan below the line" if gap > 0 else f"{-gap:,.0f} yuan above the line"
    numbers_html = (
        _facts(family)
        + f"<h3>Income {n['income_year']} (yuan per household per year)</h3>"
        + _simple_table(["Source", "Yuan"], income_rows, [False, True])
        + _facts(
            [
                ("Per-capita net income", f"{n['income_pc']:,.0f} yuan per person per year"),
                (f"Poverty line {n['income_year']}", f"{n['poverty_line']:,.0f} yuan ({position})"),
            ]
        )
    )
    problems = card["problems"]
    problems_html = (
        "<ul>"
        + "".join(
            f'<li>{_e(p["problem"])} <span class="zh">(plan §{_e(p["section"])})</span></li>'
            for p in problems
        )
        + "</ul>"
        if problems
        else '<p class="note">No problem recorded.</p>'
    )
    c = card["countermeasures"]
    past = "".join(f"<li>{_e(x)}</li>" for x in c["past_support"]) or "<li>none recorded</li>"
    measure_rows = [
        (
            m["label"],
            m["start_year"] or "—",
            f"{m['cost_fiscal_yuan']:,.0f}",
            f"{m['cost_credit_yuan']:,.0f}",
            f"{m['cost_household_yuan']:,.0f}",
            ", ".join(f"§{s}" for s in m["sections"]) or "—",
        )
        for m in c["measures"]
    ]
    measures_html = (
        _simple_table(
            [
                "Package",
                "Start year",
                "Fiscal (yuan)",
                "Credit (yuan)",
                "Household (yuan)",
                "Plan §",
            ],
            measure_rows,
            [False, True, True, True, True, False],
        )
        if measure_rows
        else '<p class="note">No new support planned.</p>'
    )
    counter_html = f"<h3>Past support</h3><ul>{past}</ul><h3>Planned measures</h3>{measures_html}"
    if c["social_security"]:
        counter_html += f"<p>{_e(c['social_security'])}</p>"
    r = card["responsibility"]
    unit_rows = [
        (f"§{u['section']}", u["title"], u["responsible"], u["time_limit"]) for u in r["units"]
    ]
    resp_html = _facts(
        [
            ("Assisting cadre (helper id)", str(r["helper_id"] or "—")),
            ("County leadership (plan §16)", r["county_responsible"] or "—"),
            ("County strategy (plan §25)", r["strategy"] or "—"),
        ]
    ) + _simple_table(
        ["Plan §", "Measure", "Responsible unit", "Time limit"],
        unit_rows,
        [False, False, False, False],
    )
    t = card["tasks"]
    on_schedule = {True: "on schedule", False: "LATER than the deadline", None: "—"}[
        t["on_schedule"]
    ]
    tasks_html = _facts(
        [
            (
                "Expected exit year",
                f"{t['expected_exit_year'] or '—'}"
                + (f" ({t['expected_exit_basis']})" if t.get("expected_exit_basis") else ""),
            ),
            (
                "Expected income 2017",
                f"{t['expected_income_pc_2017']:,.0f} yuan per person"
                if t.get("expected_income_pc_2017") is not None
                else "—",
            ),
            ("Deadline of the target group", f"{t['deadline_year'] or '—'} ({t['target_group']})"),
            ("Status", on_schedule),
        ]
    )
    if t["path"]:
        rows = [
            (
                p["year"],
                f"{p['income_pc_mean']:,.0f}",
                f"{p['poverty_line']:,.0f}",
                f"{p['p_exited']:.0%}",
            )
            for p in t["path"]
        ]
        tasks_html += "<h3>Projected path</h3>" + _simple_table(
            ["Year", "Income (yuan per person)", "Poverty line", "P(exited)"],
            rows,
            [True, True, True, True],
        )
    contents = {
        "numbers": numbers_html,
        "problems": problems_html,
        "countermeasures": counter_html,
        "responsibility": resp_html,
        "tasks": tasks_html,
    }
    sections = "".join(
        _section(i, en, zh, contents[key])
        for i, (key, en, zh) in enumerate(FIVE_CLARIFICATIONS, start=1)
    )
    kind = "immigrant village" if card["is_immigrant"] else "old village"
    header = (
        '<header class="top"><div class="kicker">Household file and card · 建档立卡 · '
        f"five clarifications 五清 · {_e(scenario)}</div>"
        f'<h1>Household {card["household_id"]}</h1><div class="meta">'
        f"{_e(card['county'])} {_e(card['county_zh'])} · {_e(card['village_name'])} "
        f"({kind}) · {'registered poor household' if card['is_registered'] else 'not registered'}"
        "</div></header>"
    )
    return _page(
        f"Household card {card['household_id']}",
        header + sections,
        extra_css="@page { size: A4; margin: 12mm; }",
    )


def village_file_html(file: Mapping[str, Any], *, scenario: str = "") -> str:
    """A village's file, "five things" (§4), as a printable page.

    Parameters
    ----------
    file
        :func:`fupinsim.assess.village_file` output.
    scenario
        Scenario id shown in the header.
    """
    s = file["situation"]
    situation = _facts(
        [
            ("Households / residents", f"{s['n_households']:,} / {s['population']:,}"),
            ("Poor households / people", f"{s['n_poor_households']:,} / {s['n_poor_people']:,}"),
            ("Poverty incidence", format_value(s["incidence"], "share")),
            (
                "Mean income, all / poor",
                f"{s['mean_income_pc']:,.0f} / "
                f"{s['mean_income_pc_poor']:,.0f} yuan per person per year",
            ),
            (
                "Land, sheep, greenhouses",
                f"{s['land_mu']:,.0f} mu, {s['sheep']:,} sheep, {s['greenhouses']:,} greenhouses",
            ),
            (
                "Income structure (leading industries)",
                "; ".join(
                    f"{label} {share:.0%}"
                    for label, share in s["income_structure"]
                    if share >= 0.05
                ),
            ),
        ]
    ) + _simple_table(
        ["Infrastructure", "Present"],
        [(k, _yes(v)) for k, v in s["infrastructure"]],
        [False, False],
    )
    p = file["problems"]
    problems = _facts(
        [
            ("Infrastructure gaps", "; ".join(p["gaps"]) or "none"),
            (
                "Main causes (registered households)",
                "; ".join(f"{k} {v}" for k, v in p["causes"]) or "—",
            ),
            ("Dilapidated houses (C/D)", f"{p['n_dilapidated']}"),
            ("Households without safe water", f"{p['n_no_safe_water']}"),
            ("Households not in NCMS", f"{p['n_not_ncms']}"),
            ("Poor households without labour", f"{p['n_no_labour']}"),
        ]
    )
    d = file["demands"]
    works = (
        _simple_table(
            ["Work", "Plan §", "Due by end of", "Cost (yuan)", "Responsible unit"],
            [
                (
                    w["work"],
                    w["section"],
                    w["due_year"] if not _is_missing(w["due_year"]) else "—",
                    f"{w['cost_yuan']:,.0f}" if not _is_missing(w["cost_yuan"]) else "—",
                    w["responsible"],
                )
                for w in d["works"]
            ],
            [False, False, True, True, False],
        )
        if d["works"]
        else '<p class="note">No works needed.</p>'
    )
    packages = (
        _simple_table(
            [
                "Package",
                "Households",
                "Fiscal (yuan)",
                "Credit (yuan)",
                "Households' own (yuan)",
                "From",
            ],
            [
                (
                    k["label"],
                    k["households"],
                    f"{k['cost_fiscal_yuan']:,.0f}",
                    f"{k['cost_credit_yuan']:,.0f}",
                    f"{k['cost_household_yuan']:,.0f}",
                    k["first_start_year"] or "—",
                )
                for k in d["packages"]
            ],
            [False, True, True, True, True, True],
        )
        if d["packages"]
        else '<p class="note">No packages planned.</p>'
    )
    demands = (
        f"<h3>Infrastructure</h3>{works}<h3>Household support</h3>{packages}"
        f"<p>Households covered by social security (no labour): "
        f"{d['n_social_security']}</p>"
    )
    lead = file["leadership"]
    leadership = _facts(
        [
            ("County leadership (plan §16)", lead["county_responsible"] or "—"),
            (
                "Assisting cadres",
                f"{lead['n_helpers']} (about "
                f"{format_value(lead['households_per_helper'], 'num')} households each)",
            ),
            ("Cadre ids", ", ".join(str(h) for h in lead["helpers"]) or "—"),
            ("Village work team (plan §18)", lead["work_team"]),
        ]
    )
    m = file["monitoring"]
    monitoring = _facts(
        [
            ("Exit rule", m["exit_rule"]),
            ("Deadline of the target group", f"{m['deadline_year'] or '—'} ({m['target_group']})"),
            (
                "Planned household exits",
                "; ".join(f"{y}: {n}" for y, n in m["planned_exits"]) or "—",
            ),
        ]
    )
    if m["path"]:
        monitoring += _simple_table(
            ["Year", "Incidence (mean)", "P(village exits)"],
            [(x["year"], f"{x['incidence_mean']:.1%}", f"{x['p_exit']:.0%}") for x in m["path"]],
            [True, True, True],
        )
    if m["households"]:
        monitoring += "<h3>Registered poor households</h3>" + _simple_table(
            [
                "Household",
                "Members",
                "Income 2014 (yuan per person)",
                "Support class",
                "Package",
                "Expected exit",
            ],
            [
                (
                    h["household_id"],
                    h["n_members"],
                    f"{h['income_pc']:,.0f}",
                    h["support_class"] or "—",
                    h["package"] or "—",
                    h["expected_exit_year"] or "—",
                )
                for h in m["households"]
            ],
            [False, True, True, False, False, True],
        )
    contents = {
        "situation": situation,
        "problems": problems,
        "demands": demands,
        "leadership": leadership,
        "monitoring": monitoring,
    }
    sections = "".join(
        _section(i, heading, "", contents[key])
        for i, (key, heading) in enumerate(FIVE_THINGS, start=1)
    )
    kind = "immigrant village" if file["is_immigrant"] else "old village"
    poor = "poor village" if file["is_poor_village"] else "not a registered poor village"
    header = (
        '<header class="top"><div class="kicker">Village file · 村档 · five things · '
        f'{_e(scenario)}</div><h1>{_e(file["village_name"])}</h1><div class="meta">'
        f"Village {file['village_id']} · {_e(file['county'])} {_e(file['county_zh'])} · {kind} · "
        f"{poor}</div></header>"
    )
    return _page(
        f"Village file {file['village_id']}",
        header + sections,
        extra_css="@page { size: A4; margin: 12mm; }",
    )


# ----------------------------------------------------------------------------------------------
# Scenario comparison


_COMPARISON_COLS = (
    Col("scenario_id", "Scenario", "", "text"),
    Col("title", "Title", "", "text"),
    Col("target_exits", "Target exits", "households", "int"),
    Col("projected_exits_mean", "Projected exits", "households", "num"),
    Col("exits_share", "Of target", "share", "share"),
    Col("missing_exits", "Missing exits (plan)", "households", "int"),
    Col("money_available_yuan", "Money available", "wan yuan", "wan"),
    Col("cost_fiscal_yuan", "Fiscal cost", "wan yuan", "wan"),
    Col("money_missing_yuan", "Money missing", "wan yuan", "wan"),
    Col("p_all_targets_met", "P(all targets met)", "probability", "share"),
    Col("p_min", "Lowest P(met)", "probability", "share"),
    Col("n_groups_at_risk", "Groups at risk", "target groups", "int"),
    Col("verdict", "Verdict", "", "text"),
)


def comparison_html(
    comparison: pd.DataFrame,
    figure: Figure | None = None,
    *,
    links: Mapping[str, str] | None = None,
    required_confidence: float = 0.9,
) -> str:
    """All scenarios side by side: a chart and a table.

    Parameters
    ----------
    comparison
        :func:`fupinsim.assess.compare_scenarios` output.
    figure
        :func:`fupinsim.plots.scenario_comparison_chart` output.
    links
        Scenario id → relative href of its report.
    required_confidence
        P(met) under which cells are highlighted.
    """
    body = [
        '<header class="top"><div class="kicker">fupinsim · scenario comparison</div>'
        f"<h1>{len(comparison)} scenarios compared</h1></header>",
        _links_html(links or {}, "Reports:"),
        _figure_html(
            figure,
            "Exits by the final year against the target, fiscal cost, money "
            "missing to meet every target, and P(all targets met).",
            "Comparison",
        ),
        table_html(
            comparison, _COMPARISON_COLS, low=required_confidence, low_column="p_all_targets_met"
        ),
    ]
    return _page("fupinsim — scenario comparison", "".join(body))
