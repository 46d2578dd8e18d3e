"""What `plan`, `apply` and `replay` share: the applications a pass covers (`--app`), the
overrides that set each rule (for the report), and a pass that an interrupt stops cleanly.

On SIGINT/SIGTERM no further application is started; those in progress finish (a fix is never
cut between its calls by a first signal), and the caller reports what was done. A second signal
exits at once (daemon/commands/interrupts.py).
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from fnmatch import fnmatchcase

from daemon.desired.config import DesiredConfig
from daemon.desired.resolve import resolve
from daemon.reconcile.reconciler import EnabledRules, Resolver
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.rules import resolver_for
from daemon.state import AppRef


@dataclass(frozen=True)
class PassResult:
    results: tuple[ReconcileResult, ...]  # in the order of the applications given
    not_started: tuple[AppRef, ...]  # left out because of an interrupt


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


def run_pass(
    work: Callable[[AppRef], ReconcileResult],
    apps: Sequence[AppRef],
    workers: int,
    interrupted: Callable[[], bool],
    on_done: Callable[[ReconcileResult], None] | None = None,
) -> PassResult:
    """Run `work` on every app, `workers` at a time, starting no new app once interrupted."""
    pending = list(apps)
    running: dict[Future[ReconcileResult], AppRef] = {}
    done: dict[AppRef, ReconcileResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pass") as pool:
        while pending or running:
            while pending and len(running) < workers and not interrupted():
                app = pending.pop(0)
                running[pool.submit(work, app)] = app
            if not running:
                break
            finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                done[running.pop(future)] = result
                if on_done is not None:
                    on_done(result)
    results = tuple(done[a] for a in apps if a in done)
    return PassResult(results, tuple(a for a in apps if a not in done))
