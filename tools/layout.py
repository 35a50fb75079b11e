"""Print ``docs/layout.md``: every module of ``fupinsim/`` with its layer and what it does.

Run from the repository root after adding or moving a module::

    .venv/bin/python tools/layout.py > docs/layout.md

``tests/contract/test_architecture.py`` checks that every module is listed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "contract"))

from test_import_layers import PACKAGE, layer_of, module_name  # noqa: E402

HEADER = """# Layout of the package

Every module of `fupinsim/`, its import layer (a module imports only from its own layer or
the layers above; `tests/contract/test_import_layers.py` enforces it) and what it does (the
first paragraph of its docstring). Layers: 1 errors and units; 2 scenario, random streams,
packaged data; 3 registry; 4 microsimulation and funding; 5 allocation; 6 pipeline and
assessment; 7 figures, reports and all file I/O; 8 batch, command line, notebook controls.
Where each kind of change goes is in `CONTRIBUTING.md`. Regenerate this file after adding or
moving a module: `.venv/bin/python tools/layout.py > docs/layout.md` (a test checks that every
module is listed).

| module | layer | what it does |
|---|---|---|"""


def rows() -> list[str]:
    """One table row per module, in path order."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        first = " ".join(doc.strip().split("\n\n")[0].split()).replace("|", "/")
        out.append(f"| `{module}` | {layer_of(module)} | {first} |")
    return out


if __name__ == "__main__":
    sys.stdout.write("\n".join([HEADER, *rows()]) + "\n")
