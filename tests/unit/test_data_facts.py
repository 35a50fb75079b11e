"""Reference data: every value carries its unit and its source, or says ESTIMATE and how."""

from __future__ import annotations

from typing import Any

import pytest

from fupinsim import data

FILES = data.facts_files()


def test_the_packaged_files_are_found() -> None:
    assert {"counties", "exit_schedule", "poverty_line", "registry_calibration"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_every_fact_has_unit_and_source(name: str) -> None:
    assert data.check_facts(name) == []
    assert sum(1 for _ in data.iter_facts(name)) > 0


@pytest.mark.parametrize("name", FILES)
def test_every_source_starts_with_a_known_tag(name: str) -> None:
    for path, fact in data.iter_facts(name):
        assert str(fact["source"]).startswith(data.SOURCE_TAGS), (name, path)


# The checker itself, on small hand-made files: (content, problems expected)
CHECKER_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"line": {"value": 2800, "unit": "yuan", "source": "FOUND [YNYB]"}}, []),
    (
        {"records": [{"year": 2014, "line": {"value": 1, "unit": "u", "source": "PLAN §2"}}]},
        [],  # a bare year identifies a record
    ),
    ({"line": {"value": 2800, "source": "FOUND x"}}, ["t.yaml line: no unit"]),
    ({"line": {"value": 2800, "unit": " ", "source": "FOUND x"}}, ["t.yaml line: no unit"]),
    ({"line": {"value": 2800, "unit": "yuan"}}, ["t.yaml line: no source"]),
    (
        {"line": {"value": 2800, "unit": "yuan", "source": "a book"}},
        ["t.yaml line: source must start with one of ('PLAN', 'FOUND', 'DERIVED', 'ESTIMATE')"],
    ),
    (
        {"line": {"value": 2800, "unit": "yuan", "source": "ESTIMATE"}},
        ["t.yaml line: an ESTIMATE must say how it was made"],
    ),
    (
        {"line": {"value": 1, "unit": "u", "source": "FOUND x", "note": "n"}},
        ["t.yaml line: unexpected keys ['note']"],
    ),
    ({"a": {"b": [1.5]}}, ["t.yaml a.b[0]: bare number 1.5 without unit and source"]),
    ({"year": 2015, "x": 3}, ["t.yaml x: bare number 3 without unit and source"]),
]


@pytest.mark.parametrize(("content", "problems"), CHECKER_CASES)
def test_check_facts_finds_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, content: dict[str, Any], problems: list[str]
) -> None:
    monkeypatch.setattr(data, "load_raw", lambda name: content)
    assert data.check_facts("t") == problems


def test_plain_values_replace_facts() -> None:
    node = {"a": {"value": 1, "unit": "u", "source": "FOUND"}, "b": [{"value": 2}], "c": "x"}
    assert data.plain(node) == {"a": 1, "b": [2], "c": "x"}


def test_calibration_cells_add_up_to_the_plan() -> None:
    cells = data.registry_calibration()["cells"]
    assert sum(c["registered_households"] for c in cells) == 12_600
    assert sum(c["registered_people"] for c in cells) == 47_700
    assert {c["county"] for c in cells} == set(data.COUNTY_IDS)
    # Guazhou's poor are about 89% immigrants (FOUND 88.8%, docs/sources.md [GZ21]).
    guazhou = {
        c["immigrant"]: c["registered_households"] for c in cells if c["county"] == "guazhou"
    }
    assert guazhou[True] / (guazhou[True] + guazhou[False]) == pytest.approx(0.888, abs=0.005)


def test_poverty_line_of_the_base_year() -> None:
    assert data.poverty_line(2014) == 2_800
    assert data.poverty_line(2016) == 2_952
    with pytest.raises(KeyError, match="no poverty line for 2031"):
        data.poverty_line(2031)


def test_the_county_ids_are_defined_once_in_the_data() -> None:
    """``counties.yaml`` is the one definition: the scenario's ``CountyId`` Literal (validation
    and JSON schema) and the figures' county colours follow it, in its order."""
    from typing import get_args

    from fupinsim.plots import COUNTY_COLORS
    from fupinsim.scenario import COUNTY_IDS, CountyId

    ids = tuple(str(r["id"]) for r in data.load_raw("counties")["records"])
    assert ids == data.COUNTY_IDS
    assert COUNTY_IDS is data.COUNTY_IDS
    assert get_args(CountyId) == ids
    assert tuple(COUNTY_COLORS) == ids
    assert len(set(COUNTY_COLORS.values())) == len(ids)


def test_the_funding_defaults_come_from_the_data() -> None:
    """The funding section's per-level and per-year defaults are ``funding_defaults.yaml``'s,
    and each per-level table names the city and every county."""
    from fupinsim.scenario import FundingSettings

    defaults = data.plain(data.load_raw("funding_defaults"))
    settings = FundingSettings()
    for name in ("revenue_2014_wan", "idle_stock_wan", "integrated_agriculture_wan"):
        assert getattr(settings, name) == defaults[name]
        levels = set(defaults[name])
        assert levels - {"city"} == set(data.COUNTY_IDS), name
    assert settings.revenue_growth == defaults["revenue_growth"]
    assert settings.provincial_transfer_wan == defaults["provincial_transfer_wan"]
    assert settings.pairing_donations_wan == defaults["pairing_donations_wan"]
    settings.idle_stock_wan["city"] = 0.0  # each scenario gets its own copy
    assert FundingSettings().idle_stock_wan["city"] == defaults["idle_stock_wan"]["city"]
