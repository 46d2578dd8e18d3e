"""Client-side rate limits (issue 29 item 2): token buckets on the injected clock."""

from __future__ import annotations

import time

import pytest

from daemon.aws import Aws
from daemon.errors import SettingsError
from daemon.rate_limits import DEFAULT_RATES, RateLimits, TokenBucket, limits_from, parse_rates
from sandbox.faults import parse_rules
from sandbox.server import Sandbox
from tests.clock import FakeClock


class Sleeper:
    """time.sleep on the fake clock: sleeping moves it."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.slept = clock, 0.0

    def __call__(self, seconds: float) -> None:
        self.clock.now += seconds
        self.slept += seconds


def call_times(bucket: TokenBucket, clock: FakeClock, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        bucket.acquire()
        times.append(round(clock.now, 6))
    return times


def test_calls_are_spaced_at_the_rate_so_no_second_sees_more_than_rate_plus_one() -> None:
    clock = FakeClock(100.0)
    bucket = TokenBucket(5.0, clock, Sleeper(clock))
    times = call_times(bucket, clock, 26)
    assert times[:3] == [100.0, 100.2, 100.4]
    assert times[-1] == pytest.approx(105.0)
    for start in times:  # any one-second window
        assert sum(start <= t < start + 1 for t in times) <= 5 + 1


def test_an_idle_bucket_lets_one_call_go_at_once_not_a_backlog() -> None:
    clock = FakeClock()
    sleeper = Sleeper(clock)
    bucket = TokenBucket(2.0, clock, sleeper)
    clock.now = 60.0  # idle for a minute: nothing saved up beyond the next call
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(0.5)


def test_throttling_halves_the_rate_once_per_second_and_it_recovers_linearly() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, Sleeper(clock))
    bucket.throttled()
    bucket.throttled()  # the same congestion: 8 workers throttled at once cut it once
    assert bucket.rate == 5.0
    clock.now += 1.0
    bucket.throttled()
    assert bucket.rate == pytest.approx(2.5 + 0.25)  # regained 0.5/s for 1 s, then halved
    clock.now += 5.0
    bucket.acquire()
    assert bucket.rate == pytest.approx(2.75 + 2.5)  # a twentieth of 10 per second
    clock.now += 100.0
    bucket.acquire()
    assert bucket.rate == 10.0  # never above the configured rate


def test_throttling_never_takes_a_bucket_below_its_floor() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock, Sleeper(clock))
    for _ in range(20):
        bucket.throttled()
        clock.now += 1.0
    assert bucket.rate == pytest.approx(0.5, abs=0.01)  # 5 % of 10
    assert bucket.rate >= 0.5


def test_one_bucket_per_account_region_and_family_iam_global_sqs_unlimited() -> None:
    limits = RateLimits()
    flink = limits.bucket("111111111111", "eu-west-1", "kinesisanalyticsv2")
    assert flink is limits.bucket("111111111111", "eu-west-1", "kinesisanalyticsv2")
    assert flink is not limits.bucket("111111111111", "us-east-1", "kinesisanalyticsv2")
    assert flink is not limits.bucket("222222222222", "eu-west-1", "kinesisanalyticsv2")
    assert flink is not None and flink.rate == DEFAULT_RATES["kinesisanalyticsv2"]
    iam = limits.bucket("111111111111", "eu-west-1", "iam")
    assert iam is limits.bucket("111111111111", "us-east-1", "iam")  # one global quota
    assert limits.bucket("111111111111", "eu-west-1", "sqs") is None
    other = limits.bucket("111111111111", "eu-west-1", "securityhub")
    assert other is not None and other.rate == 5.0


def test_rates_are_configured_over_the_defaults() -> None:
    rates = parse_rates("kinesisanalyticsv2=20, logs=1.5,ec2=0")
    assert rates["kinesisanalyticsv2"] == 20.0 and rates["logs"] == 1.5
    assert rates["iam"] == DEFAULT_RATES["iam"]
    limits = limits_from("ec2=0,*=1")
    assert limits.bucket("a", "r", "ec2") is None
    kms = limits.bucket("a", "r", "kms")
    assert kms is not None and kms.rate == 1.0


@pytest.mark.parametrize("text", ["logs", "logs=fast", "logs=-1", "=3"])
def test_a_bad_rate_is_one_clear_error(text: str) -> None:
    with pytest.raises(SettingsError, match=r"--rate-limits: .* is not family=requests-per-second"):
        parse_rates(text)


def test_every_attempt_through_the_gateway_waits_its_slot_and_throttling_slows_the_bucket(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_sandbox.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clock = FakeClock()
    sleeper = Sleeper(clock)
    limits = RateLimits({"kinesisanalyticsv2": 4.0}, clock=clock, sleep=sleeper)
    aws = Aws(fresh_sandbox.region)
    aws.limit = limits.binding("own", fresh_sandbox.region)
    throttle = {"kind": "throttle", "operation": "ListApplications", "count": 2}
    fresh_sandbox.faults.install(parse_rules([throttle], time.time()))
    aws.call("kinesisanalyticsv2", "ListApplications")  # two throttled attempts, then served
    bucket = limits.bucket("own", fresh_sandbox.region, "kinesisanalyticsv2")
    # Two throttles within a second: one halving (4 -> 2), then 1/4 s of recovery (+0.05).
    assert bucket is not None and bucket.rate == pytest.approx(2.05)
    # Slots: the first attempt at once, the second 1/4 s later, the third 1/2 s after that.
    assert sleeper.slept == pytest.approx(0.75)
    assert fresh_sandbox.faults.report()["total"] == 2
    aws.call("sqs", "ListQueues")  # SQS is not limited: no wait, no bucket
    assert sleeper.slept == pytest.approx(0.75)
