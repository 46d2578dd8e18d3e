"""Service-side checks (execution role, customer managed key, snapshot mode) and the other
application kinds: Studio notebooks and SQL-1_0 apps, each answer checked against its shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.server import Sandbox
from sandbox.testing import control, execution_role, flink_key
from tests.sandbox.conftest import AppFactory, assert_shape


def rejected(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def create(flink: Any, role: str, name: str = "v", **kwargs: Any) -> dict[str, Any]:
    response = flink.create_application(
        ApplicationName=name, RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=role, **kwargs
    )
    return assert_shape("CreateApplication", response)["ApplicationDetail"]  # type: ignore[no-any-return]


def test_the_execution_role_must_exist_and_trust_the_service(
    flink: Any, aws: Any, fresh_sandbox: Sandbox, make_app: AppFactory
) -> None:
    iam = aws("iam")
    missing = f"arn:aws:iam::{fresh_sandbox.account_id}:role/missing"
    with pytest.raises(ClientError) as no_role:
        create(flink, missing)
    assert rejected(no_role) == (
        "InvalidArgumentException",
        f"Managed Service for Apache Flink could not assume the role {missing}.",
    )
    lambda_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    untrusting = iam.create_role(
        RoleName="lambda-role", AssumeRolePolicyDocument=json.dumps(lambda_trust)
    )
    with pytest.raises(ClientError) as no_trust:
        create(flink, untrusting["Role"]["Arn"])
    code, message = rejected(no_trust)
    assert code == "InvalidArgumentException" and "could not assume the role" in message
    make_app("v")
    with pytest.raises(ClientError) as on_update:
        flink.update_application(
            ApplicationName="v", CurrentApplicationVersionId=1, ServiceExecutionRoleUpdate=missing
        )
    assert rejected(on_update)[0] == "InvalidArgumentException"
    assert (
        flink.describe_application(ApplicationName="v")["ApplicationDetail"]["ApplicationVersionId"]
        == 1
    )


def test_a_customer_managed_key_must_exist_and_allow_the_service(
    flink: Any, aws: Any, make_app: AppFactory
) -> None:
    kms = aws("kms")
    make_app("k")

    def use(key_id: str) -> dict[str, Any]:
        return flink.update_application(  # type: ignore[no-any-return]
            ApplicationName="k",
            CurrentApplicationVersionId=flink.describe_application(ApplicationName="k")[
                "ApplicationDetail"
            ]["ApplicationVersionId"],
            ApplicationConfigurationUpdate={
                "ApplicationEncryptionConfigurationUpdate": {
                    "KeyTypeUpdate": "CUSTOMER_MANAGED_KEY",
                    "KeyIdUpdate": key_id,
                }
            },
        )

    with pytest.raises(ClientError) as unknown:
        use("alias/nothing")
    assert rejected(unknown) == (
        "InvalidArgumentException",
        "KMS key alias/nothing not found.",
    )
    default_policy = kms.create_key()["KeyMetadata"]["Arn"]  # only the account root is allowed
    with pytest.raises(ClientError) as not_allowed:
        use(default_policy)
    code, message = rejected(not_allowed)
    assert code == "InvalidArgumentException"
    assert (
        "kinesisanalytics.amazonaws.com, infrastructure.kinesisanalytics.amazonaws.com" in message
    )
    disabled = flink_key(kms)
    kms.disable_key(KeyId=disabled.rsplit("/", 1)[-1])
    with pytest.raises(ClientError) as off:
        use(disabled)
    assert "is Disabled" in rejected(off)[1]
    good = flink_key(kms, "alias/state")
    detail = use("alias/state")["ApplicationDetail"]
    assert detail["ApplicationConfigurationDescription"][
        "ApplicationEncryptionConfigurationDescription"
    ] == {
        "KeyType": "CUSTOMER_MANAGED_KEY",
        "KeyId": "alias/state",
    }
    assert good.startswith("arn:aws:kms:")


@pytest.mark.parametrize(
    ("runtime", "before", "after", "accepted"),
    [
        ("FLINK-1_20", None, "ENHANCED_SNAPSHOTS", True),
        ("FLINK-1_20", "APPLICATION_SNAPSHOTS_LEGACY", "ENHANCED_SNAPSHOTS", True),
        ("FLINK-1_19", "APPLICATION_SNAPSHOTS_LEGACY", "ENHANCED_SNAPSHOTS", False),
        ("FLINK-1_20", "ENHANCED_SNAPSHOTS", "APPLICATION_SNAPSHOTS_LEGACY", False),
    ],
)
def test_snapshot_mode_only_moves_from_legacy_to_enhanced_on_flink_1_20(
    flink: Any, make_app: AppFactory, runtime: str, before: str | None, after: str, accepted: bool
) -> None:
    snapshots: dict[str, Any] = {"SnapshotsEnabled": True}
    if before:
        snapshots["SnapshotMode"] = before
    make_app(
        "s",
        RuntimeEnvironment=runtime,
        ApplicationConfiguration={"ApplicationSnapshotConfiguration": snapshots},
    )
    change = {
        "ApplicationSnapshotConfigurationUpdate": {
            "SnapshotsEnabledUpdate": True,
            "SnapshotModeUpdate": after,
        }
    }
    if accepted:
        flink.update_application(
            ApplicationName="s",
            CurrentApplicationVersionId=1,
            ApplicationConfigurationUpdate=change,
        )
        return
    with pytest.raises(ClientError) as excinfo:
        flink.update_application(
            ApplicationName="s",
            CurrentApplicationVersionId=1,
            ApplicationConfigurationUpdate=change,
        )
    code, message = rejected(excinfo)
    assert code == "InvalidArgumentException"
    assert "ENHANCED_SNAPSHOTS" in message and not message.startswith("ApplicationSnapshot")


def test_enhanced_snapshots_cannot_be_created_before_flink_1_20(flink: Any, aws: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        flink.create_application(
            ApplicationName="old",
            RuntimeEnvironment="FLINK-1_19",
            ServiceExecutionRole=execution_role(aws("iam")),
            ApplicationConfiguration={
                "ApplicationSnapshotConfiguration": {
                    "SnapshotsEnabled": True,
                    "SnapshotMode": "ENHANCED_SNAPSHOTS",
                }
            },
        )
    assert "needs FLINK-1_20" in rejected(excinfo)[1]


NOTEBOOK = {
    "ZeppelinApplicationConfiguration": {
        "MonitoringConfiguration": {"LogLevel": "WARN"},
        "CatalogConfiguration": {
            "GlueDataCatalogConfiguration": {
                "DatabaseARN": "arn:aws:glue:eu-west-1:123456789012:database/studio"
            }
        },
        "DeployAsApplicationConfiguration": {
            "S3ContentLocation": {"BucketARN": "arn:aws:s3:::notebooks", "BasePath": "deploy"}
        },
        "CustomArtifactsConfiguration": [
            {
                "ArtifactType": "DEPENDENCY_JAR",
                "MavenReference": {
                    "GroupId": "org.apache.flink",
                    "ArtifactId": "flink-connector-kafka",
                    "Version": "3.0.0",
                },
            }
        ],
    }
}


def test_a_studio_notebook_has_its_own_shape(
    flink: Any, make_app: AppFactory, network: dict[str, str]
) -> None:
    config = {
        **NOTEBOOK,
        "VpcConfigurations": [
            {"SubnetIds": [network["subnet_a"]], "SecurityGroupIds": [network["security_group"]]}
        ],
    }
    created = make_app(
        "studio",
        RuntimeEnvironment="ZEPPELIN-FLINK-3_0",
        ApplicationMode="INTERACTIVE",
        ApplicationConfiguration=config,
    )
    detail = assert_shape(
        "DescribeApplication", flink.describe_application(ApplicationName="studio")
    )["ApplicationDetail"]
    assert detail == created and detail["ApplicationMode"] == "INTERACTIVE"
    described = detail["ApplicationConfigurationDescription"]
    assert sorted(described) == [
        "VpcConfigurationDescriptions",
        "ZeppelinApplicationConfigurationDescription",
    ]
    zeppelin = described["ZeppelinApplicationConfigurationDescription"]
    assert zeppelin["MonitoringConfigurationDescription"] == {"LogLevel": "WARN"}
    assert (
        zeppelin["CustomArtifactsConfigurationDescription"][0]["MavenReferenceDescription"][
            "Version"
        ]
        == "3.0.0"
    )
    summary = flink.list_applications()["ApplicationSummaries"][0]
    assert (summary["RuntimeEnvironment"], summary["ApplicationMode"]) == (
        "ZEPPELIN-FLINK-3_0",
        "INTERACTIVE",
    )
    with pytest.raises(ClientError) as flink_section:
        flink.update_application(
            ApplicationName="studio",
            CurrentApplicationVersionId=1,
            ApplicationConfigurationUpdate={
                "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}
            },
        )
    assert "not valid for studio, a ZEPPELIN-FLINK-3_0 application" in rejected(flink_section)[1]


def test_a_sql_application_has_its_own_shape(flink: Any, aws: Any, fresh_sandbox: Sandbox) -> None:
    sql = {
        "Inputs": [
            {
                "NamePrefix": "SOURCE_SQL_STREAM",
                "KinesisStreamsInput": {
                    "ResourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/in"
                },
                "InputSchema": {
                    "RecordFormat": {
                        "RecordFormatType": "JSON",
                        "MappingParameters": {"JSONMappingParameters": {"RecordRowPath": "$"}},
                    },
                    "RecordColumns": [{"Name": "price", "SqlType": "DOUBLE", "Mapping": "$.price"}],
                },
            }
        ],
        "Outputs": [
            {
                "Name": "DESTINATION_SQL_STREAM",
                "KinesisStreamsOutput": {
                    "ResourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/out"
                },
                "DestinationSchema": {"RecordFormatType": "JSON"},
            }
        ],
    }
    code = {
        "CodeContentType": "PLAINTEXT",
        "CodeContent": {"TextContent": "SELECT STREAM * FROM SOURCE_SQL_STREAM_001;"},
    }
    request = {
        "ApplicationName": "legacy-sql",
        "RuntimeEnvironment": "SQL-1_0",
        "ServiceExecutionRole": execution_role(aws("iam")),
        "ApplicationConfiguration": {
            "SqlApplicationConfiguration": sql,
            "ApplicationCodeConfiguration": code,
        },
    }
    # AWS no longer creates SQL apps (kinesisanalytics/latest/dev/discontinuation.html) ...
    with pytest.raises(ClientError) as refused:
        flink.create_application(**request)
    assert rejected(refused)[0] == "UnsupportedOperationException"
    # ... but existing ones remain: seeded as made before the end of creation.
    control(fresh_sandbox.endpoint_url, "/_sandbox/flink/legacy-sql", request=request)
    detail = assert_shape(
        "DescribeApplication", flink.describe_application(ApplicationName="legacy-sql")
    )["ApplicationDetail"]
    described = detail["ApplicationConfigurationDescription"]
    assert sorted(described) == [
        "ApplicationCodeConfigurationDescription",
        "SqlApplicationConfigurationDescription",
    ]
    (source,) = described["SqlApplicationConfigurationDescription"]["InputDescriptions"]
    assert source["InAppStreamNames"] == ["SOURCE_SQL_STREAM_001"]
    assert source["KinesisStreamsInputDescription"]["ResourceARN"].endswith("stream/in")


@pytest.mark.parametrize(
    ("runtime", "mode", "config"),
    [
        ("ZEPPELIN-FLINK-3_0", "STREAMING", {}),
        ("FLINK-1_20", "INTERACTIVE", {}),
        ("SQL-1_0", "STREAMING", {"FlinkApplicationConfiguration": {}}),
        ("FLINK-1_20", "STREAMING", NOTEBOOK),
    ],
)
def test_configuration_must_fit_the_kind_of_application(
    flink: Any, aws: Any, runtime: str, mode: str, config: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        flink.create_application(
            ApplicationName="mismatch",
            RuntimeEnvironment=runtime,
            ApplicationMode=mode,
            ServiceExecutionRole=execution_role(aws("iam")),
            ApplicationConfiguration=config,
        )
    assert rejected(excinfo)[0] == "InvalidArgumentException"


def _member_names(shape: Any, seen: set[str]) -> set[str]:
    """Every member name reachable from a botocore shape (request fields, nested)."""
    names: set[str] = set()
    if shape.name in seen:
        return names
    seen.add(shape.name)
    for name, member in getattr(shape, "members", {}).items():
        names.add(name)
        names |= _member_names(member, seen)
    if hasattr(shape, "member"):
        names |= _member_names(shape.member, seen)
    return names


def test_rejections_do_not_start_with_a_request_field(
    flink: Any, make_app: AppFactory, log_stream: Any
) -> None:
    """AWS documents error codes, not texts: nothing may rely on a field name leading them."""
    model = flink.meta.service_model
    fields = set()
    for operation in ("CreateApplication", "UpdateApplication"):
        fields |= _member_names(model.operation_model(operation).input_shape, set())
    make_app("m")
    rejections: list[dict[str, Any]] = [
        {
            "ApplicationConfigurationUpdate": {
                "ApplicationEncryptionConfigurationUpdate": {
                    "KeyTypeUpdate": "CUSTOMER_MANAGED_KEY",
                    "KeyIdUpdate": "alias/none",
                }
            }
        },
        {
            "CloudWatchLoggingOptionUpdates": [
                {"CloudWatchLoggingOptionId": "9.9", "LogStreamARNUpdate": "x"}
            ]
        },
        {
            "ApplicationConfigurationUpdate": {
                "VpcConfigurationUpdates": [{"VpcConfigurationId": "9.9"}]
            }
        },
        {"ServiceExecutionRoleUpdate": "arn:aws:iam::123456789012:role/none"},
        {"RuntimeEnvironmentUpdate": "FLINK-1_6"},
    ]
    for update in rejections:
        with pytest.raises(ClientError) as excinfo:
            flink.update_application(ApplicationName="m", CurrentApplicationVersionId=1, **update)
        code, message = rejected(excinfo)
        first = message.replace(":", " ").replace(".", " ").split()[0]
        assert code == "InvalidArgumentException" and first not in fields, message
