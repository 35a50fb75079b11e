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
start of the next run (:func:`fupinsim.io.outputs.clean_stale_work_dirs`), and the workers of a
killed batch end by themselves within a second. A signal that arrives while a scenario's
output is being renamed into place takes effect right after the rename. Two batches cannot
write into the same outputs folder at once (:func:`fupinsim.batch.lock.outputs_lock`).

The package, one job per module:

``run``
    :func:`run_batch`: checks, the batch process's bookkeeping (work folders, manifests,
    renames), interruption.
``schedule``
    Which step runs next, and what to do about a step whose worker died.
``steps``
    What one step is (the pipeline or one notebook of one scenario) and how a worker runs it;
    :func:`run_scenario`; the pipeline hook.
``local``, ``dask``
    Where steps run: a ``spawn`` process pool, or a Dask cluster.
``notebooks``
    The notebook parameter contract, executing a notebook with papermill in a kernel of this
    environment, and refreshing the committed notebooks (``make notebooks``).
``lock``
    One batch at a time per outputs folder (a lock file naming its holder).
``plan``, ``resume``
    The scenarios of a batch and their manifests; which outputs ``--resume`` may keep.
``summary``
    What a batch reports: :class:`ScenarioOutcome`, :class:`BatchSummary`,
    :class:`BatchInterrupted`.
"""

from __future__ import annotations

from fupinsim.batch.notebooks import (
    DEFAULT_KERNEL,
    NBSTRIPOUT_ARGS,
    NOTEBOOK_PARAMETERS,
    check_notebook_parameters,
    execute_notebook,
    notebook_fingerprint,
    notebook_parameters,
    refresh_notebooks,
)
from fupinsim.batch.run import run_batch
from fupinsim.batch.steps import (
    DEFAULT_PIPELINE,
    MANIFEST_KEYS_OWNED_BY_BATCH,
    PipelineFunction,
    resolve_pipeline,
    run_scenario,
)
from fupinsim.batch.summary import BatchInterrupted, BatchSummary, ScenarioOutcome, ScenarioRun

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
