"""How a transitional status ends: the next state of an application whose transition is due.

- "succeed": the status becomes `then`; the operation is SUCCESSFUL.
- "fail": the change is not applied: the configuration and version before it come back, the
  app is READY and the operation FAILED.
- "rollback": the update operation FAILED, naming a system RollbackApplication operation; the
  app is ROLLING_BACK for `rollback_seconds`, then "restore".
- "restore": a new version with the previous version's configuration
  (ApplicationVersionRolledBackFrom/To); the rollback operation is SUCCESSFUL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from sandbox.flink.history import OperationLog
from sandbox.flink.model import FlinkApp, Transition

OUTCOMES = frozenset({"succeed", "fail", "rollback"})
INJECTABLE_STATUSES = frozenset({"AUTOSCALING", "MAINTENANCE"})
UPDATE_FAILED = "The application failed to restart with the new configuration."


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
    )


def finish(
    app: FlinkApp,
    versions: dict[int, FlinkApp],
    log: OperationLog,
) -> FlinkApp | None:
    """The app once its due transition has ended (None: deleted). May update `versions`/`log`."""
    step = app.transition
    assert step is not None
    at = step.until
    if not step.then:
        return None
    if step.outcome == "succeed":
        log.finish(app.name, step.operation_id, at, "SUCCESSFUL")
        return replace(app, status=step.then, transition=None)
    if step.outcome == "fail":
        log.finish(app.name, step.operation_id, at, "FAILED", error=UPDATE_FAILED)
        versions.pop(app.version, None)
        before = versions.get(app.version - 1, app)
        return replace(
            before, status="READY", token=secrets.token_hex(16), tags=app.tags, transition=None
        )
    if step.outcome == "rollback":
        rollback = log.begin(app.name, "RollbackApplication", at, app.version, app.version + 1)
        log.finish(
            app.name,
            step.operation_id,
            at,
            "FAILED",
            error=UPDATE_FAILED + " The service rolled it back.",
            rollback_operation_id=rollback.operation_id,
        )
        return replace(
            app,
            status="ROLLING_BACK",
            transition=Transition(
                until=at + step.rollback_seconds,
                # Without system rollback enabled the job is not restarted: READY.
                then=step.then if app.rollback_enabled else "READY",
                operation_id=rollback.operation_id,
                outcome="restore",
            ),
        )
    # "restore": the end of ROLLING_BACK
    log.finish(app.name, step.operation_id, at, "SUCCESSFUL")
    back = restored(app, versions.get(app.version - 1, app), step.then, at)
    versions[back.version] = back
    return back
