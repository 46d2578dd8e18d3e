"""Config hot reload: the daemon keeps its last good config when a new one is broken.

Kubernetes updates a mounted ConfigMap by swapping a symlink, so the file is polled by content
hash rather than watched by inode. A valid new file replaces the config atomically (one reference
swap; a reconcile in progress finishes with the config it started with).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import structlog

from daemon import errors
from daemon.desired.config import DesiredConfig
from daemon.desired.loader import load_config
from daemon.telemetry import metrics
from remediations import RULES

log = structlog.get_logger(__name__)


class ConfigWatcher:
    def __init__(self, config: DesiredConfig, path: str) -> None:
        self._config = config
        self._path = path
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

    def reload_if_changed(self) -> None:
        with self._lock:
            try:
                content = Path(self._path).read_bytes()
            except OSError as exc:
                self._reject(f"cannot read {self._path}: {exc}", f"unreadable: {exc}")
                return
            sha = hashlib.sha256(content).hexdigest()
            if sha in (self._config.sha256, self._rejected_sha):
                return
            try:
                config = load_config(self._path)
            except errors.ConfigError as exc:
                self._reject("\n".join(exc.problems), sha)
                return
            self._config = config
            self._rejected_sha = ""
            metrics.count_config_reload("applied")
            self.publish()
            log.info("config_reloaded", path=self._path, sha256=config.sha256)

    def _reject(self, problems: str, sha: str) -> None:
        if sha == self._rejected_sha:
            return  # said once per broken content, not every poll
        self._rejected_sha = sha
        metrics.count_config_reload("rejected")
        log.error(
            "config_rejected",
            path=self._path,
            problems=problems,
            kept_sha256=self._config.sha256,
        )
