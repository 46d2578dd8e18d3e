"""Events from files, for `replay`: CloudTrail log files and JSON lines of EventBridge envelopes.

- `*.jsonl`, `*.jsonl.gz`: one event per line, streamed; blank lines are skipped.
- anything else (`*.json`, `*.json.gz`, ...): a CloudTrail log file `{"Records": [...]}` gives
  one event per record; a JSON array one per element; any other JSON document is one event; a
  file that is not one JSON document is read as JSON lines (one envelope per line).

Each event comes as (location, body): `file.json.gz:#3` is the third record (counting from 1),
`file.jsonl:12` is line 12. A broken record or line still comes out, with a body `parse()` rejects,
so one bad line never stops a file. A file that cannot be read raises EventFileError naming it.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from typing import Any

from daemon.errors import RemediatorError

_READ_ERRORS = (OSError, EOFError, zlib.error)  # gzip.BadGzipFile is an OSError


class EventFileError(RemediatorError):
    """An event file cannot be read (missing, unreadable, corrupt compression)."""


def _open(name: str) -> io.BufferedIOBase:
    if name.endswith(".gz"):
        return gzip.GzipFile(name, "rb")
    return open(name, "rb")


def _decode(raw: bytes) -> str:
    # Invalid UTF-8 becomes U+FFFD: the event is still judged by parse(), not dropped here.
    return raw.decode("utf-8", "replace")


def _dump(value: Any) -> str:
    try:
        return json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        return ""  # cannot happen for parsed JSON short of extreme nesting; parse() rejects ""


def _lines(name: str, raw: bytes | None = None) -> Iterator[tuple[str, str]]:
    if raw is not None:
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                yield f"{name}:{number}", _decode(line).strip()
        return
    try:
        with _open(name) as stream:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    yield f"{name}:{number}", _decode(line).strip()
    except _READ_ERRORS as error:
        raise EventFileError(f"{name}: cannot read: {error}") from error


def _document(name: str) -> Iterator[tuple[str, str]]:
    try:
        with _open(name) as stream:
            raw = stream.read()
    except _READ_ERRORS as error:
        raise EventFileError(f"{name}: cannot read: {error}") from error
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        yield from _lines(name, raw)
        return
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        items: list[Any] = document["Records"]
    elif isinstance(document, list):
        items = document
    else:
        yield f"{name}:#1", _decode(raw).strip()
        return
    for index, item in enumerate(items, start=1):
        yield f"{name}:#{index}", _dump(item)


def read_events(path: str | os.PathLike[str]) -> Iterator[tuple[str, str]]:
    """(location, body) for every event in the file at `path`, in file order."""
    name = os.fspath(path)
    if os.path.isdir(name):
        raise EventFileError(f"{name}: is a directory, not an event file")
    if name.endswith((".jsonl", ".jsonl.gz")):
        return _lines(name)
    return _document(name)
