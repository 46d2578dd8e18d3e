"""The one error tree of flink-remediator.

Only the AWS boundary (`daemon.aws`) reads botocore error codes; everything else
sees these classes.
"""

from __future__ import annotations


class RemediatorError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(RemediatorError):
    """The desired-state configuration is invalid. `problems` holds one line per finding."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems) if problems else path)


class SettingsError(RemediatorError):
    """Runtime settings (flags / environment) are invalid."""


class AwsError(RemediatorError):
    """An AWS call failed. `code` is the AWS error code, `operation` the API operation."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        super().__init__(f"{operation}: {code}: {message}")


class RetryableAwsError(AwsError):
    """Throttling, 5xx, timeouts, lost connections: the gateway retries the same request with
    backoff; if that is not enough, the work is tried again later (never acknowledged as done).

    `maybe_applied` is True when the request may have reached AWS and taken effect although
    no reply came back (a 5xx, a read timeout, a dropped connection); False when AWS surely
    did nothing (throttled, connection refused)."""

    def __init__(self, operation: str, code: str, message: str, maybe_applied: bool) -> None:
        self.maybe_applied = maybe_applied
        super().__init__(operation, code, message)


class ReplanNeeded(AwsError):
    """The request was right for a state that no longer holds: re-observe, re-plan, retry.
    Sending the same request again cannot help, so the gateway does not retry it."""


class ConcurrentModification(ReplanNeeded):
    """The version id or conditional token was stale (or a create/delete lost a race)."""


class ResourceInUse(ReplanNeeded):
    """The application is busy (e.g. UPDATING): try again once it settles."""


class WriteOutcomeUnknown(ReplanNeeded):
    """A write's reply was lost (5xx, dropped connection) and retries did not settle it: only
    a fresh read can tell whether the change took effect."""


class PermanentAwsError(AwsError):
    """Access denied, validation, invalid configuration: record and alert, never retry."""


class ResourceNotFound(PermanentAwsError):
    """A resource does not exist (a log group, a role, a route table...)."""


class ApplicationGone(ResourceNotFound):
    """DescribeApplication says the application itself no longer exists."""


class UndeclaredAction(PermanentAwsError):
    """A rule's read, or an action's write, needs an IAM action its rule did not declare: a
    bug in the rule, refused before it reaches AWS (the daemon's IAM policy, generated from
    the declarations, would deny it there too)."""

    def __init__(self, operation: str, message: str) -> None:
        super().__init__(operation, "UndeclaredAction", message)


class EventError(RemediatorError):
    """An event cannot be used. `reason` is a low-cardinality label for metrics."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {message}")
