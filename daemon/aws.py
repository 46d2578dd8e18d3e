"""The AWS boundary: clients, the only place that reads botocore error codes, and call retries.

Retryable failures (throttling, 5xx, timeouts) are retried here with jittered exponential
backoff (tenacity). ReplanNeeded errors (ConcurrentModification, ResourceInUse) go up to the
reconciler, which re-observes and re-plans; permanent ones are never retried.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import boto3
import structlog
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)
from botocore.parsers import ResponseParserError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from daemon import errors
from daemon.botocore_data import new_session
from daemon.rate_limits import TokenBucket
from daemon.state import AppRef
from daemon.telemetry import metrics

log = structlog.get_logger(__name__)

_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchEntity",
        "NoSuchEntityException",
        "NotFoundException",  # KMS, MSK
    }
)
_ALREADY_EXISTS = frozenset({"ResourceAlreadyExistsException", "EntityAlreadyExists"})
# Writes that take no version token. A create that finds its resource there, or a removal that
# finds it gone, lost a race (another replica or a person did it after our read): like a stale
# version token, the answer is to re-read and re-plan, not to fail.
_CREATES = ("Create",)
_REMOVALS = ("Delete", "Detach", "Remove", "Untag", "Disassociate")

# botocore's own retries are off: one daemon attempt is one HTTP request, and tenacity owns
# every retry, so each is counted, logged and (for writes) audited. botocore's `max_attempts`
# counts retries, not attempts: `total_max_attempts` is the one that means "one request".
_BOTO_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="flink-remediator",
)


def classify(operation: str, exc: Exception) -> errors.AwsError:
    """Map a botocore exception onto the project's error tree."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        message = str(err.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code == "ConcurrentModificationException":
            return errors.ConcurrentModification(operation, code, message)
        if code == "ResourceInUseException":
            return errors.ResourceInUse(operation, code, message)
        if (code in _ALREADY_EXISTS and operation.startswith(_CREATES)) or (
            code in _NOT_FOUND and operation.startswith(_REMOVALS)
        ):
            return errors.ConcurrentModification(operation, code, message)
        if code in _NOT_FOUND or code.endswith(".NotFound"):  # EC2: InvalidXxxID.NotFound
            return errors.ResourceNotFound(operation, code, message)
        if code in _THROTTLING or status == 429:
            return errors.RetryableAwsError(operation, code, message, maybe_applied=False)
        if status >= 500:
            return errors.RetryableAwsError(operation, code, message, maybe_applied=True)
        return errors.PermanentAwsError(operation, code, message)
    # Connection errors, timeouts, endpoint hiccups: worth another try. Only a request that
    # never got a connection surely did nothing.
    never_sent = isinstance(exc, EndpointConnectionError | ConnectTimeoutError)
    return errors.RetryableAwsError(
        operation, type(exc).__name__, str(exc), maybe_applied=not never_sent
    )


def _throttled(exc: Exception) -> bool:
    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in _THROTTLING or status == 429


class AttemptObserver(Protocol):
    """Told about each HTTP attempt of one call (the audit trail of writes)."""

    def sending(self, attempt: int) -> None: ...

    def answered(
        self, attempt: int, response: Mapping[str, Any] | None, error: errors.AwsError | None
    ) -> None: ...


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, errors.RetryableAwsError)


class Aws:
    """Clients for one account and region, from the standard credential chain.

    `AWS_ENDPOINT_URL` (the sandbox) is honoured by boto3 itself.
    """

    def __init__(
        self,
        region: str,
        session: boto3.session.Session | None = None,
        max_attempts: int = 5,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self.region = region
        self._session = session or new_session()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff_seconds
        # family -> its rate limit in this account and Region (daemon.rate_limits); None: none.
        self.limit: Callable[[str], TokenBucket | None] = lambda family: None

    def client(self, service: str) -> Any:
        # IAM is global: its endpoint lives in us-east-1 whatever the app's region.
        region = "us-east-1" if service == "iam" else self.region
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, region_name=region, config=_BOTO_CONFIG
                )
            return self._clients[service]

    def call(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        """Make one API call (operation in AWS's PascalCase), retrying retryable failures.

        Each attempt is exactly one HTTP request (botocore retries nothing), so every attempt
        is counted here."""
        return self.observed_call(None, service, operation, **params)

    def observed_call(
        self, observer: AttemptObserver | None, service: str, operation: str, **params: Any
    ) -> Mapping[str, Any]:
        """`call`, telling `observer` about each attempt as it is sent and answered (the
        executor audits every write request this way)."""

        def log_retry(state: RetryCallState) -> None:
            metrics.count_aws_retry(service, operation)
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "aws_call_retried",
                service=service,
                operation=operation,
                attempt=state.attempt_number,
                error=str(exc),
            )

        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_random_exponential(multiplier=0.2, max=self._max_backoff),
            before_sleep=log_retry,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                return self._call_once(service, operation, params, number, observer)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _call_once(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        attempt: int,
        observer: AttemptObserver | None,
    ) -> Mapping[str, Any]:
        method = getattr(self.client(service), xform_name(operation))
        bucket = self.limit(service)
        if bucket is not None:
            metrics.count_rate_limit_wait(service, bucket.acquire())
        metrics.count_aws_call(service, operation)
        if observer is not None:
            observer.sending(attempt)
        try:
            response: Mapping[str, Any] = method(**params)
        # ResponseParserError: a body that is not AWS's (a proxy's HTML error page): retried.
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            mapped = classify(operation, exc)
            metrics.count_aws_error(service, operation, mapped.code)
            if bucket is not None and _throttled(exc):
                bucket.throttled()  # AWS says slow down: so does every caller of this bucket
            if observer is not None:
                observer.answered(attempt, None, mapped)
            raise mapped from exc
        if observer is not None:
            observer.answered(attempt, response, None)
        return response

    def account_id(self) -> str:
        return str(self.call("sts", "GetCallerIdentity")["Account"])


class AwsByRegion:
    """One `Aws` per region, created on first use (callable as `aws_for(app)`)."""

    def __init__(self, factory: Callable[[str], Aws] = Aws) -> None:
        self._factory = factory
        self._by_region: dict[str, Aws] = {}
        self._lock = threading.Lock()

    def region(self, region: str) -> Aws:
        with self._lock:
            if region not in self._by_region:
                self._by_region[region] = self._factory(region)
            return self._by_region[region]

    def __call__(self, app: AppRef) -> Aws:
        return self.region(app.region)
