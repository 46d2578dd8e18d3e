"""The one error tree of flink-remediator.

Only the AWS boundary (`daemon.apply.aws`) reads botocore error codes; everything else
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


class TransientAwsError(AwsError):
    """Throttling, 5xx, timeouts: worth retrying with backoff."""


class ConcurrentModification(TransientAwsError):
    """The version id or conditional token was stale: re-observe, re-plan, retry."""


class ResourceInUse(TransientAwsError):
    """The application is busy (e.g. UPDATING): wait until it settles, then retry."""


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
