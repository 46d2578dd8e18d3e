"""Shell-style globs (`*`, `?`, `[abc]`, `[!a-z]`) matched without catastrophic backtracking.

A naive translation of `*a*a*a*b` into `.*a.*a.*a.*b` backtracks exponentially on a name of
many `a`s. Here every `*` but the last becomes an atomic group `(?>.*?FIXED)`: the leftmost
occurrence of the fixed part that follows is taken and never revisited. That is enough for
globs, because each fixed part has a fixed length (the leftmost match leaves the most text for
the rest), and it bounds a match to O(len(text) * len(glob)) steps. The syntax is exactly
fnmatch's (tests compare the two on generated globs) but for one CPython quirk: a set that
starts with an empty range followed by `!` (`[?--!]`) is read as written (here: `!`), not as
fnmatch's accidental negation (any character). Matching is case-sensitive.
"""

from __future__ import annotations

import re
from functools import lru_cache

_STAR = "*"


def glob_matches(glob: str, text: str) -> bool:
    return compile_glob(glob).match(text) is not None


@lru_cache(maxsize=65536)
def compile_glob(glob: str) -> re.Pattern[str]:
    segments = _segments(glob)  # fixed parts, between stars
    out = [segments[0]]
    for index, fixed in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        out.append(f".*{fixed}" if last else f"(?>.*?{fixed})")
    return re.compile("(?s:" + "".join(out) + r")\Z")


def _segments(glob: str) -> list[str]:
    """The regex of each star-free part: n stars give n + 1 parts (empty parts kept)."""
    segments = [""]
    i, n, after_star = 0, len(glob), False
    while i < n:
        c = glob[i]
        i += 1
        if c == _STAR:
            if not after_star:  # consecutive stars are one star
                segments.append("")
            after_star = True
            continue
        after_star = False
        if c == "?":
            segments[-1] += "."
        elif c == "[":
            regex, i = _bracket(glob, i)
            segments[-1] += regex
        else:
            segments[-1] += re.escape(c)
    return segments


def _bracket(glob: str, start: int) -> tuple[str, int]:
    """The regex of the class opening just before `start`, and where the glob resumes.
    As fnmatch: `!` negates; a `]` first is a member; `a-z` ranges, empty ones (`z-a`) drop
    out; a `-` first, last or right after a range is a member; an unclosed `[` is literal."""
    j = start
    if j < len(glob) and glob[j] == "!":
        j += 1
    if j < len(glob) and glob[j] == "]":
        j += 1
    end = glob.find("]", j)
    if end < 0:
        return re.escape("["), start
    body = glob[start:end]
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    members: list[str] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = body[k], body[k + 2]
            if low <= high:
                members.append(f"{re.escape(low)}-{re.escape(high)}")
            k += 3
        else:
            members.append(re.escape(body[k]))
            k += 1
    if not members:
        return ("." if negate else "(?!)"), end + 1
    return "[" + ("^" if negate else "") + "".join(members) + "]", end + 1
