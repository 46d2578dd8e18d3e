"""The health/metrics server listens where the chart tells it: "::" answers over IPv6 and IPv4
(an IPv6-only or dual-stack cluster probes the pod's IPv6 address, an IPv4 one its IPv4)."""

from __future__ import annotations

import errno
import json
import socket
import urllib.request
from collections.abc import Iterator

import pytest

from daemon.telemetry.server import HealthServer


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def health_server(host: str, port: int) -> HealthServer:
    server = HealthServer(host, port)
    server.add_liveness("probe", lambda: True)
    return server


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[HealthServer]:
    started = health_server(request.param, 0).start()
    yield started
    started.stop()


def get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        body: dict[str, object] = json.loads(response.read())
        return body


needs_ipv6 = pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback on this machine")


@needs_ipv6
@pytest.mark.parametrize("server", ["::"], indirect=True)
def test_dual_stack_answers_on_ipv6_and_ipv4(server: HealthServer) -> None:
    assert get(f"http://[::1]:{server.port}/healthz") == {"ok": True, "checks": {"probe": True}}
    assert get(f"http://127.0.0.1:{server.port}/readyz") == {"ok": True, "checks": {}}


@needs_ipv6
@pytest.mark.parametrize("server", ["::1"], indirect=True)
def test_an_ipv6_address_binds_an_ipv6_socket(server: HealthServer) -> None:
    assert get(f"http://[::1]:{server.port}/healthz")["ok"] is True


@pytest.mark.parametrize("server", ["127.0.0.1"], indirect=True)
def test_an_ipv4_address_still_binds_ipv4(server: HealthServer) -> None:
    assert get(f"http://127.0.0.1:{server.port}/healthz")["ok"] is True


def test_a_busy_port_is_an_os_error_not_a_silent_fallback() -> None:
    with socket.socket(socket.AF_INET6) as taken:
        if not ipv6_available():
            pytest.skip("no IPv6 loopback on this machine")
        taken.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        taken.bind(("::", 0))
        taken.listen()
        with pytest.raises(OSError):
            HealthServer("::", taken.getsockname()[1])


def test_without_ipv6_in_the_kernel_dual_stack_falls_back_to_ipv4(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from daemon.telemetry import server as module

    def no_ipv6(*args: object) -> None:
        raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")

    monkeypatch.setattr(module._DualStackServer, "__init__", no_ipv6)
    started = health_server("::", 0).start()
    try:
        assert get(f"http://127.0.0.1:{started.port}/healthz")["ok"] is True
    finally:
        started.stop()
