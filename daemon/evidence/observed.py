"""The evidence a compliant row shows, and why a control does not concern an application at
all: each rule declares both (`Rule.evidence`, `Rule.not_applicable`); this module asks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remediations import RULES

Detail = Mapping[str, Any]


def evidence_from_detail(rule: str, detail: Detail, tags: Mapping[str, str] | None = None) -> str:
    """What rule `rule` shows for a compliant application: the part of DescribeApplication
    (`detail`) or the tags it checked; "" for an application that was not read."""
    checked = RULES.get(rule)
    if checked is None or not detail:
        return ""
    return checked.evidence(detail, tags or {})


def not_applicable(rule: str, detail: Detail) -> str:
    """Why control `rule` does not concern this application ("" when it does)."""
    checked = RULES.get(rule)
    if not detail or checked is None:
        return ""
    if not checked.applies(detail):
        kind = detail.get("RuntimeEnvironment") or "this application"
        return f"the rule does not cover {kind} applications"
    return checked.not_applicable(detail)
