"""Scenarios: the model and its JSON Schema, ``extends`` merging, the content hash, safe loading,
and one broken file per failure mode in ``tests/data/bad_scenarios/``."""

from __future__ import annotations

import json
import shutil
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from fupinsim.errors import ScenarioError
from fupinsim.scenario import (
    Scenario,
    load_scenario,
    merge_overrides,
    read_scenario_mapping,
    scenario_hash,
    scenario_json_schema,
)
from fupinsim.scenario.safe_yaml import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
BAD = ROOT / "tests" / "data" / "bad_scenarios"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def plan_copy(tmp_path: Path) -> Path:
    """A scratch scenarios folder holding a copy of plan_2015.yaml."""
    shutil.copy(SCENARIOS / "plan_2015.yaml", tmp_path / "plan_2015.yaml")
    return tmp_path / "plan_2015.yaml"


# ----------------------------------------------------------------------------------------------
# The plan as written


def test_plan_2015_is_the_plan_as_written(plan_scenario: Scenario) -> None:
    assert plan_scenario.id == "plan_2015"
    assert plan_scenario.registry.n_registered_households == 12_600
    assert plan_scenario.registry.n_registered_people == 47_700
    assert plan_scenario.funding.earmark_share_city == 0.10
    assert plan_scenario.funding.earmark_share_county == 0.15
    assert plan_scenario.microsim.health.serious_illness_threshold_yuan == 5_000
    assert plan_scenario.microsim.health.serious_illness_threshold_poor_yuan == 3_000
    assert plan_scenario.years == list(range(2014, plan_scenario.microsim.horizon + 1))
    assert len(plan_scenario.counties) == 7


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_committed_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.id == path.stem
    assert len(scenario.hash) == 16


def test_scenario_is_frozen(plan_scenario: Scenario) -> None:
    with pytest.raises(ValidationError):
        plan_scenario.seed = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        plan_scenario.registry.n_registered_households = 1  # type: ignore[misc]


def test_a_bare_id_is_looked_up_in_the_scenarios_folder() -> None:
    assert load_scenario("plan_2015", scenarios_dir=SCENARIOS).id == "plan_2015"


# ----------------------------------------------------------------------------------------------
# Schema: every field described, with a unit; scenarios/schema.json current


def _section_models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield model
    for info in model.model_fields.values():
        for candidate in (info.annotation, *typing.get_args(info.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from _section_models(candidate)


def test_every_field_of_every_section_has_a_description_and_a_unit() -> None:
    missing = []
    models = set(_section_models(Scenario))
    assert len(models) >= 9  # scenario, registry, identification, microsim, shocks, health, ...
    for model in models:
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if not (info.description or "").strip() or not str(extra.get("unit", "")).strip():
                missing.append(f"{model.__name__}.{name}")
    assert missing == []


def _schema_properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for owner in [schema, *schema.get("$defs", {}).values()]:
        for name, prop in owner.get("properties", {}).items():
            yield f"{owner.get('title')}.{name}", prop


def test_json_schema_has_a_description_and_unit_for_every_property() -> None:
    schema = scenario_json_schema()
    properties = list(_schema_properties(schema))
    assert len(properties) > 60
    bad = [name for name, prop in properties if not prop.get("description") or not prop.get("unit")]
    assert bad == []
    assert schema["additionalProperties"] is False
    assert all(d.get("additionalProperties") is False for d in schema["$defs"].values())


def test_committed_schema_json_is_current() -> None:
    committed = json.loads((SCENARIOS / "schema.json").read_text(encoding="utf-8"))
    assert committed == scenario_json_schema(), (
        "scenarios/schema.json is stale: run `fupinsim schema > scenarios/schema.json`"
    )


# ----------------------------------------------------------------------------------------------
# extends


@pytest.mark.parametrize(
    ("base", "override", "merged"),
    [
        ({"a": 1, "b": 2}, {"b": 3}, {"a": 1, "b": 3}),
        ({"s": {"x": 1, "y": 2}}, {"s": {"y": 5}}, {"s": {"x": 1, "y": 5}}),
        ({"s": {"t": {"x": 1, "y": 2}}}, {"s": {"t": {"x": 9}}}, {"s": {"t": {"x": 9, "y": 2}}}),
        ({"l": [1, 2, 3]}, {"l": [4]}, {"l": [4]}),  # lists are replaced, never appended
        ({"s": {"x": 1}}, {"s": None}, {"s": None}),  # a non-mapping replaces a section
        ({"a": 1}, {"n": {"x": 1}}, {"a": 1, "n": {"x": 1}}),
    ],
)
def test_merge_overrides(
    base: dict[str, Any], override: dict[str, Any], merged: dict[str, Any]
) -> None:
    before = json.dumps(base, sort_keys=True)
    assert merge_overrides(base, override) == merged
    assert json.dumps(base, sort_keys=True) == before  # the base is not changed


def test_child_overrides_only_what_differs(plan_copy: Path) -> None:
    child = _write(
        plan_copy.with_name("child.yaml"),
        "id: child\nextends: plan_2015\ntitle: Child\ndescription: Fewer replications.\n"
        "microsim:\n  replications: 50\n  health:\n    serious_illness_rate: 0.6\n"
        "counties: [suzhou, jinta]\n",
    )
    base, loaded = load_scenario(plan_copy), load_scenario(child)
    assert loaded.extends == "plan_2015"
    assert loaded.title == "Child"
    assert loaded.microsim.replications == 50
    assert loaded.microsim.health.serious_illness_rate == 0.6
    # Siblings of overridden fields keep the base's values, at every depth.
    assert loaded.microsim.horizon == base.microsim.horizon
    assert loaded.microsim.health.ncms_poor_bonus_points == 0.05
    assert loaded.registry == base.registry
    assert loaded.funding == base.funding
    assert loaded.counties == ["suzhou", "jinta"]  # lists replace


def test_extends_chains_and_the_merged_result_is_validated(plan_copy: Path) -> None:
    _write(
        plan_copy.with_name("middle.yaml"),
        "extends: plan_2015\ntitle: M\ndescription: M.\nmicrosim:\n  horizon: 2018\n",
    )
    leaf = _write(
        plan_copy.with_name("leaf.yaml"),
        "extends: middle\ntitle: L\ndescription: L.\nmicrosim:\n  first_year: 2018\n",
    )
    # Each file alone is fine; merged, the horizon is no longer after the first year.
    with pytest.raises(ScenarioError) as caught:
        load_scenario(leaf)
    message = str(caught.value)
    assert "leaf.yaml: microsim.horizon" in message
    assert "must be after microsim.first_year (2018)" in message
    assert "got 2018" in message


def test_title_and_description_are_never_inherited(plan_copy: Path) -> None:
    child = _write(plan_copy.with_name("bare.yaml"), "extends: plan_2015\nseed: 3\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(child)
    wheres = {p.where for p in caught.value.problems}
    assert wheres == {f"{child}: title", f"{child}: description"}
    assert all(p.rule == "is required" and p.value is None for p in caught.value.problems)


def test_national_scenario_extends_the_plan(national_scenario: Scenario) -> None:
    assert national_scenario.extends == "plan_2015"
    assert national_scenario.registry.n_registered_households == 29_480_000
    assert national_scenario.registry.n_registered_people == 89_620_000
    assert national_scenario.registry.include_nonregistered is False


# ----------------------------------------------------------------------------------------------
# Hash


def test_hash_ignores_key_order_formatting_comments_and_number_spelling(plan_copy: Path) -> None:
    original = load_scenario(plan_copy).hash
    data = yaml.safe_load(plan_copy.read_text(encoding="utf-8"))
    # Reverse every mapping's key order, write in flow style, spell whole floats as ints and
    # integers as floats, and drop the comments.
    data["funding"]["earmark_share_city"] = 0.1  # was 0.10
    data["microsim"]["health"]["serious_illness_threshold_yuan"] = 5000.0  # was 5000
    data["microsim"]["health"]["ncms_poor_bonus_points"] = 0.050

    def reverse(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: reverse(node[k]) for k in reversed(list(node))}
        return node

    text = yaml.safe_dump(reverse(data), default_flow_style=True, sort_keys=False, width=60)
    rewritten = _write(plan_copy, text)
    assert load_scenario(rewritten).hash == original


def test_hash_of_a_child_equals_its_merged_copy_written_in_full(
    plan_copy: Path, tmp_path: Path
) -> None:
    child = _write(
        plan_copy.with_name("child.yaml"),
        "extends: plan_2015\ntitle: C\ndescription: C.\nseed: 7\nmicrosim:\n  replications: 9\n",
    )
    loaded = load_scenario(child)
    full = loaded.model_dump(mode="json", exclude={"extends"})
    folder = tmp_path / "full"
    folder.mkdir()
    written = _write(folder / "child.yaml", yaml.safe_dump(full, sort_keys=True))
    assert load_scenario(written).hash == loaded.hash


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        yield path, node
    else:
        yield path, node


def _changed(value: Any) -> list[Any]:
    """Candidate changed values for a leaf (the first that validates is used)."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [value * 1.01 if value else 0.001, value * 0.99, value + 0.001, value - 0.001]
    if isinstance(value, str):
        return [value + "x", "file" if value == "synthetic" else "synthetic", "max_exits", "cbc"]
    if isinstance(value, list):
        return [value[:-1], [*value, value[-1]]] if value else []
    return []


def test_changing_any_value_changes_the_hash(plan_scenario: Scenario) -> None:
    """Every leaf of the merged scenario counts: change each one (validly) and re-hash."""
    base = plan_scenario.model_dump(mode="json", exclude={"extends"})
    seen = set()
    changed = 0
    for path, value in _leaves(base):
        for candidate in _changed(value):
            data = json.loads(json.dumps(base))
            node = data
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = candidate
            try:
                other = Scenario.model_validate(data)
            except ValidationError:
                continue
            assert scenario_hash(other) != plan_scenario.hash, path
            seen.add(scenario_hash(other))
            changed += 1
            break
    leaves = sum(1 for _ in _leaves(base))
    assert changed >= 0.9 * leaves  # almost every leaf has a valid change
    assert len(seen) == changed  # and every change gives its own hash


# ----------------------------------------------------------------------------------------------
# Safe loading


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    path = _write(
        tmp_path / "evil.yaml",
        f"id: evil\ntitle: t\ndescription: d\nmicrosim:\n"
        f'  replications: !!python/object/apply:os.system ["touch {marker}"]\n',
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert not marker.exists()
    message = str(caught.value)
    assert "line 5: microsim.replications" in message
    assert "'!!python/object/apply:os.system'" in message


@pytest.mark.parametrize(
    "tag", ["!!python/name:os.system", "!!python/object:fupinsim.scenario.Scenario", "!custom"]
)
def test_any_unsafe_tag_is_refused(tmp_path: Path, tag: str) -> None:
    path = _write(tmp_path / "tagged.yaml", f"id: tagged\nseed: {tag} 3\n")
    with pytest.raises(ScenarioError, match="custom YAML tags are not allowed"):
        read_scenario_mapping(path)


def test_duplicate_key_in_a_section_names_its_path(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "dup.yaml",
        "id: dup\nmicrosim:\n  health:\n    serious_illness_rate: 0.5\n"
        "    serious_illness_rate: 0.6\n",
    )
    with pytest.raises(ScenarioError) as caught:
        read_scenario_mapping(path)
    assert "line 5: microsim.health.serious_illness_rate" in str(caught.value)
    assert "duplicate key" in str(caught.value)


def test_anchors_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "anchors.yaml",
        "common: &c {x: 1, y: 2}\nfirst: *c\nsecond:\n  <<: *c\n  y: 3\n",
    )
    data = read_scenario_mapping(path)
    assert data["first"] == {"x": 1, "y": 2}
    assert data["second"] == {"x": 1, "y": 3}  # an explicit key after a merge is not a duplicate


def _refused(path: Path) -> str:
    """The one-line message a scenario file is refused with (checked to be one line)."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert len(caught.value.problems) == 1
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"id: huge\n" + b"# padding\n" * (MAX_FILE_BYTES // 10))
    message = _refused(path)
    assert f"must be at most {MAX_FILE_BYTES:,} bytes (scenario file size limit)" in message
    assert f"got '{path.stat().st_size:,} bytes'" in message


def test_a_file_just_under_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "padded.yaml"
    text = (
        (SCENARIOS / "plan_2015.yaml")
        .read_text(encoding="utf-8")
        .replace("id: plan_2015", "id: padded")
    )
    padding = "#" * 99 + "\n"
    count = (MAX_FILE_BYTES - len(text.encode("utf-8"))) // len(padding)
    path.write_text(text + padding * count, encoding="utf-8")
    assert path.stat().st_size <= MAX_FILE_BYTES
    assert load_scenario(path).id == "padded"


@pytest.mark.parametrize(
    "bomb",
    [
        "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)),
        "m0: &m0 {x: 1}\n"  # the same bomb built from merge keys
        + "".join(
            f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}], y{i}: 1}}\n"
            for i in range(1, 10)
        ),
    ],
    ids=["aliases", "merge_keys"],
)
def test_an_alias_bomb_is_refused_at_once(tmp_path: Path, bomb: str) -> None:
    path = _write(tmp_path / "bomb.yaml", "id: bomb\ntitle: t\ndescription: d\n" + bomb)
    start = time.perf_counter()
    message = _refused(path)
    assert time.perf_counter() - start < 5.0  # never expanded: milliseconds, not hours
    assert f"must expand to at most {MAX_NODES:,} YAML nodes" in message


def test_aliases_cannot_nest_deeper_than_the_limit_either(tmp_path: Path) -> None:
    # Each alias adds one level: composed depth 2, expanded depth 25.
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 25))
    path = _write(tmp_path / "chain.yaml", "id: chain\n" + chain)
    message = _refused(path)
    assert f"must nest at most {MAX_DEPTH} levels" in message
    assert "with aliases expanded" in message


def test_nesting_at_the_limit_is_read(tmp_path: Path) -> None:
    value = "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)
    path = _write(tmp_path / "nested.yaml", f"id: nested\nvalue: {value}\n")
    assert read_scenario_mapping(path)["id"] == "nested"


def test_a_file_saved_as_utf16_is_named_as_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "utf16.yaml"
    path.write_bytes("id: utf16\ntitle: t\n".encode("utf-16"))
    assert "must be UTF-8 text" in _refused(path)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "many.yaml",
        "id: many\ntitle: t\ndescription: d\nseed: -1\nmicrosim:\n  replications: 0\n"
        "allocation:\n  solver: gurobi\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert {p.where.split(": ")[-1] for p in caught.value.problems} == {
        "seed",
        "microsim.replications",
        "allocation.solver",
    }


# ----------------------------------------------------------------------------------------------
# The broken-scenario folder: (file, field path, value as shown, a fragment of the rule)

BAD_CASES: list[tuple[str, str, str | None, str]] = [
    ("unknown_field.yaml", "sead", "42", "is not a known field here"),
    ("nested_typo.yaml", "microsim.horizn", "2020", "Did you mean 'horizon'?"),
    ("deep_typo.yaml", "microsim.health.ilness_probability_adult", "0.1", "Did you mean"),
    ("out_of_range.yaml", "microsim.replications", "0", "must be >= 1"),
    ("share_above_one.yaml", "funding.earmark_share_county", "15", "must be <= 1"),
    ("wrong_type.yaml", "microsim.replications", "'many'", "must be a whole number"),
    ("bad_objective.yaml", "allocation.objective", "'max_profit'", "'min_cost' or 'max_exits'"),
    ("unknown_county.yaml", "counties.1", "'lanzhou'", "must be one of 'suzhou'"),
    ("extends_missing.yaml", "extends", "'no_such_base'", "must name a scenario in"),
    ("extends_loop_a.yaml", "extends", "'extends_loop_b'", "must not loop"),
    ("extends_loop_b.yaml", "extends", "'extends_loop_a'", "must not loop"),
    ("duplicate_key.yaml", "line 6: seed", "'seed'", "must appear only once"),
    ("python_tag.yaml", "line 5: seed", "'!!python/object/apply:os.system'", "tags are not"),
    (
        "weights_not_one.yaml",
        "assessment.weight_income_growth_households + weight_income_growth_villages + "
        "weight_on_schedule_exits",
        "1.1",
        "must sum to 1 (0.45 + 0.15 + 0.5)",
    ),
    (
        "horizon_before_first_year.yaml",
        "microsim.horizon",
        "2013",
        "must be after microsim.first_year (2014)",
    ),
    (
        "people_fewer_than_households.yaml",
        "registry.n_registered_people",
        "12000",
        "must be at least registry.n_registered_households (12600)",
    ),
    ("id_mismatch.yaml", "id", "'wrong_name'", "must equal the file name stem 'id_mismatch'"),
    ("file_without_path.yaml", "registry.path", None, "is required when registry.source"),
    ("missing_title.yaml", "title", None, "is required"),
    ("not_a_mapping.yaml", "", "'a YAML list'", "must be a YAML mapping"),
    ("invalid_yaml.yaml", "line 6", None, "must be valid YAML"),
    # Safe YAML limits (fupinsim.scenario.safe_yaml); the file size limit is tested below on a
    # generated file rather than a megabyte committed here.
    ("alias_bomb.yaml", "line 10", "'more than 100,000 nodes'", "scenario alias expansion limit"),
    (
        "deep_nesting.yaml",
        "line 5",
        None,
        "must nest at most 20 levels of mappings and lists (scenario depth limit)",
    ),
    ("recursive_alias.yaml", "line 5", None, "must not use an alias inside its own anchor"),
    ("not_utf8.yaml", "line 4, byte 103", "'0xbe'", "must be UTF-8 text"),
    ("binary_file.yaml", "line 1, byte 5", "'0x00'", "must be UTF-8 text"),
]


def test_every_broken_scenario_has_a_case() -> None:
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(case[0] for case in BAD_CASES)
    assert len(BAD_CASES) >= 10


@pytest.mark.parametrize(
    ("file", "field_path", "value", "rule"), BAD_CASES, ids=[case[0] for case in BAD_CASES]
)
def test_broken_scenario_message_names_field_and_value(
    file: str, field_path: str, value: str | None, rule: str
) -> None:
    path = BAD / file
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert len(error.problems) == 1, str(error)  # one mistake, one problem
    problem = error.problems[0]
    assert problem.where.startswith(str(path))
    message = str(problem)
    assert field_path in problem.where
    assert rule in message
    if value is None:
        assert problem.value is None
    else:
        assert f"got {value}" in message
