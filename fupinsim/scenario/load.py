"""Loading a scenario: read a file safely, merge ``extends`` chains, validate the result.

``plan_2015.yaml`` is the Jiuquan plan as written; other scenarios say ``extends: plan_2015`` and
override only what differs (:func:`merge_overrides`). The merged mapping is validated by
:class:`~fupinsim.scenario.model.Scenario`; every pydantic error becomes a
:class:`~fupinsim.errors.Problem` naming the file, the field path, the value and what is allowed
(with a "Did you mean" for a misspelt field).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fupinsim.errors import ScenarioError
from fupinsim.scenario.model import Scenario
from fupinsim.scenario.problems import validation_problems
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


def validate_mapping(data: Mapping[str, Any], where: str) -> Scenario:
    """Validate a merged scenario mapping; every problem is reported with field and value."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        problems = validation_problems(exc, where, Scenario, hint="see scenarios/schema.json")
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
