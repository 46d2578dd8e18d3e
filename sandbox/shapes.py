"""Check a JSON value against a botocore shape: required members, types, enum values, lengths.

The sandbox uses it to reject invalid requests the way AWS does (botocore validates types on the
client but not enums), and the tests use it to prove each response fits the real output shape.
"""

from __future__ import annotations

import datetime
from functools import cache
from typing import Any

import botocore.session

_SCALAR_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "blob": (str, bytes),
    "float": (int, float),
    "double": (int, float),
}


@cache
def service_model(service: str) -> Any:
    """The botocore service model of `service` (e.g. "kinesisanalyticsv2")."""
    return botocore.session.get_session().get_service_model(service)


def _check_number(value: Any, shape: Any, path: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [f"{path}: expected {shape.type_name}, got {type(value).__name__}"]
    low = shape.metadata.get("min")
    if low is not None and value < low:
        return [f"{path}: {value} is below the minimum {low}"]
    high = shape.metadata.get("max")
    if high is not None and value > high:
        return [f"{path}: {value} is above the maximum {high}"]
    return []


def _check_string(value: Any, shape: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: expected string, got {type(value).__name__}"]
    enum = shape.enum
    if enum and value not in enum:
        return [f"{path}: {value!r} is not one of {list(enum)}"]
    low = shape.metadata.get("min")
    if low is not None and len(value) < low:
        return [f"{path}: shorter than {low}"]
    high = shape.metadata.get("max")
    if high is not None and len(value) > high:
        return [f"{path}: longer than {high}"]
    return []


def _check_timestamp(value: Any, path: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int | float | str | datetime.datetime):
        return [f"{path}: expected timestamp, got {type(value).__name__}"]
    return []


def problems(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Every way `value` does not fit `shape`; an empty list means it fits."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        found = [
            f"{path}.{name}: required but missing"
            for name in shape.required_members
            if name not in value
        ]
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                found.append(f"{path}.{name}: not a member of {shape.name}")
            elif member_value is not None:
                found.extend(problems(member_value, member, f"{path}.{name}"))
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list, got {type(value).__name__}"]
        found = []
        high = shape.metadata.get("max")
        if high is not None and len(value) > high:
            found.append(f"{path}: more than {high} items")
        low = shape.metadata.get("min")
        if low is not None and len(value) < low:
            found.append(f"{path}: fewer than {low} items")
        for index, item in enumerate(value):
            found.extend(problems(item, shape.member, f"{path}[{index}]"))
        return found
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected map, got {type(value).__name__}"]
        found = []
        for key, item in value.items():
            found.extend(problems(key, shape.key, f"{path}<key>"))
            found.extend(problems(item, shape.value, f"{path}[{key!r}]"))
        return found
    if kind in ("integer", "long"):
        return _check_number(value, shape, path)
    if kind == "string":
        return _check_string(value, shape, path)
    if kind == "timestamp":
        return _check_timestamp(value, path)
    expected = _SCALAR_TYPES.get(kind)
    if expected is not None and not isinstance(value, expected):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    return []


def output_problems(service: str, operation: str, body: Any) -> list[str]:
    """Problems of a response body against the operation's output shape."""
    shape = service_model(service).operation_model(operation).output_shape
    if shape is None:
        return [] if body in ({}, None) else ["$: operation has no output"]
    return problems(body, shape)


def input_problems(service: str, operation: str, body: Any) -> list[str]:
    """Problems of a request body against the operation's input shape."""
    shape = service_model(service).operation_model(operation).input_shape
    if shape is None:
        return []
    return problems(body, shape)
