"""What one reconcile returns, and who is told about it afterwards.

A result is built with keywords; `next` says what the controller does with it (acknowledge,
retry after a delay, give up). Listeners (violation metrics, verdicts, the tag cache, the
inventory) are told after a reconcile: the reconciler does not call them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, Protocol

from daemon.apply.executor import ActionOutcome
from daemon.state import AppRef, Cause, Plan
from daemon.vocabulary import Next, Result


@dataclass(frozen=True)
class ReconcileResult:
    app: AppRef
    result: Result
    _: KW_ONLY
    plan: Plan | None = None
    outcomes: tuple[ActionOutcome, ...] = ()
    error: str = ""
    # True when a later attempt may succeed: the triggering message must not be acknowledged.
    retryable: bool = False
    detail: Mapping[str, Any] | None = None  # the last DescribeApplication, for the inventory
    # How soon a retry makes sense (a transitional status, an operation to follow, a backoff).
    retry_after_seconds: float = 0.0
    rules: tuple[str, ...] = ()  # the rules checked (their verdicts follow from `outcomes`)

    @property
    def next(self) -> Next:
        """What the caller does next, as in controller-runtime: `done` (acknowledge), `retry`
        (reconcile again after retry_after_seconds; never acknowledged as done), `terminal`
        (acknowledge and leave the violation raised: retrying cannot help). A reconcile that
        started a change, or found the app busy, asks for a retry to follow it."""
        if self.result == "error":
            return "retry" if self.retryable else "terminal"
        return "retry" if self.retry_after_seconds > 0 else "done"

    @property
    def violated(self) -> frozenset[str]:
        """The checked rules whose drift is left in place: alert-only, dry-run, skipped or
        failed."""
        left = {r for o in self.outcomes if o.outcome != "applied" for r in o.action.rules}
        return frozenset(r for r in self.rules if r in left)

    @property
    def waived(self) -> frozenset[str]:
        """The checked rules whose drift a waiver allows (violated, but by an approved choice)."""
        return frozenset(r for o in self.outcomes if o.outcome == "waived" for r in o.action.rules)


class Listener(Protocol):
    """Told after each reconcile (never fails it: a listener logs its own errors)."""

    def reconciled(self, result: ReconcileResult, cause: Cause) -> None: ...
