"""The words that flow through logs, audit records and metric labels, defined once.

Each is a Literal type (checked by mypy where values are produced) and a tuple of its values
(used by the metrics module to pre-create series and reject typos).
"""

from __future__ import annotations

from typing import Literal, get_args

# Why a reconcile ran.
Trigger = Literal["event", "sweep", "cli", "replay"]
# How one reconcile of one application ended.
Result = Literal["in_sync", "drift", "fixed", "skipped", "gone", "error"]
# What the caller of a reconcile does next (controller-runtime's three outcomes).
Next = Literal["done", "retry", "terminal"]
# What happened to one remediation action.
# pending: a restarting change was accepted and is being followed; deferred: waits for a
# disruption window; rolled_back: the service undid the change (system rollback); stopped: a
# restarting change failed and left the RUNNING application READY (its job stopped); waived: a
# waiver in the desired state allows the drift until it expires (reported, never fixed).
Outcome = Literal[
    "applied",
    "planned",
    "failed",
    "skipped",
    "alerted",
    "pending",
    "deferred",
    "rolled_back",
    "stopped",
    "waived",
]

TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)
RESULTS: tuple[Result, ...] = get_args(Result)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
