"""A user's install, not a checkout: build the wheel, install it with the sandbox extra in a
fresh virtualenv, and run the commands a newcomer runs first from a directory outside the
checkout. Catches data files that only exist in the source tree (config/ is package data).

Slow (a venv and its dependencies from PyPI or the pip cache): marked `wheel`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import pinned_environ

pytestmark = [pytest.mark.wheel, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements-dev.lock"
PIN = re.compile(r"^([A-Za-z0-9_.-]+==[^\s\\]+)", re.MULTILINE)


@dataclass(frozen=True)
class Installed:
    bin: Path
    workdir: Path  # outside the checkout: nothing may be found through the current directory

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "flink-remediator"), *args],
            cwd=self.workdir,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str, new_session: bool = False) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self.bin / "flink-remediator"), *args],
            cwd=self.workdir,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=new_session,
        )


def clean_env() -> dict[str, str]:
    # No PYTHONPATH (pytest's pythonpath puts the checkout on it) and no AWS settings.
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "PIP_CACHE_DIR", "PIP_INDEX_URL", "SSL_CERT_FILE")
    return pinned_environ({key: os.environ[key] for key in keep if key in os.environ})


def run(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{argv}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-install")
    dist = root / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)], root)
    [wheel] = dist.glob("flink_remediator-*.whl")
    venv = root / "venv"
    run([sys.executable, "-m", "venv", str(venv)], root)
    # The versions CI and the image use; the wheel's own metadata still has to resolve them
    # (pins without hashes: hash checking cannot cover the locally built wheel).
    constraints = root / "constraints.txt"
    constraints.write_text("\n".join(PIN.findall(LOCK.read_text())) + "\n")
    run(
        [str(venv / "bin" / "pip"), "install", "-q", "-c", str(constraints), f"{wheel}[sandbox]"],
        root,
    )
    workdir = root / "elsewhere"
    workdir.mkdir()
    return Installed(venv / "bin", workdir)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_installed_code_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    probe = "import daemon, sandbox; print(daemon.__file__); print(sandbox.__file__)"
    result = subprocess.run(
        [str(installed.bin / "python"), "-c", probe],
        cwd=installed.workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stdout.splitlines():
        assert "site-packages" in line and not line.startswith(str(REPO)), line


def test_sandbox_serve_demo_finds_its_eventbridge_patterns(installed: Installed) -> None:
    process = installed.popen("sandbox", "serve", "--demo", "--port", str(free_port()))
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["endpoint_url"].startswith("http://127.0.0.1:")
        assert info["queue_url"]
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_example_config_prints_a_file_that_validates(installed: Installed) -> None:
    example = installed.cli("example-config")
    assert example.returncode == 0, example.stderr
    assert example.stdout.startswith("# flink-remediator desired state")
    path = installed.workdir / "desired-state.yaml"
    path.write_text(example.stdout)
    result = installed.cli("validate", path.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "desired-state.yaml: valid"


def test_demo_fixes_drift_and_stops_on_ctrl_c(installed: Installed) -> None:
    ports = (free_port(), free_port())
    process = installed.popen(
        "demo", "--port", str(ports[0]), "--metrics-port", str(ports[1]), new_session=True
    )
    lines: list[str] = []
    applied = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "remediation_applied" in line:
                applied.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # The first sweep fixes the seeded drift; what it waits for is an event, not a timer.
        assert applied.wait(120), "no remediation_applied line:\n" + "".join(lines[-40:])
    finally:
        # Ctrl-C in a terminal: SIGINT to the whole foreground process group.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            pytest.fail("demo did not stop within 90 s of Ctrl-C:\n" + "".join(lines[-40:]))
    reader.join(timeout=10)
    output = "".join(lines)
    assert process.returncode == 0, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    # Nothing of the demo outlives it: the next `make run` finds both ports free.
    for port in ports:
        assert port_is_free(port), f"port {port} still taken after the demo exited"


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
