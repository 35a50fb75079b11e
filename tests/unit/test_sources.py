"""Sources a user can open: references point into the repository, at sections that exist.

A parameter's source says ``docs/sources.md §N`` (a public fact with its citation) or
``PLAN §N`` (the plan's item N, summarised in ``docs/plan.md``). Notes outside the repository
(``calibration.md``, ``../shared/…``) are not shipped, so nothing shipped may point at them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".md", ".json", ".csv", ".html", ".txt", ".toml"}

#: Shipped to a user of the package, or read by one.
SHIPPED_DIRS = ("fupinsim", "scenarios", "docs")
SHIPPED_FILES = ("README.md", "CONTRIBUTING.md", "pyproject.toml")

#: Files whose references another change replaces (the scenario module and the schema generated
#: from it); remove an entry once that change is merged.
UNSHIPPED = re.compile(r"calibration\.md|\.\./shared")
SOURCES_REF = re.compile(r"docs/sources\.md §(\d+(?:\.\d+)?)")
PLAN_REF = re.compile(r"PLAN §(\d+)(\(\d+\))?")


def shipped_files() -> Iterator[Path]:
    for name in SHIPPED_DIRS:
        for path in sorted((ROOT / name).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                yield path
    for name in SHIPPED_FILES:
        yield ROOT / name


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def sources_sections() -> set[str]:
    """Section numbers of docs/sources.md: ``## §4. …`` gives "4", ``### §4.3 …`` "4.3"."""
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} §(\d+(?:\.\d+)?)[. ]", text, flags=re.MULTILINE))


def plan_items() -> set[str]:
    """Items docs/plan.md summarises: ``**§19**``, ``**§27–§30**`` and table rows ``| 6(1) |``."""
    text = (ROOT / "docs" / "plan.md").read_text(encoding="utf-8")
    items = set(re.findall(r"^\| (\d+(?:\(\d+\))?) \|", text, flags=re.MULTILINE))
    for first, last in re.findall(r"\*\*§(\d+)(?:–§(\d+))?\*\*", text):
        items.update(str(n) for n in range(int(first), int(last or first) + 1))
    return items


def test_the_shipped_files_are_found() -> None:
    names = {rel(p) for p in shipped_files()}
    assert {"docs/sources.md", "docs/plan.md", "fupinsim/data/interventions.yaml"} <= names
    assert all((ROOT / name).is_file() for name in SHIPPED_FILES)


def test_nothing_shipped_points_outside_the_repository() -> None:
    found = [
        f"{rel(path)}:{number}: {line.strip()[:80]}"
        for path in shipped_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNSHIPPED.search(line)
    ]
    assert found == []


def test_sources_has_the_numbered_sections() -> None:
    sections = sources_sections()
    assert {"1", "2", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3", "5.7", "6.4", "7"} <= sections


@pytest.mark.parametrize("path", list(shipped_files()), ids=rel)
def test_every_sources_reference_names_a_section(path: Path) -> None:
    sections = sources_sections()
    text = path.read_text(encoding="utf-8")
    assert {ref for ref in SOURCES_REF.findall(text) if ref not in sections} == set()


def test_the_data_files_cite_sources_by_section() -> None:
    cited = {
        ref
        for path in (ROOT / "fupinsim" / "data").glob("*.yaml")
        for ref in SOURCES_REF.findall(path.read_text(encoding="utf-8"))
    }
    assert {"1", "2", "3.1", "4.1", "4.3", "5.3", "6.3"} <= cited


@pytest.mark.parametrize("path", sorted((ROOT / "fupinsim" / "data").glob("*.yaml")), ids=rel)
def test_every_plan_reference_in_the_data_is_summarised(path: Path) -> None:
    items = plan_items()
    missing = set()
    for item, sub in PLAN_REF.findall(path.read_text(encoding="utf-8")):
        whole = item in items or any(i.startswith(f"{item}(") for i in items)
        if not (item + sub in items if sub else whole):
            missing.add(item + sub)
    assert missing == set()
