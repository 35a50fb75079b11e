"""The public announcement (§17), for villagers: in Chinese, one printed A4 page per county.

Each county's page has its targets (one row per target group, the households to exit in each
year and cumulatively), its money by source and year, and one table of its villages: the
households each package supports (one column per package, named in Chinese), the fiscal money
and the infrastructure works due. The words are in ``templates/announcement.html``; Chinese
labels in ``fupinsim/data/labels.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from fupinsim.assess import CountyAnnouncement
from fupinsim.assess.labels import label_zh, zh_words
from fupinsim.report.formats import Col, format_value
from fupinsim.report.render import render, stylesheet
from fupinsim.report.tables import (
    Cell,
    HeadCell,
    Row,
    Table,
    column_zh,
    money_table,
    render_table,
    wide_table_html,
)

__all__ = ["announcement_html"]

_TARGET_PER_YEAR = (
    Col("target_exits_in_year", "In the year", "households", "int"),
    Col("target_exits", "Cumulative", "households", "int"),
)


def _targets(item: CountyAnnouncement) -> Markup:
    """One row per target group, two columns (in the year, cumulative) per year."""
    frame = item.targets.assign(county_id=item.county_id)
    return wide_table_html(frame, leading=(), per_year=_TARGET_PER_YEAR)


def _village_frame(item: CountyAnnouncement) -> tuple[pd.DataFrame, list[str]]:
    """Villages with projects or works: households per package, money, works; package ids."""
    projects = item.village_projects.copy()
    packs = item.village_packages
    ids: list[str] = []
    if len(packs):
        counts = packs.pivot_table(
            index="village_name", columns="package_id", values="households", aggfunc="sum"
        )
        ids = counts.sum().sort_values(ascending=False).index.astype(str).tolist()
        projects = projects.join(counts[ids], on="village_name")
    works = item.village_work_items
    frame = projects.set_index("village_name") if len(projects) else pd.DataFrame()
    if len(works):
        names = works.groupby("village_name", sort=False).agg(
            works=("flag", lambda f: "、".join(label_zh("works", x) or str(x) for x in f)),
            due_year=("due_year", "max"),
        )
        frame = frame.join(names, how="outer") if len(frame) else names
    return frame.reset_index(names="village_name"), ids


def _villages(item: CountyAnnouncement) -> Markup:
    """The county's villages: package columns in Chinese, households, money and works."""
    frame, ids = _village_frame(item)
    if not len(frame):
        return Markup("")
    cols = [
        Col("village_name", "Village", "", "text"),
        *([Col("is_immigrant", "Immigrant", "", "bool")] if frame["is_immigrant"].any() else []),
        Col("n_poor_households", "Poor households", "", "int"),
    ]
    due = frame["due_year"].dropna() if "due_year" in frame else pd.Series(dtype=float)
    by = f"（{int(due.max())}年底前）" if len(due) else ""
    tail = [
        Col("households", "Supported", "", "int"),
        Col("fiscal_yuan", "Fiscal, wan yuan", "", "wan"),
        Col("works", f"Works{f', by {int(due.max())}' if len(due) else ''}", "", "text"),
    ]
    head = [
        *[HeadCell(c.header, zh=column_zh(c.name)) for c in cols],
        *[HeadCell(_short(p), css="package") for p in ids],
        *[
            HeadCell(c.header, zh=column_zh(c.name) + (by if c.name == "works" else ""))
            for c in tail
        ],
    ]
    body = []
    for row in frame.to_dict("records"):
        cells = [Cell(format_value(row.get(c.name), c.kind, "zh"), _css(c)) for c in cols]
        cells += [Cell(_count(row.get(p)), "num") for p in ids]
        cells += [Cell(format_value(row.get(c.name), c.kind, "zh"), _css(c)) for c in tail]
        body.append(Row(cells))
    return render_table(Table([Row(head)], body, css="villages"))


def _short(package_id: str) -> str:
    """A package's short Chinese name (``zh.packages_short``), else its Chinese name."""
    return (
        zh_words("packages_short").get(package_id) or label_zh("packages", package_id) or package_id
    )


def _count(value: Any) -> str:
    """Households of a package in a village; empty where none (the table stays readable)."""
    return "" if value is None or pd.isna(value) or not value else f"{int(value):,}"


def _css(c: Col) -> str:
    if c.kind in ("int", "wan", "year"):
        return "num"
    return {"village_name": "name", "works": "works"}.get(c.name, "")


def announcement_html(
    items: Sequence[CountyAnnouncement],
    *,
    scenario: str = "",
    period: str = "2015-2017",
) -> str:
    """The public announcement (§17): targets, funds and projects by county and village.

    In Chinese (headers with their English under them). Printable: A4 pages, one county per
    page, table headers repeated, links hidden in print. Only counts and money are shown,
    never individual households.

    Parameters
    ----------
    items
        :func:`fupinsim.assess.announcement` output.
    scenario
        Scenario id (the announcement is of a plan scenario).
    period
        Plan period in the title.
    """
    counties: list[dict[str, Any]] = [
        {
            "county": item.county,
            "county_zh": item.county_zh,
            "targets": _targets(item) if len(item.targets) else "",
            "money": money_table(item.money),
            "villages": _villages(item),
        }
        for item in items
    ]
    return render(
        "announcement.html",
        title=f"扶贫公示公告 Announcement — {scenario}",
        css=stylesheet(),
        lang="zh-CN",
        scenario=scenario,
        period=period,
        counties=counties,
        city=zh_words("words")["city_total"],
    )
