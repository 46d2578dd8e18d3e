"""The daemon's generated IAM policy: writes only where a rule enforces, each IAM write scoped by
resource and condition (parliament does not flag condition-less IAM writes, so these tests
assert the conditions themselves), and parliament clean otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import parliament
import pytest
import yaml

from daemon.cli import main
from daemon.desired.iam_grants import ROLE_WRITES
from daemon.desired.iam_policy import BASE_READ, EventQueue, daemon_policy, within_organization
from daemon.desired.loader import load_config
from daemon.errors import ConfigError
from remediations import RULES

EXAMPLE = Path(__file__).parents[2] / "config" / "desired-state.example.yaml"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:flink-remediator-events"
DLQ = "arn:aws:sqs:eu-west-1:123456789012:remediator-dead-letters"
OWN = "arn:aws:iam::123456789012:role/flink-remediator"
Policy = dict[str, Any]


def example_policy(**changes: Any) -> Policy:
    return daemon_policy(load_config(EXAMPLE), EventQueue(QUEUE, DLQ), **changes)


def config(tmp_path: Path, **top: Any) -> Any:
    """The example config with top-level keys replaced and `rules` entries merged in."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    for rule_id, settings in top.pop("rules", {}).items():
        doc["rules"][rule_id] = {**(doc["rules"].get(rule_id) or {}), **settings}
    doc.update(top)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_config(path)


def allows(policy: Policy, action: str) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s["Effect"] == "Allow" and action in s["Action"]]


def actions(policy: Policy) -> set[str]:
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


def writes_of(policy: Policy) -> set[str]:
    reads = set(BASE_READ).union(*(r.read_actions for r in RULES.values()))
    return {a for a in actions(policy) if a not in reads and not a.startswith("sqs:")}


def findings(policy: Policy) -> set[str]:
    analysed = parliament.analyze_policy_string(json.dumps(policy), include_community_auditors=True)
    return {f.issue for f in analysed.findings}


# Reads of other services' resources (KMS keys, Kinesis streams, Firehose, MSK) are granted on
# "*": the sandbox can evaluate those services' requests on "*" only (sandbox/README.md, IAM
# enforcement), and dependent_encryption reads resources of any account the app names.
STAR_READ_SERVICES = {"kms", "kinesis", "firehose", "kafka", "s3"}


def star_reads_only(policy: Policy) -> bool:
    """Every statement on "*" holds only Describe/Get/List actions (ec2, sts and the starred
    reads above) and iam:SimulateCustomPolicy (evaluates the documents it is given, reads and
    changes nothing): RESOURCE_STAR from parliament is then these reads, never a write."""
    starred = [s for s in policy["Statement"] if s["Resource"] == ["*"]]
    verbs = ("Describe", "Get", "List", "SimulateCustomPolicy")
    return all(a.split(":")[1].startswith(verbs) for s in starred for a in s["Action"])


def test_no_iam_write_in_the_example_without_a_scoped_resource_and_a_condition() -> None:
    policy = example_policy()
    iam_writes = [
        s
        for s in policy["Statement"]
        if s["Effect"] == "Allow" and any(a in ROLE_WRITES for a in s["Action"])
    ]
    assert {a for s in iam_writes for a in s["Action"]} == {
        "iam:UpdateAssumeRolePolicy",
        "iam:DetachRolePolicy",
    }
    for statement in iam_writes:
        assert statement["Resource"] == ["arn:aws:iam::123456789012:role/flink/*"]
        tag = statement["Condition"]["StringEquals"]
        assert tag == {"aws:ResourceTag/flink-remediator/execution-role": "true"}
    (detach,) = allows(policy, "iam:DetachRolePolicy")
    forbidden = detach["Condition"]["ArnEquals"]["iam:PolicyARN"]
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in forbidden
    assert all(arn.startswith("arn:aws:iam::aws:policy/") for arn in forbidden)
    (deny_own,) = [s for s in policy["Statement"] if s["Sid"] == "DenyWritesOnOwnRole"]
    assert deny_own["Effect"] == "Deny" and deny_own["Resource"] == [OWN]
    assert set(ROLE_WRITES) == set(deny_own["Action"])


def test_the_example_is_parliament_clean_but_for_inherent_permission_management() -> None:
    # RESOURCE_STAR only for the reads of STAR_READ_SERVICES (dependent_encryption's).
    for policy in (example_policy(), example_policy(read_only=True)):
        assert star_reads_only(policy)
        starred = {a for s in policy["Statement"] if s["Resource"] == ["*"] for a in s["Action"]}
        if not {a.split(":")[0] for a in starred} & STAR_READ_SERVICES:
            assert "RESOURCE_STAR" not in findings(policy)
    assert findings(example_policy()) <= {"PERMISSIONS_MANAGEMENT_ACTIONS", "RESOURCE_STAR"}
    assert findings(example_policy(read_only=True)) <= {"RESOURCE_STAR"}


def test_parliament_would_catch_a_broad_policy() -> None:
    assert findings(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    )


def test_alert_and_dry_run_rules_get_no_write(tmp_path: Path) -> None:
    quiet = config(
        tmp_path,
        rules={
            "execution_role_trust": {"mode": "alert"},
            "execution_role_permissions": {"mode": "dry-run"},
            "cloudwatch_logging": {"mode": "dry-run"},
        },
    )
    policy = daemon_policy(quiet, EventQueue(QUEUE))
    assert not {"iam:UpdateAssumeRolePolicy", "iam:DetachRolePolicy"} & actions(policy)
    assert not [a for a in actions(policy) if a.startswith("logs:Create")]
    assert "iam:GetRole" in actions(policy)  # still observed
    assert not [s for s in policy["Statement"] if s["Sid"] == "DenyWritesOnOwnRole"]
    everything_dry = config(tmp_path, defaults={"mode": "dry-run"}, overrides=[])
    assert writes_of(daemon_policy(everything_dry, EventQueue(QUEUE))) == set()


def test_an_override_that_enforces_somewhere_grants_the_write(tmp_path: Path) -> None:
    some = config(
        tmp_path,
        defaults={"mode": "alert"},
        overrides=[
            {
                "name": "prod",
                "match": {"tags": {"env": "prod"}},
                "rules": {"execution_role_trust": {"mode": "enforce"}},
            }
        ],
    )
    assert writes_of(daemon_policy(some)) == {"iam:UpdateAssumeRolePolicy"}


def test_role_writes_need_the_execution_roles_and_the_own_role(tmp_path: Path) -> None:
    doc_without = config(tmp_path, execution_roles=None)
    with pytest.raises(ConfigError, match="execution_roles: required"):
        daemon_policy(doc_without)
    no_own = config(tmp_path, daemon_role_arn=None)
    with pytest.raises(ConfigError, match="daemon_role_arn"):
        daemon_policy(no_own)
    flag = daemon_policy(no_own, own_role_arn="arn:aws:iam::123456789012:role/x/remediator")
    (deny,) = [s for s in flag["Statement"] if s["Sid"] == "DenyWritesOnOwnRole"]
    assert deny["Resource"] == ["arn:aws:iam::123456789012:role/x/remediator"]
    path_and_tag = {"path": "/flink/", "tag": {"key": "team", "value": "flink"}}
    both = config(tmp_path, execution_roles=path_and_tag)
    (trust,) = allows(daemon_policy(both), "iam:UpdateAssumeRolePolicy")
    assert trust["Resource"] == ["arn:aws:iam::123456789012:role/flink/*"]
    assert trust["Condition"] == {"StringEquals": {"aws:ResourceTag/team": "flink"}}


def test_a_tag_alone_is_no_scope_for_role_writes(tmp_path: Path) -> None:
    # Anyone allowed iam:TagRole could tag an admin role into scope; a path is fixed at creation.
    with pytest.raises(ConfigError, match=r"execution_roles\.path: .*iam:TagRole"):
        config(tmp_path, execution_roles={"tag": {"key": "team", "value": "flink"}})


def test_boundary_strategy_grants_only_that_boundary(tmp_path: Path) -> None:
    boundary = "arn:aws:iam::123456789012:policy/flink-boundary"
    c = config(
        tmp_path,
        rules={
            "execution_role_permissions": {"strategy": "boundary", "boundary_policy_arn": boundary}
        },
    )
    policy = daemon_policy(c)
    assert "iam:DetachRolePolicy" not in actions(policy)
    (put,) = allows(policy, "iam:PutRolePermissionsBoundary")
    assert put["Condition"]["ArnEquals"]["iam:PermissionsBoundary"] == [boundary]
    alert = config(tmp_path, rules={"execution_role_permissions": {"strategy": "alert"}})
    assert not {"iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary"} & actions(
        daemon_policy(alert)
    )


def test_flink_writes_only_in_the_configured_regions_and_never_on_ignored_apps() -> None:
    policy = example_policy()
    (fix,) = allows(policy, "kinesisanalytics:UpdateApplication")
    assert fix["Resource"] == [
        "arn:aws:kinesisanalytics:eu-west-1:123456789012:application/*",
        "arn:aws:kinesisanalytics:us-east-1:123456789012:application/*",
    ]
    (deny,) = [s for s in policy["Statement"] if s["Sid"] == "DenyFixesOnIgnoredApplications"]
    assert deny["Effect"] == "Deny" and "kinesisanalytics:UpdateApplication" in deny["Action"]
    assert deny["Condition"] == {
        "StringEqualsIgnoreCase": {"aws:ResourceTag/flink-remediator/ignore": "true"}
    }


def test_tag_resource_only_for_keys_the_fix_may_add(tmp_path: Path) -> None:
    assert "kinesisanalytics:TagResource" not in actions(example_policy())  # tags: {}
    c = config(
        tmp_path,
        rules={
            "required_tags": {
                "tags": {"owner": {"default": "platform"}, "env": {"allowed": ["dev", "prod"]}}
            }
        },
    )
    (tag,) = allows(daemon_policy(c), "kinesisanalytics:TagResource")
    assert tag["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["owner"]}
    assert tag["Condition"]["Null"] == {"aws:TagKeys": "false"}


def test_logs_writes_on_the_configured_group_prefix() -> None:
    (logs,) = allows(example_policy(), "logs:CreateLogGroup")
    assert logs["Resource"] == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/kinesis-analytics/*",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesis-analytics/*",
    ]


def test_sns_only_on_configured_topics(tmp_path: Path) -> None:
    assert not [a for a in actions(example_policy()) if a.startswith("sns:")]
    c = config(
        tmp_path,
        rules={
            "vpc_public_route": {"sns_topic_arn": "arn:aws:sns:{region}:{account}:flink-alerts"}
        },
    )
    (publish,) = allows(daemon_policy(c), "sns:Publish")
    assert publish["Resource"] == [
        "arn:aws:sns:eu-west-1:123456789012:flink-alerts",
        "arn:aws:sns:us-east-1:123456789012:flink-alerts",
    ]


def test_kms_only_on_the_configured_key_through_managed_flink(tmp_path: Path) -> None:
    assert not [a for a in actions(example_policy()) if a.startswith("kms:")]
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    c = config(tmp_path, rules={"encryption": {"enabled": True, "key_id": key}})
    for action in ("kms:DescribeKey", "kms:CreateGrant"):
        (statement,) = allows(daemon_policy(c), action)
        assert statement["Resource"] == [key]
        assert statement["Condition"]["StringEquals"]["kms:ViaService"] == [
            "kinesisanalytics.eu-west-1.amazonaws.com",
            "kinesisanalytics.us-east-1.amazonaws.com",
        ]
    aliased = config(tmp_path, rules={"encryption": {"enabled": True, "key_id": "alias/state"}})
    with pytest.raises(ConfigError, match=r"encryption\.key_id: give the key's ARN"):
        daemon_policy(aliased)
    keyless = config(tmp_path, rules={"encryption": {"enabled": True, "key_id": None}})
    assert not [a for a in actions(daemon_policy(keyless)) if a.startswith("kms:")]


def test_the_queue_its_dlq_and_its_key_exactly() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/queue-key"
    policy = daemon_policy(load_config(EXAMPLE), EventQueue(QUEUE, DLQ, key))
    (consume,) = [s for s in policy["Statement"] if s["Sid"] == "ConsumeEventQueue"]
    (dlq,) = [s for s in policy["Statement"] if s["Sid"] == "WatchDeadLetterQueue"]
    assert consume["Resource"] == [QUEUE] and dlq["Resource"] == [DLQ]
    assert "sqs:DeleteMessage" not in dlq["Action"]
    (decrypt,) = allows(policy, "kms:Decrypt")
    assert decrypt["Resource"] == [key]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}
    }
    sweeps_only = daemon_policy(load_config(EXAMPLE))
    assert not [a for a in actions(sweeps_only) if a.startswith("sqs:")]


def test_every_rule_write_is_granted_when_it_enforces_with_what_it_needs(tmp_path: Path) -> None:
    c = config(
        tmp_path,
        defaults={"mode": "enforce"},
        overrides=[
            {
                "name": "bounded",
                "match": {"names": ["legacy-*"]},
                "rules": {
                    "execution_role_permissions": {
                        "strategy": "boundary",
                        "boundary_policy_arn": "arn:aws:iam::123456789012:policy/bound",
                    }
                },
            }
        ],
        rules={
            "encryption": {"enabled": True, "key_id": "arn:aws:kms:eu-west-1:123456789012:key/k"},
            "log_protection": {"kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k"},
            "recovery_point": {"schedule": {"every_minutes": 60}, "retain": {"count": 3}},
            "required_tags": {"tags": {"owner": {"default": "platform"}}},
            "vpc_public_route": {"sns_topic_arn": "arn:aws:sns:{region}:{account}:alerts"},
            "vpc_required": {
                "enabled": True,
                "subnet_ids": ["subnet-1"],
                "security_group_ids": ["sg-1"],
                "add_vpc_configuration": True,
            },
        },
    )
    policy = daemon_policy(c, EventQueue(QUEUE, DLQ))
    needed = set(BASE_READ).union(
        *(set(r.read_actions) | set(r.write_actions) for r in RULES.values())
    )
    assert needed <= actions(policy)
    assert star_reads_only(policy)
    assert findings(policy) <= {"PERMISSIONS_MANAGEMENT_ACTIONS", "RESOURCE_STAR"}


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--queue-arn", "notanarn", "--queue-arn: not an SQS queue ARN: 'notanarn'"),
        ("--queue-url", "sqs/q", "--queue-url: not an SQS queue URL"),
        ("--own-role-arn", "arn:aws:iam::1:user/x", "--own-role-arn: not an IAM role ARN"),
    ],
)
def test_cli_rejects_bad_flags_in_one_line(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["iam-policy", "--config", str(EXAMPLE), flag, value]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_prints_the_policy_for_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["iam-policy", "--config", str(EXAMPLE), "--queue-arn", QUEUE, "--dlq-arn", DLQ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == example_policy()


def test_cli_names_the_missing_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text())
    del doc["execution_roles"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["iam-policy", "--config", str(path), "--no-queue"]) == 1
    assert f"{path}: execution_roles: required" in capsys.readouterr().err


def assert_every_iam_write_is_scoped(policy: Policy) -> None:
    for statement in policy["Statement"]:
        granted = [a for a in statement["Action"] if a in ROLE_WRITES]
        if statement["Effect"] != "Allow" or not granted:
            continue
        # Scoped by a condition, or by a role path: never on every role unconditionally.
        assert all(":role/" in r for r in statement["Resource"]), statement
        on_every_role = any(r.endswith(":role/*") for r in statement["Resource"])
        assert statement.get("Condition") or not on_every_role, statement


@pytest.mark.parametrize(
    "top",
    [
        {},
        {"execution_roles": {"path": "/flink/"}},
        {"execution_roles": {"path": "/flink/", "tag": {"key": "team", "value": "flink"}}},
        {
            "rules": {
                "execution_role_permissions": {
                    "strategy": "boundary",
                    "boundary_policy_arn": "arn:aws:iam::123456789012:policy/b",
                }
            }
        },
        {
            "rules": {
                "execution_role_permissions": {
                    "forbidden_managed_policies": ["arn:aws:iam::123456789012:policy/too-broad"]
                }
            }
        },
        {
            "defaults": {"mode": "alert"},
            "overrides": [
                {
                    "name": "o",
                    "match": {"names": ["x*"]},
                    "rules": {"execution_role_trust": {"mode": "enforce"}},
                }
            ],
        },
    ],
    ids=["example", "path", "tag", "boundary", "customer-policy", "override"],
)
def test_no_iam_write_is_ever_granted_without_a_condition(
    top: dict[str, Any], tmp_path: Path
) -> None:
    assert_every_iam_write_is_scoped(daemon_policy(config(tmp_path, **top)))


def test_many_overrides_still_find_the_one_that_enforces(tmp_path: Path) -> None:
    quiet = [
        {
            "name": f"o{i}",
            "match": {"names": [f"a{i}*"]},
            "rules": {"cloudwatch_logging": {"log_level": "WARN"}},
        }
        for i in range(11)
    ]
    loud = {
        "name": "last",
        "match": {"names": ["z*"]},
        "rules": {"execution_role_trust": {"mode": "enforce"}},
    }
    c = config(tmp_path, defaults={"mode": "alert"}, overrides=[*quiet, loud])
    assert writes_of(daemon_policy(c)) == {"iam:UpdateAssumeRolePolicy"}


def test_evidence_gets_import_and_read_on_the_covered_accounts_only_when_enabled(
    tmp_path: Path,
) -> None:
    assert not [a for a in actions(example_policy()) if a.startswith("securityhub:")]
    hub = {"security_hub": {"enabled": True, "region": "eu-central-1"}}
    for read_only in (False, True):  # findings are the daemon's report, kept when read-only
        policy = daemon_policy(config(tmp_path, evidence=hub), read_only=read_only)
        (imports,) = allows(policy, "securityhub:BatchImportFindings")
        assert imports["Resource"] == [
            "arn:aws:securityhub:eu-central-1:123456789012:product/123456789012/default"
        ]
        (reads,) = allows(policy, "securityhub:GetFindings")
        assert reads["Resource"] == ["arn:aws:securityhub:eu-central-1:123456789012:hub/default"]


def test_snapshot_writes_only_with_a_schedule_or_a_retention(tmp_path: Path) -> None:
    create, delete = (
        "kinesisanalytics:CreateApplicationSnapshot",
        "kinesisanalytics:DeleteApplicationSnapshot",
    )
    assert not {create, delete} & actions(example_policy())  # the example takes none
    scheduled = config(tmp_path, rules={"recovery_point": {"schedule": {"every_minutes": 60}}})
    assert create in actions(daemon_policy(scheduled))
    assert delete not in actions(daemon_policy(scheduled))
    pruned = {"schedule": {"every_minutes": 60}, "retain": {"count": 3}}
    (fix,) = allows(daemon_policy(config(tmp_path, rules={"recovery_point": pruned})), delete)
    assert all(r.endswith(":application/*") for r in fix["Resource"])


def test_log_groups_are_tagged_at_creation_and_retention_needs_the_tag(tmp_path: Path) -> None:
    c = config(tmp_path, rules={"log_protection": {"retention_days": 365}})
    policy = daemon_policy(c, EventQueue(QUEUE, DLQ))
    tagged = {"StringEquals": {"aws:ResourceTag/flink-remediator/managed": "true"}}
    retention = allows(policy, "logs:PutRetentionPolicy")
    assert retention and all(s["Condition"] == tagged for s in retention)
    (create,) = allows(policy, "logs:CreateLogGroup")
    assert create["Action"] == ["logs:CreateLogGroup", "logs:TagResource"]
    assert create["Condition"] == {
        "StringEquals": {"aws:RequestTag/flink-remediator/managed": "true"}
    }
    assert allows(policy, "logs:TagResource") == [create]


def test_assume_role_and_publish_stay_inside_the_organization(tmp_path: Path) -> None:
    c = config(
        tmp_path,
        rules={"vpc_public_route": {"sns_topic_arn": "arn:aws:sns:{region}:{account}:alerts"}},
    )
    org = {"aws:ResourceOrgID": "o-abcdefghij"}
    policy = within_organization(daemon_policy(c, EventQueue(QUEUE, DLQ)), "o-abcdefghij")
    (publish,) = allows(policy, "sns:Publish")
    assert publish["Condition"]["StringEquals"] == org
    others = [s for s in policy["Statement"] if "sns:Publish" not in s["Action"]]
    assert all("aws:ResourceOrgID" not in json.dumps(s) for s in others)
    hub = within_organization(
        {"Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": ["*"]}]},
        "o-abcdefghij",
    )
    assert hub["Statement"][0]["Condition"] == {"StringEquals": org}


def test_cli_checks_the_organization_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(EXAMPLE.read_text())
    argv = ["iam-policy", "--config", str(path), "--no-queue", "--resource-org-id"]
    assert main([*argv, "123"]) == 2
    assert "--resource-org-id: not an organization id" in capsys.readouterr().err


TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/flink-remediator-state"


def test_the_state_table_exactly_its_item_operations(capsys: pytest.CaptureFixture[str]) -> None:
    (table,) = allows(example_policy(state_table_arn=TABLE), "dynamodb:PutItem")
    assert table["Resource"] == [TABLE]
    assert sorted(table["Action"]) == ["dynamodb:BatchGetItem", "dynamodb:PutItem"]
    assert not [a for a in actions(example_policy()) if a.startswith("dynamodb:")]
    dry = example_policy(read_only=True, state_table_arn=TABLE)
    assert allows(dry, "dynamodb:PutItem")  # a dry-run daemon keeps its state too
    code = main(["iam-policy", "--config", str(EXAMPLE), "--no-queue", "--state-table-arn", TABLE])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and allows(printed, "dynamodb:BatchGetItem")[0]["Resource"] == [TABLE]
    bad = main(["iam-policy", "--config", str(EXAMPLE), "--no-queue", "--state-table-arn", "t"])
    assert bad == 2 and "not a DynamoDB table ARN" in capsys.readouterr().err
