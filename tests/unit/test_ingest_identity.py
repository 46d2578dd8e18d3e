"""Loop prevention: which events the daemon's own identity caused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.errors import SettingsError
from daemon.ingest.events import Hint, parse
from daemon.ingest.identity import OwnIdentity, role_of

ACCT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCT}:role/platform/eks/flink-remediator"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/flink-remediator/botocore-session-1730797277"
USER = f"arn:aws:iam::{ACCT}:user/automation/flink-remediator"


def hint(actor: str, issuer: str = "", actor_type: str = "AssumedRole") -> Hint:
    return Hint(
        event_id="e1",
        event_name="UpdateApplication",
        source="aws.kinesisanalytics",
        account=ACCT,
        region="eu-west-1",
        event_time=None,
        actor=actor,
        actor_type=actor_type,
        actor_issuer_arn=issuer,
        app_names=("orders",),
    )


def test_role_of_reads_sessions_and_role_arns_with_paths() -> None:
    assert role_of(SESSION) == ("aws", ACCT, "flink-remediator")
    assert role_of(ROLE_ARN) == ("aws", ACCT, "flink-remediator")
    assert role_of(f"arn:aws:iam::{ACCT}:role/Plain") == ("aws", ACCT, "plain")
    assert role_of("arn:aws-us-gov:sts::123456789012:assumed-role/R/s") == ("aws-us-gov", ACCT, "r")
    for not_a_role in (
        USER,
        f"arn:aws:iam::{ACCT}:root",
        "",
        "role/x",
        f"arn:aws:sts::{ACCT}:assumed-role/only-role",
        f"arn:aws:sts::{ACCT}:federated-user/bob",
    ):
        assert role_of(not_a_role) is None


def test_a_session_matches_other_sessions_of_its_role() -> None:
    own = OwnIdentity.from_caller_identity(SESSION)
    other_session = f"arn:aws:sts::{ACCT}:assumed-role/flink-remediator/eks-pod-identity-42"
    assert own.caused(hint(other_session, ROLE_ARN))
    assert own.caused(hint(other_session))  # no sessionContext: parsed from the actor ARN
    assert own.caused(hint("", ROLE_ARN))  # only the issuer is known
    # Role names are unique per account whatever their case.
    assert own.caused(hint(f"arn:aws:sts::{ACCT}:assumed-role/Flink-Remediator/x"))


@pytest.mark.parametrize(
    "actor,issuer",
    [
        (
            f"arn:aws:sts::{ACCT}:assumed-role/flink-remediator-canary/s",
            f"arn:aws:iam::{ACCT}:role/flink-remediator-canary",
        ),  # a prefix is not the role
        (
            "arn:aws:sts::210987654321:assumed-role/flink-remediator/s",
            "arn:aws:iam::210987654321:role/platform/eks/flink-remediator",
        ),  # same name, other account
        ("arn:aws-cn:sts::123456789012:assumed-role/flink-remediator/s", ""),  # other partition
        (f"arn:aws:iam::{ACCT}:user/flink-remediator", ""),  # a user named like the role
        (f"arn:aws:sts::{ACCT}:assumed-role/admin/flink-remediator", ""),  # session named like it
        ("", ""),
    ],
)
def test_a_session_does_not_match_others(actor: str, issuer: str) -> None:
    assert not OwnIdentity.from_caller_identity(SESSION).caused(hint(actor, issuer))


def test_a_role_arn_works_like_its_sessions() -> None:
    own = OwnIdentity.from_caller_identity(ROLE_ARN)
    assert own.caused(hint(SESSION))


def test_an_iam_user_matches_by_exact_arn() -> None:
    own = OwnIdentity.from_caller_identity(USER)
    assert own.role is None
    assert own.caused(hint(USER, actor_type="IAMUser"))
    assert not own.caused(hint(f"arn:aws:iam::{ACCT}:user/flink-remediator", actor_type="IAMUser"))
    assert not own.caused(hint(f"arn:aws:iam::{ACCT}:user/automation/flink-remediator-2"))
    assert not own.caused(hint(""))


def test_root_and_the_sandbox_default_principal_match_exactly() -> None:
    root = OwnIdentity.from_caller_identity(f"arn:aws:iam::{ACCT}:root")
    assert root.caused(hint(f"arn:aws:iam::{ACCT}:root", actor_type="Root"))
    moto = OwnIdentity.from_caller_identity(f"arn:aws:sts::{ACCT}:user/moto")
    assert moto.caused(hint(f"arn:aws:sts::{ACCT}:user/moto", actor_type="IAMUser"))
    assert not moto.caused(hint(f"arn:aws:iam::{ACCT}:user/alice", actor_type="IAMUser"))


@pytest.mark.parametrize(
    "bad", ["", "flink-remediator", "arn:aws:s3:::bucket", "arn:aws:iam::12345:user/x"]
)
def test_from_caller_identity_rejects_what_is_not_a_principal(bad: str) -> None:
    with pytest.raises(SettingsError):
        OwnIdentity.from_caller_identity(bad)


def test_with_a_parsed_event_whose_issuer_has_a_path() -> None:
    event = json.loads(
        (Path(__file__).parent / "events" / "kinesisanalytics-CreateApplication.json").read_text()
    )
    parsed = parse(
        json.dumps(event),
        accounts=frozenset({ACCT}),
        regions=frozenset({"eu-west-1"}),
        event_names=frozenset({"CreateApplication"}),
    )
    sso = "AWSReservedSSO_PlatformAdmin_0123456789abcdef"
    assert OwnIdentity.from_caller_identity(
        f"arn:aws:sts::{ACCT}:assumed-role/{sso}/other-session"
    ).caused(parsed)
    assert not OwnIdentity.from_caller_identity(SESSION).caused(parsed)
