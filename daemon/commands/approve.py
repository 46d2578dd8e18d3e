"""`approve PLAN --by NAME --ticket T [--window W]`: approve the restarting fixes a saved plan
deferred `awaiting approval` (`disruption.running: approved`).

One approval per application of the plan, kept in the daemon's state table (DynamoDB,
`--state-table`: the table the daemon reads; an approval held in this process's memory would
vanish when it exits, so there is no in-memory fallback). Each is signed with the plan's
digest: sha256 of the calls the fixes would make (merged as they would be sent) and of the
version id the plan saw. The daemon makes exactly those calls, once, inside the approval's
window (`--window`, else the rules' `windows`, else within a week), and refuses the approval
as stale if the application or the planned change moved since (daemon/reconcile/approvals.py).
Nothing is written to AWS Managed Flink here.
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from daemon.commands import exits
from daemon.commands.plan_file import SavedPlan, load_plan
from daemon.reconcile.approvals import awaiting, calls_json, digest_of, released, usable_between
from daemon.reconcile.safeguards import Approval, Safeguards
from daemon.runtime import state_store
from daemon.state import Plan
from daemon.store import StoreUnavailable
from remediations.disruption import Window

TABLE_ENV = "FLINK_REMEDIATOR_STATE_TABLE"
REGION_ENVS = ("FLINK_REMEDIATOR_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")


def register(subparsers: Any) -> None:
    helptext = "approve the restarting fixes a saved plan deferred awaiting approval"
    p = subparsers.add_parser("approve", help=helptext, description=helptext)
    p.add_argument("plan_file", metavar="PLAN", help="a plan written by `plan --out`")
    p.add_argument("--by", required=True, help="who approves (recorded and audited)")
    p.add_argument("--ticket", required=True, help="the change ticket (recorded and audited)")
    p.add_argument(
        "--window",
        default="",
        help="when the fixes may be made, e.g. 'Sat 02:00-05:00 Europe/London' (its next "
        "opening only; default: the rules' disruption windows, else within a week)",
    )
    p.add_argument(
        "--state-table",
        default=os.environ.get(TABLE_ENV, ""),
        help=f"the daemon's DynamoDB table (`run --state-table`) [env {TABLE_ENV}]",
    )
    p.add_argument(
        "--region",
        default=next((os.environ[e] for e in REGION_ENVS if os.environ.get(e)), ""),
        help="Region of the state table (default: FLINK_REMEDIATOR_REGION, then AWS_REGION)",
    )
    p.set_defaults(func=run_approve)


def run_approve(args: argparse.Namespace) -> int:
    for name, value in (("--by", args.by), ("--ticket", args.ticket)):
        if not value.strip():
            raise exits.Failure(f"{name} must not be empty", exits.USAGE)
    if args.window:
        try:
            Window.parse(args.window)
        except ValueError as exc:
            raise exits.Failure(f"--window {exc}", exits.USAGE) from exc
    if not args.state_table:
        raise exits.Failure(
            f"approve needs --state-table (or {TABLE_ENV}): the DynamoDB table the daemon reads "
            "(run --state-table); an approval kept in memory would vanish when this command exits",
            exits.USAGE,
        )
    if not args.region:
        raise exits.Failure(
            "no Region for the state table: give --region or AWS_REGION", exits.USAGE
        )
    saved = load_plan(args.plan_file)
    safeguards = Safeguards(store=state_store(args.state_table, args.region))
    try:
        approvals = approve(saved, args.by, args.ticket, args.window, safeguards)
    except StoreUnavailable as exc:
        raise exits.Failure(f"cannot record the approval: {exc}") from exc
    for a in approvals:
        calls = ", ".join(str(c["operation"]) for c in a.calls)
        print(
            f"approved {a.app.name} ({'+'.join(a.rules)}: {calls}) at version {a.version_id}, "
            f"usable {a.opens.isoformat()} to {a.closes.isoformat()}: approval {a.id}, "
            f"plan digest sha256:{a.plan_digest}"
        )
    return exits.OK


def approve(
    saved: SavedPlan, by: str, ticket: str, window: str, safeguards: Safeguards
) -> list[Approval]:
    """Record one approval per application of `saved` with fixes awaiting approval."""
    plans = [p for p in saved.plans if awaiting(p.actions)]
    if not plans:
        raise exits.Failure(
            f"{saved.path}: no restarting fix in this plan awaits approval "
            "(disruption.running: approved)"
        )
    now = safeguards.now()
    return [safeguards.record_approval(approval_of(p, by, ticket, window, now)) for p in plans]


def approval_of(plan: Plan, by: str, ticket: str, window: str, now: datetime) -> Approval:
    waiting = awaiting(plan.actions)
    opens, closes = usable_between(_windows(window, plan), now)
    return Approval(
        id=uuid.uuid4().hex[:12],
        app=plan.app,
        approved_by=by,
        ticket=ticket,
        plan_digest=digest_of(plan.version_id, waiting),
        version_id=plan.version_id,
        rules=tuple(r for a in waiting for r in a.rules),
        calls=tuple(calls_json(c for a in released(waiting) for c in a.calls)),
        created=now,
        opens=opens,
        closes=closes,
        window=window,
    )


def _windows(window: str, plan: Plan) -> Sequence[str]:
    if window:
        return (window,)
    found = {
        w for a in awaiting(plan.actions) for _, s in a.disruption for w in s.get("windows", ())
    }
    return tuple(sorted(found))
