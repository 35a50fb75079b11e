"""The planner notebooks' parameter contract, checked inside the notebook (layer 8).

Every notebook's first code cell after the cell tagged ``parameters`` calls
:func:`check_parameters` with its own globals and the parameters it declares::

    from fupinsim.notebook import check_parameters, NOTEBOOK_PARAMETERS
    check_parameters(globals(), NOTEBOOK_PARAMETERS)

It stops the notebook with one line a planner can act on (no traceback) when

* a value has the wrong type (``-p seed 1.0`` is a float, ``-p replications many`` a string),
  is out of range, or is not one of the allowed choices;
* the scenario file does not exist;
* a parameter was passed that the notebook does not declare (papermill only logs
  ``Passed unknown parameter`` and injects it anyway; here it is an error).

Unknown parameters are found in the cell papermill injects after ``parameters``: its source
starts with ``# Parameters`` (papermill's marker) and assigns one name per line. In a plain
Python session (no IPython history) the injected names can be passed as ``injected``.
"""

from __future__ import annotations

import ast
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fupinsim.errors import FupinsimError, InputError
from fupinsim.io.registry_files import registry_for_run
from fupinsim.io.run import resolve_path
from fupinsim.registry import Registry, generate_registry
from fupinsim.scenario import Scenario

__all__ = [
    "EXISTING_FILE",
    "NOTEBOOK_PARAMETERS",
    "NotebookParameterError",
    "NotebookRegistryError",
    "Parameter",
    "check_parameters",
    "injected_names",
    "notebook_registry",
]

logger = logging.getLogger(__name__)

#: Constraint: the value is a path (from the repository root or the notebook folder) to a file.
EXISTING_FILE = "existing file"
#: papermill's first line of the cell it injects (``PythonTranslator.comment("Parameters")``).
PAPERMILL_MARKER = "# Parameters"


class NotebookParameterError(FupinsimError):
    """A notebook parameter a planner passed that the notebook cannot use.

    IPython shows only the message (``_render_traceback_``), so papermill's error and the
    notebook's red cell say in one line what to change.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


@dataclass(frozen=True)
class Parameter:
    """What one notebook parameter may be.

    Attributes
    ----------
    kinds:
        Allowed Python types (``type(None)`` for ``None``). ``int`` never accepts ``bool`` or
        a float such as ``1.0``.
    meaning:
        The planner's words for it, used in messages ("the Monte Carlo replications").
    low, high:
        Inclusive range for numbers (``None``: unbounded).
    choices:
        Allowed values (strings), if the value must be one of them.
    check:
        :data:`EXISTING_FILE` for a path that must name an existing file.
    """

    kinds: tuple[type, ...]
    meaning: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    check: str = ""


_NONE = type(None)
#: The parameters every planner notebook declares (``fupinsim.batch.NOTEBOOK_PARAMETERS``).
NOTEBOOK_PARAMETERS: dict[str, Parameter] = {
    "scenario": Parameter((str, Path), "the scenario file", check=EXISTING_FILE),
    "seed": Parameter(
        (int, _NONE), "the random seed, or None for the scenario's own", 0, 2**63 - 1
    ),
    "replications": Parameter((int,), "the Monte Carlo replications", 1, 10_000),
    "output_dir": Parameter((str, Path, _NONE), "the run folder, or None for the default"),
}

_KIND_WORDS = {
    int: "a whole number",
    float: "a number",
    str: "text",
    Path: "a path",
    bool: "True or False",
    _NONE: "None",
}


def _kind_text(kinds: Sequence[type]) -> str:
    words = list(dict.fromkeys(_KIND_WORDS.get(k, k.__name__) for k in kinds))
    if "text" in words and "a path" in words:
        words.remove("a path")
    return " or ".join(words)


def _is_kind(value: Any, kinds: Sequence[type]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, float) and float not in kinds:
        return False
    return isinstance(value, tuple(kinds))


def _problem(name: str, value: Any, spec: Parameter) -> str | None:
    """What is wrong with one value, or ``None``."""
    shown = f"{value!r} ({type(value).__name__})"
    if not _is_kind(value, spec.kinds):
        return f"{name} ({spec.meaning}) must be {_kind_text(spec.kinds)}; got {shown}"
    return None if value is None else _value_problem(name, value, spec)


def _value_problem(name: str, value: Any, spec: Parameter) -> str | None:
    """What is wrong with a value of an allowed type (range, choices, file), or ``None``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return f"{name} ({spec.meaning}) must be a finite number; got {value!r}"
        if (spec.low is not None and value < spec.low) or (
            spec.high is not None and value > spec.high
        ):
            low = "-inf" if spec.low is None else f"{spec.low:,g}"
            high = "inf" if spec.high is None else f"{spec.high:,g}"
            return f"{name} ({spec.meaning}) must be from {low} to {high}; got {value!r}"
    if spec.choices and value not in spec.choices:
        allowed = ", ".join(repr(c) for c in spec.choices)
        return f"{name} ({spec.meaning}) must be one of {allowed}; got {value!r}"
    if spec.check == EXISTING_FILE and not resolve_path(value).is_file():
        return (
            f"{name} ({spec.meaning}) must name an existing file (from the repository root or "
            f"the notebooks folder); {str(value)!r} was not found"
        )
    return None


def _assigned_names(source: str) -> list[str]:
    """Names assigned at the top level of a cell's source (``name = value`` lines)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def injected_names(sources: Iterable[str]) -> list[str]:
    """Names assigned by papermill's injected cells among ``sources`` (cell sources run)."""
    names: list[str] = []
    for source in sources:
        if source.lstrip().startswith(PAPERMILL_MARKER):
            names += [n for n in _assigned_names(source) if n not in names]
    return names


def _history(namespace: Mapping[str, Any]) -> list[str]:
    """Sources of the cells run so far in this kernel (IPython's ``In``), if any."""
    history = namespace.get("In")
    if isinstance(history, list) and all(isinstance(s, str) for s in history):
        return history
    return []


def check_parameters(
    namespace: Mapping[str, Any],
    expected: Mapping[str, Parameter] = NOTEBOOK_PARAMETERS,
    *,
    injected: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Check a notebook's parameters; stop with one line if one is unknown, missing or wrong.

    Parameters
    ----------
    namespace:
        The notebook's ``globals()`` (after its ``parameters`` cell and papermill's injected
        cell have run).
    expected:
        The parameters the notebook declares, name → :class:`Parameter`.
    injected:
        Names papermill injected; default: read from the kernel's cell history (``In``).

    Returns
    -------
    dict
        The checked values, by name.

    Raises
    ------
    NotebookParameterError
        With every problem in one line, the first unknown or wrong parameter first.
    """
    names = list(injected) if injected is not None else injected_names(_history(namespace))
    problems = []
    unknown = [n for n in names if n not in expected]
    if unknown:
        declared = ", ".join(expected)
        problems.append(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(this notebook takes {declared}; check the spelling of -p)"
        )
    for name, spec in expected.items():
        if name not in namespace:
            problems.append(f"{name} ({spec.meaning}) is not set: the parameters cell declares it")
            continue
        problem = _problem(name, namespace[name], spec)
        if problem:
            problems.append(problem)
    if problems:
        raise NotebookParameterError("Notebook parameters: " + "; ".join(problems) + ".")
    values = {name: namespace[name] for name in expected}
    logger.info("notebook parameters checked: %s", values)
    return values


class NotebookRegistryError(FupinsimError):
    """The scenario's registry file cannot be used: the planner's message, no traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def notebook_registry(scenario: Scenario, scenario_file: str | Path) -> Registry:
    """The registry a notebook shows: the scenario's file when ``registry.source`` is ``file``
    (read and checked as ``fupinsim run`` reads it, :func:`~fupinsim.io.registry_files.
    registry_for_run`, its path relative to ``scenario_file``), else the synthetic registry.

    Raises
    ------
    NotebookRegistryError
        With the file's problems, each with its fix, as ``fupinsim run`` prints them.
    """
    try:
        registry = registry_for_run(scenario, scenario_file=resolve_path(scenario_file))
    except InputError as error:
        raise NotebookRegistryError(f"Registry of scenario {scenario.id!r}: {error}") from error
    if registry is not None:
        return registry
    return generate_registry(_shown_scenario(scenario))


def _shown_scenario(scenario: Scenario) -> Scenario:
    """``scenario``, or for a registered-only (national) scenario larger than the national
    run's yields sample, that sample (:func:`fupinsim.pipeline.national.sample_scenario`: same
    generator, seed and county strata), said in the notebook's log: a whole national registry
    (29.48 M households) does not fit a notebook (issue 18)."""
    from fupinsim.pipeline.national import SAMPLE_HOUSEHOLDS, sample_scenario  # noqa: PLC0415

    n = scenario.registry.n_registered_households
    if scenario.registry.include_nonregistered or n <= SAMPLE_HOUSEHOLDS:
        return scenario
    logger.warning(
        "scale test: the registry shown is the national run's stratified sample of %s of the "
        "scenario's %s registered households (same generator, seed and county shares); "
        "counts below are the sample's",
        f"{SAMPLE_HOUSEHOLDS:,}",
        f"{n:,}",
    )
    return sample_scenario(scenario, SAMPLE_HOUSEHOLDS)
