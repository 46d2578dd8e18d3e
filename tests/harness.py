"""The one harness for tests that start the sandbox or the daemon, and read what the sandbox saw.

- `SandboxProcess`: `sandbox serve --demo` as its own process (its JSON info line: endpoint,
  region, queue, the demo principals' keys).
- `DaemonProcess`: `flink-remediator run` as its own process against any sandbox (a process or
  the in-process session fixture), with one principal's keys; JSON logs to a file.
- `CallLog`: the sandbox's own record of API calls over HTTP (GET /_sandbox/calls), so tests
  judge by what AWS saw, never by what our code says it did.
- `wait_until`: a bounded poll, for real processes only (unit tests use injected clocks).
- `pinned_environ`: the environment every test and every process a test starts runs in
  (tests/conftest.py pins it for the whole session), whatever the developer's shell exports.
Everything networked is on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from prometheus_client.parser import text_string_to_metric_families

from daemon.commands.isolated_env import isolated_environ, sandbox_environ
from daemon.rate_limits import DEFAULT_RATES
from sandbox.server import Sandbox
from sandbox.state_table import STATE_TABLE, create_state_table
from sandbox.testing import Credentials, client

CLI = [sys.executable, "-m", "daemon.cli"]
# Settings of the test harness itself (tests/image), not of the daemon: kept from the shell.
HARNESS_SETTINGS = ("FLINK_REMEDIATOR_BASE_CACHE", "FLINK_REMEDIATOR_DEBIAN_MIRROR")
# No AWS_REGION, keys or endpoint: each test names its sandbox's (as CI's clean machine has
# none); a call that forgets to finds no credentials and no Region instead of the shell's.
TEST_SETTINGS = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}  # sandbox/server.py: fast EC2 resets


def pinned_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without any AWS_*, BOTO*_, MOTO_* or
    FLINK_REMEDIATOR_* variable of the shell, `~/.aws` replaced by empty files, no instance
    metadata, no proxy for 127.0.0.1 (daemon/commands/isolated_env.py)."""
    return isolated_environ(os.environ if base is None else base, HARNESS_SETTINGS) | TEST_SETTINGS


def target_environ(target: Target, base: dict[str, str] | None = None) -> dict[str, str]:
    """The pinned environment pointed at `target`'s sandbox as its principal."""
    keys = target.keys
    env = sandbox_environ(
        pinned_environ(base),
        target.endpoint_url,
        target.region,
        keys.access_key_id,
        keys.secret_access_key,
    )
    return env | ({"AWS_SESSION_TOKEN": keys.session_token} if keys.session_token else {})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class CallLog:
    """The sandbox's record of every API call it served (service, operation, caller_arn,
    mutating, error_code, ...), read and cleared over HTTP."""

    def __init__(self, endpoint_url: str) -> None:
        self._url = f"{endpoint_url}/_sandbox/calls"

    def calls(self, **filters: str) -> list[dict[str, Any]]:
        """Filters: service, operation, mutating=true|false, caller_arn."""
        query = urllib.parse.urlencode(filters)
        with urllib.request.urlopen(self._url + (f"?{query}" if query else ""), timeout=10) as r:
            return list(json.load(r)["calls"])

    def mutating(self, **filters: str) -> list[str]:
        """The operations of the mutating calls, in order."""
        return [c["operation"] for c in self.calls(mutating="true", **filters)]

    def clear(self) -> None:
        request = urllib.request.Request(f"{self._url}/clear", data=b"", method="POST")
        urllib.request.urlopen(request, timeout=10).close()


@dataclass(frozen=True)
class Target:
    """Where and as whom a daemon process runs: a sandbox's endpoint and one principal's keys."""

    endpoint_url: str
    region: str
    queue_url: str
    keys: Credentials
    state_table: str = ""  # the daemon keeps its safeguards there (`run --state-table`)

    @classmethod
    def of(cls, sandbox: SandboxProcess | Sandbox, keys: Credentials | None = None) -> Target:
        """The sandbox process with its demo `daemon` principal, or the in-process sandbox
        with the given keys."""
        if isinstance(sandbox, SandboxProcess):
            info = sandbox.info
            demo = info["principals"]["daemon"]
            keys = keys or Credentials(demo["aws_access_key_id"], demo["aws_secret_access_key"])
            table = str(info.get("state_table", ""))
            return cls(info["endpoint_url"], info["region"], info["queue_url"], keys, table)
        if keys is None:
            raise ValueError("the in-process sandbox has no demo principals: pass keys")
        # The table the demo creates, made here with the sandbox's bootstrap keys.
        admin = Credentials("sandbox-admin", "sandbox")
        dynamodb = client(sandbox.endpoint_url, sandbox.region, "dynamodb", admin)
        create_state_table(dynamodb)
        return cls(sandbox.endpoint_url, sandbox.region, sandbox.queue_url, keys, STATE_TABLE)


class SandboxProcess:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*CLI, "sandbox", "serve", "--demo", "--port", str(free_port()), *args],
            env=pinned_environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())
        self.call_log = CallLog(self.info["endpoint_url"])

    def client(self, service: str, who: str = "actor") -> Any:
        keys = self.info["principals"][who]
        return boto3.client(
            service,
            endpoint_url=self.info["endpoint_url"],
            region_name=self.info["region"],
            aws_access_key_id=keys["aws_access_key_id"],
            aws_secret_access_key=keys["aws_secret_access_key"],
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


UNLIMITED_RATES = ",".join(f"{family}=0" for family in (*DEFAULT_RATES, "*"))


class DaemonProcess:
    """`flink-remediator run` against a sandbox with JSON logs in `log`. Later `args` override
    the defaults here (a short SQS poll and debounce, no second sweep during a test)."""

    def __init__(
        self,
        sandbox: SandboxProcess | Sandbox | Target,
        config: Path,
        log: Path,
        *args: str,
        env: dict[str, str] | None = None,
    ) -> None:
        target = sandbox if isinstance(sandbox, Target) else Target.of(sandbox)
        self.port = free_port()
        self.log = log
        env = (
            target_environ(target) | {"FLINK_REMEDIATOR_QUEUE_URL": target.queue_url} | (env or {})
        )
        self._stderr = log.open("ab")
        self.process = subprocess.Popen(
            [
                *CLI,
                "run",
                *("--config", str(config)),
                *("--metrics-host", "127.0.0.1", "--metrics-port", str(self.port)),
                *("--log-format", "json"),
                *("--poll-wait-seconds", "1", "--debounce-seconds", "0.5"),
                *("--sweep-interval-seconds", "600"),
                # The sandbox has no quota to spare: pacing is the rate bench's and unit tests'
                # (benchmarks/rate.py, tests/unit/test_rate_limits.py), not every e2e test's.
                *("--rate-limits", UNLIMITED_RATES),
                *(("--state-table", target.state_table) if target.state_table else ()),
                *args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a traceback line: kept in the file for reading, not parsed
        return out

    def events(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records()
            if r.get("event") == name and all(r.get(k) == v for k, v in fields.items())
        ]

    def wait_for(self, name: str, timeout: float = 30, **fields: Any) -> dict[str, Any]:
        """The last `name` record with `fields`."""
        found = self.until(lambda: self.events(name, **fields), f"{name} {fields}", timeout)
        return dict(found[-1])

    def until(self, condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        """wait_until, but failing at once (with the last log lines) if the daemon exited
        without `condition` coming true, instead of waiting out the timeout."""

        def check() -> Any:
            value = condition()
            if not value and self.process.poll() is not None:
                value = condition()  # what it did before it exited
                if not value:
                    tail = self.log.read_text().splitlines()[-10:]
                    raise AssertionError(f"daemon exited before {what}: {tail}")
            return value

        return wait_until(check, timeout, what)

    def metric(self, name: str, **labels: str) -> float:
        return metric(self.port, name, **labels)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)
        finally:
            self._stderr.close()


def metric(port: int, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`, from a local /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def mutating_calls_by(sandbox: Sandbox, arn: str) -> list[Any]:
    """Mutating calls made with `arn`'s credentials, from the in-process sandbox's record."""
    return [c for c in sandbox.calls() if c.caller_arn == arn and c.mutating]


def delete_logging(flink: Any, name: str) -> None:
    """What an outsider does in many tests: remove every CloudWatch logging option of `name`."""
    detail = flink.describe_application(ApplicationName=name)["ApplicationDetail"]
    for option in detail.get("CloudWatchLoggingOptionDescriptions", []):
        flink.delete_application_cloud_watch_logging_option(
            ApplicationName=name,
            CurrentApplicationVersionId=detail["ApplicationVersionId"],
            CloudWatchLoggingOptionId=option["CloudWatchLoggingOptionId"],
        )


def has_logging(flink: Any, name: str) -> bool:
    detail = flink.describe_application(ApplicationName=name)["ApplicationDetail"]
    return bool(detail.get("CloudWatchLoggingOptionDescriptions"))
