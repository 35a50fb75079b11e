"""Household income microsimulation: catalogue, plans, engine, exits, results.

The entry point is :func:`simulate`; plans are tables (:mod:`.plans`), the intervention
catalogue is :func:`load_catalogue`.

The engine (:func:`simulate`, :func:`exit_probabilities`, :class:`SimulationResult`) is
imported on first use (PEP 562): it compiles with numba, and a reader that only needs the
catalogue (a household card's package labels) should not pay for it.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from fupinsim.microsim.catalogue import Catalogue, load_catalogue
from fupinsim.microsim.plans import reference_plan, validate_plan
from fupinsim.microsim.targets import exit_targets

if TYPE_CHECKING:
    from fupinsim.microsim.results import SimulationResult
    from fupinsim.microsim.simulate import exit_probabilities, simulate

__all__ = [
    "Catalogue",
    "SimulationResult",
    "exit_probabilities",
    "exit_targets",
    "load_catalogue",
    "reference_plan",
    "simulate",
    "validate_plan",
]

#: Names imported on first use → the submodule that defines them.
_LAZY = {
    "SimulationResult": "fupinsim.microsim.results",
    "exit_probabilities": "fupinsim.microsim.simulate",
    "simulate": "fupinsim.microsim.simulate",
}


def __getattr__(name: str) -> Any:
    """The engine's names, imported when first asked for (then bound here)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


class _Package(ModuleType):
    """This package, keeping the function :func:`simulate` as its attribute ``simulate``.

    Importing the submodule ``fupinsim.microsim.simulate`` sets the package's attribute of that
    name to the submodule; with the eager import this package had, the function then replaced
    it. The function stays the package's ``simulate`` whatever imports the submodule first.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, ModuleType):
            return  # the submodule of the same name: the function (imported lazily) wins
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
