"""The sandbox's IAM condition evaluator (pure): each operator, the missing-key rules, set
qualifiers, IfExists, and explicit Deny over Allow, as AWS documents them."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.iam_eval import (
    Request,
    UnsupportedCondition,
    arn_match,
    condition_holds,
    evaluate,
)

ROLE = "arn:aws:iam::123456789012:role/flink/app-role"


def ctx(**values: str | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, value in values.items():
        name = key.replace("__", ":").replace("_", "/").lower()
        out[name] = value if isinstance(value, tuple) else (value,)
    return out


@pytest.mark.parametrize(
    ("operator", "wanted", "value", "holds"),
    [
        ("StringEquals", "true", "true", True),
        ("StringEquals", "true", "True", False),
        ("StringEquals", ["a", "b"], "b", True),
        ("StringEqualsIgnoreCase", "true", "TRUE", True),
        ("StringNotEquals", "a", "b", True),
        ("StringNotEquals", ["a", "b"], "b", False),
        ("StringLike", "flink-*", "flink-x", True),
        ("StringLike", "flink-?", "flink-xy", False),
        ("StringNotLike", "flink-*", "other", True),
        (
            "ArnEquals",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            True,
        ),
        (
            "ArnEquals",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            False,
        ),
        (
            "ArnLike",
            "arn:aws:iam::aws:policy/*/PowerUserAccess",
            "arn:aws:iam::aws:policy/job-function/PowerUserAccess",
            True,
        ),
        ("ArnNotEquals", "arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B", True),
        ("Bool", "true", "TRUE", True),
        ("Bool", "false", "true", False),
    ],
)
def test_operators(operator: str, wanted: Any, value: str, holds: bool) -> None:
    assert condition_holds(operator, "k", wanted, {"k": (value,)}) is holds


def test_arn_parts_match_separately() -> None:
    assert arn_match("arn:aws:sqs:*:123456789012:q", "arn:aws:sqs:eu-west-1:123456789012:q")
    assert not arn_match("arn:aws:sqs:*:123456789012:q", "arn:aws:sqs:eu-west-1:999999999999:q")
    assert not arn_match("arn:aws:sqs:*:1:q", "not-an-arn")


def test_a_missing_key_fails_unless_ifexists_null_negated_or_forallvalues() -> None:
    empty: dict[str, tuple[str, ...]] = {}
    assert not condition_holds("StringEquals", "iam:PolicyARN", "x", empty)
    assert not condition_holds("ArnEquals", "iam:PolicyARN", "arn:a:b:c:d:e", empty)
    assert condition_holds("StringEqualsIfExists", "aws:ResourceTag/env", "x", empty)
    assert condition_holds("StringNotEquals", "aws:ResourceTag/env", "x", empty)
    assert condition_holds("Null", "aws:TagKeys", "true", empty)
    assert not condition_holds("Null", "aws:TagKeys", "false", empty)
    # The documented pitfall: ForAllValues holds for an empty set, ForAnyValue does not.
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["env"], empty)
    assert not condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["env"], empty)


def test_set_qualifiers_on_multivalued_keys() -> None:
    tags = {"aws:tagkeys": ("env", "owner")}
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["env", "owner"], tags)
    assert not condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["env"], tags)
    assert condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["env"], tags)
    assert not condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["x"], tags)


def test_keys_are_case_insensitive_and_unknown_operators_refused() -> None:
    assert condition_holds(
        "StringEquals", "AWS:RequestedRegion", "eu-west-1", {"aws:requestedregion": ("eu-west-1",)}
    )
    with pytest.raises(UnsupportedCondition):
        condition_holds("NumericAbout", "k", "1", {"k": ("0",)})
    with pytest.raises(UnsupportedCondition):
        condition_holds("Sometimes:StringEquals", "k", "1", {"k": ("1",)})


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


DETACH_FORBIDDEN = {
    "Effect": "Allow",
    "Action": "iam:DetachRolePolicy",
    "Resource": "arn:aws:iam::123456789012:role/flink/*",
    "Condition": {
        "ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        "StringEquals": {"aws:ResourceTag/flink-remediator/execution-role": "true"},
    },
}


def detach(policy_arn: str, resource: str = ROLE, tagged: bool = True) -> Request:
    context = {"iam:policyarn": (policy_arn,)}
    if tagged:
        context["aws:resourcetag/flink-remediator/execution-role"] = ("true",)
    return Request("iam:DetachRolePolicy", resource, context)


def test_every_condition_and_the_resource_must_hold_for_an_allow() -> None:
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    granted = [policy(DETACH_FORBIDDEN)]
    assert evaluate(granted, detach(admin)) == "allow"
    assert evaluate(granted, detach("arn:aws:iam::aws:policy/ReadOnlyAccess")) == "implicit_deny"
    assert evaluate(granted, detach(admin, tagged=False)) == "implicit_deny"
    other = "arn:aws:iam::123456789012:role/admin"
    assert evaluate(granted, detach(admin, resource=other)) == "implicit_deny"


def test_explicit_deny_wins_over_any_allow_in_any_policy() -> None:
    deny = {"Effect": "Deny", "Action": "iam:*", "Resource": ROLE}
    assert (
        evaluate(
            [policy(DETACH_FORBIDDEN), policy(deny)],
            detach("arn:aws:iam::aws:policy/AdministratorAccess"),
        )
        == "explicit_deny"
    )


def test_actions_ignore_case_resources_do_not_and_not_elements() -> None:
    allow_all_but_iam = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert evaluate([policy(allow_all_but_iam)], Request("SQS:ReceiveMessage", "q")) == "allow"
    assert evaluate([policy(allow_all_but_iam)], Request("iam:GetRole", ROLE)) == "implicit_deny"
    lower = {"Effect": "Allow", "Action": "iam:getrole", "Resource": ROLE.upper()}
    assert evaluate([policy(lower)], Request("iam:GetRole", ROLE)) == "implicit_deny"
    not_own = {"Effect": "Allow", "Action": "iam:GetRole", "NotResource": ROLE}
    assert evaluate([policy(not_own)], Request("iam:GetRole", ROLE)) == "implicit_deny"
    assert evaluate([policy(not_own)], Request("iam:GetRole", ROLE + "2")) == "allow"


def test_sqs_calls_are_authorized_on_the_queue_arn_batches_as_single_actions() -> None:
    from sandbox.iam_context import sqs_request

    url = "http://127.0.0.1:4566/123456789012/events"
    batch = sqs_request("sqs:DeleteMessageBatch", {"QueueUrl": url}, "eu-west-1", "1")
    assert batch == Request("sqs:DeleteMessage", "arn:aws:sqs:eu-west-1:123456789012:events")
    by_name = sqs_request(
        "sqs:GetQueueUrl",
        {"QueueName": "dlq", "QueueOwnerAWSAccountId": "210987654321"},
        "eu-west-1",
        "123456789012",
    )
    assert by_name.resource == "arn:aws:sqs:eu-west-1:210987654321:dlq"
    assert sqs_request("sqs:ListQueues", {}, "eu-west-1", "1").resource == "*"
