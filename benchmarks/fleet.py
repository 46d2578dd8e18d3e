"""Seed a sandbox with N Managed Flink applications for the benchmark suite.

Every app logs to its own group and stream under /aws/kinesis-analytics/ with CUSTOM INFO /
APPLICATION monitoring (in sync for `cloudwatch_logging`), except every tenth app, whose log
level is WARN (drift that `apply` fixes). Apps share 20 execution roles. The sandbox's
per-Region quota (100, as the service's) is raised through its `max_applications` setting.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from daemon.commands.isolated_env import sandbox_environ
from remediations import REGISTRY
from sandbox.flink.operations import handle
from sandbox.server import Sandbox
from sandbox.testing import client, execution_role

GROUP = "/aws/kinesis-analytics/{name}"
STREAM = "kinesis-analytics-log-stream"
ROLES = 20


def client_env(sandbox: Sandbox) -> dict[str, str]:
    """This process's environment, pointed at the sandbox with throwaway keys."""
    return sandbox_environ(os.environ, sandbox.endpoint_url, sandbox.region, "bench", "bench")


def name_of(i: int) -> str:
    return f"app-{i:05d}"


def raise_quota(endpoint_url: str, limit: int) -> None:
    request = urllib.request.Request(
        f"{endpoint_url}/_sandbox/config",
        data=json.dumps({"max_applications": limit, "transition_seconds": 0}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def seed(endpoint_url: str, region: str, queue_url: str, apps: int, workers: int = 8) -> list[str]:
    """Create `apps` applications (and their roles, log groups and streams); their names."""
    raise_quota(endpoint_url, max(apps, 100))
    iam = client(endpoint_url, region, "iam")
    roles = [execution_role(iam, f"flink-bench-{r}") for r in range(ROLES)]
    names = [name_of(i) for i in range(apps)]

    def create(i: int) -> None:
        logs = client(endpoint_url, region, "logs")
        flink = client(endpoint_url, region, "kinesisanalyticsv2")
        name = names[i]
        group = GROUP.format(name=name)
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=STREAM)
        stream_arn = f"arn:aws:logs:{region}:123456789012:log-group:{group}:log-stream:{STREAM}"
        flink.create_application(
            ApplicationName=name,
            RuntimeEnvironment="FLINK-1_20",
            ServiceExecutionRole=roles[i % ROLES],
            CloudWatchLoggingOptions=[{"LogStreamARN": stream_arn}],
            ApplicationConfiguration={"FlinkApplicationConfiguration": monitoring(i)},
        )

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, range(apps)))
    # The seeding's own CloudTrail events are not part of any measurement.
    client(endpoint_url, region, "sqs").purge_queue(QueueUrl=queue_url)
    return names


def seed_in_process(sandbox: Sandbox, apps: int, drift: bool = True) -> list[str]:
    """`seed`'s fleet, made through the in-process sandbox's own backends (moto's CloudWatch
    Logs, our Managed Flink backend with its validation) instead of over HTTP: the same state
    as seen through the API, in seconds instead of minutes, and no CloudTrail events or call
    records. Without `drift` every app is compliant (no WARN app). Only for a `Sandbox`
    running in this process (benchmarks)."""
    from moto.logs.models import logs_backends

    region, account = sandbox.region, sandbox.account_id
    sandbox.middleware.set_max_applications(max(apps, 100))
    sandbox.set_transition_seconds(0)
    iam = client(sandbox.endpoint_url, region, "iam")
    roles = [execution_role(iam, f"flink-bench-{r}") for r in range(ROLES)]
    logs, flink = logs_backends[account][region], sandbox.middleware.flink_backend(region)
    names = [name_of(i) for i in range(apps)]
    for i, name in enumerate(names):
        group = GROUP.format(name=name)
        logs.create_log_group(group, {})
        logs.create_log_stream(group, STREAM)
        stream_arn = f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{STREAM}"
        request = {
            "ApplicationName": name,
            "RuntimeEnvironment": "FLINK-1_20",
            "ServiceExecutionRole": roles[i % ROLES],
            "CloudWatchLoggingOptions": [{"LogStreamARN": stream_arn}],
            "ApplicationConfiguration": {"FlinkApplicationConfiguration": monitoring(i, drift)},
        }
        handle(flink, "CreateApplication", request)
    return names


def monitoring(i: int, drift: bool = True) -> dict[str, Any]:
    level = "WARN" if drift and i % 10 == 0 else "INFO"
    return {
        "MonitoringConfiguration": {
            "ConfigurationType": "CUSTOM",
            "LogLevel": level,
            "MetricsLevel": "APPLICATION",
        }
    }


def logging_only_config(account: str, region: str) -> str:
    """A desired-state YAML with only cloudwatch_logging enabled (the issue's comparison)."""
    lines = ["version: 1", f'accounts: ["{account}"]', f"regions: [{region}]", "rules:"]
    for rule in REGISTRY:
        lines.append(f"  {rule.id}: {{}}" if rule.id == "cloudwatch_logging" else f"  {rule.id}:")
        if rule.id != "cloudwatch_logging":
            lines.append("    enabled: false")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def logging_fleet(apps: int, drift: bool = True) -> Iterator[tuple[Sandbox, list[str], Path]]:
    """An in-process sandbox seeded with `apps` apps (`seed_in_process`), their names and a
    logging-only config file; the sandbox stops on exit."""
    sandbox = Sandbox(port=0).start()
    try:
        names = seed_in_process(sandbox, apps, drift)
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "desired.yaml"
            config.write_text(logging_only_config(sandbox.account_id, sandbox.region))
            yield sandbox, names, config
    finally:
        sandbox.stop()
