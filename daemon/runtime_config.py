"""Config hot reload: the daemon keeps its last good config when a new one is broken.

Kubernetes updates a mounted ConfigMap by swapping a symlink, so the file is polled by content
hash rather than watched by inode. A valid new file replaces the config atomically (one reference
swap; a reconcile in progress finishes with the config it started with). A broken one is
reported once per distinct content, one log line per distinct problem (at most
MAX_LOGGED_PROBLEMS), however often it is polled; the file is read within the size limit.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from daemon import errors
from daemon.desired.config import DesiredConfig
from daemon.desired.loader import env_limits, parse_config, read_config_bytes
from daemon.telemetry import metrics
from remediations import RULES

log = structlog.get_logger(__name__)
MAX_LOGGED_PROBLEMS = 20  # `flink-remediator validate` lists them all


class ConfigWatcher:
    def __init__(
        self,
        config: DesiredConfig,
        path: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._path = path
        self._clock = clock  # judges waiver expiries in a new file
        self._rejected_sha = ""
        self._lock = threading.Lock()

    def current(self) -> DesiredConfig:
        return self._config

    def publish(self) -> None:
        """Expose the config in force: its hash, and every enabled rule's series at 0."""
        config = self._config
        metrics.set_config(config.sha256)
        for rule_id, settings in config.rules.items():
            if settings.enabled:
                mode = settings.mode or config.default_mode or RULES[rule_id].default_mode
                metrics.declare_rule(rule_id, mode)
        # Waivers that had expired when the daemon started: left out (their drift is enforced).
        metrics.set_expired_waivers(tuple(config.expired_waivers))
        for waiver, problem in config.expired_waivers.items():
            log.warning("waiver_expired_ignored", waiver=waiver, problem=problem)

    def reload_if_changed(self) -> None:
        with self._lock:
            try:
                limits = env_limits(self._path)
                content = read_config_bytes(self._path, limits)
            except errors.ConfigError as exc:  # unreadable, or over the size limit
                self._reject(exc.problems, "unread: " + "\n".join(exc.problems))
                return
            sha = hashlib.sha256(content).hexdigest()
            if sha in (self._config.sha256, self._rejected_sha):
                return
            try:
                config = parse_config(content, self._path, limits=limits, now=self._clock())
            except errors.ConfigError as exc:
                self._reject(exc.problems, sha)
                return
            except Exception as exc:  # a bug in a check: keep the last good config all the same
                self._reject([f"{self._path}: could not be checked: {exc!r}"], sha)
                return
            self._config = config
            self._rejected_sha = ""
            metrics.count_config_reload("applied")
            self.publish()
            log.info("config_reloaded", path=self._path, sha256=config.sha256)

    def _reject(self, problems: list[str], sha: str) -> None:
        if sha == self._rejected_sha:
            return  # said once per broken content, not every poll
        self._rejected_sha = sha
        metrics.count_config_reload("rejected")
        distinct = list(dict.fromkeys(problems))
        for problem in distinct[:MAX_LOGGED_PROBLEMS]:
            log.error(
                "config_rejected", path=self._path, problem=problem, kept_sha256=self._config.sha256
            )
        if len(distinct) > MAX_LOGGED_PROBLEMS:
            log.error(
                "config_problems_not_logged",
                path=self._path,
                count=len(distinct) - MAX_LOGGED_PROBLEMS,
                hint=f"flink-remediator validate {self._path} lists every problem",
            )
