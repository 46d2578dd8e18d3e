"""Read a YAML file into plain Python data plus the line of every key and list item.

ruamel.yaml's round-trip loader keeps positions (`.lc`); we copy the data into plain dicts,
lists and scalars (so validation never sees ruamel's subclasses) and remember, for each path
like ("overrides", 0, "match"), the 1-based line it starts on. The file is composed once, by
`BoundedComposer`, which stops at the first limit exceeded and reports every duplicate key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from daemon.desired.compose import BoundedComposer, LimitExceeded, bounded
from daemon.desired.limits import MAX_BYTES_ENV, Limits
from daemon.desired.location import Loc, Problem, fail, format_path

__all__ = ["Loc", "Problem", "Source", "fail", "format_path", "read_source", "too_big"]
_TOP_KEYS = "version, accounts, regions, defaults, ignore_tag, rules, overrides"


@dataclass(frozen=True)
class Source:
    file: str
    sha256: str
    data: dict[str, Any]
    lines: Mapping[Loc, int]
    problems: tuple[Problem, ...]  # found while reading but not fatal (duplicate keys)

    def line_of(self, loc: Loc) -> int:
        """Line of `loc`, or of its nearest ancestor present in the file (a missing field is
        reported on the line of the mapping that should hold it)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return 1


def read_source(file: str, content: bytes, limits: Limits | None = None) -> Source:
    """Parse `content` (the bytes of `file`). Raises ConfigError when nothing can be checked:
    over a limit, not UTF-8, YAML syntax, empty, or a top level that is not a mapping."""
    limits = limits or Limits()
    if len(content) > limits.max_bytes:
        raise fail(file, [too_big(len(content), limits)])
    sha256 = hashlib.sha256(content).hexdigest()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = content[: err.start].count(b"\n") + 1
        problem = Problem(line, "", f"not UTF-8 text ({err.reason} at byte {err.start})")
        raise fail(file, [problem]) from None
    loader = YAML(typ="rt")
    loader.allow_duplicate_keys = True  # the composer reports each one
    loader.Composer, loader.Scanner = bounded(limits)
    composer: BoundedComposer = loader.composer
    try:
        loaded = loader.load(text)
    except LimitExceeded as err:
        raise fail(file, [err.problem]) from None
    except RecursionError:  # not expected within max_depth; never a traceback all the same
        raise fail(file, [Problem(1, "", "YAML nested too deeply to read")]) from None
    except MarkedYAMLError as err:
        raise fail(file, [_syntax_problem(err)]) from None
    except YAMLError as err:
        raise fail(file, [Problem(1, "", f"YAML error: {err}")]) from None
    if loaded is None:
        raise fail(file, [Problem(1, "", f"file is empty; expected a mapping with {_TOP_KEYS}")])
    if not isinstance(loaded, CommentedMap):
        kind = "a list" if isinstance(loaded, list) else f"a single value ({loaded!r})"
        raise fail(
            file,
            [
                Problem(
                    _first_line(loaded),
                    "",
                    f"top level must be a mapping with {_TOP_KEYS}; got {kind}",
                )
            ],
        )
    lines: dict[Loc, int] = {(): loaded.lc.line + 1}
    data = _plain(loaded, (), lines)  # bounded: the composer counted every node it expands to
    return Source(file, sha256, data, lines, tuple(composer.duplicates))


def too_big(size: int, limits: Limits) -> Problem:
    return Problem(
        0,
        "",
        f"file is {size:,} bytes, over the limit of {limits.max_bytes:,} "
        f"(set {MAX_BYTES_ENV} to change it)",
    )


def _syntax_problem(err: MarkedYAMLError) -> Problem:
    mark = err.problem_mark or err.context_mark
    line = mark.line + 1 if mark is not None else 1
    text = err.problem or err.context or "invalid YAML"
    if err.context and err.problem and err.context_mark is not None:
        text = f"{err.context} on line {err.context_mark.line + 1}, {err.problem}"
    return Problem(line, "", f"YAML syntax error: {text}")


def _first_line(value: Any) -> int:
    lc = getattr(value, "lc", None)
    return int(lc.line) + 1 if lc is not None and lc.line is not None else 1


def _plain(value: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    """Copy ruamel's round-trip data into plain types, recording lines on the way."""
    if isinstance(value, CommentedMap):
        parent_line = lines.get(loc, 1)
        out: dict[Any, Any] = {}
        for key, item in value.items():
            plain_key = _scalar(key)
            try:
                lines[(*loc, plain_key)] = value.lc.key(key)[0] + 1
            except (KeyError, TypeError):  # a key merged in through `<<: *anchor`
                lines[(*loc, plain_key)] = parent_line
            out[plain_key] = _plain(item, (*loc, plain_key), lines)
        return out
    if isinstance(value, CommentedSeq):
        items: list[Any] = []
        for index, item in enumerate(value):
            lines[(*loc, index)] = value.lc.item(index)[0] + 1
            items.append(_plain(item, (*loc, index), lines))
        return items
    return _scalar(value)


def _scalar(value: Any) -> Any:
    # ruamel subclasses int/float/str to keep formatting; validation wants the base types.
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    return value  # dates, custom tags: left as they are, so validation rejects them by type
