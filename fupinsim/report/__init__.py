"""Reports in memory: the three-tables workbook and self-contained HTML pages.

Rendering only: the content comes from :mod:`fupinsim.assess`; nothing here writes a file
(:mod:`fupinsim.io.report_files` saves what these functions return: an
:class:`openpyxl.Workbook` or an HTML string). Pages are Jinja2 templates in
``fupinsim/templates/`` (autoescaped) with one shared stylesheet (``fupinsim.css``, with
``@media print`` rules); every table goes through :mod:`fupinsim.report.tables`. Every page is
self-contained (inline CSS, figures embedded as ``data:`` PNG, no scripts, fonts or stylesheets
from elsewhere), opens in a browser without a server, and is well-formed XML-compatible HTML5
(void elements closed, no named entities other than XML's), so tests can parse it strictly.

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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fupinsim.report.cards import household_card_html, village_file_html
    from fupinsim.report.formats import TABLE_SPECS, Col, TableSpec, format_value
    from fupinsim.report.guides import announcement_html, county_guide_html
    from fupinsim.report.render import _PX_PER_INCH, figure_data_uri, png_data_uri
    from fupinsim.report.scenario import comparison_html, report_html
    from fupinsim.report.tables import table_html, wide_table_html
    from fupinsim.report.workbook import three_tables_workbook

__all__ = [
    "TABLE_SPECS",
    "_PX_PER_INCH",
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

#: Each name → the module that defines it, imported on first use (PEP 562): a household card
#: renders with :mod:`.cards` alone, without the scenario report's matplotlib, openpyxl and
#: pipeline imports.
_WHERE = {
    "household_card_html": "cards",
    "village_file_html": "cards",
    "TABLE_SPECS": "formats",
    "Col": "formats",
    "TableSpec": "formats",
    "format_value": "formats",
    "announcement_html": "guides",
    "county_guide_html": "guides",
    "_PX_PER_INCH": "render",
    "figure_data_uri": "render",
    "png_data_uri": "render",
    "comparison_html": "scenario",
    "report_html": "scenario",
    "table_html": "tables",
    "wide_table_html": "tables",
    "three_tables_workbook": "workbook",
}


def __getattr__(name: str) -> Any:
    """A public name of the package, imported from its module when first asked for."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
