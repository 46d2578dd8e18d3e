"""The AWS Lambda handler of the flink-remediator AWS Config rules (`handler(event, context)`).

Deployed once per account and Region (deploy/cloudformation/config-rules.yaml); every Config rule
`flink-remediator-<rule>` invokes it with InputParameters `{"rule": "<rule>"}`. Environment:
FLINK_REMEDIATOR_CONFIG (the desired-state file packaged with the function),
FLINK_REMEDIATOR_FINDING_MAX_AGE_SECONDS (how old a daemon finding may be to answer; default
3600), AWS_REGION (set by Lambda).
"""

from __future__ import annotations

import os
from typing import Any

from daemon.aws import Aws
from daemon.desired.loader import load_config
from daemon.evidence.config_evaluator import DEFAULT_MAX_AGE_SECONDS, ConfigEvaluator
from daemon.evidence.config_rule import parse_invocation
from daemon.telemetry import logs


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logs.configure("json", level="INFO")
    invocation = parse_invocation(event)
    config = load_config(os.environ["FLINK_REMEDIATOR_CONFIG"])
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
