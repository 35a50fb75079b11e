"""Import layers (design §3, docs/contracts.md): a module imports only from its own layer or the
layers above it (lower numbers). Every module under ``fupinsim/`` must be in :data:`LAYERS`, so a
new module cannot slip past this test.

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a lazy import
hides a dependency, it does not remove it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fupinsim"

#: Module (or ``package.*`` for all of a package's modules) → layer.
LAYERS: dict[str, int] = {
    "fupinsim": 1,  # the package root: only __version__
    "fupinsim.errors": 1,
    "fupinsim.units": 1,
    "fupinsim.scenario": 2,
    "fupinsim.scenario.*": 2,
    "fupinsim.rng": 2,
    "fupinsim.data": 2,
    "fupinsim.registry": 3,
    "fupinsim.registry.*": 3,
    "fupinsim.microsim": 4,
    "fupinsim.microsim.*": 4,
    "fupinsim.funding": 4,
    "fupinsim.allocate": 5,
    "fupinsim.allocate.*": 5,
    "fupinsim.uncertainty": 5,
    "fupinsim.pipeline": 6,
    "fupinsim.pipeline.*": 6,
    "fupinsim.assess": 6,
    "fupinsim.assess.*": 6,
    "fupinsim.hindcast": 6,
    "fupinsim.montecarlo": 6,
    "fupinsim.sensitivity": 6,
    "fupinsim.plots": 7,
    "fupinsim.plots.*": 7,
    "fupinsim.report": 7,
    "fupinsim.report.*": 7,
    "fupinsim.io": 7,
    "fupinsim.io.*": 7,
    "fupinsim.batch": 8,
    "fupinsim.batch.*": 8,
    "fupinsim.cli": 8,
    "fupinsim.cli_sensitivity": 8,
    "fupinsim.cli_options": 8,
    "fupinsim.cli_national": 8,
    "fupinsim.cli_run": 8,
    "fupinsim.cli_batch": 8,
    "fupinsim.widgets": 8,
    "fupinsim.widgets.*": 8,
    "fupinsim.notebook": 8,
}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    """The layer of a module: its own entry, else its package's ``.*`` entry."""
    if module in LAYERS:
        return LAYERS[module]
    package, _, _ = module.rpartition(".")
    while package:
        if f"{package}.*" in LAYERS:
            return LAYERS[f"{package}.*"]
        package, _, _ = package.rpartition(".")
    return None


def _is_module(name: str, root: Path) -> bool:
    candidate = root.parent.joinpath(*name.split("."))
    return candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file()


def internal_imports(path: Path, root: Path = PACKAGE) -> Iterator[tuple[int, str]]:
    """(line, imported fupinsim module) for every import in a file, relative ones resolved."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]  # always modules
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import name``: a submodule if there is one, else from the package.
            names = [
                f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}", root) else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name == "fupinsim" or name.startswith("fupinsim."):
                yield node.lineno, name


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_is_found() -> None:
    names = {module_name(p) for p in MODULES}
    assert {"fupinsim.scenario", "fupinsim.registry.synthetic", "fupinsim.cli"} <= names


def test_every_module_has_a_layer() -> None:
    unmapped = [module_name(p) for p in MODULES if layer_of(module_name(p)) is None]
    assert unmapped == [], (
        f"add these modules to LAYERS in {Path(__file__).name} (see docs/contracts.md): {unmapped}"
    )


def violations(path: Path, root: Path = PACKAGE) -> list[str]:
    """Imports of a module from a lower layer (or from a module without a layer)."""
    module = module_name(path, root)
    own = layer_of(module)
    found = []
    for line, target in internal_imports(path, root):
        target_layer = layer_of(target)
        if own is None or target_layer is None or target_layer > own:
            found.append(
                f"{path.relative_to(root.parent)}:{line}: {module} (layer {own}) imports "
                f"{target} (layer {target_layer})"
            )
    return found


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_only_from_its_own_layer_or_above(path: Path) -> None:
    if layer_of(module_name(path)) is None:
        pytest.skip("unmapped (reported by test_every_module_has_a_layer)")
    assert violations(path) == []


# ----------------------------------------------------------------------------------------------
# The walker itself


def test_walker_finds_a_violation_in_a_relative_and_a_lazy_import(tmp_path: Path) -> None:
    root = tmp_path / "fupinsim"
    (root / "registry").mkdir(parents=True)
    for name in ("__init__.py", "cli.py", "errors.py", "registry/__init__.py"):
        (root / name).write_text("", encoding="utf-8")
    bad = root / "registry" / "bad.py"
    bad.write_text(
        "from fupinsim.errors import InputError\n"
        "from ..cli import main\n"
        "def f():\n    import fupinsim.io.registry_files\n",
        encoding="utf-8",
    )
    assert violations(bad, root) == [
        "fupinsim/registry/bad.py:2: fupinsim.registry.bad (layer 3) imports "
        "fupinsim.cli (layer 8)",
        "fupinsim/registry/bad.py:4: fupinsim.registry.bad (layer 3) imports "
        "fupinsim.io.registry_files (layer 7)",
    ]


def test_walker_resolves_imports_of_the_real_package() -> None:
    source = PACKAGE / "registry" / "__init__.py"
    found = {target for _, target in internal_imports(source)}
    assert "fupinsim.registry.synthetic" in found  # ``from fupinsim.registry.synthetic import``
    assert "fupinsim.scenario" in found
    cli = {target for _, target in internal_imports(PACKAGE / "cli.py")}
    assert "fupinsim.scenario" in cli  # imported inside a command function


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("fupinsim", 1),
        ("fupinsim.registry.checks", 3),
        ("fupinsim.registry.new_module", 3),
        ("fupinsim.io.registry_files", 7),
        ("fupinsim.allocate.solve", 5),
        ("fupinsim.microsim.engine", 4),
        ("fupinsim.new_top_level", None),
    ],
)
def test_layer_lookup(module: str, layer: int | None) -> None:
    assert layer_of(module) == layer
