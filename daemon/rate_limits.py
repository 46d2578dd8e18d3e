"""Client-side rate limits: one token bucket per (account, Region, API family), shared by every
thread that calls that family there, so a sweep paces itself instead of taking a shared
account's whole quota (other tools and the console use the same quota).

A family is the botocore service name (`kinesisanalyticsv2`, `logs`, `ec2`, ...). Each bucket
holds one token: calls are spaced evenly at the rate, so any one second sees at most rate + 1.
Throttling seen from AWS lowers the rate (AIMD, as TCP and botocore's `adaptive` mode do):
halved at most once a second, down to a floor, then raised by a twentieth of the configured
rate per second without throttling (back to full within 10 s of a halving).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from daemon.errors import SettingsError

# Requests per second per account and Region (IAM: per account, it is global). 0: unlimited.
# Kept well under AWS's documented quotas, where AWS documents one:
DEFAULT_RATES: Mapping[str, float] = {
    # Managed Flink publishes no API request rates (its quotas page lists resource quotas only:
    # https://docs.aws.amazon.com/general/latest/gr/ka.html): a modest rate; a full resync of
    # 5,000 apps takes ~17 min at 5/s, once a day.
    "kinesisanalyticsv2": 5.0,
    # DescribeLogStreams "has a limit of five transactions per second" (and DescribeLogGroups
    # likewise): https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogStreams.html
    "logs": 2.5,
    # EC2 non-mutating actions: bucket 100, refill 20/s per account and Region:
    # https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
    "ec2": 5.0,
    # IAM and STS publish no per-operation request rates
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); IAM is one
    # global control plane per account, so the lowest rate here. A sweep pages
    # GetAccountAuthorizationDetails (1,000 roles a page): a few calls.
    "iam": 2.0,
    "sts": 5.0,
    # Resource Groups Tagging API: 100 resources a page, a few pages a sweep.
    "resourcegroupstaggingapi": 2.0,
    # SQS: "nearly unlimited" API calls per second for standard queues
    # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html);
    # a long poll must never wait behind a bucket.
    "sqs": 0.0,
}
OTHER_RATE = 5.0  # any other family (Security Hub, KMS, S3, Organizations, ...)
GLOBAL_FAMILIES = frozenset({"iam"})
FLOOR_FRACTION = 0.05  # throttling never takes a bucket below this share of its rate
RECOVERY_PER_SECOND = 0.05  # share of the configured rate regained per second
CUT_INTERVAL_SECONDS = 1.0  # throttles within this of a halving are the same congestion


class TokenBucket:
    """One token, refilled at `rate` per second; `acquire` reserves the next slot and sleeps
    until it (outside the lock, so callers queue in arrival order at the rate)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.configured = self.rate = rate
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = clock()  # when the next call may go
        self._last_cut = self._updated = float("-inf")

    def acquire(self) -> float:
        """Wait for this call's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._recover(now)
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait

    def throttled(self) -> None:
        """AWS throttled a call: halve the rate (once per CUT_INTERVAL_SECONDS)."""
        with self._lock:
            now = self._clock()
            if now - self._last_cut < CUT_INTERVAL_SECONDS:
                return
            self._recover(now)
            self.rate = max(self.configured * FLOOR_FRACTION, self.rate / 2)
            self._last_cut = self._updated = now

    def _recover(self, now: float) -> None:
        if self.rate < self.configured and self._updated > float("-inf"):
            regained = self.configured * RECOVERY_PER_SECOND * (now - self._updated)
            self.rate = min(self.configured, self.rate + regained)
        self._updated = now


class RateLimits:
    """The buckets of one process, created on first use."""

    def __init__(
        self,
        rates: Mapping[str, float] = DEFAULT_RATES,
        other: float = OTHER_RATE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rates, self._other = dict(rates), other
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, account: str, region: str, family: str) -> TokenBucket | None:
        """The bucket for calls of `family` in that account and Region; None: unlimited."""
        rate = self._rates.get(family, self._other)
        if rate <= 0:
            return None
        key = (account, "global" if family in GLOBAL_FAMILIES else region, family)
        with self._lock:
            if key not in self._buckets:
                self._buckets[key] = TokenBucket(rate, self._clock, self._sleep)
            return self._buckets[key]

    def binding(self, account: str, region: str) -> Callable[[str], TokenBucket | None]:
        """`family -> bucket` for one account and Region (what an `Aws` holds)."""
        return lambda family: self.bucket(account, region, family)


def parse_rates(text: str) -> dict[str, float]:
    """`--rate-limits`: `family=rate,...` over the defaults (`*=rate` for every other family,
    `=0` unlimited). SettingsError names the bad entry."""
    rates = dict(DEFAULT_RATES)
    for entry in filter(None, (part.strip() for part in text.split(","))):
        family, sep, value = entry.partition("=")
        try:
            rate = float(value) if sep and family.strip() else -1.0
        except ValueError:
            rate = -1.0
        if rate < 0:
            raise SettingsError(
                f"--rate-limits: {entry!r} is not family=requests-per-second (e.g. logs=2.5)"
            )
        rates[family.strip()] = rate
    return rates


def limits_from(text: str) -> RateLimits:
    rates = parse_rates(text)
    return RateLimits(rates, other=rates.pop("*", OTHER_RATE))
