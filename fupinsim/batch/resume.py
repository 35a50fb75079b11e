"""Which existing outputs ``fupinsim batch --resume`` may keep."""

from __future__ import annotations

from collections.abc import Mapping

from fupinsim.batch.plan import _Planned
from fupinsim.errors import InputError
from fupinsim.io.outputs import (
    read_manifest,
)


def _skip_reason(plan: _Planned, version: str, fingerprints: Mapping[str, str]) -> str | None:
    """Why the existing output can be kept (``resume``), or None if the scenario must run."""
    try:
        manifest = read_manifest(plan.final_dir)
    except InputError:
        return None
    if manifest is None or manifest.get("status") != "complete":
        return None
    recorded = {
        name: entry.get("code_sha256") if isinstance(entry, Mapping) else None
        for name, entry in (manifest.get("notebooks") or {}).items()
    }
    same = (
        manifest.get("scenario_hash") == plan.scenario.hash
        and manifest.get("code_version") == version
        and recorded == dict(fingerprints)
    )
    if not same:
        return None
    finished = manifest.get("finished_at")
    return f"up to date (same scenario hash, code version and notebooks; finished {finished})"
