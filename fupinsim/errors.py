"""Exception types shared by every layer.

One error format for everything a planner can get wrong (after scikit-learn's parameter
validation): *where* (file, field or column, row), *what was found*, *what is allowed*, and,
where there is one, *the fix*. The command line turns an :class:`InputError` into one line on
stderr and exit code 2; a :class:`TargetsNotMetError` into exit code 3 (``--strict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "FupinsimError",
    "InputError",
    "Problem",
    "RegistryError",
    "ScenarioError",
    "SolverError",
    "TargetsNotMetError",
]


class FupinsimError(Exception):
    """Base class of every error fupinsim raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, in the words a planner reads.

    Attributes
    ----------
    where:
        The file, optionally followed by the field path or ``row <id>, column <name>``.
    value:
        The offending value, as found (``None`` when the problem is a missing item).
    rule:
        What is allowed, stated positively ("must be one of suzhou, yumen, …").
    fix:
        Optional hint on how to repair it.
    """

    where: str
    value: object
    rule: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.rule}"
        if self.value is not None:
            text += f"; got {self.value!r}"
        return f"{text}. {self.fix}" if self.fix else text


@dataclass
class InputError(FupinsimError):
    """A scenario, registry or plan that cannot be used as it is.

    Carries every problem found, not only the first, so a planner can fix a file in one go.
    """

    problems: Sequence[Problem]
    summary: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [self.summary] if self.summary else []
        shown = list(self.problems[:20])
        lines += [str(p) for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"... and {len(self.problems) - len(shown)} more problems")
        return "\n".join(lines)

    @classmethod
    def single(cls, where: str, value: object, rule: str, fix: str = "") -> InputError:
        """An error with exactly one problem."""
        return cls([Problem(where, value, rule, fix)])


class ScenarioError(InputError):
    """A scenario file that does not validate."""


class RegistryError(InputError):
    """A registry table with rows that break the schema or the consistency rules."""


class SolverError(FupinsimError):
    """The solver returned no usable solution (not optimal, not feasible within the limits)."""


class TargetsNotMetError(FupinsimError):
    """The allocation cannot meet every exit target (raised only when asked to be strict)."""
