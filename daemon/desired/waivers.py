"""Waivers: time-limited, approved exceptions to rules (desired state `waivers:`).

A waiver matches applications as an override does (`Match`), names the rules it allows to differ,
and expires. Validation refuses one that is already expired or that runs further ahead than
`waiver_policy.max_days`: an exception is never permanent. "Now" is the caller's clock (the
daemon's injected wall clock), never read here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from daemon.desired.config import Waiver, WaiverPolicy
from daemon.desired.location import Loc, Problem, format_path
from daemon.desired.waiver_model import ALL_RULES
from daemon.state import AppRef, WaiverRef

__all__ = ["Waiver", "WaiverPolicy", "waived_rules", "waiver_problems"]


def waived_rules(
    waivers: Iterable[Waiver],
    app: AppRef,
    tags: Mapping[str, str],
    rule_ids: Iterable[str],
    now: datetime,
) -> dict[str, WaiverRef]:
    """rule id -> the waiver that allows its drift on `app` now (the first in file order)."""
    covering = [w for w in waivers if w.covers(app, tags, now)]
    out: dict[str, WaiverRef] = {}
    for rule_id in rule_ids:
        found = next((w for w in covering if w.every_rule or rule_id in w.rules), None)
        if found is not None:
            out[rule_id] = found.ref
    return out


def waiver_problems(
    entries: list[Any],
    policy: WaiverPolicy,
    known_rules: Iterable[str],
    now: datetime,
    line_of: Callable[[Loc], int],
    skip_expired: bool = False,
) -> list[Problem]:
    """What one entry cannot know alone: ids unique, rules known, expiry in (now, now + max].
    `skip_expired`: an expired waiver is not a problem here (the caller leaves it out)."""
    known = set(known_rules)
    latest = now + timedelta(days=policy.max_days)
    problems: list[Problem] = []
    first: dict[str, int] = {}

    def at(loc: Loc, message: str, choices: str = "") -> None:
        problems.append(Problem(line_of(loc), format_path(loc), message, choices))

    for index, entry in enumerate(entries):
        here: Loc = ("waivers", index)
        if entry.id in first:
            at((*here, "id"), f"duplicate waiver id {entry.id!r} (also waivers[{first[entry.id]}])")
        first.setdefault(entry.id, index)
        for pos, rule in enumerate(entry.rules):
            if rule != ALL_RULES and rule not in known:
                close = difflib.get_close_matches(rule, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                at((*here, "rules", pos), f"unknown rule {rule!r}{hint}", _listing(known))
        expires = _utc_text(entry.expires)
        if entry.expires <= now and not skip_expired:
            at((*here, "expires"), f"waiver expired at {expires} (now {_utc_text(now)})")
        elif entry.expires > latest:
            at(
                (*here, "expires"),
                f"{expires} is more than waiver_policy.max_days ({policy.max_days}) days ahead "
                f"(at most {_utc_text(latest)}); a waiver is never permanent",
            )
    return problems


def _utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _listing(known: set[str]) -> str:
    return "known rules: " + ", ".join(sorted(known)) + f", {ALL_RULES!r} (every rule)"
