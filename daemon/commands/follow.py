"""`apply` follows its restarting fixes to their end, as `terraform apply` waits for a resource.

A fix to a running application is accepted at once and applied by the service over minutes; it
may then fail or be rolled back. The daemon follows such changes in later reconciles; a one-shot
`apply` does the same before it reports: it reconciles again each application whose result
asked for a retry (a change in progress, or the application busy with someone's update) after
the delay the result gave, until none is left, `--wait-seconds` pass, or a signal. What is still
in progress then is reported `applying` and the exit code says so (exits.PENDING).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog

from daemon.reconcile.result import ReconcileResult
from daemon.state import AppRef

log = structlog.get_logger(__name__)
PAUSE_SLICE_SECONDS = 0.5  # how soon a signal ends a wait


@dataclass(frozen=True)
class Clocks:
    """The clocks of one `plan`/`apply`: the follow's waits, and the wall time that disruption
    windows are judged by (tests inject all three)."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], object] = time.sleep
    wall: Callable[[], datetime] = lambda: datetime.now(UTC)


def following(result: ReconcileResult) -> bool:
    """Does this result ask to be looked at again (not an error, which `apply` reports)?"""
    return result.result != "error" and result.next == "retry"


def follow(
    results: Sequence[ReconcileResult],
    again: Callable[[AppRef], ReconcileResult],
    wait_seconds: float,
    stopped: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> list[ReconcileResult]:
    """The results, each followed until it no longer asks for a retry (or time runs out)."""
    latest = list(results)
    deadline = clock() + wait_seconds
    due_at = {i: clock() + r.retry_after_seconds for i, r in enumerate(latest) if following(r)}
    while due_at and not stopped():
        index, when = min(due_at.items(), key=lambda item: item[1])
        if when > deadline:
            break
        if clock() < when:
            sleep(min(PAUSE_SLICE_SECONDS, when - clock()))
            continue
        first = latest[index]
        log.info("apply_following", app=first.app.name)
        latest[index] = merged(first, again(first.app))
        if following(latest[index]):
            due_at[index] = clock() + latest[index].retry_after_seconds
        else:
            del due_at[index]
    return latest


def merged(first: ReconcileResult, later: ReconcileResult) -> ReconcileResult:
    """One report line per application: the drifts as `apply` found them, each change's last
    word. A later reconcile that is still waiting (skipped, no plan) keeps the pending changes;
    one that settled them reports applied / failed / rolled back in their place."""
    done = tuple(o for o in first.outcomes if o.outcome != "pending")
    if later.plan is None:  # still in progress: the pending changes stay pending
        pending = tuple(o for o in first.outcomes if o.outcome == "pending")
        outcomes = done + later.outcomes + pending
        failed = [
            o.error for o in later.outcomes if o.outcome in ("failed", "rolled_back", "stopped")
        ]
        if later.result == "error" or failed:
            error = later.error or "; ".join(failed)
            return replace(later, result="error", plan=first.plan, outcomes=outcomes, error=error)
        return replace(later, result=first.result, plan=first.plan, outcomes=outcomes, error="")
    return replace(later, plan=first.plan or later.plan, outcomes=done + later.outcomes)
