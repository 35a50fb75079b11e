"""Household income microsimulation: catalogue, plans, engine, exits, results.

The entry point is :func:`simulate`; plans are tables (:mod:`.plans`), the intervention
catalogue is :func:`load_catalogue`.
"""

from fupinsim.microsim.catalogue import Catalogue, load_catalogue
from fupinsim.microsim.plans import reference_plan, validate_plan
from fupinsim.microsim.results import SimulationResult
from fupinsim.microsim.simulate import exit_probabilities, simulate
from fupinsim.microsim.targets import exit_targets

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
