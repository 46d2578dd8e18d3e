"""Merging request documents: several rules' UpdateApplication parts become one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from daemon.state import Call


class MergeConflict(ValueError):
    """Two rules want different values for the same field."""


def deep_merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Merge two request documents: mappings recursively, lists concatenated, equal scalars
    kept; different scalars for one key raise MergeConflict."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif isinstance(out[key], Mapping) and isinstance(value, Mapping):
            out[key] = deep_merge(out[key], value)
        elif isinstance(out[key], list) and isinstance(value, list):
            out[key] = [*out[key], *value]
        elif out[key] != value:
            raise MergeConflict(f"{key}: {out[key]!r} != {value!r}")
    return out


def merged_call(calls: Sequence[Call]) -> Call:
    """One versioned call whose parameters are all of `calls`' parameters merged."""
    params: dict[str, Any] = {}
    for call in calls:
        params = deep_merge(params, call.params)
    first = calls[0]
    return Call(first.service, first.operation, params, resource=first.resource, versioned=True)
