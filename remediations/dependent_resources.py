"""Which Kinesis data streams, Firehose delivery streams and MSK clusters an application names
in its runtime properties (EnvironmentProperties). Pure; used by `dependent_encryption`.

What counts as naming a resource:
- a full ARN anywhere in a value (`arn:aws:kinesis:R:A:stream/N`,
  `arn:aws:firehose:R:A:deliverystream/N`, `arn:aws:kafka:R:A:cluster/N/UUID`), in any account
  or Region;
- a plain name as the whole value of a property whose key matches one of the configured key
  globs (case-insensitive; `key` or `group/key`), taken as a resource of the application's own
  account and Region. Firehose keys are tried before Kinesis keys (`delivery.stream` also ends
  in `stream`). Comma-separated names are several resources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from daemon.state import AppRef

Kind = Literal["kinesis", "firehose", "msk"]
ARNS: Mapping[Kind, re.Pattern[str]] = {
    "kinesis": re.compile(r"arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[A-Za-z0-9_.-]+"),
    "firehose": re.compile(
        r"arn:aws[a-z-]*:firehose:[a-z0-9-]+:\d{12}:deliverystream/[A-Za-z0-9_.-]+"
    ),
    # AWS: cluster/NAME/UUID; moto 5.2.5 (the sandbox) makes cluster/UUID.
    "msk": re.compile(
        r"arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9-]+(?:/[A-Za-z0-9-]+)?"
    ),
}
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


@dataclass(frozen=True, order=True)
class Named:
    """One dependent resource: its kind, and its ARN (or, for an MSK cluster given by name,
    `name` with an empty `arn` until it is looked up)."""

    kind: Kind
    arn: str
    name: str = ""


def resource_arn(kind: Kind, app: AppRef, name: str) -> str:
    head = f"arn:aws:{'kafka' if kind == 'msk' else kind}:{app.region}:{app.account}:"
    return head + ("stream/" if kind == "kinesis" else "deliverystream/") + name


def _matches(group: str, key: str, globs: Iterable[str]) -> bool:
    k, gk = key.lower(), f"{group}/{key}".lower()
    return any(fnmatchcase(gk if "/" in g else k, g.lower()) for g in globs)


def _kind_of(group: str, key: str, keys: Mapping[Kind, Iterable[str]]) -> Kind | None:
    order: tuple[Kind, ...] = ("firehose", "kinesis", "msk")
    return next((k for k in order if _matches(group, key, keys.get(k, ()))), None)


def named_resources(
    app: AppRef,
    groups: Iterable[tuple[str, Mapping[str, Any]]],
    keys: Mapping[Kind, Iterable[str]],
) -> tuple[Named, ...]:
    found: set[Named] = set()
    for group, properties in groups:
        for key, raw in properties.items():
            value = str(raw)
            for arn_kind, pattern in ARNS.items():
                found.update(Named(arn_kind, arn) for arn in pattern.findall(value))
            if "arn:" in value:
                continue
            kind = _kind_of(group, key, keys)
            if kind is None:
                continue
            for name in (n.strip() for n in value.split(",")):
                if not NAME.match(name):
                    continue
                if kind == "msk":
                    found.add(Named("msk", "", name))
                else:
                    found.add(Named(kind, resource_arn(kind, app, name)))
    return tuple(sorted(found))


def name_of(arn: str) -> str:
    """The resource name in a stream, delivery stream or cluster ARN."""
    tail = arn.split(":", 5)[-1]
    parts = tail.split("/")
    return parts[1] if len(parts) > 1 else tail
