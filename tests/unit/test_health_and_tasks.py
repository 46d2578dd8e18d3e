"""Named health checks on the real HTTP server, heartbeats on a fake clock, and the task
registry's start order, reverse stop and partial starts."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from daemon.tasks import Tasks
from daemon.telemetry.server import HealthServer, Heartbeat


@pytest.fixture
def server() -> Iterator[HealthServer]:
    running = HealthServer("127.0.0.1", 0).start()
    yield running
    running.stop()


def probe(server: HealthServer, path: str) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_each_probe_reports_every_check_by_name_and_fails_if_any_fails(
    server: HealthServer,
) -> None:
    state = {"queue": False}
    server.add_readiness("aws", lambda: True)
    server.add_readiness("queue", lambda: state["queue"])
    server.add_liveness("poller", lambda: True)
    assert probe(server, "/readyz") == (503, {"ok": False, "checks": {"aws": True, "queue": False}})
    assert probe(server, "/healthz") == (200, {"ok": True, "checks": {"poller": True}})
    state["queue"] = True
    assert probe(server, "/readyz") == (200, {"ok": True, "checks": {"aws": True, "queue": True}})


def test_a_check_that_raises_fails_and_is_logged(server: HealthServer) -> None:
    def broken() -> bool:
        raise RuntimeError("boom")

    server.add_liveness("broken", broken)
    with capture_logs() as logs:
        assert probe(server, "/healthz") == (503, {"ok": False, "checks": {"broken": False}})
    assert [(r["event"], r["check"]) for r in logs] == [("health_check_failed", "broken")]


def test_a_name_is_registered_once_per_probe(server: HealthServer) -> None:
    server.add_readiness("aws", lambda: True)
    server.add_liveness("aws", lambda: True)  # another probe: fine
    with pytest.raises(ValueError, match="already registered"):
        server.add_readiness("aws", lambda: False)


def test_metrics_are_gzipped_for_a_scraper_that_asks_as_prometheus_does(
    server: HealthServer,
) -> None:
    url = f"http://127.0.0.1:{server.port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        plain = response.read()
        assert response.headers.get("Content-Encoding") is None
    asking = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(asking, timeout=10) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(response.read())
    assert b"# TYPE flink_remediator_reconciles_total counter" in body
    assert len(body) > len(plain) // 2  # the same exposition (process figures move between)


def test_a_heartbeat_goes_stale_after_its_limit_counted_from_creation() -> None:
    now = [100.0]
    beat = Heartbeat(60, clock=lambda: now[0])
    now[0] = 160.0
    assert beat.fresh()
    now[0] = 160.5
    assert not beat.fresh()  # a loop stuck before its first turn
    beat.beat()
    now[0] = 220.5
    assert beat.fresh()
    now[0] = 221.0
    assert not beat.fresh()


def test_tasks_start_in_order_and_stop_in_reverse_even_when_one_stop_fails() -> None:
    seen: list[str] = []
    tasks = Tasks()

    def failing_stop() -> None:
        seen.append("stop b")
        raise RuntimeError("stuck")

    tasks.add("a", lambda: seen.append("start a"), lambda: seen.append("stop a"))
    tasks.add("b", lambda: seen.append("start b"), failing_stop)
    tasks.start()
    tasks.add("c", lambda: seen.append("start c"), lambda: seen.append("stop c"))
    tasks.start()  # only the task added since
    assert tasks.names() == ("a", "b", "c")
    with capture_logs() as logs:
        assert tasks.stop() == ("c", "a")
    assert seen == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
    assert [(r["event"], r["task"]) for r in logs] == [
        ("task_stopped", "c"),
        ("task_stop_failed", "b"),
        ("task_stopped", "a"),
    ]
    assert tasks.stop() == ()  # idempotent


def test_a_task_that_fails_to_start_leaves_only_the_started_ones_to_stop() -> None:
    seen: list[str] = []
    tasks = Tasks()

    def refuse() -> None:
        raise OSError("port in use")

    tasks.add("a", lambda: seen.append("start a"), lambda: seen.append("stop a"))
    tasks.add("b", refuse, lambda: seen.append("stop b"))
    tasks.add("c", lambda: seen.append("start c"), lambda: seen.append("stop c"))
    with pytest.raises(OSError):
        tasks.start()
    assert tasks.stop() == ("a",)
    assert seen == ["start a", "stop a"]
    tasks.add("a", lambda: None, lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        tasks.add("a", lambda: None, lambda: None)
