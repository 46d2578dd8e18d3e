"""Many accounts: `accounts:` entries and the role template, organisation discovery, sessions
of an assumed member role (botocore's refreshable credentials) against the sandbox over HTTP,
and loop prevention that knows the daemon's member roles."""

from __future__ import annotations

import boto3
import pytest

from daemon import errors
from daemon.aws import Aws
from daemon.desired.config import Organization
from daemon.desired.loader import parse_config
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.events import Hint
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Ignored, Intake
from daemon.reconcile.accounts import AccountDirectory, discover
from daemon.sessions import AccountAccess, AwsByAccount
from sandbox.server import Sandbox
from sandbox.testing import client
from tests.factories import update_event

OWN, MEMBER, OTHER = "123456789012", "210987654321", "333333333333"
CONFIG = f"""
version: 1
accounts:
  - '{OWN}'
  - {{id: '{MEMBER}', external_id: per-account}}
  - {{id: '{OTHER}', assume_role: 'arn:aws:iam::{OTHER}:role/special'}}
assume_role: 'arn:aws:iam::{{account}}:role/flink-remediator-member'
external_id: shared-id
regions: [us-east-1]
"""


def test_the_template_fills_in_each_account_and_the_own_account_needs_no_role() -> None:
    config = parse_config(CONFIG)
    assert config.accounts == (OWN, MEMBER, OTHER)
    assert config.access_for(OWN, OWN) == AccountAccess(OWN)
    assert config.access_for(MEMBER, OWN) == AccountAccess(
        MEMBER, f"arn:aws:iam::{MEMBER}:role/flink-remediator-member", "per-account"
    )
    assert config.access_for(OTHER, OWN) == AccountAccess(
        OTHER, f"arn:aws:iam::{OTHER}:role/special", "shared-id"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("accounts: []\n", "2: accounts: list at least one account, or give `organization:`"),
        (
            "accounts: [{id: '123456789012', role: x}]\n",
            "2: accounts[0].role: unknown key 'role'",
        ),
        (
            "accounts: ['123456789012']\nassume_role: 'arn:aws:iam::x:role/r'\n",
            "3: assume_role: String should match pattern",
        ),
        (
            "accounts: []\norganization: {ou_ids: [nope]}\n",
            "3: organization.ou_ids[0]: String should match pattern",
        ),
    ],
)
def test_bad_account_settings_name_line_and_field(text: str, problem: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        parse_config("version: 1\n" + text + "regions: [us-east-1]\n", "c.yaml")
    assert any(p.startswith(f"c.yaml:{problem}") for p in caught.value.problems), (
        caught.value.problems
    )


def test_an_organisation_alone_is_enough_and_overrides_may_name_discovered_accounts() -> None:
    config = parse_config(
        "version: 1\naccounts: []\nregions: [us-east-1]\n"
        "organization: {ou_ids: [r-ab12], exclude_accounts: ['111111111111']}\n"
        "overrides: [{name: x, match: {accounts: ['222222222222']}, rules: {}}]\n"
    )
    assert config.organization == Organization(("r-ab12",), frozenset({"111111111111"}))


def test_organisation_discovery_walks_child_units_and_skips_excluded(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    org = client(fresh_sandbox.endpoint_url, "us-east-1", "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="flink")["OrganizationalUnit"]["Id"]
    child = org.create_organizational_unit(ParentId=unit, Name="prod")["OrganizationalUnit"]["Id"]
    made = {}
    for name, parent in (("a", unit), ("b", child), ("c", child), ("elsewhere", root)):
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")
        account = status["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
        made[name] = account
    aws = Aws("us-east-1", session=_session(), max_backoff_seconds=0.1)
    found = discover(aws, Organization((unit,), frozenset({made["c"]})))
    assert found == tuple(sorted((made["a"], made["b"])))

    config = parse_config(
        f"version: 1\naccounts: ['{OWN}']\nregions: [us-east-1]\n"
        f"assume_role: 'arn:aws:iam::{{account}}:role/member'\n"
        f"organization: {{ou_ids: ['{unit}']}}\n"
    )
    directory = AccountDirectory(lambda: config, lambda: aws)
    directory.own_account = OWN
    assert directory.accounts() == (OWN,)  # nothing read yet
    assert set(directory.refresh()) == {OWN, made["a"], made["b"], made["c"]}
    assert directory.accesses()[made["b"]].role_arn == f"arn:aws:iam::{made['b']}:role/member"
    assert directory.accesses()[OWN].role_arn is None


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def test_a_member_account_is_read_through_its_assumed_role(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    role = f"arn:aws:iam::{MEMBER}:role/flink-remediator-member"
    accesses = {MEMBER: AccountAccess(MEMBER, role, "ext-1")}
    aws = AwsByAccount(lambda: accesses, "us-east-1", source=_session())
    assert aws.identify()["Account"] == fresh_sandbox.account_id
    member = aws.account(MEMBER).region("us-east-1")
    caller = member.call("sts", "GetCallerIdentity")
    assert caller["Account"] == MEMBER
    assert caller["Arn"].startswith(f"arn:aws:sts::{MEMBER}:assumed-role/flink-remediator-member/")
    assert aws.account(MEMBER) is aws.account(MEMBER)  # one session per account, reused
    assumed = [c for c in fresh_sandbox.calls() if c.operation == "AssumeRole"]
    assert len(assumed) == 1  # refreshed by botocore only near expiry, not per call
    member.call("iam", "CreateRole", RoleName="only-in-member", AssumeRolePolicyDocument="{}")
    own_roles = aws.region("us-east-1").call("iam", "ListRoles")["Roles"]
    assert "only-in-member" not in {r["RoleName"] for r in own_roles}


def test_an_account_without_a_role_is_refused_not_read_with_the_own_credentials(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    aws = AwsByAccount(dict, "us-east-1", source=_session())
    aws.identify()
    with pytest.raises(errors.PermanentAwsError, match="NoRoleForAccount"):
        aws.account(MEMBER)
    assert aws.account(fresh_sandbox.account_id) is aws.own


def _hint(account: str, actor: str, issuer: str = "") -> Hint:
    return Hint(
        event_id="e-1",
        event_name="UpdateApplication",
        source="aws.kinesisanalytics",
        account=account,
        region="us-east-1",
        event_time=None,
        actor=actor,
        actor_type="AssumedRole",
        actor_issuer_arn=issuer,
        app_names=("a",),
    )


def test_the_daemon_recognises_its_sessions_of_member_roles() -> None:
    own = OwnIdentity.from_caller_identity(f"arn:aws:sts::{OWN}:assumed-role/hub/pod-1")
    member_role = f"arn:aws:iam::{MEMBER}:role/path/flink-remediator-member"
    own = own.with_roles([member_role])
    session = f"arn:aws:sts::{MEMBER}:assumed-role/flink-remediator-member/flink-remediator"
    assert own.caused(_hint(MEMBER, session))
    assert own.caused(_hint(MEMBER, "x", issuer=member_role))
    assert not own.caused(_hint(MEMBER, f"arn:aws:sts::{MEMBER}:assumed-role/alice/s"))
    # The same role name in an account the daemon does not assume it in is someone else.
    other = f"arn:aws:sts::{OTHER}:assumed-role/flink-remediator-member/flink-remediator"
    assert not own.caused(_hint(OTHER, other))


def test_an_event_for_an_account_not_covered_is_dropped_and_counted() -> None:
    config = parse_config(CONFIG)
    own = OwnIdentity.from_caller_identity(f"arn:aws:iam::{OWN}:user/daemon")
    intake = Intake(own, EventIdCache(), lambda: config, lambda: (OWN, MEMBER))
    body = _event("444444444444")
    dropped = intake.accept(body)
    assert isinstance(dropped, Ignored) and dropped.reason == "account_not_configured"
    accepted = intake.accept(_event(MEMBER))
    assert isinstance(accepted, Hint) and accepted.account == MEMBER
    # Only the covered set counts: the config lists OTHER, the directory does not (yet).
    assert isinstance(intake.accept(_event(OTHER, "e-3")), Ignored)


def _event(account: str, event_id: str = "") -> str:
    return update_event(account, f"arn:aws:iam::{account}:user/alice", event_id or f"id-{account}")


def test_every_covered_account_but_the_own_needs_a_role_and_the_error_names_them() -> None:
    config = parse_config(
        f"version: 1\naccounts: ['{OWN}', '{MEMBER}', {{id: '{OTHER}', "
        f"assume_role: 'arn:aws:iam::{OTHER}:role/special'}}]\nregions: [us-east-1]\n",
        "desired.yaml",
    )
    directory = AccountDirectory(lambda: config, lambda: pytest.fail("no organisation to read"))
    directory.own_account = OWN
    with pytest.raises(errors.SettingsError) as refused:
        directory.require_roles()
    assert str(refused.value) == (
        f"the credentials are for account {OWN}; desired.yaml covers accounts ['{MEMBER}'] "
        "without an assume_role to reach them (set it at top level or per account; "
        f"covered accounts ['{OWN}', '{MEMBER}', '{OTHER}'])"
    )
    # Credentials of the member account: the own account is now the one that needs a role.
    directory.own_account = MEMBER
    with pytest.raises(errors.SettingsError, match=rf"covers accounts \['{OWN}'\]"):
        directory.require_roles()


def test_with_a_role_for_every_other_account_nothing_is_refused_and_the_roles_are_known() -> None:
    config = parse_config(CONFIG)
    directory = AccountDirectory(lambda: config, lambda: pytest.fail("no organisation to read"))
    directory.own_account = OWN
    directory.require_roles()
    assert directory.role_arns() == (
        f"arn:aws:iam::{MEMBER}:role/flink-remediator-member",
        f"arn:aws:iam::{OTHER}:role/special",
    )
