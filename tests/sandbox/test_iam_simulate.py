"""iam:SimulateCustomPolicy on the sandbox: the sandbox's evaluator decides each action on each
resource, with a permissions boundary and context entries, in the botocore model's shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.server import Sandbox
from sandbox.testing import client

CODE = "arn:aws:s3:::artifacts/job.jar"
READ_CODE = {"Effect": "Allow", "Action": "s3:GetObject*", "Resource": "arn:aws:s3:::artifacts/*"}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def decisions(sandbox: Sandbox, **params: Any) -> dict[tuple[str, str], str]:
    iam = client(sandbox.endpoint_url, sandbox.region, "iam")
    results = iam.simulate_custom_policy(**params)["EvaluationResults"]
    return {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}


def test_each_action_on_each_resource_is_decided(fresh_sandbox: Sandbox) -> None:
    other = "arn:aws:s3:::other/job.jar"
    found = decisions(
        fresh_sandbox,
        PolicyInputList=[doc(READ_CODE)],
        ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=[CODE, other],
    )
    assert found == {
        ("s3:GetObject", CODE): "allowed",
        ("s3:GetObject", other): "implicitDeny",
        ("s3:PutObject", CODE): "implicitDeny",
        ("s3:PutObject", other): "implicitDeny",
    }


def test_a_deny_and_a_boundary_decide_as_in_aws(fresh_sandbox: Sandbox) -> None:
    deny = {"Effect": "Deny", "Action": "s3:GetObjectVersion", "Resource": "*"}
    boundary = doc({"Effect": "Allow", "Action": "logs:*", "Resource": "*"})
    assert decisions(
        fresh_sandbox,
        PolicyInputList=[doc(READ_CODE), doc(deny)],
        ActionNames=["s3:GetObject", "s3:GetObjectVersion"],
        ResourceArns=[CODE],
    ) == {("s3:GetObject", CODE): "allowed", ("s3:GetObjectVersion", CODE): "explicitDeny"}
    iam = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "iam")
    (result,) = iam.simulate_custom_policy(
        PolicyInputList=[doc(READ_CODE)],
        PermissionsBoundaryPolicyInputList=[boundary],
        ActionNames=["s3:GetObject"],
        ResourceArns=[CODE],
    )["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_context_entries_feed_conditions_and_resources_default_to_star(
    fresh_sandbox: Sandbox,
) -> None:
    conditional: dict[str, Any] = {**READ_CODE, "Resource": "*"}
    conditional["Condition"] = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    entry = {"ContextKeyName": "aws:RequestedRegion", "ContextKeyType": "string"}
    ask = {"PolicyInputList": [doc(conditional)], "ActionNames": ["s3:GetObject"]}
    given = [{**entry, "ContextKeyValues": ["eu-west-1"]}]
    assert decisions(fresh_sandbox, **ask, ContextEntries=given) == {
        ("s3:GetObject", "*"): "allowed"
    }
    assert decisions(fresh_sandbox, **ask) == {("s3:GetObject", "*"): "implicitDeny"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {"PolicyInputList": ["{not json"], "ActionNames": ["s3:GetObject"]},
            "MalformedPolicyDocument",
        ),
        ({"PolicyInputList": [doc(READ_CODE)], "ActionNames": ["s3:*"]}, "InvalidInput"),
    ],
)
def test_bad_input_is_refused(fresh_sandbox: Sandbox, params: dict[str, Any], code: str) -> None:
    iam = client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "iam")
    with pytest.raises(ClientError) as raised:
        iam.simulate_custom_policy(**params)
    assert raised.value.response["Error"]["Code"] == code
