"""IAM read-after-write lag: for `lag_seconds` after a role changes, reads of it may answer what
they answered before the change.

"IAM ... is eventually consistent ... changes that you make in IAM ... take time to become visible
from all possible endpoints"; AWS advises not to depend on reading a change back at once
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
The sandbox takes the unkind reading: within the lag a read of a just-changed role returns the
last answer served before the change (when there was one), on the sandbox clock. 0 (default): off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sandbox import wire

READS = frozenset(
    {"GetRole", "GetRolePolicy", "ListRolePolicies", "ListAttachedRolePolicies", "ListRoleTags"}
)
Key = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Answer:
    at: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes


class IamReadLag:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.lag_seconds = 0.0
        self._clock = clock
        self._answers: dict[Key, Answer] = {}
        self._changed: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def set_lag(self, seconds: float) -> None:
        if not 0 <= seconds <= 3600:
            raise ValueError(f"iam_read_lag_seconds must be 0..3600, got {seconds!r}")
        with self._lock:
            self.lag_seconds = seconds
            self._answers.clear()
            self._changed.clear()

    @staticmethod
    def _request(account: str, body: bytes, query: str) -> tuple[str, str, Key]:
        params = wire.query_params(body, query)
        operation, role = params.get("Action", ""), params.get("RoleName", "")
        rest = tuple(sorted((k, v) for k, v in params.items() if k != "Version"))
        return operation, role, (account, operation, rest)

    def stale(self, account: str, body: bytes, query: str) -> Answer | None:
        """The earlier answer to serve instead of a fresh read, or None."""
        if not self.lag_seconds:
            return None
        operation, role, key = self._request(account, body, query)
        if operation not in READS:
            return None
        with self._lock:
            changed = self._changed.get((account, role))
            answer = self._answers.get(key)
            if changed is None or self._clock() >= changed + self.lag_seconds:
                return None
            return answer if answer is not None and answer.at < changed else None

    def observe(
        self,
        account: str,
        body: bytes,
        query: str,
        status: str,
        headers: list[tuple[str, str]],
        out: bytes,
    ) -> None:
        """Remember a fresh read's answer, or when a successful write changed a role."""
        if not self.lag_seconds or not status.startswith("2"):
            return
        operation, role, key = self._request(account, body, query)
        if not role:
            return
        with self._lock:
            if operation in READS:
                self._answers[key] = Answer(self._clock(), status, headers, out)
            elif not operation.startswith(("Get", "List")):
                self._changed[(account, role)] = self._clock()
