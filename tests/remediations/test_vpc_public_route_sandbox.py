"""vpc_public_route against the sandbox's EC2 over HTTP, through the daemon's own AWS boundary,
observe step and Reconciler (violation gauge, SNS notification)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from daemon.aws import Aws
from daemon.reconcile.observe import describe, observe
from daemon.reconcile.reconciler import Reconciler
from daemon.state import AppRef, Cause, Drift
from daemon.telemetry import metrics
from remediations.vpc_public_route import Settings, VpcPublicRoute
from sandbox.server import Sandbox
from tests.vpc_factories import Network, build_network, create_app, daemon_aws_for

RULE = VpcPublicRoute()


@pytest.fixture
def daemon_aws(fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Aws:
    return daemon_aws_for(fresh_sandbox.endpoint_url, fresh_sandbox.region, monkeypatch)


@pytest.fixture
def ec2(aws: Callable[..., Any]) -> Any:
    return aws("ec2")


@pytest.fixture
def net(fresh_sandbox: Sandbox, ec2: Any) -> Network:
    return build_network(ec2, fresh_sandbox.region)


@pytest.fixture
def app(fresh_sandbox: Sandbox, aws: Callable[..., Any], net: Network) -> AppRef:
    """An application in both subnets of `net`, which both use the private main table."""
    flink = aws("kinesisanalyticsv2")
    create_app(
        flink, fresh_sandbox.account_id, "payments", (net.subnet_a, net.subnet_b), (net.group,)
    )
    return AppRef(fresh_sandbox.account_id, fresh_sandbox.region, "payments")


def findings(aws: Aws, app: AppRef, settings: Settings | None = None) -> tuple[Drift, ...]:
    """Observe and check exactly as a reconcile does."""
    settings = settings or Settings()
    detail, tags = describe(aws, app)
    return RULE.check(settings, observe(app, detail, tags, [(RULE, settings)], aws))


def routes_of(drifts: tuple[Drift, ...]) -> set[tuple[str, str, str, str, str]]:
    keys = ("subnet_id", "route_table_id", "association", "destination", "target")
    return {tuple(d.current[k] for k in keys) for d in drifts}


def test_private_subnets_have_no_finding(daemon_aws: Aws, app: AppRef) -> None:
    assert findings(daemon_aws, app) == ()


def kinds(drifts: tuple[Drift, ...]) -> set[tuple[str, str, str]]:
    return {(d.current["subnet_id"], d.current["destination"], d.current["kind"]) for d in drifts}


def test_a_public_nat_is_internet_egress_and_a_private_one_is_not(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    ec2.create_route(
        RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=net.nat
    )
    assert kinds(findings(daemon_aws, app)) == {
        (s, "0.0.0.0/0", "internet_egress") for s in (net.subnet_a, net.subnet_b)
    }
    assert findings(daemon_aws, app, Settings(internet_egress=False)) == ()
    private = ec2.create_nat_gateway(SubnetId=net.subnet_a, ConnectivityType="private")
    ec2.replace_route(
        RouteTableId=net.main_table,
        DestinationCidrBlock="0.0.0.0/0",
        NatGatewayId=private["NatGateway"]["NatGatewayId"],
    )
    assert findings(daemon_aws, app) == ()


def test_a_deleted_nat_gateways_route_is_a_blackhole(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    ec2.create_route(
        RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=net.nat
    )
    assert findings(daemon_aws, app) != ()
    ec2.delete_nat_gateway(NatGatewayId=net.nat)
    (table,) = ec2.describe_route_tables(RouteTableIds=[net.main_table])["RouteTables"]
    assert {r.get("NatGatewayId"): r["State"] for r in table["Routes"]}[net.nat] == "blackhole"
    assert findings(daemon_aws, app) == ()


@pytest.mark.parametrize(
    "cidrs",
    [("0.0.0.0/1", "128.0.0.0/1"), ("52.0.0.0/8",), ("::/1", "8000::/1")],
    ids=["split-default", "public-/8", "split-ipv6"],
)
def test_routes_to_public_space_other_than_default_are_found(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any, cidrs: tuple[str, ...]
) -> None:
    for cidr in cidrs:
        key = "DestinationIpv6CidrBlock" if ":" in cidr else "DestinationCidrBlock"
        ec2.create_route(RouteTableId=net.main_table, GatewayId=net.igw, **{key: cidr})
    assert kinds(findings(daemon_aws, app)) == {
        (s, c, "internet_route") for s in (net.subnet_a, net.subnet_b) for c in cidrs
    }


def test_private_space_and_endpoints_are_not_internet(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    ec2.create_route(
        RouteTableId=net.main_table, DestinationCidrBlock="10.0.0.0/8", GatewayId=net.igw
    )
    ec2.create_vpc_endpoint(
        VpcId=net.vpc,
        ServiceName=f"com.amazonaws.{ec2.meta.region_name}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[net.main_table],
    )
    assert findings(daemon_aws, app) == ()


def test_a_prefix_list_to_the_gateway_counts_once_it_holds_public_space(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    listed = ec2.create_managed_prefix_list(
        PrefixListName="partners",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "192.168.0.0/16"}],
    )["PrefixList"]["PrefixListId"]
    ec2.create_route(RouteTableId=net.main_table, DestinationPrefixListId=listed, GatewayId=net.igw)
    assert findings(daemon_aws, app) == ()
    ec2.modify_managed_prefix_list(
        PrefixListId=listed, CurrentVersion=1, AddEntries=[{"Cidr": "52.0.0.0/8"}]
    )
    drifts = findings(daemon_aws, app)
    assert kinds(drifts) == {(s, listed, "internet_route") for s in (net.subnet_a, net.subnet_b)}
    assert all("prefix list" in d.message and "partners" in d.message for d in drifts)


def test_a_network_acl_denying_all_egress_suppresses_the_finding_when_asked(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    ec2.create_route(
        RouteTableId=net.main_table, DestinationCidrBlock="52.0.0.0/8", GatewayId=net.igw
    )
    (acl,) = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [net.subnet_a]}]
    )["NetworkAcls"]
    ec2.create_network_acl_entry(
        NetworkAclId=acl["NetworkAclId"],
        RuleNumber=50,
        Protocol="-1",
        RuleAction="deny",
        Egress=True,
        CidrBlock="52.0.0.0/8",
    )
    on = Settings(network_acls=True)
    assert len(findings(daemon_aws, app)) == 2  # off by default
    assert findings(daemon_aws, app, on) == ()  # both subnets use the VPC's default ACL
    ec2.delete_network_acl_entry(NetworkAclId=acl["NetworkAclId"], RuleNumber=50, Egress=True)
    assert len(findings(daemon_aws, app, on)) == 2


def test_explicit_table_versus_main_table(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    public = ec2.create_route_table(VpcId=net.vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=net.igw)
    ec2.associate_route_table(RouteTableId=public, SubnetId=net.subnet_a)
    assert routes_of(findings(daemon_aws, app)) == {
        (net.subnet_a, public, "explicit", "0.0.0.0/0", net.igw)
    }
    # The main table only matters to subnets without an explicit association.
    ec2.create_route(
        RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=net.igw
    )
    assert routes_of(findings(daemon_aws, app)) == {
        (net.subnet_a, public, "explicit", "0.0.0.0/0", net.igw),
        (net.subnet_b, net.main_table, "main", "0.0.0.0/0", net.igw),
    }


def test_ipv6_routes_to_internet_and_egress_only_gateways(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    ec2.create_route(
        RouteTableId=net.main_table,
        DestinationIpv6CidrBlock="::/0",
        EgressOnlyInternetGatewayId=net.eigw,
    )
    drifts = findings(daemon_aws, app)
    assert routes_of(drifts) == {
        (s, net.main_table, "main", "::/0", net.eigw) for s in (net.subnet_a, net.subnet_b)
    }
    assert findings(daemon_aws, app, Settings(egress_only_gateways=False)) == ()
    ec2.replace_route(
        RouteTableId=net.main_table, DestinationIpv6CidrBlock="::/0", GatewayId=net.igw
    )
    assert {
        r[4] for r in routes_of(findings(daemon_aws, app, Settings(egress_only_gateways=False)))
    } == {net.igw}


def test_an_association_change_flips_the_result(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    public = ec2.create_route_table(VpcId=net.vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=net.igw)
    private = ec2.create_route_table(VpcId=net.vpc)["RouteTable"]["RouteTableId"]
    association = ec2.associate_route_table(RouteTableId=private, SubnetId=net.subnet_b)[
        "AssociationId"
    ]
    assert findings(daemon_aws, app) == ()
    association = ec2.replace_route_table_association(
        AssociationId=association, RouteTableId=public
    )["NewAssociationId"]
    assert routes_of(findings(daemon_aws, app)) == {
        (net.subnet_b, public, "explicit", "0.0.0.0/0", net.igw)
    }
    ec2.disassociate_route_table(AssociationId=association)  # back to the private main table
    assert findings(daemon_aws, app) == ()


def test_routes_to_a_detached_gateway_are_blackhole_and_ignored(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    ec2.create_route(
        RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=net.igw
    )
    assert findings(daemon_aws, app) != ()
    ec2.detach_internet_gateway(InternetGatewayId=net.igw, VpcId=net.vpc)
    assert findings(daemon_aws, app) == ()


def test_one_route_table_listing_per_vpc(
    daemon_aws: Aws, app: AppRef, fresh_sandbox: Sandbox
) -> None:
    before = len([c for c in fresh_sandbox.calls() if c.operation == "DescribeRouteTables"])
    findings(daemon_aws, app)  # two subnets, one VPC
    after = len([c for c in fresh_sandbox.calls() if c.operation == "DescribeRouteTables"])
    assert after - before == 1


def test_open_security_group_egress_when_asked(daemon_aws: Aws, app: AppRef, net: Network) -> None:
    # A new security group allows all egress, as on AWS.
    (drift,) = findings(daemon_aws, app, Settings(security_group_egress=True))
    assert drift.field == f"SecurityGroup.{net.group}.Egress"
    assert findings(daemon_aws, app) == ()


def violation(app: AppRef) -> float | None:
    return metrics.REGISTRY.get_sample_value(
        "flink_remediator_violation_active",
        {"account": app.account, "region": app.region, "application": app.name, "rule": RULE.id},
    )


def test_a_route_raises_the_violation_and_its_removal_clears_it(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any
) -> None:
    reconciler = Reconciler(lambda _: daemon_aws, lambda a, t: [(RULE, Settings(), "alert")])
    assert reconciler.reconcile(app, Cause("sweep")).result == "in_sync"
    assert violation(app) is None  # a compliant app has no series
    ec2.create_route(
        RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=net.igw
    )
    result = reconciler.reconcile(app, Cause("event", "evt-1", "arn:aws:iam::1:user/mallory"))
    assert result.result == "drift"
    assert [o.outcome for o in result.outcomes] == ["alerted"]
    assert violation(app) == 1
    ec2.delete_route(RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0")
    assert reconciler.reconcile(app, Cause("event", "evt-2")).result == "in_sync"
    assert violation(app) is None


def test_the_topic_hears_of_a_violation_once_and_again_when_it_returns(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any, aws: Callable[..., Any]
) -> None:
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name="vpc-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="vpc-alerts-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=inbox_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    template = "arn:aws:sns:{region}:{account}:vpc-alerts"
    assert template.format(region=app.region, account=app.account) == topic
    settings = Settings(sns_topic_arn=template)
    reconciler = Reconciler(lambda _: daemon_aws, lambda a, t: [(RULE, settings, "alert")])

    def received() -> list[str]:
        messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
        for m in messages:
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=m["ReceiptHandle"])
        return [m["Body"] for m in messages]

    def route_to_igw() -> None:
        ec2.create_route(
            RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=net.igw
        )

    route_to_igw()
    reconciler.reconcile(app, Cause("event", "evt-1", "arn:aws:iam::1:user/mallory"))
    (body,) = received()
    assert net.subnet_a in body and net.main_table in body and net.igw in body
    assert "arn:aws:iam::1:user/mallory" in body and "evt-1" in body
    reconciler.reconcile(app, Cause("sweep"))  # still open, nothing new: no second message
    assert received() == []
    ec2.delete_route(RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0")
    reconciler.reconcile(app, Cause("sweep"))
    route_to_igw()
    reconciler.reconcile(app, Cause("sweep"))
    assert len(received()) == 1


def test_no_notification_in_dry_run_and_a_failed_publish_does_not_fail_the_reconcile(
    daemon_aws: Aws, app: AppRef, net: Network, ec2: Any, fresh_sandbox: Sandbox
) -> None:
    ec2.create_route(
        RouteTableId=net.main_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=net.igw
    )
    missing = Settings(sns_topic_arn="arn:aws:sns:{region}:{account}:no-such-topic")

    def publishes() -> int:
        return len([c for c in fresh_sandbox.calls() if c.operation == "Publish"])

    dry = Reconciler(lambda _: daemon_aws, lambda a, t: [(RULE, missing, "alert")], dry_run=True)
    assert dry.reconcile(app, Cause("sweep")).result == "drift"
    assert publishes() == 0
    live = Reconciler(lambda _: daemon_aws, lambda a, t: [(RULE, missing, "alert")])
    assert live.reconcile(app, Cause("sweep")).result == "drift"
    assert violation(app) == 1
    live.reconcile(app, Cause("sweep"))  # not remembered as sent: tried again
    assert publishes() == 2
