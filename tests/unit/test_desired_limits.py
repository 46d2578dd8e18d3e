"""Hostile desired-state files (issue 19): each ends in one line naming the file, in the loader,
in `validate` and `run` (real processes), and in a hot reload that keeps the last good config.

No wall-clock assertions: the limits are structural (checked while composing, before any
expensive work), and a syntax error placed after the point of rejection proves the rest of the
file is never read. benchmarks/config_limits_bench.py prints the time per file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from daemon.desired import load_config, parse_config
from daemon.desired.limits import MAX_BYTES_ENV, Limits
from daemon.errors import ConfigError
from daemon.runtime_config import MAX_LOGGED_PROBLEMS, ConfigWatcher
from tests.harness import pinned_environ
from tests.unit.hostile_configs import HEAD, HOSTILE, MIB, alias_bomb, deep_flow_sequence

CONSOLE_SCRIPT = Path(sys.executable).parent / "flink-remediator"
REJECTED = {name: make for name, make in HOSTILE.items() if name != "pathological_glob"}
EXPECTED = {  # the one problem of each file, after "FILE"
    "alias_bomb": r":11: rules\.cloudwatch_logging\.a\d\[\d\]: more than 30000 values with "
    r"aliases expanded \(the limit\)",
    "overrides_10mb": r": file is 10,485,760 bytes, over the limit of 1,048,576 \(set "
    rf"{MAX_BYTES_ENV} to change it\)",
    "overrides_1mib": r":3005: overrides: more than 1000 overrides \(the limit\)",
    "overrides_under_1mib": r":3005: overrides: more than 1000 overrides \(the limit\)",
    "glob_overrides_5000": r":3005: overrides: more than 1000 overrides \(the limit\)",
    "deep_flow_sequence": r":4: \[ and \{ nested deeper than 32 levels \(the limit\)",
    "deep_flow_mapping": r":4: rules\.a\.a\.a\.a\.a\.\.\.: nested deeper than 32 levels",
    "deep_block_mapping": r":36: rules\.k\.k\.k\.k\.k\.\.\.: nested deeper than 32 levels",
    "deep_block_sequence": r":36: overrides\[0\]\[0\]\[0\]\[0\]\[0\]\.\.\.: nested deeper",
}
GOOD = HEAD


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, make in REJECTED.items():
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_bytes(make())
    return paths


def assert_one_line_naming(problems: list[str], path: Path, name: str) -> None:
    assert len(problems) == 1, problems
    assert re.match(re.escape(str(path)) + EXPECTED[name], problems[0]), problems[0]
    assert "\n" not in problems[0] and len(problems[0]) < 400


def test_every_hostile_file_has_an_expected_message() -> None:
    assert set(EXPECTED) == set(REJECTED)


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_loader_rejects_with_one_line(name: str, hostile_files: dict[str, Path]) -> None:
    path = hostile_files[name]
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_one_line_naming(caught.value.problems, path, name)


@pytest.mark.parametrize("name", sorted(set(REJECTED) - {"overrides_10mb"}))
def test_rejection_happens_before_the_rest_of_the_file_is_read(name: str, tmp_path: Path) -> None:
    # A syntax error at the very end is never reported: reading stopped at the limit.
    content = REJECTED[name]()
    content = content[: MIB - 20] + b"\nbroken: [unclosed\n"
    path = tmp_path / "late_error.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_one_line_naming(caught.value.problems, path, name)


def test_validate_gives_one_line_per_hostile_file_and_no_traceback(
    hostile_files: dict[str, Path],
) -> None:
    names = sorted(hostile_files)
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "validate", *(str(hostile_files[n]) for n in names)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a speed check
    )
    assert done.returncode == 1
    assert (
        done.stderr
        == f"error: {len(names)} of {len(names)} files invalid (problems listed above)\n"
    )
    lines = done.stdout.splitlines()
    assert len(lines) == len(names)
    for name, line in zip(names, lines, strict=True):
        assert_one_line_naming([line], hostile_files[name], name)


@pytest.mark.parametrize("name", ["alias_bomb", "deep_block_mapping", "overrides_10mb"])
def test_run_exits_1_with_one_line(name: str, hostile_files: dict[str, Path]) -> None:
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "run", "--config", str(hostile_files[name])],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a speed check
        env=pinned_environ({"PATH": "/usr/bin:/bin"}) | {"AWS_DEFAULT_REGION": "eu-west-1"},
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert all(line.startswith("error: ") for line in lines), lines
    assert_one_line_naming(
        [line.removeprefix("error: ") for line in lines], hostile_files[name], name
    )


def test_hot_reload_of_each_hostile_file_keeps_the_good_config_and_logs_once(
    hostile_files: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "current.yaml"
    path.write_text(GOOD)
    watcher = ConfigWatcher(load_config(path), str(path))
    good = watcher.current()
    for name in sorted(hostile_files):
        path.write_bytes(hostile_files[name].read_bytes())
        with capture_logs() as logs:
            for _ in range(3):  # three polls of the same broken file
                watcher.reload_if_changed()
        assert watcher.current() is good
        assert [entry["event"] for entry in logs] == ["config_rejected"], name
        problem = logs[0]["problem"]
        assert_one_line_naming([problem], path, name)
        assert logs[0]["kept_sha256"] == good.sha256


def test_hot_reload_logs_each_distinct_problem_once_up_to_a_bound(tmp_path: Path) -> None:
    path = tmp_path / "current.yaml"
    path.write_text(GOOD)
    watcher = ConfigWatcher(load_config(path), str(path))
    overrides = "".join(
        f"  - {{name: o{i}, match: {{names: [x]}}, nope{i}: 1}}\n" for i in range(50)
    )
    path.write_text(GOOD + "overrides:\n" + overrides)
    with capture_logs() as logs:
        watcher.reload_if_changed()
        watcher.reload_if_changed()
    events = [entry["event"] for entry in logs]
    assert events == ["config_rejected"] * MAX_LOGGED_PROBLEMS + ["config_problems_not_logged"]
    assert len({entry["problem"] for entry in logs[:-1]}) == MAX_LOGGED_PROBLEMS
    assert logs[-1]["count"] > 50 - MAX_LOGGED_PROBLEMS
    path.write_text(GOOD + "defaults: {mode: alert}\n")
    with capture_logs() as logs:
        watcher.reload_if_changed()
    assert [entry["event"] for entry in logs] == ["config_reloaded"]
    assert watcher.current().default_mode == "alert"


def test_hot_reload_reports_a_check_that_crashes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "current.yaml"
    path.write_text(GOOD)
    watcher = ConfigWatcher(load_config(path), str(path))
    good = watcher.current()

    def broken_check(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("daemon.runtime_config.parse_config", broken_check)
    path.write_text(GOOD + "# changed\n")
    with capture_logs() as logs:
        watcher.reload_if_changed()
        watcher.reload_if_changed()
    assert watcher.current() is good
    assert len(logs) == 1 and "RuntimeError('a bug')" in logs[0]["problem"]


def test_size_limit_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv(MAX_BYTES_ENV, str(len(GOOD) - 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        f"{path}: file is {len(GOOD)} bytes, over the limit of {len(GOOD) - 1} "
        f"(set {MAX_BYTES_ENV} to change it)"
    ]
    monkeypatch.setenv(MAX_BYTES_ENV, str(len(GOOD)))
    assert load_config(path).accounts == ("123456789012",)
    monkeypatch.setenv(MAX_BYTES_ENV, "1MB")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        f"{path}: {MAX_BYTES_ENV}='1MB' is not a positive number of bytes"
    ]


def test_limits_are_a_loader_parameter() -> None:
    small = Limits(max_depth=3, max_aliases=1, max_overrides=1, max_glob_chars=5)
    glob = Limits(max_glob_chars=5)
    cases = {
        "rules: {a: {b: {c: 1}}}\n": "4: rules.a.b: nested deeper than 3 levels (the limit)",
        "x: &x 1\ny: [*x, *x]\n": "5: y[1]: more than 1 alias references (the limit)",
        "overrides: [{name: a}, {name: b}]\n": "4: overrides: more than 1 overrides (the limit)",
    }
    for text, problem in cases.items():
        with pytest.raises(ConfigError) as caught:
            parse_config(HEAD + text, "f.yaml", limits=small)
        assert caught.value.problems == [f"f.yaml:{problem}"]
    with pytest.raises(ConfigError) as caught:
        parse_config(
            HEAD + "overrides:\n- {name: a, match: {names: [abcdef]}, rules: {}}\n",
            "f.yaml",
            limits=glob,
        )
    assert caught.value.problems == [
        "f.yaml:5: overrides[0].match.names[0]: glob of 6 characters, over the limit of 5"
    ]


def test_an_alias_inside_its_own_anchor_is_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(HEAD + "rules: &r {a: *r}\n", "f.yaml")
    assert caught.value.problems == ["f.yaml:4: rules.a: alias *r is used inside its own anchor"]


def test_aliases_and_merge_keys_within_the_limits_still_work() -> None:
    text = HEAD + (
        "overrides:\n"
        "  - {name: a, match: &common {names: ['orders-*']}, rules: {}}\n"
        "  - {name: b, match: *common, rules: {}}\n"
        "  - {name: c, match: {<<: *common, regions: [eu-*]}, rules: {}}\n"
    )
    config = parse_config(text, "f.yaml")
    assert [o.match.names for o in config.overrides] == [("orders-*",)] * 3
    assert config.overrides[2].match.regions == ("eu-*",)


def test_a_smaller_alias_bomb_is_rejected_at_the_limit_not_expanded() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(alias_bomb(levels=5), "f.yaml", limits=Limits(max_nodes=1_000))
    assert caught.value.problems[0].endswith(
        "more than 1000 values with aliases expanded (the limit)"
    )


def test_a_huge_value_is_quoted_in_one_short_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(HEAD + "rules: " + "x" * 500_000 + "\n", "f.yaml")
    (problem,) = caught.value.problems
    assert problem.startswith("f.yaml:4: rules: expected a mapping, got a string ('xxx")
    assert problem.endswith("characters)") and len(problem) < 400


def test_nesting_just_within_the_limit_is_read() -> None:
    flow = deep_flow_sequence(depth=20).decode().replace("overrides: ", "x: ")
    with pytest.raises(ConfigError) as caught:
        parse_config(flow, "f.yaml")
    assert [p.split(": ", 2)[1] for p in caught.value.problems] == ["x"]


def test_the_known_rules_are_listed_whole_after_a_long_message() -> None:
    # The registry's ids make the message longer than the cut for long values: the list of
    # valid choices is never cut (only the quoted value would be).
    from remediations import RULES as REGISTERED

    with pytest.raises(ConfigError) as caught:
        parse_config(HEAD + "rules:\n  execution_role_permisions: {}\n", "f.yaml")
    (problem,) = caught.value.problems
    assert "(did you mean 'execution_role_permissions'?); known rules: " in problem
    assert problem.endswith("known rules: " + ", ".join(REGISTERED))
    assert "..." not in problem and len(problem) > 300


def test_a_huge_unknown_key_is_cut_but_its_choices_are_not() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(HEAD + "defaults:\n  " + "k" * 1000 + ": 1\n", "f.yaml")
    (problem,) = caught.value.problems
    assert "... (1,01" in problem  # "unknown key 'kkk...'... (1,0xx characters)"
    assert problem.endswith("; allowed keys: mode, disruption")
