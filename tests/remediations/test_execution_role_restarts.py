"""The trust rule's rewrite keeps every application using the role able to (re)start: the sandbox
service assumes the role at each start and restart with that app's aws:SourceArn and
aws:SourceAccount, as Managed Flink does; a wrong SourceArn makes the restart fail."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest

from daemon.state import Cause
from remediations import execution_role_trust as trust
from sandbox.testing import advance_clock, client
from tests.remediations.test_execution_role_sandbox import ROLE, Account, account

__all__ = ["account"]  # the fixture, shared with the sandbox tests of both role rules


def restart(account: Account, name: str) -> str:
    """Start the app if it is READY, else restart it with an update; its status after."""
    client = _flink(account)
    detail = client.describe_application(ApplicationName=name)["ApplicationDetail"]
    if detail["ApplicationStatus"] == "READY":
        client.start_application(ApplicationName=name)
    else:
        client.update_application(
            ApplicationName=name,
            CurrentApplicationVersionId=detail["ApplicationVersionId"],
            ApplicationConfigurationUpdate={
                "EnvironmentPropertyUpdates": {
                    "PropertyGroups": [
                        {
                            "PropertyGroupId": "g",
                            "PropertyMap": {"n": str(detail["ApplicationVersionId"])},
                        }
                    ]
                }
            },
        )
    advance_clock(account.sandbox.endpoint_url, 1)
    after = client.describe_application(ApplicationName=name)["ApplicationDetail"]
    return str(after["ApplicationStatus"])


def _flink(account: Account) -> Any:
    return client(account.sandbox.endpoint_url, account.sandbox.region, "kinesisanalyticsv2")


@pytest.mark.parametrize("source_arn", ["exact", "wildcard"])
def test_every_app_restarts_after_the_trust_rule_rewrote_the_shared_role(
    account: Account, source_arn: Literal["exact", "wildcard"]
) -> None:
    names = [a.name for a in account.apps]
    assert [restart(account, n) for n in names] == ["RUNNING", "RUNNING"]
    rules = [(trust.ExecutionRoleTrust(), trust.Settings(source_arn=source_arn), "enforce")]
    reconciler = account.reconciler(rules)  # type: ignore[arg-type]

    assert reconciler.reconcile(account.apps[0], Cause("cli")).result == "fixed"

    flink_statement = next(
        s for s in account.trust_document()["Statement"] if "Service" in s["Principal"]
    )
    assert set(flink_statement["Condition"]) == {
        "StringEquals",
        "ArnEquals" if source_arn == "exact" else "ArnLike",
    }
    # Each app restarts (an update of a RUNNING app), stops and starts again.
    assert [restart(account, n) for n in names] == ["RUNNING", "RUNNING"]
    for name in names:
        _flink(account).stop_application(ApplicationName=name)
    advance_clock(account.sandbox.endpoint_url, 1)
    assert [restart(account, n) for n in names] == ["RUNNING", "RUNNING"]


def test_a_wrong_source_arn_makes_the_next_restart_fail(account: Account) -> None:
    names = [a.name for a in account.apps]
    assert [restart(account, n) for n in names] == ["RUNNING", "RUNNING"]
    document = account.trust_document()
    wrong = account.apps[0].arn.rsplit("/", 1)[0] + "/other"
    document["Statement"][0]["Condition"] = {"ArnEquals": {"aws:SourceArn": wrong}}
    account.iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(document))

    assert [restart(account, n) for n in names] == ["READY", "READY"]  # the jobs stopped
