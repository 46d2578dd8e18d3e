"""required_tags: the application carries the required tag keys, with allowed values.

Cost allocation, ownership and data classification hang on tags. A missing tag, or a value
outside the allowed ones, is fixed with one TagResource call when the key has a configured
default; otherwise there is nothing the tool could rightly write, so the drift is reported
(unfixable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from daemon.state import Call, Drift, Observed
from remediations.base import ANY_APPLICATION, Rule, RuleSettings
from remediations.grants import Scope, Statement, allow

FIELD_PREFIX = "Tags."


class TagRequirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed: list[str] | None = Field(
        None,
        min_length=1,
        description="Allowed values (globs: *, ?, [abc]); null allows any value.",
    )
    default: str | None = Field(
        None,
        max_length=256,
        description="Value the fix writes when the tag is missing or not allowed; "
        "null: report only.",
    )

    @model_validator(mode="after")
    def _default_is_allowed(self) -> TagRequirement:
        if self.default is not None and not self.allows(self.default):
            raise ValueError(f"default {self.default!r} is not one of the allowed values")
        return self

    def allows(self, value: str) -> bool:
        return self.allowed is None or any(fnmatchcase(value, p) for p in self.allowed)


class Settings(RuleSettings):
    tags: dict[str, TagRequirement] = Field(
        default_factory=dict,
        description="Tag key -> its requirement, e.g. {owner: {}, env: {allowed: [dev, prod], "
        "default: dev}}. Empty: nothing is required.",
    )

    @field_validator("tags")
    @classmethod
    def _valid_keys(cls, tags: dict[str, TagRequirement]) -> dict[str, TagRequirement]:
        for key in tags:
            if not 1 <= len(key) <= 128:
                raise ValueError(f"tag key {key!r} must be 1 to 128 characters")
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r}: the aws: prefix is reserved by AWS")
        return tags


class RequiredTags(Rule[Settings, None]):
    summary = "Required tags are present with allowed values."
    severity = "LOW"
    # Declared for the daemon's policy; the core reads the tags of every application itself.
    read_actions = ("kinesisanalytics:ListTagsForResource",)
    write_actions = ("kinesisanalytics:TagResource",)
    trigger_events = frozenset({"CreateApplication", "TagResource", "UntagResource"})
    applies_to = ANY_APPLICATION

    def evidence(self, detail: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        shown = "; ".join(f"{k}={v}" for k, v in sorted(tags.items()))
        return f"tags {shown}" if shown else "no tags"

    def grants(self, sid: str, scope: Scope, places: Sequence[Settings]) -> list[Statement]:
        # The fix adds only tags that have a default: TagResource may set those keys and no other.
        keys = sorted({k for s in places for k, req in s.tags.items() if req.default is not None})
        if not keys:
            return []
        condition = {
            "ForAllValues:StringEquals": {"aws:TagKeys": keys},
            "Null": {"aws:TagKeys": "false"},
        }
        return [allow(sid, self.write_actions, scope.applications(), **condition)]

    def check(self, settings: Settings, observed: Observed) -> tuple[Drift, ...]:
        drifts: list[Drift] = []
        for key, requirement in settings.tags.items():
            value = observed.tags.get(key)
            if value is not None and requirement.allows(value):
                continue
            problem = (
                f"tag {key} is missing"
                if value is None
                else f"tag {key}={value} is not allowed ({', '.join(requirement.allowed or [])})"
            )
            if requirement.default is None:
                desired: Any = tuple(requirement.allowed or ()) or "any value"
                message = f"{problem}; no default configured, the owner must set it"
            else:
                desired = requirement.default
                message = f"{problem}; the fix sets {key}={requirement.default}"
            drifts.append(
                self.drift(
                    observed,
                    FIELD_PREFIX + key,
                    value,
                    desired,
                    message,
                    fixable=requirement.default is not None,
                )
            )
        return tuple(drifts)

    def fix(
        self, settings: Settings, observed: Observed, drifts: tuple[Drift, ...]
    ) -> tuple[Call, ...]:
        tags = []
        for drift in drifts:
            key = drift.field.removeprefix(FIELD_PREFIX)
            requirement = settings.tags.get(key)
            if requirement is not None and requirement.default is not None:
                tags.append({"Key": key, "Value": requirement.default})
        if not tags:
            return ()
        app = observed.app
        # Tags are not part of the application version: TagResource takes no version id.
        return (
            Call(
                "kinesisanalyticsv2",
                "TagResource",
                {"ResourceARN": app.arn, "Tags": tags},
                app.arn,
            ),
        )
