"""resolve(): the one precedence rule, matching, opt-out and modes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.desired import DesiredConfig, parse_config, resolve
from daemon.errors import ConfigError
from daemon.state import MODES, AppRef, Mode
from remediations.base import RuleSettings
from tests.unit.configs.rules import RULES

ACCOUNT, OTHER_ACCOUNT = "111111111111", "222222222222"
HEAD = f"""\
version: 1
accounts: ["{ACCOUNT}", "{OTHER_ACCOUNT}"]
regions: [us-east-1, eu-west-1]
"""


def app(name: str = "orders", account: str = ACCOUNT, region: str = "eu-west-1") -> AppRef:
    return AppRef(account, region, name)


def load(body: str) -> DesiredConfig:
    return parse_config(HEAD + body, "t.yaml", RULES)


def setting(
    config: DesiredConfig, ref: AppRef, tags: Mapping[str, str], rule: str, field: str
) -> Any:
    return getattr(resolve(config, ref, tags).rules[rule].settings, field)


def test_rules_section_changes_only_what_it_names() -> None:
    config = load("rules:\n  demo_logging: {log_level: WARN}\n")
    resolved = resolve(config, app(), {}).rules
    assert resolved["demo_logging"].settings.model_dump()["log_level"] == "WARN"
    assert resolved["demo_logging"].settings.model_dump()["metrics_level"] == "APPLICATION"
    assert resolved["demo_snapshots"].settings == RULES[1].settings_model()
    assert resolved["demo_logging"].overrides == ()


def test_later_matching_override_wins_field_by_field() -> None:
    config = load("""\
rules:
  demo_logging: {log_level: WARN, metrics_level: TASK}
overrides:
  - name: first
    match: {names: ["orders*"]}
    rules: {demo_logging: {log_level: DEBUG, retention_days: 7}}
  - name: second
    match: {tags: {env: prod}}
    rules: {demo_logging: {log_level: ERROR}}
""")
    both = resolve(config, app(), {"env": "prod"})
    assert both.overrides == ("first", "second")
    values = both.rules["demo_logging"].settings.model_dump()
    assert (values["log_level"], values["retention_days"], values["metrics_level"]) == (
        "ERROR",
        7,
        "TASK",
    )
    assert both.rules["demo_logging"].overrides == ("first", "second")
    only_first = resolve(config, app(), {"env": "dev"}).rules["demo_logging"].settings
    assert only_first.model_dump()["log_level"] == "DEBUG"
    neither = resolve(config, app("payments"), {}).rules["demo_logging"].settings
    assert neither.model_dump()["log_level"] == "WARN"


def test_a_match_needs_every_criterion_and_any_glob_of_a_list() -> None:
    config = load(f"""\
overrides:
  - name: narrow
    match:
      names: ["orders-*", "billing"]
      tags: {{team: [core, "pay*"], env: "*"}}
      accounts: ["{ACCOUNT}"]
      regions: ["eu-*"]
    rules: {{demo_snapshots: {{keep: 9}}}}
""")
    tags = {"team": "payments", "env": "x"}

    def keep(ref: AppRef, tags: Mapping[str, str]) -> int:
        return int(setting(config, ref, tags, "demo_snapshots", "keep"))

    assert keep(app("orders-1"), tags) == 9
    assert keep(app("billing"), {"team": "core", "env": ""}) == 9
    assert keep(app("orders"), tags) == 5  # name glob needs the dash
    assert keep(app("orders-1"), {"team": "payments"}) == 5  # env tag absent
    assert keep(app("orders-1"), {"team": "ops", "env": "x"}) == 5
    assert keep(app("orders-1", account=OTHER_ACCOUNT), tags) == 5
    assert keep(app("orders-1", region="us-east-1"), tags) == 5


def test_globs_are_case_sensitive() -> None:
    config = load(
        "overrides:\n  - name: o\n    match: {names: [Orders]}\n"
        "    rules: {demo_snapshots: {keep: 1, min_keep: 1}}\n"
    )
    assert setting(config, app("orders"), {}, "demo_snapshots", "keep") == 5
    assert setting(config, app("Orders"), {}, "demo_snapshots", "keep") == 1


def test_disabled_rules_are_left_out_and_an_override_can_enable_again() -> None:
    config = load("""\
rules:
  demo_snapshots: {enabled: false}
overrides:
  - name: pilot
    match: {names: [pilot-*]}
    rules: {demo_snapshots: {enabled: true}, demo_logging: {enabled: false}}
""")
    assert set(resolve(config, app(), {}).rules) == {"demo_logging"}
    assert set(resolve(config, app("pilot-1"), {}).rules) == {"demo_snapshots"}


@pytest.mark.parametrize(
    ("rule_mode", "default_mode", "override_mode", "expected"),
    [
        (None, None, None, ("enforce", "alert")),  # each rule's own default mode
        (None, "dry-run", None, ("dry-run", "dry-run")),
        ("alert", "dry-run", None, ("alert", "dry-run")),
        ("alert", "dry-run", "enforce", ("enforce", "dry-run")),
        (None, None, "dry-run", ("dry-run", "alert")),
    ],
)
def test_mode_precedence(
    rule_mode: str | None,
    default_mode: str | None,
    override_mode: str | None,
    expected: tuple[str, str],
) -> None:
    body = ""
    if default_mode:
        body += f"defaults: {{mode: {default_mode}}}\n"
    if rule_mode:
        body += f"rules: {{demo_logging: {{mode: {rule_mode}}}}}\n"
    if override_mode:
        body += (
            "overrides:\n  - name: o\n    match: {names: ['*']}\n"
            f"    rules: {{demo_logging: {{mode: {override_mode}}}}}\n"
        )
    resolved = resolve(load(body), app(), {}).rules
    assert (resolved["demo_logging"].mode, resolved["demo_snapshots"].mode) == expected


def test_ignored_apps_say_why() -> None:
    config = load("ignore_tag: {key: skip-me, value: 'yes'}\n")
    assert resolve(config, app(), {"skip-me": "YES"}).ignored == "opt-out tag skip-me=YES"
    assert resolve(config, app(), {"skip-me": "no"}).ignored == ""
    assert resolve(config, app(account="333333333333"), {}).ignored == (
        "account 333333333333 is not in the config's accounts"
    )
    assert resolve(config, app(region="ap-south-1"), {}).ignored == (
        "region ap-south-1 is not in the config's regions"
    )
    assert resolve(config, app(), {"skip-me": "YES"}).rules == {}


def test_default_opt_out_tag() -> None:
    config = load("")
    assert resolve(config, app(), {"flink-remediator/ignore": "true"}).ignored
    assert not resolve(config, app(), {"flink-remediator/ignore": "false"}).ignored


def test_overrides_that_combine_into_invalid_settings_raise_config_error() -> None:
    # Each override is valid on its own; together min_keep 4 > keep 3.
    config = load("""\
overrides:
  - name: more-min
    match: {names: ["a*"]}
    rules: {demo_snapshots: {min_keep: 4, keep: 6}}
  - name: less-keep
    match: {names: ["*b"]}
    rules: {demo_snapshots: {keep: 3}}
""")
    assert setting(config, app("ax"), {}, "demo_snapshots", "min_keep") == 4
    with pytest.raises(ConfigError) as caught:
        resolve(config, app("ab"), {})
    assert "overrides more-min, less-keep combine into invalid settings" in str(caught.value)


# ---- property tests: resolve() against a direct reading of the documented rule ----------


class NumberSettings(RuleSettings):
    a: int = 0
    b: int = 0
    c: int = 0


class Numbers:
    id: ClassVar[str] = "numbers"
    settings_model: ClassVar[type[RuleSettings]] = NumberSettings
    default_mode: ClassVar[Mode] = "alert"


NAMES = ("orders-a", "orders-b", "pay-x", "misc")
NAME_GLOBS = ("orders-*", "pay-?", "*", "misc", "*-b", "nothing")
REGIONS = ("us-east-1", "eu-west-1")
REGION_GLOBS = ("us-*", "eu-west-1", "*-1")
TAG_KEYS = ("env", "team")
TAG_VALUES = ("prod", "dev", "x")
TAG_GLOBS = ("prod", "d*", "*", "nothing")
FIELDS = ("a", "b", "c")

partial_settings = st.fixed_dictionaries(
    {},
    optional={f: st.integers(-3, 3) for f in FIELDS}
    | {"mode": st.sampled_from(MODES), "enabled": st.booleans()},
)
match = st.fixed_dictionaries(
    {},
    optional={
        "names": st.lists(st.sampled_from(NAME_GLOBS), min_size=1, max_size=2, unique=True),
        "tags": st.dictionaries(
            st.sampled_from(TAG_KEYS),
            st.lists(st.sampled_from(TAG_GLOBS), min_size=1, max_size=2),
            min_size=1,
        ),
        "accounts": st.lists(
            st.sampled_from((ACCOUNT, OTHER_ACCOUNT)), min_size=1, max_size=2, unique=True
        ),
        "regions": st.lists(st.sampled_from(REGION_GLOBS), min_size=1, max_size=2, unique=True),
    },
).filter(bool)
overrides = st.lists(st.tuples(match, partial_settings), max_size=5).map(
    lambda items: [
        {"name": f"o{i}", "match": m, "rules": {"numbers": s}} for i, (m, s) in enumerate(items)
    ]
)
documents = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "accounts": st.just([ACCOUNT, OTHER_ACCOUNT]),
        "regions": st.just(list(REGIONS)),
        "rules": st.fixed_dictionaries({"numbers": partial_settings}),
        "overrides": overrides,
    },
    optional={"defaults": st.fixed_dictionaries({"mode": st.sampled_from(MODES)})},
)
apps = st.builds(
    AppRef,
    st.sampled_from((ACCOUNT, OTHER_ACCOUNT)),
    st.sampled_from(REGIONS),
    st.sampled_from(NAMES),
)
tag_sets = st.dictionaries(st.sampled_from(TAG_KEYS), st.sampled_from(TAG_VALUES))


def reference_matches(m: dict[str, Any], ref: AppRef, tags: Mapping[str, str]) -> bool:
    checks = [
        "names" not in m or any(fnmatchcase(ref.name, g) for g in m["names"]),
        "accounts" not in m or ref.account in m["accounts"],
        "regions" not in m or any(fnmatchcase(ref.region, g) for g in m["regions"]),
        "tags" not in m
        or all(
            k in tags and any(fnmatchcase(tags[k], g) for g in globs)
            for k, globs in m["tags"].items()
        ),
    ]
    return all(checks)


def reference_value(
    doc: dict[str, Any], ref: AppRef, tags: Mapping[str, str], field: str, default: Any
) -> Any:
    """The documented rule read backwards: the last place that sets the field wins."""
    for override in reversed(doc["overrides"]):
        if field in override["rules"]["numbers"] and reference_matches(
            override["match"], ref, tags
        ):
            return override["rules"]["numbers"][field]
    return doc["rules"]["numbers"].get(field, default)


@settings(max_examples=150, deadline=None)
@given(doc=documents, ref=apps, tags=tag_sets)
def test_resolve_follows_the_documented_precedence(
    doc: dict[str, Any], ref: AppRef, tags: dict[str, str]
) -> None:
    config = parse_config(json.dumps(doc), "gen.yaml", [Numbers()])
    resolution = resolve(config, ref, tags)
    assert not resolution.ignored
    expected_names = tuple(
        o["name"] for o in doc["overrides"] if reference_matches(o["match"], ref, tags)
    )
    assert resolution.overrides == expected_names
    if not reference_value(doc, ref, tags, "enabled", True):
        assert "numbers" not in resolution.rules
        return
    resolved = resolution.rules["numbers"]
    for field in FIELDS:
        assert getattr(resolved.settings, field) == reference_value(doc, ref, tags, field, 0)
    mode = reference_value(doc, ref, tags, "mode", None)
    assert resolved.mode == (mode or doc.get("defaults", {}).get("mode") or "alert")
    # Pure: asking again (now from the memo) gives the same answer.
    assert resolve(config, ref, tags) == resolution


@settings(max_examples=60, deadline=None)
@given(doc=documents, ref=apps, tags=tag_sets)
def test_an_override_that_does_not_match_changes_nothing(
    doc: dict[str, Any], ref: AppRef, tags: dict[str, str]
) -> None:
    before = resolve(parse_config(json.dumps(doc), "gen.yaml", [Numbers()]), ref, tags)
    never = {
        "name": "never",
        "match": {"names": ["no-app-is-called-this"]},
        "rules": {"numbers": {"a": 99, "enabled": False, "mode": "enforce"}},
    }
    for position in (0, len(doc["overrides"])):
        doc_with = {**doc, "overrides": [*doc["overrides"]]}
        doc_with["overrides"].insert(position, never)
        after = resolve(parse_config(json.dumps(doc_with), "gen.yaml", [Numbers()]), ref, tags)
        assert after.rules == before.rules
        assert after.overrides == before.overrides
