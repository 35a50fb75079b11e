"""Reports: the workbook, self-contained well-formed HTML, cards, and the files on disk."""

from __future__ import annotations

import base64
import io
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from helpers.fake_results import KNOWN_HOUSEHOLD_ID, fake_run_tables
from openpyxl import load_workbook

from fupinsim import assess, plots, report
from fupinsim.errors import InputError
from fupinsim.io.outputs import write_manifest, write_tables
from fupinsim.io.report_files import write_card, write_comparison, write_report_bundle
from fupinsim.pipeline import RunTables

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tables() -> RunTables:
    return fake_run_tables()


@pytest.fixture(scope="module")
def three(tables) -> dict[str, pd.DataFrame]:
    return assess.three_tables(tables)


@pytest.fixture(scope="module")
def summary(tables) -> dict:
    return assess.scenario_summary(
        scenario_id="plan_2015",
        title="The plan as written",
        target_probability=tables.target_probability,
        funding=tables.funding,
        allocation=tables.allocation,
        shortfall=tables.shortfall,
    )


def parse(html_text: str) -> ET.Element:
    """Parse strictly (XML rules: every element closed, attributes quoted) and leniently."""
    assert html_text.startswith("<!DOCTYPE html>")
    root = ET.fromstring(html_text)
    HTMLParser().feed(html_text)
    return root


def assert_self_contained(root: ET.Element, text: str) -> None:
    for img in root.iter("img"):
        src = img.get("src", "")
        assert src.startswith("data:image/png;base64,"), src[:40]
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_SIGNATURE
        assert img.get("alt")
    assert not list(root.iter("script")) and not list(root.iter("link"))
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "url(" not in text and "@import" not in text


# ----------------------------------------------------------------------------------------------
# Workbook


def test_workbook_sheets_headers_units_and_formats(three) -> None:
    book = report.three_tables_workbook(three, scenario="plan_2015")
    buffer = io.BytesIO()
    book.save(buffer)
    book = load_workbook(io.BytesIO(buffer.getvalue()))
    assert book.sheetnames == ["1 Poor distribution", "2 Income targets", "3 Reduction tasks"]
    for name, spec in report.TABLE_SPECS.items():
        sheet = book[spec.sheet]
        assert spec.title in sheet["A1"].value and spec.title_zh in sheet["A1"].value
        assert "plan_2015" in sheet["A2"].value
        headers = [c.value for c in sheet[5]]
        units = [c.value for c in sheet[6]]
        assert headers == [c.header for c in spec.columns]
        assert units == [c.unit or None for c in spec.columns]
        assert sheet.freeze_panes == "D7"
        assert sheet.auto_filter.ref.startswith("A5:")
        assert sheet.max_row == 6 + len(three[name])
        for j, col in enumerate(spec.columns, start=1):
            cell = sheet.cell(7, j)
            if col.kind == "share":
                assert cell.number_format == "0.0%"
            elif col.kind in ("int", "num"):
                assert cell.number_format == "#,##0"
            letter = cell.column_letter
            assert sheet.column_dimensions[letter].width == col.width


def test_workbook_values_and_units(three) -> None:
    book = report.three_tables_workbook(three)
    sheet = book["3 Reduction tasks"]
    headers = [c.value for c in sheet[5]]
    rows = list(sheet.iter_rows(min_row=7, values_only=True))
    money = headers.index("Money to close")
    county = headers.index("County")
    year = headers.index("Year")
    guazhou_2016 = [
        r for r in rows if r[county] == "Guazhou County" and r[year] == 2016 and r[money]
    ]
    assert guazhou_2016[0][money] == pytest.approx(12.0)  # 120,000 yuan = 12.0 wan yuan
    assert rows[-1][county] == "Jiuquan City (total)"
    share = headers.index("P(target met)")
    assert isinstance(rows[0][share], float) and rows[0][share] <= 1.0  # a share, not percent
    assert sheet.cell(7 + len(rows) - 1, 1).font.bold  # city totals in bold


# ----------------------------------------------------------------------------------------------
# HTML pages


def test_report_html_headline_first_and_self_contained(tables, three, summary) -> None:
    figures = {"fan_remaining": plots.fan_chart_remaining(tables.county_year, tables.exit_targets)}
    assessment = assess.county_assessment(tables.county_year, tables.target_probability)
    text = report.report_html(
        summary=summary,
        tables=three,
        figures=figures,
        assessment=assessment,
        links={"Three tables (Excel)": "three_tables.xlsx"},
        guide_links={"Guazhou": "guide/guazhou.html"},
    )
    root = parse(text)
    assert_self_contained(root, text)
    assert len(list(root.iter("img"))) == 1
    headline = text.index('class="headline')
    assert headline < text.index("<img") < text.index("Table 3.")
    box = text[headline : text.index("</section>", headline)]
    assert "P(all targets met)" in box and "Households exiting by 2017" in box
    assert f"{summary['projected_exits_mean']:,.0f}" in box
    assert "Money needed vs available" in box
    assert "Guazhou County, immigrant villages" in box  # the group at risk
    assert 'href="three_tables.xlsx"' in text and 'href="guide/guazhou.html"' in text
    assert "County assessment" in text and "not good" in text


def test_report_html_embeds_prerendered_png(three, summary) -> None:
    fig = plots.p_met_heatmap(fake_run_tables().target_probability)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    text = report.report_html(
        summary=summary, tables=three, figures={"p_met_heatmap": buffer.getvalue()}
    )
    root = parse(text)
    (img,) = list(root.iter("img"))
    assert base64.b64decode(img.get("src").split(",", 1)[1]) == buffer.getvalue()
    assert int(img.get("width")) == round(fig.get_figwidth() * report._PX_PER_INCH)


def test_household_card_html_has_the_five_headings_and_numbers(tables) -> None:
    card = assess.household_card(
        KNOWN_HOUSEHOLD_ID,
        households=tables.households,
        villages=tables.villages,
        household_plans=tables.household_plans,
        household_results=tables.household_paths,
    )
    text = report.household_card_html(card, scenario="plan_2015")
    root = parse(text)
    headings = ["".join(h.itertext()) for h in root.iter("h2")]
    expected = [
        f"{i}. {en} {zh}" for i, (_k, en, zh) in enumerate(assess.FIVE_CLARIFICATIONS, start=1)
    ]
    assert headings == expected
    for number in (
        "11,000",
        "2,750",
        "2,800",
        "50 yuan below the line",
        "30 sheep on microcredit",
        "9,000",
        "20,000",
        "5001",
        "2016 (Suzhou District)",
    ):
        assert number in text, number


def test_village_file_html_has_the_five_things(tables) -> None:
    file = assess.village_file(
        4,
        households=tables.households,
        villages=tables.villages,
        household_plans=tables.household_plans,
        village_year=tables.village_year,
    )
    root = parse(report.village_file_html(file))
    headings = ["".join(h.itertext()) for h in root.iter("h2")]
    zh = assess.labels.FIVE_THINGS_ZH  # bilingual headings: English, then Chinese
    assert headings == [f"{i}. {h} {zh[k]}" for i, (k, h) in enumerate(assess.FIVE_THINGS, start=1)]


def test_county_guide_lists_responsible_units_and_time_limits(tables, three) -> None:
    guide = assess.county_guide(
        "yumen",
        households=tables.households,
        villages=tables.villages,
        tables=three,
        household_plans=tables.household_plans,
        allocation=tables.allocation,
        funding=tables.funding,
    )
    text = report.county_guide_html(guide, scenario="plan_2015")
    root = parse(text)
    assert "Yumen City" in text and "玉门市" in text
    assert "Municipal Human Resources and Social Security Bureau" in text  # §6(1)-(2)
    assert "Organise and implement 2015-2017" in text
    assert "Completed by mid-June 2015" in text  # §3-5 in the full list
    for name in tables.villages.query("county_id == 'yumen'")["village_name"]:
        assert name in text
    n_registered = int(tables.households.query("county_id == 'yumen'")["is_registered"].sum())
    assert f"Poor households ({n_registered})" in text
    assert not list(root.iter("img"))


def test_announcement_is_printable_and_per_county(tables) -> None:
    items = assess.announcement(
        households=tables.households,
        villages=tables.villages,
        target_probability=tables.target_probability,
        household_plans=tables.household_plans,
        allocation=tables.allocation,
        funding=tables.funding,
    )
    text = report.announcement_html(items, scenario="plan_2015")
    root = parse(text)
    assert "@media print" in text and "@page" in text and "break-before: page" in text
    sections = [s for s in root.iter("section") if "county" in (s.get("class") or "").split()]
    assert len(sections) == 7
    assert "§17" in text
    # For villagers: Chinese first (the county names and headings), English under it.
    assert root.get("lang") == "zh-CN"
    assert "".join(sections[0].find("h2").itertext()).startswith("肃州区")


def test_comparison_html(tables, summary) -> None:
    comparison = assess.compare_scenarios([summary, dict(summary, scenario_id="other")])
    fig = plots.scenario_comparison_chart(comparison)
    text = report.comparison_html(comparison, fig, links={"plan_2015": "plan_2015/report.html"})
    root = parse(text)
    assert_self_contained(root, text)
    assert [td.text for td in root.iter("td")][:1] == ["plan_2015"]


def test_text_is_escaped(three, summary) -> None:
    text = report.report_html(summary=dict(summary, title="<b>A & B</b>"), tables=three, figures={})
    parse(text)
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in text


def test_every_page_inlines_the_one_stylesheet_with_print_rules(tables, three, summary) -> None:
    from fupinsim.report.render import stylesheet

    css = str(stylesheet())
    assert "@media print" in css and "thead { display: table-header-group; }" in css
    card = assess.household_card(
        KNOWN_HOUSEHOLD_ID, households=tables.households, villages=tables.villages
    )
    pages = [
        report.report_html(summary=summary, tables=three, figures={}),
        report.household_card_html(card),
        report.comparison_html(assess.compare_scenarios([summary])),
    ]
    for text in pages:
        assert text.count(css) == 1
        assert text.startswith("<!DOCTYPE html>\n<html") and text.endswith("</html>\n")
        assert "\n" not in text.replace(css, "").removeprefix("<!DOCTYPE html>\n")[:-1]


def test_tables_go_through_one_template_and_escape_their_cells() -> None:
    frame = pd.DataFrame({"county_id": ["suzhou", "city"], "name": ["<i>x</i> & 'y'", "Total"]})
    text = report.table_html(frame, [report.Col("name", "Name", "unit")])
    assert "&lt;i&gt;x&lt;/i&gt; &amp; &#x27;y&#x27;" in text
    assert '<tr class="units"><th>unit</th></tr>' in text
    assert '<tr class="total"><td class="name">Total</td></tr>' in text


# ----------------------------------------------------------------------------------------------
# Files on disk


@pytest.mark.slow
def test_write_report_bundle_card_and_comparison(tmp_path: Path, tables) -> None:
    outputs = tmp_path / "outputs"
    run = outputs / "plan_2015"
    write_tables(tables.as_dict(), run)
    write_manifest({"scenario_hash": "abc", "p_all_targets_met": 0.42}, run)
    written = write_report_bundle(tables, run, scenario_id="plan_2015", title="Plan")
    for name in (
        "report.html",
        "three_tables.xlsx",
        "announcement.html",
        "three_tables/reduction_tasks.csv",
        "guide/guazhou.html",
        "figures/fan_remaining.png",
        "figures/infrastructure_map.svg",
    ):
        assert (run / name).is_file(), name
    assert written["report"] == run / "report.html"
    text = (run / "report.html").read_text(encoding="utf-8")
    root = parse(text)
    assert_self_contained(root, text)
    assert len(list(root.iter("img"))) == 8
    assert "42%" in text  # P(all targets met) from the manifest
    csv = (run / "three_tables/poor_distribution.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows the Chinese names
    assert "玉门市" in csv.decode("utf-8-sig")

    card = write_card(outputs, "plan_2015", household_id=KNOWN_HOUSEHOLD_ID)
    assert card == run / "cards" / f"household_{KNOWN_HOUSEHOLD_ID}.html"
    assert "Clear numbers" in card.read_text(encoding="utf-8")
    village = write_card(outputs, "plan_2015", village_id=4)
    assert "Problem account" in village.read_text(encoding="utf-8")
    with pytest.raises(InputError, match="households table"):
        write_card(outputs, "plan_2015", household_id=123_456_789)
    with pytest.raises(InputError, match="no finished run"):
        write_card(outputs, "missing_scenario", household_id=1)

    # A second scenario, a failed run and a run in progress: only finished runs are compared.
    write_tables(tables.as_dict(), outputs / "revenue_stagnation")
    write_tables(tables.as_dict(), outputs / "broken.failed")
    write_tables(tables.as_dict(), outputs / ".plan_2015.tmp-00000000-1-00000000")
    files = write_comparison(outputs)
    table = pd.read_csv(files["csv"], encoding="utf-8-sig")
    assert table["scenario_id"].tolist() == ["plan_2015", "revenue_stagnation"]
    assert table.loc[0, "p_all_targets_met"] == pytest.approx(0.42)
    root = parse(files["html"].read_text(encoding="utf-8"))
    assert len(list(root.iter("img"))) == 1
    assert files["png"].read_bytes()[:8] == PNG_SIGNATURE


def test_write_comparison_without_runs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="finished scenario"):
        write_comparison(tmp_path)


def test_report_lists_shortfalls_and_what_money_cannot_fix(tables, three) -> None:
    summary = assess.scenario_summary(
        scenario_id="x",
        target_probability=tables.target_probability,
        shortfall=tables.shortfall,
    )
    text = report.report_html(summary=summary, tables=three, figures={}, shortfall=tables.shortfall)
    parse(text)
    assert "cannot be met with more money alone" in text
    assert "Targets the allocation misses" in text
    # What binds, in a planner's words (issue 14): the capacity's description, never its id.
    assert "new solar (Gobi) greenhouses that can be built" in text
    assert "greenhouse_builds" not in text


def test_p_all_targets_met_sources(tables) -> None:
    from fupinsim.io.report_files import _p_all_targets_met

    comparison = tables.factor_comparison
    assert _p_all_targets_met(0.3, {"p_all_targets_met": 0.5}, comparison) == 0.3
    assert _p_all_targets_met(None, {"p_all_targets_met": 0.5}, comparison) == 0.5
    assert _p_all_targets_met(None, {}, comparison) == 0.41  # factor_comparison, optimised plan
    assert _p_all_targets_met(None, {}, None) is None


def test_card_says_where_the_exit_year_comes_from(tables) -> None:
    card = assess.household_card(
        KNOWN_HOUSEHOLD_ID,
        households=tables.households,
        household_plans=tables.household_plans,
    )
    text = report.household_card_html(card)
    assert "2015 (simulation of the plan" in text
    assert "Expected income 2017" in text
