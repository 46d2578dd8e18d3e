"""The one base class every remediation rule subclasses: `Rule[Settings, Facts]`.

A rule says what it reads (`observe`, typed facts), finds drift with pure code (`check`), and
describes its fix as AWS calls (`fix`, also pure). Only the executor in `daemon.apply` sends
calls, so modes, retries and version tokens live in one place and a dry-run can never write.

Everything optional has a default, so a rule declares only what differs, plus the three things
every rule declares itself (its Security Hub `severity`, its compliant `evidence` and its IAM
`grants`: the contract test walks the registry for them):

    class Snapshots(Rule[Settings, None]):
        summary = "Application snapshots are enabled."
        write_actions = UPDATE_APPLICATION
        trigger_events = APP_EVENTS
        severity = "LOW"

        def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]: ...
        def evidence(self, detail: Detail, tags: Mapping[str, str]) -> str: ...
        def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> ...: ...

`id` defaults to the module name, `settings_model` and `facts_type` come from the generic
arguments, `default_mode` is enforce, `applies_to` is Flink STREAMING applications, `observe`
reads nothing, `fix` changes nothing (report only) and `notify_topic` is None.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from daemon.state import AppRef, Call, Drift, Mode, Observed
from remediations.disruption import Disruption
from remediations.grants import Scope, Statement

# Security Hub severity labels (ASFF Severity.Label).
Severity = Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


class RuleSettings(BaseModel):
    """Settings every rule has. A rule subclasses this with its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # None means "the config's default mode".
    mode: Mode | None = None
    # Fixes that restart a RUNNING app: None means `defaults.disruption` (else alert).
    disruption: Disruption | None = None


class Reader(Protocol):
    """Read-only AWS access for `observe`, memoised: each distinct call is made at most once per
    reconcile (reads a pass shares, such as a role's documents, once per pass unless the
    reconcile is about to write). Raises `daemon.errors.ResourceNotFound` when the resource
    does not exist, and refuses (`daemon.errors.UndeclaredAction`) an operation outside the
    rule's `read_actions`."""

    def __call__(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]: ...

    def apps_using_role(self, role_arn: str) -> tuple[AppRef, ...] | None:
        """Every application (in the configured accounts and regions) whose execution role is
        `role_arn`, from the daemon's inventory; None while the inventory is incomplete (a
        rule must then not act on the answer: it could lock out an application)."""
        ...


@dataclass(frozen=True)
class AppliesTo:
    """The applications a rule understands; None means any. The planner skips the others, so
    `check` never sees an application it was not written for."""

    modes: frozenset[str] | None = None  # ApplicationMode: STREAMING, INTERACTIVE (Studio)
    runtimes: frozenset[str] | None = None  # runtime families: FLINK, ZEPPELIN-FLINK, SQL

    def covers(self, detail: Mapping[str, Any]) -> bool:
        # An application created without ApplicationMode is a STREAMING one.
        mode = str(detail.get("ApplicationMode") or "STREAMING")
        family = runtime_family(str(detail.get("RuntimeEnvironment", "")))
        return (self.modes is None or mode in self.modes) and (
            self.runtimes is None or family in self.runtimes
        )


def runtime_family(runtime: str) -> str:
    """`FLINK-1_20` -> `FLINK`, `ZEPPELIN-FLINK-3_0` -> `ZEPPELIN-FLINK`, `SQL-1_0` -> `SQL`."""
    return runtime.rsplit("-", 1)[0] if "-" in runtime else runtime


FLINK_STREAMING = AppliesTo(frozenset({"STREAMING"}), frozenset({"FLINK"}))
ANY_APPLICATION = AppliesTo()
# What most rules about the application's own configuration declare.
APP_EVENTS = frozenset({"CreateApplication", "UpdateApplication"})
UPDATE_APPLICATION = ("kinesisanalytics:UpdateApplication",)

SettingsT = TypeVar("SettingsT", bound=RuleSettings)
FactsT = TypeVar("FactsT")


class Rule(ABC, Generic[SettingsT, FactsT]):
    """Subclass as `Rule[MySettings, MyFacts]` (`None` for a rule that reads nothing beyond
    DescribeApplication); facts are a frozen dataclass the rule defines."""

    id: ClassVar[str]  # stable; defaults to the module name
    summary: ClassVar[str]  # one line for docs and `plan`
    settings_model: ClassVar[type[RuleSettings]]  # from the generic argument
    facts_type: ClassVar[type]  # from the generic argument
    default_mode: ClassVar[Mode] = "enforce"  # when neither the rule nor the config sets one
    read_actions: ClassVar[tuple[str, ...]] = ()  # IAM actions observe() may use, and only those
    write_actions: ClassVar[tuple[str, ...]] = ()  # IAM actions fix() calls may use
    # CloudTrail eventNames (any service) that can change what this rule checks.
    trigger_events: ClassVar[frozenset[str]] = frozenset()
    applies_to: ClassVar[AppliesTo] = FLINK_STREAMING
    # Declared by every rule (no default; the contract test walks the registry for them):
    # `severity`, `evidence` and `grants`.
    severity: ClassVar[Severity]  # Security Hub label of a FAILED finding: what a breach exposes

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Rule:
                settings, facts = get_args(base)
                if isinstance(settings, type):
                    cls.settings_model = settings
                cls.facts_type = type(None) if facts is None else facts
        if "id" not in cls.__dict__:
            cls.id = cls.__module__.rsplit(".", 1)[-1]

    def applies(self, detail: Mapping[str, Any]) -> bool:
        return self.applies_to.covers(detail)

    def observe(
        self, settings: SettingsT, app: AppRef, detail: Mapping[str, Any], read: Reader
    ) -> FactsT | None:
        """Read what `check` needs beyond DescribeApplication and the tags. None: no facts."""
        return None

    def reads(self, settings: SettingsT) -> tuple[str, ...]:
        """The read actions `observe` may need with these settings: what the daemon's policy
        grants. Default: all of `read_actions`; a rule whose reads depend on a setting (a key
        that may not be configured) narrows it."""
        return self.read_actions

    def facts(self, observed: Observed) -> FactsT | None:
        """This rule's facts in `observed` (None when `observe` found nothing to read)."""
        value = observed.facts.get(self.id)
        if value is not None and not isinstance(value, self.facts_type):
            raise TypeError(f"{self.id}: facts are {type(value).__name__}, not {self.facts_type}")
        return cast("FactsT | None", value)

    @abstractmethod
    def check(self, settings: SettingsT, observed: Observed) -> tuple[Drift, ...]:
        """Pure: compare the observed state with the settings."""

    def fix(
        self, settings: SettingsT, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        """Pure: the calls that remove `drifts`. Empty (the default): report only."""
        return ()

    def notify_topic(self, settings: SettingsT, app: AppRef) -> str | None:
        """The SNS topic told about this app's alert-only findings; None: no notification."""
        return None

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        """What a compliant row of the report shows: the part of DescribeApplication (`detail`,
        never empty) or of the tags the rule checked; "" when that lives elsewhere."""
        raise NotImplementedError(f"{self.id} declares no evidence")

    def not_applicable(self, detail: Mapping[str, Any]) -> str:
        """Why the control does not concern an application it covers ("" when it does)."""
        return ""

    def grants(self, sid: str, scope: Scope, places: Sequence[SettingsT]) -> list[Statement]:
        """The IAM statements that let the daemon send this rule's writes where it enforces
        (`places`: its settings in each such place), as narrow as IAM allows; `sid` names them.
        A rule that writes nothing returns none, saying so."""
        raise NotImplementedError(f"{self.id} declares no grants")

    def drift(
        self,
        observed: Observed,
        field: str,
        current: Any,
        desired: Any,
        message: str,
        *,
        fixable: bool = True,
        resource: str = "",
    ) -> Drift:
        """A finding of this rule on the observed application; `resource` defaults to the
        application's ARN."""
        app = observed.app
        return Drift(self.id, app, field, current, desired, message, fixable, resource or app.arn)


# What the daemon holds: rules of any settings and facts.
AnyRule = Rule[Any, Any]
