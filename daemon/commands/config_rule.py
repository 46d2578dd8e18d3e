"""The AWS Lambda handler of the flink-remediator AWS Config rules (`handler(event, context)`).

Deployed once per account and Region (deploy/cloudformation/config-rules.yaml); every Config rule
`flink-remediator-<rule>` invokes it with InputParameters `{"rule": "<rule>"}`. Environment:
FLINK_REMEDIATOR_CONFIG (the desired-state file packaged with the function),
FLINK_REMEDIATOR_FINDING_MAX_AGE_SECONDS (how old a daemon finding may be to answer; default
3600), AWS_REGION (set by Lambda).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from daemon.aws import Aws
from daemon.commands import exits
from daemon.desired.loader import load_config
from daemon.evidence.config_evaluator import DEFAULT_MAX_AGE_SECONDS, ConfigEvaluator
from daemon.evidence.config_rule import parse_invocation
from daemon.telemetry import logs

PACKAGED_CONFIG = "desired-state.yaml"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logs.configure("json", level="INFO")
    invocation = parse_invocation(event)
    config = load_config(os.environ.get("FLINK_REMEDIATOR_CONFIG", PACKAGED_CONFIG))
    region = os.environ.get("AWS_REGION") or config.regions[0]
    aws = Aws(region)
    max_age = float(
        os.environ.get("FLINK_REMEDIATOR_FINDING_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS)
    )
    evaluator = ConfigEvaluator(aws, config, invocation.account or aws.account_id(), max_age)
    evaluations = evaluator.evaluate(invocation)
    evaluator.put(evaluations, invocation.result_token, invocation.ordering)
    counts: dict[str, int] = {}
    for evaluation in evaluations:
        counts[evaluation.compliance] = counts.get(evaluation.compliance, 0) + 1
    return {"rule": invocation.rule, "evaluations": len(evaluations), "counts": counts}


def register(subparsers: Any) -> None:
    helptext = "the AWS Config rules' Lambda function: build its deployment package"
    p = subparsers.add_parser("config-rule", help=helptext, description=helptext)
    commands = p.add_subparsers(dest="config_rule_command", required=True, metavar="COMMAND")
    package = commands.add_parser("package", help="a Lambda zip: this package, deps, config")
    package.add_argument("--config", required=True, help="desired-state YAML file to ship")
    package.add_argument("--output", required=True, help="zip file to write")
    package.add_argument(
        "--source", default=".", help="the project to package (checkout or wheel; default .)"
    )
    package.add_argument("--python-version", default="3.11", help="the Lambda runtime's")
    package.add_argument("--platform", default="manylinux2014_x86_64", help="or ..._aarch64")
    package.set_defaults(func=run_package)


def run_package(args: argparse.Namespace) -> int:
    """pip builds the project's wheel, installs it with its dependencies for the Lambda
    runtime's platform into a folder, the config goes in as `desired-state.yaml`, all zipped.
    The function's Handler is `daemon.commands.config_rule.handler` and its environment
    FLINK_REMEDIATOR_CONFIG=desired-state.yaml (deploy/cloudformation/config-rules.yaml)."""
    load_config(args.config)  # a broken config fails here, not in every evaluation
    if not Path(args.output).absolute().parent.is_dir():
        raise exits.Failure(f"--output {args.output}: no such directory")
    with tempfile.TemporaryDirectory() as work:
        wheels, target = Path(work) / "wheels", Path(work) / "package"
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        _run([*pip, "wheel", "--no-deps", "-w", str(wheels), args.source])
        built = sorted(wheels.glob("*.whl"))
        platform = ["--platform", args.platform, "--python-version", args.python_version]
        binary = ["--only-binary=:all:", "--implementation", "cp", *platform]
        _run([*pip, "install", "--target", str(target), *binary, *map(str, built)])
        shutil.copyfile(args.config, target / PACKAGED_CONFIG)
        archive = shutil.make_archive(str(Path(work) / "function"), "zip", target)
        shutil.move(archive, args.output)
    print(f"config-rule: wrote {Path(args.output).absolute()}", file=sys.stderr)
    return exits.OK


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise exits.Failure(f"config-rule package: {last}")
