"""Household card ("five clarifications", §3) and village file ("five things", §4) pages.

The words and the layout are in ``templates/household_card.html`` and
``templates/village_file.html``; this module prepares their tables.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from fupinsim.assess import FIVE_CLARIFICATIONS, FIVE_THINGS, HouseholdCard, VillageFile
from fupinsim.assess.labels import FIVE_THINGS_ZH, SOURCE_WORDS, bilingual, zh_words
from fupinsim.registry.schema import INCOME_SOURCES
from fupinsim.report.formats import format_value, is_missing
from fupinsim.report.render import _environment, render, stylesheet
from fupinsim.report.tables import simple_table

__all__ = ["CARD_STYLESHEET", "household_card_html", "village_file_html"]


#: File name of the stylesheet that the household cards of a folder link to (written next to
#: them by :mod:`fupinsim.io.card_files`).
CARD_STYLESHEET = "fupinsim.css"


@cache
def _income_words_zh() -> dict[str, str]:
    """Chinese name of each income source by its English name (the card lists English names)."""
    zh = zh_words("income_sources")
    return {SOURCE_WORDS[c]: zh[c] for c in INCOME_SOURCES}


@cache
def _package_words(package_id: str, label: str) -> str:
    """A package's name on a card, Chinese first (``labels.yaml`` ``zh.packages``)."""
    return str(bilingual("packages", package_id, en=label))


def _card_rows(card: HouseholdCard) -> dict[str, list[tuple[Any, ...]]]:
    """The cells of a card's four tables as ready text (the template writes the tables)."""
    n, c = card.numbers, card.countermeasures
    zh = _income_words_zh()
    income: list[tuple[Any, ...]] = [
        (f"{zh[label]} {label}" if label in zh else label, f"{v:,.0f}")
        for label, v in n.income_sources
    ]
    income.append(("Less production costs", f"−{n.production_cost:,.0f}"))
    income.append(("Net income", f"{n.net_income_yuan:,.0f}"))
    return {
        "income": income,
        "measures": [
            (
                _package_words(m.package_id, m.label),
                m.start_year or "—",
                f"{m.cost_fiscal_yuan:,.0f}",
                f"{m.cost_credit_yuan:,.0f}",
                f"{m.cost_household_yuan:,.0f}",
                ", ".join(f"§{s}" for s in m.sections) or "—",
            )
            for m in c.measures
        ],
        "units": [
            (f"§{u.section}", u.title, u.responsible, u.time_limit)
            for u in card.responsibility.units
        ],
        "path": [
            (  # P(exited) as the report and the guides write every share
                p.year,
                f"{p.income_pc_mean:,.0f}",
                f"{p.poverty_line:,.0f}",
                format_value(p.p_exited, "share"),
            )
            for p in card.tasks.path
        ],
    }


def _students(students: Mapping[str, int]) -> str:
    """``1 primary, 2 junior secondary`` (``none`` without students)."""
    return ", ".join(f"{count} {level}" for level, count in students.items() if count) or "none"


def _escape_text(value: Any) -> str:
    """A printed value escaped as :func:`html.escape` does; HTML (``Markup``) passes."""
    if isinstance(value, Markup):
        return str(value)
    return html.escape(str(value), quote=True)


@cache
def _card_environment() -> Environment:
    """The pages' environment for the card template, escaping in ``finalize`` only.

    The output is that of the autoescaped environment (every printed value escaped as
    :func:`html.escape` does, ``Markup`` passes) without the two ``Markup`` objects it makes
    per printed value: at 12,600 cards of ~130 values a run that is a third of the card's
    rendering. The card template therefore has no macro and no ``{% set %}`` block (their
    output would be escaped as text here).
    """
    return _environment().overlay(autoescape=False, finalize=_escape_text)


def household_card_html(
    card: HouseholdCard, *, scenario: str = "", css_href: str | None = None
) -> str:
    """A household's card, "five clarifications" (§3), as a printable page.

    Parameters
    ----------
    card
        :func:`fupinsim.assess.household_card` output.
    scenario
        Scenario id shown in the header.
    css_href
        Link the stylesheet at this address (the cards of a folder share
        :data:`CARD_STYLESHEET`) instead of inlining it (``None``: a self-contained page).
    """
    n = card.numbers
    return (
        _card_environment()
        .get_template("household_card.html")
        .render(
            title=f"Household card {card.household_id}",
            css=None if css_href else stylesheet(),
            css_href=css_href,
            card=card,
            scenario=scenario,
            rows=_card_rows(card),
            headings=list(FIVE_CLARIFICATIONS),
            main_cause=n.main_cause
            if n.main_cause_zh is None
            else f"{n.main_cause_zh} {n.main_cause}",
            students=_students(n.students),
        )
    )


def _file_tables(file: VillageFile) -> dict[str, Any]:
    s, d, m = file.situation, file.demands, file.monitoring
    works = [
        (
            w["work"],
            w["section"],
            w["due_year"] if not is_missing(w["due_year"]) else "—",
            f"{w['cost_yuan']:,.0f}" if not is_missing(w["cost_yuan"]) else "—",
            w["responsible"],
        )
        for w in d.works
    ]
    packages = [
        (
            k.label,
            k.households,
            f"{k.cost_fiscal_yuan:,.0f}",
            f"{k.cost_credit_yuan:,.0f}",
            f"{k.cost_household_yuan:,.0f}",
            k.first_start_year or "—",
        )
        for k in d.packages
    ]
    households = [
        (
            h["household_id"],
            h["n_members"],
            f"{h['income_pc']:,.0f}",
            format_value(h["support_class"], "code:support_classes"),
            h["package"] or "—",
            h["expected_exit_year"] or "—",
        )
        for h in m.households
    ]
    return {
        "infrastructure": simple_table(
            ["Infrastructure", "Present"],
            [(k, "yes" if v else "no") for k, v in s.infrastructure],
            [False, False],
        ),
        "works": simple_table(
            ["Work", "Plan §", "Due by end of", "Cost (yuan)", "Responsible unit"],
            works,
            [False, False, True, True, False],
        ),
        "packages": simple_table(
            [
                "Package",
                "Households",
                "Fiscal (yuan)",
                "Credit (yuan)",
                "Households' own (yuan)",
                "From",
            ],
            packages,
            [False, True, True, True, True, True],
        ),
        "path": simple_table(
            ["Year", "Incidence (mean)", "P(village exits)"],
            [(x["year"], f"{x['incidence_mean']:.1%}", f"{x['p_exit']:.0%}") for x in m.path],
            [True, True, True],
        ),
        "households": simple_table(
            [
                "Household",
                "Members",
                "Income 2014 (yuan per person)",
                "Support class",
                "Package",
                "Expected exit",
            ],
            households,
            [False, True, True, False, False, True],
        ),
    }


def village_file_html(file: VillageFile, *, scenario: str = "") -> str:
    """A village's file, "five things" (§4), as a printable page.

    Parameters
    ----------
    file
        :func:`fupinsim.assess.village_file` output.
    scenario
        Scenario id shown in the header.
    """
    return render(
        "village_file.html",
        title=f"Village file {file.village_id}",
        css=stylesheet(),
        file=file,
        scenario=scenario,
        tables=_file_tables(file),
        headings=list(FIVE_THINGS),
        headings_zh=dict(FIVE_THINGS_ZH),
        format_value=format_value,
    )
