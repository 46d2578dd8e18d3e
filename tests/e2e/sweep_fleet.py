"""Several `run` replicas sharing queue sweeps over a seeded fleet (tests/e2e/test_queue_sweeps.py
and benchmarks/queue_sweeps.py): each replica is its own session of one role (as pods of one
deployment are), so the sandbox's call record says which replica made each call (the session
ARN) while SQS's SenderId (the role id) says the daemon sent the work messages. The fleet is
benchmarks/fleet.py's, seeded in process."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import fleet
from sandbox.scheduler import create_sweep_schedules
from sandbox.server import Sandbox
from sandbox.testing import Credentials, client
from tests.harness import DaemonProcess, Target

RATE_MINUTES = 15
ROLE = "flink-remediator"  # the replicas' role (hub.yaml's DaemonRoleName)
# A killed replica's messages come back within this. Not shorter: the heartbeat (every third of
# it) must keep a live replica's messages invisible on a loaded machine; at 5 s a beat late by
# 2 s let messages reappear while their holder worked (swept twice, 1,518 describes for 1,500).
VISIBILITY_SECONDS = 30
# No app newly swept for this long: the sweep stopped (lost messages, stuck replicas). Far above
# a killed replica's visibility timeout and a message's ten reconciles, however loaded.
STALL_SECONDS = 120.0
POLL_SECONDS = 1.0


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

    def wait_swept(self, stall: float = STALL_SECONDS) -> None:
        """Wait while the sweep makes progress: every app swept, then the queue drained. Fails
        once nothing moved for `stall` seconds (messages lost, replicas stuck), not after a
        fixed total: how long 1,500 reconciles take depends on the machine's load (two
        replicas: 70 to 220 s on two shared cores)."""
        _wait_progress(lambda: len(self.swept()), self.apps, stall, "every app swept")
        _wait_progress(lambda: -self.queue_depth(), 0, stall, "the queue drained")

    def queue_depth(self) -> int:
        """Messages on the queue, visible or in flight."""
        sqs = client(self.sandbox.endpoint_url, self.sandbox.region, "sqs")
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = sqs.get_queue_attributes(QueueUrl=self.sandbox.queue_url, AttributeNames=names)
        return sum(int(found["Attributes"][n]) for n in names)

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


def _wait_progress(measure: Callable[[], int], target: int, stall: float, what: str) -> None:
    """Until `measure()` reaches `target`; AssertionError once it has not grown for `stall` s."""
    best, deadline = measure(), time.monotonic() + stall
    while best < target:
        time.sleep(POLL_SECONDS)  # a look may parse every replica's whole log
        value = measure()
        if value > best:
            best, deadline = value, time.monotonic() + stall
        elif time.monotonic() > deadline:
            raise AssertionError(f"no progress for {stall} s waiting for {what} (at {value})")
