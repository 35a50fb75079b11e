"""Batch runs: the pipeline and the planner notebooks for many scenarios, into ``outputs/``.

``fupinsim batch`` calls :func:`run_batch`. For each scenario it

1. runs the pipeline into a hidden work folder next to ``outputs/<scenario>/``;
2. executes every notebook with papermill into ``<work>/notebooks/``, with the parameters
   ``scenario`` (absolute path of the scenario file), ``seed`` and ``replications`` (the
   scenario's own) and ``output_dir`` (the work folder, so the notebook reads the tables the
   pipeline has just written). The kernel runs in the notebook's folder, as in JupyterLab;
3. writes ``manifest.json`` and renames the work folder into place. A failure goes to
   ``outputs/<scenario>.failed/`` (with the executed notebook showing the error and
   ``logs/traceback.txt``) and the last good output stays as it was.

**Everything is checked before anything runs**: every scenario file loads and validates, ids are
unique, the pipeline imports, and every notebook has exactly one cell tagged ``parameters`` that
declares every parameter passed (papermill itself only warns about an unknown parameter and
silently ignores a missing tag; see :func:`check_notebook_parameters`).

**Where it runs.** A process pool (``spawn``: HiGHS fails in forked children of a parent that
ran it) by default; with ``scheduler="local"`` a Dask ``LocalCluster``, with a scheduler address
an existing Dask cluster (optional extra ``fupinsim[dask]``). The unit of work is a *step*: a
scenario's pipeline, then each of its notebooks, in order and one at a time, but consecutive
steps may run in different workers, which keeps every worker busy until the end (whole
scenarios as jobs would leave workers idle: 5 scenarios on 2 workers could never take less than
3/5 of the one-worker time). Kernels run the interpreter of the worker (``sys.executable``),
whatever the ``python3`` kernelspec points to. A step whose worker process dies (killed, out of
memory) is run once more, alone; if it dies again its scenario fails and the others go on.

**Only this process renames folders into place**, after the scenario's pipeline and all its
notebooks succeeded, so a worker that is killed or keeps running can never replace good output.
On SIGTERM or SIGINT the batch stops its workers (and their kernels), moves the work folders of
unfinished scenarios to ``<scenario>.failed/`` (manifest status ``interrupted``) and raises
:class:`BatchInterrupted`. Folders left by a run killed harder (SIGKILL) are repaired at the
start of the next run (:func:`fupinsim.io.outputs.clean_stale_work_dirs`).
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import importlib.util
import itertools
import json
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from types import FrameType, TracebackType
from typing import IO, Any, Literal, TypeAlias

from fupinsim.errors import FupinsimError, InputError, Problem
from fupinsim.io.outputs import (
    CODE_VERSION_ENV,
    clean_stale_work_dirs,
    code_version,
    commit_work_dir,
    create_work_dir,
    environment_info,
    fail_work_dir,
    failed_dir_for,
    read_manifest,
    write_manifest,
)
from fupinsim.scenario import Scenario, load_scenario

__all__ = [
    "DEFAULT_KERNEL",
    "DEFAULT_PIPELINE",
    "MANIFEST_KEYS_OWNED_BY_BATCH",
    "NBSTRIPOUT_ARGS",
    "NOTEBOOK_PARAMETERS",
    "BatchInterrupted",
    "BatchSummary",
    "PipelineFunction",
    "ScenarioOutcome",
    "ScenarioRun",
    "check_notebook_parameters",
    "execute_notebook",
    "notebook_fingerprint",
    "notebook_parameters",
    "refresh_notebooks",
    "resolve_pipeline",
    "run_batch",
    "run_scenario",
]

#: The pipeline hook used unless another is given: ``run_to_directory(scenario, folder) -> dict``.
#: It lives in ``fupinsim.io.run`` (layer 7), not in ``fupinsim.pipeline``: layers 3-6 never
#: write files, and the hook writes the run's tables, LP and reports into the folder.
DEFAULT_PIPELINE = "fupinsim.io.run:run_to_directory"

#: Parameters every planner notebook declares in its cell tagged ``parameters``.
NOTEBOOK_PARAMETERS: tuple[str, ...] = ("scenario", "seed", "replications", "output_dir")

#: Kernelspec name passed to papermill; the kernel command itself is always ``sys.executable``.
DEFAULT_KERNEL = "python3"

#: Manifest fields the batch runner writes itself; a pipeline must not return them.
MANIFEST_KEYS_OWNED_BY_BATCH = frozenset(
    {
        "status",
        "scenario_id",
        "scenario_file",
        "scenario_hash",
        "seed",
        "replications",
        "code_version",
        "notebooks",
        "environment",
        "started_at",
        "finished_at",
        "timings_s",
        "failed_step",
        "error",
    }
)

#: How committed notebooks are cleaned; ``.pre-commit-config.yaml`` uses the same arguments.
NBSTRIPOUT_ARGS: tuple[str, ...] = (
    "--keep-output",
    "--keep-count",
    "--extra-keys",
    "metadata.papermill cell.metadata.papermill",
)

#: A pipeline: writes the scenario's tables (and figures) into the folder, returns manifest fields.
PipelineFunction = Callable[[Scenario, Path], Mapping[str, Any]]

OutcomeStatus = Literal["done", "skipped", "failed"]

_RUN_LOG = Path("logs") / "run.log"
_TRACEBACK_FILE = Path("logs") / "traceback.txt"
_KERNEL_START_RETRIES = 1
_STOP_TIMEOUT_S = 10.0
_MAX_ERROR_CHARS = 500


# ----------------------------------------------------------------------------------------------
# Results


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


# ----------------------------------------------------------------------------------------------
# Notebook contract


def _read_notebook(path: Path) -> Any:
    import nbformat

    if not path.is_file():
        raise InputError.single(str(path), None, "notebook file must exist")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for a bad file
        raise InputError.single(
            str(path), type(exc).__name__, "must be a Jupyter notebook (.ipynb)", fix=str(exc)
        ) from None


def check_notebook_parameters(
    notebook_path: str | Path, parameters: Iterable[str] = NOTEBOOK_PARAMETERS
) -> list[str]:
    """Check that a notebook can take ``parameters``, strictly.

    papermill only logs a warning for a parameter the notebook does not declare (and injects
    it anyway), and without a cell tagged ``parameters`` the notebook's own values silently win.
    Here both are errors.

    Parameters
    ----------
    notebook_path:
        The ``.ipynb`` file.
    parameters:
        Names that will be passed.

    Returns
    -------
    list of str
        The parameters the notebook declares, in cell order.

    Raises
    ------
    InputError
        The notebook does not exist or is not a Python notebook, has no or several cells tagged
        ``parameters``, or does not declare a parameter in ``parameters`` (naming the notebook,
        the parameter and the declared ones).
    """
    from papermill.translators import PythonTranslator

    path = Path(notebook_path)
    notebook = _read_notebook(path)
    language = notebook.metadata.get("kernelspec", {}).get("language") or notebook.metadata.get(
        "language_info", {}
    ).get("name", "python")
    if language != "python":
        raise InputError.single(f"{path}: kernel language", language, "must be python")
    tagged = [
        cell for cell in notebook.cells if "parameters" in cell.get("metadata", {}).get("tags", [])
    ]
    if len(tagged) != 1 or tagged[0].cell_type != "code":
        found = f"{len(tagged)} cells" if tagged else "no cell"
        raise InputError.single(
            str(path),
            f"{found} tagged 'parameters'",
            "must have exactly one code cell tagged 'parameters' (declaring "
            f"{', '.join(NOTEBOOK_PARAMETERS)})",
            fix="In JupyterLab select that cell, open the property inspector (gear icon) and add "
            "the tag 'parameters' (remove it from any other cell).",
        )
    declared = [parameter.name for parameter in PythonTranslator.inspect(tagged[0])]
    unknown = [name for name in parameters if name not in declared]
    if unknown:
        rule = (
            "every parameter passed must be declared there "
            f"(declared: {', '.join(declared) or 'none'})"
        )
        raise InputError(
            [
                Problem(
                    f"{path}, cell tagged 'parameters'",
                    name,
                    rule,
                    fix=f"Add a line `{name} = ...` with its default value to that cell.",
                )
                for name in unknown
            ],
            summary=f"{path}: the notebook does not declare every parameter the batch passes",
        )
    return declared


def notebook_fingerprint(notebook_path: str | Path) -> str:
    """SHA-256 (hex) of a notebook's cells (type and source), ignoring outputs and metadata.

    Re-executing a notebook does not change it; editing any cell does.
    """
    notebook = _read_notebook(Path(notebook_path))
    cells = [[cell.cell_type, cell.source] for cell in notebook.cells]
    text = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _resolve_notebooks(notebooks: Iterable[str | Path]) -> list[Path]:
    """Absolute notebook paths; a folder stands for the ``*.ipynb`` files in it."""
    paths: list[Path] = []
    for item in notebooks:
        path = Path(item)
        if path.is_dir():
            paths += sorted(path.glob("*.ipynb"))
        elif path.suffix != ".ipynb" or not path.is_file():
            raise InputError.single(str(path), None, "must be an existing .ipynb file or folder")
        else:
            paths.append(path)
    resolved = [path.resolve() for path in paths]
    names = [path.name for path in resolved]
    doubles = sorted({name for name in names if names.count(name) > 1})
    if doubles:
        raise InputError.single(
            "notebooks",
            doubles,
            "must have distinct file names (they all go to outputs/<scenario>/notebooks/)",
        )
    return resolved


# ----------------------------------------------------------------------------------------------
# Pipeline hook


def resolve_pipeline(pipeline: str | PipelineFunction) -> PipelineFunction:
    """The pipeline function for a ``"module:function"`` string (or the function itself).

    A dotted string is what travels best to worker processes and Dask workers, which import it
    themselves.

    Raises
    ------
    InputError
        The string is not ``module:function``, the module cannot be imported, or it has no such
        function.
    """
    if callable(pipeline):
        return pipeline
    module_name, _, attribute = pipeline.partition(":")
    if not module_name or not attribute:
        raise InputError.single("pipeline", pipeline, "must be written 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError.single(
            "pipeline", pipeline, "must name an importable module", fix=str(exc)
        ) from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise InputError.single(
            "pipeline", pipeline, f"module {module_name} must define a function {attribute}"
        )
    return function


def _checked_manifest_fields(fields: object) -> dict[str, Any]:
    if not isinstance(fields, Mapping):
        raise TypeError(
            f"the pipeline must return a mapping of manifest fields; it returned "
            f"{type(fields).__name__}"
        )
    clash = sorted(set(fields) & MANIFEST_KEYS_OWNED_BY_BATCH)
    if clash:
        raise ValueError(
            f"the pipeline returned manifest fields the batch runner writes itself: "
            f"{', '.join(map(str, clash))}"
        )
    from fupinsim.io.outputs import format_manifest

    format_manifest(fields)  # fail here, in the worker, if a value has no JSON form
    return dict(fields)


# ----------------------------------------------------------------------------------------------
# Notebook execution


def _kernel_manager_class(log: IO[str]) -> type:
    """A kernel manager that starts ``sys.executable`` and sends the kernel's output to ``log``.

    papermill picks the kernel by kernelspec name, and a ``python3`` kernelspec may point to any
    interpreter (a user-wide one, another venv). Building the command from ``sys.executable``
    makes the kernel run in this environment, with this fupinsim.
    """
    from jupyter_client.manager import AsyncKernelManager

    class CurrentEnvironmentKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            connection_file = os.path.realpath(self.connection_file)
            command = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
            return [*command, *(extra_arguments or [])]

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            await super().start_kernel(**kw)

    return CurrentEnvironmentKernelManager


def _is_port_clash(exc: BaseException, kernel_output: str) -> bool:
    """Did the kernel fail to bind its ZMQ ports (papermill #511, parallel kernel starts)?"""
    if "Address already in use" in kernel_output:
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "errno", None) == errno.EADDRINUSE or "Address already in use" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def execute_notebook(
    notebook: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any],
    *,
    cwd: str | Path | None = None,
    kernel_name: str = DEFAULT_KERNEL,
    kernel_log: str | Path | None = None,
) -> None:
    """Execute a notebook with papermill in a kernel of the current environment.

    Parameters
    ----------
    notebook, output:
        Input notebook and where the executed copy goes (also written when a cell fails, with
        the error shown).
    parameters:
        Injected after the cell tagged ``parameters`` (empty: none injected, defaults run).
        Check them first with :func:`check_notebook_parameters`.
    cwd:
        Working directory of the kernel (default: the notebook's folder, as in JupyterLab).
    kernel_name:
        Kernelspec name (for language and metadata); the command is ``sys.executable``.
    kernel_log:
        File that receives the kernel process's own stdout and stderr (appended); default a
        temporary file.

    Raises
    ------
    papermill.PapermillExecutionError
        A cell raised (``.ename``, ``.evalue``, ``.exec_count``).

    Notes
    -----
    A kernel that fails to start because its port was taken in the meantime (papermill #511,
    seen when kernels start in parallel) is started once more.
    """
    import papermill

    source, target = Path(notebook), Path(output)
    with tempfile.TemporaryDirectory(prefix="fupinsim-kernel-") as scratch:
        log_path = Path(kernel_log) if kernel_log is not None else Path(scratch) / "kernel.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(_KERNEL_START_RETRIES + 1):
            with log_path.open("a", encoding="utf-8") as log:
                start = log.tell()
                try:
                    papermill.execute_notebook(
                        str(source),
                        str(target),
                        parameters=dict(parameters) or None,
                        kernel_name=kernel_name,
                        progress_bar=False,
                        cwd=str(cwd if cwd is not None else source.parent),
                        kernel_manager_class=_kernel_manager_class(log),
                        # The last cell has finished and its files are written: stopping the
                        # kernel at once saves ~0.3 s per notebook over a graceful shutdown.
                        shutdown_kernel="immediate",
                    )
                    return
                except papermill.PapermillExecutionError:
                    raise
                except Exception as exc:
                    log.flush()
                    with log_path.open(encoding="utf-8", errors="replace") as reread:
                        reread.seek(start)
                        output_text = reread.read()
                    if attempt < _KERNEL_START_RETRIES and _is_port_clash(exc, output_text):
                        continue
                    raise


# ----------------------------------------------------------------------------------------------
# One scenario, step by step (steps run in workers)
#
# A scenario is a chain of steps: 0 is the pipeline, k the k-th notebook. Steps of one scenario
# run in order, one at a time, but consecutive steps may run in different workers: with whole
# scenarios as jobs, 5 scenarios on 2 workers could never take less than 3/5 of the time of one
# worker; with steps as jobs the workers stay busy until the end.


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


def notebook_parameters(
    scenario: Scenario, scenario_file: Path, output_dir: Path
) -> dict[str, Any]:
    """The parameters a planner notebook gets for a scenario (see :data:`NOTEBOOK_PARAMETERS`)."""
    return {
        "scenario": str(scenario_file),
        "seed": scenario.seed,
        "replications": scenario.microsim.replications,
        "output_dir": str(output_dir),
    }


def _log_step(work_dir: Path, text: str) -> None:
    path = work_dir / _RUN_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(f"{_now()} {text}\n")


@dataclass(frozen=True)
class _Job:
    """One scenario to compute, as sent to workers (plain, picklable data)."""

    scenario_id: str
    scenario_file: str
    work_dir: str
    notebooks: tuple[str, ...]
    pipeline: str | PipelineFunction
    kernel_name: str

    @property
    def n_steps(self) -> int:
        return 1 + len(self.notebooks)

    def step_name(self, step: int) -> str:
        return "pipeline" if step == 0 else f"notebook {Path(self.notebooks[step - 1]).name}"

    def has_started(self) -> bool:
        return (Path(self.work_dir) / _RUN_LOG).exists()


@dataclass(frozen=True)
class _Task:
    """One step of one scenario."""

    job: _Job
    step: int

    @property
    def name(self) -> str:
        return self.job.step_name(self.step)

    @property
    def key(self) -> tuple[str, int]:
        return self.job.scenario_id, self.step

    def has_started(self) -> bool:
        try:
            log = (Path(self.job.work_dir) / _RUN_LOG).read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        return f" started {self.name} in process " in log


@dataclass(frozen=True)
class _StepResult:
    """What a worker reports about one step."""

    ok: bool
    seconds: float = 0.0
    error: str = ""
    traceback: str = ""
    manifest_fields: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""


def _run_step(task: _Task) -> _StepResult:
    """Run one step in this process (a worker); errors are reported, not raised."""
    job, work = task.job, Path(task.job.work_dir)
    started_at, start = _now(), perf_counter()
    _log_step(work, f"started {task.name} in process {os.getpid()}")
    fields: dict[str, Any] = {}
    environment: dict[str, Any] = {}
    try:
        scenario = load_scenario(job.scenario_file)
        if task.step == 0:
            function = resolve_pipeline(job.pipeline)
            fields = _checked_manifest_fields(function(scenario, work))
            environment = environment_info()
        else:
            _run_notebook_step(job, scenario, Path(job.notebooks[task.step - 1]))
    except Exception as exc:
        _log_step(work, f"{task.name} failed: {_one_line(exc)}")
        return _StepResult(
            ok=False,
            seconds=perf_counter() - start,
            error=_one_line(exc),
            traceback=traceback.format_exc(),
            started_at=started_at,
            finished_at=_now(),
        )
    seconds = perf_counter() - start
    _log_step(work, f"{task.name} done in {seconds:.1f} s")
    return _StepResult(
        ok=True,
        seconds=seconds,
        manifest_fields=fields,
        environment=environment,
        started_at=started_at,
        finished_at=_now(),
    )


def _run_notebook_step(job: _Job, scenario: Scenario, notebook: Path) -> None:
    work = Path(job.work_dir)
    (work / "notebooks").mkdir(exist_ok=True)
    execute_notebook(
        notebook,
        work / "notebooks" / notebook.name,
        notebook_parameters(scenario, Path(job.scenario_file), work),
        cwd=notebook.parent,
        kernel_name=job.kernel_name,
        kernel_log=work / "logs" / f"{notebook.stem}.kernel.log",
    )


def _scenario_run(job: _Job, results: Sequence[_StepResult]) -> ScenarioRun:
    """The scenario's result from its steps' results (the last one failed, or all succeeded)."""
    first = results[0] if results else _StepResult(ok=False, error="not run")
    timings = {
        "pipeline": first.seconds,
        "notebooks": {
            job.step_name(step).removeprefix("notebook "): result.seconds
            for step, result in enumerate(results)
            if step > 0
        },
        "total": sum(result.seconds for result in results),
    }
    complete = len(results) == job.n_steps and all(result.ok for result in results)
    last = results[-1] if results else first
    return ScenarioRun(
        scenario_id=job.scenario_id,
        ok=complete,
        failed_step="" if complete else job.step_name(max(len(results) - 1, 0)),
        error="" if complete else last.error,
        traceback="" if complete else last.traceback,
        manifest_fields=first.manifest_fields,
        timings_s=timings,
        environment=first.environment,
        started_at=first.started_at,
        finished_at=last.finished_at or _now(),
    )


def run_scenario(
    scenario_file: str | Path,
    work_dir: str | Path,
    notebooks: Sequence[str | Path] = (),
    *,
    pipeline: str | PipelineFunction = DEFAULT_PIPELINE,
    kernel_name: str = DEFAULT_KERNEL,
) -> ScenarioRun:
    """Compute one scenario into ``work_dir`` in this process: the pipeline, then each notebook.

    What a batch does for one scenario, without renaming anything into place and without the
    manifest (the batch process does both). Errors are reported, not raised.

    Parameters
    ----------
    scenario_file:
        The scenario YAML.
    work_dir:
        An existing, empty folder (normally from :func:`fupinsim.io.outputs.create_work_dir`).
        Receives the pipeline's files, ``notebooks/<name>.ipynb`` and ``logs/``.
    notebooks:
        Notebooks to execute, in order, each in a fresh kernel with
        :func:`notebook_parameters`.
    pipeline:
        ``"module:function"`` or a function ``(scenario, folder) -> manifest fields``.
    kernel_name:
        See :func:`execute_notebook`.

    Returns
    -------
    ScenarioRun
        ``ok`` False with ``failed_step`` and ``error`` when something failed; later steps are
        then not run.
    """
    source = Path(scenario_file).resolve()
    job = _Job(
        scenario_id=source.stem,
        scenario_file=str(source),
        work_dir=str(Path(work_dir)),
        notebooks=tuple(str(Path(notebook).resolve()) for notebook in notebooks),
        pipeline=pipeline,
        kernel_name=kernel_name,
    )
    results: list[_StepResult] = []
    for step in range(job.n_steps):
        results.append(_run_step(_Task(job, step)))
        if not results[-1].ok:
            break
    return _scenario_run(job, results)


# ----------------------------------------------------------------------------------------------
# Where steps run


def _workers_text(workers: int) -> str:
    return f"{workers} worker" if workers == 1 else f"{workers} workers"


def _init_pool_worker() -> None:
    # Ctrl-C reaches the whole process group; the batch process decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _ProcessPoolRunner:
    """Steps in a ``spawn`` process pool. ``None`` as a result: the step's worker died."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.label = f"process pool of {_workers_text(workers)}"
        self.isolated = False
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False
        self._futures: dict[Future[_StepResult], _Task] = {}

    def __enter__(self) -> _ProcessPoolRunner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None and kind is not None:
            self._stop_workers(self._pool)
        self._close_pool()

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def isolate(self, alone: bool) -> None:
        """Run steps one at a time in a fresh pool (to retry a step whose worker died) or not."""
        if alone != self.isolated:
            self._close_pool()
            self.isolated = alone

    def submit(self, task: _Task) -> None:
        if self._pool is None or self._broken:
            self._close_pool()
            size = 1 if self.isolated else self.workers
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                size, mp_context=context, initializer=_init_pool_worker
            )
        self._futures[self._pool.submit(_run_step, task)] = task

    def next_done(self) -> tuple[_Task, _StepResult | None]:
        done, _ = wait(self._futures, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        task = self._futures.pop(future)
        try:
            return task, future.result()
        except BrokenProcessPool:
            self._broken = True
            return task, None
        except Exception as exc:  # e.g. the step could not be sent to the worker
            return task, _StepResult(ok=False, error=f"could not run in a worker: {_one_line(exc)}")

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._broken = None, False

    @staticmethod
    def _stop_workers(pool: ProcessPoolExecutor) -> None:
        """Terminate the pool's workers and their kernels, then make sure they are gone."""
        import psutil

        # ProcessPoolExecutor has no public way to stop running jobs before Python 3.14.
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        tree: list[psutil.Process] = []
        for worker in workers:
            try:
                process = psutil.Process(worker.pid)
                tree += [process, *process.children(recursive=True)]
            except psutil.Error:
                continue
        for process in tree:
            try:
                process.terminate()
            except psutil.Error:
                continue
        _, alive = psutil.wait_procs(tree, timeout=_STOP_TIMEOUT_S)
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                continue
        psutil.wait_procs(alive, timeout=_STOP_TIMEOUT_S)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError.single(
            "--scheduler",
            "dask",
            "needs Dask distributed, an optional extra",
            fix="Install it with `pip install 'fupinsim[dask]'`, or leave out --scheduler to "
            "use the built-in process pool.",
        ) from None
    return distributed


class _DaskRunner:
    """Steps on a Dask cluster: a new ``LocalCluster`` (``"local"``) or one at an address."""

    def __init__(self, scheduler: str, workers: int) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.isolated = False
        self.label = (
            f"Dask LocalCluster of {_workers_text(workers)}"
            if scheduler == "local"
            else f"Dask cluster at {scheduler}"
        )
        self._distributed = _import_distributed()
        self._cluster: Any = None
        self._client: Any = None
        self._completed: Any = None
        self._futures: dict[Any, _Task] = {}
        self._count = itertools.count()

    def __enter__(self) -> _DaskRunner:
        distributed = self._distributed
        try:
            if self.scheduler == "local":
                self._cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
                self._client = distributed.Client(self._cluster)
            else:
                self._client = distributed.Client(self.scheduler, timeout="15s")
                self.workers = max(1, sum(self._client.nthreads().values()))
        except (OSError, TimeoutError, ValueError) as exc:
            self.__exit__(type(exc), exc, None)
            raise InputError.single(
                "--scheduler",
                self.scheduler,
                "must be 'local' or the address of a running Dask scheduler (tcp://host:8786)",
                fix=f"Could not connect: {exc}",
            ) from None
        self._completed = distributed.as_completed()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            if kind is not None and self._futures:
                self._client.cancel(list(self._futures))
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def isolate(self, alone: bool) -> None:
        """Dask retries steps of dead workers itself; nothing to do here."""

    def submit(self, task: _Task) -> None:
        key = f"fupinsim-{Path(task.job.work_dir).name}-step{task.step}-{next(self._count)}"
        future = self._client.submit(_run_step, task, pure=False, key=key)
        self._futures[future] = task
        self._completed.add(future)

    def next_done(self) -> tuple[_Task, _StepResult | None]:
        future = next(self._completed)
        task = self._futures.pop(future)
        try:
            return task, future.result()
        except Exception as exc:  # the worker died too often, or the cluster went away
            return task, _StepResult(ok=False, error=f"the Dask worker failed: {_one_line(exc)}")


_Runner: TypeAlias = _ProcessPoolRunner | _DaskRunner
_MAX_LOSSES_BEFORE_START = 3


def _clear_for_retry(task: _Task) -> None:
    """Before a pipeline runs again, remove what its first attempt wrote (not the logs)."""
    if task.step != 0:
        return
    work = Path(task.job.work_dir)
    for entry in work.iterdir():
        if entry.name == _RUN_LOG.parts[0]:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


# ----------------------------------------------------------------------------------------------
# The batch


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


def _manifest(
    plan: _Planned,
    *,
    run: ScenarioRun,
    status: str,
    version: str,
    notebooks: Sequence[Path],
    fingerprints: Mapping[str, str],
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
    if status != "complete":
        manifest.update(failed_step=run.failed_step, error=run.error)
    return manifest


class _Batch:
    """The batch process's bookkeeping: work folders, manifests, commits, outcomes."""

    def __init__(
        self,
        planned: Sequence[_Planned],
        notebooks: Sequence[Path],
        version: str,
        fingerprints: Mapping[str, str],
    ) -> None:
        self.planned = {plan.scenario.id: plan for plan in planned}
        self.notebooks = notebooks
        self.version = version
        self.fingerprints = fingerprints
        self.outcomes: dict[str, ScenarioOutcome] = {}
        self.jobs: dict[str, _Job] = {}

    def skip(self, plan: _Planned, reason: str) -> None:
        self.outcomes[plan.scenario.id] = ScenarioOutcome(
            plan.scenario.id, plan.scenario_file, "skipped", plan.final_dir, message=reason
        )

    def job(self, plan: _Planned, pipeline: str | PipelineFunction, kernel_name: str) -> _Job:
        work = create_work_dir(plan.final_dir)
        job = _Job(
            scenario_id=plan.scenario.id,
            scenario_file=str(plan.scenario_file),
            work_dir=str(work),
            notebooks=tuple(str(path) for path in self.notebooks),
            pipeline=pipeline,
            kernel_name=kernel_name,
        )
        self.jobs[plan.scenario.id] = job
        return job

    def run(self, runner: _Runner, jobs: Sequence[_Job], on_finished: Callable[[], None]) -> None:
        """Run every job's steps on ``runner``, finishing each scenario as its chain ends.

        Ready steps go to the runner with the scenarios that have the most steps left first,
        so the workers stay busy until the end. A step whose worker died (``None`` result) is
        run again alone in a fresh worker; if it dies again, its scenario fails.
        """
        order = {job.scenario_id: index for index, job in enumerate(jobs)}
        results: dict[str, list[_StepResult]] = {job.scenario_id: [] for job in jobs}
        ready = [_Task(job, 0) for job in jobs]
        suspects: list[_Task] = []
        losses: Counter[tuple[str, int, bool]] = Counter()
        while ready or suspects or runner.in_flight:
            _submit_next(runner, ready, suspects, order)
            task, result = runner.next_done()
            if result is None:
                result = _after_lost_worker(task, ready, suspects, losses)
                if result is None:
                    continue
            results[task.job.scenario_id].append(result)
            if result.ok and task.step + 1 < task.job.n_steps:
                ready.append(_Task(task.job, task.step + 1))
            else:
                self.finish(task.job, _scenario_run(task.job, results[task.job.scenario_id]))
                on_finished()

    def finish(self, job: _Job, run: ScenarioRun) -> ScenarioOutcome:
        """Write the manifest and put the work folder in place (or in ``.failed``)."""
        plan, work = self.planned[job.scenario_id], Path(job.work_dir)
        seconds = float(run.timings_s.get("total", 0.0))
        work.mkdir(parents=True, exist_ok=True)
        status = "complete" if run.ok else "failed"
        try:
            write_manifest(self._manifest(plan, run, status), work)
            if run.ok:
                outcome = ScenarioOutcome(
                    plan.scenario.id,
                    plan.scenario_file,
                    "done",
                    commit_work_dir(work, plan.final_dir),
                    seconds,
                )
            else:
                if run.traceback:
                    (work / _TRACEBACK_FILE).parent.mkdir(parents=True, exist_ok=True)
                    (work / _TRACEBACK_FILE).write_text(run.traceback, encoding="utf-8")
                outcome = ScenarioOutcome(
                    plan.scenario.id,
                    plan.scenario_file,
                    "failed",
                    fail_work_dir(work, plan.final_dir),
                    seconds,
                    f"{run.failed_step}: {run.error}",
                )
        except (OSError, TypeError, ValueError) as exc:
            outcome = ScenarioOutcome(
                plan.scenario.id,
                plan.scenario_file,
                "failed",
                failed_dir_for(plan.final_dir),
                seconds,
                f"saving the output: {_one_line(exc)}",
            )
            if work.exists():
                fail_work_dir(work, plan.final_dir)
        self.outcomes[plan.scenario.id] = outcome
        return outcome

    def _manifest(self, plan: _Planned, run: ScenarioRun, status: str) -> dict[str, Any]:
        return _manifest(
            plan,
            run=run,
            status=status,
            version=self.version,
            notebooks=self.notebooks,
            fingerprints=self.fingerprints,
        )

    def abandon_unfinished(self) -> None:
        """After an interruption: unfinished work goes to ``.failed``; never into place."""
        for scenario_id, job in self.jobs.items():
            if scenario_id in self.outcomes:
                continue
            plan, work = self.planned[scenario_id], Path(job.work_dir)
            if not work.exists():
                continue
            if not job.has_started():
                shutil.rmtree(work, ignore_errors=True)
                continue
            run = ScenarioRun(
                scenario_id=scenario_id,
                ok=False,
                failed_step="interrupted",
                error="the batch was interrupted",
                finished_at=_now(),
            )
            write_manifest(self._manifest(plan, run, "interrupted"), work)
            self.outcomes[scenario_id] = ScenarioOutcome(
                scenario_id,
                plan.scenario_file,
                "failed",
                fail_work_dir(work, plan.final_dir),
                message="interrupted",
            )

    def summary(self, seconds: float, workers: int, scheduler: str) -> BatchSummary:
        outcomes = [
            self.outcomes.get(scenario_id)
            or ScenarioOutcome(
                scenario_id, plan.scenario_file, "failed", plan.final_dir, message="not run"
            )
            for scenario_id, plan in self.planned.items()
        ]
        return BatchSummary(tuple(outcomes), seconds, workers, scheduler)


def _submit_next(
    runner: _Runner,
    ready: list[_Task],
    suspects: list[_Task],
    order: Mapping[str, int],
) -> None:
    """Give the runner what it can take now: one suspect alone, or ready steps."""
    if runner.isolated and runner.in_flight:
        return
    if suspects:
        if not runner.in_flight:
            runner.isolate(True)
            runner.submit(suspects.pop(0))
        return
    runner.isolate(False)
    ready.sort(key=lambda task: (task.step - task.job.n_steps, order[task.job.scenario_id]))
    while ready and runner.in_flight < runner.workers:
        runner.submit(ready.pop(0))


def _after_lost_worker(
    task: _Task,
    ready: list[_Task],
    suspects: list[_Task],
    losses: Counter[tuple[str, int, bool]],
) -> _StepResult | None:
    """Decide about a step whose worker process died: run it again, or fail it.

    A step that had not started was only caught in another step's crash (a dying worker takes
    the whole pool down): it goes back in line. A step that had started is run once more,
    alone in a fresh pool, so that a step that kills its worker cannot take others with it.
    """
    started = task.has_started()
    losses[(*task.key, started)] += 1
    if not started:
        if losses[(*task.key, started)] <= _MAX_LOSSES_BEFORE_START:
            ready.append(task)
            return None
        return _StepResult(ok=False, error="worker processes died before it could start")
    if losses[(*task.key, started)] == 1:
        _clear_for_retry(task)
        suspects.append(task)
        return None
    return _StepResult(ok=False, error="its worker process died twice (killed, or out of memory?)")


class _InterruptRaiser:
    """While active (main thread only), SIGTERM and SIGINT raise :class:`BatchInterrupted`.

    Only the first signal raises; later ones are ignored so that the clean-up after an
    interruption (stopping workers, moving work folders aside) is not cut short.
    """

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._raised = False

    def __enter__(self) -> _InterruptRaiser:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._raise)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        if not self._raised:
            self._raised = True
            raise BatchInterrupted(signum)


def _check_picklable(pipeline: PipelineFunction) -> None:
    """Spawned workers import the pipeline by name: ``__main__`` and lambdas cannot travel."""
    try:
        if getattr(pipeline, "__module__", None) == "__main__":
            raise pickle.PicklingError("it is defined in __main__ (a script or a notebook)")
        pickle.dumps(pipeline)
    except Exception as exc:
        raise InputError.single(
            "pipeline",
            getattr(pipeline, "__qualname__", repr(pipeline)),
            "must be importable by worker processes",
            fix=f"Pass it as 'module:function' from an importable module ({_one_line(exc)}).",
        ) from None


def _runner(scheduler: str | None, workers: int) -> _ProcessPoolRunner | _DaskRunner:
    if scheduler is None:
        return _ProcessPoolRunner(workers)
    return _DaskRunner(scheduler, workers)


@contextmanager
def _code_version_pinned(version: str) -> Iterator[None]:
    """Workers and kernels started inside inherit ``version`` (see CODE_VERSION_ENV)."""
    previous = os.environ.get(CODE_VERSION_ENV)
    os.environ[CODE_VERSION_ENV] = version
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(CODE_VERSION_ENV, None)
        else:
            os.environ[CODE_VERSION_ENV] = previous


@contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[Any]:
    from tqdm import tqdm

    with tqdm(
        total=total, unit="scenario", desc="scenarios", file=sys.stderr, disable=not enabled
    ) as bar:
        yield bar


def run_batch(
    scenarios: Iterable[str | Path],
    notebooks: Iterable[str | Path] = (),
    *,
    outputs: str | Path = "outputs",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    pipeline: str | PipelineFunction = DEFAULT_PIPELINE,
    kernel_name: str = DEFAULT_KERNEL,
    progress: bool = False,
) -> BatchSummary:
    """Run the pipeline and the notebooks for each scenario into ``outputs/<scenario>/``.

    Parameters
    ----------
    scenarios:
        Scenario files (or bare ids, looked up in ``scenarios/``).
    notebooks:
        Notebook files or folders (folders stand for their ``*.ipynb``), run in this order for
        every scenario. None: the pipeline only.
    outputs:
        The outputs folder.
    workers:
        Worker processes, each running one step at a time (default: CPU cores, at most one
        per scenario).
    scheduler:
        None: a local process pool. ``"local"``: a new Dask ``LocalCluster`` with ``workers``
        single-threaded worker processes. Otherwise the address of a running Dask scheduler
        (``tcp://host:8786``); its workers must see the same files (shared filesystem) and have
        fupinsim installed.
    resume:
        Keep a scenario's existing output when its ``manifest.json`` says the run completed with
        the same ``scenario_hash``, ``code_version`` (:func:`fupinsim.io.outputs.code_version`)
        and notebook cells (:func:`notebook_fingerprint`).
    pipeline:
        ``"module:function"`` (travels best to workers) or a function
        ``(scenario, folder) -> manifest fields``; see ``docs/contracts.md``.
    kernel_name:
        See :func:`execute_notebook`.
    progress:
        Show a progress bar on stderr.

    Returns
    -------
    BatchSummary
        One :class:`ScenarioOutcome` per scenario; a failed scenario does not stop the others.

    Raises
    ------
    InputError
        Before anything runs: a scenario that does not load, two scenarios with the same id, a
        notebook that breaks the parameter contract (:func:`check_notebook_parameters`), a
        pipeline that cannot be imported, Dask missing or unreachable.
    BatchInterrupted
        SIGINT or SIGTERM; unfinished scenarios went to ``.failed`` and ``summary`` says what
        finished.
    """
    started = perf_counter()
    notebook_paths = _resolve_notebooks(notebooks)
    for path in notebook_paths:
        check_notebook_parameters(path, NOTEBOOK_PARAMETERS)
    resolve_pipeline(pipeline)
    outputs_dir = Path(outputs).resolve()
    planned = _plan_scenarios(scenarios, outputs_dir)
    if workers is not None and workers < 1:
        raise InputError.single("workers", workers, "must be at least 1")
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(planned)))
    if scheduler is None and callable(pipeline):
        _check_picklable(pipeline)
    runner = _runner(scheduler, n_workers)  # checks that Dask is installed, starts nothing

    version = code_version()
    fingerprints = {path.name: notebook_fingerprint(path) for path in notebook_paths}
    batch = _Batch(planned, notebook_paths, version, fingerprints)
    outputs_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_work_dirs(outputs_dir)

    with (
        _code_version_pinned(version),
        _InterruptRaiser(),
        _progress_bar(len(planned), progress) as bar,
    ):
        try:
            to_run = []
            for plan in planned:
                reason = _skip_reason(plan, version, fingerprints) if resume else None
                if reason is None:
                    to_run.append(plan)
                else:
                    batch.skip(plan, reason)
                    bar.update(1)
            if to_run:
                jobs = [batch.job(plan, pipeline, kernel_name) for plan in to_run]

                def advance() -> None:
                    bar.update(1)
                    bar.set_postfix(
                        failed=sum(o.status == "failed" for o in batch.outcomes.values())
                    )

                with runner:
                    batch.run(runner, jobs, advance)
        except BatchInterrupted as exc:
            batch.abandon_unfinished()
            exc.summary = batch.summary(perf_counter() - started, n_workers, runner.label)
            raise
        except BaseException:
            batch.abandon_unfinished()
            raise
    return batch.summary(perf_counter() - started, n_workers, runner.label)


# ----------------------------------------------------------------------------------------------
# Refreshing the committed notebooks (make notebooks)


def _clean_papermill_metadata(path: Path) -> None:
    """Drop what papermill adds that nbstripout keeps (empty ``tags`` lists on every cell)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    nbformat.write(notebook, path)


def _strip_notebook(path: Path) -> None:
    """Clean a notebook the way the pre-commit hook does (nbstripout, :data:`NBSTRIPOUT_ARGS`)."""
    if importlib.util.find_spec("nbstripout") is None:
        raise InputError.single(
            "nbstripout",
            "not installed",
            "is needed to clean notebooks",
            fix="Install the development tools: `pip install -e '.[dev]'`.",
        )
    subprocess.run(
        [sys.executable, "-m", "nbstripout", *NBSTRIPOUT_ARGS, str(path)],
        check=True,
        cwd=path.parent,
        capture_output=True,
    )


def refresh_notebooks(
    paths: Iterable[str | Path], *, kernel_name: str = DEFAULT_KERNEL
) -> list[Path]:
    """Re-execute notebooks in place with their default parameters and clean them for git.

    Each notebook runs top to bottom in a fresh kernel of this environment (its folder as
    working directory), papermill's metadata is removed and the result is cleaned with
    nbstripout ``--keep-output --keep-count`` (:data:`NBSTRIPOUT_ARGS`), so the stored outputs
    are what ``pytest --nbval`` compares against. A notebook is replaced only if it ran without
    error.

    Parameters
    ----------
    paths:
        Notebook files or folders (``*.ipynb`` in them).
    kernel_name:
        See :func:`execute_notebook`.

    Returns
    -------
    list of Path
        The notebooks refreshed.

    Raises
    ------
    InputError
        A notebook breaks the parameter contract (checked for all before any runs).
    FupinsimError
        Some notebooks failed; they are left unchanged and the message says where the executed
        copies showing the errors are.
    """
    notebooks = _resolve_notebooks(paths)
    for notebook in notebooks:
        check_notebook_parameters(notebook, NOTEBOOK_PARAMETERS)
    refreshed: list[Path] = []
    failures: list[str] = []
    for notebook in notebooks:
        scratch = Path(tempfile.mkdtemp(prefix="fupinsim-refresh-"))
        executed = scratch / notebook.name
        try:
            execute_notebook(
                notebook, executed, {}, kernel_name=kernel_name, kernel_log=scratch / "kernel.log"
            )
        except Exception as exc:
            failures.append(f"{notebook}: {_one_line(exc)} (executed copy: {executed})")
            continue
        _clean_papermill_metadata(executed)
        _strip_notebook(executed)
        partial = notebook.with_name(f".{notebook.name}.{os.getpid()}.tmp")
        shutil.copyfile(executed, partial)
        os.replace(partial, notebook)
        shutil.rmtree(scratch, ignore_errors=True)
        refreshed.append(notebook)
    if failures:
        raise FupinsimError(
            f"{len(failures)} notebook(s) failed and were left unchanged:\n" + "\n".join(failures)
        )
    return refreshed
