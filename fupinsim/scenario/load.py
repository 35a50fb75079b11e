"""Loading a scenario: read a file safely, merge ``extends`` chains, validate the result.

``plan_2015.yaml`` is the Jiuquan plan as written; other scenarios say ``extends: plan_2015`` and
override only what differs (:func:`merge_overrides`). The merged mapping is validated by
:class:`~fupinsim.scenario.model.Scenario`; every pydantic error becomes a
:class:`~fupinsim.errors.Problem` naming the file, the field path, the value and what is allowed
(with a "Did you mean" for a misspelt field).
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from fupinsim.errors import Problem, ScenarioError
from fupinsim.scenario.model import Scenario
from fupinsim.scenario.safe_yaml import load_yaml_document

__all__ = ["load_scenario", "merge_overrides", "read_scenario_mapping", "validate_mapping"]


def read_scenario_mapping(path: Path) -> dict[str, Any]:
    """Read one scenario file as a plain mapping (no merging, no validation).

    The file is parsed safely and within limits (:mod:`fupinsim.scenario.safe_yaml`): size,
    UTF-8 text, nesting depth, alias expansion, Python (and any custom) tags and duplicate keys
    are reported with their line and field path before anything is constructed.

    Raises
    ------
    ScenarioError
        The file is missing, breaks a limit, is not YAML, uses Python tags, repeats a key, or is
        not a mapping.
    """
    data = load_yaml_document(path)
    if not isinstance(data, dict):
        found_type = "an empty file" if data is None else f"a YAML {type(data).__name__}"
        raise ScenarioError.single(
            str(path),
            found_type,
            "must be a YAML mapping of 'field: value' lines (id, title, description, ...)",
        )
    return data


def merge_overrides(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into ``base``: mappings merge key by key, anything else replaces."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_overrides(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve_extends(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    data = read_scenario_mapping(path)
    if path.resolve() in chain:
        names = " → ".join(p.stem for p in (*chain, path.resolve()))
        raise ScenarioError.single(
            f"{path}: extends", data.get("extends"), f"must not loop ({names})"
        )
    base_id = data.get("extends")
    if base_id is None:
        return data
    if not isinstance(base_id, str) or not base_id:
        raise ScenarioError.single(f"{path}: extends", base_id, "must be a scenario id")
    base_path = path.parent / f"{base_id}.yaml"
    if not base_path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ScenarioError.single(
            f"{path}: extends",
            base_id,
            f"must name a scenario in {path.parent}/ (one of {', '.join(available)})",
        )
    base = _resolve_extends(base_path, (*chain, path.resolve()))
    # The child's own title/description must be given; never inherit them silently.
    for key in ("id", "title", "description"):
        base.pop(key, None)
    return merge_overrides(base, data)


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


_COMPARISONS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}
_TYPE_RULES = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of 'key: value' lines",
    "model_type": "must be a section (a mapping of 'field: value' lines)",
    "model_attributes_type": "must be a section (a mapping of 'field: value' lines)",
}


def _allowed(error: Mapping[str, Any], known: Sequence[str]) -> tuple[str, str]:
    """Turn a pydantic error into the positive rule a planner reads, and a fix if there is one."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    fix = ""
    if kind == "extra_forbidden":
        name = str(error["loc"][-1]) if error["loc"] else ""
        close = difflib.get_close_matches(name, list(known), n=1)
        fix = f"Did you mean '{close[0]}'?" if close else ""
        rule = "is not a known field here (see scenarios/schema.json)"
        rule = f"{rule}; known fields: {', '.join(known)}" if known else rule
    elif kind == "missing":
        rule = "is required"
    elif kind == "literal_error":
        rule = f"must be one of {ctx.get('expected', '')}"
    elif kind in _COMPARISONS:
        rule = f"must be {_COMPARISONS[kind]} {next(iter(ctx.values()))}"
    elif kind in _TYPE_RULES:
        rule = _TYPE_RULES[kind]
    elif kind == "string_pattern_mismatch":
        rule = f"must match the pattern {ctx.get('pattern')}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        rule = message[:1].lower() + message[1:]
    return rule, fix


def _section_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section model behind an annotation, and whether a mapping key comes first."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        value = args[1] if len(args) == 2 else None
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value, True
    return None, False


def _known_fields(loc: Sequence[int | str]) -> list[str]:
    """Fields allowed where the last part of ``loc`` sits (empty if not inside a section)."""
    model: type[BaseModel] | None = Scenario
    parts = list(loc[:-1])
    while parts and model is not None:
        info = model.model_fields.get(str(parts.pop(0)))
        model, keyed = _section_model(info.annotation if info else None)
        if keyed and parts:
            parts.pop(0)  # the mapping key (e.g. a catalogue entry id)
    return list(model.model_fields) if model is not None else []


def _problem(err: Mapping[str, Any], where: str) -> Problem:
    loc = tuple(err["loc"])
    if err["type"] == "scenario_field":  # raised by a section's validator via invalid_field
        ctx = err["ctx"]
        return Problem(f"{where}: {_location((*loc, ctx['field']))}", ctx["value"], ctx["rule"])
    rule, fix = _allowed(err, _known_fields(loc))
    value = None if err["type"] == "missing" else err.get("input")
    return Problem(f"{where}: {_location(loc)}", value, rule, fix)


def validate_mapping(data: Mapping[str, Any], where: str) -> Scenario:
    """Validate a merged scenario mapping; every problem is reported with field and value."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        problems = [_problem(err, where) for err in exc.errors(include_url=False)]
        raise ScenarioError(problems, summary=f"{where}: scenario is not valid") from None


def load_scenario(path: str | Path, scenarios_dir: str | Path | None = None) -> Scenario:
    """Load, merge (``extends``) and validate a scenario.

    Parameters
    ----------
    path:
        A scenario file, or a bare id looked up in ``scenarios_dir`` (default ``scenarios/``).
    scenarios_dir:
        Folder for bare ids.

    Raises
    ------
    ScenarioError
        With one :class:`~fupinsim.errors.Problem` per invalid field.
    """
    candidate = Path(path)
    if candidate.suffix not in {".yaml", ".yml"} and not candidate.is_file():
        candidate = Path(scenarios_dir or "scenarios") / f"{path}.yaml"
    merged = _resolve_extends(candidate)
    if "id" in merged and merged["id"] != candidate.stem:
        raise ScenarioError.single(
            f"{candidate}: id", merged["id"], f"must equal the file name stem '{candidate.stem}'"
        )
    merged.setdefault("id", candidate.stem)
    return validate_mapping(merged, str(candidate))
