"""Planner notebooks: the strict parameter contract, papermill execution, ``make notebooks``."""

from __future__ import annotations

import errno
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from fupinsim.batch.summary import _one_line
from fupinsim.errors import FupinsimError, InputError, Problem
from fupinsim.scenario import Scenario

#: Parameters every planner notebook declares in its cell tagged ``parameters``.
NOTEBOOK_PARAMETERS: tuple[str, ...] = ("scenario", "seed", "replications", "output_dir")

#: Kernelspec name passed to papermill; the kernel command itself is always ``sys.executable``.
DEFAULT_KERNEL = "python3"

#: How committed notebooks are cleaned; ``.pre-commit-config.yaml`` uses the same arguments.
NBSTRIPOUT_ARGS: tuple[str, ...] = (
    "--keep-output",
    "--keep-count",
    "--extra-keys",
    "metadata.papermill cell.metadata.papermill",
    "--keep-metadata-keys",
    "metadata.widgets",
)

_KERNEL_START_RETRIES = 1

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


#: Notebook metadata (``metadata.fupinsim.scale_test``): why the notebook does not apply to a
#: registered-only (national scale-test) run; such a notebook is skipped for such a scenario.
SCALE_TEST_METADATA = "scale_test"


def scale_test_skip(notebook_path: str | Path, scenario: Scenario) -> str | None:
    """Why ``notebook_path`` is skipped for ``scenario``, or ``None`` when it runs.

    A registered-only scenario (``registry.include_nonregistered: false``, synthetic: the
    national scale test) runs the chunked national pipeline, which computes no validation,
    sampled assumptions, closed loop or plan comparison; a notebook built on those says so in
    its metadata (``{"fupinsim": {"scale_test": "<why>"}}``) and the batch skips it there,
    naming the reason in the manifest (``notebooks_skipped``).
    """
    registry = scenario.registry
    if registry.include_nonregistered or registry.source != "synthetic":
        return None
    settings = _read_notebook(Path(notebook_path)).metadata.get("fupinsim", {})
    reason = settings.get(SCALE_TEST_METADATA)
    return str(reason) if reason else None


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
    are what ``pytest --nbval`` compares against; the widget state papermill stores
    (``metadata.widgets``) is kept, so a saved what-if panel shows its controls without a
    kernel. A notebook is replaced only if it ran without error.

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
