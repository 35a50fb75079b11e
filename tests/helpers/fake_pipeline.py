"""A stand-in for ``fupinsim.pipeline.run_to_directory`` in the batch-runner tests.

Importable by worker processes as ``helpers.fake_pipeline:run_to_directory`` when ``tests/`` is
on ``sys.path`` / ``PYTHONPATH``. What it does depends on words in the scenario id:

``broken``
    writes a table the notebook ``report_numbers.ipynb`` cannot read (the *notebook* fails);
``pipefail``
    raises in the pipeline itself;
``crash``
    kills its own worker process (as the out-of-memory killer would);
``slow``
    writes its table, then a marker file (path in ``FAKE_PIPELINE_MARKER``, content: its pid)
    and sleeps ``FAKE_PIPELINE_SLEEP_S`` seconds (default 60).

Otherwise it writes ``tables/numbers.csv|parquet`` with values 1, 2 and ``seed % 10`` and
returns a few manifest fields.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pandas as pd

from fupinsim.io.outputs import write_tables
from fupinsim.scenario import Scenario


def numbers_table(scenario: Scenario) -> pd.DataFrame:
    """The table the fake pipeline writes: three rows, ``value`` sums to 3 + seed % 10."""
    values = [1, 2, scenario.seed % 10]
    counties = ["suzhou", "yumen", "aksai"]
    if "broken" in scenario.id:
        return pd.DataFrame({"county_id": counties, "value": ["1", "2", "not a number"]})
    return pd.DataFrame({"county_id": counties, "value": values})


def run_to_directory(scenario: Scenario, folder: Path) -> dict[str, Any]:
    """Write ``tables/numbers.*`` into ``folder`` and return manifest fields."""
    if "pipefail" in scenario.id:
        raise RuntimeError(f"fake pipeline failure for {scenario.id}")
    if "crash" in scenario.id:
        os.kill(os.getpid(), signal.SIGKILL)
    write_tables({"numbers": numbers_table(scenario)}, folder)
    if "slow" in scenario.id:
        marker = Path(os.environ["FAKE_PIPELINE_MARKER"])
        # Written whole, then renamed: a test polling for the marker never reads it half-written.
        partial = marker.with_name(marker.name + ".partial")
        partial.write_text(str(os.getpid()), encoding="utf-8")
        partial.replace(marker)
        time.sleep(float(os.environ.get("FAKE_PIPELINE_SLEEP_S", "60")))
    return {"solver": "none (fake pipeline)", "tables": ["numbers"], "n_households": 3}


def returns_reserved_field(scenario: Scenario, folder: Path) -> dict[str, Any]:
    """A broken pipeline that tries to set a manifest field the batch runner owns."""
    write_tables({"numbers": numbers_table(scenario)}, folder)
    return {"status": "my own status"}


def counts_registry(
    scenario: Scenario, folder: Path, *, scenario_file: str | None = None
) -> dict[str, Any]:
    """Write ``tables/registry_counts.*``: households per county of the registry the run uses
    (the scenario's ``registry.source: file`` read relative to ``scenario_file``)."""
    from fupinsim.io.registry_files import registry_for_run
    from fupinsim.registry import generate_registry

    registry = registry_for_run(scenario, None, scenario_file) or generate_registry(scenario)
    counts = registry.households.groupby("county_id", observed=True).size()
    table = counts.rename("households").reset_index().astype({"county_id": str})
    write_tables({"registry_counts": table}, folder)
    return {"solver": "none (fake pipeline)", "n_households": int(counts.sum())}
