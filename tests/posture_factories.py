"""DescribeApplication shapes and hypothesis strategies for the posture rules (snapshots,
checkpointing, rollback, encryption, runtime, tags, code origin, parallelism)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from daemon.state import AppRef, Observed
from sandbox.flink import configuration as conf
from tests.factories import APP, flink_detail

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0000ffff-12ab-34cd-56ef-1234567890ab"
RUNTIMES = (
    "FLINK-1_6",
    "FLINK-1_8",
    "FLINK-1_11",
    "FLINK-1_13",
    "FLINK-1_15",
    "FLINK-1_18",
    "FLINK-1_19",
    "FLINK-1_20",
    "FLINK-2_2",
    "SQL-1_0",
    "ZEPPELIN-FLINK-3_0",
)


def posture_detail(
    app: AppRef = APP,
    *,
    runtime: str = "FLINK-1_20",
    snapshots: dict[str, Any] | None = None,
    rollback: bool | None = True,
    encryption: dict[str, Any] | None = None,
    checkpoint: dict[str, Any] | None = None,
    parallelism: dict[str, Any] | None = None,
    code: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A DescribeApplication detail; `None` leaves a section out, as moto or an old API does."""
    detail = flink_detail(app, runtime=runtime)
    config = detail["ApplicationConfigurationDescription"]
    if snapshots is not None:
        config["ApplicationSnapshotConfigurationDescription"] = snapshots
    if rollback is not None:
        config["ApplicationSystemRollbackConfigurationDescription"] = {"RollbackEnabled": rollback}
    if encryption is not None:
        config["ApplicationEncryptionConfigurationDescription"] = encryption
    flink = config["FlinkApplicationConfigurationDescription"]
    if checkpoint is not None:
        flink["CheckpointConfigurationDescription"] = checkpoint
    if parallelism is not None:
        flink["ParallelismConfigurationDescription"] = parallelism
    if code is not None:
        config["ApplicationCodeConfigurationDescription"] = code
    return detail


def observed_with(
    detail: dict[str, Any], tags: dict[str, str] | None = None, app: AppRef = APP
) -> Observed:
    return Observed(app=app, detail=detail, tags=tags or {}, facts={})


def s3_code(bucket: str, key: str = "jobs/app.jar") -> dict[str, Any]:
    return {
        "CodeContentType": "ZIPFILE",
        "CodeContentDescription": {
            "CodeMD5": "0" * 32,
            "CodeSize": 1024,
            "S3ApplicationCodeLocationDescription": {
                "BucketARN": f"arn:aws:s3:::{bucket}",
                "FileKey": key,
            },
        },
    }


def inline_code(text: str = "SELECT 1") -> dict[str, Any]:
    return {
        "CodeContentType": "PLAINTEXT",
        "CodeContentDescription": {"TextContent": text, "CodeSize": len(text)},
    }


# ---- strategies ----------------------------------------------------------------------------

milliseconds = st.one_of(st.none(), st.integers(min_value=0, max_value=1_000_000))

checkpoints = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"ConfigurationType": st.just("DEFAULT")},
        optional={
            "CheckpointingEnabled": st.just(True),
            "CheckpointInterval": st.just(60_000),
            "MinPauseBetweenCheckpoints": st.just(5_000),
        },
    ),
    st.fixed_dictionaries(
        {"ConfigurationType": st.just("CUSTOM")},
        optional={
            "CheckpointingEnabled": st.booleans(),
            "CheckpointInterval": st.integers(min_value=1, max_value=1_000_000),
            "MinPauseBetweenCheckpoints": st.integers(min_value=0, max_value=1_000_000),
        },
    ),
)

parallelisms = st.one_of(
    st.none(),
    st.integers(min_value=1, max_value=256).flatmap(
        lambda p: st.fixed_dictionaries(
            {
                "ConfigurationType": st.sampled_from(["DEFAULT", "CUSTOM"]),
                "Parallelism": st.just(p),
                "ParallelismPerKPU": st.integers(min_value=1, max_value=8),
                "CurrentParallelism": st.integers(min_value=1, max_value=2 * p),
                "AutoScalingEnabled": st.booleans(),
            }
        )
    ),
)

snapshot_configs = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"SnapshotsEnabled": st.booleans()},
        optional={
            "SnapshotMode": st.sampled_from(["APPLICATION_SNAPSHOTS_LEGACY", "ENHANCED_SNAPSHOTS"])
        },
    ),
)

encryptions = st.one_of(
    st.none(),
    st.just({"KeyType": "AWS_OWNED_KEY"}),
    st.builds(
        lambda key: {"KeyType": "CUSTOMER_MANAGED_KEY", "KeyId": key},
        st.sampled_from([KEY_ARN, OTHER_KEY_ARN]),
    ),
)

buckets = st.sampled_from(["acme-artifacts-prod", "acme-artifacts-dev", "scratch", "evil"])
codes = st.one_of(st.none(), st.builds(s3_code, buckets), st.builds(inline_code))

tag_values = st.sampled_from(["prod", "dev", "test", "", "Prod"])
tag_sets = st.dictionaries(st.sampled_from(["env", "owner", "cost-center", "other"]), tag_values)


@st.composite
def posture_details(draw: st.DrawFn) -> dict[str, Any]:
    """Any mix of compliant and drifted posture sections, on any runtime."""
    return posture_detail(
        runtime=draw(st.sampled_from(RUNTIMES)),
        snapshots=draw(snapshot_configs),
        rollback=draw(st.one_of(st.none(), st.booleans())),
        encryption=draw(encryptions),
        checkpoint=draw(checkpoints),
        parallelism=draw(parallelisms),
        code=draw(codes),
    )


# ---- the service's effect of a fix, for pure "fix, then check again" properties --------------


def apply_calls(observed: Observed, calls: Any) -> Observed:
    """The observation after the sandbox's own (pure) configuration logic applied `calls`."""
    detail, tags = copy.deepcopy(dict(observed.detail)), dict(observed.tags)
    for call in calls:
        if call.operation == "UpdateApplication":
            detail = _updated(detail, call.params)
        elif call.operation == "TagResource":
            tags.update({t["Key"]: t.get("Value", "") for t in call.params["Tags"]})
        else:
            raise AssertionError(f"unexpected call {call.operation}")
    return Observed(observed.app, detail, tags, dict(observed.facts))


def _updated(detail: dict[str, Any], params: Any) -> dict[str, Any]:
    update = params.get("ApplicationConfigurationUpdate", {})
    config = detail.setdefault("ApplicationConfigurationDescription", {})
    if "FlinkApplicationConfigurationUpdate" in update:
        current = dict(conf.flink_description({}))
        current.update(config.get("FlinkApplicationConfigurationDescription") or {})
        config["FlinkApplicationConfigurationDescription"] = conf.apply_flink_update(
            current, update["FlinkApplicationConfigurationUpdate"]
        )
    if "ApplicationSnapshotConfigurationUpdate" in update:
        snap = update["ApplicationSnapshotConfigurationUpdate"]
        old = config.get("ApplicationSnapshotConfigurationDescription") or {}
        config["ApplicationSnapshotConfigurationDescription"] = conf.snapshot_description(
            snap["SnapshotsEnabledUpdate"], snap.get("SnapshotModeUpdate", old.get("SnapshotMode"))
        )
    if "ApplicationSystemRollbackConfigurationUpdate" in update:
        config["ApplicationSystemRollbackConfigurationDescription"] = {
            "RollbackEnabled": update["ApplicationSystemRollbackConfigurationUpdate"][
                "RollbackEnabledUpdate"
            ]
        }
    if "ApplicationEncryptionConfigurationUpdate" in update:
        key = update["ApplicationEncryptionConfigurationUpdate"]
        config["ApplicationEncryptionConfigurationDescription"] = conf.encryption_description(
            key["KeyTypeUpdate"], key.get("KeyIdUpdate")
        )
    detail["ApplicationVersionId"] = int(detail.get("ApplicationVersionId", 0)) + 1
    return detail
