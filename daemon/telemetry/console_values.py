"""Shortening values for console log lines without losing what a reader needs.

Ids are never cut: an ARN, a 12-digit account id, an AWS resource id (`subnet-0abc...`) or a
UUID is shown whole or not at all. A before/after pair is shortened around where the two
differ (the common start and end elided with `…`), so a change at the end of two long ARN lists
does not print two lines that look the same. The JSON log always has the whole values.
"""

from __future__ import annotations

import re
from typing import Any

MAX_CHARS = 48  # a single value beyond it is cut (after the id it would cut into)
CONTEXT_CHARS = 12  # what a pair keeps of the common part before their difference
MAX_DIFFERENCE_CHARS = 64  # what a pair shows of each side's differing part (then ids whole)
ELLIPSIS = "…"

# Tokens a cut must not fall into.
_IDS = re.compile(
    r"arn:[A-Za-z0-9+=,.@/:_*-]+"  # ARN, to its end (quotes, spaces, brackets end it)
    r"|(?<![0-9])[0-9]{12}(?![0-9])"  # account id
    r"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"  # UUID
    r"|\b[a-z]+(?:-[a-z]+)*-[0-9a-f]{8,17}\b"  # subnet-0abc..., sg-..., rtb-..., eni-...
)


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _snap(text: str, position: int, forward: bool) -> int:
    """`position`, moved out of any id it falls inside: to the id's end (forward) or start."""
    for match in _IDS.finditer(text):
        if match.start() < position < match.end():
            return match.end() if forward else match.start()
        if match.start() >= position:
            break
    return position


def short(value: Any) -> Any:
    """One value for a console line: numbers, booleans, None and short text unchanged; long
    text cut at MAX_CHARS, or after the id the cut would fall into."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = text_of(value)
    if len(text) <= MAX_CHARS:
        return text
    cut = _snap(text, MAX_CHARS - 1, forward=True)
    return text if cut >= len(text) else text[:cut] + ELLIPSIS


def short_pair(before: Any, after: Any) -> tuple[Any, Any]:
    """Both sides of a change, shortened to where they differ (ids kept whole)."""
    a, b = text_of(before), text_of(after)
    if (len(a) <= MAX_CHARS and len(b) <= MAX_CHARS) or a == b:
        return short(before), short(after)
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    start = _word_start(a, max(0, prefix - CONTEXT_CHARS))
    start = min(_snap(a, start, forward=False), _snap(b, start, forward=False))
    return _window(a, start, prefix, suffix), _window(b, start, prefix, suffix)


def _word_start(text: str, position: int) -> int:
    """Back to the start of the word `position` falls in (after a quote, space, comma,
    bracket), if that is near."""
    for start in range(position, max(0, position - CONTEXT_CHARS) - 1, -1):
        if start == 0 or text[start - 1] in _SEPARATORS:
            return start
    return position


_SEPARATORS = frozenset(" ,'\"[]{}()=")


def _window(text: str, start: int, common_prefix: int, common_suffix: int) -> str:
    end = min(len(text), len(text) - common_suffix + CONTEXT_CHARS)
    end = min(end, common_prefix + MAX_DIFFERENCE_CHARS)
    end = _snap(text, end, forward=True)
    head = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(text) else ""
    return f"{head}{text[start:end]}{tail}"
