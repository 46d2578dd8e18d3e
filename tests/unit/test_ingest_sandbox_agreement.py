"""The parser agrees with the sandbox's CloudTrail emitter: real calls over HTTP, the envelopes
that reach the SQS queue, and the targets parse() reads from them (uses the session sandbox)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from daemon.ingest.events import Hint, parse
from daemon.ingest.identity import OwnIdentity
from sandbox.server import Sandbox
from sandbox.testing import Credentials, execution_role, receive_envelopes, wait_for_status

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
    }
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def hints(sandbox: Sandbox, sqs: Any) -> dict[str, list[Hint]]:
    """Every envelope on the queue, parsed; all of them must be accepted."""
    found: dict[str, list[Hint]] = {}
    for envelope in receive_envelopes(sqs, sandbox.queue_url, wait_seconds=1):
        name = envelope["detail"]["eventName"]
        hint = parse(
            json.dumps(envelope),
            accounts=frozenset({sandbox.account_id}),
            regions=frozenset({sandbox.region}),
            event_names=frozenset({name}),
        )
        found.setdefault(name, []).append(hint)
    return found


def test_ec2_route_events(
    fresh_sandbox: Sandbox, aws: Callable[..., Any], iam_user: Callable[..., Credentials]
) -> None:
    user = iam_user("route-admin")
    ec2 = aws("ec2", user)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    rtb2 = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.replace_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.delete_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0")
    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)["AssociationId"]
    new_assoc = ec2.replace_route_table_association(AssociationId=assoc, RouteTableId=rtb2)[
        "NewAssociationId"
    ]
    ec2.disassociate_route_table(AssociationId=new_assoc)
    ec2.delete_route_table(RouteTableId=rtb)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)

    found = hints(fresh_sandbox, aws("sqs"))
    assert {h.route_table_ids for h in found["CreateRouteTable"]} == {(rtb,), (rtb2,)}
    assert all(h.vpc_ids == (vpc,) for h in found["CreateRouteTable"])
    for name in ("CreateRoute", "ReplaceRoute", "DeleteRoute", "DeleteRouteTable"):
        assert [h.route_table_ids for h in found[name]] == [(rtb,)], name
    [associate] = found["AssociateRouteTable"]
    assert (associate.route_table_ids, associate.subnet_ids, associate.association_ids) == (
        (rtb,),
        (subnet,),
        (assoc,),
    )
    [replace] = found["ReplaceRouteTableAssociation"]
    assert replace.route_table_ids == (rtb2,)
    assert set(replace.association_ids) == {assoc, new_assoc}
    assert [h.association_ids for h in found["DisassociateRouteTable"]] == [(new_assoc,)]
    [detach] = found["DetachInternetGateway"]
    assert (detach.internet_gateway_ids, detach.vpc_ids) == ((igw,), (vpc,))
    assert all(
        h.actor == user.arn and h.actor_type == "IAMUser" for hs in found.values() for h in hs
    )


def test_ec2_internet_path_events(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> None:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    listed = ec2.create_managed_prefix_list(
        PrefixListName="p", MaxEntries=2, AddressFamily="IPv4", Entries=[{"Cidr": "52.0.0.0/8"}]
    )["PrefixList"]["PrefixListId"]
    ec2.modify_managed_prefix_list(
        PrefixListId=listed, CurrentVersion=1, AddEntries=[{"Cidr": "54.0.0.0/8"}]
    )
    (default_acl,) = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet]}]
    )["NetworkAcls"]
    association = default_acl["Associations"][0]["NetworkAclAssociationId"]
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    entry = {"NetworkAclId": acl, "RuleNumber": 10, "Egress": True}
    ec2.create_network_acl_entry(**entry, Protocol="-1", RuleAction="deny", CidrBlock="0.0.0.0/0")
    ec2.replace_network_acl_entry(**entry, Protocol="-1", RuleAction="allow", CidrBlock="0.0.0.0/0")
    ec2.delete_network_acl_entry(**entry)
    ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl)

    found = hints(fresh_sandbox, aws("sqs"))
    [attach] = found["AttachInternetGateway"]
    assert (attach.internet_gateway_ids, attach.vpc_ids) == ((igw,), (vpc,))
    [create] = found["CreateNatGateway"]
    assert (create.nat_gateway_ids, create.vpc_ids) == ((nat["NatGatewayId"],), (vpc,))
    assert [h.nat_gateway_ids for h in found["DeleteNatGateway"]] == [(nat["NatGatewayId"],)]
    assert [h.prefix_list_ids for h in found["ModifyManagedPrefixList"]] == [(listed,)]
    for name in (
        "CreateNetworkAclEntry",
        "ReplaceNetworkAclEntry",
        "DeleteNetworkAclEntry",
        "ReplaceNetworkAclAssociation",
    ):
        assert [h.network_acl_ids for h in found[name]] == [(acl,)], name


def test_iam_role_events(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> None:
    iam = aws("iam")
    iam.create_role(RoleName="flink-exec", AssumeRolePolicyDocument=TRUST)
    policy = iam.create_policy(PolicyName="logs", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.put_role_policy(RoleName="flink-exec", PolicyName="inline", PolicyDocument=POLICY)
    iam.delete_role_policy(RoleName="flink-exec", PolicyName="inline")
    iam.attach_role_policy(RoleName="flink-exec", PolicyArn=policy)
    iam.detach_role_policy(RoleName="flink-exec", PolicyArn=policy)
    iam.update_assume_role_policy(RoleName="flink-exec", PolicyDocument=TRUST)
    iam.put_role_permissions_boundary(RoleName="flink-exec", PermissionsBoundary=policy)
    iam.delete_role_permissions_boundary(RoleName="flink-exec")
    iam.create_policy_version(PolicyArn=policy, PolicyDocument=POLICY, SetAsDefault=False)
    iam.set_default_policy_version(PolicyArn=policy, VersionId="v2")

    found = hints(fresh_sandbox, aws("sqs"))
    for name in (
        "PutRolePolicy",
        "DeleteRolePolicy",
        "UpdateAssumeRolePolicy",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
    ):
        assert [h.role_names for h in found[name]] == [("flink-exec",)], name
    for name in ("AttachRolePolicy", "DetachRolePolicy"):
        assert [(h.role_names, h.policy_arns) for h in found[name]] == [
            (("flink-exec",), (policy,))
        ], name
    for name in ("CreatePolicyVersion", "SetDefaultPolicyVersion"):
        assert [h.policy_arns for h in found[name]] == [(policy,)], name
    # Recorded in us-east-1 and accepted although only the sandbox's region is configured.
    assert all(h.region == "us-east-1" and h.is_global for hs in found.values() for h in hs)


def test_flink_events(fresh_sandbox: Sandbox, aws: Callable[..., Any]) -> None:
    flink = aws("kinesisanalyticsv2")
    role = execution_role(aws("iam"), "flink-exec")
    arn = flink.create_application(
        ApplicationName="orders", RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=role
    )["ApplicationDetail"]["ApplicationARN"]
    flink.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "payments"}])
    flink.untag_resource(ResourceARN=arn, TagKeys=["team"])
    wait_for_status(flink, "orders", "READY")
    flink.start_application(ApplicationName="orders")
    wait_for_status(flink, "orders", "RUNNING")
    flink.stop_application(ApplicationName="orders")

    found = hints(fresh_sandbox, aws("sqs"))
    assert set(found) >= {
        "CreateApplication",
        "TagResource",
        "UntagResource",
        "StartApplication",
        "StopApplication",
    }
    assert all(h.app_names == ("orders",) for hs in found.values() for h in hs)
    # The dummy key's events are recognised as caused by whoever GetCallerIdentity says it is.
    own = OwnIdentity.from_caller_identity(aws("sts").get_caller_identity()["Arn"])
    assert all(own.caused(h) for hs in found.values() for h in hs)


def test_assumed_role_sessions_are_recognised_across_session_names(
    fresh_sandbox: Sandbox, aws: Callable[..., Any]
) -> None:
    iam = aws("iam")
    role = iam.create_role(
        RoleName="remediator", Path="/platform/", AssumeRolePolicyDocument=TRUST
    )["Role"]["Arn"]
    sts = aws("sts")
    own_arn = sts.assume_role(RoleArn=role, RoleSessionName="pod-a")["AssumedRoleUser"]["Arn"]
    key = sts.assume_role(RoleArn=role, RoleSessionName="pod-b")["Credentials"]
    session = Credentials(key["AccessKeyId"], key["SecretAccessKey"], key["SessionToken"])
    aws("ec2", session).create_route_table(
        VpcId=aws("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    )

    [hint] = hints(fresh_sandbox, aws("sqs"))["CreateRouteTable"]
    assert hint.actor_type == "AssumedRole" and hint.actor.endswith("/remediator/pod-b")
    assert hint.actor_issuer_arn == role
    assert OwnIdentity.from_caller_identity(own_arn).caused(hint)
    assert not OwnIdentity.from_caller_identity(aws("sts").get_caller_identity()["Arn"]).caused(
        hint
    )
