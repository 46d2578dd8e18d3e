"""structlog setup: JSON lines when not on a TTY (or when asked), readable console on a TTY.

Logs go to stderr so that stdout stays clean for machine output (`plan --output json`).
JSON lines carry every key, unchanged. Console lines are for a person watching `make run`:
time, event, then app, rule and outcome first; ids and ARNs the JSON already has left out;
long values cut; and the per-application "nothing to do" lines of a sweep dropped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any, Literal

import structlog

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
CONSOLE_VALUE_CHARS = 48  # values beyond it are cut, except names that must stay whole
CONSOLE_WHOLE = frozenset({"app", "rule", "field", "outcome", "result", "event_name", "error"})
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
    fields = {**first, **rest}
    return {**head, **{k: v if k in CONSOLE_WHOLE else _short(v) for k, v in fields.items()}}


def _short(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = value if isinstance(value, str) else repr(value)
    if text.startswith("arn:"):
        text = text.rsplit(":", 1)[-1]  # arn:aws:iam::123456789012:user/alice -> user/alice
    if len(text) <= CONSOLE_VALUE_CHARS:
        return text
    return text[: CONSOLE_VALUE_CHARS - 1] + "…"


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (test runners and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
