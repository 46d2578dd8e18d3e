"""iam:SimulateCustomPolicy, answered by the sandbox's own policy evaluator (moto 5.2.5 has none).

https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
- The identity policies are the documents of `PolicyInputList` (required), the permissions
  boundary the one document of `PermissionsBoundaryPolicyInputList` (at most one: a principal
  has one boundary); each action of `ActionNames` (no wildcards) is evaluated against each
  resource of `ResourceArns` (default `*`), with the `ContextEntries` as the request context.
- The decision follows the evaluation logic of `iam_decision.decide` for one same-account
  caller without SCPs, session or resource policies (none is given to this call here):
  `allowed`, `explicitDeny` or `implicitDeny` per result (EvalDecision), with
  `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary` when a boundary is given.
- A document that is not JSON is `MalformedPolicyDocument`; a wildcard action `InvalidInput`.
  Results are not paged (IsTruncated false): callers here ask for a handful of actions.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.iam_decision import Caller, Policies, decide
from sandbox.iam_eval import Request, UnsupportedCondition, effects

DECISIONS = {"allow": "allowed", "explicit_deny": "explicitDeny", "implicit_deny": "implicitDeny"}
SIMULATED_CALLER = Caller(arn="arn:aws:iam::000000000000:user/simulated", account="000000000000")


def _documents(texts: list[str]) -> tuple[dict[str, Any], ...]:
    from moto.iam.exceptions import IAMException

    try:
        loaded = tuple(json.loads(text) for text in texts)
    except json.JSONDecodeError as exc:
        raise IAMException("MalformedPolicyDocument", f"Syntax errors in policy: {exc}") from exc
    if not all(isinstance(d, dict) for d in loaded):
        raise IAMException("MalformedPolicyDocument", "A policy document must be a JSON object.")
    return loaded


def _context(entries: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    return {
        str(e["ContextKeyName"]).lower(): tuple(str(v) for v in e.get("ContextKeyValues", []))
        for e in entries
    }


def simulate(
    identity: tuple[dict[str, Any], ...],
    boundary: dict[str, Any] | None,
    actions: list[str],
    resources: list[str],
    context: dict[str, tuple[str, ...]],
) -> list[dict[str, Any]]:
    policies = Policies(identity=identity, boundary=boundary)
    results = []
    for action in actions:
        for resource in resources:
            request = Request(action, resource, context)
            try:
                decision = decide(policies, SIMULATED_CALLER, request).decision
                in_boundary = boundary is None or effects([boundary], request)[1]
            except UnsupportedCondition:  # fail closed, as the sandbox does for real calls
                decision, in_boundary = "implicit_deny", False
            result: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": DECISIONS[decision],
                "MatchedStatements": [],
                "MissingContextValues": [],
            }
            if boundary is not None:
                result["PermissionsBoundaryDecisionDetail"] = {
                    "AllowedByPermissionsBoundary": in_boundary
                }
            results.append(result)
    return results


def simulate_custom_policy(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import IAMException

    params = self._get_params()
    identity = _documents(list(params.get("PolicyInputList") or []))
    boundaries = _documents(list(params.get("PermissionsBoundaryPolicyInputList") or []))
    if len(boundaries) > 1:
        raise IAMException("InvalidInput", "Only one permissions boundary policy is allowed.")
    actions = [str(a) for a in params.get("ActionNames") or []]
    if not identity or not actions:
        raise IAMException("InvalidInput", "PolicyInputList and ActionNames are required.")
    if any("*" in a or "?" in a for a in actions):
        raise IAMException("InvalidInput", "ActionNames do not support wildcards.")
    resources = [str(r) for r in params.get("ResourceArns") or []] or ["*"]
    context = _context(list(params.get("ContextEntries") or []))
    boundary = boundaries[0] if boundaries else None
    results = simulate(identity, boundary, actions, resources, context)
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def install() -> None:
    from moto.iam.responses import IamResponse

    IamResponse.simulate_custom_policy = simulate_custom_policy  # type: ignore[attr-defined]
