"""The kinds of side change that `benchmarks.side_changes` makes, one watched app each.

Per kind: the rule that judges it, an app compliant with that rule (`make_app`: its own
execution role whose trust names it, log group and stream, a `team` tag, a VPC of its own for
routes) and the change itself (`change`), made over the API as an outsider would. The kinds
whose change a sweep can miss with its event lost are LOST, those also shown with their event
delivered are DELIVERED (docs/performance.md "List and watch").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks import fleet
from sandbox.server import Sandbox
from sandbox.testing import client, execution_role
from tests.vpc_factories import build_network

LOST = ("tags", "log group deleted", "log stream deleted", "role trust", "policy", "route")
DELIVERED = ("tags", "role trust", "policy", "route")
RULE = {
    "tags": "required_tags",
    "log group deleted": "cloudwatch_logging",
    "log stream deleted": "cloudwatch_logging",
    "role trust": "execution_role_trust",
    "policy": "execution_role_permissions",
    "route": "vpc_public_route",
}
CONFIG = """version: 1
accounts: ["{account}"]
regions: [{region}]
rules:
{rules}"""


@dataclass
class Watched:
    kind: str
    name: str
    role: str
    route_table: str = ""
    igw: str = ""

    @property
    def group(self) -> str:
        return fleet.GROUP.format(name=self.name)


def config_text(sandbox: Sandbox) -> str:
    from remediations import REGISTRY

    wanted = {
        "cloudwatch_logging": "{}",
        "required_tags": "{tags: {team: {}}}",
        "vpc_public_route": "{}",
        "execution_role_trust": "{}",
        "execution_role_permissions": "{strategy: alert}",
    }
    lines = [f"  {r.id}: {wanted.get(r.id, '{enabled: false}')}" for r in REGISTRY]
    return CONFIG.format(account=sandbox.account_id, region=sandbox.region, rules="\n".join(lines))


def make_app(sandbox: Sandbox, kind: str, name: str, cidr: str) -> Watched:
    """One app compliant with its kind's rule: own role (trust with the confused-deputy
    conditions naming it), log group and stream, tag `team`; a VPC of its own for routes."""
    region, account = sandbox.region, sandbox.account_id
    c: Callable[[str], Any] = lambda s: client(sandbox.endpoint_url, region, s)  # noqa: E731
    role = execution_role(c("iam"), f"side-{name}")
    c("logs").create_log_group(logGroupName=fleet.GROUP.format(name=name))
    c("logs").create_log_stream(
        logGroupName=fleet.GROUP.format(name=name), logStreamName=fleet.STREAM
    )
    group = fleet.GROUP.format(name=name)
    stream = f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{fleet.STREAM}"
    configuration: dict[str, Any] = {"FlinkApplicationConfiguration": fleet.monitoring(1)}
    watched = Watched(kind, name, role.rsplit("/", 1)[-1])
    if kind == "route":
        net = build_network(c("ec2"), region, cidr)
        configuration["VpcConfigurations"] = [
            {"SubnetIds": [net.subnet_a], "SecurityGroupIds": [net.group]}
        ]
        watched.route_table, watched.igw = net.main_table, net.igw
    c("kinesisanalyticsv2").create_application(
        ApplicationName=name,
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=role,
        CloudWatchLoggingOptions=[{"LogStreamARN": stream}],
        ApplicationConfiguration=configuration,
        Tags=[{"Key": "team", "Value": "bench"}],
    )
    app_arn = f"arn:aws:kinesisanalytics:{region}:{account}:application/{name}"
    c("iam").update_assume_role_policy(
        RoleName=watched.role, PolicyDocument=json.dumps(trust(account, app_arn))
    )
    return watched


def trust(account: str, app_arn: str | None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if app_arn:
        statement["Condition"] = {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnEquals": {"aws:SourceArn": [app_arn]},
        }
    return {"Version": "2012-10-17", "Statement": [statement]}


def change(sandbox: Sandbox, w: Watched) -> None:
    """The kind's change, made over the API as an outsider would."""
    c: Callable[[str], Any] = lambda s: client(sandbox.endpoint_url, sandbox.region, s)  # noqa: E731
    app_arn = f"arn:aws:kinesisanalytics:{sandbox.region}:{sandbox.account_id}:application/{w.name}"
    if w.kind == "tags":
        c("kinesisanalyticsv2").untag_resource(ResourceARN=app_arn, TagKeys=["team"])
    elif w.kind == "log group deleted":
        c("logs").delete_log_group(logGroupName=w.group)
    elif w.kind == "log stream deleted":
        c("logs").delete_log_stream(logGroupName=w.group, logStreamName=fleet.STREAM)
    elif w.kind == "role trust":
        doc = json.dumps(trust(sandbox.account_id, None))
        c("iam").update_assume_role_policy(RoleName=w.role, PolicyDocument=doc)
    elif w.kind == "policy":
        admin = "arn:aws:iam::aws:policy/AdministratorAccess"
        c("iam").attach_role_policy(RoleName=w.role, PolicyArn=admin)
    elif w.kind == "route":
        c("ec2").create_route(
            RouteTableId=w.route_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=w.igw
        )
