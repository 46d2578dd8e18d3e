"""The contract every registered rule keeps, checked on the sandbox over HTTP:

- a compliant application has no drift (`check(d, d)` finds nothing);
- a drifted one is found, and after one enforcing reconcile re-observing finds no fixable drift
  (rules that only report keep reporting, and make no call);
- a second reconcile changes nothing (no mutating call in the sandbox's own record).

Each rule's scenario lives in its own test file (tests/remediations/test_<id>.py, `SCENARIO`).
"""

from __future__ import annotations

import pytest

from daemon.state import Mode
from remediations import REGISTRY
from remediations.base import AnyRule, Rule, RuleSettings
from sandbox.server import Sandbox
from tests.contract.harness import Harness, assert_fixed_and_idempotent
from tests.contract.scenarios import Scenario, scenario_for

RULES = pytest.mark.parametrize("rule", REGISTRY, ids=[r.id for r in REGISTRY])


def scenario(rule: AnyRule) -> Scenario:
    found = scenario_for(rule.id)
    assert found is not None, (
        f"tests/remediations/test_{rule.id}.py must define SCENARIO = Scenario(...) "
        "(tests/contract/scenarios.py)"
    )
    return found


@RULES
def test_every_rule_has_a_scenario_and_defaults(rule: AnyRule) -> None:
    scenario(rule)
    assert isinstance(rule, Rule)
    assert rule.id == type(rule).__module__.rsplit(".", 1)[-1]
    assert rule.summary and rule.default_mode in ("enforce", "dry-run", "alert")
    rule.settings_model()  # a config that says nothing about the rule must still load


def test_a_rule_without_a_test_file_or_scenario_has_none() -> None:
    assert scenario_for("no_such_rule") is None
    assert scenario_for("network") is None  # a test file without SCENARIO


@RULES
def test_compliant_application_has_no_drift(
    rule: AnyRule, fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    found = scenario(rule)
    settings = found.settings(h)
    app = found.compliant(h, settings, "compliant")
    assert h.drifts(app, [(rule, settings, "enforce")]) == []


@RULES
def test_fix_removes_the_drift_and_a_second_fix_changes_nothing(
    rule: AnyRule, fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    found = scenario(rule)
    settings = found.settings(h)
    app = found.drifted(h, settings, "drifted")
    rules: list[tuple[AnyRule, RuleSettings, Mode]] = [(rule, settings, "enforce")]
    drifts = h.drifts(app, rules)
    assert drifts, f"the {rule.id} scenario's drifted app shows no drift"
    if any(d.fixable for d in drifts):
        assert_fixed_and_idempotent(h, app, rules)
        return
    # Report-only drift: nothing is written, and the finding stays.
    h.clear_calls()
    result = h.reconcile(app, rules)
    assert result.result == "drift"
    assert h.mutating_calls() == []
    assert h.drifts(app, rules) == drifts
