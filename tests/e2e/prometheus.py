"""Real Prometheus and Alertmanager (Debian's packages) for end-to-end tests, on 127.0.0.1 only,
plus the webhook receiver Alertmanager delivers to: a tiny HTTP server that records POSTed JSON.

Each server runs from a generated config in a temporary directory and is stopped by `stop()`;
callers stop them in fixture teardown whatever happened."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import free_port, wait_until

START_TIMEOUT = 60


def require_binary(*names: str) -> str:
    """Path of the first of `names` on PATH (or in /usr/bin). Missing: the test fails in CI
    (env CI set) and is skipped elsewhere, as for promtool in tests/telemetry."""
    for name in names:
        path = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
        )
        if path:
            return path
    message = f"{' / '.join(names)} not found (Debian packages prometheus, prometheus-alertmanager)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(message)
    pytest.skip(message)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class WebhookReceiver:
    """Records every POSTed JSON body (Alertmanager's webhook notifications)."""

    def __init__(self) -> None:
        self._bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        received, lock = self._bodies, self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with lock:
                    received.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._bodies)

    def notifications(self, alertname: str, status: str, **labels: str) -> list[dict[str, Any]]:
        """The alerts of `alertname` in state `status` delivered so far with `labels`."""
        return [
            alert
            for body in self.bodies()
            for alert in body.get("alerts", [])
            if alert.get("status") == status
            and alert.get("labels", {}).get("alertname") == alertname
            and all(alert.get("labels", {}).get(k) == v for k, v in labels.items())
        ]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class _Server:
    """A server process with its output in a log file, ready when GET /-/ready answers 200."""

    def __init__(self, name: str, command: list[str], workdir: Path) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        self._output = self.log.open("ab")
        self.process = subprocess.Popen(
            command, cwd=workdir, stdout=self._output, stderr=subprocess.STDOUT
        )

    def wait_ready(self, url: str) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.log_tail()}")
            return _ready(url)

        wait_until(ready, START_TIMEOUT, f"{self.name} to be ready")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._output.close()


class AlertmanagerProcess(_Server):
    """Alertmanager without clustering, routing every alert to one webhook with short timers."""

    def __init__(self, workdir: Path, webhook_url: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "alertmanager.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "route": {
                        "receiver": "test-webhook",
                        "group_by": ["alertname", "application"],
                        "group_wait": "1s",
                        "group_interval": "1s",
                        "repeat_interval": "1h",
                    },
                    "receivers": [
                        {
                            "name": "test-webhook",
                            "webhook_configs": [{"url": webhook_url, "send_resolved": True}],
                        }
                    ],
                }
            )
        )
        self.address = f"127.0.0.1:{free_port()}"
        super().__init__(
            "alertmanager",
            [
                require_binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address={self.address}",
                "--cluster.listen-address=",
            ],
            workdir,
        )
        self.wait_ready(f"http://{self.address}/-/ready")


class PrometheusProcess(_Server):
    """Prometheus scraping `target` as job "flink-remediator" every second, evaluating
    `rule_files` every second and sending alerts to the Alertmanager at `alertmanager`."""

    def __init__(
        self, workdir: Path, target: str, alertmanager: str, rule_files: tuple[Path, ...]
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {
                        "scrape_interval": "1s",
                        "scrape_timeout": "1s",
                        "evaluation_interval": "1s",
                    },
                    "rule_files": [str(path.resolve()) for path in rule_files],
                    "alerting": {
                        "alertmanagers": [
                            {"api_version": "v2", "static_configs": [{"targets": [alertmanager]}]}
                        ]
                    },
                    "scrape_configs": [
                        {"job_name": "flink-remediator", "static_configs": [{"targets": [target]}]}
                    ],
                }
            )
        )
        self.address = f"127.0.0.1:{free_port()}"
        super().__init__(
            "prometheus",
            [
                require_binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={self.address}",
                # A resolved or re-firing alert goes out at the next evaluation, not a minute later.
                "--rules.alert.resend-delay=1s",
            ],
            workdir,
        )
        self.wait_ready(f"http://{self.address}/-/ready")

    def _api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        answer = _get_json(f"http://{self.address}/api/v1/{path}{query}")
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, promql: str) -> list[tuple[dict[str, str], float]]:
        """Instant query: (labels, value) of each series of the vector result."""
        data = self._api("query", query=promql)
        assert data["resultType"] == "vector", data
        return [(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]

    def scalar(self, promql: str) -> float | None:
        """The value of a query expected to give at most one series; None when it gives none."""
        result = self.query(promql)
        assert len(result) <= 1, result
        return result[0][1] if result else None

    def alerts(self, alertname: str, state: str = "firing", **labels: str) -> list[dict[str, Any]]:
        """Alerts of `alertname` in `state` (pending, firing) with `labels`, from /api/v1/alerts."""
        return [
            alert
            for alert in self._api("alerts")["alerts"]
            if alert["labels"].get("alertname") == alertname
            and alert["state"] == state
            and all(alert["labels"].get(k) == v for k, v in labels.items())
        ]
