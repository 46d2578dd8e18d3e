"""AWS Config custom rules that run: invocations with a ResultToken, stored evaluations.

moto keeps Config rules (PutConfigRule / DescribeConfigRules, and it checks the Lambda function
exists) but its PutEvaluations is a stub and it never invokes a rule. Here:
- an invocation builds the Lambda event Config sends a custom rule
  (https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_example-events.html)
  with a fresh ResultToken and runs the function's Handler (moto's CreateFunction keeps it and
  its Environment) in a child Python process, as Lambda would, against this sandbox;
- PutEvaluations (https://docs.aws.amazon.com/config/latest/APIReference/API_PutEvaluations.html)
  accepts only a token this sandbox issued (InvalidResultTokenException), refuses
  INSUFFICIENT_DATA (InvalidParameterValueException), stores nothing in TestMode;
- GetComplianceDetailsByConfigRule and DescribeComplianceByResource read them back
  (https://docs.aws.amazon.com/config/latest/APIReference/API_GetComplianceDetailsByConfigRule.html,
  https://docs.aws.amazon.com/config/latest/APIReference/API_DescribeComplianceByResource.html).
A rule triggered by ConfigurationItemChangeNotification on AWS::KinesisAnalyticsV2::Application
runs after each successful Managed Flink mutation (in the background, one at a time).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

FLINK_TYPE = "AWS::KinesisAnalyticsV2::Application"
OPERATIONS = frozenset(
    {"PutEvaluations", "GetComplianceDetailsByConfigRule", "DescribeComplianceByResource"}
)
# One warm "container": the handler imported once, called for each event in order.
RUNNER = (
    "import importlib, json, sys\n"
    "module, _, name = sys.argv[1].rpartition('.')\n"
    "handler = getattr(importlib.import_module(module), name)\n"
    "print(json.dumps([handler(e, None) for e in json.load(sys.stdin)], default=str))\n"
)
Scope = tuple[str, str]  # (account, region)


class ConfigRules:
    def __init__(self, endpoint: Callable[[], str], now: Callable[[], float]) -> None:
        self._endpoint, self._now = endpoint, now
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Scope, str]] = {}  # token -> (scope, rule name)
        # (scope, rule, resource id) -> EvaluationResult
        self._results: dict[tuple[Scope, str, str], dict[str, Any]] = {}
        # (account, region, application or None: periodic, rule names or None: change rules)
        self._changes: queue.Queue[tuple[str, str, str | None, list[str] | None]] = queue.Queue()
        threading.Thread(target=self._on_changes, daemon=True, name="config-rules").start()

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._results.clear()

    # -- invocations ------------------------------------------------------------------------
    def evaluate(
        self, account: str, region: str, names: list[str], app: str | None = None
    ) -> list[Any]:
        """Invoke the rules: periodic (every application) or for `app`'s configuration change,
        after the evaluations that configuration changes started (so the last word is this)."""
        self._changes.join()
        return self._run(account, region, names, app)

    def _run(self, account: str, region: str, names: list[str], app: str | None) -> list[Any]:
        by_function: dict[str, list[dict[str, Any]]] = {}
        for name in names:
            rule = _rule(account, region, name)
            event = self._event(account, region, name, rule, app)
            by_function.setdefault(rule.source.source_identifier, []).append(event)
        results: list[Any] = []
        for function_arn, events in by_function.items():
            results += self._invoke(account, region, function_arn, events)
        return results

    def _event(
        self, account: str, region: str, rule_name: str, rule: Any, app: str | None
    ) -> dict[str, Any]:
        token = uuid.uuid4().hex
        with self._lock:
            self._tokens[token] = ((account, region), rule_name)
        now = datetime.fromtimestamp(self._now()).astimezone().isoformat()
        invoking: dict[str, Any]
        if app is None:
            invoking = {"messageType": "ScheduledNotification", "notificationCreationTime": now}
        else:
            invoking = {
                "messageType": "ConfigurationItemChangeNotification",
                "notificationCreationTime": now,
                "configurationItem": {
                    "resourceType": FLINK_TYPE,
                    "resourceId": app,
                    "resourceName": app,
                    "awsAccountId": account,
                    "awsRegion": region,
                    "configurationItemStatus": "OK",
                    "configurationItemCaptureTime": now,
                },
            }
        return {
            "invokingEvent": json.dumps(invoking),
            "ruleParameters": rule.input_parameters or "{}",
            "resultToken": token,
            "eventLeftScope": False,
            "executionRoleArn": f"arn:aws:iam::{account}:role/config-role",
            "configRuleArn": rule.config_rule_arn,
            "configRuleName": rule_name,
            "configRuleId": rule.config_rule_id,
            "accountId": account,
            "version": "1.0",
        }

    def _invoke(
        self, account: str, region: str, function_arn: str, events: list[dict[str, Any]]
    ) -> list[Any]:
        from moto.awslambda.utils import get_backend

        function = get_backend(account, region).get_function(function_arn)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(function.environment_vars or {})
        env.update(
            AWS_ENDPOINT_URL=self._endpoint(),
            AWS_REGION=region,
            AWS_DEFAULT_REGION=region,
            AWS_ACCESS_KEY_ID="sandbox-admin",
            AWS_SECRET_ACCESS_KEY="sandbox",
            AWS_LAMBDA_FUNCTION_NAME=function.function_name,
        )
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, str(function.handler)],
            input=json.dumps(events),
            capture_output=True,
            text=True,
            env=env,
            timeout=max(60, int(function.timeout or 3)) * len(events),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the function failed: {done.stderr.strip()[-1000:]}")
        return list(json.loads(done.stdout.strip().splitlines()[-1]))

    def changed(self, account: str, region: str, app: str) -> None:
        """A Managed Flink mutation: rules triggered by configuration changes run later."""
        self._changes.put((account, region, app, None))

    def added(self, account: str, region: str, names: list[str]) -> None:
        """New rules: Config evaluates every resource in scope soon after a rule is added."""
        self._changes.put((account, region, None, names))

    def _on_changes(self) -> None:
        while True:
            account, region, app, names = self._changes.get()
            try:
                self._run(account, region, names or _change_rules(account, region), app)
            except Exception as exc:  # a failing function must not stop the worker
                sys.stderr.write(f"sandbox: config rules on {app} failed: {exc}\n")
            finally:
                self._changes.task_done()

    # -- the API ----------------------------------------------------------------------------
    def handle(self, account: str, region: str, operation: str, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body or b"{}")
        if operation == "PutEvaluations":
            return self._put(account, region, request)
        if operation == "GetComplianceDetailsByConfigRule":
            name = str(request.get("ConfigRuleName", ""))
            if name not in _rules(account, region):
                return aws_error(
                    "NoSuchConfigRuleException",
                    f"The ConfigRule '{name}' provided in the request is invalid.",
                )
            wanted = set(request.get("ComplianceTypes") or ())
            found = [
                r
                for (s, rule, _), r in sorted(self._results.items())
                if s == (account, region) and rule == name
            ]
            found = [r for r in found if not wanted or r["ComplianceType"] in wanted]
            return 200, json.dumps({"EvaluationResults": found}, default=_epoch).encode()
        return 200, json.dumps(self._by_resource(account, region, request)).encode()

    def _by_resource(self, account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """DescribeComplianceByResource: per application, NON_COMPLIANT if any rule says so."""
        wanted = str(request.get("ResourceId", ""))
        per_resource: dict[str, list[str]] = {}
        with self._lock:
            for (scope, _rule_name, rid), result in sorted(self._results.items()):
                if scope == (account, region) and (not wanted or rid == wanted):
                    per_resource.setdefault(rid, []).append(result["ComplianceType"])
        return {
            "ComplianceByResources": [
                {
                    "ResourceType": FLINK_TYPE,
                    "ResourceId": rid,
                    "Compliance": {"ComplianceType": _overall(types)},
                }
                for rid, types in sorted(per_resource.items())
            ]
        }

    def _put(self, account: str, region: str, request: dict[str, Any]) -> tuple[int, bytes]:
        token = str(request.get("ResultToken", ""))
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued[0] != (account, region):
            return aws_error("InvalidResultTokenException", "The result token is invalid.")
        rule = issued[1]
        for evaluation in request.get("Evaluations") or ():
            if evaluation.get("ComplianceType") not in (
                "COMPLIANT",
                "NON_COMPLIANT",
                "NOT_APPLICABLE",
            ):
                return aws_error(
                    "InvalidParameterValueException",
                    f"ComplianceType {evaluation.get('ComplianceType')} is not supported.",
                )
        if request.get("TestMode"):
            return 200, b'{"FailedEvaluations": []}'
        with self._lock:
            for e in request.get("Evaluations") or ():
                rid = str(e["ComplianceResourceId"])
                self._results[((account, region), rule, rid)] = {
                    "EvaluationResultIdentifier": {
                        "EvaluationResultQualifier": {
                            "ConfigRuleName": rule,
                            "ResourceType": e["ComplianceResourceType"],
                            "ResourceId": rid,
                        },
                        "OrderingTimestamp": e["OrderingTimestamp"],
                    },
                    "ComplianceType": e["ComplianceType"],
                    "ResultRecordedTime": self._now(),
                    "ConfigRuleInvokedTime": self._now(),
                    **({"Annotation": e["Annotation"]} if e.get("Annotation") else {}),
                    "ResultToken": token,
                }
        return 200, b'{"FailedEvaluations": []}'


def aws_error(code: str, message: str) -> tuple[int, bytes]:
    return 400, json.dumps({"__type": code, "message": message}).encode()


def _overall(types: list[str]) -> str:
    if "NON_COMPLIANT" in types:
        return "NON_COMPLIANT"
    return "COMPLIANT" if "COMPLIANT" in types else "NOT_APPLICABLE"


def _epoch(value: Any) -> Any:
    return value.timestamp() if isinstance(value, datetime) else str(value)


def _rules(account: str, region: str) -> dict[str, Any]:
    from moto.config.models import config_backends

    return dict(config_backends[account][region].config_rules)


def _rule(account: str, region: str, name: str) -> Any:
    rule = _rules(account, region).get(name)
    if rule is None:
        raise KeyError(f"no config rule {name!r} in {account}/{region}")
    if rule.source.owner != "CUSTOM_LAMBDA":
        raise ValueError(f"config rule {name!r} is not a custom Lambda rule")
    return rule


def _change_rules(account: str, region: str) -> list[str]:
    """Rules on configuration changes of Managed Flink applications, in this account/Region."""
    names = []
    for name, rule in _rules(account, region).items():
        types = (rule.scope.compliance_resource_types if rule.scope else None) or [FLINK_TYPE]
        kinds = {d.message_type for d in rule.source.source_details or ()}
        if (
            rule.source.owner == "CUSTOM_LAMBDA"
            and FLINK_TYPE in types
            and "ConfigurationItemChangeNotification" in kinds
        ):
            names.append(name)
    return sorted(names)
