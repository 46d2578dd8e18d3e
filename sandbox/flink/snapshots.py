"""Application snapshots: Create/Describe/List/DeleteApplicationSnapshot.

https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_CreateApplicationSnapshot.html
https://docs.aws.amazon.com/managed-flink/latest/java/how-snapshots.html
- A snapshot is taken only of a RUNNING application with snapshots enabled (other statuses:
  ResourceInUseException; snapshots disabled: InvalidRequestException, the code is not
  documented for this case). SQL applications: UnsupportedOperationException.
- CREATING for the sandbox's transition time, then READY (sandbox clock).
- SnapshotCreationTimestamp ("the timestamp of the application snapshot") is the sandbox
  clock when the snapshot was requested, so advancing the clock ages snapshots as time does:
  https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_SnapshotDetails.html
- Names are unique per application (a taken name: InvalidArgumentException); at most 1,000
  snapshots per application (the service quota), then LimitExceededException.
- DeleteApplicationSnapshot needs the snapshot's SnapshotCreationTimestamp; a CREATING snapshot
  cannot be deleted yet (ResourceInUseException: the less forgiving choice, docs are silent).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.flink.backend import FlinkBackend
from sandbox.flink.errors import FlinkApiError, in_use, invalid

MAX_SNAPSHOTS = 1000
Request = Mapping[str, Any]
Response = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    name: str
    created: float
    ready_at: float
    version: int
    runtime: str
    encryption: Mapping[str, Any]

    def details(self, now: float) -> dict[str, Any]:
        return {
            "SnapshotName": self.name,
            "SnapshotStatus": "READY" if now >= self.ready_at else "CREATING",
            "ApplicationVersionId": self.version,
            "SnapshotCreationTimestamp": self.created,
            "RuntimeEnvironment": self.runtime,
            "ApplicationEncryptionConfigurationDescription": dict(self.encryption),
        }


_lock = threading.Lock()


def _of(backend: FlinkBackend, name: str) -> dict[str, Snapshot]:
    app = backend.get(name)  # ResourceNotFoundException for an unknown app
    if app.family == "SQL":
        raise FlinkApiError(
            "UnsupportedOperationException", "Snapshots are not supported for SQL applications."
        )
    taken: dict[str, Snapshot] = backend.snapshots.setdefault(name, {})
    return taken


def create_snapshot(backend: FlinkBackend, req: Request) -> Response:
    name, snapshot_name = req["ApplicationName"], req["SnapshotName"]
    with _lock:
        taken = _of(backend, name)
        app = backend.get(name)
        if app.status != "RUNNING":
            raise in_use(name, app.status)
        if not app.snapshots.get("SnapshotsEnabled"):
            raise FlinkApiError(
                "InvalidRequestException", f"Snapshots are not enabled for application {name}."
            )
        if snapshot_name in taken:
            raise invalid(f"Snapshot {snapshot_name} already exists for application {name}.")
        if len(taken) >= MAX_SNAPSHOTS:
            raise FlinkApiError("LimitExceededException", "Too many snapshots.")
        now = round(backend.now(), 3)
        taken[snapshot_name] = Snapshot(
            snapshot_name,
            now,
            now + backend.transition_seconds,
            app.version,
            app.runtime,
            app.encryption,
        )
    return {}


def _find(backend: FlinkBackend, req: Request) -> Snapshot:
    found = _of(backend, req["ApplicationName"]).get(req["SnapshotName"])
    if found is None:
        raise FlinkApiError(
            "ResourceNotFoundException", f"Snapshot {req['SnapshotName']} not found."
        )
    return found


def describe_snapshot(backend: FlinkBackend, req: Request) -> Response:
    with _lock:
        return {"SnapshotDetails": _find(backend, req).details(backend.now())}


def list_snapshots(backend: FlinkBackend, req: Request) -> Response:
    with _lock:
        snapshots = sorted(_of(backend, req["ApplicationName"]).values(), key=lambda s: s.created)
    names = [s.name for s in snapshots]
    start = 0
    if "NextToken" in req:
        if req["NextToken"] not in names:
            raise invalid("NextToken is not valid.")
        start = names.index(req["NextToken"]) + 1
    limit = req.get("Limit", 50)
    page = snapshots[start : start + limit]
    response: Response = {"SnapshotSummaries": [s.details(backend.now()) for s in page]}
    if start + limit < len(snapshots):
        response["NextToken"] = page[-1].name
    return response


def delete_snapshot(backend: FlinkBackend, req: Request) -> Response:
    with _lock:
        found = _find(backend, req)
        if abs(float(req["SnapshotCreationTimestamp"]) - found.created) >= 1.0:
            raise invalid("SnapshotCreationTimestamp does not match the snapshot.")
        if backend.now() < found.ready_at:
            raise in_use(req["ApplicationName"], "CREATING (snapshot)")
        del backend.snapshots[req["ApplicationName"]][found.name]
    return {}


OPERATIONS = {
    "CreateApplicationSnapshot": create_snapshot,
    "DescribeApplicationSnapshot": describe_snapshot,
    "ListApplicationSnapshots": list_snapshots,
    "DeleteApplicationSnapshot": delete_snapshot,
}
READ_ONLY = frozenset({"DescribeApplicationSnapshot", "ListApplicationSnapshots"})
