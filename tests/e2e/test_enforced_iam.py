"""Proof that the generated policy is enough and no more: the sandbox enforces IAM (conditions
included, see sandbox/README.md), the daemon's credentials are an IAM user holding EXACTLY what
`iam-policy` prints for the config, and `apply` runs every rule's contract scenario.

- each rule's fix succeeds with those credentials, and the sandbox records no denied call;
- every call the daemon made is one its rule declares (read/write actions) or a base read;
- the same credentials cannot change a role outside the execution roles, detach a policy that
  is not forbidden, write on the daemon's own role, read another queue, or fix an application
  that carries the ignore tag or lives in an unconfigured Region.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from daemon.aws import Aws
from daemon.cli import main
from daemon.desired.iam_policy import BASE_READ
from daemon.iam_actions import iam_action
from remediations import REGISTRY
from remediations.base import AnyRule
from sandbox.server import Sandbox
from sandbox.testing import DUMMY, FLINK_TRUST_POLICY, Credentials, client, create_user
from tests.contract.harness import Harness
from tests.contract.scenarios import scenario_for

pytestmark = pytest.mark.e2e

ROLE_TAG = {"key": "flink-remediator/execution-role", "value": "true"}
OWN_ROLE = "flink-remediator"
TRUST = FLINK_TRUST_POLICY  # the execution role trust the service needs


@dataclass
class AdminHarness(Harness):
    """The contract harness, building scenarios with the sandbox admin's keys."""

    admin: Credentials = DUMMY  # replaced by the admin's keys in the fixture

    def client(self, service: str) -> Any:
        return client(self.sandbox.endpoint_url, self.sandbox.region, service, self.admin)


@pytest.fixture
def enforced(fresh_sandbox: Sandbox) -> Iterator[Sandbox]:
    fresh_sandbox.set_enforce_iam(True)
    try:
        yield fresh_sandbox
    finally:
        fresh_sandbox.set_enforce_iam(False)


@pytest.fixture
def h(enforced: Sandbox, monkeypatch: pytest.MonkeyPatch) -> AdminHarness:
    keys = enforced.info()["admin"]
    admin = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    Harness.start(enforced, monkeypatch)  # AWS_ENDPOINT_URL for every client
    session = boto3.session.Session(
        aws_access_key_id=admin.access_key_id,
        aws_secret_access_key=admin.secret_access_key,
        region_name=enforced.region,
    )
    return AdminHarness(enforced, Aws(enforced.region, session=session), admin)


def write_config(h: Harness, path: Path, rule: AnyRule, settings: Any) -> Path:
    account = h.sandbox.account_id
    doc = {
        "version": 1,
        "accounts": [account],
        "regions": [h.sandbox.region],
        "defaults": {"mode": "enforce"},
        "execution_roles": {"path": "/flink/", "tag": ROLE_TAG},
        "daemon_role_arn": f"arn:aws:iam::{account}:role/{OWN_ROLE}",
        "rules": {r.id: {"enabled": False} for r in REGISTRY if r.id != rule.id}
        | {rule.id: settings.model_dump(mode="json", exclude={"enabled", "mode"})},
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def generated_policy(
    h: Harness, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, admin: Credentials
) -> dict[str, Any]:
    """`iam-policy --queue-url`, run with the admin's keys: the queue, DLQ and key read live."""
    with monkeypatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", h.sandbox.endpoint_url)
        env.setenv("AWS_REGION", h.sandbox.region)
        env.setenv("AWS_ACCESS_KEY_ID", admin.access_key_id)
        env.setenv("AWS_SECRET_ACCESS_KEY", admin.secret_access_key)
        capsys.readouterr()
        argv = ["iam-policy", "--config", str(config), "--queue-url", h.sandbox.queue_url]
        assert main(argv) == 0, capsys.readouterr().err
        policy: dict[str, Any] = json.loads(capsys.readouterr().out)
    return policy


def daemon_user(h: AdminHarness, policy: dict[str, Any]) -> Credentials:
    iam = h.client("iam")
    credentials = create_user(iam, "flink-remediator-daemon")
    iam.put_user_policy(
        UserName="flink-remediator-daemon",
        PolicyName="generated",
        PolicyDocument=json.dumps(policy),
    )
    return credentials


def tag_execution_role(h: AdminHarness) -> None:
    iam = h.client("iam")
    try:
        iam.tag_role(
            RoleName="flink-execution", Tags=[{"Key": ROLE_TAG["key"], "Value": ROLE_TAG["value"]}]
        )
    except ClientError as error:  # scenarios without a role
        assert error.response["Error"]["Code"] == "NoSuchEntity"


def run_as(
    credentials: Credentials, monkeypatch: pytest.MonkeyPatch, capsys: Any, *argv: str
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key)
    capsys.readouterr()
    code = main([*argv, "--output", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.parametrize("rule", REGISTRY, ids=[r.id for r in REGISTRY])
def test_every_rule_fixes_with_exactly_the_generated_policy(
    rule: AnyRule,
    h: AdminHarness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    scenario = scenario_for(rule.id)
    assert scenario is not None, rule.id
    settings = scenario.settings(h)
    config = write_config(h, tmp_path / "c.yaml", rule, settings)
    policy = generated_policy(h, config, monkeypatch, capsys, h.admin)
    assert policy["Statement"], policy
    daemon = daemon_user(h, policy)
    app = scenario.drifted(h, settings, "drifted")
    tag_execution_role(h)
    fixable = any(d.fixable for d in h.drifts(app, [(rule, settings, "enforce")]))
    monkeypatch.setenv("AWS_REGION", h.sandbox.region)
    h.clear_calls()

    code, report = run_as(daemon, monkeypatch, capsys, "apply", "--config", str(config))
    (result,) = report["applications"]
    assert code == 0, json.dumps(result)
    assert result["result"] == ("fixed" if fixable else "drift"), result

    calls = h.recorded_calls(caller_arn=daemon.arn)
    assert calls, "the daemon made no call the sandbox saw"
    assert [c for c in calls if c["error_code"]] == [], json.dumps(calls)
    declared = set(BASE_READ) | set(rule.read_actions) | set(rule.write_actions)
    made = {iam_action(c["service"], c["operation"]) for c in calls}  # s3 names differ
    assert made <= declared, made - declared
    writes = {f"{c['service']}:{c['operation']}" for c in calls if c["mutating"]}
    assert bool(writes) is fixable, writes

    left = h.drifts(app, [(rule, settings, "enforce")])
    assert not [d for d in left if d.fixable], left


# ---- what the same credentials cannot do ----------------------------------------------------

ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def code_of(call: Any, **params: Any) -> str:
    try:
        call(**params)
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "OK"


def make_role(h: AdminHarness, name: str, tagged: bool, *policies: str, path: str = "/") -> None:
    iam = h.client("iam")
    tags = [{"Key": ROLE_TAG["key"], "Value": ROLE_TAG["value"]}] if tagged else []
    document = json.dumps(TRUST)
    iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=document, Tags=tags)
    for arn in policies:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)


def test_the_same_credentials_are_refused_outside_the_scope(
    h: AdminHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    required_tags = next(r for r in REGISTRY if r.id == "required_tags")
    settings = required_tags.settings_model.model_validate({"tags": {"env": {"default": "dev"}}})
    config = write_config(h, tmp_path / "c.yaml", required_tags, settings)
    doc = yaml.safe_load(config.read_text())
    for rule_id in ("execution_role_trust", "execution_role_permissions", "snapshots"):
        doc["rules"][rule_id] = {"enabled": True}
    config.write_text(yaml.safe_dump(doc))
    daemon = daemon_user(h, generated_policy(h, config, monkeypatch, capsys, h.admin))

    make_role(h, "flink-execution", True, ADMIN_POLICY, READ_ONLY_POLICY, path="/flink/")
    make_role(h, "admin-role", False)
    # Someone allowed iam:TagRole tagged an admin role: the path keeps it out of scope.
    make_role(h, "tagged-admin", True, ADMIN_POLICY)
    make_role(h, OWN_ROLE, True, ADMIN_POLICY)  # worst case: it even carries the role tag
    other_queue = h.client("sqs").create_queue(QueueName="someone-elses-queue")["QueueUrl"]
    plain = h.create_app("plain")
    h.create_app("ignored", tags={"flink-remediator/ignore": "TRUE"})
    elsewhere = client(h.sandbox.endpoint_url, "us-west-2", "kinesisanalyticsv2", h.admin)
    elsewhere.create_application(
        ApplicationName="far",
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=f"arn:aws:iam::{plain.account}:role/flink/flink-execution",
    )

    def as_daemon(service: str, region: str | None = None) -> Any:
        return client(h.sandbox.endpoint_url, region or h.sandbox.region, service, daemon)

    iam, sqs, flink = as_daemon("iam"), as_daemon("sqs"), as_daemon("kinesisanalyticsv2")
    trust = json.dumps(TRUST)

    def snapshots_on(name: str, region: str | None = None) -> str:
        region = region or h.sandbox.region
        admin = client(h.sandbox.endpoint_url, region, "kinesisanalyticsv2", h.admin)
        detail = admin.describe_application(ApplicationName=name)["ApplicationDetail"]
        update = {"ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}}
        return code_of(
            as_daemon("kinesisanalyticsv2", region).update_application,
            ApplicationName=name,
            CurrentApplicationVersionId=detail["ApplicationVersionId"],
            ApplicationConfigurationUpdate=update,
        )

    def tag(name: str, key: str) -> str:
        arn = f"arn:aws:kinesisanalytics:{plain.region}:{plain.account}:application/{name}"
        return code_of(flink.tag_resource, ResourceARN=arn, Tags=[{"Key": key, "Value": "x"}])

    outcomes = {
        # positive controls: the grants do work, so the refusals below are not vacuous
        "trust on an execution role": code_of(
            iam.update_assume_role_policy, RoleName="flink-execution", PolicyDocument=trust
        ),
        "detach a forbidden policy": code_of(
            iam.detach_role_policy, RoleName="flink-execution", PolicyArn=ADMIN_POLICY
        ),
        "read the event queue": code_of(sqs.receive_message, QueueUrl=h.sandbox.queue_url),
        "fix an application": snapshots_on("plain"),
        "add a required tag": tag("plain", "env"),
        # refusals
        "trust on a role outside the scope": code_of(
            iam.update_assume_role_policy, RoleName="admin-role", PolicyDocument=trust
        ),
        "trust on a tagged role outside the path": code_of(
            iam.update_assume_role_policy, RoleName="tagged-admin", PolicyDocument=trust
        ),
        "detach a policy that is not forbidden": code_of(
            iam.detach_role_policy, RoleName="flink-execution", PolicyArn=READ_ONLY_POLICY
        ),
        "attach a policy": code_of(
            iam.attach_role_policy, RoleName="flink-execution", PolicyArn=ADMIN_POLICY
        ),
        "trust on the daemon's own role": code_of(
            iam.update_assume_role_policy, RoleName=OWN_ROLE, PolicyDocument=trust
        ),
        "detach from the daemon's own role": code_of(
            iam.detach_role_policy, RoleName=OWN_ROLE, PolicyArn=ADMIN_POLICY
        ),
        "read another queue": code_of(sqs.receive_message, QueueUrl=other_queue),
        "fix an ignored application": snapshots_on("ignored"),
        "add a tag no rule adds": tag("plain", "owner"),
        "fix in an unconfigured Region": snapshots_on("far", "us-west-2"),
    }
    assert outcomes == {
        "trust on an execution role": "OK",
        "detach a forbidden policy": "OK",
        "read the event queue": "OK",
        "fix an application": "OK",
        "add a required tag": "OK",
        "trust on a role outside the scope": "AccessDenied",
        "trust on a tagged role outside the path": "AccessDenied",
        "detach a policy that is not forbidden": "AccessDenied",
        "attach a policy": "AccessDenied",
        "trust on the daemon's own role": "AccessDenied",
        "detach from the daemon's own role": "AccessDenied",
        "read another queue": "AccessDenied",
        "fix an ignored application": "AccessDeniedException",
        "add a tag no rule adds": "AccessDeniedException",
        "fix in an unconfigured Region": "AccessDeniedException",
    }
    own = h.client("iam").list_attached_role_policies(RoleName=OWN_ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in own] == [ADMIN_POLICY]  # nothing changed
    refused = [c for c in h.recorded_calls(caller_arn=daemon.arn) if c["error_code"]]
    assert len(refused) == 10
