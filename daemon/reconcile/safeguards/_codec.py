"""Records <-> JSON for the state store (private to `Safeguards`): a frozen dataclass becomes an
object of its fields, read back by its type hints. Datetimes are ISO 8601, tuples and frozensets
lists; Mapping[str, Any] and Any values (drift values, call parameters) are kept as JSON keeps
them. A field typed as something else (a pass's shared reads) is left out and gets its default."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = _hints(type(value))
        return {
            f.name: encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name in hints
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, tuple | list | frozenset | set):
        items = [encode(v) for v in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(kind: Any, data: Any) -> Any:
    if data is None or kind is Any:
        return data
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        return decode(next(a for a in args if a is not type(None)), data)
    if origin is not None or kind in (Mapping, dict):
        return _decode_generic(origin or kind, args, data)
    return _decode_plain(kind, data)


def _decode_generic(origin: Any, args: tuple[Any, ...], data: Any) -> Any:
    if origin is typing.Literal:
        return data
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        return tuple(decode(a, v) for a, v in zip(args, data, strict=True))
    if origin is frozenset:
        return frozenset(decode(args[0], v) for v in data)
    if origin in (Mapping, dict):
        value_kind = args[1] if args else Any
        return {k: decode(value_kind, v) for k, v in data.items()}
    raise TypeError(f"cannot decode {origin}")


def _decode_plain(kind: Any, data: Any) -> Any:
    if kind in (str, int, bool):
        return data
    if kind is float:
        return math.inf if data == "inf" else float(data)
    if kind is datetime:
        return datetime.fromisoformat(data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{k: decode(hints[k], v) for k, v in data.items() if k in hints})
    raise TypeError(f"cannot decode {kind}")


def decode_as(kind: type[T], data: Any) -> T:
    value: T = decode(kind, data)
    return value


@cache
def _hints(kind: type) -> dict[str, Any]:
    """The fields this codec keeps: those of a type it can write back."""
    hints = typing.get_type_hints(kind)
    return {name: hint for name, hint in hints.items() if _storable(hint)}


def _storable(hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return all(_storable(a) for a in args if a is not type(None))
    if origin in (tuple, frozenset, Mapping, dict, typing.Literal) or hint is Any:
        return all(a is Ellipsis or _storable(a) for a in args) if origin is tuple else True
    if hint in (str, int, bool, float, datetime, type(None)):
        return True
    return dataclasses.is_dataclass(hint)
