"""A rule may only read and write what it declares (the IAM actions the daemon's policy is
generated from): the reader refuses an undeclared read, the executor an undeclared write, both
before anything reaches AWS. Checked on the sandbox, against its own record of calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from daemon import errors
from daemon.iam_actions import iam_action
from daemon.reconcile.observe import MemoReader
from daemon.state import AppRef, Call, Drift, Observed
from remediations.base import ANY_APPLICATION, Reader, Rule, RuleSettings
from sandbox.server import Sandbox
from tests.contract.harness import Harness


def test_boto3_service_names_map_to_iam_prefixes() -> None:
    assert iam_action("kinesisanalyticsv2", "UpdateApplication") == (
        "kinesisanalytics:UpdateApplication"
    )
    assert iam_action("iam", "GetRole") == "iam:GetRole"
    assert iam_action("logs", "DescribeLogGroups") == "logs:DescribeLogGroups"


def test_the_reader_refuses_an_undeclared_operation_and_sends_nothing(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = h.create_app("reader")
    read = MemoReader(h.aws, ("iam:GetRole", "kinesisanalytics:DescribeApplication"))
    h.clear_calls()
    with pytest.raises(errors.UndeclaredAction) as refused:
        read("iam", "DeleteRole", RoleName="flink-execution")
    assert "iam:DeleteRole is not among the rule's read actions" in str(refused.value)
    assert "iam:GetRole" in str(refused.value)
    assert h.recorded_calls() == []
    # Declared reads go through, with the kinesisanalyticsv2 -> kinesisanalytics prefix.
    detail = read("kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name)
    assert detail["ApplicationDetail"]["ApplicationName"] == app.name
    with pytest.raises(errors.ResourceNotFound):
        read("iam", "GetRole", RoleName="no-such-role")  # declared, but no such role
    assert [c["operation"] for c in h.recorded_calls()] == ["DescribeApplication", "GetRole"]


def test_readers_for_rules_share_one_cache_but_not_their_permissions(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = h.create_app("shared")
    shared = MemoReader(h.aws, ())
    one = shared.for_rule(("kinesisanalytics:DescribeApplication",))
    other = shared.for_rule(())
    h.clear_calls()
    one("kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name)
    shared.for_rule(("kinesisanalytics:DescribeApplication",))(
        "kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name
    )
    assert len(h.recorded_calls()) == 1
    with pytest.raises(errors.UndeclaredAction):
        other("kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name)


class _Settings(RuleSettings):
    pass


class Greedy(Rule[_Settings, None]):
    """Declares GetRole, then reads or writes more than it declared."""

    id = "greedy"
    summary = "test rule"
    read_actions = ("iam:GetRole",)
    write_actions = ("kinesisanalytics:TagResource",)
    applies_to = ANY_APPLICATION

    def __init__(self, observe_op: str = "", fix_op: str = "TagResource") -> None:
        self._observe_op = observe_op
        self._fix_op = fix_op

    def observe(
        self, settings: _Settings, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> None:
        if self._observe_op:
            read("iam", self._observe_op, RoleName="flink-execution")
        return None

    def check(self, settings: _Settings, observed: Observed) -> tuple[Drift, ...]:
        return (self.drift(observed, "Tags.owner", None, "me", "tag owner is missing"),)

    def fix(
        self, settings: _Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        app = observed.app
        if self._fix_op == "TagResource":
            params: dict[str, Any] = {
                "ResourceARN": app.arn,
                "Tags": [{"Key": "owner", "Value": "me"}],
            }
        else:
            params = {"ResourceARN": app.arn, "TagKeys": ["owner"]}
        return (Call("kinesisanalyticsv2", self._fix_op, params, app.arn),)


@pytest.fixture
def h(fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Harness:
    return Harness.start(fresh_sandbox, monkeypatch)


def test_a_rule_reading_an_undeclared_operation_fails_its_reconcile_without_the_call(
    h: Harness,
) -> None:
    app = h.create_app("observes-too-much")
    h.clear_calls()
    result = h.reconcile(app, [(Greedy(observe_op="DeleteRole"), _Settings(), "enforce")])
    assert (result.result, result.retryable) == ("error", False)
    assert "iam:DeleteRole" in result.error
    assert h.mutating_calls() == []


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_executor_refuses_an_undeclared_write_before_any_call(
    h: Harness, dry_run: bool
) -> None:
    app = h.create_app("writes-too-much", tags={"owner": "someone"})
    h.clear_calls()
    result = h.reconcile(
        app, [(Greedy(fix_op="UntagResource"), _Settings(), "enforce")], dry_run=dry_run
    )
    (outcome,) = result.outcomes
    assert outcome.outcome == "failed" and not outcome.retryable
    assert "kinesisanalytics:UntagResource not among the write actions of greedy" in outcome.error
    assert h.mutating_calls() == []


def test_the_executor_sends_a_declared_write(h: Harness) -> None:
    app = h.create_app("writes-what-it-declared")
    h.clear_calls()
    result = h.reconcile(app, [(Greedy(), _Settings(), "enforce")])
    assert [o.outcome for o in result.outcomes] == ["applied"]
    assert h.mutating_calls() == ["TagResource"]
