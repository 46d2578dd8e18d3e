"""How a transitional status ends: the next state of an application whose transition is due.

Modelled on the developer guide's system rollback pages:
https://docs.aws.amazon.com/managed-flink/latest/java/how-system-rollbacks.html
https://docs.aws.amazon.com/managed-flink/latest/java/troubleshooting-system-rollback.html
"If your application update or scaling operation fails ... Amazon Managed Service for Apache
Flink automatically attempts to roll back to the previous running version if you have opted in
... If this autorollback fails or you have not opted in or opted out, your application will be
placed into the READY state."

- Whenever the job (re)starts (STARTING -> RUNNING, UPDATING -> RUNNING, the end of a rollback)
  the service assumes the execution role (trust.py); a denied assume fails that step.
- "succeed": the status becomes `then`; the operation is SUCCESSFUL.
- "fail" (alias "rollback"): the job does not come up with the new configuration. The update
  operation FAILED; with system rollback enabled when the update was made, a system
  RollbackApplication operation (ROLLING_BACK for `rollback_seconds`, then "restore"); without
  it the app is READY: the job stopped, the failed configuration stays the current version.
- "restore": a new version with the configuration of the last version that ran
  (ApplicationVersionRolledBackFrom/To), RUNNING; the rolled-back version is listed ROLLED_BACK.
  A rollback that cannot assume its role fails too: READY.
Version ids only grow: a failed update never gives an old id back.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from sandbox.flink.history import OperationLog
from sandbox.flink.model import FlinkApp, Transition
from sandbox.flink.trust import assume_denied_message

OUTCOMES = frozenset({"succeed", "fail", "rollback"})
INJECTABLE_STATUSES = frozenset({"AUTOSCALING", "MAINTENANCE"})
UPDATE_FAILED = "The application failed to restart with the new configuration."
ROLLED_BACK = "ROLLED_BACK"  # ListApplicationVersions' status of a version that was rolled back
MayAssume = Callable[[FlinkApp], bool]


@dataclass(frozen=True)
class NextUpdate:
    """How the next configuration change of an app goes (POST /_sandbox/flink/next-update)."""

    outcome: str
    seconds: float


def restored(app: FlinkApp, previous: FlinkApp, status: str, now: float) -> FlinkApp:
    """`previous`'s configuration as a new version of `app` (a rollback)."""
    return replace(
        previous,
        created=app.created,
        updated=now,
        version=app.version + 1,
        token=secrets.token_hex(16),
        status=status,
        tags=app.tags,
        transition=None,
        updated_from=app.version,
        rolled_back_from=app.version,
        rolled_back_to=previous.version,
        ran=(*app.ran, app.version + 1),
        maintenance_start=app.maintenance_start,
    )


def finish(
    app: FlinkApp, versions: dict[int, FlinkApp], log: OperationLog, may_assume: MayAssume
) -> FlinkApp | None:
    """The app once its due transition has ended (None: deleted). May update `versions`/`log`."""
    step = app.transition
    assert step is not None
    if not step.then:
        return None
    if step.outcome == "restore":
        return _restore(app, versions, log, may_assume)
    error = UPDATE_FAILED if step.outcome in ("fail", "rollback") else ""
    if not error and step.then == "RUNNING" and not may_assume(app):
        error = assume_denied_message(app.role)
    if not error:
        log.finish(app.name, step.operation_id, step.until, "SUCCESSFUL")
        return _ended(app, step.then)
    rolls_back = app.status == "UPDATING" and step.then == "RUNNING" and step.rollback_enabled
    if rolls_back and app.last_ran_before(app.version):
        rollback = log.begin(
            app.name, "RollbackApplication", step.until, app.version, app.version + 1
        )
        log.finish(
            app.name,
            step.operation_id,
            step.until,
            "FAILED",
            error=error,
            rollback_operation_id=rollback.operation_id,
        )
        return replace(
            app,
            status="ROLLING_BACK",
            transition=Transition(
                step.until + step.rollback_seconds, "RUNNING", rollback.operation_id, "restore"
            ),
        )
    log.finish(app.name, step.operation_id, step.until, "FAILED", error=error)
    return replace(app, status="READY", transition=None)


def _ended(app: FlinkApp, status: str) -> FlinkApp:
    step = app.transition
    assert step is not None
    ended = replace(app, status=status, transition=None)
    if step.parallelism is not None:  # the end of AUTOSCALING
        parallelism = {**ended.flink["ParallelismConfigurationDescription"]}
        parallelism["CurrentParallelism"] = step.parallelism
        ended = replace(
            ended, flink={**ended.flink, "ParallelismConfigurationDescription": parallelism}
        )
    if status == "RUNNING" and app.version not in app.ran:
        ended = replace(ended, ran=(*app.ran, app.version))
    return ended


def _restore(
    app: FlinkApp, versions: dict[int, FlinkApp], log: OperationLog, may_assume: MayAssume
) -> FlinkApp:
    """The end of ROLLING_BACK: the last version that ran, as a new version."""
    step = app.transition
    assert step is not None
    target = versions.get(app.last_ran_before(app.version) or 0)
    if target is None or not may_assume(target):
        error = assume_denied_message(target.role) if target else "No version to roll back to."
        log.finish(app.name, step.operation_id, step.until, "FAILED", error=error)
        return replace(app, status="READY", transition=None)
    log.finish(app.name, step.operation_id, step.until, "SUCCESSFUL")
    versions[app.version] = replace(app, status=ROLLED_BACK, transition=None)
    back = restored(app, target, "RUNNING", step.until)
    versions[back.version] = back
    return back
