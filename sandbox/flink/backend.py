"""FlinkBackend: the application store plus its lifecycle commands: start, stop, delete,
RollbackApplication, and the control API's injected update outcomes and statuses."""

from __future__ import annotations

from dataclasses import replace

from sandbox.flink import lifecycle
from sandbox.flink.errors import FlinkApiError, concurrent, in_use, invalid
from sandbox.flink.lifecycle import NextUpdate
from sandbox.flink.model import MUTABLE_STATUSES, FlinkApp, Transition
from sandbox.flink.store import AppStore, Lookups, new_token

__all__ = ["FlinkBackend", "Lookups", "new_token"]

ROLLBACK_STATUSES = frozenset({"UPDATING", "AUTOSCALING", "RUNNING"})


class FlinkBackend(AppStore):
    def next_update(self, name: str, outcome: str, seconds: float) -> None:
        """The next configuration change of `name` takes `seconds` and ends with `outcome`."""
        if outcome not in lifecycle.OUTCOMES:
            raise invalid(f"outcome must be one of {sorted(lifecycle.OUTCOMES)}, got {outcome!r}")
        if not seconds >= 0:
            raise invalid(f"seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self.get(name)
            self._next[name] = NextUpdate(outcome, float(seconds))

    def hold_status(
        self, name: str, status: str, seconds: float, parallelism: int | None = None
    ) -> FlinkApp:
        """A RUNNING app is in AUTOSCALING or MAINTENANCE for `seconds`, then RUNNING again.
        AUTOSCALING ends with CurrentParallelism `parallelism` (default: doubled, as a ScaleUp
        does; a ScaleDown never goes below Parallelism), only with AutoScalingEnabled:
        https://docs.aws.amazon.com/managed-flink/latest/java/how-scaling-auto.html
        The version id does not change (not documented either way: the less forgiving choice
        for a client that caches by version)."""
        if status not in lifecycle.INJECTABLE_STATUSES:
            raise invalid(
                f"status must be one of {sorted(lifecycle.INJECTABLE_STATUSES)}, got {status!r}"
            )
        if not seconds >= 0:
            raise invalid(f"seconds must be >= 0, got {seconds!r}")
        with self._lock:
            app = self.get(name)
            if app.status != "RUNNING":
                raise in_use(name, app.status)
            scaled = _scaled(app, parallelism) if status == "AUTOSCALING" else None
            until = self._clock() + seconds
            held = replace(
                app, status=status, transition=Transition(until, "RUNNING", parallelism=scaled)
            )
            self._apps[name] = held
            return held

    def _cancel_running_operation(self, app: FlinkApp) -> None:
        """A transition cut short (force stop, rollback) cancels the operation it belonged to."""
        if app.transition is not None:
            self.operations.finish(
                app.name, app.transition.operation_id, self._clock(), "CANCELLED"
            )

    def _move(
        self, name: str, allowed: frozenset[str], status: str, then: str, operation: str = ""
    ) -> tuple[FlinkApp, str]:
        with self._lock:
            app = self.get(name)
            if app.status not in allowed:
                raise in_use(name, app.status)
            self._cancel_running_operation(app)
            started = self.operations.begin(name, operation, self._clock()) if operation else None
            operation_id = started.operation_id if started else ""
            moved = replace(
                app, status=status, transition=self._transition(then, operation_id or None)
            )
            self._apps[name] = moved
            return moved, operation_id

    def rollback(self, name: str, version: int) -> tuple[FlinkApp, str]:
        """RollbackApplication: from UPDATING, AUTOSCALING or RUNNING back to the configuration
        of the last version that ran before the current one (ROLLING_BACK, then RUNNING).
        https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_RollbackApplication.html"""
        with self._lock:
            app = self.get(name)
            if app.family == "SQL":
                raise FlinkApiError(
                    "UnsupportedOperationException",
                    "RollbackApplication is not supported for SQL applications.",
                )
            if app.status not in ROLLBACK_STATUSES:
                raise in_use(name, app.status)
            if version != app.version:
                raise concurrent(
                    f"Current application version is {app.version}; the request gave {version}."
                )
            if app.last_ran_before(app.version) is None:
                raise FlinkApiError(
                    "InvalidRequestException",
                    f"Application {name} has no previous version to roll back to.",
                )
            if not app.snapshots.get("SnapshotsEnabled"):
                raise FlinkApiError(
                    "InvalidRequestException",
                    f"Application {name} has no snapshots; RollbackApplication needs one.",
                )
            self._cancel_running_operation(app)
            now = self._clock()
            started = self.operations.begin(
                name, "RollbackApplication", now, app.version, app.version + 1
            )
            moved = replace(
                app,
                status="ROLLING_BACK",
                transition=Transition(
                    now + self.transition_seconds,
                    "RUNNING",
                    started.operation_id,
                    outcome="restore",
                ),
            )
            self._apps[name] = moved
            return moved, started.operation_id

    def start(self, name: str) -> tuple[FlinkApp, str]:
        return self._move(name, frozenset({"READY"}), "STARTING", "RUNNING", "StartApplication")

    def stop(self, name: str, force: bool) -> tuple[FlinkApp, str]:
        if force:
            allowed = frozenset({"RUNNING", "STARTING", "UPDATING", "AUTOSCALING"})
            return self._move(name, allowed, "FORCE_STOPPING", "READY", "StopApplication")
        return self._move(name, frozenset({"RUNNING"}), "STOPPING", "READY", "StopApplication")

    def delete(self, name: str, created: float) -> tuple[FlinkApp, str]:
        with self._lock:
            app = self.get(name)
            if abs(app.created - created) >= 1.0:
                raise invalid("CreateTimestamp does not match the application's creation time.")
            return self._move(name, MUTABLE_STATUSES, "DELETING", "")


def _scaled(app: FlinkApp, parallelism: int | None) -> int:
    current = app.flink.get("ParallelismConfigurationDescription", {})
    if not current.get("AutoScalingEnabled"):
        raise invalid(f"Application {app.name} does not have automatic scaling enabled.")
    target = parallelism if parallelism is not None else 2 * int(current["CurrentParallelism"])
    if target < int(current.get("Parallelism", 1)):
        raise invalid(f"parallelism must be at least Parallelism ({current.get('Parallelism')})")
    return target
