"""`demo` (what `make run` starts): the sandbox, the daemon against it, and a scripted actor.

A newcomer sees, in readable log lines, a human (alice) change things every few seconds and the
daemon notice the CloudTrail event and fix the drift (or alert on it). Ctrl-C stops all three
and exits 0 (the normal way to end it, also while it is still starting); a second Ctrl-C kills
them at once and exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from importlib.resources import files
from typing import Any

from daemon.commands import exits
from daemon.commands.demo_actor import run_actor
from daemon.commands.interrupts import Interrupts
from daemon.commands.isolated_env import isolated_environ, sandbox_environ
from daemon.desired.loader import load_config

# config/desired-state.example.yaml, shipped in the wheel as package data (daemon.bundled).
DEFAULT_CONFIG = files("daemon.bundled") / "desired-state.example.yaml"

# One of the Regions the example config covers (us-east-1, eu-west-1); the sandbox's default.
DEMO_REGION = "eu-west-1"
CLI = [sys.executable, "-m", "daemon.cli"]
FORCED = "forced exit on a second Ctrl-C: the daemon and the sandbox were killed"
SHUTDOWN_LIMIT_SECONDS = 60.0  # the daemon's own limit is its grace period + 15 s
# CloudTrail events reach EventBridge late in AWS (typically minutes): a few seconds here.
DELIVERY_DELAY = ("--delivery-delay-seconds", "3")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo", help="sandbox + daemon + a scripted actor making drift (what `make run` runs)"
    )
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="desired-state YAML file")
    p.add_argument("--port", type=_tcp_port, default=4566, help="sandbox port")
    p.add_argument(
        "--region",
        default=DEMO_REGION,
        help=f"the sandbox's Region, one the config covers (default {DEMO_REGION}; the shell's "
        "AWS_REGION is not used)",
    )
    p.add_argument("--metrics-port", type=_tcp_port, default=8080)
    p.add_argument("--every", type=float, default=8.0, help="seconds between the actor's changes")
    p.add_argument("--no-actor", action="store_true", help="only the sandbox and the daemon")
    p.set_defaults(func=demo)


def _tcp_port(text: str) -> int:
    """An argparse type: 1..65535, checked here rather than by the children it is passed to."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1..65535)")
    return int(text)


def demo(args: argparse.Namespace) -> int:
    # A broken --config would only fail inside the daemon's child, after the sandbox started:
    # check it first (a ConfigError becomes its `error:` lines in daemon/cli.py).
    load_config(str(args.config))
    # The children get their own session, so a terminal's Ctrl-C reaches only this process,
    # which stops them in order (the daemon first, to finish its work, then the sandbox).
    children: list[subprocess.Popen[str]] = []

    def kill_children() -> None:
        for child in children:
            with contextlib.suppress(OSError):
                os.kill(child.pid, signal.SIGKILL)

    interrupts = Interrupts(FORCED, on_force=kill_children)
    interrupts.install()
    # Nothing of the shell's AWS settings reaches the children: AWS_REGION=ap-southeast-2 would
    # seed the sandbox in a Region the config does not cover; a profile or an endpoint could
    # point the daemon at a real account. The actor's clients run in this process: it too.
    clean = isolated_environ(os.environ)
    os.environ.clear()
    os.environ.update(clean)
    where = ("--port", str(args.port), "--region", args.region)
    sandbox = subprocess.Popen(
        [*CLI, "sandbox", "serve", "--demo", "--config-rules", *where, *DELIVERY_DELAY],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    children.append(sandbox)
    assert sandbox.stdout is not None
    line = sandbox.stdout.readline()
    if not line:
        sandbox.wait()
        if interrupts.requested():
            return exits.OK
        return exits.fail(
            f"the sandbox did not start: is --port {args.port} free?", exits.UNAVAILABLE
        )
    info = json.loads(line)
    daemon = None
    if not interrupts.requested():  # Ctrl-C while the sandbox was seeding: stop, no daemon
        daemon = _start_daemon(args, info, clean)
        children.append(daemon)
        print(
            f"sandbox at {info['endpoint_url']} ({info['region']}), metrics at "
            f":{args.metrics_port}/metrics",
            flush=True,
        )
    stop = threading.Event()
    if daemon is not None and not args.no_actor:
        threading.Thread(target=run_actor, args=(info, args.every, stop), daemon=True).start()
    while not interrupts.requested() and daemon is not None and daemon.poll() is None:
        time.sleep(0.5)
    stop.set()
    if interrupts.requested():
        print("\nstopping the daemon and the sandbox (Ctrl-C again to force)", file=sys.stderr)
        interrupts.watchdog(SHUTDOWN_LIMIT_SECONDS)

    def stop_children() -> None:
        if daemon is not None:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
            daemon.wait()
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait()

    interrupts.run_stop(stop_children)
    return _exit_code(daemon, interrupts.requested())


def _start_daemon(
    args: argparse.Namespace, info: dict[str, Any], clean: dict[str, str]
) -> subprocess.Popen[str]:
    keys = info["principals"]["daemon"]
    env = sandbox_environ(
        clean,
        info["endpoint_url"],
        info["region"],
        keys["aws_access_key_id"],
        keys["aws_secret_access_key"],
    )
    return subprocess.Popen(
        [
            *CLI,
            "run",
            *("--config", args.config, "--queue-url", info["queue_url"]),
            *("--region", info["region"], "--metrics-port", str(args.metrics_port)),
            *("--sweep-interval-seconds", "60", "--poll-wait-seconds", "2"),
            *("--log-format", "console"),
            # the safeguards' state in the sandbox's DynamoDB table, as on EKS
            *(("--state-table", info["state_table"]) if info.get("state_table") else ()),
        ],
        env=env,
        start_new_session=True,
        text=True,
    )


def _exit_code(daemon: subprocess.Popen[str] | None, stop_requested: bool) -> int:
    """Ctrl-C is how the demo ends: an orderly stop is 0, also when the daemon was still
    starting and our SIGTERM ended it before it could handle it. A daemon that stopped on its
    own passes its code on (4: the metrics port is busy...)."""
    code = 0 if daemon is None else daemon.returncode
    if code == 0 or (stop_requested and code == -signal.SIGTERM):
        return exits.OK
    if code < 0:
        return exits.fail(f"the daemon was killed by {signal.Signals(-code).name}")
    return code
