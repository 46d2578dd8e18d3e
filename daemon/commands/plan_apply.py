"""`plan` and `apply`: one pass over every application, like `terraform plan` / `apply`.

`plan --out FILE` saves the JSON plan; `apply --plan-file FILE` applies exactly that plan
(daemon/commands/plan_file.py). SIGINT/SIGTERM stops starting applications, lets those in
progress finish, prints the partial report and exits 130; a second signal exits at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from daemon import errors
from daemon.commands import exits
from daemon.commands.fleet import open_fleet
from daemon.commands.follow import Clocks, follow, following
from daemon.commands.interrupts import Interrupts
from daemon.commands.passes import RecordingResolver, select, unmatched_message, worker_count
from daemon.commands.plan_file import PlanFileError, load_plan, stale_apps, unreachable
from daemon.commands.preflight import caller_identity
from daemon.commands.saved_apply import SavedPlanApply
from daemon.desired.loader import load_config
from daemon.evidence.securityhub import publisher_for
from daemon.reconcile.fleet import PassResult, run_pass
from daemon.reconcile.listeners import verdicts_to
from daemon.reconcile.pass_reads import PassReads
from daemon.reconcile.reconciler import Reads, Reconciler, RuleSource
from daemon.reconcile.report import Overrides, plural, render_text, to_json
from daemon.reconcile.result import ReconcileResult
from daemon.reconcile.rules import waivers_for
from daemon.reconcile.safeguards import Safeguards
from daemon.sessions import AwsByAccount
from daemon.settings import home_region
from daemon.state import AppRef, Cause
from daemon.telemetry import logs

FORCED = "forced exit on a second signal: applications in progress may be half-fixed; run plan"
REAL_CLOCKS = Clocks()


def register(subparsers: Any) -> None:
    for name, helptext in (
        ("plan", "show what would change (never writes)"),
        ("apply", "fix drift once, honouring each rule's mode"),
    ):
        p = subparsers.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--config", required=name == "plan", help="desired-state YAML file")
        p.add_argument("--output", choices=("text", "json"), default="text")
        p.add_argument(
            "--app",
            action="append",
            default=[],
            metavar="NAME",
            help="only applications with this name or glob (repeatable)",
        )
        p.add_argument(
            "--workers", type=worker_count, default=8, help="applications reconciled at once"
        )
        p.add_argument("--log-format", choices=("auto", "json", "console"), default="auto")
        if name == "plan":
            p.add_argument("--out", metavar="FILE", help="also save the plan as JSON to FILE")
            p.add_argument(
                "--detailed-exitcode",
                action="store_true",
                help="exit 0 when nothing drifted, 2 when something did, 1 on error",
            )
            p.set_defaults(func=run_plan_or_apply, dry_run=True, plan_file=None)
        else:
            p.add_argument("--dry-run", action="store_true", help="exactly `plan`")
            p.add_argument(
                "--plan-file",
                metavar="FILE",
                help="apply exactly this saved plan (`plan --out`); refused if stale",
            )
            p.add_argument(
                "--wait-seconds",
                type=float,
                default=1800.0,
                metavar="S",
                help="follow fixes that restart a running application to their end for up to S "
                "seconds (0: report them as applying and exit 5)",
            )
            p.set_defaults(func=run_plan_or_apply, detailed_exitcode=False, out=None)


def run_plan_or_apply(args: argparse.Namespace, clocks: Clocks = REAL_CLOCKS) -> int:
    # plan's output is the report; apply also writes its audit records to stderr.
    logs.configure(args.log_format, level="WARNING" if args.dry_run else "INFO")
    if getattr(args, "wait_seconds", 0) < 0:
        return exits.fail(f"--wait-seconds: {args.wait_seconds} is negative", exits.USAGE)
    if args.plan_file:
        if args.config or args.dry_run:
            return exits.fail("--plan-file takes no --config or --dry-run", exits.USAGE)
        return _apply_saved(args, clocks)
    if not args.config:
        return exits.fail("apply needs --config FILE or --plan-file FILE", exits.USAGE)
    # A ConfigError or SettingsError becomes its `error:` line and exit code in daemon/cli.py.
    config = load_config(args.config)
    region = home_region("", "") or config.regions[0]
    reads = PassReads()
    try:
        opened = open_fleet(config, region, reads)
    except exits.Failure as exc:
        return exits.fail(str(exc), exc.code)
    fleet, aws, inventory, found = opened.fleet, opened.aws, opened.inventory, opened.apps
    apps, unmatched = select(found, args.app)
    if unmatched:
        where = "the configured accounts and Regions"
        return exits.fail(unmatched_message(unmatched, found, where), exits.USAGE)
    resolver = RecordingResolver(config)
    # Security Hub findings: from `apply` (also --dry-run), never from `plan` (it writes nothing).
    safeguards = Safeguards(clocks.wall)
    evidence = publisher_for(config, aws.own, safeguards) if args.command == "apply" else None
    reconciler = Reconciler(
        aws,
        RuleSource(resolver, waivers_for(lambda: config)),
        dry_run=args.dry_run,
        reads=Reads(role_index=inventory.role_index(lambda: True)),
        listeners=verdicts_to(evidence),
        safeguards=safeguards,
    )
    interrupts = Interrupts(FORCED)
    interrupts.install()
    done = _with_progress(
        lambda app: reconciler.reconcile(app, Cause("cli", reads=reads)), apps, args, interrupts
    )
    if not args.dry_run:  # restarting fixes: their outcome, not only their acceptance
        again = lambda app: reconciler.reconcile(app, Cause("cli"))  # noqa: E731
        done = _followed(done, again, args, interrupts, clocks)
    if evidence is not None:
        evidence.flush()
    extra = {"config_sha256": config.sha256, "assume_roles": fleet.assume_roles()}
    return _report(done, args, interrupts, resolver.overrides, extra)


def _apply_saved(args: argparse.Namespace, clocks: Clocks) -> int:
    try:
        saved = load_plan(args.plan_file)
        region = home_region("", "") or next((p.app.region for p in saved.plans), "us-east-1")
    except PlanFileError as exc:
        return exits.fail(str(exc))
    except errors.SettingsError as exc:
        return exits.fail(str(exc), exits.USAGE)
    chosen, unmatched = select((p.app for p in saved.plans), args.app)
    if unmatched:
        return exits.fail(f"--app {', '.join(unmatched)}: not in {saved.path}")
    plans = {p.app: p for p in saved.plans if p.app in chosen}
    identity = caller_identity(region)
    if isinstance(identity, str):
        return exits.fail(identity, exits.UNAVAILABLE)
    # Member accounts through the roles the plan was made with, as `apply --config` reaches them.
    aws = AwsByAccount(lambda: saved.accesses, region)
    try:
        own = aws.identify()["Account"]
        if missing := unreachable(saved, chosen, own):
            return exits.fail(
                f"{saved.path} covers accounts {missing}, the credentials are for account {own} "
                "and the plan names no role to reach them; nothing applied"
            )
        stale = stale_apps(list(plans.values()), aws, clocks.wall())
    except errors.AwsError as exc:
        return exits.fail(str(exc))
    if stale:
        return exits.fail(
            f"{saved.path} is stale, nothing applied: {'; '.join(stale)}; run plan again",
            exits.STALE_PLAN,
        )
    applier = SavedPlanApply(plans, aws, Safeguards(clocks.wall))
    interrupts = Interrupts(FORCED)
    interrupts.install()
    done = _with_progress(applier.apply, chosen, args, interrupts)
    done = _followed(done, applier.again, args, interrupts, clocks)
    return _report(done, args, interrupts, saved.overrides, {"plan_file": saved.path})


def _followed(
    done: PassResult,
    again: Callable[[AppRef], ReconcileResult],
    args: argparse.Namespace,
    interrupts: Interrupts,
    clocks: Clocks,
) -> PassResult:
    """The pass with each restarting fix followed to its end (or --wait-seconds)."""
    stopped = interrupts.requested
    results = follow(
        done.results, again, args.wait_seconds, stopped, clocks.monotonic, clocks.sleep
    )
    return replace(done, results=tuple(results))


def _with_progress(
    work: Any, apps: list[AppRef], args: argparse.Namespace, interrupts: Interrupts
) -> PassResult:
    stderr = Console(stderr=True)
    stopped = interrupts.requested
    if not stderr.is_terminal or len(apps) < 2:
        return run_pass(work, apps, args.workers, stopped)
    columns = (TextColumn("reconciling"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task("apps", total=len(apps))
        return run_pass(work, apps, args.workers, stopped, on_done=lambda _: progress.advance(task))


def _report(
    done: PassResult,
    args: argparse.Namespace,
    interrupts: Interrupts,
    overrides: Overrides | None,
    extra: dict[str, Any],
) -> int:
    results = list(done.results)
    if interrupts.requested():
        extra = {**extra, "interrupted": True, "not_started": [a.name for a in done.not_started]}
    _write_report(results, args, overrides, extra)
    return _exit_code(done, args, interrupts)


def _write_report(
    results: list[ReconcileResult],
    args: argparse.Namespace,
    overrides: Overrides | None,
    extra: dict[str, Any],
) -> None:
    document = to_json(results, args.dry_run, overrides, extra)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as stream:
            stream.write(document + "\n")
    if args.output == "json":
        print(document)
    else:
        render_text(results, sys.stdout, args.dry_run, overrides)


def _exit_code(done: PassResult, args: argparse.Namespace, interrupts: Interrupts) -> int:
    """OK, ERROR, DRIFT (--detailed-exitcode), PENDING or INTERRUPTED (with its line)."""
    results = list(done.results)
    if interrupts.requested():
        left = ", ".join(a.name for a in done.not_started) or "none"
        return exits.fail(
            f"interrupted by {interrupts.signal_name}: {plural(len(results), 'application')} done "
            f"(reported above), not started: {left}",
            exits.INTERRUPTED,
        )
    if any(r.result == "error" for r in results):
        return exits.ERROR
    if not args.dry_run and any(following(r) for r in results):
        applying = ", ".join(r.app.name for r in results if following(r))
        return exits.fail(
            f"still being applied after --wait-seconds: {applying} (the daemon, or a later "
            "apply, follows them)",
            exits.PENDING,
        )
    if args.detailed_exitcode and any(r.plan and r.plan.drifts for r in results):
        return exits.DRIFT
    return exits.OK
