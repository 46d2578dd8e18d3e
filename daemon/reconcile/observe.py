"""Observe: read the real state of one application and what its enabled rules need."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from daemon import errors
from daemon.aws import Aws
from daemon.iam_actions import iam_action
from daemon.reconcile.tags import TagCache
from daemon.state import AppRef, Observed, SharedReads
from remediations.base import AnyRule, RuleSettings

# Role ARN -> the applications using it, or None while the inventory is incomplete.
RoleIndex = Callable[[str], tuple[AppRef, ...] | None]


class MemoReader:
    """A `remediations.base.Reader` for one rule: it refuses (UndeclaredAction) any operation
    outside the rule's declared read actions, so an observe cannot write or read more than the
    daemon's policy says. Each distinct read is made at most once per reconcile: readers made
    with `for_rule` share one cache, so two rules that need the same role cost one IAM call.
    With a pass (`PassReads`, made for `app`), reads it shares come from it: a log group
    listing or a role document read once for every app of the pass."""

    def __init__(
        self,
        aws: Aws,
        read_actions: Iterable[str],
        role_index: RoleIndex | None = None,
        cache: dict[str, Mapping[str, Any] | errors.AwsError] | None = None,
        shared: tuple[AppRef, SharedReads] | None = None,
        fresh: bool = False,
    ) -> None:
        self._aws = aws
        self._allowed = frozenset(read_actions)
        self._role_index = role_index
        self._cache: dict[str, Mapping[str, Any] | errors.AwsError] = {} if cache is None else cache
        self._shared = shared
        self._fresh = fresh  # about to write: the pass's shared answers are read again

    def for_rule(self, read_actions: Iterable[str]) -> MemoReader:
        """A reader allowed `read_actions`, sharing this one's cache."""
        return MemoReader(
            self._aws, read_actions, self._role_index, self._cache, self._shared, self._fresh
        )

    def __call__(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        action = iam_action(service, operation)
        if action not in self._allowed:
            declared = ", ".join(sorted(self._allowed)) or "none"
            raise errors.UndeclaredAction(
                operation, f"{action} is not among the rule's read actions ({declared})"
            )
        key = json.dumps([service, operation, params], sort_keys=True, default=str)
        if key not in self._cache:
            try:
                self._cache[key] = self._read(service, operation, params)
            except errors.ResourceNotFound as exc:
                self._cache[key] = exc
        cached = self._cache[key]
        if isinstance(cached, errors.AwsError):
            raise cached
        return cached

    def _read(self, service: str, operation: str, params: dict[str, Any]) -> Mapping[str, Any]:
        if self._shared is not None:
            app, reads = self._shared
            answer = reads.answer(
                app, self._aws.region, service, operation, params, self._fetch, fresh=self._fresh
            )
            if answer is not None:
                return answer
        return self._aws.call(service, operation, **params)

    def _fetch(self, service: str, operation: str, params: dict[str, Any]) -> Mapping[str, Any]:
        return self._aws.call(service, operation, **params)

    def apps_using_role(self, role_arn: str) -> tuple[AppRef, ...] | None:
        return self._role_index(role_arn) if self._role_index is not None else None


def describe(
    aws: Aws,
    app: AppRef,
    detail: Mapping[str, Any] | None = None,
    tags: TagCache | None = None,
    fresh: bool = True,
) -> tuple[Mapping[str, Any], dict[str, str]]:
    """DescribeApplication (unless the caller already read `detail`) and the app's tags: from
    `tags` when not `fresh` and it remembers them young enough, else ListTagsForResource (then
    remembered). Raises ApplicationGone if the app was deleted."""
    remembered = None if fresh or tags is None else tags.get(app)
    try:
        if detail is None:
            response = aws.call(
                "kinesisanalyticsv2", "DescribeApplication", ApplicationName=app.name
            )
            detail = response["ApplicationDetail"]
        if remembered is not None:
            return detail, dict(remembered)
        ticket = tags.begin_read() if tags is not None else None
        answer = aws.call("kinesisanalyticsv2", "ListTagsForResource", ResourceARN=app.arn)
    except errors.ResourceNotFound as exc:
        raise errors.ApplicationGone(exc.operation, exc.code, str(exc)) from exc
    read = {t["Key"]: t.get("Value", "") for t in answer.get("Tags", [])}
    if tags is not None and ticket is not None:
        tags.remember(app, read, ticket)
    return detail, read


def observe(
    app: AppRef,
    detail: Mapping[str, Any],
    tags: Mapping[str, str],
    rules: Sequence[tuple[AnyRule, RuleSettings]],
    aws: Aws,
    role_index: RoleIndex | None = None,
    reads: SharedReads | None = None,
    fresh: bool = False,
) -> Observed:
    """Complete an observation with the reads of each enabled rule that applies to the app
    (those a pass shares from `reads`; `fresh`: the decision is about to write, so shared
    answers are read again)."""
    shared = None if reads is None else (app, reads)
    reader = MemoReader(aws, (), role_index, shared=shared, fresh=fresh)
    facts = {
        rule.id: rule.observe(settings, app, detail, reader.for_rule(rule.read_actions))
        for rule, settings in rules
        if rule.applies(detail)
    }
    return Observed(app=app, detail=detail, tags=dict(tags), facts=facts)
