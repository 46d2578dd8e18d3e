"""The demo's scripted user (alice): every few seconds she changes something the desired state
forbids, through the sandbox as herself, so CloudTrail events reach the daemon."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable
from typing import Any

import boto3


def actor_steps(info: dict[str, Any]) -> list[tuple[str, Callable[[Any, Any], None]]]:
    """What alice does, in a loop. Each step is (description, action(flink, ec2))."""
    net = info.get("network", {})
    private_table: dict[str, str] = {}

    def delete_logging(flink: Any, ec2: Any) -> None:
        detail = flink.describe_application(ApplicationName="payments-enricher")[
            "ApplicationDetail"
        ]
        for option in detail.get("CloudWatchLoggingOptionDescriptions", []):
            flink.delete_application_cloud_watch_logging_option(
                ApplicationName="payments-enricher",
                CurrentApplicationVersionId=detail["ApplicationVersionId"],
                CloudWatchLoggingOptionId=option["CloudWatchLoggingOptionId"],
            )

    def quiet_monitoring(flink: Any, ec2: Any) -> None:
        detail = flink.describe_application(ApplicationName="fraud-scorer")["ApplicationDetail"]
        flink.update_application(
            ApplicationName="fraud-scorer",
            CurrentApplicationVersionId=detail["ApplicationVersionId"],
            ApplicationConfigurationUpdate={
                "FlinkApplicationConfigurationUpdate": {
                    "MonitoringConfigurationUpdate": {"ConfigurationTypeUpdate": "DEFAULT"}
                }
            },
        )

    def public_route(flink: Any, ec2: Any) -> None:
        tables = ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [net["private_subnet_id"]]}]
        )["RouteTables"]
        gateways = ec2.describe_internet_gateways()["InternetGateways"]
        private_table["id"] = tables[0]["RouteTableId"]
        ec2.create_route(
            RouteTableId=private_table["id"],
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=gateways[0]["InternetGatewayId"],
        )

    def private_again(flink: Any, ec2: Any) -> None:
        ec2.delete_route(RouteTableId=private_table["id"], DestinationCidrBlock="0.0.0.0/0")

    steps: list[tuple[str, Callable[[Any, Any], None]]] = [
        ("deletes the logging option of payments-enricher", delete_logging),
        ("switches fraud-scorer's monitoring back to DEFAULT", quiet_monitoring),
    ]
    if net.get("private_subnet_id"):
        steps += [
            ("routes the private subnet 0.0.0.0/0 to the internet gateway", public_route),
            ("deletes the private subnet's route to the internet gateway", private_again),
        ]
    return steps


def run_actor(info: dict[str, Any], every: float, stop: threading.Event) -> None:
    keys = info["principals"]["actor"]
    session = boto3.session.Session(
        aws_access_key_id=keys["aws_access_key_id"],
        aws_secret_access_key=keys["aws_secret_access_key"],
        region_name=info["region"],
    )
    flink = session.client("kinesisanalyticsv2", endpoint_url=info["endpoint_url"])
    ec2 = session.client("ec2", endpoint_url=info["endpoint_url"])
    for description, step in itertools.cycle(actor_steps(info)):
        if stop.wait(every):
            return
        try:
            step(flink, ec2)
            print(f"\n>>> actor {keys['user_name']} {description}\n", file=sys.stderr, flush=True)
        except Exception as exc:  # the demo goes on whatever one step does
            print(f"\n>>> actor step failed ({description}): {exc}\n", file=sys.stderr)
