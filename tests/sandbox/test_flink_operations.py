"""Every kinesisanalyticsv2 operation the sandbox adds, over HTTP, each answer checked against
the botocore output shape."""

from __future__ import annotations

from typing import Any

from sandbox.testing import execution_role, flink_key
from tests.sandbox.conftest import AppFactory, assert_shape

FULL_CONFIGURATION: dict[str, Any] = {
    "FlinkApplicationConfiguration": {
        "MonitoringConfiguration": {
            "ConfigurationType": "CUSTOM",
            "LogLevel": "WARN",
            "MetricsLevel": "TASK",
        },
        "CheckpointConfiguration": {
            "ConfigurationType": "CUSTOM",
            "CheckpointingEnabled": True,
            "CheckpointInterval": 30000,
            "MinPauseBetweenCheckpoints": 1000,
        },
        "ParallelismConfiguration": {
            "ConfigurationType": "CUSTOM",
            "Parallelism": 4,
            "ParallelismPerKPU": 2,
            "AutoScalingEnabled": False,
        },
    },
    "EnvironmentProperties": {
        "PropertyGroups": [{"PropertyGroupId": "app", "PropertyMap": {"SinkTopic": "payments"}}]
    },
    "ApplicationCodeConfiguration": {
        "CodeContentType": "ZIPFILE",
        "CodeContent": {
            "S3ContentLocation": {"BucketARN": "arn:aws:s3:::artifacts", "FileKey": "app.jar"}
        },
    },
    "ApplicationSnapshotConfiguration": {"SnapshotsEnabled": True},
    "ApplicationSystemRollbackConfiguration": {"RollbackEnabled": True},
    "ApplicationEncryptionConfiguration": {
        "KeyType": "CUSTOMER_MANAGED_KEY",
        "KeyId": "alias/flink",
    },
}


def test_create_and_describe_return_the_complete_description(
    flink: Any, make_app: AppFactory, log_stream: Any, network: dict[str, str], aws: Any
) -> None:
    flink_key(aws("kms"), "alias/flink")
    stream = log_stream("/aws/kinesis-analytics/full", "kinesis-analytics-log-stream")
    configuration = {
        **FULL_CONFIGURATION,
        "VpcConfigurations": [
            {"SubnetIds": [network["subnet_a"]], "SecurityGroupIds": [network["security_group"]]}
        ],
    }
    make_app(
        "full",
        ApplicationConfiguration=configuration,
        CloudWatchLoggingOptions=[{"LogStreamARN": stream}],
        ApplicationDescription="enriches payments",
    )

    detail = assert_shape(
        "DescribeApplication", flink.describe_application(ApplicationName="full")
    )["ApplicationDetail"]

    assert detail["ApplicationName"] == "full"
    assert detail["ApplicationStatus"] == "READY"
    assert detail["ApplicationVersionId"] == 1
    assert detail["ApplicationMode"] == "STREAMING"
    assert detail["ApplicationARN"].endswith(":application/full")
    config = detail["ApplicationConfigurationDescription"]
    flink_config = config["FlinkApplicationConfigurationDescription"]
    assert flink_config["MonitoringConfigurationDescription"] == {
        "ConfigurationType": "CUSTOM",
        "LogLevel": "WARN",
        "MetricsLevel": "TASK",
    }
    assert flink_config["CheckpointConfigurationDescription"]["CheckpointInterval"] == 30000
    assert flink_config["ParallelismConfigurationDescription"]["CurrentParallelism"] == 4
    assert config["ApplicationSnapshotConfigurationDescription"]["SnapshotsEnabled"] is True
    assert config["ApplicationSystemRollbackConfigurationDescription"] == {"RollbackEnabled": True}
    assert config["ApplicationEncryptionConfigurationDescription"] == {
        "KeyType": "CUSTOMER_MANAGED_KEY",
        "KeyId": "alias/flink",
    }
    assert config["EnvironmentPropertyDescriptions"]["PropertyGroupDescriptions"][0][
        "PropertyMap"
    ] == {"SinkTopic": "payments"}
    assert (
        config["ApplicationCodeConfigurationDescription"]["CodeContentDescription"][
            "S3ApplicationCodeLocationDescription"
        ]["FileKey"]
        == "app.jar"
    )
    (vpc,) = config["VpcConfigurationDescriptions"]
    assert vpc["VpcId"] == network["vpc_id"]  # looked up from the subnet in moto's EC2
    (logging,) = detail["CloudWatchLoggingOptionDescriptions"]
    assert logging["LogStreamARN"] == stream and logging["CloudWatchLoggingOptionId"]


def test_defaults_when_created_without_configuration(flink: Any, make_app: AppFactory) -> None:
    make_app("bare")
    detail = flink.describe_application(ApplicationName="bare")["ApplicationDetail"]
    config = detail["ApplicationConfigurationDescription"]
    flink_config = config["FlinkApplicationConfigurationDescription"]
    assert flink_config["CheckpointConfigurationDescription"] == {
        "ConfigurationType": "DEFAULT",
        "CheckpointingEnabled": True,
        "CheckpointInterval": 60000,
        "MinPauseBetweenCheckpoints": 5000,
    }
    assert flink_config["MonitoringConfigurationDescription"]["ConfigurationType"] == "DEFAULT"
    assert config["ApplicationEncryptionConfigurationDescription"] == {"KeyType": "AWS_OWNED_KEY"}
    assert detail["CloudWatchLoggingOptionDescriptions"] == []


def test_list_applications_paginates(flink: Any, make_app: AppFactory) -> None:
    for index in range(5):
        make_app(f"app-{index}")
    first = assert_shape("ListApplications", flink.list_applications(Limit=2))
    assert [s["ApplicationName"] for s in first["ApplicationSummaries"]] == ["app-0", "app-1"]
    second = flink.list_applications(Limit=2, NextToken=first["NextToken"])
    third = assert_shape(
        "ListApplications", flink.list_applications(Limit=2, NextToken=second["NextToken"])
    )
    assert [s["ApplicationName"] for s in third["ApplicationSummaries"]] == ["app-4"]
    assert "NextToken" not in third
    paginated = [
        s["ApplicationName"]
        for page in flink.get_paginator("list_applications").paginate(
            PaginationConfig={"PageSize": 2}
        )
        for s in page["ApplicationSummaries"]
    ]
    assert paginated == [f"app-{i}" for i in range(5)]


def test_update_application_changes_every_supported_part(
    flink: Any, make_app: AppFactory, log_stream: Any, network: dict[str, str], aws: Any
) -> None:
    flink_key(aws("kms"), "alias/k")
    execution_role(aws("iam"), "other")
    old_stream = log_stream("/aws/kinesis-analytics/upd", "old")
    new_stream = log_stream("/aws/kinesis-analytics/upd", "kinesis-analytics-log-stream")
    created = make_app(
        "upd",
        CloudWatchLoggingOptions=[{"LogStreamARN": old_stream}],
        ApplicationConfiguration={
            "VpcConfigurations": [
                {
                    "SubnetIds": [network["subnet_a"]],
                    "SecurityGroupIds": [network["security_group"]],
                }
            ]
        },
    )
    vpc_id = created["ApplicationConfigurationDescription"]["VpcConfigurationDescriptions"][0][
        "VpcConfigurationId"
    ]
    response = flink.update_application(
        ApplicationName="upd",
        CurrentApplicationVersionId=1,
        ApplicationConfigurationUpdate={
            "FlinkApplicationConfigurationUpdate": {
                "MonitoringConfigurationUpdate": {
                    "ConfigurationTypeUpdate": "CUSTOM",
                    "LogLevelUpdate": "INFO",
                    "MetricsLevelUpdate": "APPLICATION",
                },
                "CheckpointConfigurationUpdate": {
                    "ConfigurationTypeUpdate": "CUSTOM",
                    "CheckpointIntervalUpdate": 10000,
                },
                "ParallelismConfigurationUpdate": {
                    "ConfigurationTypeUpdate": "CUSTOM",
                    "ParallelismUpdate": 3,
                },
            },
            "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True},
            "ApplicationSystemRollbackConfigurationUpdate": {"RollbackEnabledUpdate": True},
            "ApplicationEncryptionConfigurationUpdate": {
                "KeyTypeUpdate": "CUSTOMER_MANAGED_KEY",
                "KeyIdUpdate": "alias/k",
            },
            "VpcConfigurationUpdates": [
                {"VpcConfigurationId": vpc_id, "SubnetIdUpdates": [network["subnet_b"]]}
            ],
        },
        CloudWatchLoggingOptionUpdates=[
            {
                "CloudWatchLoggingOptionId": created["CloudWatchLoggingOptionDescriptions"][0][
                    "CloudWatchLoggingOptionId"
                ],
                "LogStreamARNUpdate": new_stream,
            }
        ],
        ServiceExecutionRoleUpdate="arn:aws:iam::123456789012:role/flink/other",
        RuntimeEnvironmentUpdate="FLINK-2_2",
    )
    detail = assert_shape("UpdateApplication", response)["ApplicationDetail"]
    assert detail["ApplicationVersionId"] == 2
    assert detail["ApplicationVersionUpdatedFrom"] == 1
    assert detail["RuntimeEnvironment"] == "FLINK-2_2"
    assert detail["ServiceExecutionRole"].endswith("role/flink/other")
    assert detail["CloudWatchLoggingOptionDescriptions"][0]["LogStreamARN"] == new_stream
    config = detail["ApplicationConfigurationDescription"]
    flink_config = config["FlinkApplicationConfigurationDescription"]
    assert flink_config["MonitoringConfigurationDescription"] == {
        "ConfigurationType": "CUSTOM",
        "LogLevel": "INFO",
        "MetricsLevel": "APPLICATION",
    }
    assert flink_config["CheckpointConfigurationDescription"]["CheckpointInterval"] == 10000
    assert flink_config["ParallelismConfigurationDescription"]["Parallelism"] == 3
    assert config["ApplicationSnapshotConfigurationDescription"]["SnapshotsEnabled"] is True
    assert config["ApplicationSystemRollbackConfigurationDescription"]["RollbackEnabled"] is True
    assert config["ApplicationEncryptionConfigurationDescription"]["KeyId"] == "alias/k"
    assert config["VpcConfigurationDescriptions"][0]["SubnetIds"] == [network["subnet_b"]]
    described = flink.describe_application(ApplicationName="upd")["ApplicationDetail"]
    assert described["ApplicationConfigurationDescription"] == config


def test_checkpoint_default_forces_aws_values(flink: Any, make_app: AppFactory, aws: Any) -> None:
    flink_key(aws("kms"), "alias/flink")
    make_app("cp", ApplicationConfiguration=FULL_CONFIGURATION)
    detail = flink.update_application(
        ApplicationName="cp",
        CurrentApplicationVersionId=1,
        ApplicationConfigurationUpdate={
            "FlinkApplicationConfigurationUpdate": {
                "CheckpointConfigurationUpdate": {"ConfigurationTypeUpdate": "DEFAULT"}
            }
        },
    )["ApplicationDetail"]
    checkpoint = detail["ApplicationConfigurationDescription"][
        "FlinkApplicationConfigurationDescription"
    ]["CheckpointConfigurationDescription"]
    assert checkpoint == {
        "ConfigurationType": "DEFAULT",
        "CheckpointingEnabled": True,
        "CheckpointInterval": 60000,
        "MinPauseBetweenCheckpoints": 5000,
    }


def test_add_and_delete_logging_option(flink: Any, make_app: AppFactory, log_stream: Any) -> None:
    make_app("log")
    stream = log_stream("/aws/kinesis-analytics/log", "kinesis-analytics-log-stream")
    added = assert_shape(
        "AddApplicationCloudWatchLoggingOption",
        flink.add_application_cloud_watch_logging_option(
            ApplicationName="log",
            CurrentApplicationVersionId=1,
            CloudWatchLoggingOption={"LogStreamARN": stream},
        ),
    )
    assert added["ApplicationVersionId"] == 2
    (option,) = added["CloudWatchLoggingOptionDescriptions"]
    deleted = assert_shape(
        "DeleteApplicationCloudWatchLoggingOption",
        flink.delete_application_cloud_watch_logging_option(
            ApplicationName="log",
            CurrentApplicationVersionId=2,
            CloudWatchLoggingOptionId=option["CloudWatchLoggingOptionId"],
        ),
    )
    assert deleted["ApplicationVersionId"] == 3
    assert deleted["CloudWatchLoggingOptionDescriptions"] == []


def test_add_and_delete_vpc_configuration(
    flink: Any, make_app: AppFactory, network: dict[str, str]
) -> None:
    make_app("vpc")
    added = assert_shape(
        "AddApplicationVpcConfiguration",
        flink.add_application_vpc_configuration(
            ApplicationName="vpc",
            CurrentApplicationVersionId=1,
            VpcConfiguration={
                "SubnetIds": [network["subnet_a"]],
                "SecurityGroupIds": [network["security_group"]],
            },
        ),
    )
    assert added["VpcConfigurationDescription"]["VpcId"] == network["vpc_id"]
    token = flink.describe_application(ApplicationName="vpc")["ApplicationDetail"][
        "ConditionalToken"
    ]
    deleted = assert_shape(
        "DeleteApplicationVpcConfiguration",
        flink.delete_application_vpc_configuration(
            ApplicationName="vpc",
            ConditionalToken=token,
            VpcConfigurationId=added["VpcConfigurationDescription"]["VpcConfigurationId"],
        ),
    )
    assert deleted["ApplicationVersionId"] == 3
    detail = flink.describe_application(ApplicationName="vpc")["ApplicationDetail"]
    assert "VpcConfigurationDescriptions" not in detail["ApplicationConfigurationDescription"]


def test_tags_can_be_added_listed_and_removed(flink: Any, make_app: AppFactory) -> None:
    arn = make_app("tagged", Tags=[{"Key": "team", "Value": "payments"}])["ApplicationARN"]
    assert_shape(
        "TagResource", flink.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    )
    listed = assert_shape("ListTagsForResource", flink.list_tags_for_resource(ResourceARN=arn))
    assert {t["Key"]: t["Value"] for t in listed["Tags"]} == {"team": "payments", "env": "prod"}
    assert_shape("UntagResource", flink.untag_resource(ResourceARN=arn, TagKeys=["team"]))
    assert flink.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "prod"}
    ]
    # Tags are not configuration: the version stays.
    assert (
        flink.describe_application(ApplicationName="tagged")["ApplicationDetail"][
            "ApplicationVersionId"
        ]
        == 1
    )
