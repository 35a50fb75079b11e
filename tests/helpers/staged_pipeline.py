"""A fake pipeline that reports stages and logs, like ``fupinsim.io.run.run_to_directory``.

Importable by worker processes as ``helpers.staged_pipeline:run_to_directory`` when ``tests/``
is on ``sys.path`` / ``PYTHONPATH``. It calls ``step`` with each name in :data:`STAGES` (and a
closing ``done``, as the real pipeline does), waiting ``STAGED_PIPELINE_PAUSE_S`` seconds (default
0) after each, logs one INFO record through a ``fupinsim`` logger, writes the fake pipeline's
``tables/numbers.*`` and a stand-in ``report.html``. ``run_to_directory.stages`` tells the batch
how many stages to expect (its progress bar's total).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fupinsim.scenario import Scenario
from helpers.fake_pipeline import run_to_directory as write_numbers

STAGES = ("registry", "funding", "write")

logger = logging.getLogger("fupinsim.tests.staged_pipeline")


def stages(scenario: Scenario) -> tuple[str, ...]:
    """The stages :func:`run_to_directory` reports for ``scenario``."""
    return STAGES


def run_to_directory(
    scenario: Scenario, folder: Path, *, step: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Report :data:`STAGES`, log a record, write ``tables/numbers.*``; manifest fields."""
    pause = float(os.environ.get("STAGED_PIPELINE_PAUSE_S", "0"))
    for name in STAGES:
        if step is not None:
            step(name)
        time.sleep(pause)
    logger.info("staged pipeline wrote %s for %s", folder.name, scenario.id)
    fields = write_numbers(scenario, folder)
    (folder / "report.html").write_text(f"<h1>{scenario.id}</h1>\n", encoding="utf-8")
    if step is not None:
        step("done")
    return fields


run_to_directory.stages = stages  # type: ignore[attr-defined]
