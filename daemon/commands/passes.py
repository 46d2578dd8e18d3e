"""What `plan`, `apply` and `replay` share: the applications a pass covers (`--app`) and the
overrides that set each rule (for the report). The pass itself is `daemon.reconcile.fleet`'s
`run_pass`: on SIGINT/SIGTERM no further application is started; those in progress finish (a
fix is never cut between its calls by a first signal), and the caller reports what was done. A
second signal exits at once (daemon/commands/interrupts.py).
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase

from daemon.desired.config import DesiredConfig
from daemon.desired.resolve import resolve
from daemon.reconcile.fleet import PassResult as PassResult
from daemon.reconcile.fleet import run_pass as run_pass
from daemon.reconcile.reconciler import EnabledRules, Resolver
from daemon.reconcile.rules import resolver_for
from daemon.state import AppRef


def worker_count(text: str) -> int:
    """An argparse type for --workers: at least 1 (0 would start nothing and report nothing)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1 or more)")
    return int(text)


def select(apps: Iterable[AppRef], patterns: Sequence[str]) -> tuple[list[AppRef], list[str]]:
    """The applications whose name matches one of `patterns` (globs; all when none), and the
    patterns that matched nothing (likely typos)."""
    apps = sorted(apps)
    if not patterns:
        return apps, []
    chosen = [a for a in apps if any(fnmatchcase(a.name, p) for p in patterns)]
    unmatched = [p for p in patterns if not any(fnmatchcase(a.name, p) for a in apps)]
    return chosen, unmatched


def unmatched_message(unmatched: Sequence[str], apps: Iterable[AppRef], where: str) -> str:
    """`--app` patterns that matched nothing, each with its closest names (a typo); when one
    has none, how many applications exist and the first few of them."""
    names = sorted({a.name for a in apps})
    parts, lost = [], False
    for pattern in unmatched:
        close = difflib.get_close_matches(pattern.strip("*?[]"), names, n=3, cutoff=0.6)
        lost = lost or not close
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        parts.append(f"{pattern!r}{hint}")
    message = f"--app: no application matches {', '.join(parts)}"
    if lost:
        shown = ", ".join(names[:_LISTED]) + (" ..." if len(names) > _LISTED else "")
        message += f"; {where} hold {len(names)} applications" + (f": {shown}" if names else "")
    return message


_LISTED = 10


class RecordingResolver:
    """The daemon's resolver, remembering which overrides set each rule of each app."""

    def __init__(self, config: DesiredConfig) -> None:
        self._config = config
        self._resolver: Resolver = resolver_for(lambda: config)
        self.overrides: dict[AppRef, Mapping[str, tuple[str, ...]]] = {}

    def __call__(self, app: AppRef, tags: Mapping[str, str]) -> EnabledRules | str:
        resolution = resolve(self._config, app, tags)
        self.overrides[app] = {rule: r.overrides for rule, r in resolution.rules.items()}
        return self._resolver(app, tags)
