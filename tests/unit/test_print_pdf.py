"""Printed pages: the report and the announcement printed to A4 PDF by headless Chromium lose no
column, and the announcement prints one county per page.

The PDF is read back with poppler's ``pdftotext -layout``. A cut column is text the page never
draws, so every number of every table cell of the HTML must be found (at least as often) in the
PDF's text, and every English word of every column header too; the announcement's page count
must equal its counties. Chromium and poppler-utils are system packages (``make browser-deps``
installs them as root); without them these tests are skipped, saying so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.fake_results import _exit_targets, _funding, _target_probability, fake_run_tables

from fupinsim import assess, report
from fupinsim.data import COUNTY_IDS
from fupinsim.pipeline import RunTables

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
MISSING = [
    name
    for name, found in (
        ("chromium", CHROMIUM),
        ("pdftotext", shutil.which("pdftotext")),
        ("pdfinfo", shutil.which("pdfinfo")),
    )
    if not found
]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"print test needs {', '.join(MISSING)} (system packages chromium and "
        "poppler-utils): run `make browser-deps` as root to install them",
    ),
]
_NUMBER = re.compile(r"^−?\d[\d,.]*%?$")
_CJK = "\u3000-\u9fff\uff00-\uffef"
_RUNS = re.compile(f"[{_CJK}]+|[A-Za-z]+(?=[−\\d])|[^\\s\\-–{_CJK}]+")
_STRIP = "()（）;；,.:：·"


def print_pdf(html: str, folder: Path, stem: str) -> Path:
    """Print an HTML page to ``<stem>.pdf`` with headless Chromium (A4 from the page's CSS)."""
    page, pdf = folder / f"{stem}.html", folder / f"{stem}.pdf"
    page.write_text(html, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
    assert pdf.exists() and pdf.stat().st_size > 0
    return pdf


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(
        ["pdftotext", "-layout", *pages, str(pdf), "-"], check=True, capture_output=True, text=True
    )
    return out.stdout


def tokens(text: str) -> list[str]:
    """Words and numbers: split at spaces, hyphens (lines may break after one), between
    Chinese and other characters and between a word and the number after it (pdftotext may
    leave no space between them: Chromium 156 prints a table's first row on its units row's
    line, read as ``wan yuan7.5``)."""
    runs = _RUNS.findall(text)
    return [t.strip(_STRIP) for t in runs if t.strip(_STRIP)]


def cell_numbers(root: ET.Element) -> Counter[str]:
    """Every number in a table cell of the page (its last column's values included)."""
    found: Counter[str] = Counter()
    for td in root.iter("td"):
        found.update(t for t in tokens("".join(td.itertext())) if _NUMBER.match(t))
    return found


def header_words(root: ET.Element) -> set[str]:
    """English words of every column header (Chinese headers wrap inside words)."""
    words: set[str] = set()
    for th in root.iter("th"):
        words.update(t for t in tokens(" ".join(th.itertext())) if t.isascii())
    return words


def last_column_cells(root: ET.Element) -> list[str]:
    """Text of the last cell of every body row of every table."""
    cells = []
    for tbody in root.iter("tbody"):
        for tr in tbody.iter("tr"):
            tds = list(tr.iter("td"))
            if tds:
                cells.append("".join(tds[-1].itertext()))
    return cells


def assert_nothing_cut(html: str, pdf: Path) -> None:
    root = ET.fromstring(html)
    printed = Counter(tokens(pdf_text(pdf)))
    lost = {t: n - printed[t] for t, n in cell_numbers(root).items() if printed[t] < n}
    assert not lost, f"numbers of table cells missing from the PDF (cut columns?): {lost}"
    # A header word is printed when it is a word of the text or starts one: pdftotext may glue
    # a wrapped header's word to the next line's (Chromium 156: "In the year" over
    # "households" is read "Inhouseholds" / "the year", while the page shows it whole).
    missing = sorted(
        w for w in header_words(root) - set(printed) if not any(t.startswith(w) for t in printed)
    )
    assert not missing, f"column header words missing from the PDF: {missing}"
    for cell in last_column_cells(root):
        words = [t for t in tokens(cell) if t.isascii()]
        lost_words = [w for w in words if not printed[w]]
        assert not lost_words, f"last column cell not printed: {cell!r} (no {lost_words})"


@pytest.fixture(scope="module")
def tables() -> RunTables:
    return fake_run_tables()


def test_report_prints_on_a4_without_cut_columns(tables, tmp_path) -> None:
    three = assess.three_tables(tables)
    summary = assess.scenario_summary(
        scenario_id="plan_2015",
        title="The plan as written",
        target_probability=tables.target_probability,
        funding=tables.funding,
        allocation=tables.allocation,
        shortfall=tables.shortfall,
    )
    html = report.report_html(
        summary=summary,
        tables=three,
        figures={},
        assessment=tables.assessment,
        shortfall=tables.shortfall,
    )
    pdf = print_pdf(html, tmp_path, "report")
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    assert "(A4)" in info.stdout
    text = pdf_text(pdf)
    for year in ("2015", "2016", "2017"):  # the year blocks of Table 3
        assert year in text
    assert "What binds" in text and "Why" in text  # the wide text columns (shortfall, rating)
    assert_nothing_cut(html, pdf)


def _full_scale_announcement(registry) -> list:
    """The announcement of the plan's 12,600 households, 176 villages, with a package mix like
    plan_2015's (up to nine packages in a county) and the infrastructure works of the flags."""
    households, villages = registry.households, registry.villages
    rng = np.random.default_rng(7)
    registered = households[households["is_registered"].astype(bool)]
    social = registered["support_class"].astype(str).eq("social_security").to_numpy()
    develop = np.array(
        [
            "training_transfer",
            "one_labourer_2mu_30sheep_vegetables",
            "credit_own_project",
            "transfer_only",
            "one_labourer_2mu_30sheep_licorice",
            "pv_household",
            "greenhouse_credit",
        ]
    )
    weights = np.array([0.60, 0.30, 0.03, 0.03, 0.02, 0.01, 0.01])
    package = np.where(
        social,
        rng.choice(["social_cover", "social_cover_pv"], size=len(registered)),
        rng.choice(develop, size=len(registered), p=weights),
    )
    plans = pd.DataFrame(
        {
            "household_id": registered["household_id"].to_numpy(),
            "package_id": package,
            "start_year": 2015,
            "cost_fiscal_yuan": rng.uniform(5_000, 20_000, len(registered)).round(),
        }
    )
    joined = plans.merge(households[["household_id", "county_id"]], on="household_id")
    allocation = (
        joined.assign(villages="all", year=2015, county_id=joined["county_id"].astype(str))
        .groupby(["county_id", "villages", "year", "package_id"], as_index=False)
        .agg(households=("household_id", "size"), fiscal_yuan=("cost_fiscal_yuan", "sum"))
    )
    allocation["pool_city_yuan"] = allocation["fiscal_yuan"] * 0.4
    return assess.announcement(
        households=households,
        villages=villages,
        target_probability=_target_probability(_exit_targets(households)),
        household_plans=plans,
        allocation=allocation,
        funding=_funding(),
    )


@pytest.mark.slow
def test_announcement_prints_one_county_per_a4_page(plan_registry, tmp_path) -> None:
    items = _full_scale_announcement(plan_registry)
    assert [i.county_id for i in items] == list(COUNTY_IDS)
    html = report.announcement_html(items, scenario="plan_2015")
    pdf = print_pdf(html, tmp_path, "announcement")
    assert pdf_pages(pdf) == len(items), "one county per printed page"
    for number, item in enumerate(items, start=1):
        page = pdf_text(pdf, number)
        assert item.county_zh in page, (number, item.county_id)
    assert_nothing_cut(html, pdf)
