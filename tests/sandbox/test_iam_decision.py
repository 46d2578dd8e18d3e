"""Every policy type together (pure), in the order of AWS's policy evaluation logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.iam_decision import Caller, Policies, decide
from sandbox.iam_eval import Request

ACCOUNT = "123456789012"
USER = Caller(f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/worker"
SESSION = Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/s1", ACCOUNT, role_arn=ROLE_ARN)
QUEUE = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:flink-remediator-events"
SEND = Request("sqs:SendMessage", QUEUE)
REPO = Path(__file__).resolve().parents[2]


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str = "sqs:*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": "*", **more}


def deny(action: str = "sqs:*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": "*", **more}


def verdict(policies: Policies, caller: Caller = USER, request: Request = SEND) -> tuple[str, str]:
    result = decide(policies, caller, request)
    return result.decision, result.policy_type


def test_identity_alone() -> None:
    assert verdict(Policies(identity=(policy(allow()),))) == ("allow", "")
    assert verdict(Policies()) == ("implicit_deny", "identity-based policy")


def test_an_explicit_deny_in_any_policy_type_wins() -> None:
    granted = (policy(allow()),)
    assert verdict(Policies(identity=(policy(allow(), deny()),))) == (
        "explicit_deny",
        "identity-based policy",
    )
    assert verdict(Policies(identity=granted, scp_levels=((policy(allow(), deny()),),))) == (
        "explicit_deny",
        "service control policy",
    )
    assert verdict(Policies(identity=granted, boundary=policy(deny()))) == (
        "explicit_deny",
        "permissions boundary",
    )
    assert verdict(Policies(identity=granted, session=(policy(deny()),)), SESSION) == (
        "explicit_deny",
        "session policy",
    )
    queue = policy(deny(Principal={"AWS": USER.arn}))
    assert verdict(Policies(identity=granted, resource=queue, resource_account=ACCOUNT)) == (
        "explicit_deny",
        "resource-based policy",
    )


def test_every_scp_level_must_allow() -> None:
    granted = (policy(allow()),)
    full = (policy(allow("*")),)
    only_logs = (policy(allow("logs:*")),)
    assert verdict(Policies(identity=granted, scp_levels=(full, full))) == ("allow", "")
    assert verdict(Policies(identity=granted, scp_levels=(full, only_logs))) == (
        "implicit_deny",
        "service control policy",
    )
    # An SCP grants nothing by itself.
    assert verdict(Policies(scp_levels=(full,))) == ("implicit_deny", "identity-based policy")


def test_boundary_and_session_policy_limit_identity_grants() -> None:
    granted = (policy(allow()),)
    logs_only = policy(allow("logs:*"))
    assert verdict(Policies(identity=granted, boundary=logs_only), SESSION) == (
        "implicit_deny",
        "permissions boundary",
    )
    assert verdict(Policies(identity=granted, session=(logs_only,)), SESSION) == (
        "implicit_deny",
        "session policy",
    )
    # A boundary or session policy grants nothing by itself.
    assert verdict(Policies(boundary=policy(allow()), session=(policy(allow()),)), SESSION) == (
        "implicit_deny",
        "identity-based policy",
    )
    # No session policy passed: the identity policies alone decide.
    assert verdict(Policies(identity=granted, session=None), SESSION)[0] == "allow"


def test_same_account_resource_policy_grants_by_the_principal_it_names() -> None:
    def queue(principal: Any) -> Policies:
        statement = allow("sqs:SendMessage", Principal=principal)
        return Policies(
            boundary=policy(allow("logs:*")),
            session=(policy(allow("logs:*")),),
            resource=policy(statement),
            resource_account=ACCOUNT,
        )

    # The session's own ARN: allowed whatever the identity, boundary and session policies say.
    assert verdict(queue({"AWS": SESSION.arn}), SESSION) == ("allow", "")
    # The role's ARN: an identity-level grant, still limited by boundary and session policy.
    assert verdict(queue({"AWS": ROLE_ARN}), SESSION) == ("implicit_deny", "permissions boundary")
    # The account: a delegation to the identity policies, which grant nothing here.
    assert verdict(queue({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), SESSION) == (
        "implicit_deny",
        "identity-based policy",
    )


def test_cross_account_needs_both_sides() -> None:
    outsider = Caller("arn:aws:iam::999999999999:user/eve", "999999999999")
    named = policy(allow("sqs:SendMessage", Principal={"AWS": outsider.arn}))
    both = Policies(identity=(policy(allow()),), resource=named, resource_account=ACCOUNT)
    assert verdict(both, outsider) == ("allow", "")
    only_resource = Policies(resource=named, resource_account=ACCOUNT)
    assert verdict(only_resource, outsider) == ("implicit_deny", "identity-based policy")
    only_identity = Policies(
        identity=(policy(allow()),), resource=policy(), resource_account=ACCOUNT
    )
    assert verdict(only_identity, outsider) == ("implicit_deny", "resource-based policy")


def test_a_kms_key_policy_is_required() -> None:
    key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k"
    describe = Request("kms:DescribeKey", key)
    granted = (policy(allow("kms:*")),)
    root = policy(allow("kms:*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    service_only = policy(allow("kms:*", Principal={"Service": "kinesisanalytics.amazonaws.com"}))

    def on_key(key_policy: dict[str, Any]) -> tuple[str, str]:
        policies = Policies(
            identity=granted, resource=key_policy, resource_account=ACCOUNT, resource_required=True
        )
        return verdict(policies, USER, describe)

    assert on_key(root) == ("allow", "")  # the account enables IAM policies
    assert on_key(service_only) == ("implicit_deny", "resource-based policy")


def test_eventbridge_delivery_under_the_shipped_queue_policy() -> None:
    shipped = json.loads((REPO / "config/iam/queue-policy.json").read_text())
    events = Caller("events.amazonaws.com", ACCOUNT, service=True)
    ours = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/flink-remediator-flink"
    theirs = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/someone-else"

    def send(rule: str, tls: str = "true") -> str:
        context = {
            "aws:sourcearn": (rule,),
            "aws:sourceaccount": (ACCOUNT,),
            "aws:securetransport": (tls,),
        }
        policies = Policies(resource=shipped, resource_account=ACCOUNT)
        return decide(policies, events, Request("sqs:SendMessage", QUEUE, context)).decision

    assert send(ours) == "allow"
    assert send(theirs) == "implicit_deny"
    assert send(ours, tls="false") == "explicit_deny"
    # Identity policies and SCPs do not apply to a service principal.
    assert verdict(Policies(identity=(policy(deny()),)), events)[0] == "implicit_deny"
