"""Every registered rule carries its own tables, declared on its class (nothing keyed by rule id
elsewhere): its Security Hub `severity`, its compliant-row `evidence` and its IAM `grants`. A
rule that writes nothing says so (its `grants` returns none); a rule's grants never grant an
action its calls do not declare (`write_actions`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

import pytest

from daemon.state import Drift, Observed
from remediations import REGISTRY
from remediations.base import AnyRule, Rule, RuleSettings, Severity
from remediations.grants import Scope, Statement

RULES = pytest.mark.parametrize("rule", REGISTRY, ids=[r.id for r in REGISTRY])
DECLARED_BY_EACH_RULE = ("evidence", "grants")


@dataclass(frozen=True)
class _Tag:
    key: str = "flink-remediator/execution-role"
    value: str = "true"


@dataclass(frozen=True)
class _Roles:
    path: str | None = "/flink/"
    tag: _Tag | None = _Tag()


SCOPE = Scope(("123456789012",), ("eu-west-1", "us-east-1"), _Roles())
DETAIL: Mapping[str, Any] = {"ApplicationName": "app", "RuntimeEnvironment": "FLINK-1_20"}


def missing_declarations(rule: AnyRule) -> list[str]:
    """What `rule` leaves to the base class that every rule must declare itself."""
    missing = [] if getattr(type(rule), "severity", None) in get_args(Severity) else ["severity"]
    for name in DECLARED_BY_EACH_RULE:
        if all(name not in vars(cls) for cls in type(rule).__mro__ if cls is not Rule):
            missing.append(name)
    return missing


def granted_actions(statements: Sequence[Statement]) -> set[str]:
    return {a for s in statements for a in s["Action"]}


@RULES
def test_every_rule_declares_its_severity_evidence_and_grants(rule: AnyRule) -> None:
    assert missing_declarations(rule) == [], (
        f"remediations/{rule.id}.py: declare {', '.join(missing_declarations(rule))} on the "
        "rule (docs/architecture.md, How to add a rule)"
    )


@RULES
def test_a_rules_evidence_is_text(rule: AnyRule) -> None:
    assert isinstance(rule.evidence(DETAIL, {"team": "payments"}), str)


@RULES
def test_a_rules_grants_cover_only_its_declared_writes(rule: AnyRule) -> None:
    granted = granted_actions(rule.grants("FixRule", SCOPE, [rule.settings_model()]))
    assert granted <= set(rule.write_actions)


class _Settings(RuleSettings):
    pass


class Undeclared(Rule[_Settings, None]):
    id = "undeclared"
    summary = "a rule that declares none of its tables"

    def check(self, settings: _Settings, observed: Observed) -> tuple[Drift, ...]:
        return ()


def test_a_rule_without_its_tables_is_reported() -> None:
    assert missing_declarations(Undeclared()) == ["severity", "evidence", "grants"]
    with pytest.raises(NotImplementedError, match="undeclared declares no grants"):
        Undeclared().grants("Fix", SCOPE, [_Settings()])
