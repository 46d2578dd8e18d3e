"""List and watch against the sandbox over HTTP, with every event lost (no event pipeline runs):
after a full first sweep, a sweep of unchanged apps describes and reconciles none; each kind of
change the batched side reads cover makes exactly the changed app due; what they do not cover
(a deleted log stream) waits for the full resync (docs/performance.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemon.aws import AwsByRegion
from daemon.reconcile.inventory import Inventory
from daemon.reconcile.list_watch import Watch
from daemon.reconcile.safeguards import Safeguards
from daemon.state import AppRef
from daemon.sweeper import Sweeper
from sandbox.server import Sandbox
from sandbox.testing import execution_role
from tests.clock import FakeClock
from tests.contract.harness import Harness
from tests.unit.test_sweeper import Reconciles, config_for
from tests.vpc_factories import Network, build_network

STREAM = "kinesis-analytics-log-stream"
DAY = 86400.0


class Fleet:
    """Two apps with their own role and log group; `watched` runs in a VPC."""

    def __init__(self, h: Harness, tmp_path: Path, ok: bool = True) -> None:
        self.h, self.clock, self.submit = h, FakeClock(), Reconciles(ok=ok)
        self.net: Network = build_network(h.client("ec2"), h.sandbox.region)
        self.watched = self._app("watched", (self.net.subnet_a,))
        self.other = self._app("other", ())
        aws = AwsByRegion(lambda _region: h.aws)
        config = config_for(h.sandbox, tmp_path)
        self.sweeper = Sweeper(
            lambda _account: aws,
            lambda: [h.sandbox.account_id],
            lambda: config,
            Inventory(),
            Safeguards(),
            self.submit,
            wait_seconds=5,
            watch=Watch(resync_seconds=DAY, clock=self.clock),
        )

    def _app(self, name: str, subnets: tuple[str, ...]) -> AppRef:
        logs, region = self.h.client("logs"), self.h.sandbox.region
        group = f"/aws/kinesis-analytics/{name}"
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=STREAM)
        account = self.h.sandbox.account_id
        stream = f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{STREAM}"
        config: dict[str, Any] = {}
        if subnets:
            vpc = {"SubnetIds": list(subnets), "SecurityGroupIds": [self.net.group]}
            config["VpcConfigurations"] = [vpc]
        return self.h.create_app(
            name,
            config,
            ServiceExecutionRole=execution_role(self.h.client("iam"), f"role-{name}"),
            CloudWatchLoggingOptions=[{"LogStreamARN": stream}],
        )

    def sweep(self) -> set[AppRef]:
        """The apps one sweep owed a reconcile (and the sandbox's calls it made, in `calls`)."""
        before = len(self.submit.asked)
        self.h.clear_calls()
        assert self.sweeper.sweep() is True
        self.calls = [c["operation"] for c in self.h.recorded_calls()]
        return set().union(*(apps for apps, _ in self.submit.asked[before:]))


@pytest.fixture
def fleet(fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Fleet:
    fleet = Fleet(Harness.start(fresh_sandbox, monkeypatch), tmp_path)
    assert fleet.sweep() == {fleet.watched, fleet.other}  # the start is a full resync
    assert fleet.calls.count("DescribeApplication") == 2
    return fleet


def test_a_sweep_of_unchanged_apps_describes_none(fleet: Fleet) -> None:
    assert fleet.sweep() == set()
    assert "DescribeApplication" not in fleet.calls
    assert sorted(set(fleet.calls)) == [
        "DescribeLogGroups",
        "DescribeRouteTables",
        "GetAccountAuthorizationDetails",
        "GetResources",
        "ListApplications",
    ]


def _tag(f: Fleet) -> None:
    f.h.client("kinesisanalyticsv2").tag_resource(
        ResourceARN=f.watched.arn, Tags=[{"Key": "team", "Value": "x"}]
    )


def _delete_group(f: Fleet) -> None:
    f.h.client("logs").delete_log_group(logGroupName="/aws/kinesis-analytics/watched")


def _edit_trust(f: Fleet) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": f.watched.account}},
            }
        ],
    }
    f.h.client("iam").update_assume_role_policy(
        RoleName="role-watched", PolicyDocument=json.dumps(trust)
    )


def _attach_policy(f: Fleet) -> None:
    f.h.client("iam").attach_role_policy(
        RoleName="role-watched", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )


def _add_route(f: Fleet) -> None:
    f.h.client("ec2").create_route(
        RouteTableId=f.net.main_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=f.net.igw
    )


def _update_app(f: Fleet) -> None:
    flink = f.h.client("kinesisanalyticsv2")
    version = flink.describe_application(ApplicationName="watched")["ApplicationDetail"][
        "ApplicationVersionId"
    ]
    flink.update_application(
        ApplicationName="watched",
        CurrentApplicationVersionId=version,
        ApplicationConfigurationUpdate={
            "ApplicationSnapshotConfigurationUpdate": {"SnapshotsEnabledUpdate": True}
        },
    )


@pytest.mark.parametrize(
    "change",
    [_tag, _delete_group, _edit_trust, _attach_policy, _add_route, _update_app],
    ids=["tags", "log-group-deleted", "role-trust", "policy-attached", "route-added", "update"],
)
def test_each_kind_of_change_makes_only_the_changed_app_due(
    fleet: Fleet, change: Callable[[Fleet], None]
) -> None:
    assert fleet.sweep() == set()
    change(fleet)
    assert fleet.sweep() == {fleet.watched}
    assert fleet.calls.count("DescribeApplication") == 1
    assert fleet.sweep() == set()  # seen: not due again


def test_a_deleted_log_stream_waits_for_the_full_resync(fleet: Fleet) -> None:
    fleet.h.client("logs").delete_log_stream(
        logGroupName="/aws/kinesis-analytics/watched", logStreamName=STREAM
    )
    assert fleet.sweep() == set()  # no batched read covers streams: its resync finds it
    fleet.clock.now += DAY
    assert fleet.sweep() == {fleet.watched, fleet.other}
    assert fleet.calls.count("DescribeApplication") == 2


def test_a_new_app_is_due_and_a_failed_reconcile_is_due_again(fleet: Fleet, tmp_path: Path) -> None:
    third = fleet._app("third", ())
    fleet.submit.ok = False
    assert fleet.sweeper.sweep() is False
    assert fleet.submit.asked[-1][0] == {third}
    fleet.submit.ok = True
    assert fleet.sweep() == {third}  # its reconcile failed: described again
    assert fleet.sweep() == set()
