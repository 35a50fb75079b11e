"""Chinese labels: every label a planner or villager reads has a Chinese form in the packaged
data, and no internal code (package ids, enum codes) shows on any page a reader sees."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from helpers.fake_results import KNOWN_HOUSEHOLD_ID, fake_run_tables

from fupinsim import assess, report
from fupinsim.assess.labels import LABEL_SECTIONS, _labels, bilingual, zh_words
from fupinsim.assess.measures import INFRASTRUCTURE_WORKS
from fupinsim.microsim.catalogue import load_catalogue
from fupinsim.registry.schema import INCOME_SOURCES
from fupinsim.report import columns as column_specs
from fupinsim.report.formats import TABLE_SPECS, Col

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _catalogue_package_ids() -> list[str]:
    return [str(p) for p in load_catalogue().packages]


@pytest.mark.parametrize("section", LABEL_SECTIONS)
def test_every_code_of_a_section_has_a_chinese_form(section) -> None:
    english = _labels()[section]
    chinese = zh_words(section)
    assert set(english) <= set(chinese), sorted(set(english) - set(chinese))
    assert all(_CJK.search(chinese[k]) for k in english)


def test_every_catalogue_package_and_work_has_a_chinese_name() -> None:
    ids = _catalogue_package_ids()
    assert ids
    assert not [p for p in ids if p not in zh_words("packages")]
    assert not [p for p in ids if p not in zh_words("packages_short")]
    assert not [w.flag for w in INFRASTRUCTURE_WORKS if w.flag not in zh_words("works")]
    assert set(INCOME_SOURCES) <= set(zh_words("income_sources"))


def test_every_column_header_has_a_chinese_form() -> None:
    cols: list[Col] = [c for spec in TABLE_SPECS.values() for c in spec.columns]
    for name in column_specs.__all__:
        value = getattr(column_specs, name)
        if isinstance(value, tuple):
            cols += [c for c in value if isinstance(c, Col)]
    shown = {c.name for c in cols} - {"county", "county_zh"}  # the names are the headers
    assert not sorted(shown - set(zh_words("columns")))


def test_bilingual_puts_chinese_first_and_leaves_missing_values() -> None:
    assert bilingual("causes", "illness") == "因病 illness"
    assert bilingual("support_classes", "social_security") == "社会保障兜底 social-security cover"
    assert bilingual("causes", None) is None


# ----------------------------------------------------------------------------------------------
# No code on a page


def _codes() -> set[str]:
    """Internal codes a reader must never see: catalogue ids and the enum codes with "_"."""
    codes = set(_catalogue_package_ids())
    codes |= {str(e) for e in load_catalogue().entries}
    for section in (*LABEL_SECTIONS, "packages", "works"):
        codes |= set(_labels().get(section, {})) | set(zh_words(section))
    codes |= set(INCOME_SOURCES)
    return {c for c in codes if "_" in c}


def _visible_text(page: str) -> str:
    """The text a reader sees: element text without scripts, styles and attributes."""
    root = ET.fromstring(page)
    parts = []

    def walk(element: ET.Element) -> None:
        if element.tag in ("script", "style"):
            if element.tail:
                parts.append(element.tail)
            return
        parts.append(element.text or "")
        for child in element:
            walk(child)
        parts.append(element.tail or "")

    walk(root)
    return " ".join(parts)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    tables = fake_run_tables()
    hh, vil = tables.households, tables.villages
    three = assess.three_tables(
        households=hh,
        villages=vil,
        county_year=tables.county_year,
        target_probability=tables.target_probability,
        exit_targets=tables.exit_targets,
        shortfall=tables.shortfall,
    )
    summary = assess.scenario_summary(
        scenario_id="plan_2015",
        title="The plan",
        target_probability=tables.target_probability,
        funding=tables.funding,
        allocation=tables.allocation,
        shortfall=tables.shortfall,
    )
    shortfall = tables.shortfall.copy()
    shortfall["binding_resource"] = shortfall["binding_resource"].where(
        shortfall["missing_exits"] <= 0, "exit_yield"
    )
    out = {
        "report": report.report_html(
            summary=summary,
            tables=three,
            figures={},
            assessment=tables.assessment,
            shortfall=shortfall,
        ),
        "announcement": report.announcement_html(
            assess.announcement(
                households=hh,
                villages=vil,
                target_probability=tables.target_probability,
                household_plans=tables.household_plans,
                allocation=tables.allocation,
                funding=tables.funding,
                village_works=tables.village_works,
            )
        ),
    }
    for county in ("suzhou", "guazhou"):
        guide = assess.county_guide(
            county,
            households=hh,
            villages=vil,
            tables=three,
            household_plans=tables.household_plans,
            allocation=tables.allocation,
            funding=tables.funding,
            village_year=tables.village_year,
            village_works=tables.village_works,
        )
        out[f"guide:{county}"] = report.county_guide_html(guide)
    social = hh[hh["support_class"].astype(str) == "social_security"]["household_id"]
    for hid in (KNOWN_HOUSEHOLD_ID, int(social.iloc[0])):
        card = assess.household_card(
            hid,
            households=hh,
            villages=vil,
            household_plans=tables.household_plans,
            household_results=tables.household_paths,
        )
        out[f"card:{hid}"] = report.household_card_html(card)
    file = assess.village_file(
        int(vil["village_id"].iloc[0]),
        households=hh,
        villages=vil,
        household_plans=tables.household_plans,
        village_year=tables.village_year,
        village_works=tables.village_works,
    )
    out["village"] = report.village_file_html(file)
    return out


def test_no_internal_code_shows_on_any_page(pages) -> None:
    codes = _codes()
    assert {"social_security", "exit_yield", "training_transfer"} <= codes
    pattern = re.compile(r"(?<![\w/.])(" + "|".join(sorted(map(re.escape, codes))) + r")(?![\w.])")
    for name, page in pages.items():
        found = sorted(set(pattern.findall(_visible_text(page))))
        assert not found, f"{name} shows internal codes: {found}"


def test_pages_are_bilingual_and_the_announcement_chinese_first(pages) -> None:
    for name, page in pages.items():
        assert _CJK.search(_visible_text(page)), name
    text = _visible_text(pages["announcement"])
    assert text.index("扶贫") < text.index("Poverty alleviation")
    assert "县级资金" in text  # money sources in Chinese
    assert "社会保障兜底" in _visible_text(pages["report"])  # Table 1's header
