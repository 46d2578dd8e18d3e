"""What one reconcile concluded about each enabled rule of one application, handed to an
optional sink (the Security Hub publisher, the `report` command). The sink only records:
it must not do I/O here, and its failure never fails a reconcile."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from daemon.apply.executor import ActionOutcome
from daemon.state import AppRef, Cause, Drift, WaiverRef
from daemon.vocabulary import Outcome


@dataclass(frozen=True)
class Verdict:
    app: AppRef
    rule: str
    violated: bool  # drift left in place (alert-only, dry-run, skipped, failed)
    drifts: tuple[Drift, ...]  # what was found this round (empty: compliant as read)
    outcome: Outcome | None  # of the action that handled the drifts; None without drift
    cause: Cause  # trigger and CloudTrail actor of the event that caused this reconcile
    waiver: WaiverRef | None = None  # outcome "waived": the waiver that allows the drift


class VerdictSink(Protocol):
    def record(self, verdict: Verdict) -> None: ...


def verdict_for(
    app: AppRef, rule: str, violated: bool, outcomes: Iterable[ActionOutcome], cause: Cause
) -> Verdict:
    mine = [o for o in outcomes if rule in o.action.rules]
    drifts = tuple(d for o in mine for d in o.action.drifts if d.rule == rule)
    # The worst outcome speaks for the rule: a failure outranks a partial success.
    order: tuple[Outcome, ...] = ("failed", "skipped", "alerted", "waived", "planned", "applied")
    found = {o.outcome for o in mine}
    outcome = next((o for o in order if o in found), None)
    waiver = next((o.action.waiver for o in mine if o.outcome == "waived"), None)
    return Verdict(app, rule, violated, drifts, outcome, cause, waiver)
