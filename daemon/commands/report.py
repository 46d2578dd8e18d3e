"""`report`: a live, read-only compliance report (HTML, JSON or CSV) for auditors.

The same pass as `plan` (every rule in dry-run: no write of any kind, Security Hub included),
then one row per application and control, with the finding history read back from Security
Hub (GetFindings) when `evidence.security_hub` is on.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.aws import AwsByRegion
from daemon.commands import exits
from daemon.commands.approve import REGION_ENVS, TABLE_ENV
from daemon.commands.fleet import open_fleet
from daemon.commands.passes import worker_count
from daemon.desired.config import DesiredConfig
from daemon.desired.loader import load_config
from daemon.desired.resolve import resolve
from daemon.evidence.history import FindingHistory, read_history
from daemon.evidence.html import to_html
from daemon.evidence.render import to_csv, to_json
from daemon.evidence.report import Control, Header, Report, build_report
from daemon.reconcile.fleet import reconcile_all
from daemon.reconcile.listeners import verdicts_to
from daemon.reconcile.reconciler import EnabledRules, Reads, Reconciler, Resolver, RuleSource
from daemon.reconcile.rules import resolver_for, waivers_for
from daemon.reconcile.safeguards import Safeguards
from daemon.reconcile.verdicts import Verdict
from daemon.runtime import state_store
from daemon.state import AppRef, Cause
from daemon.store import StoreUnavailable
from daemon.telemetry import logs
from daemon.version import package_version

EXIT_OK, EXIT_ERROR, EXIT_VIOLATION = 0, 1, 2
RENDERERS = {"html": to_html, "json": to_json, "csv": to_csv}


def register(subparsers: Any) -> None:
    helptext = "compliance report per application and control (read-only, like plan)"
    p = subparsers.add_parser("report", help=helptext, description=helptext)
    p.add_argument("--config", required=True, help="desired-state YAML file")
    p.add_argument("--format", choices=tuple(RENDERERS), default="html", dest="report_format")
    p.add_argument("--output", default="-", help="file to write (default: stdout)")
    p.add_argument("--workers", type=worker_count, default=8, help="applications read at once")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when every control holds, 2 when one is violated, 1 on error",
    )
    p.add_argument(
        "--state-table",
        default=os.environ.get(TABLE_ENV, ""),
        help="the daemon's DynamoDB table (`run --state-table`): adds each application's "
        f"approvals of restarting fixes (read only) [env {TABLE_ENV}]",
    )
    p.add_argument(
        "--log-format", choices=("auto", "json", "console"), default="auto", dest="log_format"
    )
    p.set_defaults(func=run_report)


class _Collected:
    """A verdict sink that keeps every verdict of the pass, and a resolver that keeps the tags
    read of each application (the evidence of a compliant `required_tags`)."""

    def __init__(self, config: DesiredConfig) -> None:
        self._lock = threading.Lock()
        self.verdicts: list[Verdict] = []
        self.tags: dict[AppRef, Mapping[str, str]] = {}
        self.opt_out_notes: dict[AppRef, str] = {}  # opt-out tags not honoured, and why
        self._config = config
        self._resolver: Resolver = resolver_for(lambda: config)

    def record(self, verdict: Verdict) -> None:
        with self._lock:
            self.verdicts.append(verdict)

    def resolve(self, app: AppRef, tags: Mapping[str, str]) -> EnabledRules | str:
        refused = resolve(self._config, app, tags).opt_out_refused
        with self._lock:
            self.tags[app] = dict(tags)
            if refused:
                self.opt_out_notes[app] = refused
        return self._resolver(app, tags)


def run_report(args: argparse.Namespace) -> int:
    logs.configure(args.log_format, level="WARNING")
    if args.output != "-" and not Path(args.output).absolute().parent.is_dir():
        raise exits.Failure(f"--output {args.output}: no such directory")
    config = load_config(args.config)  # a ConfigError: `error:` lines (daemon/cli.py)
    opened = open_fleet(config, config.regions[0])  # exits.Failure: its `error:` line
    fleet, aws = opened.fleet, opened.aws
    account = fleet.directory.own_account
    inventory, apps = opened.inventory, sorted(opened.apps)
    history = _history(config, aws.own, account)
    sink = _Collected(config)
    reconciler = Reconciler(
        aws,
        RuleSource(sink.resolve, waivers_for(lambda: config)),
        dry_run=True,  # the report never writes
        reads=Reads(role_index=inventory.role_index(lambda: True)),
        listeners=verdicts_to(sink),
    )
    results = reconcile_all(reconciler, apps, Cause("cli"), args.workers)
    header = Header(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tool_version=package_version(),
        config_file=str(Path(config.path).absolute()),
        config_sha256=config.sha256,
        accounts=fleet.directory.accounts(),
        regions=config.regions,
        caller_arn=fleet.own_arn,
    )
    controls = _controls(config, sink.verdicts)
    region = next((os.environ[e] for e in REGION_ENVS if os.environ.get(e)), config.regions[0])
    approvals = _approvals(args.state_table, region, apps)
    report = build_report(
        results, sink.verdicts, controls, header, history, sink.tags, sink.opt_out_notes, approvals
    )
    text = RENDERERS[args.report_format](report)
    if args.output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        Path(args.output).write_text(text, encoding="utf-8", newline="")
        where = Path(args.output).absolute()
        print(
            f"report: wrote {args.report_format.upper()} to {where} ({len(report.apps)} "
            f"applications, {len(controls)} controls)",
            file=sys.stderr,
        )
    return _exit_code(report, args.detailed_exitcode)


def _approvals(table: str, region: str, apps: list[AppRef]) -> dict[tuple[AppRef, str], str]:
    """Per (app, rule): the app's latest approval of restarting fixes, from the state table."""
    if not table:
        return {}
    guards = Safeguards(store=state_store(table, region))
    notes: dict[tuple[AppRef, str], str] = {}
    try:
        for app in apps:
            approval = guards.approval_for(app)
            notes.update({(app, r): approval.text for r in approval.rules} if approval else {})
    except StoreUnavailable as exc:
        raise exits.Failure(f"--state-table: cannot read approvals: {exc}") from exc
    return notes


def _history(
    config: DesiredConfig, aws: AwsByRegion, account: str
) -> dict[tuple[str, str], FindingHistory] | None:
    hub = config.security_hub
    if not hub.enabled:
        return None
    return read_history(aws.region(hub.region or config.regions[0]), account)


def _controls(config: DesiredConfig, verdicts: list[Verdict]) -> list[Control]:
    """Every rule enabled at the top level or for some application, in registry order; a rule
    mapped in `controls:` but enabled nowhere stays in, as not evaluated."""
    from remediations import RULES

    seen = {v.rule for v in verdicts}
    out = []
    for rule_id, rule in RULES.items():
        evaluated = rule_id in seen or config.rules[rule_id].enabled
        if evaluated or rule_id in config.controls:
            references = config.controls.get(rule_id, ())
            out.append(Control(rule_id, rule.summary, references, evaluated))
    return out


def _exit_code(report: Report, detailed: bool) -> int:
    if any(r.status == "error" for r in report.rows):
        return EXIT_ERROR
    if detailed and any(r.status == "violation" for r in report.rows):
        return EXIT_VIOLATION
    return EXIT_OK
