"""`run`: the long-running daemon, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

import structlog

from daemon import errors, settings
from daemon.aws import AwsByRegion
from daemon.desired.loader import load_config
from daemon.runtime import Daemon
from daemon.telemetry import logs

log = structlog.get_logger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the daemon: react to events, sweep periodically",
        description="Run the remediation daemon. Every flag can also be set from the "
        "environment variable shown in its help.",
    )
    settings.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        run_settings = settings.from_args(args)
    except errors.SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logs.configure(run_settings.log_format)  # type: ignore[arg-type]
    try:
        config = load_config(run_settings.config)
    except errors.ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("shutdown_requested", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon = Daemon(run_settings, config, AwsByRegion())
    try:
        daemon.start()
    except (errors.AwsError, errors.SettingsError) as exc:
        log.error("daemon_start_failed", error=str(exc))
        daemon.stop()
        return 1
    stop.wait()
    daemon.stop()
    return 0
