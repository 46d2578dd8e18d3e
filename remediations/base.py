"""The one protocol every remediation rule implements.

A rule is a small class: it says what it reads (`observe`), finds drift with pure code
(`check`), and describes its fix as AWS calls (`fix`, also pure). Only the executor in
`daemon.apply` sends calls, so modes, retries and version tokens live in one place and a
dry-run can never write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from daemon.state import AppRef, Call, Drift, Mode, Observed


class RuleSettings(BaseModel):
    """Settings every rule has. A rule subclasses this with its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # None means "the config's default mode".
    mode: Mode | None = None


class Reader(Protocol):
    """Read-only AWS access for `observe`, memoised per reconcile: each distinct call is made
    at most once. Raises `daemon.errors.ResourceNotFound` when the resource does not exist."""

    def __call__(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]: ...

    def apps_using_role(self, role_arn: str) -> tuple[AppRef, ...] | None:
        """Every application (in the configured accounts and regions) whose execution role is
        `role_arn`, from the daemon's inventory; None while the inventory is incomplete (a
        rule must then not act on the answer: it could lock out an application)."""
        ...


class Remediation(Protocol):
    id: ClassVar[str]  # stable, equals the module name
    summary: ClassVar[str]  # one line for docs and `plan`
    settings_model: ClassVar[type[RuleSettings]]
    default_mode: ClassVar[Mode]  # used when neither the rule nor the config sets one
    read_actions: ClassVar[tuple[str, ...]]  # IAM actions observe() needs
    write_actions: ClassVar[tuple[str, ...]]  # IAM actions fix() calls need
    # CloudTrail eventNames (any service) that can change what this rule checks.
    trigger_events: ClassVar[frozenset[str]]

    def observe(self, settings: Any, app: AppRef, detail: Mapping[str, Any], read: Reader) -> Any:
        """Read what `check` needs beyond DescribeApplication. Return JSON-like data."""
        ...

    def check(self, settings: Any, observed: Observed) -> tuple[Drift, ...]:
        """Pure: compare the observed state with the settings."""
        ...

    def fix(self, settings: Any, observed: Observed, drifts: tuple[Drift, ...]) -> tuple[Call, ...]:
        """Pure: the calls that remove `drifts`. Empty when the drifts cannot be fixed."""
        ...


@runtime_checkable
class Notifying(Protocol):
    """Optional: a rule whose alert-only findings are also sent to an SNS topic."""

    def notify_topic(self, settings: Any, app: AppRef) -> str | None:
        """The topic ARN for this app's alerts, or None for no notification."""
        ...
