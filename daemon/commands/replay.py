"""`replay`: past events through the daemon's pipeline, for incident review.

"What would the daemon have done with yesterday's trail?" Events go through the same intake
(parse, own identity, dedupe) and routing as in the daemon; each affected application is then
reconciled once against its current state. Dry-run unless --apply.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from daemon import errors
from daemon.commands import exits
from daemon.commands.fleet import OpenFleet, open_fleet
from daemon.desired.config import DesiredConfig
from daemon.desired.loader import load_config
from daemon.ingest.dedupe import EventIdCache
from daemon.ingest.files import read_events
from daemon.ingest.identity import OwnIdentity
from daemon.ingest.intake import Ignored, Intake
from daemon.ingest.router import Router
from daemon.reconcile.reconciler import Reads, Reconciler
from daemon.reconcile.report import render_text, to_json
from daemon.reconcile.rules import rules_for
from daemon.state import AppRef, Cause
from daemon.telemetry import logs


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "replay",
        help="run recorded CloudTrail events through the pipeline (dry-run by default)",
        description='Files: CloudTrail log files ({"Records": [...]}, .json or .json.gz) or '
        "JSON lines of EventBridge envelopes (.jsonl, .jsonl.gz).",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--config", required=True, help="desired-state YAML file")
    p.add_argument("--apply", action="store_true", help="really fix (default: dry-run)")
    p.add_argument("--output", choices=("text", "json"), default="text")
    p.add_argument("--log-format", choices=("auto", "json", "console"), default="auto")
    p.set_defaults(func=replay)


def replay(args: argparse.Namespace) -> int:
    logs.configure(args.log_format, level="WARNING")
    config = load_config(args.config)  # a ConfigError: `error:` lines (daemon/cli.py)
    bad = [problem for path in args.files for problem in _not_json(path)]
    if bad:
        more = f" (and {len(bad) - 1} more files)" if len(bad) > 1 else ""
        return exits.fail(f"{bad[0]}{more}")
    out = sys.stderr if args.output == "json" else sys.stdout
    try:
        opened = open_fleet(config, config.regions[0])
        causes = _causes(args.files, opened, config, out)
    except exits.Failure as exc:
        return exits.fail(str(exc), exc.code)
    except errors.RemediatorError as exc:
        return exits.fail(str(exc))
    dry_run = not args.apply
    reconciler = Reconciler(
        opened.aws,
        rules_for(lambda: config),
        dry_run=dry_run,
        reads=Reads(role_index=opened.inventory.role_index(lambda: True)),
    )
    results = [reconciler.reconcile(app, cause) for app, cause in sorted(causes.items())]
    if args.output == "json":
        print(to_json(results, dry_run))
    else:
        render_text(results, out, dry_run)
    return exits.ERROR if any(r.result == "error" for r in results) else exits.OK


def _causes(
    files: list[str], opened: OpenFleet, config: DesiredConfig, out: TextIO
) -> dict[AppRef, Cause]:
    """Each event through the daemon's intake and routing: the applications it affects, and
    the cause each is reconciled for (the last event that routed to it)."""
    directory = opened.fleet.directory
    roles = (a.role_arn for a in directory.accesses().values() if a.role_arn)
    own = OwnIdentity.from_caller_identity(opened.fleet.own_arn).with_roles(roles)
    intake = Intake(own, EventIdCache(), lambda: config, directory.accounts, bare_records=True)
    router = Router(opened.inventory, opened.aws.account)
    causes: dict[AppRef, Cause] = {}
    for path in files:
        for location, body in read_events(path):
            hint = intake.accept(body)
            if isinstance(hint, Ignored):
                print(f"{location}: ignored ({hint.reason}) {hint.detail}", file=out)
                continue
            apps = router.apps_for(hint)
            names = ", ".join(sorted(a.name for a in apps)) or "no application"
            print(f"{location}: {hint.event_name} by {hint.actor or '?'} -> {names}", file=out)
            for app in apps:
                causes[app] = Cause("replay", hint.event_id, hint.actor)
    return causes


def _not_json(path: str) -> list[str]:
    """Why `path` is not an event file: unreadable, or not one of its events is JSON (a CSV, a
    log, the wrong file). One broken line among good events is only reported as ignored."""
    good, first_bad = 0, ""
    try:
        for location, body in read_events(path):
            try:
                json.loads(body)
                good += 1
            except ValueError as exc:
                first_bad = first_bad or f"{location}: not JSON ({exc}): not an event file"
    except errors.RemediatorError as exc:
        return [str(exc)]
    if good:
        return []
    return [first_bad or f"{path}: no events in this file"]
