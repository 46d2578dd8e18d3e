"""One HTTP port for /metrics, /healthz (alive, loops not stuck) and /readyz (able to work)."""

from __future__ import annotations

import errno
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from daemon.telemetry import metrics

# A probe returns (ok, details); details become the JSON body.
Probe = Callable[[], tuple[bool, dict[str, object]]]


class HealthServer:
    def __init__(self, host: str, port: int, liveness: Probe, readiness: Probe) -> None:
        probes = {"/healthz": liveness, "/readyz": readiness}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, content_type = metrics.render(self.headers.get("Accept"))
                    self._send(200, body, content_type)
                elif path in probes:
                    ok, details = probes[path]()
                    payload = json.dumps({"ok": ok, **details}, default=str).encode()
                    self._send(200 if ok else 503, payload, "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
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

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


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
