"""Household card ("five clarifications", §3) and village file ("five things", §4) pages.

The words and the layout are in ``templates/household_card.html`` and
``templates/village_file.html``; this module prepares their tables.
"""

from __future__ import annotations

from typing import Any

from fupinsim.assess import FIVE_CLARIFICATIONS, FIVE_THINGS, HouseholdCard, VillageFile
from fupinsim.assess.labels import FIVE_THINGS_ZH
from fupinsim.report.formats import format_value, is_missing
from fupinsim.report.render import render, stylesheet
from fupinsim.report.tables import simple_table

__all__ = ["household_card_html", "village_file_html"]


def _card_tables(card: HouseholdCard) -> dict[str, Any]:
    n, c = card.numbers, card.countermeasures
    income = [(label, f"{v:,.0f}") for label, v in n.income_sources]
    income.append(("Less production costs", f"−{n.production_cost:,.0f}"))
    income.append(("Net income", f"{n.net_income_yuan:,.0f}"))
    measures = [
        (
            m.label,
            m.start_year or "—",
            f"{m.cost_fiscal_yuan:,.0f}",
            f"{m.cost_credit_yuan:,.0f}",
            f"{m.cost_household_yuan:,.0f}",
            ", ".join(f"§{s}" for s in m.sections) or "—",
        )
        for m in c.measures
    ]
    units = [
        (f"§{u.section}", u.title, u.responsible, u.time_limit) for u in card.responsibility.units
    ]
    path = [
        (
            p.year,
            f"{p.income_pc_mean:,.0f}",
            f"{p.poverty_line:,.0f}",
            f"{p.p_exited:.0%}",
        )
        for p in card.tasks.path
    ]
    return {
        "income": simple_table(["Source", "Yuan"], income, [False, True]),
        "measures": simple_table(
            [
                "Package",
                "Start year",
                "Fiscal (yuan)",
                "Credit (yuan)",
                "Household (yuan)",
                "Plan §",
            ],
            measures,
            [False, True, True, True, True, False],
        ),
        "units": simple_table(
            ["Plan §", "Measure", "Responsible unit", "Time limit"],
            units,
            [False, False, False, False],
        ),
        "path": simple_table(
            ["Year", "Income (yuan per person)", "Poverty line", "P(exited)"],
            path,
            [True, True, True, True],
        ),
    }


def household_card_html(card: HouseholdCard, *, scenario: str = "") -> str:
    """A household's card, "five clarifications" (§3), as a printable page.

    Parameters
    ----------
    card
        :func:`fupinsim.assess.household_card` output.
    scenario
        Scenario id shown in the header.
    """
    return render(
        "household_card.html",
        title=f"Household card {card.household_id}",
        css=stylesheet(),
        card=card,
        scenario=scenario,
        tables=_card_tables(card),
        headings=list(FIVE_CLARIFICATIONS),
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
