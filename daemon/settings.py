"""Runtime settings of `run`: every flag also comes from a FLINK_REMEDIATOR_* variable.

Precedence: command-line flag, then environment variable, then default. Checked at start.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import MISSING, dataclass, fields
from typing import Any

from daemon.errors import SettingsError
from daemon.rate_limits import parse_rates
from daemon.regions import region_from_queue_url, region_problem, sdk_region

ENV_PREFIX = "FLINK_REMEDIATOR_"
MAX_POLLERS = 16  # each holds an SQS connection open in a long poll


@dataclass(frozen=True)
class RunSettings:
    config: str
    queue_url: str = ""  # empty: no event ingestion, sweeps only
    dlq_url: str = ""  # for the DLQ depth gauge; derived from the queue's redrive policy if empty
    dry_run: bool = False
    region: str = ""  # resolved by from_args: queue URL, then this flag, then AWS_REGION
    metrics_port: int = 8080
    metrics_host: str = "0.0.0.0"
    log_format: str = "auto"
    workers: int = 8
    debounce_seconds: float = 1.0
    debounce_max_wait_seconds: float = 30.0  # a burst within this gives <= 2 reconciles per app
    sweep_interval_seconds: float = 900.0
    sweep_jitter_seconds: float = 60.0
    resync_seconds: float = 86400.0  # a sweep describes every app at start and this often
    # internal: this process sweeps on a timer; queue: sweep ticks arrive on the queue
    # (EventBridge Scheduler) and are shared by every replica as work messages.
    sweep_source: str = "internal"
    config_poll_seconds: float = 5.0
    shutdown_grace_seconds: float = 30.0
    visibility_timeout_seconds: int = 60
    # A receive's visibility until the heartbeat extends it: a lost receive reply hides its
    # messages this long. Capped by visibility_timeout_seconds.
    receive_visibility_seconds: int = 30
    poll_wait_seconds: int = 20  # SQS long polling wait
    pollers: int = 3  # receive loops feeding one intake: a burst arrives sooner
    fix_budget: int = 5  # fixes per application and rule in one window
    fix_budget_window_seconds: float = 3600.0
    max_pending_applications: int = 10000
    # An event's reconcile reuses an app's tags read this recently; < 0: the sweep interval.
    tags_max_age_seconds: float = -1.0
    # DynamoDB table of the safeguards' state (backoffs, follow-ups, announcements...): empty
    # keeps it in memory, lost at each restart and not shared by replicas.
    state_table: str = ""
    # family=requests-per-second,... over daemon.rate_limits.DEFAULT_RATES (per account, Region)
    rate_limits: str = ""
    # The own-credential canary looks a request id up again this long after a first miss
    # (the ledger entry is written once the reply is in; CloudTrail may be quicker).
    own_write_grace_seconds: float = 60.0

    @property
    def tags_max_age(self) -> float:
        """Seconds an app's remembered tags serve an event's reconcile (0: never)."""
        if self.tags_max_age_seconds < 0:
            return self.sweep_interval_seconds
        return self.tags_max_age_seconds

    def check(self) -> RunSettings:
        problems = []
        if not self.config:
            problems.append("--config (FLINK_REMEDIATOR_CONFIG) is required")
        if not 0 < self.metrics_port < 65536:
            problems.append(f"--metrics-port {self.metrics_port} is not a TCP port")
        if self.log_format not in ("auto", "json", "console"):
            problems.append(f"--log-format must be auto, json or console, not {self.log_format}")
        for name in ("workers", "fix_budget", "max_pending_applications"):
            if getattr(self, name) < 1:
                problems.append(f"--{name.replace('_', '-')} must be at least 1")
        if not 0 <= self.debounce_seconds <= self.debounce_max_wait_seconds:
            problems.append("--debounce-seconds must be within 0..--debounce-max-wait-seconds")
        if self.sweep_source not in ("internal", "queue"):
            problems.append(f"--sweep-source must be internal or queue, not {self.sweep_source}")
        elif self.sweep_source == "queue" and not self.queue_url:
            problems.append("--sweep-source queue needs --queue-url (the ticks arrive there)")
        if self.sweep_interval_seconds < 10:
            problems.append("--sweep-interval-seconds must be at least 10")
        if self.resync_seconds < 0:
            problems.append("--resync-seconds must be at least 0")
        if not 1 <= self.visibility_timeout_seconds <= 43200:
            problems.append("--visibility-timeout-seconds must be within 1..43200")
        if not 3 <= self.receive_visibility_seconds <= 43200:
            problems.append("--receive-visibility-seconds must be within 3..43200")
        if not 0 <= self.poll_wait_seconds <= 20:
            problems.append("--poll-wait-seconds must be within 0..20")
        if not 0 <= self.own_write_grace_seconds <= 3600:
            problems.append("--own-write-grace-seconds must be within 0..3600")
        if not 1 <= self.pollers <= MAX_POLLERS:
            problems.append(f"--pollers must be within 1..{MAX_POLLERS}")
        parse_rates(self.rate_limits)  # SettingsError naming the bad entry
        if problems:
            raise SettingsError("; ".join(problems))
        return self


HELP = {
    "config": "desired-state YAML file (re-read when it changes)",
    "queue_url": "SQS queue the EventBridge rules deliver to",
    "dlq_url": "its dead-letter queue (default: from the queue's redrive policy)",
    "dry_run": "plan and report, never write",
    "region": "Region of the queue and STS calls when the queue URL does not name one "
    "(default: AWS_REGION, then the config's first region)",
    "metrics_port": "port of /metrics, /healthz, /readyz",
    "metrics_host": "address to listen on",
    "log_format": "auto (console on a TTY, else JSON), json or console",
    "workers": "applications reconciled in parallel",
    "debounce_seconds": "reconcile an app once its events have been quiet this long",
    "debounce_max_wait_seconds": "... but no later than this after its first event",
    "sweep_interval_seconds": "sweep every so often: list, read side resources in pages, "
    "reconcile the apps that changed",
    "resync_seconds": "a sweep describes and reconciles every app at start and this often "
    "(0: every sweep)",
    "sweep_jitter_seconds": "random spread added to each sweep",
    "sweep_source": "internal (a timer in this process) or queue (EventBridge Scheduler puts "
    "sweep ticks on the queue; replicas share the work)",
    "config_poll_seconds": "how often to look for a changed config file",
    "shutdown_grace_seconds": "on SIGTERM, time to finish in-flight reconciles",
    "visibility_timeout_seconds": "SQS visibility while a message is being worked on",
    "receive_visibility_seconds": "SQS visibility a receive asks for, until the heartbeat "
    "extends it to --visibility-timeout-seconds (a lost receive reply hides messages this "
    "long; at most the visibility timeout)",
    "poll_wait_seconds": "SQS long-polling wait (0-20)",
    "pollers": "SQS receive loops run side by side (1-16), 10 messages per receive each",
    "fix_budget": "fixes per application and rule per window before the daemon stops fighting",
    "fix_budget_window_seconds": "length of that window",
    "max_pending_applications": "work queue bound; beyond it messages stay in SQS",
    "state_table": "DynamoDB table keeping backoffs, follow-ups, fight charges, announcements "
    "and the ledger of the daemon's writes across restarts and replicas (empty: in memory)",
    "rate_limits": "requests per second per account and Region (IAM: per account) by API "
    "family, over the defaults, e.g. 'kinesisanalyticsv2=10,logs=2' ('*=N' any other family, "
    "'=0' unlimited); throttling from AWS lowers them for a while",
    "own_write_grace_seconds": "the own-credential canary looks a write made with the "
    "daemon's credentials up in its ledger again this long after a first miss, then reports it",
    "tags_max_age_seconds": "an event's reconcile reuses an app's tags read this recently "
    "instead of ListTagsForResource (-1: the sweep interval; 0: always read them)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for f in fields(RunSettings):
        flag = "--" + f.name.replace("_", "-")
        env = ENV_PREFIX + f.name.upper()
        default = f.default if f.default is not MISSING else ""
        helptext = f"{HELP[f.name]} [env {env}]"
        # Values stay text here; from_args converts them, so a bad one names flag and variable.
        if f.type == "bool":
            parser.add_argument(
                flag, action="store_true", default=os.environ.get(env, default), help=helptext
            )
        else:
            parser.add_argument(flag, default=os.environ.get(env, default), help=helptext)


def from_args(args: argparse.Namespace) -> RunSettings:
    values: dict[str, Any] = {}
    for f in fields(RunSettings):
        name = f"--{f.name.replace('_', '-')} ({ENV_PREFIX}{f.name.upper()})"
        value = getattr(args, f.name)
        if f.type == "bool":
            values[f.name] = _bool(name, value)
        elif f.type in ("int", "float"):
            try:
                values[f.name] = int(value) if f.type == "int" else float(value)
            except (TypeError, ValueError):
                raise SettingsError(f"{name}: {value!r} is not a number") from None
        else:
            values[f.name] = str(value)
    values["region"] = home_region(values["queue_url"], values["region"])
    return RunSettings(**values).check()


def home_region(queue_url: str, region: str) -> str:
    """Where the queue and STS are called: the Region in an AWS queue URL, else --region, else
    the SDK's (AWS_REGION, AWS_DEFAULT_REGION, profile); empty means the config's first Region.
    A name botocore does not know stops the start, naming where it came from."""
    from_url = region_from_queue_url(queue_url)
    flag = f"--region ({ENV_PREFIX}REGION)"
    if from_url and region and region != from_url:
        raise SettingsError(f"{flag} {region} differs from the queue URL's Region {from_url}")
    for value, source in ((from_url, "--queue-url"), (region, flag), (sdk_region(), "AWS_REGION")):
        if value:
            if problem := region_problem(value):
                raise SettingsError(f"{source}: {problem}")
            return value
    return ""


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}: {value!r} is not a boolean")
