"""`demo` (what `make run` starts): the sandbox, the daemon against it, and a scripted actor.

A newcomer sees, in readable log lines, a human (alice) change things every few seconds and the
daemon notice the CloudTrail event and fix the drift (or alert on it). Ctrl-C stops all three.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import boto3

from daemon.commands import exits
from daemon.commands.interrupts import Interrupts
from daemon.desired.loader import load_config

# config/desired-state.example.yaml, shipped in the wheel as package data (daemon.bundled).
DEFAULT_CONFIG = files("daemon.bundled") / "desired-state.example.yaml"

FORCED = "forced exit on a second Ctrl-C: the daemon and the sandbox were killed"
SHUTDOWN_LIMIT_SECONDS = 60.0
DELIVERY_DELAY = (
    "--delivery-delay-seconds",
    "3",
)  # the daemon's own limit is its grace period + 15 s


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo", help="sandbox + daemon + a scripted actor making drift (what `make run` runs)"
    )
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="desired-state YAML file")
    p.add_argument("--port", type=_tcp_port, default=4566, help="sandbox port")
    p.add_argument("--metrics-port", type=_tcp_port, default=8080)
    p.add_argument("--every", type=float, default=8.0, help="seconds between the actor's changes")
    p.add_argument("--no-actor", action="store_true", help="only the sandbox and the daemon")
    p.set_defaults(func=demo)


def _tcp_port(text: str) -> int:
    """An argparse type: 1..65535, checked here rather than by the children it is passed to."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1..65535)")
    return int(text)


def _actor_steps(info: dict[str, Any]) -> list[tuple[str, Callable[[Any, Any], None]]]:
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


def _run_actor(info: dict[str, Any], every: float, stop: threading.Event) -> None:
    keys = info["principals"]["actor"]
    session = boto3.session.Session(
        aws_access_key_id=keys["aws_access_key_id"],
        aws_secret_access_key=keys["aws_secret_access_key"],
        region_name=info["region"],
    )
    flink = session.client("kinesisanalyticsv2", endpoint_url=info["endpoint_url"])
    ec2 = session.client("ec2", endpoint_url=info["endpoint_url"])
    for description, step in itertools.cycle(_actor_steps(info)):
        if stop.wait(every):
            return
        try:
            step(flink, ec2)
            print(f"\n>>> actor {keys['user_name']} {description}\n", file=sys.stderr, flush=True)
        except Exception as exc:  # the demo goes on whatever one step does
            print(f"\n>>> actor step failed ({description}): {exc}\n", file=sys.stderr)


def demo(args: argparse.Namespace) -> int:
    # A broken --config would only fail inside the daemon's child, after the sandbox started:
    # check it first (a ConfigError becomes its `error:` lines in daemon/cli.py).
    load_config(str(args.config))
    # The children get their own session, so a terminal's Ctrl-C reaches only this process,
    # which stops them in order (the daemon first, to finish its work, then the sandbox).
    children: list[subprocess.Popen[str]] = []

    def kill_children() -> None:
        for child in children:
            with contextlib.suppress(OSError):
                os.kill(child.pid, signal.SIGKILL)

    interrupts = Interrupts(FORCED, on_force=kill_children)
    interrupts.install()
    exe = [sys.executable, "-m", "daemon.cli"]
    sandbox = subprocess.Popen(
        # CloudTrail events reach EventBridge late in AWS (typically minutes): a few seconds here.
        [*exe, "sandbox", "serve", "--demo", "--port", str(args.port), *DELIVERY_DELAY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    children.append(sandbox)
    assert sandbox.stdout is not None
    line = sandbox.stdout.readline()
    if not line:
        sandbox.wait()
        return exits.fail(
            f"the sandbox did not start: is --port {args.port} free?", exits.UNAVAILABLE
        )
    info = json.loads(line)
    daemon_keys = info["principals"]["daemon"]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": info["endpoint_url"],
        "AWS_REGION": info["region"],
        "AWS_ACCESS_KEY_ID": daemon_keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": daemon_keys["aws_secret_access_key"],
    }
    print(f"sandbox at {info['endpoint_url']}, metrics at :{args.metrics_port}/metrics", flush=True)
    daemon = subprocess.Popen(
        [
            *exe,
            "run",
            "--config",
            args.config,
            "--queue-url",
            info["queue_url"],
            "--region",
            info["region"],
            "--metrics-port",
            str(args.metrics_port),
            "--sweep-interval-seconds",
            "60",
            "--poll-wait-seconds",
            "2",
            "--log-format",
            "console",
        ],
        env=env,
        start_new_session=True,
        text=True,
    )
    children.append(daemon)
    stop = threading.Event()
    if not args.no_actor:
        threading.Thread(target=_run_actor, args=(info, args.every, stop), daemon=True).start()
    while not interrupts.requested() and daemon.poll() is None:
        time.sleep(0.5)
    stop.set()
    if interrupts.requested():
        print("\nstopping the daemon and the sandbox (Ctrl-C again to force)", file=sys.stderr)
        interrupts.watchdog(SHUTDOWN_LIMIT_SECONDS)

    def stop_children() -> None:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        daemon.wait()
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait()

    interrupts.run_stop(stop_children)
    return exits.OK if daemon.returncode == 0 else daemon.returncode
