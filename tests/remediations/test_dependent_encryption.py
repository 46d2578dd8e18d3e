"""dependent_encryption: which resources an app names, what counts as encrypted, and on the
sandbox (moto's Kinesis, Firehose and MSK): an unencrypted stream, a plaintext MSK cluster and an
unreadable stream of another account are reported; an app naming nothing is not applicable."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.evidence.observed import evidence_from_detail
from daemon.state import AppRef
from remediations.dependent_encryption import (
    DependentEncryption,
    Dependents,
    Encryption,
    Settings,
)
from remediations.dependent_resources import Named, named_resources
from sandbox.server import Sandbox
from tests.contract.harness import Harness, Rules
from tests.contract.scenarios import Scenario
from tests.factories import APP, flink_detail, observed

RULE = DependentEncryption()
REGION, ACCOUNT = APP.region, APP.account
STREAM = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders-in"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def names(**props: str) -> tuple[Named, ...]:
    return named_resources(APP, [("app", props)], Settings().keys())


def test_what_counts_as_naming_a_resource() -> None:
    msk = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/payments/0b3c-11"
    firehose = f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/audit"
    assert names(
        **{
            "input.stream.name": "orders-in",
            "output.stream": "orders-out, orders-dlq",
            "sink.delivery.stream": "audit",
            "brokers.cluster": msk,
            "msk.cluster.name": "risk",
            "note": "see the orders-in stream",  # not a stream key, not an ARN
            "stream.name.suffix.unrelated": "x y",  # not a name
        }
    ) == tuple(
        sorted(
            {
                Named("firehose", firehose),
                Named("kinesis", STREAM),
                Named("kinesis", STREAM.replace("orders-in", "orders-out")),
                Named("kinesis", STREAM.replace("orders-in", "orders-dlq")),
                Named("msk", msk),
                Named("msk", "", "risk"),
            }
        )
    )


def state(*found: Encryption) -> Any:
    return observed(flink_detail(), {RULE.id: Dependents(found)})


@pytest.mark.parametrize(
    ("found", "settings", "problem"),
    [
        (Encryption("kinesis", STREAM, True, KEY), Settings(), ""),
        (Encryption("kinesis", STREAM, False), Settings(), "not encrypted at rest"),
        (
            Encryption("kinesis", STREAM, True, ""),
            Settings(allowed_key_arns=[KEY]),
            "not an allowed key",
        ),
        (Encryption("kinesis", STREAM, True, KEY), Settings(allowed_key_arns=[KEY]), ""),
        (Encryption("msk", "arn:m", True, "", tls=False), Settings(), "not TLS-only"),
        (Encryption("msk", "arn:m", True, "", tls=False), Settings(require_tls=False), ""),
        (Encryption("kinesis", STREAM, unverifiable="AccessDenied"), Settings(), "cannot verify"),
    ],
)
def test_check_reports_each_problem(found: Encryption, settings: Settings, problem: str) -> None:
    drifts = RULE.check(settings, state(found))
    assert [problem in d.message for d in drifts] == ([True] if problem else [])
    assert all(not d.fixable for d in drifts)


def test_an_app_naming_nothing_is_not_applicable() -> None:
    assert RULE.check(Settings(), state()) == ()
    assert evidence_from_detail(RULE.id, flink_detail()).startswith("not applicable")


# ---- on the sandbox ---------------------------------------------------------------------------


def properties(**props: str) -> dict[str, Any]:
    group = {"PropertyGroupId": "app", "PropertyMap": props}
    return {"EnvironmentProperties": {"PropertyGroups": [group]}}


def with_stream(encrypted: bool) -> Any:
    def build(h: Harness, settings: Settings, name: str) -> AppRef:
        kinesis = h.client("kinesis")
        kinesis.create_stream(StreamName=f"{name}-in", ShardCount=1)
        if encrypted:
            key = h.client("kms").create_key()["KeyMetadata"]["Arn"]
            kinesis.start_stream_encryption(
                StreamName=f"{name}-in", EncryptionType="KMS", KeyId=key
            )
        return h.create_app(name, properties(**{"input.stream.name": f"{name}-in"}))

    return build


def test_sandbox_msk_plaintext_and_another_accounts_stream_are_reported(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    kafka = h.client("kafka")
    broker = {"InstanceType": "kafka.m5.large", "ClientSubnets": ["subnet-1", "subnet-2"]}
    plaintext = kafka.create_cluster(
        ClusterName="payments",
        KafkaVersion="3.6.0",
        NumberOfBrokerNodes=2,
        BrokerNodeGroupInfo=broker,
        EncryptionInfo={
            "EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT", "InCluster": True}
        },
    )["ClusterArn"]
    tls = kafka.create_cluster(
        ClusterName="risk", KafkaVersion="3.6.0", NumberOfBrokerNodes=2, BrokerNodeGroupInfo=broker
    )["ClusterArn"]
    elsewhere = f"arn:aws:kinesis:{h.sandbox.region}:999999999999:stream/theirs"
    app = h.create_app(
        "orders",
        properties(
            **{"kafka.brokers.cluster": plaintext, "msk.cluster": "risk", "audit": elsewhere}
        ),
    )
    h.clear_calls()
    rules: Rules = [(RULE, Settings(), "enforce")]
    result = h.reconcile(app, rules)
    assert result.result == "drift" and h.mutating_calls() == []
    found = {d.resource: d.message for d in h.drifts(app, rules)}
    assert set(found) == {plaintext, elsewhere}, found
    assert "not TLS-only" in found[plaintext]
    assert "cannot verify" in found[elsewhere]
    assert tls not in found  # resolved by name in the app's account, TLS by default
    # Per observation: the name looked up, then both clusters described.
    described = [c["operation"] for c in h.recorded_calls(service="kafka")]
    assert described == ["ListClustersV2", "DescribeClusterV2", "DescribeClusterV2"] * 2


SCENARIO = Scenario(lambda h: Settings(), with_stream(encrypted=True), with_stream(encrypted=False))
