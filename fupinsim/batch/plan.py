"""The scenarios of a batch (checked before anything runs) and the manifest of each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fupinsim.batch.summary import ScenarioRun, _now
from fupinsim.errors import InputError, Problem
from fupinsim.scenario import Scenario, load_scenario


@dataclass(frozen=True)
class _Planned:
    scenario: Scenario
    scenario_file: Path
    final_dir: Path


def _scenario_file(item: str | Path) -> Path:
    """A scenario argument as a file: a path, or a bare id looked up in ``scenarios/``."""
    path = Path(item)
    if path.suffix not in {".yaml", ".yml"} and not path.is_file():
        path = Path("scenarios") / f"{item}.yaml"
    return path.resolve()


def _plan_scenarios(scenarios: Iterable[str | Path], outputs: Path) -> list[_Planned]:
    planned: list[_Planned] = []
    problems: list[Problem] = []
    errors: list[InputError] = []
    for item in scenarios:
        path = _scenario_file(item)
        try:
            scenario = load_scenario(path)
        except InputError as exc:
            errors.append(exc)
            problems += list(exc.problems)
            continue
        planned.append(_Planned(scenario, path, outputs / scenario.id))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputError(problems, summary=f"{len(errors)} scenario files are not valid")
    ids = [plan.scenario.id for plan in planned]
    doubles = sorted({scenario_id for scenario_id in ids if ids.count(scenario_id) > 1})
    if doubles:
        files = [str(plan.scenario_file) for plan in planned if plan.scenario.id in doubles]
        raise InputError.single(
            "scenarios", files, f"must have distinct ids (they share {', '.join(doubles)})"
        )
    if not planned:
        raise InputError.single("scenarios", [], "must name at least one scenario file")
    return planned


def _manifest(
    plan: _Planned,
    *,
    run: ScenarioRun,
    status: str,
    version: str,
    notebooks: Sequence[Path],
    fingerprints: Mapping[str, str],
    skipped_notebooks: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    manifest: dict[str, Any] = dict(run.manifest_fields)
    manifest.update(
        status=status,
        scenario_id=plan.scenario.id,
        scenario_file=str(plan.scenario_file),
        scenario_hash=plan.scenario.hash,
        seed=plan.scenario.seed,
        replications=plan.scenario.microsim.replications,
        code_version=version,
        notebooks={
            path.name: {"source": str(path), "code_sha256": fingerprints[path.name]}
            for path in notebooks
        },
        environment=dict(run.environment),
        started_at=run.started_at,
        finished_at=run.finished_at or _now(),
        timings_s=dict(run.timings_s),
    )
    if skipped_notebooks:
        manifest["notebooks_skipped"] = dict(skipped_notebooks)
    if status != "complete":
        manifest.update(failed_step=run.failed_step, error=run.error)
    return manifest
