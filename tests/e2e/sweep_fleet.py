"""Several `run` replicas sharing queue sweeps over a seeded fleet (tests/e2e/test_queue_sweeps.py
and benchmarks/queue_sweeps.py): each replica is its own session of one role (as pods of one
deployment are), so the sandbox's call record says which replica made each call (the session
ARN) while SQS's SenderId (the role id) says the daemon sent the work messages. The fleet is
benchmarks/fleet.py's, seeded in process."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks import fleet
from sandbox.scheduler import create_sweep_schedules
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client
from tests.harness import DaemonProcess, Target, wait_until

RATE_MINUTES = 15
ROLE = "flink-remediator"  # the replicas' role (hub.yaml's DaemonRoleName)
VISIBILITY_SECONDS = 5  # a killed replica's messages come back this soon


class Replicas:
    def __init__(self, sandbox: Sandbox, folder: Path, count: int, apps: int) -> None:
        self.sandbox, self.apps = sandbox, apps
        self.names = fleet.seed_in_process(sandbox, apps)
        config = folder / "desired.yaml"
        config.write_text(fleet.logging_only_config(sandbox.account_id, sandbox.region))
        queue_arn = (
            f"arn:aws:sqs:{sandbox.region}:{sandbox.account_id}:"
            + (sandbox.queue_url.rsplit("/", 1)[-1])
        )

        def make(service: str) -> Any:
            return client(sandbox.endpoint_url, sandbox.region, service)

        create_sweep_schedules(
            make, queue_arn, [(sandbox.account_id, sandbox.region)], RATE_MINUTES
        )
        sandbox.middleware.schedules.pump()  # seen now: first due one rate from now
        iam, sts = make("iam"), make("sts")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{sandbox.account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        self.arns: list[str] = []
        self.daemons: list[DaemonProcess] = []
        for n in range(count):
            session = sts.assume_role(
                RoleArn=role["Role"]["Arn"], RoleSessionName=f"replica-{n}", DurationSeconds=43200
            )
            self.arns.append(session["AssumedRoleUser"]["Arn"])
            found = session["Credentials"]
            keys = Credentials(
                found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"]
            )
            self.daemons.append(
                DaemonProcess(
                    Target.of(sandbox, keys),
                    config,
                    folder / f"replica{n}.log",
                    *("--sweep-source", "queue", "--dry-run", "--workers", "8"),
                    *("--visibility-timeout-seconds", str(VISIBILITY_SECONDS)),
                    *("--debounce-seconds", "0.2"),
                )
            )
        for daemon in self.daemons:
            daemon.wait_for("inventory_indexed", timeout=600)
        sandbox.middleware.calls.clear()

    def tick(self) -> float:
        """Move the sandbox clock one rate on: the schedule fires; the time it fired."""
        schedules = self.sandbox.middleware.schedules
        before = sum(schedules.fired().values())
        self.sandbox.advance_clock(RATE_MINUTES * 60)
        schedules.pump()  # now, not at the sandbox's next poll (which may also beat us to it)
        fired = sum(schedules.fired().values()) - before
        assert fired == 1, f"the schedule fired {fired} times"
        return time.perf_counter()

    def swept(self, daemons: list[DaemonProcess] | None = None) -> set[str]:
        """The apps whose work messages were acknowledged, by any of `daemons`."""
        done: set[str] = set()
        for daemon in daemons or self.daemons:
            for record in daemon.events("sweep_work_done"):
                done.update(record["apps"])
        return done

    def wait_swept(self, timeout: float = 300) -> None:
        wait_until(lambda: len(self.swept()) == self.apps, timeout, "every app swept")
        wait_until(self.queue_empty, timeout, "the queue drained")

    def queue_empty(self) -> bool:
        sqs = client(self.sandbox.endpoint_url, self.sandbox.region, "sqs")
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = sqs.get_queue_attributes(QueueUrl=self.sandbox.queue_url, AttributeNames=names)
        return all(int(found["Attributes"][n]) == 0 for n in names)

    def describes(self) -> Counter[str]:
        """DescribeApplication calls since the tick, by replica (0, 1, ...)."""
        by_arn = Counter(
            c.caller_arn
            for c in self.sandbox.calls()
            if c.service == "kinesisanalytics" and c.operation == "DescribeApplication"
        )
        return Counter({str(n): by_arn[arn] for n, arn in enumerate(self.arns)})

    def stop(self) -> None:
        for daemon in self.daemons:
            daemon.stop()


def figures(replicas: Replicas, started: float) -> dict[str, Any]:
    replicas.wait_swept()
    return {"seconds": time.perf_counter() - started, "describes": replicas.describes()}
