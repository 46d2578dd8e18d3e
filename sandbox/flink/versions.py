"""ListApplicationVersions, DescribeApplicationVersion, UpdateApplicationMaintenanceConfiguration.

https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_ListApplicationVersions.html
"Lists all the versions for the specified application, including versions that were rolled
back" (newest first here; the order is not documented). Each summary's ApplicationStatus is the
status the version last had; a version that a rollback undid is ROLLED_BACK (the enum value the
model has; the docs do not say where it appears). Only for Flink applications (SQL:
UnsupportedOperationException, as the model notes).
https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_UpdateApplicationMaintenanceConfiguration.html
"You can invoke this operation on an application that is in one of the two following states:
READY or RUNNING ... otherwise ... ResourceInUseException." It is not a new version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sandbox.flink.backend import FlinkBackend
from sandbox.flink.errors import FlinkApiError, in_use, invalid
from sandbox.flink.model import MUTABLE_STATUSES, FlinkApp, application_detail
from sandbox.flink.model import maintenance_description as described

Request = Mapping[str, Any]
Response = dict[str, Any]
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _versions(backend: FlinkBackend, name: str) -> list[FlinkApp]:
    versions = backend.versions_of(name)
    if versions[0].family == "SQL":
        raise FlinkApiError(
            "UnsupportedOperationException",
            "This operation is supported only for Managed Service for Apache Flink.",
        )
    return versions


def list_versions(backend: FlinkBackend, req: Request) -> Response:
    versions = _versions(backend, req["ApplicationName"])
    start = 0
    if "NextToken" in req:
        ids = [str(v.version) for v in versions]
        if req["NextToken"] not in ids:
            raise invalid("NextToken is not valid.")
        start = ids.index(req["NextToken"]) + 1
    limit = req.get("Limit", 50)
    page = versions[start : start + limit]
    response: Response = {
        "ApplicationVersionSummaries": [
            {"ApplicationVersionId": v.version, "ApplicationStatus": v.status} for v in page
        ]
    }
    if start + limit < len(versions):
        response["NextToken"] = str(page[-1].version)
    return response


def describe_version(backend: FlinkBackend, req: Request) -> Response:
    wanted = int(req["ApplicationVersionId"])
    found = [v for v in _versions(backend, req["ApplicationName"]) if v.version == wanted]
    if not found:
        raise FlinkApiError(
            "ResourceNotFoundException",
            f"Version {wanted} of application {req['ApplicationName']} not found.",
        )
    return {"ApplicationVersionDetail": application_detail(found[0])}


def update_maintenance(backend: FlinkBackend, req: Request) -> Response:
    start = req["ApplicationMaintenanceConfigurationUpdate"][
        "ApplicationMaintenanceWindowStartTimeUpdate"
    ]
    if not _TIME.match(start):
        raise invalid(f"{start} is not a valid maintenance window start time (HH:MM).")

    def change(app: FlinkApp) -> FlinkApp:
        if app.status not in MUTABLE_STATUSES:
            raise in_use(app.name, app.status)
        return replace(app, maintenance_start=start)

    app = backend.replace_app(req["ApplicationName"], change)
    return {
        "ApplicationARN": app.arn,
        "ApplicationMaintenanceConfigurationDescription": described(app),
    }


OPERATIONS = {
    "ListApplicationVersions": list_versions,
    "DescribeApplicationVersion": describe_version,
    "UpdateApplicationMaintenanceConfiguration": update_maintenance,
}
READ_ONLY = frozenset({"ListApplicationVersions", "DescribeApplicationVersion"})
