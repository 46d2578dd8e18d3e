"""vpc_required against the sandbox over HTTP: the opt-in fix attaches the app to the configured
subnets through the Reconciler, and re-observing then finds no drift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from daemon.aws import Aws
from daemon.reconcile.observe import describe, observe
from daemon.reconcile.reconciler import Reconciler
from daemon.state import AppRef, Cause, Drift
from remediations.vpc_required import Settings, VpcRequired
from sandbox.server import Sandbox
from tests.vpc_factories import Network, build_network, create_app, daemon_aws_for

RULE = VpcRequired()


@pytest.fixture
def daemon_aws(fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Aws:
    return daemon_aws_for(fresh_sandbox.endpoint_url, fresh_sandbox.region, monkeypatch)


@pytest.fixture
def net(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> Network:
    return build_network(aws("ec2"), fresh_sandbox.region)


@pytest.fixture
def flink(aws: Callable[..., Any]) -> Any:
    return aws("kinesisanalyticsv2")


def ref(sandbox: Sandbox, name: str) -> AppRef:
    return AppRef(sandbox.account_id, sandbox.region, name)


def findings(aws: Aws, app: AppRef, settings: Settings) -> tuple[Drift, ...]:
    detail, tags = describe(aws, app)
    return RULE.check(settings, observe(app, detail, tags, [(RULE, settings)], aws))


def test_the_fix_attaches_the_app_and_a_second_pass_changes_nothing(
    fresh_sandbox: Sandbox, daemon_aws: Aws, net: Network, flink: Any
) -> None:
    create_app(flink, fresh_sandbox.account_id, "ledger")
    app = ref(fresh_sandbox, "ledger")
    settings = Settings(
        subnet_ids=(net.subnet_a, net.subnet_b),
        security_group_ids=(net.group,),
        add_vpc_configuration=True,
    )
    version = flink.describe_application(ApplicationName="ledger")["ApplicationDetail"][
        "ApplicationVersionId"
    ]
    reconciler = Reconciler(lambda _: daemon_aws, lambda a, t: [(RULE, settings, "enforce")])

    assert reconciler.reconcile(app, Cause("sweep")).result == "fixed"

    detail = flink.describe_application(ApplicationName="ledger")["ApplicationDetail"]
    (vpc,) = detail["ApplicationConfigurationDescription"]["VpcConfigurationDescriptions"]
    assert (vpc["VpcId"], sorted(vpc["SubnetIds"]), vpc["SecurityGroupIds"]) == (
        net.vpc,
        sorted([net.subnet_a, net.subnet_b]),
        [net.group],
    )
    assert detail["ApplicationVersionId"] == version + 1
    assert findings(daemon_aws, app, settings) == ()
    assert reconciler.reconcile(app, Cause("sweep")).result == "in_sync"
    after = flink.describe_application(ApplicationName="ledger")["ApplicationDetail"]
    assert after["ApplicationVersionId"] == version + 1


def test_without_the_opt_in_nothing_changes(
    fresh_sandbox: Sandbox, daemon_aws: Aws, net: Network, flink: Any
) -> None:
    create_app(flink, fresh_sandbox.account_id, "ledger")
    app = ref(fresh_sandbox, "ledger")
    settings = Settings(subnet_ids=(net.subnet_a,), security_group_ids=(net.group,))
    reconciler = Reconciler(lambda _: daemon_aws, lambda a, t: [(RULE, settings, "enforce")])
    result = reconciler.reconcile(app, Cause("sweep"))
    assert result.result == "drift" and [o.outcome for o in result.outcomes] == ["alerted"]
    assert (
        flink.describe_application(ApplicationName="ledger")["ApplicationDetail"][
            "ApplicationVersionId"
        ]
        == 1
    )
    assert [d.field for d in findings(daemon_aws, app, settings)] == ["VpcConfiguration"]


def test_a_subnet_outside_the_allowlist_alerts(
    fresh_sandbox: Sandbox, daemon_aws: Aws, net: Network, flink: Any
) -> None:
    create_app(
        flink, fresh_sandbox.account_id, "ledger", (net.subnet_a, net.subnet_b), (net.group,)
    )
    app = ref(fresh_sandbox, "ledger")
    (drift,) = findings(daemon_aws, app, Settings(subnet_ids=(net.subnet_a,)))
    assert drift.current == [net.subnet_b] and not drift.fixable
    assert findings(daemon_aws, app, Settings(subnet_ids=(net.subnet_a, net.subnet_b))) == ()
