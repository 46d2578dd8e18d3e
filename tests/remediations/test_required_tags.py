"""required_tags: pure check and fix, property tests, and TagResource on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from remediations.required_tags import RequiredTags, Settings, TagRequirement
from sandbox.server import Sandbox
from tests.contract.harness import Harness, assert_fixed_and_idempotent
from tests.contract.scenarios import Scenario, plain
from tests.posture_factories import apply_calls, observed_with, posture_detail, tag_sets

RULE = RequiredTags()
ENV = TagRequirement(allowed=["prod", "dev", "test"], default="dev")
SETTINGS = Settings(tags={"env": ENV, "owner": TagRequirement()})
requirements = st.builds(
    TagRequirement,
    allowed=st.sampled_from([None, ["prod", "dev"], ["*"], ["Prod"]]),
).flatmap(
    lambda r: st.sampled_from([None, *(r.allowed or ["dev", "team-a"])]).map(
        lambda default: TagRequirement(allowed=r.allowed, default=default)
    )
)
tag_settings = st.dictionaries(st.sampled_from(["env", "owner", "cost-center"]), requirements).map(
    lambda tags: Settings(tags=tags)
)


def test_missing_and_disallowed_tags_drift_and_defaults_make_them_fixable() -> None:
    state = observed_with(posture_detail(), tags={"env": "staging"})
    drifts = {d.field: d for d in RULE.check(SETTINGS, state)}
    assert set(drifts) == {"Tags.env", "Tags.owner"}
    assert drifts["Tags.env"].fixable and drifts["Tags.env"].desired == "dev"
    assert not drifts["Tags.owner"].fixable
    (call,) = RULE.fix(SETTINGS, state, (drifts["Tags.env"],))
    assert (call.operation, call.versioned) == ("TagResource", False)
    assert call.params == {"ResourceARN": state.app.arn, "Tags": [{"Key": "env", "Value": "dev"}]}


def test_compliant_tags() -> None:
    state = observed_with(posture_detail(), tags={"env": "prod", "owner": "team-a", "x": "y"})
    assert RULE.check(SETTINGS, state) == ()


def test_settings_reject_a_default_outside_the_allowed_values_and_aws_keys() -> None:
    with pytest.raises(ValidationError, match="not one of the allowed"):
        TagRequirement(allowed=["prod"], default="dev")
    with pytest.raises(ValidationError, match="reserved"):
        Settings(tags={"aws:cloudformation:stack-name": TagRequirement()})


@given(tag_sets, tag_settings)
def test_drift_per_key_and_the_fix_leaves_only_keys_without_default(
    tags: dict[str, str], settings: Settings
) -> None:
    state = observed_with(posture_detail(), tags=tags)
    drifts = RULE.check(settings, state)
    bad = {k for k, r in settings.tags.items() if k not in tags or not r.allows(tags[k])}
    assert {d.field for d in drifts} == {f"Tags.{k}" for k in bad}
    fixable = tuple(d for d in drifts if d.fixable)
    after = apply_calls(state, RULE.fix(settings, state, fixable))
    assert {d.field for d in RULE.check(settings, after)} == {
        f"Tags.{k}" for k in bad if settings.tags[k].default is None
    }
    # Tags nobody asked about are never touched.
    assert {k: v for k, v in after.tags.items() if k not in settings.tags} == {
        k: v for k, v in tags.items() if k not in settings.tags
    }


def test_sandbox_missing_tags_get_their_defaults_and_the_rest_alerts(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness.start(fresh_sandbox, monkeypatch)
    app = h.create_app("untagged", tags={"env": "staging"})
    rules: list[Any] = [(RULE, SETTINGS, "enforce")]
    first = assert_fixed_and_idempotent(h, app, rules)
    assert first.plan is not None
    assert [a.mode for a in first.plan.actions] == ["enforce", "alert"]
    assert h.observe(app, rules).tags["env"] == "dev"
    assert [d.field for d in h.drifts(app, rules)] == ["Tags.owner"]


SCENARIO = Scenario(
    lambda h: Settings(tags={"env": TagRequirement(allowed=["prod", "dev"], default="dev")}),
    plain(tags={"env": "prod"}),
    plain(tags={"env": "staging"}),
)
