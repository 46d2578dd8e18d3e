"""`flink-remediator example-config`: the annotated example desired state, for a wheel or image
user who has no checkout (`flink-remediator example-config > desired-state.yaml`)."""

from __future__ import annotations

import argparse
import os
import sys
from importlib.resources import files
from typing import Any

# config/desired-state.example.yaml, shipped in the wheel as package data (daemon.bundled).
EXAMPLE = files("daemon.bundled") / "desired-state.example.yaml"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "example-config", help="print the annotated example desired-state file (a starting point)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        sys.stdout.write(EXAMPLE.read_text(encoding="utf-8"))
        sys.stdout.flush()
    except BrokenPipeError:
        # `example-config | head`: the reader has all it wanted. Point stdout at /dev/null so
        # the interpreter's final flush does not report the broken pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
