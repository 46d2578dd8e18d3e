"""CreateApplication for the three kinds of application the service runs:

- Apache Flink (FLINK-*, ApplicationMode STREAMING): the full Flink configuration;
- Studio notebooks (ZEPPELIN-FLINK-*, ApplicationMode INTERACTIVE): a Zeppelin section, VPC;
- Kinesis Data Analytics for SQL (SQL-1_0, STREAMING): inputs, outputs and SQL code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.flink import changes, validation
from sandbox.flink import configuration as conf
from sandbox.flink.backend import FlinkBackend, new_token
from sandbox.flink.errors import FlinkApiError, invalid
from sandbox.flink.model import FlinkApp, LoggingOption

Request = Mapping[str, Any]
FLINK_SECTIONS = (
    "FlinkApplicationConfiguration",
    "EnvironmentProperties",
    "ApplicationSnapshotConfiguration",
    "ApplicationSystemRollbackConfiguration",
    "ApplicationEncryptionConfiguration",
)
# Request sub-structures that keep their content but gain "Description" in their name.
_KEEP_AS_IS = frozenset({"InputSchema", "DestinationSchema", "InputParallelism"})


def _family(runtime: str, mode: str, config: Mapping[str, Any]) -> str:
    family = "ZEPPELIN" if runtime.startswith("ZEPPELIN-") else runtime.split("-")[0]
    if (mode == "INTERACTIVE") != (family == "ZEPPELIN"):
        raise invalid(
            f"Application mode {mode} is not valid with runtime {runtime}: Studio "
            "notebooks (ZEPPELIN-FLINK-*) are INTERACTIVE, everything else STREAMING."
        )
    wrong = [] if family == "FLINK" else [s for s in FLINK_SECTIONS if s in config]
    if family != "ZEPPELIN" and "ZeppelinApplicationConfiguration" in config:
        wrong.append("ZeppelinApplicationConfiguration")
    if family != "SQL" and "SqlApplicationConfiguration" in config:
        wrong.append("SqlApplicationConfiguration")
    if family == "SQL" and "VpcConfigurations" in config:
        wrong.append("VpcConfigurations")
    if wrong:
        raise invalid(
            f"The configuration is not valid for a {runtime} application: {', '.join(wrong)}."
        )
    return family


def _described(value: Any) -> Any:
    """A request structure in its description shape ("KinesisStreamsInput" ->
    "KinesisStreamsInputDescription", recursively)."""
    if not isinstance(value, Mapping):
        return value
    return {
        (key if key in _KEEP_AS_IS or not isinstance(item, Mapping) else key + "Description"): (
            item if key in _KEEP_AS_IS else _described(item)
        )
        for key, item in value.items()
    }


def zeppelin_description(request: Mapping[str, Any]) -> dict[str, Any]:
    monitoring = request.get("MonitoringConfiguration", {"LogLevel": "INFO"})
    result: dict[str, Any] = {"MonitoringConfigurationDescription": dict(monitoring)}
    if "CatalogConfiguration" in request:
        result["CatalogConfigurationDescription"] = _described(request["CatalogConfiguration"])
    if "DeployAsApplicationConfiguration" in request:
        location = request["DeployAsApplicationConfiguration"]["S3ContentLocation"]
        result["DeployAsApplicationConfigurationDescription"] = {
            "S3ContentLocationDescription": dict(location)
        }
    if "CustomArtifactsConfiguration" in request:
        result["CustomArtifactsConfigurationDescription"] = [
            _described(artifact) for artifact in request["CustomArtifactsConfiguration"]
        ]
    return result


def sql_description(request: Mapping[str, Any]) -> dict[str, Any]:
    inputs = []
    for number, given in enumerate(request.get("Inputs", []), start=1):
        described = _described(given)
        described.setdefault("InputParallelism", {"Count": 1})
        count = described["InputParallelism"].get("Count", 1)
        prefix = given["NamePrefix"]
        names = [f"{prefix}_{i:03d}" for i in range(1, count + 1)]
        inputs.append({"InputId": f"1.{number}", **described, "InAppStreamNames": names})
    outputs = [
        {"OutputId": f"1.{number}", **_described(given)}
        for number, given in enumerate(request.get("Outputs", []), start=1)
    ]
    references = [
        {"ReferenceId": f"1.{number}", **_described(given)}
        for number, given in enumerate(request.get("ReferenceDataSources", []), start=1)
    ]
    return {
        "InputDescriptions": inputs,
        "OutputDescriptions": outputs,
        "ReferenceDataSourceDescriptions": references,
    }


def new_application(backend: FlinkBackend, req: Request, legacy_sql: bool = False) -> FlinkApp:
    """`legacy_sql`: seed a SQL-1_0 app as if made before the end of SQL creation (tests)."""
    runtime, mode = req["RuntimeEnvironment"], req.get("ApplicationMode", "STREAMING")
    config = req.get("ApplicationConfiguration", {})
    family = _family(runtime, mode, config)
    if family == "SQL" and not legacy_sql:
        # "From October 15, 2025, you will not be able to create new Kinesis Data Analytics for
        # SQL applications." https://docs.aws.amazon.com/kinesisanalytics/latest/dev/discontinuation.html
        # The error code is not documented: UnsupportedOperationException, which the model lists.
        raise FlinkApiError(
            "UnsupportedOperationException",
            "Kinesis Data Analytics for SQL applications can no longer be created.",
        )
    logging, vpcs = req.get("CloudWatchLoggingOptions", []), config.get("VpcConfigurations", [])
    if len(logging) > 1 or len(vpcs) > 1:
        raise invalid("At most one CloudWatch logging option and one VPC configuration.")
    snapshots = config.get("ApplicationSnapshotConfiguration", {"SnapshotsEnabled": False})
    validation.check_snapshot_mode(runtime, None, snapshots.get("SnapshotMode"))
    encryption = config.get("ApplicationEncryptionConfiguration", {"KeyType": "AWS_OWNED_KEY"})
    if encryption["KeyType"] == "CUSTOMER_MANAGED_KEY" and encryption.get("KeyId"):
        validation.check_customer_key(backend.lookups, encryption["KeyId"])
    code = config.get("ApplicationCodeConfiguration")
    now = round(backend.now(), 3)
    app = FlinkApp(
        name=req["ApplicationName"],
        arn=backend.arn(req["ApplicationName"]),
        runtime=runtime,
        role=validation.check_execution_role(
            backend.lookups,
            req["ServiceExecutionRole"],
            backend.arn(req["ApplicationName"]),
            backend.account_id,
        ),
        created=now,
        updated=now,
        version=1,
        token=new_token(),
        status="READY",
        flink=conf.flink_description(config.get("FlinkApplicationConfiguration", {})),
        snapshots=conf.snapshot_description(
            snapshots["SnapshotsEnabled"], snapshots.get("SnapshotMode")
        ),
        encryption=conf.encryption_description(encryption["KeyType"], encryption.get("KeyId")),
        rollback_enabled=config.get("ApplicationSystemRollbackConfiguration", {}).get(
            "RollbackEnabled", False
        ),
        description=req.get("ApplicationDescription", ""),
        mode=mode,
        code=conf.code_description(code) if code else None,
        property_groups=tuple(config.get("EnvironmentProperties", {}).get("PropertyGroups", [])),
        logging=tuple(
            LoggingOption(
                f"1.{i + 1}", changes.check_log_stream(backend.lookups, o["LogStreamARN"])
            )
            for i, o in enumerate(logging)
        ),
        vpcs=tuple(
            changes.vpc_config(backend.lookups, f"1.{i + 1}", v["SubnetIds"], v["SecurityGroupIds"])
            for i, v in enumerate(vpcs)
        ),
        tags=tuple(tags(req.get("Tags", [])).items()),
        zeppelin=(
            zeppelin_description(config.get("ZeppelinApplicationConfiguration", {}))
            if family == "ZEPPELIN"
            else None
        ),
        sql=(
            sql_description(config.get("SqlApplicationConfiguration", {}))
            if family == "SQL"
            else None
        ),
    )
    return backend.add(app)


def tags(given: list[dict[str, str]]) -> dict[str, str]:
    for tag in given:
        if tag["Key"].lower().startswith("aws:"):
            raise invalid(f"Tag key {tag['Key']} uses the reserved prefix aws:.")
    return {tag["Key"]: tag.get("Value", "") for tag in given}
