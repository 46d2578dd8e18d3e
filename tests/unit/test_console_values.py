"""Console values: ids (ARNs, account ids, resource ids) are never cut, and a long before/after
pair is shortened around where the two differ, so it never prints two equal-looking values."""

from __future__ import annotations

import re

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from daemon.telemetry import logs
from daemon.telemetry.console_values import MAX_CHARS, short, short_pair

STREAM = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesis-analytics/fraud-scorer"
BEFORE = [f"{STREAM}:log-stream:debug-stream"]
AFTER = [f"{STREAM}:log-stream:kinesis-analytics-log-stream"]


def test_a_pair_of_arn_lists_differing_at_the_end_shows_the_difference_and_whole_arns() -> None:
    before, after = short_pair(BEFORE, AFTER)
    assert before != after
    assert BEFORE[0] in before and AFTER[0] in after  # the ARNs whole, the difference visible


def test_a_pair_differing_only_in_the_last_character_shows_it() -> None:
    before, after = short_pair("policy-" + "a" * 300 + "1", "policy-" + "a" * 300 + "2")
    assert before.endswith("a1") and after.endswith("a2")
    assert before.startswith("…") and len(before) < 40


def test_a_policy_pair_shows_the_added_condition() -> None:
    trust = {"Effect": "Allow", "Principal": {"Service": "kinesisanalytics.amazonaws.com"}}
    condition = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    before, after = short_pair({"Statement": [trust]}, {"Statement": [{**trust, **condition}]})
    assert "StringEquals" in after and "StringEquals" not in before
    assert "'123456789012'" in after


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::123456789012:role/service-role/flink/a-rather-long-execution-role-name",
        "subnet-0123456789abcdef0 " * 3,
        ["123456789012", "210987654321", "333333333333", "444444444444"],
        "36bfb312-d67d-4751-b83f-e7a7a100b258 " * 2,
    ],
)
def test_ids_are_never_cut(value: object) -> None:
    shown = str(short(value)).rstrip("…")
    ids = re.compile(r"arn:\S+|\d{12}|subnet-[0-9a-f]+|[0-9a-f-]{36}")
    original = set(ids.findall(str(value)))
    assert set(ids.findall(shown)) <= original  # every id shown is a whole id of the value


@given(
    common=st.text(min_size=0, max_size=200),
    left=st.text(min_size=0, max_size=80),
    right=st.text(min_size=0, max_size=80),
    tail=st.text(min_size=0, max_size=200),
)
def test_different_values_never_look_the_same(
    common: str, left: str, right: str, tail: str
) -> None:
    before, after = common + left + tail, common + right + tail
    shown = short_pair(before, after)
    assert (shown[0] == shown[1]) == (before == after)


def test_short_values_and_numbers_are_unchanged() -> None:
    assert short_pair("a", "b") == ("a", "b")
    assert short(7) == 7 and short(None) is None and short("x" * MAX_CHARS) == "x" * MAX_CHARS


def test_the_console_line_carries_the_pair_and_json_carries_it_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("console")
    structlog.get_logger().info("drift_detected", app="a", current=BEFORE, desired=AFTER)
    line = capsys.readouterr().err
    assert "debug-stream" in line and "kinesis-analytics-log-stream" in line
    assert line.count("123456789012") == 2
    logs.configure("json")
    structlog.get_logger().info("drift_detected", app="a", current=BEFORE, desired=AFTER)
    assert f'"current": ["{BEFORE[0]}"], "desired": ["{AFTER[0]}"]' in capsys.readouterr().err
