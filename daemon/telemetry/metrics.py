"""Every Prometheus metric of flink-remediator, defined once, and the helpers other code calls.

The catalogue with meanings is docs/metrics.md (a test keeps the two identical). All metrics live
on `REGISTRY`, a dedicated registry (not prometheus_client's global one) that the daemon serves on
`/metrics` through `render()`; the process and platform collectors are registered on it too.

Labels are low-cardinality: enumerated values are checked here (a typo raises ValueError instead of
creating a new series). The per-application gauges (violation, fight, deferred fix) are the one
deliberate exception, bounded by the fleet size and present only while 1 (compliant
applications are counted per rule, account and Region instead): `forget_application` removes an
application's series when it disappears from the inventory. They are one compact collector
(app_gauges.py), not Gauge children, as they are the only metrics that grow with the fleet.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Literal, get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder

from daemon import __version__
from daemon.state import MODES, AppRef, Mode
from daemon.telemetry.app_gauges import AppRuleGauges
from daemon.telemetry.app_text import AppGaugesText
from daemon.vocabulary import OUTCOMES, RESULTS, TRIGGERS, Outcome, Result, Trigger

# `_created` series double the counters and histograms and nothing here alerts on them.
disable_created_metrics()  # type: ignore[no-untyped-call]

PREFIX = "flink_remediator"

# How a followed fix ended when it did not hold (flink_remediator_fix_operations_failed_total).
FixFailure = Literal["rolled_back", "failed"]
FIX_FAILURES: tuple[FixFailure, ...] = get_args(FixFailure)
EventSource = Literal["aws.kinesisanalytics", "aws.iam", "aws.ec2", "other"]
IgnoreReason = Literal[
    "not_json",  # the message body is not JSON
    "unknown_shape",  # JSON, but not an EventBridge envelope with a CloudTrail record
    "bare_record",  # a CloudTrail record without its EventBridge envelope (only replay reads those)
    "source_mismatch",  # the envelope's source is not the one its detail's eventSource has
    "account_mismatch",  # detail.recipientAccountId disagrees with the envelope's account
    "other_service",  # an event source no rule listens to
    "irrelevant_event",  # a known source, but an eventName no rule is triggered by
    "read_only",  # a read-only API call
    "failed_call",  # the API call failed (errorCode set), so nothing changed
    "own_identity",  # caused by the daemon's own identity (loop prevention)
    "duplicate",  # CloudTrail eventID already seen
    "account_not_configured",
    "region_not_configured",
    "no_application",  # no application in the inventory is affected (e.g. an unused route table)
    "sent_by_daemon",  # an event envelope whose SQS SenderId is the daemon's own principal
    "sweep_work_not_own",  # a sweep work message not sent by the daemon's own principal
]
QueueName = Literal["events", "dlq"]
# Sweep messages on the queue (--sweep-source queue): a tick, a work message, or junk.
SweepMessageKind = Literal["tick", "work", "malformed"]
SweepMessageOutcome = Literal["done", "retried", "dropped"]
SWEEP_MESSAGE_KINDS: tuple[SweepMessageKind, ...] = get_args(SweepMessageKind)
SWEEP_MESSAGE_OUTCOMES: tuple[SweepMessageOutcome, ...] = get_args(SweepMessageOutcome)
ConfigReloadResult = Literal["applied", "rejected", "unchanged"]

EVENT_SOURCES: tuple[EventSource, ...] = get_args(EventSource)
IGNORE_REASONS: tuple[IgnoreReason, ...] = get_args(IgnoreReason)
QUEUE_NAMES: tuple[QueueName, ...] = get_args(QueueName)
CONFIG_RELOAD_RESULTS: tuple[ConfigReloadResult, ...] = get_args(ConfigReloadResult)
# Timers every replica keeps, claimed in the state store at their moment.
TimerName = Literal["deferred_fix", "waiver_expiry"]
TIMER_NAMES: tuple[TimerName, ...] = get_args(TimerName)
CLAIM_OUTCOMES = ("won", "lost")
FindingResult = Literal["imported", "failed"]
# How the own-credential canary judged a write made with the daemon's credentials.
OwnWriteResult = Literal["explained", "unledgered", "unplanned", "unverified"]
OWN_WRITE_RESULTS: tuple[OwnWriteResult, ...] = get_args(OwnWriteResult)
UnexplainedReason = Literal["unledgered", "unplanned"]
UNEXPLAINED_REASONS: tuple[UnexplainedReason, ...] = get_args(UnexplainedReason)
FINDING_RESULTS: tuple[FindingResult, ...] = get_args(FindingResult)

# Everything but the per-application gauges: formatted on every scrape.
_EACH_SCRAPE = CollectorRegistry()
ProcessCollector(registry=_EACH_SCRAPE)
PlatformCollector(registry=_EACH_SCRAPE)
# Every metric, for reads (get_sample_value, the accounting); /metrics is served by `render()`.
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(_EACH_SCRAPE)  # type: ignore[arg-type]

EVENTS_RECEIVED = Counter(
    f"{PREFIX}_events_received",
    "Events read from the queue, by EventBridge source.",
    ["source"],
    registry=_EACH_SCRAPE,
)
EVENTS_IGNORED = Counter(
    f"{PREFIX}_events_ignored",
    "Events dropped without a reconcile, by reason.",
    ["reason"],
    registry=_EACH_SCRAPE,
)
RECONCILES = Counter(
    f"{PREFIX}_reconciles",
    "Reconciles of one application, by trigger and result.",
    ["trigger", "result"],
    registry=_EACH_SCRAPE,
)
DRIFTS_DETECTED = Counter(
    f"{PREFIX}_drifts_detected",
    "Drifts found by a rule's check.",
    ["rule"],
    registry=_EACH_SCRAPE,
)
REMEDIATIONS = Counter(
    f"{PREFIX}_remediations",
    "Remediation actions, by rule, outcome and mode.",
    ["rule", "outcome", "mode"],
    registry=_EACH_SCRAPE,
)
# The per-application gauges: one compact collector (app_gauges.py), not Gauge children.
VIOLATION_ACTIVE, FIGHT_ACTIVE, FIX_DEFERRED = range(3)  # family indexes in APP_GAUGES
APP_GAUGES = AppRuleGauges(
    [
        (
            f"{PREFIX}_violation_active",
            "1 while a reconcile left drift of this rule in place on this application, else 0.",
        ),
        (
            f"{PREFIX}_fight_active",
            "1 while fixes of this rule on this application are suspended: another actor keeps "
            "undoing them (the per-application fix budget is spent), else 0.",
        ),
        (
            f"{PREFIX}_fix_deferred",
            "1 while a fix of this rule on this application waits for a disruption window (it "
            "would restart the running application), else 0.",
        ),
    ],
    compliant=(
        f"{PREFIX}_compliant_apps",
        "Applications whose last reconcile left no drift of this rule in place, per account and "
        "Region (they have no per-application series).",
    ),
)
REGISTRY.register(APP_GAUGES)
APP_TEXT = AppGaugesText(APP_GAUGES)  # what /metrics serves of them
FIX_OPERATIONS_FAILED = Counter(
    f"{PREFIX}_fix_operations_failed",
    "Fixes the service accepted and then did not complete, by rule and outcome: rolled_back "
    "(a system rollback undid it) or failed (the operation failed).",
    ["rule", "outcome"],
    registry=_EACH_SCRAPE,
)
FIX_STOPPED_APPLICATIONS = Counter(
    f"{PREFIX}_fix_stopped_applications",
    "Restarting fixes that failed and left the running application READY (its job stopped: "
    "no system rollback, or the rollback failed), by rule. Never retried automatically.",
    ["rule"],
    registry=_EACH_SCRAPE,
)
APPLICATIONS = Gauge(
    f"{PREFIX}_applications",
    "Applications in the inventory, by account and region.",
    ["account", "region"],
    registry=_EACH_SCRAPE,
)
REMEDIATION_DURATION = Histogram(
    f"{PREFIX}_remediation_duration_seconds",
    "Time to apply one remediation action, retries included.",
    ["rule"],
    registry=_EACH_SCRAPE,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
EVENT_LAG = Histogram(
    f"{PREFIX}_event_lag_seconds",
    "Time from the CloudTrail eventTime to the daemon reading the event.",
    registry=_EACH_SCRAPE,
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600),
)
AWS_CALLS = Counter(
    f"{PREFIX}_aws_calls",
    "AWS API calls made (each attempt counts).",
    ["service", "operation"],
    registry=_EACH_SCRAPE,
)
AWS_ERRORS = Counter(
    f"{PREFIX}_aws_errors",
    "AWS API calls that failed, by AWS error code.",
    ["service", "operation", "code"],
    registry=_EACH_SCRAPE,
)
AWS_RETRIES = Counter(
    f"{PREFIX}_aws_retries",
    "AWS API calls retried after a transient error.",
    ["service", "operation"],
    registry=_EACH_SCRAPE,
)
RATE_LIMIT_WAIT = Counter(
    f"{PREFIX}_aws_rate_limit_wait_seconds",
    "Seconds AWS calls waited for the client-side rate limit (daemon.rate_limits).",
    ["service"],
    registry=_EACH_SCRAPE,
)
SWEEP_DURATION = Histogram(
    f"{PREFIX}_sweep_duration_seconds",
    "Time of one full sweep (successful or not).",
    registry=_EACH_SCRAPE,
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800),
)
LAST_SWEEP_SUCCESS = Gauge(
    f"{PREFIX}_last_sweep_success_timestamp_seconds",
    "Unix time the last successful sweep finished; 0 until the first one.",
    registry=_EACH_SCRAPE,
)
SWEEP_MESSAGES = Counter(
    f"{PREFIX}_sweep_messages",
    "Sweep messages handled (--sweep-source queue), by kind and outcome.",
    ["kind", "outcome"],
    registry=_EACH_SCRAPE,
)
SWEEP_APPS_SENT = Counter(
    f"{PREFIX}_sweep_applications_sent",
    "Applications a sweep tick fanned out as work messages on the queue.",
    registry=_EACH_SCRAPE,
)
QUEUE_MESSAGES = Gauge(
    f"{PREFIX}_queue_messages",
    "Visible messages in the SQS queue (ApproximateNumberOfMessages), polled periodically.",
    ["queue"],
    registry=_EACH_SCRAPE,
)
WORK_QUEUE_DEPTH = Gauge(
    f"{PREFIX}_work_queue_depth",
    "Applications waiting in the in-memory work queue.",
    registry=_EACH_SCRAPE,
)
CONFIG_RELOADS = Counter(
    f"{PREFIX}_config_reloads",
    "Desired-state config reloads, by result.",
    ["result"],
    registry=_EACH_SCRAPE,
)
CONFIG_INFO = Gauge(
    f"{PREFIX}_config_info",
    "1, labelled with the SHA-256 of the loaded desired-state config.",
    ["sha256"],
    registry=_EACH_SCRAPE,
)
EVIDENCE_FINDINGS = Counter(
    f"{PREFIX}_evidence_findings",
    "Security Hub findings sent with BatchImportFindings, by result.",
    ["result"],
    registry=_EACH_SCRAPE,
)
OWN_WRITES_CHECKED = Counter(
    f"{PREFIX}_own_writes_checked",
    "Writes made with the daemon's credentials (CloudTrail events) checked against its ledger, "
    "by result.",
    ["result"],
    registry=_EACH_SCRAPE,
)
UNEXPLAINED_OWN_WRITES = Counter(
    f"{PREFIX}_unexplained_own_writes",
    "Writes made with the daemon's credentials that it did not send (unledgered) or did not "
    "plan (unplanned): a credential-misuse signal.",
    ["event_name", "reason"],
    registry=_EACH_SCRAPE,
)
STATE_STORE_UP = Gauge(
    f"{PREFIX}_state_store_up",
    "1 while the last call to the state store succeeded, 0 while it fails (restarting fixes "
    "are then held).",
    registry=_EACH_SCRAPE,
)
STATE_STORE_ERRORS = Counter(
    f"{PREFIX}_state_store_errors",
    "State store calls that failed (throttled, unreachable, access denied, no table).",
    registry=_EACH_SCRAPE,
)
STATE_STORE_CONFLICTS = Counter(
    f"{PREFIX}_state_store_conflicts",
    "State store writes refused because another replica stored a newer version first.",
    registry=_EACH_SCRAPE,
)
TIMER_CLAIMS = Counter(
    f"{PREFIX}_timer_claims",
    "Timers every replica keeps (deferred fixes at a window's opening, waiver expiries), by "
    "whether this process claimed the moment in the state store and fired it (won) or another "
    "replica had (lost).",
    ["timer", "outcome"],
    registry=_EACH_SCRAPE,
)
BUILD_INFO = Gauge(
    f"{PREFIX}_build_info",
    "1, labelled with the running version.",
    ["version"],
    registry=_EACH_SCRAPE,
)
BUILD_INFO.labels(version=__version__).set(1)
STATE_STORE_UP.set(1)

# Series of bounded enums exist from the start at 0, so rate()/increase() see the first event.
for _source in EVENT_SOURCES:
    EVENTS_RECEIVED.labels(source=_source)
for _reason in IGNORE_REASONS:
    EVENTS_IGNORED.labels(reason=_reason)
for _trigger in TRIGGERS:
    for _result in RESULTS:
        RECONCILES.labels(trigger=_trigger, result=_result)
for _reload in CONFIG_RELOAD_RESULTS:
    CONFIG_RELOADS.labels(result=_reload)
for _finding in FINDING_RESULTS:
    EVIDENCE_FINDINGS.labels(result=_finding)
for _kind in SWEEP_MESSAGE_KINDS:
    for _outcome in SWEEP_MESSAGE_OUTCOMES:
        SWEEP_MESSAGES.labels(kind=_kind, outcome=_outcome)
for _timer in TIMER_NAMES:
    for _claim in CLAIM_OUTCOMES:
        TIMER_CLAIMS.labels(timer=_timer, outcome=_claim)

_lock = threading.Lock()
_config_sha: list[str] = []


def _check(value: str, allowed: tuple[str, ...], label: str) -> str:
    if value not in allowed:
        raise ValueError(f"{label}={value!r} is not one of {', '.join(allowed)}")
    return value


_OPENMETRICS_EOF = b"# EOF\n"


def render(accept: str | None = None) -> tuple[bytes, str]:
    """The `/metrics` body and its Content-Type, negotiated from the request's Accept header.
    The per-application series come from APP_TEXT (formatted again only where they changed)."""
    encoder, content_type = choose_encoder(accept or "")
    head = encoder(_EACH_SCRAPE).removesuffix(_OPENMETRICS_EOF)
    body = head + APP_TEXT.render(encoder, content_type)
    return (body + _OPENMETRICS_EOF if "openmetrics" in content_type else body), content_type


def count_event_received(source: str) -> None:
    """An event was read. `source` is the envelope's `source`; unknown ones count as `other`."""
    EVENTS_RECEIVED.labels(source=source if source in EVENT_SOURCES else "other").inc()


def count_event_ignored(reason: IgnoreReason) -> None:
    EVENTS_IGNORED.labels(reason=_check(reason, IGNORE_REASONS, "reason")).inc()


def count_reconcile(trigger: Trigger, result: Result) -> None:
    RECONCILES.labels(
        trigger=_check(trigger, TRIGGERS, "trigger"),
        result=_check(result, RESULTS, "result"),
    ).inc()


def declare_rule(rule: str, mode: Mode) -> None:
    """Create a rule's counters at 0 (call for every enabled rule at start and after a reload),
    so the first drift or failure is an increase that rate() and alerts can see."""
    DRIFTS_DETECTED.labels(rule=rule)
    for reverted in FIX_FAILURES:
        FIX_OPERATIONS_FAILED.labels(rule=rule, outcome=reverted)
    FIX_STOPPED_APPLICATIONS.labels(rule=rule)
    for outcome in OUTCOMES:
        REMEDIATIONS.labels(rule=rule, outcome=outcome, mode=_check(mode, MODES, "mode"))


def count_drifts(rule: str, count: int = 1) -> None:
    DRIFTS_DETECTED.labels(rule=rule).inc(count)


def count_remediation(rule: str, outcome: Outcome, mode: Mode) -> None:
    REMEDIATIONS.labels(
        rule=rule,
        outcome=_check(outcome, OUTCOMES, "outcome"),
        mode=_check(mode, MODES, "mode"),
    ).inc()


def observe_remediation_duration(rule: str, seconds: float) -> None:
    REMEDIATION_DURATION.labels(rule=rule).observe(max(seconds, 0.0))


def set_violation(app: AppRef, rule: str, active: bool) -> None:
    """After each reconcile, for each rule checked: True if drift of `rule` is left in place
    (alert-only, dry-run, unfixable or failed fix), False if none is left."""
    APP_GAUGES.set(VIOLATION_ACTIVE, app, rule, active)


def set_fight(app: AppRef, rule: str, active: bool) -> None:
    """True when the fix budget of (app, rule) is spent; False when its window has passed."""
    APP_GAUGES.set(FIGHT_ACTIVE, app, rule, active)


def set_fix_deferred(app: AppRef, rule: str, deferred: bool) -> None:
    """True while a restarting fix of (app, rule) waits for a disruption window."""
    APP_GAUGES.set(FIX_DEFERRED, app, rule, deferred)


def count_fix_operation_failed(rule: str, outcome: FixFailure) -> None:
    """A fix the service accepted ended rolled back or failed (its operation said so)."""
    FIX_OPERATIONS_FAILED.labels(rule=rule, outcome=_check(outcome, FIX_FAILURES, "outcome")).inc()


def count_fix_stopped_application(rule: str) -> None:
    """A restarting fix failed and the application is READY: its job stopped (an incident)."""
    FIX_STOPPED_APPLICATIONS.labels(rule=rule).inc()


def forget_application(app: AppRef) -> None:
    """Remove every per-application series of `app` (it left the inventory)."""
    APP_GAUGES.forget(app)


def set_application_count(account: str, region: str, count: int) -> None:
    APPLICATIONS.labels(account=account, region=region).set(count)


def observe_event_lag(seconds: float) -> None:
    """now - eventTime; clock skew can make it negative, which counts as 0."""
    EVENT_LAG.observe(max(seconds, 0.0))


def count_aws_call(service: str, operation: str) -> None:
    AWS_CALLS.labels(service=service, operation=operation).inc()


def count_aws_error(service: str, operation: str, code: str) -> None:
    AWS_ERRORS.labels(service=service, operation=operation, code=code or "Unknown").inc()


def count_aws_retry(service: str, operation: str) -> None:
    AWS_RETRIES.labels(service=service, operation=operation).inc()


def count_rate_limit_wait(service: str, seconds: float) -> None:
    if seconds > 0:
        RATE_LIMIT_WAIT.labels(service=service).inc(seconds)


def record_sweep(
    duration_seconds: float, succeeded: bool, finished_at: float | None = None
) -> None:
    """A sweep ended. `finished_at` is a Unix time (default: now)."""
    SWEEP_DURATION.observe(max(duration_seconds, 0.0))
    if succeeded:
        LAST_SWEEP_SUCCESS.set(time.time() if finished_at is None else finished_at)


def count_sweep_message(kind: SweepMessageKind, outcome: SweepMessageOutcome) -> None:
    SWEEP_MESSAGES.labels(
        kind=_check(kind, SWEEP_MESSAGE_KINDS, "kind"),
        outcome=_check(outcome, SWEEP_MESSAGE_OUTCOMES, "outcome"),
    ).inc()


def count_sweep_applications_sent(count: int) -> None:
    SWEEP_APPS_SENT.inc(count)


def set_queue_depth(queue: QueueName, messages: int) -> None:
    QUEUE_MESSAGES.labels(queue=_check(queue, QUEUE_NAMES, "queue")).set(messages)


def set_work_queue_depth(applications: int) -> None:
    WORK_QUEUE_DEPTH.set(applications)


def count_config_reload(result: ConfigReloadResult) -> None:
    CONFIG_RELOADS.labels(result=_check(result, CONFIG_RELOAD_RESULTS, "result")).inc()


def count_evidence_findings(result: FindingResult, count: int = 1) -> None:
    EVIDENCE_FINDINGS.labels(result=_check(result, FINDING_RESULTS, "result")).inc(count)


def count_own_write_checked(result: OwnWriteResult) -> None:
    OWN_WRITES_CHECKED.labels(result=_check(result, OWN_WRITE_RESULTS, "result")).inc()


def count_unexplained_own_write(event_name: str, reason: UnexplainedReason) -> None:
    """`event_name` is one the rules' event patterns forward (bounded by the registry)."""
    checked = _check(reason, UNEXPLAINED_REASONS, "reason")
    UNEXPLAINED_OWN_WRITES.labels(event_name=event_name[:64], reason=checked).inc()


def set_config(sha256: str) -> None:
    """The config with this hash is now the one in use; the previous hash's series goes."""
    with _lock:
        for old in _config_sha:
            CONFIG_INFO.remove(old)
        _config_sha[:] = [sha256]
        CONFIG_INFO.labels(sha256=sha256).set(1)


def set_state_store_up(up: bool) -> None:
    STATE_STORE_UP.set(1 if up else 0)


def count_state_store_error() -> None:
    STATE_STORE_ERRORS.inc()


def count_state_store_conflict() -> None:
    STATE_STORE_CONFLICTS.inc()


def count_timer_claim(timer: TimerName, won: bool) -> None:
    TIMER_CLAIMS.labels(timer=timer, outcome="won" if won else "lost").inc()


# --- Waivers (daemon/reconcile/waiver_expiry.py) --------------------------------------------
# Kept apart from the per-application gauges above: only apps with a waived drift have a series.
WAIVED = Gauge(
    f"{PREFIX}_waived",
    "1 while a waiver allows drift of this rule on this application (reported, never fixed); "
    "the series goes when the drift is no longer waived.",
    ["account", "region", "application", "rule", "waiver"],
    registry=_EACH_SCRAPE,
)
WAIVER_EXPIRY = Gauge(
    f"{PREFIX}_waiver_expiry_seconds",
    "Seconds until each configured waiver expires (negative once expired).",
    ["waiver"],
    registry=_EACH_SCRAPE,
)
WAIVER_WARN = Gauge(
    f"{PREFIX}_waiver_warn_seconds",
    "waiver_policy.warn_days in seconds: WaiverExpiring fires when a waiver expires sooner.",
    registry=_EACH_SCRAPE,
)


def set_waived(app: AppRef, rule: str, waiver: str, active: bool) -> None:
    labels = (app.account, app.region, app.name, rule, waiver)
    if active:
        WAIVED.labels(*labels).set(1)
    else:
        with contextlib.suppress(KeyError):  # never set, or already gone
            WAIVED.remove(*labels)


_waiver_ids: set[str] = set()  # the ids WAIVER_EXPIRY has a series for


def set_waiver_expiries(seconds: dict[str, float], warn_seconds: float) -> None:
    """The configured waivers' seconds to expiry; series of waivers no longer configured go."""
    with _lock:
        for gone in _waiver_ids - set(seconds):
            WAIVER_EXPIRY.remove(gone)
        _waiver_ids.clear()
        _waiver_ids.update(seconds)
        for waiver, left in seconds.items():
            WAIVER_EXPIRY.labels(waiver=waiver).set(left)
        WAIVER_WARN.set(warn_seconds)


WAIVER_EXPIRED_IGNORED = Gauge(
    f"{PREFIX}_waiver_expired_ignored",
    "1 for each waiver that had expired when the daemon started: left out (treated as absent, "
    "its drift enforced) instead of refusing to start; the series go with a valid config.",
    ["waiver"],
    registry=_EACH_SCRAPE,
)


def set_expired_waivers(ids: tuple[str, ...]) -> None:
    WAIVER_EXPIRED_IGNORED.clear()
    for waiver in ids:
        WAIVER_EXPIRED_IGNORED.labels(waiver=waiver).set(1)


# --- Approvals of restarting fixes (daemon/reconcile/approvals.py) ---------------------------
APPROVALS = Counter(
    f"{PREFIX}_approvals",
    "Approvals of restarting fixes the daemon settled, by outcome: used (the approved calls "
    "were sent) or refused (stale: version changed, planned change differs, window closed).",
    ["outcome"],
    registry=_EACH_SCRAPE,
)


def count_approval(outcome: str) -> None:
    APPROVALS.labels(outcome=outcome).inc()
