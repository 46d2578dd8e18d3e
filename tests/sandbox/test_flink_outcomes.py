"""Slow, failing and rolled-back changes, AUTOSCALING/MAINTENANCE, operations and
RollbackApplication, driven through the control API with the sandbox clock (no waiting)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.server import Sandbox
from sandbox.testing import advance_clock, control, hold_status, next_update
from tests.sandbox.conftest import AppFactory, assert_shape

LOG_LEVEL = {
    "FlinkApplicationConfigurationUpdate": {
        "MonitoringConfigurationUpdate": {
            "ConfigurationTypeUpdate": "CUSTOM",
            "LogLevelUpdate": "DEBUG",
        }
    }
}


def describe(flink: Any, name: str) -> dict[str, Any]:
    return flink.describe_application(ApplicationName=name)["ApplicationDetail"]  # type: ignore[no-any-return]


def log_level(detail: dict[str, Any]) -> str:
    flink = detail["ApplicationConfigurationDescription"][
        "FlinkApplicationConfigurationDescription"
    ]
    return str(flink["MonitoringConfigurationDescription"]["LogLevel"])


def operation(flink: Any, name: str, operation_id: str) -> dict[str, Any]:
    response = flink.describe_application_operation(ApplicationName=name, OperationId=operation_id)
    return assert_shape("DescribeApplicationOperation", response)["ApplicationOperationInfoDetails"]  # type: ignore[no-any-return]


def running(flink: Any, make_app: AppFactory, sandbox: Sandbox, name: str, **config: Any) -> None:
    make_app(name, ApplicationConfiguration=config)
    flink.start_application(ApplicationName=name)
    advance_clock(sandbox.endpoint_url, 1)
    assert describe(flink, name)["ApplicationStatus"] == "RUNNING"


def update(flink: Any, name: str) -> dict[str, Any]:
    version = describe(flink, name)["ApplicationVersionId"]
    response = flink.update_application(
        ApplicationName=name,
        CurrentApplicationVersionId=version,
        ApplicationConfigurationUpdate=LOG_LEVEL,
    )
    return assert_shape("UpdateApplication", response)


def test_a_slow_update_is_in_progress_until_the_clock_passes_its_end(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(flink, make_app, fresh_sandbox, "slow")
    next_update(fresh_sandbox.endpoint_url, "slow", "succeed", 600)
    operation_id = update(flink, "slow")["OperationId"]
    advance_clock(fresh_sandbox.endpoint_url, 599)
    assert describe(flink, "slow")["ApplicationStatus"] == "UPDATING"
    assert operation(flink, "slow", operation_id)["OperationStatus"] == "IN_PROGRESS"
    with pytest.raises(ClientError) as busy:
        update(flink, "slow")
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
    advance_clock(fresh_sandbox.endpoint_url, 2)
    detail = describe(flink, "slow")
    assert (detail["ApplicationStatus"], detail["ApplicationVersionId"]) == ("RUNNING", 2)
    done = operation(flink, "slow", operation_id)
    assert done["OperationStatus"] == "SUCCESSFUL" and done["Operation"] == "UpdateApplication"
    assert done["ApplicationVersionChangeDetails"] == {
        "ApplicationVersionUpdatedFrom": 1,
        "ApplicationVersionUpdatedTo": 2,
    }
    assert done["EndTime"] > done["StartTime"]


def test_a_failed_update_without_system_rollback_stops_the_job_and_keeps_its_version(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    """AWS: "If this autorollback fails or you have not opted in ..., your application will be
    placed into the READY state"; version ids never go back."""
    running(flink, make_app, fresh_sandbox, "fails")
    next_update(fresh_sandbox.endpoint_url, "fails", "fail", 300)
    operation_id = update(flink, "fails")["OperationId"]
    assert describe(flink, "fails")["ApplicationStatus"] == "UPDATING"
    advance_clock(fresh_sandbox.endpoint_url, 301)
    detail = describe(flink, "fails")
    assert (detail["ApplicationStatus"], detail["ApplicationVersionId"]) == ("READY", 2)
    assert log_level(detail) == "DEBUG"  # the failed configuration stays current
    failed = operation(flink, "fails", operation_id)
    assert failed["OperationStatus"] == "FAILED"
    assert failed["OperationFailureDetails"]["ErrorInfo"]["ErrorString"]
    assert "RollbackOperationId" not in failed["OperationFailureDetails"]
    operations = flink.list_application_operations(ApplicationName="fails")
    assert "RollbackApplication" not in {
        o["Operation"] for o in operations["ApplicationOperationInfoList"]
    }


@pytest.mark.parametrize("outcome", ["fail", "rollback"])
def test_a_failed_update_with_system_rollback_runs_the_last_running_configuration(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox, outcome: str
) -> None:
    config = {"ApplicationSystemRollbackConfiguration": {"RollbackEnabled": True}}
    running(flink, make_app, fresh_sandbox, "rb", **config)
    next_update(fresh_sandbox.endpoint_url, "rb", outcome, 120)
    operation_id = update(flink, "rb")["OperationId"]
    advance_clock(fresh_sandbox.endpoint_url, 121)
    assert describe(flink, "rb")["ApplicationStatus"] == "ROLLING_BACK"
    failed = operation(flink, "rb", operation_id)
    assert failed["OperationStatus"] == "FAILED"
    rollback_id = failed["OperationFailureDetails"]["RollbackOperationId"]
    assert operation(flink, "rb", rollback_id)["OperationStatus"] == "IN_PROGRESS"
    advance_clock(fresh_sandbox.endpoint_url, 120)
    detail = describe(flink, "rb")
    assert detail["ApplicationStatus"] == "RUNNING" and log_level(detail) == "INFO"
    assert detail["ApplicationVersionId"] == 3
    assert (
        detail["ApplicationVersionRolledBackFrom"],
        detail["ApplicationVersionRolledBackTo"],
    ) == (2, 1)
    rolled = operation(flink, "rb", rollback_id)
    assert (
        rolled["Operation"] == "RollbackApplication" and rolled["OperationStatus"] == "SUCCESSFUL"
    )
    listed = flink.list_application_versions(ApplicationName="rb")["ApplicationVersionSummaries"]
    assert [(v["ApplicationVersionId"], v["ApplicationStatus"]) for v in listed] == [
        (3, "RUNNING"),
        (2, "ROLLED_BACK"),
        (1, "RUNNING"),
    ]


def test_an_injected_outcome_applies_to_the_next_change_only(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(flink, make_app, fresh_sandbox, "once")
    next_update(fresh_sandbox.endpoint_url, "once", "fail", 10)
    update(flink, "once")
    advance_clock(fresh_sandbox.endpoint_url, 11)
    flink.start_application(ApplicationName="once")
    advance_clock(fresh_sandbox.endpoint_url, 1)
    update(flink, "once")
    advance_clock(fresh_sandbox.endpoint_url, 1)  # the default transition time
    assert log_level(describe(flink, "once")) == "DEBUG"


@pytest.mark.parametrize("status", ["AUTOSCALING", "MAINTENANCE"])
def test_autoscaling_and_maintenance_block_changes_for_their_duration(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox, status: str
) -> None:
    running(flink, make_app, fresh_sandbox, "busy")
    hold_status(fresh_sandbox.endpoint_url, "busy", status, 900)
    assert describe(flink, "busy")["ApplicationStatus"] == status
    with pytest.raises(ClientError) as busy:
        update(flink, "busy")
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
    advance_clock(fresh_sandbox.endpoint_url, 901)
    assert describe(flink, "busy")["ApplicationStatus"] == "RUNNING"
    update(flink, "busy")


def test_list_application_operations_newest_first_filtered_and_paginated(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(flink, make_app, fresh_sandbox, "ops")
    ids = [update(flink, "ops")["OperationId"]]
    advance_clock(fresh_sandbox.endpoint_url, 1)
    ids.append(update(flink, "ops")["OperationId"])
    listed = assert_shape(
        "ListApplicationOperations", flink.list_application_operations(ApplicationName="ops")
    )
    operations = [
        (o["Operation"], o["OperationStatus"]) for o in listed["ApplicationOperationInfoList"]
    ]
    assert operations == [
        ("UpdateApplication", "IN_PROGRESS"),
        ("UpdateApplication", "SUCCESSFUL"),
        ("StartApplication", "SUCCESSFUL"),
    ]
    first = flink.list_application_operations(
        ApplicationName="ops", Operation="UpdateApplication", Limit=1
    )
    assert [o["OperationId"] for o in first["ApplicationOperationInfoList"]] == [ids[1]]
    second = flink.list_application_operations(
        ApplicationName="ops", Operation="UpdateApplication", Limit=1, NextToken=first["NextToken"]
    )
    assert [o["OperationId"] for o in second["ApplicationOperationInfoList"]] == [ids[0]]
    assert "NextToken" not in second
    with pytest.raises(ClientError) as unknown:
        flink.describe_application_operation(ApplicationName="ops", OperationId="nope")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_rollback_application_returns_to_the_previous_version(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(
        flink,
        make_app,
        fresh_sandbox,
        "manual",
        ApplicationSnapshotConfiguration={"SnapshotsEnabled": True},
    )
    next_update(fresh_sandbox.endpoint_url, "manual", "succeed", 3600)
    stuck = update(flink, "manual")["OperationId"]
    with pytest.raises(ClientError) as stale:
        flink.rollback_application(ApplicationName="manual", CurrentApplicationVersionId=1)
    assert stale.value.response["Error"]["Code"] == "ConcurrentModificationException"
    response = flink.rollback_application(ApplicationName="manual", CurrentApplicationVersionId=2)
    body = assert_shape("RollbackApplication", response)
    assert body["ApplicationDetail"]["ApplicationStatus"] == "ROLLING_BACK"
    assert operation(flink, "manual", stuck)["OperationStatus"] == "CANCELLED"
    advance_clock(fresh_sandbox.endpoint_url, 1)
    detail = describe(flink, "manual")
    assert (detail["ApplicationStatus"], detail["ApplicationVersionId"], log_level(detail)) == (
        "RUNNING",
        3,
        "INFO",
    )
    assert operation(flink, "manual", body["OperationId"])["OperationStatus"] == "SUCCESSFUL"


def test_rollback_application_errors(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    make_app("ready")
    with pytest.raises(ClientError) as not_running:
        flink.rollback_application(ApplicationName="ready", CurrentApplicationVersionId=1)
    assert not_running.value.response["Error"]["Code"] == "ResourceInUseException"
    running(
        flink,
        make_app,
        fresh_sandbox,
        "first",
        ApplicationSnapshotConfiguration={"SnapshotsEnabled": True},
    )
    with pytest.raises(ClientError) as no_previous:
        flink.rollback_application(ApplicationName="first", CurrentApplicationVersionId=1)
    assert no_previous.value.response["Error"]["Code"] == "InvalidRequestException"
    running(flink, make_app, fresh_sandbox, "nosnap")
    update(flink, "nosnap")
    advance_clock(fresh_sandbox.endpoint_url, 1)
    with pytest.raises(ClientError) as no_snapshots:
        flink.rollback_application(ApplicationName="nosnap", CurrentApplicationVersionId=2)
    assert no_snapshots.value.response["Error"]["Code"] == "InvalidRequestException"


def test_control_endpoints_reject_bad_requests(
    fresh_sandbox: Sandbox, make_app: AppFactory
) -> None:
    make_app("ctl")
    url = fresh_sandbox.endpoint_url
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "/_sandbox/flink/next-update",
            {"application": "ctl", "outcome": "explode", "seconds": 1},
            "400",
        ),
        (
            "/_sandbox/flink/next-update",
            {"application": "missing", "outcome": "fail", "seconds": 1},
            "404",
        ),
        (
            "/_sandbox/flink/next-update",
            {"application": "ctl", "outcome": "fail"},
            "seconds is required",
        ),
        (
            "/_sandbox/flink/status",
            {"application": "ctl", "status": "AUTOSCALING", "seconds": 5},
            "READY",
        ),
        (
            "/_sandbox/flink/status",
            {"application": "ctl", "status": "SLEEPING", "seconds": 5},
            "400",
        ),
        ("/_sandbox/clock", {"advance": -1}, "400"),
    ]
    for path, body, answer in cases:
        with pytest.raises(RuntimeError, match=answer):
            control(url, path, **body)


def test_in_process_helpers_and_reset_of_the_clock(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    rollback = {"RollbackEnabled": True}
    running(
        flink, make_app, fresh_sandbox, "inproc", ApplicationSystemRollbackConfiguration=rollback
    )
    fresh_sandbox.next_update("inproc", "rollback", 60)
    update(flink, "inproc")
    fresh_sandbox.advance_clock(121)
    assert describe(flink, "inproc")["ApplicationVersionRolledBackTo"] == 1
    fresh_sandbox.hold_status("inproc", "MAINTENANCE", 30)
    assert describe(flink, "inproc")["ApplicationStatus"] == "MAINTENANCE"
    assert fresh_sandbox.middleware.clock.offset > 0
    fresh_sandbox.reset()
    assert fresh_sandbox.middleware.clock.offset == 0
