"""``fupinsim.notebook.check_parameters``: the one-line parameter check of every notebook."""

from __future__ import annotations

from pathlib import Path

import pytest

from fupinsim.notebook import (
    NOTEBOOK_PARAMETERS,
    NotebookParameterError,
    Parameter,
    check_parameters,
    injected_names,
)

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "scenario": "scenarios/plan_2015.yaml",
    "seed": None,
    "replications": 20,
    "output_dir": None,
}


def _check(**changes: object) -> dict[str, object]:
    return check_parameters({**GOOD, **changes}, NOTEBOOK_PARAMETERS, injected=[])


def _message(**changes: object) -> str:
    with pytest.raises(NotebookParameterError) as caught:
        _check(**changes)
    message = str(caught.value)
    assert "\n" not in message, "the message must be one line"
    return message


def test_the_defaults_pass_and_are_returned() -> None:
    assert _check() == GOOD
    assert _check(seed=7, replications=200, output_dir="outputs/x")["seed"] == 7


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"seed": 1.0}, "seed (the random seed, or None for the scenario's own) must be a whole"),
        ({"seed": -1}, "seed (the random seed, or None for the scenario's own) must be from 0"),
        ({"replications": "many"}, "replications (the Monte Carlo replications) must be a whole"),
        ({"replications": True}, "must be a whole number; got True (bool)"),
        ({"replications": 0}, "must be from 1 to 10,000; got 0"),
        ({"scenario": "scenarios/no_such.yaml"}, "'scenarios/no_such.yaml' was not found"),
        ({"scenario": 3}, "scenario (the scenario file) must be text; got 3 (int)"),
        ({"output_dir": 5}, "output_dir (the run folder, or None for the default) must be text"),
    ],
)
def test_a_wrong_value_stops_with_one_line_naming_it(
    changes: dict[str, object], expected: str
) -> None:
    assert expected in _message(**changes)


def test_an_unknown_parameter_is_an_error_that_lists_the_declared_ones() -> None:
    with pytest.raises(NotebookParameterError, match="unknown parameter foo") as caught:
        check_parameters({**GOOD, "foo": 1}, NOTEBOOK_PARAMETERS, injected=["foo", "seed"])
    assert "this notebook takes scenario, seed, replications, output_dir" in str(caught.value)


def test_a_missing_parameter_is_an_error() -> None:
    namespace = {k: v for k, v in GOOD.items() if k != "seed"}
    with pytest.raises(NotebookParameterError, match=r"seed .* is not set"):
        check_parameters(namespace, NOTEBOOK_PARAMETERS, injected=[])


def test_unknown_names_are_read_from_papermills_injected_cell_in_the_history() -> None:
    history = [
        "",
        'scenario = "scenarios/plan_2015.yaml"\nseed = None\n',
        "# Parameters\nfoo = 1\nseed = 3\n",
    ]
    assert injected_names(history) == ["foo", "seed"]
    with pytest.raises(NotebookParameterError, match="unknown parameter foo"):
        check_parameters({**GOOD, "seed": 3, "foo": 1, "In": history}, NOTEBOOK_PARAMETERS)
    # The same globals without an injected cell: a planner's own scratch variable is fine.
    assert check_parameters({**GOOD, "foo": 1, "In": history[:2]}, NOTEBOOK_PARAMETERS)


def test_choices_and_ranges_of_other_parameters() -> None:
    spec = {
        "objective": Parameter((str,), "the objective", choices=("min_cost", "max_exits")),
        "share": Parameter((int, float), "a share", 0, 1),
    }
    assert check_parameters({"objective": "min_cost", "share": 0.5}, spec, injected=[])
    with pytest.raises(NotebookParameterError, match="must be one of 'min_cost', 'max_exits'"):
        check_parameters({"objective": "cheap", "share": 0.5}, spec, injected=[])
    with pytest.raises(NotebookParameterError, match="must be a finite number"):
        check_parameters({"objective": "min_cost", "share": float("nan")}, spec, injected=[])


def test_ipython_shows_only_the_message() -> None:
    error = NotebookParameterError("Notebook parameters: unknown parameter foo.")
    assert error._render_traceback_() == [
        "NotebookParameterError: Notebook parameters: unknown parameter foo."
    ]
