"""A merged UpdateApplication the service rejects is bisected until the rejected rule's part is
alone; the message is never read for a field name (AWS documents none). Executor, scripted AWS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from daemon import errors
from daemon.apply.executor import Executor
from daemon.apply.notify import Notifier
from daemon.aws import Aws
from daemon.reconcile.plan import merge_updates
from daemon.reconcile.safeguards import Safeguards
from daemon.state import Action, Call, Cause, Drift, Plan
from tests.factories import APP

WRITE = frozenset({"kinesisanalytics:UpdateApplication"})


class ScriptedAws:
    """Rejects any UpdateApplication whose parameters contain a `Bad*` key; READY app."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.sent: list[dict[str, Any]] = []

    def observed_call(
        self, observer: Any, service: str, operation: str, **params: Any
    ) -> Mapping[str, Any]:
        self.sent.append(params)
        if _has_bad(params):
            raise errors.PermanentAwsError(operation, "InvalidArgumentException", self.message)
        return {"ApplicationVersionId": params["CurrentApplicationVersionId"] + 1}

    def call(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        return {"ApplicationDetail": {"ApplicationStatus": "READY"}}


def _has_bad(document: Any) -> bool:
    if isinstance(document, Mapping):
        return any(str(k).startswith("Bad") or _has_bad(v) for k, v in document.items())
    return False


def action(rule: str, section: str) -> Action:
    update = {"ApplicationName": APP.name, "ApplicationConfigurationUpdate": {section: {"X": 1}}}
    call = Call("kinesisanalyticsv2", "UpdateApplication", update, APP.arn, versioned=True)
    drift = Drift(rule, APP, f"{rule}.field", 1, 2, "differs")
    return Action(APP, (rule,), "enforce", (drift,), (call,), WRITE)


def run(message: str, *parts: Action) -> tuple[dict[str, str], ScriptedAws]:
    (merged,) = merge_updates(parts)
    aws = ScriptedAws(message)
    executor = Executor(cast(Aws, aws), Notifier(Safeguards()))
    outcomes = executor.execute(Plan(APP, 3, (merged,)), Cause("sweep"))
    return {r: o.outcome for o in outcomes for r in o.action.rules}, aws


def test_a_message_naming_another_rules_field_does_not_blame_that_rule() -> None:
    outcomes, aws = run(
        "FlinkApplicationConfiguration: the request is not valid",  # misleading: not the culprit
        action("checkpointing", "FlinkApplicationConfigurationUpdate"),
        action("encryption", "BadKeyConfigurationUpdate"),
        action("snapshots", "ApplicationSnapshotConfigurationUpdate"),
    )
    assert outcomes == {"checkpointing": "applied", "encryption": "failed", "snapshots": "applied"}
    # all three (rejected); checkpointing (sent); encryption+snapshots (rejected); each alone
    assert len(aws.sent) == 5
    assert [p for p in aws.sent if _has_bad(p)] == [aws.sent[0], aws.sent[2], aws.sent[3]]


def test_an_unnamed_rejection_is_found_by_halves() -> None:
    outcomes, aws = run(
        "the request is invalid",
        action("a", "FlinkApplicationConfigurationUpdate"),
        action("b", "ApplicationSnapshotConfigurationUpdate"),
        action("c", "BadThingUpdate"),
        action("d", "ApplicationSystemRollbackConfigurationUpdate"),
    )
    assert outcomes == {"a": "applied", "b": "applied", "c": "failed", "d": "applied"}
    # all four; a+b (sent); c+d (rejected); c (rejected); d (sent)
    assert len(aws.sent) == 5
