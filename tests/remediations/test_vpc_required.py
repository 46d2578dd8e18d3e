"""vpc_required: pure check and fix, settings validation, property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from daemon.reconcile.plan import plan
from remediations.vpc_required import Settings, VpcRequired
from tests.contract.harness import Harness
from tests.contract.scenarios import Scenario, in_vpc, network, plain
from tests.factories import APP, observed
from tests.vpc_factories import VPC, vpc_detail

RULE = VpcRequired()
FIX_ON = Settings(
    subnet_ids=("subnet-a", "subnet-b"), security_group_ids=("sg-1",), add_vpc_configuration=True
)
ALERT_ONLY = Settings(subnet_ids=("subnet-a", "subnet-b"))


def test_an_app_without_vpc_gets_the_configured_subnets_and_groups() -> None:
    state = observed(vpc_detail())
    (drift,) = RULE.check(FIX_ON, state)
    assert drift.field == "VpcConfiguration" and drift.fixable and drift.current is None
    (call,) = RULE.fix(FIX_ON, state, (drift,))
    assert (call.service, call.operation, call.versioned) == (
        "kinesisanalyticsv2",
        "AddApplicationVpcConfiguration",
        True,
    )
    assert call.params == {
        "ApplicationName": APP.name,
        "VpcConfiguration": {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]},
    }


def test_without_the_opt_in_a_missing_vpc_only_alerts() -> None:
    state = observed(vpc_detail())
    (drift,) = RULE.check(ALERT_ONLY, state)
    assert not drift.fixable and "not enabled" in drift.message
    assert RULE.fix(ALERT_ONLY, state, (drift,)) == ()
    (action,) = plan(state, [(RULE, ALERT_ONLY, "enforce")]).actions
    assert action.mode == "alert" and action.calls == ()


def test_subnets_outside_the_allowlist_alert_even_with_the_fix_on() -> None:
    state = observed(vpc_detail((VPC, ("subnet-a", "subnet-z", "subnet-y"), ("sg-1",))))
    (drift,) = RULE.check(FIX_ON, state)
    assert not drift.fixable
    assert drift.current == ["subnet-y", "subnet-z"]
    assert "subnet-y, subnet-z" in drift.message and VPC in drift.message
    assert RULE.fix(FIX_ON, state, (drift,)) == ()


def test_an_empty_allowlist_allows_any_subnet() -> None:
    assert RULE.check(Settings(), observed(vpc_detail((VPC, ("subnet-q",), ("sg-1",))))) == ()


def test_sql_applications_and_studio_notebooks_are_not_checked() -> None:
    assert not RULE.applies(vpc_detail(runtime="SQL-1_0"))
    studio = {**vpc_detail(runtime="ZEPPELIN-FLINK-3_0"), "ApplicationMode": "INTERACTIVE"}
    assert not RULE.applies(studio)
    assert RULE.applies(vpc_detail(runtime="FLINK-1_20"))


@pytest.mark.parametrize(
    "settings",
    [
        {"add_vpc_configuration": True, "security_group_ids": ["sg-1"]},
        {"add_vpc_configuration": True, "subnet_ids": ["subnet-a"]},
        {
            "add_vpc_configuration": True,
            "subnet_ids": [f"subnet-{i}" for i in range(17)],
            "security_group_ids": ["sg-1"],
        },
        {
            "add_vpc_configuration": True,
            "subnet_ids": ["subnet-a"],
            "security_group_ids": [f"sg-{i}" for i in range(6)],
        },
    ],
    ids=["no-subnets", "no-groups", "too-many-subnets", "too-many-groups"],
)
def test_an_impossible_fix_is_rejected_at_config_time(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate(settings)


subnet_names = st.sampled_from(["subnet-a", "subnet-b", "subnet-c", "subnet-d"])
vpc_configs = st.lists(
    st.tuples(st.just(VPC), st.lists(subnet_names, min_size=1, max_size=3, unique=True)),
    max_size=2,
)


@given(vpc_configs, st.lists(subnet_names, unique=True, max_size=3), st.booleans())
def test_drift_is_exactly_a_missing_vpc_or_subnets_outside_the_allowlist(
    configs: list[tuple[str, list[str]]], allowlist: list[str], fix_on: bool
) -> None:
    if fix_on and not allowlist:
        allowlist = ["subnet-a"]  # the fix needs at least one subnet
    settings = Settings(
        subnet_ids=tuple(allowlist),
        security_group_ids=("sg-1",),
        add_vpc_configuration=fix_on,
    )
    state = observed(vpc_detail(*((v, tuple(s), ("sg-1",)) for v, s in configs)))
    drifts = RULE.check(settings, state)
    calls = RULE.fix(settings, state, tuple(d for d in drifts if d.fixable))
    if not configs:
        assert [d.field for d in drifts] == ["VpcConfiguration"]
        assert drifts[0].fixable is fix_on
        assert len(calls) == (1 if fix_on else 0)
        return
    outside = {s for _, subnets in configs for s in subnets} - set(settings.subnet_ids)
    if not settings.subnet_ids:
        outside = set()
    assert {s for d in drifts for s in d.current} == outside
    assert all(not d.fixable for d in drifts) and calls == ()


def _settings(h: Harness) -> Settings:
    net = network(h)
    return Settings(
        subnet_ids=(net["private_subnet_id"],),
        security_group_ids=(net["security_group_id"],),
        add_vpc_configuration=True,
    )


SCENARIO = Scenario(_settings, in_vpc("private_subnet_id"), plain())
