"""What a batch reports: per-scenario runs and outcomes, the summary, the interruption."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

OutcomeStatus = Literal["done", "skipped", "failed"]

_MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class ScenarioRun:
    """What a worker reports about one scenario it computed into a work folder.

    Attributes
    ----------
    scenario_id:
        The scenario id (the file stem when the file could not be loaded).
    ok:
        True when the pipeline and every notebook succeeded.
    failed_step:
        ``"scenario"``, ``"pipeline"`` or ``"notebook <name>"``; empty when ``ok``.
    error:
        One line: the exception type and message (for a notebook, the cell's error).
    traceback:
        The full Python traceback of the failure, for ``logs/traceback.txt``.
    manifest_fields:
        What the pipeline returned for the manifest.
    timings_s:
        Seconds: ``pipeline``, ``notebooks`` (name → seconds) and ``total``.
    environment:
        :func:`fupinsim.io.outputs.environment_info` of the worker.
    started_at, finished_at:
        ISO 8601 UTC times.
    """

    scenario_id: str
    ok: bool
    failed_step: str = ""
    error: str = ""
    traceback: str = ""
    manifest_fields: Mapping[str, Any] = field(default_factory=dict)
    timings_s: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""


@dataclass(frozen=True)
class ScenarioOutcome:
    """How one scenario of a batch ended.

    Attributes
    ----------
    scenario_id:
        Scenario id (= file stem = output folder name).
    scenario_file:
        The scenario file.
    status:
        ``done`` (new output in place), ``skipped`` (``resume`` and output up to date) or
        ``failed`` (see ``message``; the previous output, if any, is untouched).
    output_dir:
        Where to look: ``outputs/<id>`` or, after a failure, ``outputs/<id>.failed``.
    seconds:
        Wall-clock time of the scenario's run (0 when skipped).
    message:
        Why it failed (``<step>: <error>``) or why it was skipped.
    """

    scenario_id: str
    scenario_file: Path
    status: OutcomeStatus
    output_dir: Path
    seconds: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class BatchSummary:
    """The outcome of :func:`run_batch`, one entry per scenario in the order given."""

    outcomes: tuple[ScenarioOutcome, ...]
    seconds: float
    workers: int
    scheduler: str

    def _count(self, status: OutcomeStatus) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def n_done(self) -> int:
        """Scenarios with new output."""
        return self._count("done")

    @property
    def n_skipped(self) -> int:
        """Scenarios skipped because their output was up to date."""
        return self._count("skipped")

    @property
    def n_failed(self) -> int:
        """Scenarios that failed or were interrupted."""
        return self._count("failed")

    @property
    def ok(self) -> bool:
        """True when no scenario failed."""
        return self.n_failed == 0

    def table(self) -> str:
        """The table ``fupinsim batch`` prints: a line per scenario (why it failed), then totals."""
        width = max([8, *(len(o.scenario_id) for o in self.outcomes)])
        lines = [f"{'scenario':<{width}}  {'status':<7}  {'time_s':>7}  output"]
        for outcome in self.outcomes:
            status = "FAILED" if outcome.status == "failed" else outcome.status
            lines.append(
                f"{outcome.scenario_id:<{width}}  {status:<7}  {outcome.seconds:>7.1f}  "
                f"{shown_path(outcome.output_dir)}"
            )
            if outcome.status == "failed":
                lines.append(f"{'':<{width}}  {outcome.message}")
        lines.append(
            f"{len(self.outcomes)} scenario{'s' if len(self.outcomes) != 1 else ''}: "
            f"{self.n_done} done, {self.n_skipped} skipped, "
            f"{self.n_failed} failed in {self.seconds:.0f} s ({self.scheduler})"
        )
        return "\n".join(lines)

    def report_files(self) -> list[Path]:
        """The ``report.html`` of every scenario with output in place (done or skipped)."""
        return [
            outcome.output_dir / "report.html"
            for outcome in self.outcomes
            if outcome.status != "failed" and (outcome.output_dir / "report.html").is_file()
        ]

    def outcome(self, scenario_id: str) -> ScenarioOutcome:
        """The outcome of one scenario, by id."""
        for outcome in self.outcomes:
            if outcome.scenario_id == scenario_id:
                return outcome
        raise KeyError(scenario_id)


class BatchInterrupted(KeyboardInterrupt):
    """The batch was stopped by SIGINT or SIGTERM; no unfinished scenario replaced its output.

    Attributes
    ----------
    signum:
        The signal received.
    summary:
        What had finished before the interruption (unfinished scenarios count as failed).
    """

    def __init__(self, signum: int, summary: BatchSummary | None = None) -> None:
        super().__init__(f"batch interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.summary = summary


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _one_line(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename is not None:  # papermill.PapermillExecutionError: the notebook cell's error
        text = (
            f"{ename}: {getattr(exc, 'evalue', '')} (cell In [{getattr(exc, 'exec_count', '?')}])"
        )
    else:
        text = f"{type(exc).__name__}: {exc}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= _MAX_ERROR_CHARS else first[: _MAX_ERROR_CHARS - 1] + "…"


def _workers_text(workers: int) -> str:
    return f"{workers} worker" if workers == 1 else f"{workers} workers"


def shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
