"""structlog setup: JSON lines when not on a TTY (or when asked), readable console on a TTY.

Logs go to stderr so that stdout stays clean for machine output (`plan --output json`).
JSON lines carry every key, unchanged. Console lines are for a person watching `make run`:
time, event, then app, rule and outcome first; keys the JSON already has that repeat on every
line left out; long values shortened, but never inside an ARN or id, and a before/after pair
around where the two differ (daemon/telemetry/console_values.py); and the per-application
"nothing to do" lines of a sweep dropped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any, Literal

import structlog

from daemon.telemetry.console_values import short, short_pair

LogFormat = Literal["auto", "json", "console"]

# Shown first, in this order, on a console line.
CONSOLE_FIRST = (
    "app",
    "rule",
    "outcome",
    "result",
    "field",
    "before",
    "after",
    "current",
    "desired",
    "error",
)
# Left out on a console line (the JSON log has them): long, and the same on every line.
CONSOLE_HIDDEN = frozenset(
    {"app_arn", "account", "region", "api_calls", "identity", "logger", "message_id", "event_id"}
    | {"message", "resource", "seconds", "queue_url", "attempt_id", "aws_request_ids"}
)
CONSOLE_WHOLE = frozenset({"app", "rule", "field", "outcome", "result", "event_name", "error"})
# Shown as a pair, shortened around their difference.
CONSOLE_PAIRS = (("before", "after"), ("current", "desired"))
# Console lines not shown at all: the echo of the daemon's own calls, and every healthy app
# of every sweep (both are counted in /metrics and present in the JSON log).
CONSOLE_DROPPED = {
    ("event_ignored", "reason", "own_identity"),
    ("reconcile_finished", "result", "in_sync"),
}
# Each write request and each SQS delete batch: the JSON log has them; the outcome lines say
# the same on a console.
CONSOLE_QUIET_EVENTS = frozenset({"remediation_sent", "messages_deleted"})


def configure(log_format: LogFormat = "auto", level: str = "INFO") -> None:
    use_console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    renderer: list[structlog.typing.Processor] = (
        [
            short_console_fields,
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), sort_keys=False, pad_event_to=20, pad_level=False
            ),
        ]
        if use_console
        else [
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=False),
        ]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            *renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    # Third-party libraries speak through stdlib logging; keep them quiet unless they warn.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")


def short_console_fields(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Reorder and shorten one event for the console (a structlog processor)."""
    if event.get("event") in CONSOLE_QUIET_EVENTS:
        raise structlog.DropEvent
    for name, key, value in CONSOLE_DROPPED:
        if event.get("event") == name and event.get(key) == value:
            raise structlog.DropEvent
    head = {
        "timestamp": datetime.now().strftime("%H:%M:%S"),
        "level": event.pop("level", method),
        "event": event.pop("event", ""),
    }
    first = {k: event.pop(k) for k in CONSOLE_FIRST if k in event}
    rest = {k: v for k, v in event.items() if k not in CONSOLE_HIDDEN}
    fields = {k: v if k in CONSOLE_WHOLE else short(v) for k, v in {**first, **rest}.items()}
    for one, other in CONSOLE_PAIRS:
        if one in first and other in first:
            fields[one], fields[other] = short_pair(first[one], first[other])
    return {**head, **fields}


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (test runners and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
