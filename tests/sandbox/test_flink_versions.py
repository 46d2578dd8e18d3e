"""Versions, snapshots, the maintenance window, tagging by status, autoscaling and the CloudTrail
record of RollbackApplication, over HTTP with boto3 (shapes checked against botocore)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.server import Sandbox
from sandbox.testing import advance_clock, hold_status, next_update, receive_envelopes
from tests.sandbox.conftest import AppFactory, assert_shape

SNAPSHOTS_AND_ROLLBACK = {
    "ApplicationSnapshotConfiguration": {"SnapshotsEnabled": True},
    "ApplicationSystemRollbackConfiguration": {"RollbackEnabled": True},
}


def running(flink: Any, make_app: AppFactory, sandbox: Sandbox, name: str, **config: Any) -> None:
    make_app(name, ApplicationConfiguration=config)
    flink.start_application(ApplicationName=name)
    advance_clock(sandbox.endpoint_url, 1)
    assert status(flink, name) == "RUNNING"


def status(flink: Any, name: str) -> str:
    return str(
        flink.describe_application(ApplicationName=name)["ApplicationDetail"]["ApplicationStatus"]
    )


def version(flink: Any, name: str) -> int:
    return int(
        flink.describe_application(ApplicationName=name)["ApplicationDetail"][
            "ApplicationVersionId"
        ]
    )


def set_parallelism(flink: Any, name: str, parallelism: int) -> None:
    flink.update_application(
        ApplicationName=name,
        CurrentApplicationVersionId=version(flink, name),
        ApplicationConfigurationUpdate={
            "FlinkApplicationConfigurationUpdate": {
                "ParallelismConfigurationUpdate": {
                    "ConfigurationTypeUpdate": "CUSTOM",
                    "ParallelismUpdate": parallelism,
                    "AutoScalingEnabledUpdate": True,
                }
            }
        },
    )


def parallelism(detail: dict[str, Any]) -> dict[str, Any]:
    flink = detail["ApplicationConfigurationDescription"][
        "FlinkApplicationConfigurationDescription"
    ]
    return flink["ParallelismConfigurationDescription"]  # type: ignore[no-any-return]


def test_version_ids_never_decrease_and_every_version_is_listed(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(flink, make_app, fresh_sandbox, "v")
    seen = [version(flink, "v")]
    for outcome, size in (("succeed", 2), ("fail", 3)):  # the failed one stops the job
        next_update(fresh_sandbox.endpoint_url, "v", outcome, 5)
        set_parallelism(flink, "v", size)
        advance_clock(fresh_sandbox.endpoint_url, 6)
        seen.append(version(flink, "v"))
    assert seen == [1, 2, 3] and status(flink, "v") == "READY"
    first = assert_shape(
        "ListApplicationVersions", flink.list_application_versions(ApplicationName="v", Limit=2)
    )
    rest = flink.list_application_versions(ApplicationName="v", NextToken=first["NextToken"])
    summaries = first["ApplicationVersionSummaries"] + rest["ApplicationVersionSummaries"]
    assert [(s["ApplicationVersionId"], s["ApplicationStatus"]) for s in summaries] == [
        (3, "READY"),
        (2, "RUNNING"),
        (1, "RUNNING"),
    ]
    assert "NextToken" not in rest
    old = assert_shape(
        "DescribeApplicationVersion",
        flink.describe_application_version(ApplicationName="v", ApplicationVersionId=2),
    )["ApplicationVersionDetail"]
    assert old["ApplicationVersionId"] == 2 and parallelism(old)["Parallelism"] == 2
    with pytest.raises(ClientError) as missing:
        flink.describe_application_version(ApplicationName="v", ApplicationVersionId=9)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_snapshots_are_taken_only_of_a_running_app_with_snapshots_enabled(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    make_app("off")
    with pytest.raises(ClientError) as not_running:
        flink.create_application_snapshot(ApplicationName="off", SnapshotName="s")
    assert not_running.value.response["Error"]["Code"] == "ResourceInUseException"
    running(flink, make_app, fresh_sandbox, "nosnap")
    with pytest.raises(ClientError) as disabled:
        flink.create_application_snapshot(ApplicationName="nosnap", SnapshotName="s")
    assert disabled.value.response["Error"]["Code"] == "InvalidRequestException"
    running(flink, make_app, fresh_sandbox, "snap", **SNAPSHOTS_AND_ROLLBACK)
    flink.create_application_snapshot(ApplicationName="snap", SnapshotName="before-upgrade")
    details = assert_shape(
        "DescribeApplicationSnapshot",
        flink.describe_application_snapshot(ApplicationName="snap", SnapshotName="before-upgrade"),
    )["SnapshotDetails"]
    assert (details["SnapshotStatus"], details["ApplicationVersionId"]) == ("CREATING", 1)
    with pytest.raises(ClientError) as busy:
        flink.delete_application_snapshot(
            ApplicationName="snap",
            SnapshotName="before-upgrade",
            SnapshotCreationTimestamp=details["SnapshotCreationTimestamp"],
        )
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
    advance_clock(fresh_sandbox.endpoint_url, 1)
    listed = assert_shape(
        "ListApplicationSnapshots", flink.list_application_snapshots(ApplicationName="snap")
    )
    assert [(s["SnapshotName"], s["SnapshotStatus"]) for s in listed["SnapshotSummaries"]] == [
        ("before-upgrade", "READY")
    ]
    with pytest.raises(ClientError) as taken:
        flink.create_application_snapshot(ApplicationName="snap", SnapshotName="before-upgrade")
    assert taken.value.response["Error"]["Code"] == "InvalidArgumentException"
    flink.delete_application_snapshot(
        ApplicationName="snap",
        SnapshotName="before-upgrade",
        SnapshotCreationTimestamp=details["SnapshotCreationTimestamp"],
    )
    assert flink.list_application_snapshots(ApplicationName="snap")["SnapshotSummaries"] == []


def test_the_maintenance_window_changes_only_in_ready_or_running(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(flink, make_app, fresh_sandbox, "m")
    update = {"ApplicationMaintenanceWindowStartTimeUpdate": "22:30"}
    answer = assert_shape(
        "UpdateApplicationMaintenanceConfiguration",
        flink.update_application_maintenance_configuration(
            ApplicationName="m", ApplicationMaintenanceConfigurationUpdate=update
        ),
    )
    window = answer["ApplicationMaintenanceConfigurationDescription"]
    assert window == {
        "ApplicationMaintenanceWindowStartTime": "22:30",
        "ApplicationMaintenanceWindowEndTime": "06:30",
    }
    detail = flink.describe_application(ApplicationName="m")["ApplicationDetail"]
    assert detail["ApplicationMaintenanceConfigurationDescription"] == window
    assert detail["ApplicationVersionId"] == 1
    hold_status(fresh_sandbox.endpoint_url, "m", "MAINTENANCE", 60)
    with pytest.raises(ClientError) as busy:
        flink.update_application_maintenance_configuration(
            ApplicationName="m", ApplicationMaintenanceConfigurationUpdate=update
        )
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"


def test_tags_are_refused_while_the_app_is_in_a_transitional_status(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(flink, make_app, fresh_sandbox, "t")
    arn = flink.describe_application(ApplicationName="t")["ApplicationDetail"]["ApplicationARN"]
    next_update(fresh_sandbox.endpoint_url, "t", "succeed", 60)
    set_parallelism(flink, "t", 2)
    for operation, params in (
        ("tag_resource", {"Tags": [{"Key": "team", "Value": "data"}]}),
        ("untag_resource", {"TagKeys": ["team"]}),
    ):
        with pytest.raises(ClientError) as busy:
            getattr(flink, operation)(ResourceARN=arn, **params)
        assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
    advance_clock(fresh_sandbox.endpoint_url, 61)
    flink.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "data"}])


def test_autoscaling_changes_the_current_parallelism(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(flink, make_app, fresh_sandbox, "scale")
    set_parallelism(flink, "scale", 2)
    advance_clock(fresh_sandbox.endpoint_url, 1)
    hold_status(fresh_sandbox.endpoint_url, "scale", "AUTOSCALING", 300)
    advance_clock(fresh_sandbox.endpoint_url, 301)
    detail = flink.describe_application(ApplicationName="scale")["ApplicationDetail"]
    assert (parallelism(detail)["Parallelism"], parallelism(detail)["CurrentParallelism"]) == (2, 4)
    hold_status(fresh_sandbox.endpoint_url, "scale", "AUTOSCALING", 10, parallelism=3)
    advance_clock(fresh_sandbox.endpoint_url, 11)
    detail = flink.describe_application(ApplicationName="scale")["ApplicationDetail"]
    assert (detail["ApplicationStatus"], parallelism(detail)["CurrentParallelism"]) == (
        "RUNNING",
        3,
    )
    with pytest.raises(RuntimeError, match="at least Parallelism"):
        hold_status(fresh_sandbox.endpoint_url, "scale", "AUTOSCALING", 10, parallelism=1)


def test_rollback_application_is_recorded_in_cloudtrail(
    flink: Any, aws: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    running(flink, make_app, fresh_sandbox, "rb", **SNAPSHOTS_AND_ROLLBACK)
    set_parallelism(flink, "rb", 2)
    advance_clock(fresh_sandbox.endpoint_url, 1)
    sqs = aws("sqs")
    receive_envelopes(sqs, fresh_sandbox.queue_url)
    flink.rollback_application(ApplicationName="rb", CurrentApplicationVersionId=2)
    (envelope,) = receive_envelopes(sqs, fresh_sandbox.queue_url, wait_seconds=5.0, expect=1)
    assert envelope["detail"]["eventName"] == "RollbackApplication"
    assert envelope["detail"]["requestParameters"]["applicationName"] == "rb"
