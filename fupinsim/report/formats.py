"""How columns are shown: :class:`Col`, the three tables' specs and the value formats shared by
the workbook and the HTML tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from markupsafe import Markup

from fupinsim.assess import package_label
from fupinsim.assess.labels import bilingual, label_en, label_zh, zh_words
from fupinsim.units import YUAN_PER_WAN

__all__ = ["TABLE_SPECS", "Col", "TableSpec", "cell_value", "format_value", "is_missing"]


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
        ``group`` (village group in words), ``code:<section>`` (a code of ``labels.yaml``'s
        section, e.g. ``code:support_classes``, shown in words: Chinese and English).
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

EXCEL_FORMATS = {
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
        "and money; probabilities do not add. ¹ Counts as met: the plan's target, except where "
        "the plan says a group exits as a whole (100%); there up to 3% of its registered "
        "households may remain (the 3% allowance). Missing exits and P(target met) are "
        "against this number.",
        (
            *_NAME_COLS,
            Col("year", "Year", "", "year", 7),
            Col("n_registered", "Registered 2014", "households", "int", 12),
            Col("target_share", "Target share", "cumulative share", "share", 10),
            Col("target_exits", "Target exits", "households, cumulative", "int", 12),
            Col("required_exits", "Counts as met ¹", "households, cumulative", "int", 12),
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
#: Languages of a table's cells: ``bi`` (Chinese and English), ``zh`` or ``en``.
LANGUAGES = ("bi", "zh", "en")


def _words(section: str, value: Any, lang: str) -> str:
    """A code in words in ``lang`` (a code without a Chinese form falls back to English)."""
    en = package_label(str(value)) if section == "packages" else label_en(section, value)
    if lang == "en":
        return en
    if lang == "zh":
        return label_zh(section, value) or en
    return str(bilingual(section, value, en=en))


def _yes_no(value: Any, lang: str) -> str:
    key = "yes" if bool(value) else "no"
    zh = zh_words("words")[key]
    return {"en": key, "zh": zh}.get(lang, f"{zh} {key}")


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def cell_value(value: Any, kind: str) -> Any:
    """Value written to an Excel cell (numbers stay numbers; wan divided by 10,000)."""
    if is_missing(value):
        return None
    if kind.startswith("code:"):
        return format_value(value, kind, "bi")
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


def format_value(value: Any, kind: str, lang: str = "en") -> str:
    """Text of a value in an HTML table (``—`` when missing).

    ``lang`` (``en``, ``zh`` or ``bi``) is the language of words: yes/no, village groups and
    ``code:<section>`` values (which are always shown in words, never as codes).
    """
    if kind == "html":  # HTML the page built itself (a link; pandas may store it as plain str)
        return Markup(value)
    if is_missing(value):
        return "—"
    if kind.startswith("code:"):
        section, words_lang = kind.removeprefix("code:"), lang if lang != "en" else "bi"
        codes = [c.strip() for c in str(value).split(",")] if section != "packages" else [value]
        return "; ".join(_words(section, c, words_lang) for c in codes if str(c))
    if lang != "en" and kind == "bool":
        return _yes_no(value, lang)
    if lang != "en" and kind == "group":
        return _words("village_groups", value, lang)
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
