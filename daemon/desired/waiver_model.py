"""Pydantic models of `waivers:` and `waiver_policy:` in the desired-state YAML.

A waiver says: these applications may differ from these rules, until this date, because of this
ticket, approved by this person. What one entry alone can check is checked here (every field
given, the expiry a moment with a time zone); what needs the clock or the rule registry (expired,
too far ahead, unknown rule) is checked in `daemon.desired.waivers`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from daemon.desired.model import MatchModel

ALL_RULES = "*"
DEFAULT_MAX_DAYS = 365  # banks' exception policies: typically one year, never permanent
DEFAULT_WARN_DAYS = 14


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank: an auditor reads it")
    return value


# Something to show an auditor: at least one non-blank character.
Text = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_not_blank)]


def _moment(value: object) -> object:
    """A YAML date (`2026-12-31`: the start of that day, UTC) or a timestamp with a zone;
    quoted, the same in ISO 8601."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            value = parsed.date() if len(value.strip()) == 10 else parsed
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(
                f"{value.isoformat()} has no time zone: add one, e.g. "
                f"{value.isoformat()}Z, or give a date (the expiry is then 00:00 UTC of that day)"
            )
        return datetime.fromtimestamp(value.timestamp(), UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), UTC)
    raise ValueError(
        "expires is a date (2026-12-31) or a timestamp with a zone (2026-12-31T18:00:00Z)"
    )


Expiry = Annotated[
    datetime, BeforeValidator(_moment, json_schema_input_type=str), Field(description="Expiry.")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WaiverModel(_Strict):
    id: Text = Field(description="Unique; shown in plan, report, audit and metrics.")
    match: MatchModel = Field(description="Which applications, as an override's `match`.")
    rules: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="Rule ids the waiver allows to differ; `'*'` for every rule."
    )
    reason: Text
    ticket: Text = Field(description="The change or risk-acceptance ticket.")
    approved_by: Text = Field(description="Who approved the exception.")
    expires: Expiry = Field(
        description="A date (00:00 UTC of that day) or a timestamp with a zone; "
        "in the future and at most waiver_policy.max_days ahead."
    )


class WaiverPolicyModel(_Strict):
    max_days: int = Field(
        default=DEFAULT_MAX_DAYS, ge=1, description="Longest validity of a waiver, in days."
    )
    warn_days: int = Field(
        default=DEFAULT_WARN_DAYS,
        ge=0,
        description="Days before a waiver's expiry that the WaiverExpiring alert fires.",
    )
