"""Malformed desired-state files: each gives exactly the problems written at its end.

Every fixture in tests/unit/configs/ ends with `# expect: LINE: PATH: MESSAGE` comments (the
file name is prefixed here). The list must match exactly and in order: all problems of a file
are reported, each with its file, line and dotted path.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from daemon.desired import load_config, parse_config
from daemon.errors import ConfigError
from tests.unit.configs.rules import RULES, LoggingSettings

CONFIGS = Path(__file__).parent / "configs"
FIXTURES = sorted(CONFIGS.glob("*.yaml"))
VALID = """\
version: 1
accounts: ["123456789012"]
regions: [eu-west-1]
"""


def expected_problems(path: Path) -> list[str]:
    text = path.read_bytes().decode("latin-1")  # one fixture is deliberately not UTF-8
    return [f"{path}:{m}" for m in re.findall(r"^# expect: (.*)$", text, flags=re.M)]


def test_there_are_many_fixtures_and_each_states_what_it_expects() -> None:
    assert len(FIXTURES) >= 25
    for path in FIXTURES:
        assert expected_problems(path), f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_malformed_config_gives_the_specified_messages(path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(path, RULES)
    assert caught.value.problems == expected_problems(path)
    assert caught.value.path == str(path)
    for problem in caught.value.problems:
        assert re.match(rf"^{re.escape(str(path))}:\d+: \S", problem)


def test_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, RULES)
    assert caught.value.problems == [f"{missing}: cannot read: No such file or directory"]


def test_problems_of_different_sections_are_all_reported_sorted_by_line() -> None:
    text = VALID + (
        "defaults: {mode: sometimes}\n"  # 4
        "rules:\n"
        "  demo_logging: {log_level: LOUD}\n"  # 6
        "  nope: {}\n"  # 7
        "overrides:\n"
        "  - name: x\n"  # 9: match missing
        "    rules: {}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "mem.yaml", RULES)
    assert [p.split(": ")[0] for p in caught.value.problems] == [
        "mem.yaml:4",
        "mem.yaml:6",
        "mem.yaml:7",
        "mem.yaml:9",
    ]
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(VALID)
    config = load_config(path, RULES)
    assert config.sha256 == hashlib.sha256(VALID.encode()).hexdigest()
    path.write_text(VALID + "# a comment changes the bytes\n")
    assert load_config(path, RULES).sha256 != config.sha256


def test_a_minimal_file_gives_every_rule_its_defaults() -> None:
    config = parse_config(VALID, "c.yaml", RULES)
    assert config.accounts == ("123456789012",)
    assert config.regions == ("eu-west-1",)
    assert config.default_mode is None
    assert config.overrides == ()
    assert config.rules["demo_logging"] == LoggingSettings()
    assert set(config.rules) == {"demo_logging", "demo_snapshots"}
    assert config.ignore_tag is not None
    assert (config.ignore_tag.key, config.ignore_tag.value) == ("flink-remediator/ignore", "true")


def test_a_rule_named_with_nothing_after_it_means_all_defaults() -> None:
    config = parse_config(VALID + "rules:\n  demo_logging:\n", "c.yaml", RULES)
    assert config.rules["demo_logging"] == LoggingSettings()


def test_unquoted_twelve_digit_account_is_accepted_as_a_string() -> None:
    text = "version: 1\naccounts: [123456789012]\nregions: [us-east-1]\n"
    assert parse_config(text, "c.yaml", RULES).accounts == ("123456789012",)


def test_ignore_tag_null_turns_the_opt_out_off() -> None:
    assert parse_config(VALID + "ignore_tag: null\n", "c.yaml", RULES).ignore_tag is None


def test_rules_are_a_parameter_a_rule_unknown_to_this_set_is_rejected() -> None:
    text = VALID + "rules:\n  demo_snapshots: {keep: 3}\n"
    assert parse_config(text, "c.yaml", RULES).rules["demo_snapshots"].model_dump()["keep"] == 3
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml", RULES[:1])
    assert caught.value.problems == [
        "c.yaml:5: rules.demo_snapshots: unknown rule 'demo_snapshots'; known rules: demo_logging"
    ]


def test_yaml_anchors_and_merge_keys_work_and_keep_lines() -> None:
    text = VALID + (
        "rules:\n"
        "  demo_logging: &loud {log_level: WARN}\n"
        "overrides:\n"
        "  - name: a\n"
        "    match: {names: [a]}\n"
        "    rules:\n"
        "      demo_logging:\n"
        "        <<: *loud\n"
        "        metrics_level: TASKS\n"  # 12
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml", RULES)
    assert caught.value.problems == [
        "c.yaml:12: overrides[0].rules.demo_logging.metrics_level: "
        "Input should be 'APPLICATION', 'TASK', 'OPERATOR' or 'PARALLELISM'"
    ]
