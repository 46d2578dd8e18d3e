"""Bounds on a desired-state file, checked before any expensive work.

A config is small: a few hundred overrides at most. Anything far bigger is a mistake or an
attack (an alias bomb, megabytes of generated YAML, nesting thousands deep), and must end in a
one-line error within a second or two rather than hang `validate`, `run` or a hot reload.
Only the byte size is meant to be tuned (FLINK_REMEDIATOR_CONFIG_MAX_BYTES); the others are
far above anything a person writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_BYTES_ENV = "FLINK_REMEDIATOR_CONFIG_MAX_BYTES"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024  # the file's size
    max_depth: int = 32  # nested mappings/sequences; a real file needs about 7
    max_nodes: int = 30_000  # keys, values and items, an alias counted at its full size
    max_aliases: int = 1_000  # `*name` references
    max_overrides: int = 1_000
    max_glob_chars: int = 256  # AWS tag values are at most 256, application names 128

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, with the byte size from FLINK_REMEDIATOR_CONFIG_MAX_BYTES when set.
        Raises ValueError (naming the variable) for a value that is not a positive integer."""
        text = os.environ.get(MAX_BYTES_ENV, "").strip()
        if not text:
            return cls()
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(f"{MAX_BYTES_ENV}={text!r} is not a positive number of bytes")
        return cls(max_bytes=value)
