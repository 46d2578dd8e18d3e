"""dependent_encryption: the Kinesis data streams, Firehose delivery streams and MSK clusters an
application names in its runtime properties are encrypted at rest with KMS (optionally with a
key from an allowlist), and MSK clusters encrypt in transit (client-broker TLS, in-cluster).

AWS's best practices for Managed Service for Apache Flink ask for "server-side encryption in
dependent resources" (https://docs.aws.amazon.com/managed-flink/latest/java/
security-best-practices.html); other tools check this account-wide, never tied to the app that
uses the data. What counts as naming a resource is in `dependent_resources`. Report only: the
streams and clusters belong to their owners (and re-encrypting a cluster is not an update).
A resource the daemon cannot read (another account, no permission, gone) is reported as "cannot
verify": neither compliant nor an error of the reconcile. An app that names none: nothing to
check, its compliant evidence says "not applicable".

Reads:
- Kinesis DescribeStreamSummary: EncryptionType KMS or NONE, KeyId.
  https://docs.aws.amazon.com/kinesis/latest/APIReference/API_StreamDescriptionSummary.html
- Firehose DescribeDeliveryStream: DeliveryStreamEncryptionConfiguration.Status ENABLED
  (KeyType, KeyARN); a stream whose source is a Kinesis stream is as encrypted as that stream.
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_DeliveryStreamEncryptionConfiguration.html
- MSK DescribeClusterV2: Provisioned.EncryptionInfo; at rest is always on (AWS managed key when
  no DataVolumeKMSKeyId); EncryptionInTransit defaults to ClientBroker TLS, InCluster true
  (https://docs.aws.amazon.com/msk/1.0/apireference/clusters-clusterarn.html#clusters-clusterarn-model-encryptionintransit).
  Serverless clusters always use TLS and encryption at rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from daemon import errors
from daemon.state import AppRef, Drift, Observed
from remediations.app_config import property_groups
from remediations.base import APP_EVENTS, Reader, Rule, RuleSettings
from remediations.dependent_resources import Kind, Named, name_of, named_resources
from remediations.grants import Scope, Statement


class Settings(RuleSettings):
    kinesis_stream_keys: list[str] = Field(
        default_factory=lambda: [
            "*stream.name",
            "*.stream",
            "stream",
            "*stream_name",
            "*streamname",
        ],
        description="Property key globs (`key` or `group/key`) whose value names Kinesis streams.",
    )
    firehose_stream_keys: list[str] = Field(
        default_factory=lambda: ["*delivery.stream*", "*deliverystream*", "*firehose*"],
        description="Property key globs whose value names Firehose delivery streams.",
    )
    msk_cluster_keys: list[str] = Field(
        default_factory=lambda: ["*msk.cluster*", "*msk_cluster*", "*kafka.cluster*"],
        description="Property key globs whose value names MSK clusters.",
    )
    allowed_key_arns: list[str] = Field(
        default_factory=list,
        description="If set, at-rest encryption must use one of these KMS keys (customer managed).",
    )
    require_tls: bool = Field(True, description="MSK: ClientBroker TLS and InCluster true.")

    def keys(self) -> Mapping[Kind, list[str]]:
        return {
            "kinesis": self.kinesis_stream_keys,
            "firehose": self.firehose_stream_keys,
            "msk": self.msk_cluster_keys,
        }


@dataclass(frozen=True)
class Encryption:
    """What one dependent resource's description says ("" key: an AWS owned/managed key)."""

    kind: Kind
    arn: str
    at_rest: bool = False
    key: str = ""
    tls: bool = True
    unverifiable: str = ""  # why it could not be read


@dataclass(frozen=True)
class Dependents:
    """Every dependent resource the application names, as read."""

    resources: tuple[Encryption, ...] = ()


class DependentEncryption(Rule[Settings, Dependents]):
    """The data's owners encrypt it: report only."""

    summary = "Kinesis, Firehose and MSK resources the app names are encrypted (report only)."
    severity = "MEDIUM"
    default_mode = "alert"
    read_actions = (
        "kinesis:DescribeStreamSummary",
        "firehose:DescribeDeliveryStream",
        "kafka:DescribeClusterV2",
        "kafka:ListClustersV2",
    )
    trigger_events = APP_EVENTS

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        return dependents_evidence(detail)

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        return []  # report only: it writes nothing

    def observe(
        self, settings: Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> Dependents:
        named = named_resources(app, property_groups(detail), settings.keys())
        return Dependents(tuple(self._describe(app, n, read) for n in named))

    def _describe(self, app: AppRef, named: Named, read: Reader) -> Encryption:
        try:
            if named.kind == "kinesis":
                return _kinesis(named.arn, read)
            if named.kind == "firehose":
                return _firehose(named.arn, read)
            return _msk(app, named, read)
        except errors.UndeclaredAction:
            raise
        except errors.PermanentAwsError as exc:  # not found, access denied, another account
            where = named.arn or f"MSK cluster {named.name}"
            return Encryption(named.kind, where, unverifiable=str(exc))

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        drifts: list[Drift] = []
        for found in (self.facts(observed) or Dependents()).resources:
            problems = _problems(settings, found)
            if problems:
                drifts.append(
                    self.drift(
                        observed,
                        f"DependentResource.{found.kind}.{name_of(found.arn)}",
                        {"at_rest": found.at_rest, "key": found.key, "tls": found.tls},
                        _desired(settings, found.kind),
                        f"{found.kind} {found.arn}: {'; '.join(problems)}",
                        fixable=False,
                        resource=found.arn if found.arn.startswith("arn:") else "",
                    )
                )
        return tuple(drifts)


def _problems(settings: Settings, found: Encryption) -> list[str]:
    if found.unverifiable:
        return [f"cannot verify ({found.unverifiable})"]
    out = []
    if not found.at_rest:
        out.append("not encrypted at rest")
    elif settings.allowed_key_arns and found.key not in settings.allowed_key_arns:
        out.append(f"encrypted with {found.key or 'an AWS managed key'}, not an allowed key")
    if found.kind == "msk" and settings.require_tls and not found.tls:
        out.append("not TLS-only between clients and brokers and within the cluster")
    return out


def _desired(settings: Settings, kind: Kind) -> dict[str, Any]:
    desired: dict[str, Any] = {"at_rest": True}
    if settings.allowed_key_arns:
        desired["key"] = list(settings.allowed_key_arns)
    if kind == "msk" and settings.require_tls:
        desired["tls"] = True
    return desired


def _kinesis(arn: str, read: Reader) -> Encryption:
    summary = read("kinesis", "DescribeStreamSummary", StreamARN=arn)["StreamDescriptionSummary"]
    kms = summary.get("EncryptionType") == "KMS"
    key = str(summary.get("KeyId") or "") if kms else ""
    return Encryption("kinesis", arn, kms, "" if key == "alias/aws/kinesis" else key)


def _firehose(arn: str, read: Reader) -> Encryption:
    stream = read("firehose", "DescribeDeliveryStream", DeliveryStreamName=name_of(arn))[
        "DeliveryStreamDescription"
    ]
    source = (stream.get("Source") or {}).get("KinesisStreamSourceDescription") or {}
    if source.get("KinesisStreamARN"):  # server-side encryption is the source stream's
        inner = _kinesis(str(source["KinesisStreamARN"]), read)
        return Encryption("firehose", arn, inner.at_rest, inner.key)
    config = stream.get("DeliveryStreamEncryptionConfiguration") or {}
    enabled = config.get("Status") == "ENABLED"
    managed = config.get("KeyType") == "CUSTOMER_MANAGED_CMK"
    return Encryption("firehose", arn, enabled, str(config.get("KeyARN") or "") if managed else "")


def _msk(app: AppRef, named: Named, read: Reader) -> Encryption:
    arn = named.arn
    if not arn:
        listed = read("kafka", "ListClustersV2", ClusterNameFilter=named.name)["ClusterInfoList"]
        exact = [c for c in listed if c.get("ClusterName") == named.name]
        if not exact:
            raise errors.ResourceNotFound("ListClustersV2", "NotFound", f"no cluster {named.name}")
        arn = str(exact[0]["ClusterArn"])
    info = read("kafka", "DescribeClusterV2", ClusterArn=arn)["ClusterInfo"]
    if "Serverless" in info:
        return Encryption("msk", arn, True, "", True)
    encryption = (info.get("Provisioned") or {}).get("EncryptionInfo") or {}
    key = str((encryption.get("EncryptionAtRest") or {}).get("DataVolumeKMSKeyId") or "")
    transit = encryption.get("EncryptionInTransit") or {}
    tls = transit.get("ClientBroker", "TLS") == "TLS" and transit.get("InCluster", True) is True
    return Encryption("msk", arn, True, key, tls)


def dependents_evidence(detail: Mapping[str, Any]) -> str:
    """The resources named by ARN or under the default property keys (dependent_resources)."""
    named = named_resources(AppRef("", "", ""), property_groups(detail), Settings().keys())
    if not named:
        return "not applicable: names no Kinesis stream, Firehose delivery stream or MSK cluster"
    return "encrypted: " + ", ".join(f"{n.kind} {n.name or name_of(n.arn)}" for n in named)
