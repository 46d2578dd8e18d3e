"""Turn pydantic validation errors into `file:line: dotted.path: message` problems."""

from __future__ import annotations

import difflib
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from daemon.desired.source import Loc, Problem, Source, format_path

_RULE_SECTIONS = ("rules",)


def from_validation_error(
    source: Source, root: type[BaseModel], error: ValidationError, prefix: Loc = ()
) -> list[Problem]:
    """One Problem per pydantic error; `prefix` places errors of a nested validation."""
    problems = []
    for detail in error.errors(include_url=False):
        loc: Loc = (*prefix, *detail["loc"])
        message, choices = _message(root, detail, loc)
        problems.append(Problem(source.line_of(loc), format_path(loc), message, choices))
    return problems


def _message(root: type[BaseModel], detail: ErrorDetails, loc: Loc) -> tuple[str, str]:
    """The message (shortened if it quotes a huge value) and the valid choices (never cut)."""
    kind = detail["type"]
    if kind == "extra_forbidden" and loc:
        return _unknown_key(root, loc)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping, got {_yaml_kind(detail['input'])}", ""
    if kind == "list_type":
        return f"expected a list, got {_yaml_kind(detail['input'])}", ""
    message = detail["msg"]
    for noise in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(noise)
    return message, ""


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    for kind, name in (
        (bool, "a boolean"),
        (int, "a number"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "a mapping"),
    ):
        if isinstance(value, kind):
            return f"{name} ({value!r})" if kind in (bool, int, float, str) else name
    return f"a {type(value).__name__}"


def _unknown_key(root: type[BaseModel], loc: Loc) -> tuple[str, str]:
    key = str(loc[-1])
    allowed = _allowed_keys(root, loc[:-1])
    if allowed is None:
        return f"unknown key {key!r}", ""
    is_rule = len(loc) >= 2 and loc[-2] in _RULE_SECTIONS
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listing = ", ".join(allowed) or "none"
    if is_rule:
        return f"unknown rule {key!r}{hint}", f"known rules: {listing}"
    return f"unknown key {key!r}{hint}", f"allowed keys: {listing}"


def _allowed_keys(root: type[BaseModel], loc: Loc) -> list[str] | None:
    """Field names of the model found at `loc`, walking the model's annotations."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (list, tuple) and isinstance(part, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and `X | None` down to X."""
    while True:
        metadata = getattr(annotation, "__metadata__", None)
        if metadata is not None:
            annotation = annotation.__origin__
            continue
        if get_origin(annotation) in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation
