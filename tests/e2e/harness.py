"""Processes for end-to-end tests: the sandbox (`sandbox serve --demo`) and the daemon
(`flink-remediator run`), each its own process on 127.0.0.1, talking over HTTP like in AWS."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from prometheus_client.parser import text_string_to_metric_families

CLI = [sys.executable, "-m", "daemon.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class SandboxProcess:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [*CLI, "sandbox", "serve", "--demo", "--port", str(free_port())],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())

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


class DaemonProcess:
    """`flink-remediator run` against the sandbox, with the daemon user's keys; JSON logs."""

    def __init__(self, sandbox: SandboxProcess, config: Path, log: Path, *args: str) -> None:
        info = sandbox.info
        keys = info["principals"]["daemon"]
        self.port = free_port()
        self.log = log
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": info["endpoint_url"],
            "AWS_REGION": info["region"],
            "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
            "FLINK_REMEDIATOR_QUEUE_URL": info["queue_url"],
        }
        self._stderr = log.open("ab")
        self.process = subprocess.Popen(
            [
                *CLI,
                "run",
                "--config",
                str(config),
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                str(self.port),
                "--log-format",
                "json",
                "--poll-wait-seconds",
                "1",
                "--debounce-seconds",
                "0.5",
                "--sweep-interval-seconds",
                "600",
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
        found = wait_until(lambda: self.events(name, **fields), timeout, f"{name} {fields}")
        return dict(found[-1])

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels`."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._stderr.close()
        return code


def mutating_calls_by(sandbox: Any, arn: str) -> list[Any]:
    """Mutating calls made with `arn`'s credentials, from the sandbox's own record."""
    return [c for c in sandbox.calls() if c.caller_arn == arn and c.mutating]
