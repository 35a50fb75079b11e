"""Pydantic validation errors in a planner's words: one :class:`~fupinsim.errors.Problem` each.

Used for scenarios and for the intervention catalogue: every problem names the file, the field
path (``microsim.health.serious_illness_rate``, ``entries.sheep_30.failure_prob.value``), the
value found and what is allowed, with a "Did you mean" for a misspelt field. A model validator
reports a problem about one of its fields with :func:`fupinsim.scenario.fields.invalid_field`.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from fupinsim.errors import Problem

__all__ = ["validation_problems"]


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


_COMPARISONS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}
_TYPE_RULES = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of 'key: value' lines",
    "model_type": "must be a section (a mapping of 'field: value' lines)",
    "model_attributes_type": "must be a section (a mapping of 'field: value' lines)",
}


def _allowed(error: Mapping[str, Any], known: Sequence[str], hint: str) -> tuple[str, str]:
    """Turn a pydantic error into the positive rule a planner reads, and a fix if there is one."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    fix = ""
    if kind == "extra_forbidden":
        name = str(error["loc"][-1]) if error["loc"] else ""
        close = difflib.get_close_matches(name, list(known), n=1)
        fix = f"Did you mean '{close[0]}'?" if close else ""
        rule = f"is not a known field here ({hint})" if hint else "is not a known field here"
        rule = f"{rule}; known fields: {', '.join(known)}" if known else rule
    elif kind == "missing":
        rule = "is required"
    elif kind == "literal_error":
        rule = f"must be one of {ctx.get('expected', '')}"
    elif kind in _COMPARISONS:
        rule = f"must be {_COMPARISONS[kind]} {next(iter(ctx.values()))}"
    elif kind in _TYPE_RULES:
        rule = _TYPE_RULES[kind]
    elif kind == "too_short":
        rule = f"must have at least {ctx.get('min_length')} item(s)"
    elif kind == "string_pattern_mismatch":
        rule = f"must match the pattern {ctx.get('pattern')}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        rule = message[:1].lower() + message[1:]
    return rule, fix


def _section_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section model behind an annotation, and whether a key or index comes first.

    ``Model``, ``Model | None``, ``dict[str, Model]`` and ``list[Model]``.
    """
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (dict, list):
        value = args[-1] if args else None
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value, True
    if origin in (typing.Union, types.UnionType):
        models = [_section_model(arg) for arg in args if arg is not type(None)]
        if len(models) == 1:
            return models[0]
    return None, False


def _known_fields(root: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Fields allowed where the last part of ``loc`` sits (empty if not inside a section)."""
    model: type[BaseModel] | None = root
    parts = list(loc[:-1])
    while parts and model is not None:
        info = model.model_fields.get(str(parts.pop(0)))
        model, keyed = _section_model(info.annotation if info else None)
        if keyed and parts:
            parts.pop(0)  # the mapping key (e.g. a catalogue entry id) or list index
    return list(model.model_fields) if model is not None else []


def _problem(err: Mapping[str, Any], where: str, root: type[BaseModel], hint: str) -> Problem:
    loc = tuple(err["loc"])
    if err["type"] == "scenario_field":  # raised by a section's validator via invalid_field
        ctx = err["ctx"]
        return Problem(f"{where}: {_location((*loc, ctx['field']))}", ctx["value"], ctx["rule"])
    rule, fix = _allowed(err, _known_fields(root, loc), hint)
    value = None if err["type"] == "missing" else err.get("input")
    return Problem(f"{where}: {_location(loc)}", value, rule, fix)


def validation_problems(
    exc: ValidationError, where: str, root: type[BaseModel], *, hint: str = ""
) -> list[Problem]:
    """One problem per error of ``exc``, raised validating ``root`` from the file ``where``.

    ``hint`` tells where the known fields are documented (shown with an unknown field).
    """
    return [_problem(err, where, root, hint) for err in exc.errors(include_url=False)]
