"""`run`: the long-running daemon, until SIGTERM or SIGINT (a second one forces the exit)."""

from __future__ import annotations

import argparse
from typing import Any

import structlog

from daemon import errors, settings
from daemon.commands import exits
from daemon.commands.interrupts import Interrupts
from daemon.commands.preflight import caller_identity
from daemon.desired.loader import load_config
from daemon.runtime import Daemon
from daemon.telemetry import logs, metrics

log = structlog.get_logger(__name__)

FORCED = (
    "forced exit on a second signal: in-flight reconciles were abandoned "
    "(their SQS messages come back after the visibility timeout)"
)


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
        return exits.fail(str(exc), exits.USAGE)
    logs.configure(run_settings.log_format)  # type: ignore[arg-type]
    # An expired waiver does not stop the daemon (the fleet would be left unprotected): it is
    # left out, warned about and counted (runtime_config.ConfigWatcher.publish).
    config = load_config(run_settings.config, expired_waivers="ignore")  # else `error:` lines
    interrupts = Interrupts(FORCED)
    interrupts.install()
    identity = caller_identity(run_settings.region or config.regions[0])
    if isinstance(identity, str):
        return exits.fail(identity, exits.UNAVAILABLE)
    try:
        daemon = Daemon(run_settings, config)
    except OSError as exc:
        where = f"{run_settings.metrics_host}:{run_settings.metrics_port}"
        return exits.fail(
            f"--metrics-port {run_settings.metrics_port}: cannot listen on {where}: "
            f"{exc.strerror or exc} (is another flink-remediator running?)",
            exits.UNAVAILABLE,
        )
    try:
        daemon.start()
    except (errors.AwsError, errors.SettingsError) as exc:
        daemon.stopping.set()
        return exits.fail(f"the daemon did not start: {exc}")
    interrupts.wait()
    log.info("shutdown_requested", signal=interrupts.signal_name, force="send it again")
    # Never hang: the grace period plus time to release messages and close the port.
    interrupts.watchdog(run_settings.shutdown_grace_seconds + 15)
    interrupts.run_stop(daemon.stop)
    log.info("daemon_summary", **stop_summary())
    return exits.OK


def stop_summary() -> dict[str, int]:
    """What this process did, read back from its own counters (the same numbers as /metrics)."""
    totals = {"reconciles": 0, "fixes": 0, "alerts": 0, "errors": 0}
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            value = int(sample.value)
            if family.name == f"{metrics.PREFIX}_reconciles":
                totals["reconciles"] += value
                totals["errors"] += value if sample.labels.get("result") == "error" else 0
            elif family.name == f"{metrics.PREFIX}_remediations":
                outcome = sample.labels.get("outcome")
                totals["fixes"] += value if outcome == "applied" else 0
                totals["alerts"] += value if outcome == "alerted" else 0
    return totals
