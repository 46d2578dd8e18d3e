"""The condition operators beyond strings and ARNs, and policy variables (pure), as the IAM User
Guide documents them (reference_policies_elements_condition_operators.html,
reference_policies_variables.html)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.iam_eval import Request, condition_holds, evaluate, resolve

NOON = "2026-12-06T12:00:00Z"


@pytest.mark.parametrize(
    ("operator", "wanted", "value", "holds"),
    [
        ("NumericEquals", "10", "10.0", True),
        ("NumericEquals", "10", "11", False),
        ("NumericNotEquals", "10", "11", True),
        ("NumericNotEquals", "10", "10", False),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "11", True),
        ("NumericGreaterThan", "10", "10", False),
        ("NumericGreaterThanEquals", "10", "10", True),
        ("NumericLessThan", "10", "not-a-number", False),
        ("DateEquals", NOON, "2026-12-06T12:00:00+00:00", True),
        ("DateNotEquals", NOON, "2026-12-06T12:00:01Z", True),
        ("DateLessThan", NOON, "2026-12-06T11:59:59Z", True),
        ("DateLessThan", NOON, NOON, False),
        ("DateLessThanEquals", NOON, NOON, True),
        ("DateGreaterThan", NOON, "2026-12-07", True),
        ("DateGreaterThanEquals", NOON, "1796558400", True),  # epoch seconds: 2026-12-06 12:00
        ("DateGreaterThan", NOON, "yesterday", False),
        ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
        ("IpAddress", "10.0.0.0/8", "192.168.0.1", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),
        ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
        ("IpAddress", "10.0.0.0/8", "not-an-ip", False),
        ("NotIpAddress", "10.0.0.0/8", "192.168.0.1", True),
        ("NotIpAddress", "10.0.0.0/8", "10.0.0.1", False),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
        ("BinaryEquals", "QmluYXJ5", "b3RoZXI=", False),
        ("NumericLessThanIfExists", "10", "11", False),
        ("DateLessThanIfExists", NOON, "2026-01-01T00:00:00Z", True),
    ],
)
def test_typed_operators(operator: str, wanted: Any, value: str, holds: bool) -> None:
    assert condition_holds(operator, "k", wanted, {"k": (value,)}) is holds


def test_typed_operators_on_a_missing_key() -> None:
    empty: dict[str, tuple[str, ...]] = {}
    assert not condition_holds("NumericLessThan", "s3:max-keys", "10", empty)
    assert not condition_holds("DateGreaterThan", "aws:CurrentTime", NOON, empty)
    assert not condition_holds("IpAddress", "aws:SourceIp", "10.0.0.0/8", empty)
    assert condition_holds("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", empty)
    assert condition_holds("NumericLessThanIfExists", "s3:max-keys", "10", empty)


def test_policy_variables_resolve_from_the_context() -> None:
    context = {"aws:username": ("alice",), "aws:principaltag/team": ("flink",)}
    assert resolve("arn:aws:iam::1:user/${aws:username}", context) == "arn:aws:iam::1:user/alice"
    assert resolve("${aws:PrincipalTag/team}-*", context) == "flink-*"
    assert resolve("${aws:PrincipalTag/owner}", context) is None
    assert resolve("${aws:PrincipalTag/owner, 'nobody'}", context) == "nobody"
    assert resolve("a${$}b", context) == "a$b"


def test_variables_in_resources_and_conditions() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "iam:GetUser",
        "Resource": "arn:aws:iam::123456789012:user/${aws:username}",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    alice = {
        "aws:username": ("alice",),
        "aws:principaltag/team": ("flink",),
        "aws:resourcetag/team": ("flink",),
    }
    own = Request("iam:GetUser", "arn:aws:iam::123456789012:user/alice", alice)
    other = Request("iam:GetUser", "arn:aws:iam::123456789012:user/bob", alice)
    assert evaluate([policy], own) == "allow"
    assert evaluate([policy], other) == "implicit_deny"
    untagged = Request(own.action, own.resource, {"aws:username": ("alice",)})
    assert evaluate([policy], untagged) == "implicit_deny"  # no value: the statement fails
    # Policy language 2008-10-17 has no variables: "${aws:username}" is literal text.
    old = {"Version": "2008-10-17", "Statement": [statement]}
    assert evaluate([old], own) == "implicit_deny"


def test_literal_wildcard_variables_do_not_match_everything() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${*}"}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    assert evaluate([policy], Request("s3:GetObject", "arn:aws:s3:::b/*")) == "allow"
    assert evaluate([policy], Request("s3:GetObject", "arn:aws:s3:::b/key")) == "implicit_deny"
