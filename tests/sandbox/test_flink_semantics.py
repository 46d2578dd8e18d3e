"""The behaviour the daemon must survive: versions and tokens, self-ending statuses, errors."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.server import Sandbox
from sandbox.testing import wait_for, wait_for_status
from tests.sandbox.conftest import AppFactory

SNAPSHOTS_ON = {"ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}}
SNAPSHOTS_OFF = {"ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": False}}


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def describe(flink: Any, name: str) -> dict[str, Any]:
    return flink.describe_application(ApplicationName=name)["ApplicationDetail"]  # type: ignore[no-any-return]


def test_each_change_increments_version_and_replaces_token(
    flink: Any, make_app: AppFactory
) -> None:
    created = make_app("v")
    tokens = {created["ConditionalToken"]}
    for version, update in ((1, SNAPSHOTS_ON), (2, SNAPSHOTS_OFF), (3, SNAPSHOTS_ON)):
        detail = flink.update_application(
            ApplicationName="v",
            CurrentApplicationVersionId=version,
            ApplicationConfigurationUpdate=update,
        )["ApplicationDetail"]
        assert detail["ApplicationVersionId"] == version + 1
        tokens.add(detail["ConditionalToken"])
    assert len(tokens) == 4


def test_stale_version_or_token_is_a_concurrent_modification(
    flink: Any, make_app: AppFactory
) -> None:
    old_token = make_app("c")["ConditionalToken"]
    flink.update_application(
        ApplicationName="c", ConditionalToken=old_token, ApplicationConfigurationUpdate=SNAPSHOTS_ON
    )
    with pytest.raises(ClientError) as by_version:
        flink.update_application(
            ApplicationName="c",
            CurrentApplicationVersionId=1,
            ApplicationConfigurationUpdate=SNAPSHOTS_OFF,
        )
    assert error_code(by_version) == "ConcurrentModificationException"
    with pytest.raises(ClientError) as by_token:
        flink.add_application_vpc_configuration(
            ApplicationName="c",
            ConditionalToken=old_token,
            VpcConfiguration={"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        )
    assert error_code(by_token) == "ConcurrentModificationException"
    assert describe(flink, "c")["ApplicationVersionId"] == 2  # nothing else changed


def test_a_change_needs_a_version_or_token(flink: Any, make_app: AppFactory) -> None:
    make_app("n")
    with pytest.raises(ClientError) as excinfo:
        flink.update_application(ApplicationName="n", ApplicationConfigurationUpdate=SNAPSHOTS_ON)
    assert error_code(excinfo) == "InvalidArgumentException"


def test_start_and_stop_pass_through_transitional_statuses(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    fresh_sandbox.set_transition_seconds(2.0)
    make_app("s")
    flink.start_application(ApplicationName="s")
    assert describe(flink, "s")["ApplicationStatus"] == "STARTING"
    with pytest.raises(ClientError) as excinfo:
        flink.update_application(
            ApplicationName="s",
            CurrentApplicationVersionId=1,
            ApplicationConfigurationUpdate=SNAPSHOTS_ON,
        )
    assert error_code(excinfo) == "ResourceInUseException"
    wait_for_status(flink, "s", "RUNNING")
    flink.stop_application(ApplicationName="s")
    assert describe(flink, "s")["ApplicationStatus"] == "STOPPING"
    wait_for_status(flink, "s", "READY")
    assert describe(flink, "s")["ApplicationVersionId"] == 1  # start/stop are not changes


def test_a_change_to_a_running_app_goes_through_updating(
    flink: Any, make_app: AppFactory, fresh_sandbox: Sandbox
) -> None:
    make_app("u")
    flink.start_application(ApplicationName="u")
    wait_for_status(flink, "u", "RUNNING")
    fresh_sandbox.set_transition_seconds(2.0)
    detail = flink.update_application(
        ApplicationName="u",
        CurrentApplicationVersionId=1,
        ApplicationConfigurationUpdate=SNAPSHOTS_ON,
    )["ApplicationDetail"]
    assert detail["ApplicationStatus"] == "UPDATING"
    with pytest.raises(ClientError) as excinfo:
        flink.update_application(
            ApplicationName="u",
            CurrentApplicationVersionId=2,
            ApplicationConfigurationUpdate=SNAPSHOTS_OFF,
        )
    assert error_code(excinfo) == "ResourceInUseException"
    wait_for_status(flink, "u", "RUNNING")
    flink.update_application(
        ApplicationName="u",
        CurrentApplicationVersionId=2,
        ApplicationConfigurationUpdate=SNAPSHOTS_OFF,
    )


def test_start_twice_and_stop_when_ready_are_in_use(flink: Any, make_app: AppFactory) -> None:
    make_app("twice")
    with pytest.raises(ClientError) as stop_ready:
        flink.stop_application(ApplicationName="twice")
    assert error_code(stop_ready) == "ResourceInUseException"
    flink.start_application(ApplicationName="twice")
    with pytest.raises(ClientError) as start_again:
        flink.start_application(ApplicationName="twice")
    assert error_code(start_again) == "ResourceInUseException"


def test_delete_needs_the_create_timestamp_and_removes_the_app(
    flink: Any, make_app: AppFactory
) -> None:
    created = make_app("d")["CreateTimestamp"]
    with pytest.raises(ClientError) as excinfo:
        flink.delete_application(
            ApplicationName="d", CreateTimestamp=created - datetime.timedelta(days=1)
        )
    assert error_code(excinfo) == "InvalidArgumentException"
    flink.delete_application(ApplicationName="d", CreateTimestamp=created)
    assert describe(flink, "d")["ApplicationStatus"] == "DELETING"

    def gone() -> bool:
        names = [s["ApplicationName"] for s in flink.list_applications()["ApplicationSummaries"]]
        return "d" not in names

    wait_for(gone)


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.describe_application(ApplicationName="ghost"),
        lambda f: f.update_application(
            ApplicationName="ghost",
            CurrentApplicationVersionId=1,
            ApplicationConfigurationUpdate=SNAPSHOTS_ON,
        ),
        lambda f: f.start_application(ApplicationName="ghost"),
        lambda f: f.delete_application_cloud_watch_logging_option(
            ApplicationName="ghost", CurrentApplicationVersionId=1, CloudWatchLoggingOptionId="1.1"
        ),
        lambda f: f.list_tags_for_resource(
            ResourceARN="arn:aws:kinesisanalytics:eu-west-1:123456789012:application/ghost"
        ),
    ],
)
def test_unknown_application_is_not_found(flink: Any, call: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        call(flink)
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_stream_already_attached_is_an_invalid_argument(
    flink: Any, make_app: AppFactory, log_stream: Any
) -> None:
    stream = log_stream("/aws/kinesis-analytics/dup", "s")
    make_app("dup", CloudWatchLoggingOptions=[{"LogStreamARN": stream}])
    with pytest.raises(ClientError) as excinfo:
        flink.add_application_cloud_watch_logging_option(
            ApplicationName="dup",
            CurrentApplicationVersionId=1,
            CloudWatchLoggingOption={"LogStreamARN": stream},
        )
    assert error_code(excinfo) == "InvalidArgumentException"
    assert "already attached" in excinfo.value.response["Error"]["Message"]


def test_wrong_logging_option_id_is_an_invalid_argument(flink: Any, make_app: AppFactory) -> None:
    make_app("wrong-id")
    with pytest.raises(ClientError) as excinfo:
        flink.delete_application_cloud_watch_logging_option(
            ApplicationName="wrong-id",
            CurrentApplicationVersionId=1,
            CloudWatchLoggingOptionId="9.9",
        )
    assert error_code(excinfo) == "InvalidArgumentException"
    assert "does not exist" in excinfo.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "update",
    [
        {
            "FlinkApplicationConfigurationUpdate": {
                "MonitoringConfigurationUpdate": {
                    "ConfigurationTypeUpdate": "CUSTOM",
                    "LogLevelUpdate": "VERBOSE",
                }
            }
        },
        {
            "FlinkApplicationConfigurationUpdate": {
                "MonitoringConfigurationUpdate": {
                    "ConfigurationTypeUpdate": "DEFAULT",
                    "LogLevelUpdate": "INFO",
                }
            }
        },
        {"ApplicationEncryptionConfigurationUpdate": {"KeyTypeUpdate": "CUSTOMER_MANAGED_KEY"}},
        {"ApplicationEncryptionConfigurationUpdate": {"KeyTypeUpdate": "PLAIN"}},
        {"VpcConfigurationUpdates": [{"VpcConfigurationId": "7.7", "SubnetIdUpdates": ["s"]}]},
    ],
    ids=[
        "bad-log-level",
        "level-under-default",
        "cmk-without-key",
        "bad-key-type",
        "unknown-vpc-config",
    ],
)
def test_invalid_updates_are_rejected_and_change_nothing(
    flink: Any, make_app: AppFactory, update: dict[str, Any]
) -> None:
    make_app("bad")
    with pytest.raises(ClientError) as excinfo:
        flink.update_application(
            ApplicationName="bad",
            CurrentApplicationVersionId=1,
            ApplicationConfigurationUpdate=update,
        )
    assert error_code(excinfo) == "InvalidArgumentException"
    assert describe(flink, "bad")["ApplicationVersionId"] == 1


def test_vpc_configuration_needs_existing_subnets_of_one_vpc(
    flink: Any, make_app: AppFactory, network: dict[str, str]
) -> None:
    make_app("net")
    for subnets in (["subnet-00000000"], [network["subnet_a"], network["other_vpc_subnet"]]):
        with pytest.raises(ClientError) as excinfo:
            flink.add_application_vpc_configuration(
                ApplicationName="net",
                CurrentApplicationVersionId=1,
                VpcConfiguration={
                    "SubnetIds": subnets,
                    "SecurityGroupIds": [network["security_group"]],
                },
            )
        assert error_code(excinfo) == "InvalidArgumentException"


def test_logging_option_needs_an_existing_stream(flink: Any, make_app: AppFactory) -> None:
    make_app("nolog")
    with pytest.raises(ClientError) as excinfo:
        flink.add_application_cloud_watch_logging_option(
            ApplicationName="nolog",
            CurrentApplicationVersionId=1,
            CloudWatchLoggingOption={
                "LogStreamARN": "arn:aws:logs:eu-west-1:123456789012:"
                "log-group:/missing:log-stream:s"
            },
        )
    assert error_code(excinfo) == "InvalidArgumentException"


def test_duplicate_name_is_in_use(make_app: AppFactory) -> None:
    make_app("same")
    with pytest.raises(ClientError) as excinfo:
        make_app("same")
    assert error_code(excinfo) == "ResourceInUseException"


def test_more_than_fifty_tags_is_too_many(flink: Any, make_app: AppFactory) -> None:
    arn = make_app("tags")["ApplicationARN"]
    with pytest.raises(ClientError) as excinfo:
        flink.tag_resource(
            ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]
        )
    assert error_code(excinfo) == "TooManyTagsException"
