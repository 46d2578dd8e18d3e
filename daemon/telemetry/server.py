"""One HTTP port for /metrics, /healthz (alive, loops not stuck) and /readyz (able to work).

Components register named checks; each probe answers 200 only when all its checks pass, and its
JSON body reports every check by name, so a failing probe says which part is at fault.
"""

from __future__ import annotations

import errno
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog
from prometheus_client.exposition import gzip_accepted

from daemon.telemetry import metrics

log = structlog.get_logger(__name__)
Check = Callable[[], bool]


class Heartbeat:
    """A loop calls beat() each turn; fresh() is False once `limit_seconds` pass without one.
    The clock starts at creation, so a loop stuck before its first turn is caught too."""

    def __init__(self, limit_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._clock = limit_seconds, clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def fresh(self) -> bool:
        return self._clock() - self._last <= self._limit


class Reachability:
    """Readiness of a dependency (AWS, the queue) from its latest answers: `record(ok)` after
    each call that reached it or failed, `check()` asks `probe` (a periodic job); `ready()`
    (the /readyz check, which never calls AWS itself) is True while the last answer was a
    success no older than `stale_seconds`. A change either way is logged once."""

    def __init__(
        self,
        name: str,
        stale_seconds: float,
        probe: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name, self._stale, self._probe, self._clock = name, stale_seconds, probe, clock
        self._ok: bool | None = None  # unknown until the first answer
        self._last_ok = float("-inf")
        self._lock = threading.Lock()

    def check(self) -> bool:
        if self._probe is None:
            raise ValueError(f"{self._name} has no probe")
        try:
            self._probe()
        except Exception as exc:
            self.record(False, str(exc))
            return False
        self.record(True)
        return True

    def record(self, ok: bool, error: str = "") -> None:
        with self._lock:
            changed, self._ok = self._ok is not ok, ok
            if ok:
                self._last_ok = self._clock()
        if changed and ok:
            log.info("dependency_reachable", dependency=self._name)
        elif changed:
            log.warning("dependency_unreachable", dependency=self._name, error=error[:300])

    def ready(self) -> bool:
        with self._lock:
            return bool(self._ok) and self._clock() - self._last_ok <= self._stale


class HealthServer:
    def __init__(self, host: str, port: int) -> None:
        self._checks: dict[str, dict[str, Check]] = {"/healthz": {}, "/readyz": {}}
        self._lock = threading.Lock()
        report = self.report

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, content_type = metrics.render(self.headers.get("Accept"))
                    # Prometheus asks for gzip: thousands of per-app series shrink ~30x.
                    if gzip_accepted(self.headers.get("Accept-Encoding", "")):
                        self._send(200, gzip.compress(body, 6), content_type, "gzip")
                    else:
                        self._send(200, body, content_type)
                elif path in ("/healthz", "/readyz"):
                    ok, checks = report(path)
                    payload = json.dumps({"ok": ok, "checks": checks}).encode()
                    self._send(200 if ok else 503, payload, "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(
                self, status: int, body: bytes, content_type: str, encoding: str = ""
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if encoding:
                    self.send_header("Content-Encoding", encoding)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # probes every few seconds would drown the logs

        self._server = _bind(host, port, Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-server", daemon=True
        )

    def add_liveness(self, name: str, check: Check) -> None:
        """A check that fails when the process should be restarted (a loop stuck, stopping)."""
        self._add("/healthz", name, check)

    def add_readiness(self, name: str, check: Check) -> None:
        """A check that fails while the process cannot do its work (AWS, queue unreachable)."""
        self._add("/readyz", name, check)

    def report(self, path: str) -> tuple[bool, dict[str, bool]]:
        """(all checks pass, each check's result by name); a check that raises has failed."""
        with self._lock:
            checks = dict(self._checks[path])
        results = {name: _passes(name, check) for name, check in sorted(checks.items())}
        return all(results.values()), results

    def _add(self, path: str, name: str, check: Check) -> None:
        with self._lock:
            if name in self._checks[path]:
                raise ValueError(f"a {path} check named {name!r} is already registered")
            self._checks[path][name] = check

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _passes(name: str, check: Check) -> bool:
    try:
        return bool(check())
    except Exception:
        log.exception("health_check_failed", check=name)
        return False


class _DualStackServer(ThreadingHTTPServer):
    """An IPv6 socket that also accepts IPv4 (as ::ffff:a.b.c.d) when bound to "::"."""

    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def _bind(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Listen on host: an IPv6 address (":" in it) gets an IPv6 socket, "::" one that is
    dual-stack, so probes reach the pod on IPv4, IPv6 and dual-stack clusters alike. Where the
    kernel has no IPv6 at all, "::" falls back to 0.0.0.0 (the same reach on such a node)."""
    if ":" not in host:
        return ThreadingHTTPServer((host, port), handler)
    try:
        return _DualStackServer((host, port), handler)
    except OSError as err:
        if host == "::" and err.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
            return ThreadingHTTPServer(("0.0.0.0", port), handler)
        raise
