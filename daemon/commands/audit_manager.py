"""`audit-manager framework` and `audit-manager import-report`: AWS Audit Manager evidence.

`framework` prints the CreateControl requests (one per project control: enabled rules and rules
mapped in `controls:`) and the CreateAssessmentFramework request over them; with `--create`
it sends them and prints the framework. `import-report` adds a `report --format json` output
as manual evidence (textResponse entries, 50 per call) to one control of an assessment.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from daemon.aws import Aws
from daemon.commands import exits
from daemon.commands.preflight import caller_identity
from daemon.desired.loader import load_config
from daemon.evidence.audit_manager import (
    EVIDENCE_PER_CALL,
    create_control,
    create_framework,
    evidence_texts,
)
from daemon.telemetry import logs


def register(subparsers: Any) -> None:
    helptext = "AWS Audit Manager: a framework of the project's controls; import a report"
    p = subparsers.add_parser("audit-manager", help=helptext, description=helptext)
    commands = p.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    fw = commands.add_parser("framework", help="the custom framework (printed, or --create)")
    fw.add_argument("--config", required=True, help="desired-state YAML file")
    fw.add_argument("--name", default="flink-remediator Managed Flink controls")
    fw.add_argument("--create", action="store_true", help="send the requests to Audit Manager")
    fw.add_argument("--region", help="Audit Manager's Region (default: the config's first)")
    fw.set_defaults(func=run_framework)
    imp = commands.add_parser("import-report", help="a JSON report as manual evidence")
    imp.add_argument("--report", required=True, help="output of `report --format json`")
    imp.add_argument("--assessment", required=True, help="assessment id")
    imp.add_argument("--control-set", required=True, help="control set id (its name)")
    imp.add_argument("--control", required=True, help="control id in the assessment")
    imp.add_argument("--rule", help="only this rule's rows (default: every control)")
    imp.add_argument("--region", required=True, help="the assessment's Region")
    imp.set_defaults(func=run_import)


def run_framework(args: argparse.Namespace) -> int:
    from remediations import RULES

    config = load_config(args.config)
    rules = [r for r in RULES if config.rules[r].enabled or r in config.controls]
    controls = {r: create_control(r, RULES[r].summary, config.controls.get(r, ())) for r in rules}
    if not args.create:  # print only: nothing is sent
        names = {r: f"<id of control {c['name']}>" for r, c in controls.items()}
        plan = {
            "CreateControl": list(controls.values()),
            "CreateAssessmentFramework": create_framework(args.name, names),
        }
        sys.stdout.write(json.dumps(plan, indent=2) + "\n")
        return exits.OK
    aws = _connected(args.region or config.regions[0])
    ids = {
        rule: str(aws.call("auditmanager", "CreateControl", **request)["control"]["id"])
        for rule, request in controls.items()
    }
    framework = aws.call(
        "auditmanager", "CreateAssessmentFramework", **create_framework(args.name, ids)
    )
    sys.stdout.write(json.dumps(framework["framework"], indent=2, default=str) + "\n")
    return exits.OK


def run_import(args: argparse.Namespace) -> int:
    try:
        report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise exits.Failure(f"--report {args.report}: {exc}") from None
    if not isinstance(report, dict) or "applications" not in report:
        raise exits.Failure(f"--report {args.report}: not a `report --format json` output")
    texts = evidence_texts(report, args.rule)
    aws = _connected(args.region)
    failed = 0
    for start in range(0, len(texts), EVIDENCE_PER_CALL):
        answer = aws.call(
            "auditmanager",
            "BatchImportEvidenceToAssessmentControl",
            assessmentId=args.assessment,
            controlSetId=args.control_set,
            controlId=args.control,
            manualEvidence=[{"textResponse": t} for t in texts[start : start + EVIDENCE_PER_CALL]],
        )
        failed += len(answer.get("errors") or ())
    print(
        f"import-report: {len(texts) - failed} of {len(texts)} evidence entries imported",
        file=sys.stderr,
    )
    return exits.ERROR if failed else exits.OK


def _connected(region: str) -> Aws:
    """Audit Manager's client, once the credentials are known to work (exit 4 otherwise)."""
    logs.configure("auto", level="WARNING")
    identity = caller_identity(region)
    if isinstance(identity, str):
        raise exits.Failure(identity, exits.UNAVAILABLE)
    return Aws(region)
