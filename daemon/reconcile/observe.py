"""Observe: read the real state of one application and what its enabled rules need."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from daemon import errors
from daemon.aws import Aws
from daemon.state import AppRef, Observed
from remediations.base import Remediation, RuleSettings

# Role ARN -> the applications using it, or None while the inventory is incomplete.
RoleIndex = Callable[[str], tuple[AppRef, ...] | None]


class MemoReader:
    """A `remediations.base.Reader`: each distinct read is made at most once per reconcile,
    so two rules that need the same role document cost one IAM call."""

    def __init__(self, aws: Aws, role_index: RoleIndex | None = None) -> None:
        self._aws = aws
        self._role_index = role_index
        self._cache: dict[str, Mapping[str, Any] | errors.AwsError] = {}

    def __call__(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        key = json.dumps([service, operation, params], sort_keys=True, default=str)
        if key not in self._cache:
            try:
                self._cache[key] = self._aws.call(service, operation, **params)
            except errors.ResourceNotFound as exc:
                self._cache[key] = exc
        cached = self._cache[key]
        if isinstance(cached, errors.AwsError):
            raise cached
        return cached

    def apps_using_role(self, role_arn: str) -> tuple[AppRef, ...] | None:
        return self._role_index(role_arn) if self._role_index is not None else None


def describe(aws: Aws, app: AppRef) -> tuple[Mapping[str, Any], dict[str, str]]:
    """DescribeApplication and its tags. Raises ApplicationGone if the app was deleted."""
    try:
        response = aws.call("kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name)
    except errors.ResourceNotFound as exc:
        raise errors.ApplicationGone(exc.operation, exc.code, str(exc)) from exc
    detail = response["ApplicationDetail"]
    tags = aws.call("kinesisanalyticsv2", "ListTagsForResource", ResourceARN=app.arn)
    return detail, {t["Key"]: t.get("Value", "") for t in tags.get("Tags", [])}


def observe(
    app: AppRef,
    detail: Mapping[str, Any],
    tags: Mapping[str, str],
    rules: Sequence[tuple[Remediation, RuleSettings]],
    aws: Aws,
    role_index: RoleIndex | None = None,
) -> Observed:
    """Complete an observation with each enabled rule's own reads."""
    read = MemoReader(aws, role_index)
    facts = {rule.id: rule.observe(settings, app, detail, read) for rule, settings in rules}
    return Observed(app=app, detail=detail, tags=dict(tags), facts=facts)
