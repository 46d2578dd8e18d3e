"""`plan` and `apply`: one pass over every application, like `terraform plan` / `apply`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from daemon import errors
from daemon.aws import AwsByRegion
from daemon.desired.loader import load_config
from daemon.evidence.securityhub import publisher_for
from daemon.reconcile.fleet import reconcile_all
from daemon.reconcile.inventory import Inventory, index_applications
from daemon.reconcile.reconciler import Reconciler, ReconcileResult
from daemon.reconcile.report import render_text, to_json
from daemon.reconcile.rules import resolver_for
from daemon.state import Cause
from daemon.telemetry import logs

EXIT_OK, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2


def register(subparsers: Any) -> None:
    for name, helptext in (
        ("plan", "show what would change (never writes)"),
        ("apply", "fix drift once, honouring each rule's mode"),
    ):
        p = subparsers.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--config", required=True, help="desired-state YAML file")
        p.add_argument("--output", choices=("text", "json"), default="text")
        p.add_argument("--workers", type=int, default=8, help="applications reconciled at once")
        p.add_argument(
            "--log-format", choices=("auto", "json", "console"), default="auto", dest="log_format"
        )
        if name == "plan":
            p.add_argument(
                "--detailed-exitcode",
                action="store_true",
                help="exit 0 when nothing drifted, 2 when something did, 1 on error",
            )
            p.set_defaults(func=run_pass, dry_run=True)
        else:
            p.add_argument("--dry-run", action="store_true", help="exactly `plan`")
            p.set_defaults(func=run_pass, detailed_exitcode=False)


def run_pass(args: argparse.Namespace) -> int:
    # plan's output is the report; apply also writes its audit records to stderr.
    logs.configure(args.log_format, level="WARNING" if args.dry_run else "INFO")
    try:
        config = load_config(args.config)
    except errors.ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return EXIT_ERROR
    aws = AwsByRegion()
    try:
        account = aws.region(config.regions[0]).account_id()
        if account not in config.accounts:
            print(
                f"error: the credentials are for account {account}, which {args.config} "
                f"does not list in accounts {list(config.accounts)}",
                file=sys.stderr,
            )
            return EXIT_ERROR
        inventory = Inventory()
        apps = index_applications(aws, account, config.regions, inventory)
    except errors.AwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # Security Hub findings: from `apply` (also --dry-run), never from `plan` (it writes nothing).
    evidence = publisher_for(config, aws) if args.command == "apply" else None
    reconciler = Reconciler(
        aws,
        resolver_for(lambda: config),
        dry_run=args.dry_run,
        role_index=inventory.role_index(lambda: True),
        verdicts=evidence,
    )
    results = _run_with_progress(reconciler, apps, args.workers)
    if evidence is not None:
        evidence.flush()
    if args.output == "json":
        print(to_json(results, args.dry_run))
    else:
        render_text(results, Console(), args.dry_run)
    return _exit_code(results, args.detailed_exitcode)


def _run_with_progress(reconciler: Reconciler, apps: Any, workers: int) -> list[ReconcileResult]:
    apps = list(apps)
    stderr = Console(stderr=True)
    if not stderr.is_terminal or len(apps) < 2:
        return reconcile_all(reconciler, apps, Cause("cli"), workers)
    columns = (TextColumn("reconciling"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task("apps", total=len(apps))
        return reconcile_all(
            reconciler, apps, Cause("cli"), workers, on_done=lambda _: progress.advance(task)
        )


def _exit_code(results: list[ReconcileResult], detailed: bool) -> int:
    if any(r.result == "error" for r in results):
        return EXIT_ERROR
    if detailed and any(r.plan and r.plan.drifts for r in results):
        return EXIT_DRIFT
    return EXIT_OK
