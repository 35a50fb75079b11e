"""Household cards at scale: every registered household's card written in one run, the same
pages as one card at a time, whatever the number of workers; guides link to them; the
command line writes a county's cards; the README's card commands work."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.fake_results import KNOWN_HOUSEHOLD_ID, fake_run_tables

from fupinsim import assess, report
from fupinsim.cli import cli
from fupinsim.errors import InputError
from fupinsim.io.card_files import household_card_ids, write_household_cards
from fupinsim.io.outputs import write_manifest, write_tables
from fupinsim.io.report_files import write_card, write_county_cards
from fupinsim.pipeline import RunTables
from fupinsim.report.cards import CARD_STYLESHEET
from fupinsim.report.render import stylesheet

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def tables() -> RunTables:
    return fake_run_tables()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, tables) -> Path:
    """A finished run folder ``outputs/plan_2015`` with its tables (no report bundle)."""
    root = tmp_path_factory.mktemp("outputs")
    write_tables(tables.as_dict(), root / "plan_2015")
    write_manifest({"scenario_hash": "abc"}, root / "plan_2015")
    return root


def test_every_registered_household_of_a_county_gets_its_card(tmp_path, tables) -> None:
    done = write_household_cards(tables, tmp_path, county="suzhou", scenario_id="plan_2015")
    hh = tables.households
    expected = hh[hh["is_registered"] & (hh["county_id"].astype(str) == "suzhou")]
    assert done.n_cards == len(expected) > 0
    names = sorted(p.name for p in tmp_path.glob("household_*"))
    assert names == sorted(f"household_{i}.html" for i in expected["household_id"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names, CARD_STYLESHEET])
    assert done.seconds > 0


def test_bulk_cards_are_the_single_cards(tmp_path, tables) -> None:
    write_household_cards(tables, tmp_path, scenario_id="plan_2015")
    card = assess.household_card(
        KNOWN_HOUSEHOLD_ID,
        households=tables.households,
        villages=tables.villages,
        household_plans=tables.household_plans,
        exit_targets=tables.exit_targets,
        household_results=tables.household_paths,
        household_cadres=tables.household_cadres,
    )
    single = report.household_card_html(card, scenario="plan_2015", css_href=CARD_STYLESHEET)
    bulk = (tmp_path / f"household_{KNOWN_HOUSEHOLD_ID}.html").read_text(encoding="utf-8")
    assert bulk == single
    root = ET.fromstring(bulk)  # well-formed
    # The cards link the one stylesheet written next to them; a page alone inlines it, and
    # the two differ only there.
    (link,) = [e for e in root.iter("link") if e.get("rel") == "stylesheet"]
    css = (tmp_path / link.get("href")).read_text(encoding="utf-8")
    assert css.strip() == str(stylesheet()).strip() and "@media print" in css
    alone = report.household_card_html(card, scenario="plan_2015")
    assert alone.count("<style>") == 1 and "<link" not in alone
    assert alone.split("</head>")[1] == bulk.split("</head>")[1]


def test_the_card_command_writes_the_run_s_card(outputs, tables, tmp_path) -> None:
    """``fupinsim card ID`` (one card) and the run's cards are the same file."""
    write_household_cards(tables, tmp_path / "all", county="suzhou", scenario_id="plan_2015")
    path = write_card(outputs, "plan_2015", household_id=KNOWN_HOUSEHOLD_ID, out=tmp_path / "one")
    assert path.read_bytes() == (tmp_path / "all" / path.name).read_bytes()
    assert (tmp_path / "one" / CARD_STYLESHEET).read_bytes() == (
        tmp_path / "all" / CARD_STYLESHEET
    ).read_bytes()


def test_card_values_are_escaped(tmp_path, tables) -> None:
    """The card template prints every value escaped (its environment escapes in finalize)."""
    villages = tables["villages"].copy()
    hh = tables["households"]
    vid = int(hh.loc[hh["household_id"] == KNOWN_HOUSEHOLD_ID, "village_id"].iloc[0])
    villages.loc[villages["village_id"] == vid, "village_name"] = '<b>A & B\'s "village"</b>'
    card = assess.household_card(KNOWN_HOUSEHOLD_ID, households=hh, villages=villages)
    page = report.household_card_html(card, css_href=CARD_STYLESHEET)
    assert "&lt;b&gt;A &amp; B&#x27;s &quot;village&quot;&lt;/b&gt;" in page
    assert "<b>" not in page
    root = ET.fromstring(page)
    assert any("<b>A & B's" in (e.text or "") for e in root.iter("div"))


def test_cards_do_not_depend_on_the_number_of_workers(tmp_path, tables) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write_household_cards(tables, one, scenario_id="s", workers=1)
    ids = household_card_ids(tables.households)
    assert len(ids) >= 100  # two parts of at least 50 households: two forked workers
    done = write_household_cards(tables, two, scenario_id="s", workers=2)
    assert done.n_cards == len(ids)
    for path in one.iterdir():
        assert (two / path.name).read_bytes() == path.read_bytes(), path.name


def test_an_unknown_county_is_a_planner_error(tmp_path, tables) -> None:
    with pytest.raises(InputError, match="must be a county id"):
        write_household_cards(tables, tmp_path, county="beijing")


def test_guide_rows_link_to_cards_that_exist(tmp_path, tables) -> None:
    write_household_cards(tables, tmp_path / "cards", county="guazhou")
    guide = assess.county_guide(
        "guazhou",
        households=tables.households,
        villages=tables.villages,
        household_plans=tables.household_plans,
    )
    page = report.county_guide_html(guide, scenario="plan_2015")
    root = ET.fromstring(page)
    links = [a.get("href") for a in root.iter("a") if "cards/" in (a.get("href") or "")]
    assert len(links) == len(guide.households) > 0
    for href in links:
        assert (tmp_path / "guide" / href).resolve().is_file(), href
    # One village per page, a search box, and an inline script only (nothing from elsewhere).
    villages = [s for s in root.iter("section") if s.get("class") == "hh-village"]
    assert len(villages) == guide.households["village_id"].nunique()
    assert root.find(".//input[@id='hh-search']") is not None
    scripts = list(root.iter("script"))
    assert len(scripts) == 1 and scripts[0].get("src") is None


def test_write_county_cards_reads_a_finished_run(outputs, tmp_path) -> None:
    done = write_county_cards(outputs, "plan_2015", county="yumen", out=tmp_path, workers=1)
    assert done.folder == tmp_path and done.n_cards == len(list(tmp_path.glob("household_*")))
    with pytest.raises(InputError, match="no finished run"):
        write_county_cards(outputs, "missing", county="yumen")


def test_card_command_writes_a_county(outputs, tmp_path) -> None:
    out = tmp_path / "cards"
    result = CliRunner().invoke(
        cli,
        ["card", "--county", "suzhou", "--outputs", str(outputs), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert re.match(r"\d+ cards written to ", result.output)
    assert any(out.glob("household_*.html"))
    bad = CliRunner().invoke(cli, ["card", "--county", "nowhere", "--outputs", str(outputs)])
    assert bad.exit_code == 2 and "must be a county id" in bad.output
    neither = CliRunner().invoke(cli, ["card", "--outputs", str(outputs)])
    assert neither.exit_code == 2


def _readme_card_commands() -> list[list[str]]:
    lines = [line.split("#")[0].split() for line in README.read_text("utf-8").splitlines()]
    return [words[1:] for words in lines if words[:2] == ["fupinsim", "card"]]


@pytest.mark.slow
def test_readme_household_example_is_registered_in_the_plan_registry(plan_registry) -> None:
    hh = plan_registry.households
    registered = set(hh.loc[hh["is_registered"].astype(bool), "household_id"].astype(int))
    ids = [
        int(args[1])
        for args in _readme_card_commands()
        if "--county" not in args and "--village" not in args
    ]
    assert ids and all(i in registered for i in ids), ids
    villages = [int(args[1]) for args in _readme_card_commands() if "--village" in args]
    assert all(v in set(plan_registry.villages["village_id"].astype(int)) for v in villages)


def test_single_card_out_folder(outputs, tmp_path) -> None:
    path = write_card(outputs, "plan_2015", household_id=KNOWN_HOUSEHOLD_ID, out=tmp_path)
    assert path == tmp_path / f"household_{KNOWN_HOUSEHOLD_ID}.html"


def test_card_names_the_main_cause_packages_and_income_in_chinese(tables) -> None:
    card = assess.household_card(
        KNOWN_HOUSEHOLD_ID,
        households=tables["households"],
        villages=tables["villages"],
        household_plans=tables["household_plans"],
    )
    assert card.numbers.main_cause == "illness" and card.numbers.main_cause_zh == "因病"
    text = "".join(ET.fromstring(report.household_card_html(card)).itertext())
    assert "Main cause of poverty 致贫原因因病 illness" in text
    assert "Main cause of poverty recorded: 因病 illness" in text
    assert "贷款养30只羊" in text  # the household's package (sheep_credit)
    assert "工资性收入" in text  # income sources
