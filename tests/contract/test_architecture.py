"""Architecture: small modules with one job, short functions (issue 9, CONTRIBUTING.md).

A module under ``fupinsim/`` over :data:`MODULE_LIMIT` lines, or a function over
:data:`FUNCTION_LIMIT` lines, fails this test unless it is in the allow-list below with the
reason it reads better as it is. The allow-list may only shrink: an entry that no longer
exceeds its limit fails too, so it is removed when the code is split.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fupinsim"

#: Lines per module (the house rule is ~600; the hard ceiling of issue 9 is 800).
MODULE_LIMIT = 600
HARD_MODULE_LIMIT = 800
#: Lines per function or method, from ``def`` to its last line (docstring included).
FUNCTION_LIMIT = 80
#: At most this many functions may stay over the limit, each with its reason.
MAX_LONG_FUNCTIONS = 5

#: ``path relative to fupinsim/`` → why it stays over MODULE_LIMIT lines.
LONG_MODULES: dict[str, str] = {
    "allocate/results.py": "reads a solved LP into its tables; the shortfall diagnosis (about "
    "200 lines) is the next move, into allocate/shortfalls.py",
    "io/outputs.py": "atomic folders, tables and manifests share their temp-and-rename helpers; "
    "the run-environment block is the next move",
}

#: ``path::qualified.name`` → why it stays over FUNCTION_LIMIT lines.
LONG_FUNCTIONS: dict[str, str] = {
    "allocate/solve.py::solve_problem": "one solver call with its fallback and every status "
    "check in the order toolchain pitfalls require; reads as one sequence",
    "io/report_files.py::write_report_bundle": "writes the bundle's files in their order; a "
    "list of writers per file is the planned split",
    "microsim/national.py::simulate_national": "the chunk loop with its pool, sink and progress "
    "in one place; to split when national run lands",
    "pipeline/loop.py::closed_loop_stage": "the closed loop's rounds, best-round choice and stop "
    "rule read as one algorithm",
    "plots/comparison.py::scenario_comparison_chart": "one figure's panels laid out in order",
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _functions(path: Path) -> list[tuple[str, int]]:
    """(qualified name, length in lines) of every function and method in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                # From ``def`` to the last line: a command's click options are decorators, not
                # the function's body.
                found.append((name, (child.end_lineno or child.lineno) - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def _key(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_no_new_long_module() -> None:
    long = {_key(p): n for p in _modules() if (n := _line_count(p)) > MODULE_LIMIT}
    new = {k: n for k, n in long.items() if k not in LONG_MODULES}
    assert not new, f"modules over {MODULE_LIMIT} lines (split them by job): {new}"
    too_long = {k: n for k, n in long.items() if n > HARD_MODULE_LIMIT}
    assert not too_long, f"modules over {HARD_MODULE_LIMIT} lines: {too_long}"


def test_no_new_long_function() -> None:
    long = {
        f"{_key(p)}::{name}": n
        for p in _modules()
        for name, n in _functions(p)
        if n > FUNCTION_LIMIT
    }
    new = {k: n for k, n in long.items() if k not in LONG_FUNCTIONS}
    assert not new, f"functions over {FUNCTION_LIMIT} lines (split them): {new}"


def test_every_module_is_in_the_layout_map() -> None:
    """docs/layout.md (``tools/layout.py``) lists every module, so the map stays true."""
    layout = (PACKAGE.parent / "docs" / "layout.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([\w.]+)` \|", layout, flags=re.M))
    modules = set()
    for path in _modules():
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert modules - listed == set(), "run: .venv/bin/python tools/layout.py > docs/layout.md"
    assert listed - modules == set(), "run: .venv/bin/python tools/layout.py > docs/layout.md"


def test_allow_list_is_current_and_small() -> None:
    lengths = {_key(p): _line_count(p) for p in _modules()}
    stale_modules = [k for k in LONG_MODULES if lengths.get(k, 0) <= MODULE_LIMIT]
    function_lengths = {f"{_key(p)}::{name}": n for p in _modules() for name, n in _functions(p)}
    stale_functions = [k for k in LONG_FUNCTIONS if function_lengths.get(k, 0) <= FUNCTION_LIMIT]
    assert not stale_modules, f"remove from LONG_MODULES (now short or gone): {stale_modules}"
    assert not stale_functions, f"remove from LONG_FUNCTIONS (now short or gone): {stale_functions}"
    assert len(LONG_FUNCTIONS) <= MAX_LONG_FUNCTIONS
    assert all(reason.strip() for reason in [*LONG_MODULES.values(), *LONG_FUNCTIONS.values()])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    return 1\n", [("f", 2)]),
        ("class A:\n    @staticmethod\n    def g():\n        pass\n", [("A.g", 2)]),
        (
            "def f():\n    def inner():\n        pass\n    return inner\n",
            [("f", 4), ("f.inner", 2)],
        ),
    ],
)
def test_function_lengths_are_measured(tmp_path: Path, source: str, expected: list) -> None:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    assert _functions(path) == expected
