"""Whether Managed Flink may assume an application's execution role, as IAM decides it.

The service assumes the role (principal kinesisanalytics.amazonaws.com) whenever it runs the
job: at every start, every restart of a RUNNING app by an update, and every rollback. AWS
recommends `aws:SourceArn` / `aws:SourceAccount` conditions in the trust policy, and the
service sends both (the application's ARN and account):
https://docs.aws.amazon.com/managed-flink/latest/java/iam-cross-service-confused-deputy-prevention.html
The trust policy is evaluated as IAM evaluates policies: a matching explicit Deny wins, else a
matching Allow allows, else denied; Condition operators through sandbox.iam_eval (an operator
it does not know denies: fail closed).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from sandbox import iam_eval

SERVICE = "kinesisanalytics.amazonaws.com"
ASSUME = "sts:AssumeRole"


def policy_document(document: str) -> dict[str, Any]:
    try:
        parsed = json.loads(document)
    except ValueError:
        parsed = json.loads(unquote(document))  # IAM may keep documents URL-encoded
    return parsed if isinstance(parsed, dict) else {}


def _names_service(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    named = principal.get("Service", [])
    return service in (named if isinstance(named, list) else [named]) or principal.get("AWS") == "*"


def _principal_matches(statement: Mapping[str, Any], service: str) -> bool:
    if "NotPrincipal" in statement:
        return not _names_service(statement["NotPrincipal"], service)
    return _names_service(statement.get("Principal"), service)


def service_may_assume(
    document: str, source_arn: str, source_account: str, service: str = SERVICE
) -> bool:
    """Does the trust policy let `service` assume the role for the app `source_arn`?"""
    context = {"aws:sourcearn": (source_arn,), "aws:sourceaccount": (source_account,)}
    request = iam_eval.Request(ASSUME, "*", context)
    allowed = False
    for statement in iam_eval.statements(policy_document(document)):
        if not _principal_matches(statement, service):
            continue
        action_only = {k: v for k, v in statement.items() if k not in ("Resource", "NotResource")}
        try:
            applies = iam_eval.statement_applies({**action_only, "Resource": "*"}, request)
        except iam_eval.UnsupportedCondition:
            return False  # fail closed, as for identity policies
        if not applies:
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def assume_denied_message(role_arn: str) -> str:
    """Generic wording: AWS documents no exact text for a role the service cannot assume."""
    return f"Managed Service for Apache Flink could not assume the role {role_arn}."
