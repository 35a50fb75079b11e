"""The three tables as one formatted Excel workbook (in memory; io.report_files saves it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from fupinsim import __version__
from fupinsim.assess import CITY_ID
from fupinsim.report.formats import EXCEL_FORMATS, TABLE_SPECS, Col, TableSpec, cell_value

__all__ = ["three_tables_workbook"]

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
    _write_headers(sheet, columns, header_row, unit_row)
    sheet.row_dimensions[header_row].height = 32
    sheet.row_dimensions[unit_row].height = 26
    _write_rows(sheet, columns, frame, unit_row)
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


def _write_headers(sheet: Any, columns: Sequence[Col], header_row: int, unit_row: int) -> None:
    """Header and units rows, column widths."""
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


def _write_rows(sheet: Any, columns: Sequence[Col], frame: pd.DataFrame, unit_row: int) -> None:
    """Data rows below the units row, number formats, bold city totals."""
    is_total = (
        frame["county_id"].astype(str) == CITY_ID
        if "county_id" in frame
        else pd.Series(False, index=frame.index)
    )
    totals = is_total.to_numpy()
    for i, (position, (_, row)) in enumerate(enumerate(frame.iterrows()), start=unit_row + 1):
        total = bool(totals[position])
        for j, col in enumerate(columns, start=1):
            cell = sheet.cell(i, j, cell_value(row[col.name], col.kind))
            if col.kind in EXCEL_FORMATS:
                cell.number_format = EXCEL_FORMATS[col.kind]
            cell.border = Border(bottom=_THIN)
            if total:
                cell.font = Font(bold=True)
                cell.fill = _TOTAL_FILL


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
